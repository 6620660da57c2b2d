"""Coding labs: a lab spec names the functions a student writes and the test cases that call them.

The student's code never runs in this process: :mod:`grader.sandbox` runs it in a bubblewrap
sandbox and only *returns its outputs*; every check below runs here, on the trusted side, against
the reference implementation. See ``grader/codelabs/README.md``.
"""

from .base import Check as Check
from .base import CodeLab as CodeLab
from .base import Limits as Limits
from .base import TestCase as TestCase
from .catalog import all_codelabs as all_codelabs
from .catalog import get_codelab as get_codelab

"""The terminal client students download from a coding lab's page (``dlcv_submit.py``).

The client is one standalone file (standard library only); this package only serves it, with the
site's address and the lab filled in as its defaults.
"""

from __future__ import annotations

import re
from pathlib import Path

CLIENT_PATH = Path(__file__).resolve().parent / "dlcv_submit.py"
_DEFAULT_LINE = re.compile(r'^(DEFAULT_SERVER|DEFAULT_LAB) = "" {2}# filled in at download$', re.MULTILINE)


def client_script(*, server: str, lab_slug: str) -> str:
    """``dlcv_submit.py`` with ``DEFAULT_SERVER`` and ``DEFAULT_LAB`` set (as Python literals)."""
    values = {"DEFAULT_SERVER": server, "DEFAULT_LAB": lab_slug}
    text, count = _DEFAULT_LINE.subn(
        lambda m: f"{m.group(1)} = {values[m.group(1)]!r}  # filled in at download", CLIENT_PATH.read_text("utf-8")
    )
    if count != 2:
        raise RuntimeError(f"{CLIENT_PATH} lost its DEFAULT_SERVER/DEFAULT_LAB lines")
    return text

"""DLCV grader core: reference implementations, problem families, coding labs, the sandbox, grading.

Pure Python/numpy/sympy/torch: nothing here imports Django, Celery or the web apps (the apps call in;
``grader/tests/test_purity.py`` proves it). Usable from a notebook or ``python -m grader``.
"""

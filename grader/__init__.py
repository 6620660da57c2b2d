"""DLCV grader core: reference implementations, problem families and grading.

Pure Python/numpy/sympy/torch. Nothing here imports Django; only ``grader/tasks.py``
(the Celery entry point) touches the web apps. Usable from a notebook or ``python -m grader``.
"""

"""The code-lab registry: every module in ``grader/codelabs/labs/`` that defines ``LAB``.

Modules whose name starts with ``_`` (e.g. ``_array_lab_tools``) are shared helpers, not labs:
they are skipped without being imported.
"""

from __future__ import annotations

import importlib
import pkgutil
from functools import cache

from .base import CodeLab

__all__ = ["all_codelabs", "get_codelab"]


@cache
def _registry() -> dict[str, CodeLab]:
    from . import labs

    found: dict[str, CodeLab] = {}
    for info in sorted(pkgutil.iter_modules(labs.__path__), key=lambda i: i.name):
        if info.name.startswith("_"):
            continue  # a helper shared by labs: never registered, whatever it defines
        module = importlib.import_module(f"{labs.__name__}.{info.name}")
        lab = getattr(module, "LAB", None)
        if isinstance(lab, CodeLab):
            if lab.slug in found:
                raise ValueError(f"two code labs named {lab.slug!r}")
            found[lab.slug] = lab
    return found


def all_codelabs() -> list[CodeLab]:
    return list(_registry().values())


def get_codelab(slug: str) -> CodeLab:
    try:
        return _registry()[slug]
    except KeyError:
        raise KeyError(f"no code lab {slug!r}; known: {', '.join(sorted(_registry()))}") from None

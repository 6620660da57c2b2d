"""Problem families and their registry.

Importing ``grader.problems`` imports every module in this package (except ``base`` and names
starting with ``_``); a family module registers its class with the :func:`register` decorator.
So adding a family is adding one module, with no list to edit here.

>>> from grader.problems import get_family
>>> fam = get_family("conv-by-hand")
>>> params = fam.generate(seed=1)
"""

from __future__ import annotations

import importlib
import pkgutil
import re

from grader.problems.base import ProblemFamily

__all__ = ["ProblemFamily", "all_families", "get_family", "register"]

_REGISTRY: dict[str, ProblemFamily] = {}
_SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


def register(family_cls: type[ProblemFamily]) -> type[ProblemFamily]:
    """Class decorator: register one instance of ``family_cls`` under ``family_cls.name``."""
    name = getattr(family_cls, "name", None)
    if not isinstance(name, str) or not _SLUG.match(name):
        raise ValueError(f"{family_cls.__qualname__}: name must be a slug like 'conv-by-hand', got {name!r}")
    existing = _REGISTRY.get(name)
    # Same qualified class again (e.g. a module reload) is fine; a second class with the name is not.
    if existing is not None and type(existing).__qualname__ != family_cls.__qualname__:
        raise ValueError(f"problem family {name!r} is already registered by {type(existing).__qualname__}")
    _REGISTRY[name] = family_cls()
    return family_cls


def get_family(name: str) -> ProblemFamily:
    """The registered family called ``name``; ``KeyError`` listing the known names otherwise."""
    try:
        return _REGISTRY[name]
    except KeyError:
        known = ", ".join(sorted(_REGISTRY)) or "(none)"
        raise KeyError(f"unknown problem family {name!r}; known families: {known}") from None


def all_families() -> list[ProblemFamily]:
    """All registered families, sorted by name."""
    return [_REGISTRY[n] for n in sorted(_REGISTRY)]


def _discover() -> None:
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda i: i.name):
        if info.name != "base" and not info.name.startswith("_"):
            importlib.import_module(f"{__name__}.{info.name}")


_discover()

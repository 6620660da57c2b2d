"""The sandbox's Python runtimes: a minimal tree per allowed package set, under ``var/sandbox``.

``python -m grader.sandbox.runtime build`` (run by ``make setup`` and ``make test``) makes:

* ``python/`` — this interpreter's binary, ``libpython`` and standard library, without its
  ``site-packages`` (and without the test suite, IDLE and tkinter);
* ``<name>/site-packages/`` for each package set in :data:`PACKAGE_SETS` (``numpy``,
  ``numpy-torch``) — exactly those distributions and their declared dependency closure
  (``Requires-Dist``, markers evaluated for this interpreter), read from their installed ``RECORD``.

Files are hard links into the project's virtualenv (same file system: no copy, ~1 s for torch's
files); across file systems they are copied. A ``manifest.json`` per tree records what it holds, so
a second build is a few metadata reads and changes nothing. The sandbox mounts one ``python/`` and
one ``site-packages/``: a numpy-only lab's sandbox does not contain torch at all, and no runtime
holds the host's or the virtualenv's other packages.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import importlib.metadata as metadata
import json
import os
import shutil
import subprocess
import sys
import sysconfig
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

__all__ = [
    "DEFAULT_PACKAGES",
    "PACKAGE_SETS",
    "Runtime",
    "build_all",
    "default_runtime_dir",
    "ensure_runtime",
    "package_set_errors",
    "runtime_name",
]

#: The package sets a lab may allow (what the set-up builds), by runtime name.
PACKAGE_SETS: dict[str, tuple[str, ...]] = {"numpy": ("numpy",), "numpy-torch": ("numpy", "torch")}
DEFAULT_PACKAGES: tuple[str, ...] = ("numpy",)
# Parts of the standard library no student function needs: its test suite and the GUI toolkits.
_STDLIB_SKIP = {"site-packages", "dist-packages", "test", "idlelib", "tkinter", "turtledemo", "ensurepip"}
_MANIFEST = "manifest.json"
_LIBRARIES = "system-libraries.json"


def default_runtime_dir() -> Path:
    """The project's ``var/sandbox`` (``SandboxConfig.runtime_dir`` or ``--root`` choose another)."""
    return Path(__file__).resolve().parents[2] / "var" / "sandbox"


def runtime_name(packages: Iterable[str]) -> str:
    """The runtime that holds exactly ``packages`` (``ValueError`` if none does)."""
    wanted = tuple(sorted(set(packages)))
    for name, members in PACKAGE_SETS.items():
        if tuple(sorted(members)) == wanted:
            return name
    raise ValueError(package_set_errors(list(wanted))[0])


def package_set_errors(packages: object) -> list[str]:
    """What is wrong with a lab's ``allowed_packages`` (empty if it names a runtime)."""
    choices = " or ".join("[" + ", ".join(members) + "]" for members in PACKAGE_SETS.values())
    if not isinstance(packages, (list, tuple)) or not all(isinstance(p, str) for p in packages):
        return [f"allowed_packages must be a list of package names: {choices}"]
    wanted = tuple(sorted(set(packages)))
    if not any(tuple(sorted(members)) == wanted for members in PACKAGE_SETS.values()):
        return [f"allowed_packages {list(packages)!r} is not a sandbox runtime; choose {choices}"]
    return []


# --------------------------------------------------------------------------- what goes in


def _closure(packages: Iterable[str]) -> list[metadata.Distribution]:
    """The installed distributions of ``packages`` and everything they require, transitively."""
    environment = default_environment() | {"extra": ""}
    found: dict[str, metadata.Distribution] = {}
    pending = [canonicalize_name(p) for p in packages]
    while pending:
        name = pending.pop()
        if name in found:
            continue
        dist = metadata.distribution(name)
        found[name] = dist
        for line in dist.requires or ():
            requirement = Requirement(line)
            if requirement.marker is None or requirement.marker.evaluate(environment):
                pending.append(canonicalize_name(requirement.name))
    return sorted(found.values(), key=lambda d: canonicalize_name(d.metadata["Name"]))


def _top_level_entries(dist: metadata.Distribution) -> set[Path]:
    """The site-packages entries a distribution installed (its packages, modules, ``.libs`` and
    ``.dist-info``), from its RECORD; scripts installed outside site-packages are left out."""
    site = Path(str(dist.locate_file(""))).resolve()
    entries: set[Path] = set()
    for file in dist.files or ():
        parts = Path(str(file)).parts
        if not parts or parts[0] == ".." or parts[0] == "__pycache__":
            continue
        path = site / parts[0]
        if path.exists():
            entries.add(path)
    return entries


def _executable(prefix: Path) -> Path:
    """This interpreter's binary, relative to its prefix (a venv's python is a link to it)."""
    executable = Path(sys.executable).resolve()
    if executable.is_relative_to(prefix):
        return executable.relative_to(prefix)
    return Path("bin") / f"python{sys.version_info.major}.{sys.version_info.minor}"


def _python_entries() -> tuple[Path, list[Path]]:
    """This interpreter's prefix and what the runtime takes from it: the binary, libpython, the
    standard library (relative paths)."""
    prefix = Path(sys.base_prefix).resolve()
    entries = [_executable(prefix)]
    entries += [p.relative_to(prefix) for p in sorted((prefix / "lib").glob("libpython3*.so*"))]
    stdlib = Path(sysconfig.get_paths(vars={"installed_base": str(prefix), "base": str(prefix)})["stdlib"])
    entries += [p.relative_to(prefix) for p in sorted(stdlib.iterdir()) if p.name not in _STDLIB_SKIP]
    return prefix, entries


# --------------------------------------------------------------------------- building


@dataclass(frozen=True)
class Runtime:
    """A built runtime: what the sandbox mounts."""

    python_prefix: Path  # where the interpreter lives on the host (and is mounted in the sandbox)
    python_dir: Path  # the minimal copy of it
    site_dir: Path  # the allowed packages
    packages: tuple[str, ...]
    executable: str  # the interpreter, relative to the prefix
    system_libraries: tuple[str, ...]  # the host's shared libraries both trees load

    def python_binds(self) -> list[tuple[Path, Path]]:
        """(in the runtime, where it is mounted): the binary, libpython and the standard library, at
        the interpreter's own path (its binary finds libpython through an absolute RUNPATH)."""
        binds = []
        for top in sorted(p for p in self.python_dir.iterdir() if p.is_dir()):
            for child in sorted(top.iterdir()):
                binds.append((child, self.python_prefix / top.name / child.name))
        return binds


def _link_tree(source: Path, dest: Path, counts: dict[str, int]) -> None:
    def link(src: str, dst: str) -> None:
        try:
            os.link(src, dst)
            counts["linked"] += 1
        except OSError:  # another file system, or not ours to link: copy it
            shutil.copy2(src, dst)
            counts["copied"] += 1

    dest.parent.mkdir(parents=True, exist_ok=True)
    if source.is_symlink():
        dest.symlink_to(os.readlink(source))
    elif source.is_dir():
        shutil.copytree(source, dest, symlinks=True, copy_function=link)
    else:
        link(str(source), str(dest))


@contextlib.contextmanager
def _locked(root: Path) -> Iterator[None]:
    root.mkdir(parents=True, exist_ok=True)
    with open(root / ".lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _system_libraries(tree: Path, exclude: Iterable[Path]) -> list[str]:
    """The system's shared libraries (and loader) that the ELF files in ``tree`` load, per ``ldd``:
    the sandbox binds these files and no other part of /usr."""
    elves = [str(p) for p in sorted(tree.rglob("*")) if p.is_file() and not p.is_symlink()
             and (p.suffix == ".so" or ".so." in p.name or p.parent.name == "bin")]
    skip = [str(p) for p in (tree, *exclude)]
    found: set[str] = set()
    for start in range(0, len(elves), 200):
        listing = subprocess.run(["ldd", *elves[start:start + 200]], capture_output=True, text=True, check=False)
        for line in listing.stdout.splitlines():
            path = line.split("=>")[-1].strip().split(" (")[0].strip()
            if path.startswith("/") and not path.endswith(":") and not any(path.startswith(s) for s in skip):
                found.add(path)
    return sorted(found)


def _build_tree(target: Path, manifest: dict[str, object],
                sources: Callable[[], list[tuple[Path, Path]]]) -> dict[str, int]:
    """(Re)build ``target`` from ``sources()`` (host path, path inside the tree) unless its manifest
    already says the same; the new tree replaces the old one whole."""
    manifest_path = target / _MANIFEST
    with contextlib.suppress(OSError, ValueError):
        if json.loads(manifest_path.read_text(encoding="utf-8")) == manifest:
            return {"linked": 0, "copied": 0}
    building = target.with_name(target.name + ".building")
    shutil.rmtree(building, ignore_errors=True)
    building.mkdir(parents=True)
    counts = {"linked": 0, "copied": 0}
    for source, inside in sources():
        _link_tree(source, building / inside, counts)
    libraries = _system_libraries(building, [Path(sys.base_prefix).resolve(), Path(sys.prefix),
                                             *(Path(p) for p in sys.path if p)])
    (building / _LIBRARIES).write_text(json.dumps(libraries, indent=1), encoding="utf-8")
    (building / _MANIFEST).write_text(json.dumps(manifest, indent=1, sort_keys=True), encoding="utf-8")
    old = target.with_name(target.name + ".old")
    shutil.rmtree(old, ignore_errors=True)
    if target.exists():
        target.rename(old)
    building.rename(target)
    shutil.rmtree(old, ignore_errors=True)
    return counts


def _python_tree(root: Path) -> dict[str, int]:
    prefix = Path(sys.base_prefix).resolve()
    manifest = {"prefix": str(prefix), "version": sys.version, "skipped": sorted(_STDLIB_SKIP)}

    def sources() -> list[tuple[Path, Path]]:
        prefix, entries = _python_entries()
        return [(prefix / e, e) for e in entries]

    return _build_tree(root / "python", manifest, sources)


def _site_tree(root: Path, name: str) -> dict[str, int]:
    dists = _closure(PACKAGE_SETS[name])
    manifest = {
        "packages": list(PACKAGE_SETS[name]),
        "distributions": {d.metadata["Name"]: d.version for d in dists},
        "site": str(Path(str(dists[0].locate_file(""))).resolve()),
    }

    def sources() -> list[tuple[Path, Path]]:
        entries = sorted({entry for dist in dists for entry in _top_level_entries(dist)})
        return [(e, Path(e.name)) for e in entries]

    return _build_tree(root / name / "site-packages", manifest, sources)


def ensure_runtime(packages: Iterable[str], root: Path | None = None) -> Runtime:
    """The runtime for ``packages``, built first if it is missing or out of date (fast when built)."""
    name = runtime_name(packages)
    root = root or default_runtime_dir()
    with _locked(root):
        _python_tree(root)
        _site_tree(root, name)
    return Runtime(python_prefix=Path(sys.base_prefix).resolve(), python_dir=root / "python",
                   site_dir=root / name / "site-packages", packages=PACKAGE_SETS[name],
                   executable=str(_executable(Path(sys.base_prefix).resolve())),
                   system_libraries=tuple(sorted({
                       *json.loads((root / "python" / _LIBRARIES).read_text(encoding="utf-8")),
                       *json.loads((root / name / "site-packages" / _LIBRARIES).read_text(encoding="utf-8")),
                   })))


def build_all(root: Path | None = None) -> dict[str, object]:
    """Build (or check) every runtime; what it did and how long it took."""
    root = root or default_runtime_dir()
    started = time.perf_counter()
    report: dict[str, object] = {"root": str(root)}
    with _locked(root):
        report["python"] = _python_tree(root)
        for name in PACKAGE_SETS:
            report[name] = _site_tree(root, name)
    report["seconds"] = round(time.perf_counter() - started, 2)
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Build the sandbox's minimal Python runtimes.")
    parser.add_argument("command", choices=["build"])
    parser.add_argument("--root", type=Path, default=None, help="default: var/sandbox")
    args = parser.parse_args(argv)
    report = build_all(args.root)
    print(f"sandbox runtimes: {json.dumps(report)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

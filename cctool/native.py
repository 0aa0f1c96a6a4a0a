"""The dialer's core, compiled: which modules, and when the build is not used.

`make compile` (scripts/compile_core.py) compiles the modules named in `COMPILED` with mypyc into C
extensions beside their sources; Python then imports the extension instead of the `.py`. The modules
call each other directly inside one shared library, so they are used all together or not at all: the
build is set aside, and every one of them imported from its source, when

- any of them is missing from the build, or a source is newer than the build (edited, or changed by a
  `git pull`, since `make compile`): the build would run the old code;
- the environment sets `CCTOOL_PURE=1` (a debugger or a profiler that needs Python frames).

Run from source, the core does the same work, more slowly (tests compare both). `status()` says which.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

COMPILED = ("timeutil", "compliance", "dialgate", "clock", "mocktrunk", "pacer", "dialengine")
GROUP = "cctool_core"  # the shared library: cctool_core__mypyc.<suffix>, at the top of the repository
PACKAGE = Path(__file__).resolve().parent
_SUFFIXES = importlib.machinery.EXTENSION_SUFFIXES
EXTENSION_SUFFIX = _SUFFIXES[0]  # what a build for this interpreter is named by

_reason: str | None = None  # why the build is not used; None: used (or there is none)


def built_files(root: Path) -> list[Path]:
    """The files `make compile` wrote under `root` (the repository)."""
    found = [root / "cctool" / f"{name}{suffix}" for name in COMPILED for suffix in _SUFFIXES]
    found += [root / f"{GROUP}__mypyc{suffix}" for suffix in _SUFFIXES]
    return [path for path in found if path.exists()]


def _extension(package: Path, name: str) -> Path | None:
    for suffix in _SUFFIXES:
        path = package / f"{name}{suffix}"
        if path.exists():
            return path
    return None


def stale(package: Path = PACKAGE, names: tuple[str, ...] = COMPILED) -> str | None:
    """What is wrong with the build ('no build', a module missing or older than its source), or None."""
    built = {name: _extension(package, name) for name in names}
    if not any(built.values()):
        return "no build"
    missing = [name for name, path in built.items() if path is None]
    if missing:
        return f"cctool/{missing[0]}.py has no compiled module"
    oldest = min(path.stat().st_mtime for path in built.values() if path is not None)
    for name in names:
        if (package / f"{name}.py").stat().st_mtime > oldest:
            return f"cctool/{name}.py changed since `make compile`"
    return None


class _Sources(importlib.abc.MetaPathFinder):
    """Imports the compiled modules from their `.py` files."""

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        package, _, name = fullname.rpartition(".")
        if package != __package__ or name not in COMPILED:
            return None
        return importlib.util.spec_from_file_location(fullname, PACKAGE / f"{name}.py")


def guard() -> None:
    """Called once, from `cctool/__init__.py`, before any of the modules is imported."""
    global _reason
    pure = os.environ.get("CCTOOL_PURE", "") not in ("", "0")
    _reason = "CCTOOL_PURE is set" if pure else stale()
    if _reason is not None and _reason != "no build":  # with no build, Python imports the sources anyway
        sys.meta_path.insert(0, _Sources())


def status() -> str:
    """'compiled', or 'source (<why>)': no build, a stale one, or CCTOOL_PURE."""
    if _reason is not None:
        return f"source ({_reason})"
    module = sys.modules.get(f"{__package__}.pacer") or importlib.import_module(f"{__package__}.pacer")
    return "source (not imported from the build)" if (module.__file__ or "").endswith(".py") else "compiled"

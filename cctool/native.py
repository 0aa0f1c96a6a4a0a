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

import os
import sys
from importlib.machinery import EXTENSION_SUFFIXES

TYPE_CHECKING = False  # typing itself costs every process 2 MB
if TYPE_CHECKING:  # at run time this module imports only what the check needs: every process loads it
    from collections.abc import Sequence
    from importlib.machinery import ModuleSpec
    from pathlib import Path
    from types import ModuleType

COMPILED = ("timeutil", "compliance", "dialgate", "clock", "mocktrunk", "pacer", "dialengine")
GROUP = "cctool_core"  # the shared library: cctool_core__mypyc.<suffix>, at the top of the repository
PACKAGE = os.path.dirname(os.path.abspath(__file__))
EXTENSION_SUFFIX = EXTENSION_SUFFIXES[0]  # what a build for this interpreter is named by

_reason: str | None = None  # why the build is not used; None: used (or there is none)


def built_files(root: Path) -> list[Path]:
    """The files `make compile` wrote under `root` (the repository)."""
    found = [root / "cctool" / f"{name}{suffix}" for name in COMPILED for suffix in EXTENSION_SUFFIXES]
    found += [root / f"{GROUP}__mypyc{suffix}" for suffix in EXTENSION_SUFFIXES]
    return [path for path in found if path.exists()]


def _mtime(path: str) -> float | None:
    try:
        return os.stat(path).st_mtime
    except OSError:
        return None


def stale(package: str | os.PathLike[str] = PACKAGE, names: tuple[str, ...] = COMPILED) -> str | None:
    """What is wrong with the build ('no build', a module missing or older than its source), or None."""
    built: dict[str, float | None] = {}
    for name in names:
        found = (_mtime(os.path.join(package, f"{name}{suffix}")) for suffix in EXTENSION_SUFFIXES)
        built[name] = next((mtime for mtime in found if mtime is not None), None)
    if not any(mtime is not None for mtime in built.values()):
        return "no build"
    missing = [name for name, mtime in built.items() if mtime is None]
    if missing:
        return f"cctool/{missing[0]}.py has no compiled module"
    oldest = min(mtime for mtime in built.values() if mtime is not None)
    for name in names:
        if (_mtime(os.path.join(package, f"{name}.py")) or 0.0) > oldest:
            return f"cctool/{name}.py changed since `make compile`"
    return None


class _Sources:
    """Imports the compiled modules from their `.py` files (a finder on `sys.meta_path`)."""

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> ModuleSpec | None:
        package, _, name = fullname.rpartition(".")
        if package != __package__ or name not in COMPILED:
            return None
        from importlib.util import spec_from_file_location

        return spec_from_file_location(fullname, os.path.join(PACKAGE, f"{name}.py"))


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
    from importlib import import_module

    module = sys.modules.get(f"{__package__}.pacer") or import_module(f"{__package__}.pacer")
    return "source (not imported from the build)" if (module.__file__ or "").endswith(".py") else "compiled"

"""Compile the dialer's core with mypyc: `make compile` (run by `make demo`, `make test` and `make bench`).

The modules below run once per event, dial or decision of a `dial run` (some 70,000 events and 48,000
pacing decisions in an 8-hour shift of 50 agents). mypyc, the compiler the mypy project builds mypy with,
turns their type-annotated Python into a C extension: the same source, run about 2.5 times faster
(docs/benchmarks.md). It writes `cctool/<module>.cpython-*.so` beside each source and one shared library,
`cctool_core__mypyc.*.so`, at the top of the repository; `cctool/native.py` uses them only while they are
newer than every source they were built from, so an edited module is never shadowed by a stale build.

    python scripts/compile_core.py          # build in place, unless the build is newer than every source
    python scripts/compile_core.py --force  # build again anyway
    python scripts/compile_core.py --clean  # remove what it built
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from cctool.native import COMPILED, GROUP, built_files, stale  # noqa: E402


def clean() -> None:
    for path in built_files(ROOT):
        path.unlink()
    shutil.rmtree(ROOT / "build" / "mypyc", ignore_errors=True)


def main(argv: list[str]) -> int:
    if argv == ["--clean"]:
        clean()
        return 0
    if stale() is None and argv != ["--force"]:
        return 0  # built, and newer than every source
    clean()
    print("compiling the dialer core with mypyc (about 30 s, once per change of its sources)", file=sys.stderr)
    from mypyc.build import mypycify
    from setuptools import setup

    os.chdir(ROOT)  # mypyc names the modules by their paths from here
    sources = [f"cctool/{name}.py" for name in COMPILED]
    setup(
        name="cctool-core",
        packages=[],
        py_modules=[],
        ext_modules=mypycify(sources, opt_level="3", group_name=GROUP, target_dir="build/mypyc"),
        script_args=["-q", "build_ext", "--inplace", "--build-temp", "build/mypyc/temp"],
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

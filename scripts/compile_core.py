"""Compile the dialer's core with mypyc: `make compile` (run by `make demo`, `make test` and `make bench`).

The modules named in `cctool.native.COMPILED` run once per event, dial or decision of a `dial run` (some
70,000 events and 48,000 pacing decisions in an 8-hour shift of 50 agents). mypyc, the compiler the mypy
project builds mypy with, turns their type-annotated Python into a C extension: the same source, the
engine and pacer about 2.4 times as fast, a whole dial run about 1.4 times (docs/benchmarks.md). It writes `cctool/<module>.cpython-*.so` beside each source and one shared library,
`cctool_core__mypyc.*.so`, at the top of the repository; `cctool/native.py` uses them only while they are
newer than every source they were built from, so an edited module is never shadowed by a stale build.

    python scripts/compile_core.py          # build in place, unless the build is newer than every source
    python scripts/compile_core.py --force  # build again anyway
    python scripts/compile_core.py --optional  # a failed build leaves the core to run from source, exit 0
    python scripts/compile_core.py --clean  # remove what it built
"""

from __future__ import annotations

import os
import re
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


def build() -> None:
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


def main(argv: list[str]) -> int:
    if argv == ["--clean"]:
        clean()
        return 0
    if stale() is None and "--force" not in argv:
        return 0  # built, and newer than every source
    clean()
    print("compiling the dialer core with mypyc (about 30 s, once per change of its sources)", file=sys.stderr)
    try:
        build()
    except (Exception, SystemExit) as exc:  # setuptools reports a compiler error as SystemExit
        clean()  # no half build: cctool runs the core from source
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        command = re.search(r"Command '\['([^']+)'", reason)
        if command:  # the compiler's whole command line: which program failed is enough
            reason = f"{command.group(1)} failed"
        print(
            f"make compile: the dialer core could not be compiled ({reason}); "
            "it needs gcc and the Python headers (Debian: apt-get install gcc python3-dev). "
            "cctool runs the core from source meanwhile: the same work, slower.",
            file=sys.stderr,
        )
        return 0 if "--optional" in argv else 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

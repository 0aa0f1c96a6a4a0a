"""Run every benchmark module in turn: `python -m bench [NAME ...]`."""

from __future__ import annotations

import importlib.util
import subprocess
import sys

ORDER = ["contacts", "dnc", "dialgate", "dialer", "pacing", "sip", "export"]


def main(argv: list[str]) -> int:
    names = argv or [n for n in ORDER if importlib.util.find_spec(f"bench.{n}") is not None]
    failed = []
    for name in names:
        print(f"\n=== bench.{name} ===", flush=True)
        if subprocess.run([sys.executable, "-m", f"bench.{name}"]).returncode != 0:
            failed.append(name)
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""The compiled dialer core (`make compile`, cctool/native.py): the same calls as its sources, and never a
stale build."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from cctool import native

ROOT = Path(__file__).resolve().parent.parent

# Runs shifts on a fresh database and prints which core ran and a digest of everything the runs wrote.
RUNS = """
import hashlib, json, sys
from datetime import datetime, UTC
from pathlib import Path
from cctool import native
from cctool.dialer import RunOptions, run_campaign
from cctool.store import open_store
from tests.dialer_support import START, add_contacts, load_campaign

folder = Path(sys.argv[1])
store = open_store(folder / "cc.db", actor="t", command="t")
load_campaign(store, folder, total=6)
load_campaign(store, folder, name="steady", mode="progressive", tag="other")
add_contacts(store, 400)
add_contacts(store, 60, tag="other", first=400)
summaries = [
    run_campaign(store, RunOptions("survey", agents=12, for_s=3 * 3600, start=START, seed=5,
                                   break_every_s=3600, break_s=600)),
    run_campaign(store, RunOptions("steady", agents=3, for_s=3600, start=START, seed=6)),
    run_campaign(store, RunOptions("survey", agents=4, for_s=2 * 3600, start=START, seed=7, mode="preview")),
]
digest = hashlib.sha256()
for table, order in (("attempts", "id"), ("dial_contacts", "campaign, contact_id"), ("blocked_dials", "id"),
                     ("optouts", "id")):
    for row in store.conn.execute(f"SELECT * FROM {table} ORDER BY {order}"):
        digest.update(repr(tuple(row)).encode())
attempts = store.conn.execute("SELECT count(*) FROM attempts").fetchone()[0]
outcomes = dict(store.conn.execute("SELECT outcome, count(*) FROM attempts GROUP BY outcome").fetchall())
for s in summaries:
    s.pop("run_id", None)
print(json.dumps({"core": native.status(), "digest": digest.hexdigest(), "attempts": attempts,
                  "outcomes": outcomes, "summaries": summaries}, default=str))
"""


def shifts(folder: Path, pure: bool) -> dict:
    folder.mkdir()
    env = {**os.environ, "CCTOOL_PURE": "1" if pure else "0"}
    done = subprocess.run(
        [sys.executable, "-c", RUNS, str(folder)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_the_compiled_core_dials_exactly_as_its_sources(tmp_path: Path) -> None:
    """Predictive with breaks, progressive and preview shifts write the same rows either way."""
    if native.status() != "compiled":
        pytest.skip(f"the core runs from {native.status()}: nothing to compare (`make compile`)")
    compiled, source = shifts(tmp_path / "compiled", pure=False), shifts(tmp_path / "source", pure=True)
    assert compiled["core"] == "compiled"
    assert source["core"] == "source (CCTOOL_PURE is set)"
    assert compiled["attempts"] > 500
    assert {"answered", "busy", "no_answer"} <= set(compiled["outcomes"])
    assert compiled["summaries"] == source["summaries"]
    assert compiled["digest"] == source["digest"]


def fake_build(package: Path, names: tuple[str, ...], built: tuple[str, ...]) -> None:
    suffix = native.EXTENSION_SUFFIX
    package.mkdir(exist_ok=True)
    for name in names:
        (package / f"{name}.py").write_text("x = 1\n")
        os.utime(package / f"{name}.py", (1_000, 1_000))
    for name in built:
        (package / f"{name}{suffix}").write_bytes(b"")
        os.utime(package / f"{name}{suffix}", (2_000, 2_000))


def test_a_build_older_than_any_of_its_sources_is_set_aside_whole(tmp_path: Path) -> None:
    package = tmp_path / "cctool"
    names = ("clock", "pacer")
    fake_build(package, names, built=())
    assert native.stale(package, names) == "no build"
    fake_build(package, names, built=names)
    assert native.stale(package, names) is None
    os.utime(package / "pacer.py", (3_000, 3_000))  # edited, or changed by a `git pull`, after the build
    assert native.stale(package, names) == "cctool/pacer.py changed since `make compile`"
    fake_build(package, names, built=("pacer",))
    (package / f"clock{native.EXTENSION_SUFFIX}").unlink()
    assert native.stale(package, names) == "cctool/clock.py has no compiled module"


def test_with_a_stale_build_every_core_module_is_imported_from_its_source(tmp_path: Path) -> None:
    """One module edited after `make compile`: none of the compiled ones is used (they call each other)."""
    if native.status() != "compiled":
        pytest.skip(f"the core runs from {native.status()}")
    copy = tmp_path / "repo"
    (copy / "cctool").mkdir(parents=True)
    for path in (ROOT / "cctool").rglob("*"):
        if path.is_file() and "__pycache__" not in path.parts:
            target = copy / path.relative_to(ROOT)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(path.read_bytes())
            os.utime(target, (path.stat().st_mtime, path.stat().st_mtime))
    for path in native.built_files(ROOT):
        target = copy / path.relative_to(ROOT)
        target.write_bytes(path.read_bytes())
        os.utime(target, (path.stat().st_mtime, path.stat().st_mtime))
    probe = (
        "import json, cctool.dialengine, cctool.pacer\nfrom cctool import native\n"
        "print(json.dumps([native.status(), cctool.dialengine.__file__, cctool.pacer.__file__]))"
    )
    env = {key: value for key, value in os.environ.items() if key != "CCTOOL_PURE"}
    env["PYTHONPATH"] = str(copy)

    def imported() -> list[str]:
        done = subprocess.run(
            [sys.executable, "-c", probe], cwd=copy, env=env, capture_output=True, text=True
        )
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)

    status, engine, pacer = imported()
    assert status == "compiled" and engine.endswith(native.EXTENSION_SUFFIX) and pacer.startswith(str(copy))
    (copy / "cctool" / "pacer.py").write_text((copy / "cctool" / "pacer.py").read_text() + "\n# edited\n")
    status, engine, pacer = imported()
    assert status == "source (cctool/pacer.py changed since `make compile`)"
    assert engine.endswith("dialengine.py") and pacer.endswith("pacer.py")


def test_without_a_c_compiler_the_build_fails_in_one_line_and_leaves_nothing_half_built(
    tmp_path: Path,
) -> None:
    """`make demo` on a machine without gcc: the core runs from source (exit 0 with --optional, which
    `make demo` passes; `make compile` itself exits 1); no compiled module is left to shadow a source."""
    for folder in ("cctool", "scripts"):
        for path in (ROOT / folder).rglob("*.py"):
            target = tmp_path / path.relative_to(ROOT)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(path.read_bytes())
    env = {**os.environ, "CC": "/bin/false", "PYTHONPATH": str(tmp_path)}
    for flags, code in ((["--optional"], 0), ([], 1)):
        done = subprocess.run(
            [sys.executable, "scripts/compile_core.py", *flags], cwd=tmp_path, env=env, capture_output=True,
            text=True, timeout=300,
        )  # fmt: skip
        assert done.returncode == code, done.stderr
        assert done.stderr.splitlines()[-1].startswith(
            "make compile: the dialer core could not be compiled (/bin/false failed); it needs gcc"
        )
        assert native.built_files(tmp_path) == []


def test_the_guard_every_process_runs_imports_nothing_heavy() -> None:
    """`import cctool` runs the guard in every process, the audit export's helper processes included (their
    memory counts against the export's 200 MB): it imported importlib.abc and typing, 4 MB, at first."""
    probe = "import sys, cctool; print(sorted(m for m in ('typing', 'importlib.abc', 'pathlib') if m in sys.modules))"
    done = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"

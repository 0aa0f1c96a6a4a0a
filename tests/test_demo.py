"""`cctool demo` walks the whole product on a fresh database and ends with a clean, verified audit."""

from __future__ import annotations

import json
from pathlib import Path

from .conftest import run_process


def test_demo_runs_end_to_end_and_its_audit_export_is_clean(tmp_path: Path) -> None:
    result = run_process("demo", "--dir", str(tmp_path))
    assert result.code == 0, result.stderr
    assert "Traceback" not in result.stderr
    exports = sorted(tmp_path.glob("audit-*"))
    assert len(exports) == 1
    summary = json.loads((exports[0] / "summary.json").read_text(encoding="utf-8"))
    assert summary["violations"] == []
    assert summary["masked"] is True
    assert "independent re-check: no violations" in result.stdout
    assert "manifest: every file matches" in result.stdout
    assert (tmp_path / "demo.db").exists()


def test_demo_twice_in_the_same_folder_starts_afresh(tmp_path: Path) -> None:
    first = run_process("demo", "--dir", str(tmp_path))
    second = run_process("demo", "--dir", str(tmp_path))
    assert first.code == 0 and second.code == 0, second.stderr
    assert "audit chain: intact" in second.stdout


def test_demo_dir_naming_a_file_is_one_line_and_leaves_the_file(cli, tmp_path: Path) -> None:
    """`cctool demo --dir notes.txt` ended in a FileExistsError traceback."""
    notes = tmp_path / "notes.txt"
    notes.write_text("mine\n", encoding="utf-8")
    refused = cli("demo", "--dir", notes)
    assert refused.code == 1
    assert (
        refused.stderr.strip() == f"cctool: --dir {notes} is a file, not a folder: give a folder for the demo"
    )
    assert notes.read_text(encoding="utf-8") == "mine\n"
    assert cli("demo", "--dir", notes / "sub").code == 1  # under a file: one line too, no traceback

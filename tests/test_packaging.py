"""A non-editable install works from any folder: migrations and example files ship inside the wheel."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(ROOT)],
        check=True,
        capture_output=True,
    )
    return next(out.glob("cctool-*.whl"))


def test_the_wheel_carries_every_migration_and_example(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    for folder in ("migrations", "campaigns", "scripts_templates"):
        for path in (ROOT / folder).iterdir():
            if path.is_file() and not path.name.startswith("."):
                assert f"cctool/_data/{folder}/{path.name}" in names, (
                    f"{folder}/{path.name} missing from the wheel"
                )


def test_an_installed_wheel_creates_a_database_from_another_folder(wheel: Path, tmp_path: Path) -> None:
    target = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target), str(wheel)],
        check=True,
        capture_output=True,
    )
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {**os.environ, "PYTHONPATH": str(target), "CCTOOL_DB": str(elsewhere / "x.db")}
    where = subprocess.run(
        [sys.executable, "-c", "import cctool; print(cctool.__file__)"],
        env=env,
        cwd=elsewhere,
        capture_output=True,
        text=True,
    )
    assert where.stdout.strip().startswith(str(target))
    assert subprocess.run([sys.executable, "-m", "cctool", "init"], env=env, cwd=elsewhere).returncode == 0
    result = subprocess.run(  # the migrations were found in the installed package and applied
        [sys.executable, "-m", "cctool", "db", "status", "--json"],
        env=env,
        cwd=elsewhere,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    status = json.loads(result.stdout)
    assert "0001_core" in status["applied"] and status["pending"] == []

"""Shared fixtures: each test builds its own small database in a temporary folder."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from cctool import native
from cctool.cli import main
from cctool.store import Store, open_store


def pytest_configure(config: pytest.Config) -> None:
    """`make test` runs the suite on the compiled dialer core, as `make demo` and users run it."""
    if os.environ.get("CCTOOL_EXPECT_COMPILED") == "1" and native.status() != "compiled":
        pytest.exit(
            f"make test: the dialer core runs from {native.status()}; run `make compile`", returncode=1
        )


@dataclass
class Result:
    code: int
    stdout: str
    stderr: str

    @property
    def json(self) -> Any:
        return json.loads(self.stdout)


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "cc.db"


@pytest.fixture
def cli(db_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch):
    """Run `cctool --db <tmp db> ARGS...` in this process; returns exit code, stdout and stderr."""
    monkeypatch.setenv("CCTOOL_ACTOR", "tester")

    def run(*args: str) -> Result:
        capsys.readouterr()
        code = main(["--db", str(db_path), *map(str, args)])
        out, err = capsys.readouterr()
        return Result(code, out, err)

    return run


@pytest.fixture
def initialized(cli) -> None:
    """The database exists, as after `cctool init`: only init and the first imports create one."""
    assert cli("init").code == 0


@pytest.fixture
def store(db_path: Path):
    opened: Store = open_store(db_path, actor="tester", command="test")
    yield opened
    opened.close()


def run_process(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> Result:
    """Run the real `cctool` in a child process (for exit codes, tracebacks, concurrency)."""
    proc = subprocess.run(
        [sys.executable, "-m", "cctool", *args], capture_output=True, text=True, env=env, cwd=cwd, timeout=120
    )
    return Result(proc.returncode, proc.stdout, proc.stderr)

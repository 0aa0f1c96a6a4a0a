"""The command line loads only the command it runs (cron starts `cctool` every few minutes; `audit export`
runs near its memory budget), and its help still lists every command, always in the same order."""

from __future__ import annotations

import re
import subprocess
import sys

from .conftest import run_process

HEAVY = ("cctool.dialer", "cctool.sip.oneshot", "cctool.contacts_import", "asyncio")


def command_names(help_text: str) -> list[str]:
    commands = help_text.split("Commands", 1)[1]
    return re.findall(r"^[│ ]\s*([a-z]+)\s{2,}", commands, flags=re.MULTILINE)


def run_and_list_modules(tmp_path, args: list[str], modules: tuple[str, ...]) -> tuple[int, list[str], str]:
    """Run `cctool ARGS` in a fresh interpreter on a new database: its exit code, which of `modules` it
    imported, and its stderr."""
    db = tmp_path / "cc.db"
    assert run_process("--db", str(db), "init").code == 0
    probe = (
        "import sys\nfrom cctool.cli import main\n"
        f"code = main(['--db', {str(db)!r}, *{args!r}])\n"
        f"print(code, [m for m in {modules!r} if m in sys.modules])\n"
    )
    proc = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    code, loaded = proc.stdout.splitlines()[-1].split(" ", 1)
    return int(code), eval(loaded), proc.stderr  # noqa: S307 - the list the probe printed


def test_a_command_does_not_load_the_dialer_or_the_sip_stack(tmp_path) -> None:
    assert run_and_list_modules(tmp_path, ["callback", "due", "--json"], HEAVY)[:2] == (0, [])


def test_the_dialer_is_loaded_when_a_run_asks_for_it(tmp_path) -> None:
    code, loaded, err = run_and_list_modules(
        tmp_path, ["dial", "status", "no-such-campaign"], ("cctool.dialer",)
    )
    assert (code, loaded) == (1, ["cctool.dialer"]) and "no-such-campaign" in err


def test_help_lists_every_command_in_one_order_whatever_ran_before(cli) -> None:
    fresh = run_process("--help")
    assert fresh.code == 0
    expected = command_names(fresh.stdout)
    assert {
        "init",
        "contacts",
        "dnc",
        "optout",
        "campaign",
        "dial",
        "report",
        "ticket",
        "callback",
        "audit",
    } <= set(expected)
    assert cli("init").code == 0
    assert cli("audit", "verify").code == 0
    assert cli("dial", "status", "nothing").code == 1
    shown = cli("--help")
    assert shown.code == 0
    assert command_names(shown.stdout) == expected


def test_an_unknown_command_is_a_usage_error_naming_it(cli) -> None:
    shown = cli("dail", "run", "x")
    assert shown.code == 2
    assert "dail" in shown.stderr


def test_version_on_its_own_prints_the_version() -> None:
    from cctool import __version__

    shown = run_process("--version")
    assert (shown.code, shown.stdout, shown.stderr) == (0, f"cctool {__version__}\n", "")


def test_numbers_too_large_for_the_database_are_usage_errors(cli) -> None:
    """An id of 23 digits or a --limit past 2**63 was an OverflowError or ValueError traceback."""
    assert cli("init").code == 0
    for args in (
        ["ticket", "show", "99999999999999999999999"],
        ["callback", "claim", "99999999999999999999999"],
    ):
        shown = cli(*args)
        assert shown.code == 2 and shown.stderr.startswith("cctool: a number given is too large"), args
        assert shown.stderr.count("\n") == 1
    assert cli("contacts", "list", "--limit", "9223372036854775808").code == 2
    assert cli("audit", "log", "--limit", "9223372036854775808").code == 2


def test_click_usage_errors_are_one_line_too(cli) -> None:
    """Click's own block (Usage:, Try ..., a blank line, Error:) took four lines on stderr."""
    for args, words in (
        (["dial", "run"], "Missing argument 'campaign' (see `cctool dial run --help`)"),
        (["dial", "run", "x", "--agents", "abc"], "Invalid value for '--agents'"),
        (["contacts", "list", "--bogus"], "No such option: --bogus (see `cctool contacts list --help`)"),
        (["dail"], "No such command 'dail'. Did you mean 'dial'?"),
    ):
        shown = cli(*args)
        assert shown.code == 2 and shown.stderr.count("\n") == 1, (args, shown.stderr)
        assert shown.stderr.startswith("cctool: ") and words in shown.stderr, (args, shown.stderr)
    bare = run_process("dial")  # a group alone prints its help, as before
    assert bare.code == 2 and "run" in bare.stdout and bare.stderr == ""


def test_ctrl_c_while_a_finished_command_closes_its_database_is_not_reported_as_nothing_kept(
    cli, monkeypatch
) -> None:
    """Closing the database checkpoints its WAL (0.3 s after a big import): Ctrl-C then printed
    "interrupted; nothing half-written was kept", exit 130, of an import committed whole."""
    import os
    import signal

    from cctool.store import Store

    assert cli("init").code == 0
    close = Store.close

    def interrupted_close(self: Store) -> None:
        os.kill(os.getpid(), signal.SIGINT)
        close(self)

    monkeypatch.setattr(Store, "close", interrupted_close)
    done = cli("optout", "+12125550123")
    monkeypatch.setattr(Store, "close", close)
    assert (done.code, done.stderr) == (0, "")
    assert cli("dnc", "check", "+12125550123", "--json").json["suppressed"] is True

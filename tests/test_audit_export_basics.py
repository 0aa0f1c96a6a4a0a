"""The auditor's folder: manifest, masking, the unmask trail, and refusing bad requests."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytestmark = pytest.mark.usefixtures("initialized")  # each test starts from `cctool init`


def _export(cli, out: Path, *extra: str):
    return cli("audit", "export", "--from", "2000-01-01", "--to", "2999-12-31", "--out", str(out), *extra)


def test_an_export_verifies_against_its_manifest_and_a_changed_file_does_not(cli, tmp_path: Path) -> None:
    out = tmp_path / "audit"
    assert _export(cli, out).code == 0
    manifest = json.loads((out / "manifest.json").read_text())
    assert set(manifest["files"]) >= {"operations.csv", "summary.json", "report.html", "consents.csv"}
    assert manifest["masked"] is True and len(manifest["audit_head"]) == 64
    assert cli("audit", "verify", "--export", str(out)).code == 0
    with (out / "operations.csv").open("a") as handle:
        handle.write("99,forged\n")
    result = cli("audit", "verify", "--export", str(out))
    assert result.code == 3 and "operations.csv" in result.stderr


def test_a_file_added_to_a_received_export_is_reported(cli, tmp_path: Path) -> None:
    out = tmp_path / "audit"
    _export(cli, out)
    (out / "extra.csv").write_text("x\n")
    assert cli("audit", "verify", "--export", str(out)).code == 3


def test_an_unmasked_export_is_written_to_the_audit_log_with_its_actor(cli, tmp_path: Path) -> None:
    assert _export(cli, tmp_path / "clear", "--unmask", "--as", "auditor-jane").code == 0
    last = cli("audit", "log", "--json").json[-1]
    assert (last["action"], last["actor"]) == ("export_unmasked", "auditor-jane")
    assert json.loads((tmp_path / "clear" / "manifest.json").read_text())["masked"] is False


def test_the_manifest_carries_the_audit_chain_head(cli, tmp_path: Path) -> None:
    _export(cli, tmp_path / "a")
    head = json.loads((tmp_path / "a" / "manifest.json").read_text())["audit_head"]
    assert head == cli("audit", "verify", "--json").json["head_hash"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--from", "2026-11-30", "--to", "2026-11-01"], "before --from"),
        (["--from", "yesterday", "--to", "2026-11-01"], "is not a date"),
        (["--from", "2026-11-01", "--to", "2026-11-30", "--format", "pdf"], "unknown export format"),
    ],
)
def test_bad_requests_are_refused_in_one_line_and_write_nothing(cli, tmp_path: Path, args, message) -> None:
    out = tmp_path / "never"
    result = cli("audit", "export", *args, "--out", str(out))
    assert result.code == 2 and message in result.stderr  # a command line that does not make sense
    assert not out.exists()


def test_an_existing_export_is_never_overwritten(cli, tmp_path: Path) -> None:
    out = tmp_path / "audit"
    _export(cli, out)
    before = (out / "manifest.json").read_text()
    result = _export(cli, out)
    assert result.code == 1 and "not empty" in result.stderr
    assert (out / "manifest.json").read_text() == before


def test_verify_export_given_a_file_says_it_is_a_file(cli, tmp_path) -> None:
    """An auditor pointing --export at manifest.json was told the folder 'does not exist'."""
    manifest = tmp_path / "manifest.json"
    manifest.write_text("{}", encoding="utf-8")
    refused = cli("audit", "verify", "--export", str(manifest))
    assert refused.code == 1
    assert "is a file, not a folder: give the folder the export was written to" in refused.stderr


def test_export_formats_are_read_in_any_case(cli, tmp_path: Path) -> None:
    assert _export(cli, tmp_path / "a", "--format", "CSV, HTML").code == 0
    assert (tmp_path / "a" / "report.html").exists() and not (tmp_path / "a" / "operations.jsonl").exists()


@pytest.mark.parametrize("existed", [False, True])
def test_an_export_that_fails_leaves_no_folder_and_the_log_says_it_failed(
    cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, existed: bool
) -> None:
    """Interrupted half way, the folder held some files and no manifest, and the log showed an export
    that never finished."""
    from cctool import auditexport

    def interrupted(exporter) -> None:
        (exporter.request.out / "attempts.csv").write_text("half\n")
        raise KeyboardInterrupt

    monkeypatch.setattr(auditexport, "_sections", lambda store: [interrupted])
    out = tmp_path / "audit"
    if existed:
        out.mkdir()
    assert _export(cli, out).code == 130
    assert (out.exists(), list(out.iterdir()) if out.exists() else []) == (existed, [])
    log = cli("audit", "log", "--json").json
    assert [row["action"] for row in log[-2:]] == ["export", "export_failed"]
    assert json.loads(log[-1]["payload"]) == {"error": "KeyboardInterrupt"}


def test_numbers_written_any_way_in_free_text_are_masked(cli, tmp_path: Path, monkeypatch) -> None:
    """Only an unbroken +digits was masked: `718 675 1303`, `(718) 555-0142`, `+1 (646) 555 0100` in a
    note or a subject, and a registry file's invalid examples in an audit payload, went out in clear."""
    monkeypatch.setenv("CCTOOL_NOW", "2026-12-01T15:00:00Z")
    assert cli("optout", "+12125550123").code == 0
    ticket = cli("ticket", "new", "--phone", "+12125550123", "--kind", "complaint",
                 "--subject", "call +1 (646) 555 0100 or +44 7911 123456",
                 "--body", "home 718 675 1303, work (718) 555-0142, tel:13800138000")  # fmt: skip
    assert ticket.code == 0, ticket.stderr
    registry = tmp_path / "dnc.txt"
    registry.write_text("+12125550111\n(212) 555-0199 x\n")
    assert cli("dnc", "import", registry, "--list", "national", "--version", "v1", "--region", "US").code == 0
    out = tmp_path / "audit"
    assert _export(cli, out).code == 0
    text = "".join(p.read_text(encoding="utf-8") for p in out.iterdir())
    for clear in ("646) 555 0100", "7911 123456", "718 675 1303", "555-0142", "13800138000", "555-0199"):
        assert clear not in text, clear
    assert "******1303" in text and "+1 646***0100" in text
    assert "2026-12-01T15:00:00" in text  # times are not numbers to mask
    assert cli("audit", "verify", "--export", str(out)).code == 0


def test_dates_times_counts_and_hashes_in_text_are_left_as_they_are() -> None:
    from cctool.masking import mask_numbers_in_payload, mask_numbers_in_text

    for text in (
        "2026-12-02T05:36:17.936876Z",
        "on 2026-12-02 16:00",
        "form-4711, order 12345",
        "9f3e81234567a",
    ):
        assert mask_numbers_in_text(text) == text
    payload = '{"count": 1234567, "rate": 0.0254321, "sha256": "3f1234567890ab"}'
    assert mask_numbers_in_payload(payload) == payload  # untouched, byte for byte


def test_ctrl_c_during_an_export_stops_it_between_sections_not_inside_a_write(
    cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Raised where the signal landed, the interrupt could break a file's hashing queue and the export's
    cleanup then hung for ever (1 try in 13). Now it is noted and raised before the next section."""
    import os
    import signal

    from cctool import auditexport

    ran: list[str] = []

    def first(exporter) -> None:
        (exporter.request.out / "attempts.csv").write_text("half\n")
        os.kill(os.getpid(), signal.SIGINT)  # lands here, mid-section: the section goes on
        ran.append("first, to its end")

    def second(exporter) -> None:
        ran.append("second")

    monkeypatch.setattr(auditexport, "_sections", lambda store: [first, second])
    out = tmp_path / "audit"
    assert _export(cli, out).code == 130
    assert ran == ["first, to its end"] and not out.exists()
    assert cli("audit", "log", "--json").json[-1]["action"] == "export_failed"
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # the handler is put back

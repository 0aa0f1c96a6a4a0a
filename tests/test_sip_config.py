"""TRUNK.yaml: the password only by reference, and never shown; clear one-line errors for bad files."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from cctool.errors import UserError
from cctool.sip import config
from cctool.sip.message import Request, auth_params, parse, split_list
from cctool.sip.trunk import SipTrunk

PASSWORD = "hunter2-trunk-pw"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "trunk.yaml"
    path.write_text(text)
    return path


def test_a_full_trunk_file_loads(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "host: sip.carrier.test\nport: 5080\ntransport: tcp\nfrom_domain: acme.test\nusername: acme\n"
        "password_env: TRUNK_PW\nmax_channels: 30\nmax_cps: 5\nring_timeout: 22\ncodecs: [PCMA, telephone-event]\n"
        "bind_address: 127.0.0.1\nbind_port: 5099\n",
    )
    cfg = config.load(path, environ={"TRUNK_PW": PASSWORD})
    assert (cfg.host, cfg.port, cfg.transport, cfg.domain) == ("sip.carrier.test", 5080, "tcp", "acme.test")
    assert (cfg.max_channels, cfg.max_cps, cfg.ring_timeout, cfg.codecs) == (
        30,
        5.0,
        22.0,
        ("PCMA", "telephone-event"),
    )
    assert cfg.password is not None and cfg.password.reveal() == PASSWORD
    trunk = SipTrunk(cfg)
    assert (trunk.max_channels, trunk.max_cps) == (30, 5.0)


def test_the_password_never_shows_in_repr_describe_or_logs(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    cfg = config.load(write(tmp_path, "host: h\nusername: u\npassword_env: PW\n"), environ={"PW": PASSWORD})
    logging.getLogger("cctool.sip").info("trunk %r %s %s", cfg, cfg, cfg.describe())
    for text in (repr(cfg), str(cfg), str(cfg.describe()), repr(SipTrunk(cfg)), caplog.text):
        assert PASSWORD not in text
    assert cfg.describe()["password"] == "set"


def test_an_inline_password_is_refused(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="inline 'password:' is refused; use 'password_env"):
        config.load(write(tmp_path, f"host: h\nusername: u\npassword: {PASSWORD}\n"))


def test_a_password_file_must_be_private(tmp_path: Path) -> None:
    pw = tmp_path / "pw"
    pw.write_text(PASSWORD + "\n")
    pw.chmod(0o644)
    path = write(tmp_path, "host: h\nusername: u\npassword_file: pw\n")
    with pytest.raises(UserError, match="mode 0644; make it private: chmod 600") as err:
        config.load(path)
    assert PASSWORD not in str(err.value)
    pw.chmod(0o600)
    cfg = config.load(path)
    assert cfg.password is not None and cfg.password.reveal() == PASSWORD


@pytest.mark.parametrize(
    "text,message",
    [
        ("port: 5060\n", "'host' is required"),
        ("host: h\ntransport: tls\n", "transport must be udp or tcp"),
        ("host: h\nport: 99999\n", "port must be between 1 and 65535"),
        ("host: h\ncodecs: [G729]\n", "unknown codec 'G729'"),
        ("host: h\ncodecs: [telephone-event]\n", "needs an audio codec"),
        ("host: h\nusername: u\npassword_env: NOT_SET_ANYWHERE\n", r"\$NOT_SET_ANYWHERE, which is not set"),
        ("host: h\nringtimeout: 5\n", "unknown setting 'ringtimeout'"),
        ("host: h\nring_timeout: 25x\n", "ring_timeout: bad duration '25x'"),
        ("host: h\nring_timeout: 20m\n", "ring_timeout must be between 1 and 600"),
        ("- a\n- b\n", "a YAML mapping"),
        ("host: [\n", "cannot read the trunk file"),
    ],
)
def test_bad_trunk_files_say_what_is_wrong(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(UserError, match=message):
        config.load(write(tmp_path, text), environ={})


@pytest.mark.parametrize("written,seconds", [("25", 25.0), ("25s", 25.0), ("1m", 60.0), ("'30'", 30.0)])
def test_the_ring_timeout_is_read_as_campaign_files_write_durations_too(
    tmp_path: Path, written: str, seconds: float
) -> None:
    """A campaign file writes `ring_timeout: 25s`; the same line in the trunk file was refused."""
    assert (
        config.load(write(tmp_path, f"host: h\nring_timeout: {written}\n"), environ={}).ring_timeout
        == seconds
    )


def test_a_missing_file_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="no such trunk file"):
        config.load(tmp_path / "nope.yaml")


def test_messages_parse_compact_and_folded_headers() -> None:
    msg = parse(
        b"SIP/2.0 200 OK\r\nv: SIP/2.0/UDP a:1;branch=z9hG4bK1, SIP/2.0/UDP b:2;branch=z9hG4bK2\r\n"
        b"f: <sip:a@x>;tag=1\r\nt: <sip:b@x>\r\n ;tag=2\r\ni: abc\r\nCSeq: 7 INVITE\r\nl: 3\r\n\r\nxyzEXTRA"
    )
    assert msg.get_all("Via")[1] == "SIP/2.0/UDP b:2;branch=z9hG4bK2" and msg.branch == "z9hG4bK1"
    assert msg.get("To") == "<sip:b@x> ;tag=2" and msg.call_id == "abc" and msg.cseq == (7, "INVITE")
    assert msg.body == b"xyz"


def test_a_request_round_trips() -> None:
    req = Request(method="OPTIONS", uri="sip:h:5060")
    req.add("Via", "SIP/2.0/UDP 1.2.3.4:5;branch=z9hG4bKx")
    req.add("CSeq", "1 OPTIONS")
    back = parse(req.serialize())
    assert isinstance(back, Request) and back.method == "OPTIONS" and back.get("Content-Length") == "0"


def test_list_and_auth_parameters_respect_quotes() -> None:
    assert split_list('<sip:a;lr>, "x, y" <sip:b>') == ["<sip:a;lr>", '"x, y" <sip:b>']
    assert auth_params('Digest realm="a, b", qop="auth,auth-int", nonce=xyz') == (
        "digest",
        {"realm": "a, b", "qop": "auth,auth-int", "nonce": "xyz"},
    )


def test_a_tcp_trunk_that_refuses_the_connection_is_one_line(tmp_path: Path, cli) -> None:
    from .sippeers import free_port

    path = write(tmp_path, f"host: 127.0.0.1\nport: {free_port()}\ntransport: tcp\n")
    result = cli("trunk", "check", str(path))
    assert result.code == 1 and "cannot connect to the trunk 127.0.0.1:" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_busy_bind_port_is_one_line(tmp_path: Path, cli) -> None:
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as taken:
        taken.bind(("127.0.0.1", 0))
        port = taken.getsockname()[1]
        path = write(tmp_path, f"host: 127.0.0.1\nbind_address: 127.0.0.1\nbind_port: {port}\n")
        result = cli("trunk", "call", str(path), "+14155550123")
    assert result.code == 1 and f"cannot open a UDP socket on 127.0.0.1:{port}" in result.stderr


def test_what_a_run_records_about_the_trunk_holds_no_password(tmp_path: Path, store) -> None:
    cfg = config.load(write(tmp_path, "host: h\nusername: u\npassword_env: PW\n"), environ={"PW": PASSWORD})
    trunk = SipTrunk(cfg)
    assert trunk.name == "trunk.yaml"  # the attempts' trunk column names the file
    with store.write():
        store.audit("trunk", trunk.name, "dial_run_started", {"trunk": cfg.describe(), "repr": repr(trunk)})
    store.close()
    for path in tmp_path.glob("cc.db*"):
        assert PASSWORD.encode() not in path.read_bytes()

"""SipTrunk against real SIP peers on 127.0.0.1: SIPp plays the called party (and Kamailio a proxy).

Each test checks what the dialer would record for every call (outcome, SIP code, Call-ID) and SIPp's
own exit code: 0 means every call went exactly as its scenario expects.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from pathlib import Path

import pytest

from cctool.clock import WallClock
from cctool.sip.config import TrunkConfig, from_mapping
from cctool.sip.oneshot import CallsReport, check, place_calls
from cctool.sip.trunk import SipTrunk
from cctool.trunk import CallResult

from .sippeers import need, running, start_kamailio, start_sipp

pytestmark = pytest.mark.sip
PASSWORD = "s3cret-pw"  # what tests/sipp/auth.xml verifies


def trunk(port: int, transport: str = "udp", password: str | None = None, **extra: object) -> TrunkConfig:
    data: dict[str, object] = {"host": "127.0.0.1", "port": port, "transport": transport, "ring_timeout": 2}
    if password is not None:
        data.update(username="cctool", password_env="TEST_TRUNK_PW")
    data.update(extra)
    return from_mapping(data, environ={"TEST_TRUNK_PW": password or ""})


def run(
    tmp_path: Path,
    scenario: str,
    calls: int,
    transport: str = "udp",
    rate_cps: float | None = None,
    **kw: object,
) -> CallsReport:
    peer = start_sipp(scenario, calls, tmp_path, transport=transport)
    with running(peer):
        report = place_calls(
            trunk(peer.port, transport, **kw),  # type: ignore[arg-type]
            [f"+1415555{i:04d}" for i in range(calls)],
            talk_s=0.2,
            rate_cps=rate_cps,
            deadline_s=40,
        )
        assert peer.wait(30) == 0, peer.tail()
    assert len(report.results) == calls
    assert report.open_dialogs_after == 0
    assert len({r.call_id for r in report.results.values()}) == calls  # one Call-ID per attempt, kept
    return report


def outcomes(report: CallsReport) -> set[tuple[str, int | None]]:
    return {(r.outcome, r.sip_code) for r in report.results.values()}


@pytest.mark.parametrize("transport", ["udp", "tcp"])
def test_an_answered_call_rings_is_answered_and_ends_with_our_bye(tmp_path: Path, transport: str) -> None:
    report = run(tmp_path, "answer", 3, transport)
    assert outcomes(report) == {("answered", 200)}
    for call_no in range(3):
        assert [e for e, n in report.order if n == call_no] == ["ringing", "answered", "ended"]


def test_a_busy_line_is_busy(tmp_path: Path) -> None:
    assert outcomes(run(tmp_path, "busy", 2)) == {("busy", 486)}


def test_temporarily_unavailable_is_no_answer(tmp_path: Path) -> None:
    assert outcomes(run(tmp_path, "unavailable", 2)) == {("no_answer", 480)}


def test_a_503_fails_the_call_keeps_the_code_and_backs_the_trunk_off(tmp_path: Path) -> None:
    report = run(tmp_path, "overload", 2, rate_cps=10)
    assert outcomes(report) == {("failed", 503)}
    # Dialed 0.1 s apart, but SIPp says Retry-After: 1, so the second INVITE waits for it.
    assert report.elapsed_s >= 1.0


def test_a_call_nobody_answers_is_cancelled_at_the_ring_timeout(tmp_path: Path) -> None:
    report = run(tmp_path, "noanswer", 2)
    assert outcomes(report) == {("no_answer", 487)}
    assert all(r.ring_s >= 2.0 and r.detail == "ring timeout" for r in report.results.values())


def test_a_trunk_asking_for_digest_authentication_gets_it(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    report = run(tmp_path, "auth", 2, password=PASSWORD)
    assert outcomes(report) == {("answered", 200)}
    assert PASSWORD not in caplog.text and PASSWORD not in repr(report)
    for log in tmp_path.glob("*.log"):  # what SIPp saw on the wire carries the digest, never the password
        assert PASSWORD not in log.read_text(errors="replace")


def test_a_wrong_password_stops_the_run_with_one_clear_line(tmp_path: Path) -> None:
    peer = start_sipp("badauth", 1, tmp_path)
    with running(peer):
        report = place_calls(
            trunk(peer.port, password="not-the-password"), ["+14155550001"] * 5, rate_cps=5, deadline_s=20
        )
        assert peer.wait(30) == 0, peer.tail()
    assert report.fatal == "trunk rejected credentials"
    # The first call is refused; dial() then raises TrunkFatal, so the other four are never sent.
    assert outcomes(report) == {("failed", 403)} and len(report.results) == 1


def test_ack_and_bye_follow_the_record_route_through_a_proxy(tmp_path: Path) -> None:
    sipp = start_sipp("answer_proxied", 2, tmp_path)
    kamailio = start_kamailio(tmp_path, sipp.port)
    with running(sipp, kamailio):
        report = place_calls(
            trunk(kamailio.port), ["+14155550001", "+14155550002"], talk_s=0.2, deadline_s=30
        )
        # answer_proxied.xml fails a call whose ACK or BYE did not come through the proxy.
        assert sipp.wait(30) == 0, sipp.tail()
    assert outcomes(report) == {("answered", 200)}
    assert report.open_dialogs_after == 0


def test_trunk_check_reports_what_answered(tmp_path: Path) -> None:
    peer = start_sipp("options", 1, tmp_path)
    with running(peer):
        report = check(trunk(peer.port), timeout_s=5)
        assert peer.wait(10) == 0, peer.tail()
    assert report.code == 200 and report.server == "SIPp test peer" and report.latency_ms is not None


def test_trunk_check_says_when_nothing_answers() -> None:
    from .sippeers import free_port

    report = check(trunk(free_port()), timeout_s=1)
    assert report.code is None and "no answer" in report.reason


def test_cli_trunk_check_and_call(tmp_path: Path, cli, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEST_TRUNK_PW", PASSWORD)
    peer = start_sipp("options", 1, tmp_path)
    with running(peer):
        path = tmp_path / "trunk.yaml"
        path.write_text(
            f"host: 127.0.0.1\nport: {peer.port}\nusername: cctool\npassword_env: TEST_TRUNK_PW\n"
        )
        result = cli("trunk", "check", str(path), "--json")
        assert peer.wait(10) == 0, peer.tail()
    assert result.code == 0, result.stderr
    assert result.json["code"] == 200 and result.json["server"] == "SIPp test peer"
    assert PASSWORD not in result.stdout + result.stderr and result.json["trunk"]["password"] == "set"

    peer = start_sipp("auth", 1, tmp_path)
    with running(peer):
        path.write_text(
            f"host: 127.0.0.1\nport: {peer.port}\nusername: cctool\npassword_env: TEST_TRUNK_PW\n"
        )
        result = cli("trunk", "call", str(path), "+14155550123", "--talk", "0.2")
        assert peer.wait(10) == 0, peer.tail()
    assert result.code == 0, result.stderr
    assert "+14155550123: answered (200)" in result.stdout and PASSWORD not in result.stdout + result.stderr


def test_cli_trunk_check_exits_1_when_nothing_answers(tmp_path: Path, cli) -> None:
    from .sippeers import free_port

    path = tmp_path / "trunk.yaml"
    path.write_text(f"host: 127.0.0.1\nport: {free_port()}\n")
    result = cli("trunk", "check", str(path), "--timeout", "0.5")
    assert result.code == 1 and "no answer within 0.5 s" in result.stderr and "Traceback" not in result.stderr


def test_the_demo_step_calls_a_sipp_peer(tmp_path: Path) -> None:
    from cctool.sip.demo import demo

    need("sipp")
    lines: list[str] = []
    demo(None, tmp_path, lines.append)
    text = "\n".join(lines)
    assert text.count("[bold]answered[/bold] (SIP 200") == 3 and "[bold]busy[/bold] (SIP 486" in text
    assert "SIPp exit codes [0, 0, 0]" in text and "open dialogs left: 0" in text


def test_the_demo_step_says_why_it_is_skipped_without_sipp(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from cctool.sip import demo as sip_demo

    monkeypatch.setattr(sip_demo.shutil, "which", lambda name: None)
    lines: list[str] = []
    sip_demo.demo(None, tmp_path, lines.append)
    assert lines == [
        "SIP trunk demo skipped: SIPp is not installed (Debian package sip-tester; scripts/install-test-deps.sh)"
    ]


class Recorder:
    """A tiny TrunkEvents that keeps what the engine would record."""

    def __init__(self) -> None:
        self.answered: list[int] = []
        self.ringing: list[int] = []
        self.ended: dict[int, CallResult] = {}

    def on_ringing(self, call_no: int) -> None:
        self.ringing.append(call_no)

    def on_answer(self, call_no: int, machine: bool) -> None:
        assert machine is False
        self.answered.append(call_no)

    def on_end(self, call_no: int, result: CallResult) -> None:
        assert call_no not in self.ended  # exactly once per dial
        self.ended[call_no] = result


@pytest.mark.parametrize("from_the_loop", [False, True], ids=["after-the-run", "from-a-signal-handler"])
def test_close_byes_answered_calls_and_cancels_ringing_ones(tmp_path: Path, from_the_loop: bool) -> None:
    answering = start_sipp("answer", 2, tmp_path)
    ringing = start_sipp("noanswer", 1, tmp_path)
    with running(answering, ringing):
        clock = WallClock()
        events = Recorder()
        talking = SipTrunk(trunk(answering.port, ring_timeout=60))
        waiting = SipTrunk(trunk(ringing.port, ring_timeout=60))
        talking.start(clock, events)
        waiting.start(clock, events)
        talking.dial(1, "+14155550001", "+14155550100", 60)
        talking.dial(2, "+14155550002", "+14155550100", 60)
        waiting.dial(3, "+14155550003", "+14155550100", 60)
        clock.run_until(
            clock.now() + timedelta(seconds=10),
            stop=lambda: len(events.answered) == 2 and 3 in events.ringing,
        )
        assert events.ended == {}  # nobody hangs up: the engine was interrupted mid-call
        if from_the_loop:
            # What a SIGINT/SIGTERM handler on the loop does: close() schedules the shutdown and returns.
            clock.loop.call_soon(talking.close)
            clock.loop.call_soon(waiting.close)
            clock.run_until(clock.now() + timedelta(seconds=10), stop=lambda: len(events.ended) == 3)
        else:
            talking.close()
            waiting.close()
        assert {n: (r.outcome, r.sip_code) for n, r in events.ended.items()} == {
            1: ("answered", 200),
            2: ("answered", 200),
            3: ("no_answer", 487),
        }
        assert talking.open_dialogs == waiting.open_dialogs == 0
        assert answering.wait(20) == 0, answering.tail()  # both BYEs arrived
        assert ringing.wait(20) == 0, ringing.tail()  # the CANCEL arrived
        clock.close()


CTRL_C_CHILD = """
import sys
from datetime import timedelta
from cctool.clock import WallClock
from cctool.sip.config import from_mapping
from cctool.sip.trunk import SipTrunk

class Events:
    def __init__(self):
        self.answered = 0
    def on_ringing(self, n): pass
    def on_answer(self, n, machine):
        self.answered += 1
        if self.answered == 2:
            print("answered", flush=True)
    def on_end(self, n, result):
        print("ended", n, result.outcome, result.sip_code, flush=True)

clock = WallClock()
trunk = SipTrunk(from_mapping({"host": "127.0.0.1", "port": int(sys.argv[1]), "ring_timeout": 60}))
ringing = SipTrunk(from_mapping({"host": "127.0.0.1", "port": int(sys.argv[2]), "ring_timeout": 60}))
events = Events()
trunk.start(clock, events)
ringing.start(clock, events)
trunk.dial(1, "+14155550001", "+14155550100", 60)
trunk.dial(2, "+14155550002", "+14155550100", 60)
ringing.dial(3, "+14155550003", "+14155550100", 60)
try:
    clock.run_until(clock.now() + timedelta(seconds=60))
except KeyboardInterrupt:
    print("interrupted", flush=True)
    trunk.close()
    ringing.close()
"""


def test_ctrl_c_in_the_middle_of_calls_leaves_no_dialog_open(tmp_path: Path) -> None:
    import signal
    import subprocess
    import sys
    import time

    answering = start_sipp("answer", 2, tmp_path)
    ringing = start_sipp("noanswer", 1, tmp_path)
    with running(answering, ringing):
        child = subprocess.Popen(
            [sys.executable, "-c", CTRL_C_CHILD, str(answering.port), str(ringing.port)],
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            assert child.stdout is not None
            assert child.stdout.readline().strip() == "answered"
            time.sleep(0.3)
            child.send_signal(signal.SIGINT)
            out, _ = child.communicate(timeout=40)
        finally:
            if child.poll() is None:
                child.kill()
        lines = out.splitlines()
        assert lines[0] == "interrupted"
        assert sorted(lines[1:]) == ["ended 1 answered 200", "ended 2 answered 200", "ended 3 no_answer 487"]
        assert answering.wait(20) == 0, answering.tail()  # both calls got their BYE
        assert ringing.wait(20) == 0, ringing.tail()  # the ringing one its CANCEL

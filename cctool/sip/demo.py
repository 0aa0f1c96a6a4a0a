"""Demo step: real SIP on loopback. A SIPp peer plays the carrier; SipTrunk checks it and places calls."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .config import from_mapping
from .oneshot import check, place_calls

OPTIONS_SCENARIO = """<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="demo options">
  <recv request="OPTIONS"/>
  <send><![CDATA[

SIP/2.0 200 OK
[last_Via:]
[last_From:]
[last_To:];tag=[pid]demo[call_number]
[last_Call-ID:]
[last_CSeq:]
Server: SIPp demo trunk
Content-Length: 0

]]></send>
</scenario>
"""

BUSY_SCENARIO = """<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="demo busy">
  <recv request="INVITE"/>
  <send><![CDATA[

SIP/2.0 486 Busy Here
[last_Via:]
[last_From:]
[last_To:];tag=[pid]demo[call_number]
[last_Call-ID:]
[last_CSeq:]
Content-Length: 0

]]></send>
  <recv request="ACK"/>
</scenario>
"""


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _sipp(sipp: str, scenario: list[str], calls: int, workdir: Path) -> tuple[subprocess.Popen[bytes], int]:
    port = _free_port()
    args = [
        sipp,
        *scenario,
        "-i",
        "127.0.0.1",
        "-p",
        str(port),
        "-m",
        str(calls),
        "-nostdin",
        "-timeout",
        "30s",
    ]
    with open(workdir / f"sipp-{port}.log", "wb") as log:
        proc = subprocess.Popen(
            args, cwd=workdir, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT
        )
    time.sleep(0.3)  # let it bind
    return proc, port


def _stop(proc: subprocess.Popen[bytes]) -> int | None:
    try:
        return proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.kill(proc.pid, signal.SIGTERM)
        proc.wait(timeout=5)
        return None


def demo(store: Any, workdir: Path, say: Callable[[str], None]) -> None:
    sipp = shutil.which("sipp")
    if sipp is None:
        say(
            "SIP trunk demo skipped: SIPp is not installed (Debian package sip-tester; scripts/install-test-deps.sh)"
        )
        return
    folder = Path(workdir) / "sip"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "busy.xml").write_text(BUSY_SCENARIO)
    (folder / "options.xml").write_text(OPTIONS_SCENARIO)
    say("A SIPp peer on 127.0.0.1 plays the carrier's trunk (no RTP: calls are silent, signalling only).")
    peers = []
    try:
        pinged, ping_port = _sipp(sipp, ["-sf", str(folder / "options.xml")], 1, folder)
        peers.append(pinged)
        options = check(from_mapping({"host": "127.0.0.1", "port": ping_port}), timeout_s=3)
        say(
            f"trunk check (OPTIONS): {options.code} {options.reason} in {options.latency_ms} ms, server {options.server!r}"
        )
        answering, port = _sipp(sipp, ["-sn", "uas"], 3, folder)
        peers.append(answering)
        cfg = from_mapping({"host": "127.0.0.1", "port": port, "max_cps": 10, "ring_timeout": 10})
        report = place_calls(cfg, ["+14155550101", "+14155550102", "+14155550103"], talk_s=0.5, deadline_s=30)
        busy, busy_port = _sipp(sipp, ["-sf", str(folder / "busy.xml")], 1, folder)
        peers.append(busy)
        busy_report = place_calls(
            from_mapping({"host": "127.0.0.1", "port": busy_port}), ["+14155550104"], deadline_s=30
        )
        for phone, result in [
            *zip(["+14155550101", "+14155550102", "+14155550103"], report.results.values()),
            ("+14155550104", busy_report.results.get(0)),
        ]:
            if result is not None:
                say(
                    f"  {phone}: [bold]{result.outcome}[/bold] (SIP {result.sip_code}, Call-ID {(result.call_id or '')[:12]}...)"
                )
        codes = [_stop(p) for p in peers]
        say(f"SIPp exit codes {codes} (0: every call went as its scenario expects); open dialogs left: "
            f"{report.open_dialogs_after + busy_report.open_dialogs_after}")  # fmt: skip
    finally:
        for proc in peers:
            if proc.poll() is None:
                os.kill(proc.pid, signal.SIGTERM)
                proc.wait(timeout=5)

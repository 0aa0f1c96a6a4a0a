"""Real SIP peers for the tests: SIPp (and Kamailio as a Record-Route proxy) on 127.0.0.1, free ports.

Each peer is a child process started with Popen (the `&` of a shell), ends by itself after `-m N` calls,
has `-timeout` as a guard, and is killed by its PID in teardown if it is still running. SIPp's exit code
is the verdict on its side: 0 means every call went as its scenario says.
When SIPp or Kamailio is missing the tests skip with the reason; under CI=true they fail instead.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

SCENARIOS = Path(__file__).parent / "sipp"
KAMAILIO_CFG = Path(__file__).parent / "kamailio.cfg.in"


def need(tool: str) -> str:
    """The path of a system tool, or skip (fail under CI=true) saying how to get it."""
    path = shutil.which(tool) or (f"/usr/sbin/{tool}" if os.path.exists(f"/usr/sbin/{tool}") else None)
    if path:
        return path
    import pytest  # here, so the benchmark can use this module without pytest installed

    reason = f"{tool} is not installed (run: sudo bash scripts/install-test-deps.sh)"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(reason)
    pytest.skip(reason)


def free_port(transport: str = "udp") -> int:
    """A port free for both UDP and TCP on 127.0.0.1 right now."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            udp.bind(("127.0.0.1", 0))
            port = udp.getsockname()[1]
            try:
                with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp:
                    tcp.bind(("127.0.0.1", port))
            except OSError:
                continue
            return int(port)
    raise RuntimeError("no free port on 127.0.0.1")


@dataclass
class Peer:
    """A running child process and what it left behind."""

    proc: subprocess.Popen[bytes]
    port: int
    workdir: Path
    name: str
    logs: list[Path] = field(default_factory=list)

    def wait(self, timeout: float = 60) -> int:
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError(f"{self.name} did not finish within {timeout:g} s; {self.tail()}") from None

    def kill(self) -> None:
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=5)

    def tail(self) -> str:
        text = []
        for log in self.logs:
            if log.exists() and log.stat().st_size:
                text.append(f"{log.name}: {log.read_text(errors='replace')[-1500:]}")
        return "\n".join(text) or "(no log output)"


def start_sipp(
    scenario: str,
    calls: int,
    workdir: Path,
    transport: str = "udp",
    timeout_s: int = 60,
    extra: tuple[str, ...] = (),
) -> Peer:
    """SIPp playing `tests/sipp/<scenario>.xml` on a free port; a port lost to a race (exit 254) is retried."""
    for attempt in range(3):
        try:
            return _start_sipp(scenario, calls, workdir, transport, timeout_s, extra)
        except PortTaken:
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


class PortTaken(AssertionError):
    """SIPp exited with 254: someone else took the free port between our probe and its bind."""


def _start_sipp(
    scenario: str, calls: int, workdir: Path, transport: str, timeout_s: int, extra: tuple[str, ...]
) -> Peer:
    sipp = need("sipp")
    port = free_port()
    errors = workdir / f"sipp-{scenario}-{port}-errors.log"
    screen = workdir / f"sipp-{scenario}-{port}-screen.log"
    args = [
        sipp,
        "-sf",
        str(SCENARIOS / f"{scenario}.xml"),
        "-i",
        "127.0.0.1",
        "-p",
        str(port),
        "-t",
        "t1" if transport == "tcp" else "u1",
        "-m",
        str(calls),
        "-nostdin",
        "-timeout",
        f"{timeout_s}s",
        "-trace_err",
        "-error_file",
        str(errors),
        "-buff_size",
        str(4 * 1024 * 1024),
        *extra,
    ]
    with open(screen, "wb") as out:
        proc = subprocess.Popen(
            args, cwd=workdir, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT
        )
    peer = Peer(proc, port, workdir, f"sipp {scenario}", [errors, screen])
    _wait_listening(peer, transport)
    return peer


def _wait_listening(peer: Peer, transport: str) -> None:
    """Wait until the peer has bound its port (so the first INVITE is not lost to a closed port)."""
    deadline = time.monotonic() + 10
    kind = socket.SOCK_STREAM if transport == "tcp" else socket.SOCK_DGRAM
    while time.monotonic() < deadline:
        if peer.proc.poll() is not None:
            if peer.proc.returncode == 254 and peer.name.startswith("sipp"):
                raise PortTaken(f"{peer.name}: port {peer.port} taken")
            raise AssertionError(f"{peer.name} exited with {peer.proc.returncode} at start; {peer.tail()}")
        with socket.socket(socket.AF_INET, kind) as probe:
            try:
                probe.bind(("127.0.0.1", peer.port))
            except OSError:
                return  # bound by the peer
        time.sleep(0.05)
    raise AssertionError(f"{peer.name} did not bind 127.0.0.1:{peer.port}")


def start_kamailio(workdir: Path, next_hop_port: int) -> Peer:
    kamailio = need("kamailio")
    port = free_port()
    cfg = workdir / f"kamailio-{port}.cfg"
    cfg.write_text(
        KAMAILIO_CFG.read_text()
        .replace("@PORT@", str(port))
        .replace("@NEXT_HOP@", f"127.0.0.1:{next_hop_port}")
    )
    log = workdir / f"kamailio-{port}.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [
                kamailio,
                "-DD",
                "-E",
                "-f",
                str(cfg),
                "-n",
                "1",
                "-Y",
                str(workdir),
                "-P",
                str(workdir / "k.pid"),
                "-m",
                "32",
                "-M",
                "8",
            ],
            cwd=workdir,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    peer = Peer(proc, port, workdir, "kamailio", [log])
    _wait_listening(peer, "udp")
    return peer


@contextmanager
def running(*peers: Peer) -> Iterator[None]:
    """Kill whatever is still running on the way out, whatever happened."""
    try:
        yield
    finally:
        for peer in peers:
            peer.kill()

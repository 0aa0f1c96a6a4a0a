"""`SipTrunk`: the `cctool.trunk.Trunk` that places real calls, on a `WallClock`'s asyncio loop.

The protocol work happens in the sans-IO `UserAgent`; this module only moves bytes between it and a
socket (UDP with a 4 MiB receive buffer, so bursts of responses are not dropped, or TCP with framing by
Content-Length), runs its timers on the loop, and turns its events into the engine's callbacks.
cctool sends and receives no RTP: an answered call is held silent for the talk time, then ended.
"""

from __future__ import annotations

import asyncio
import logging
import re
import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..trunk import CallResult, TrunkEvents, TrunkFatal
from . import config as trunk_config
from .config import TrunkConfig
from .transaction import T1
from .useragent import (
    Address,
    Answered,
    BackedOff,
    Ended,
    Fatal,
    OptionsAnswered,
    Ringing,
    Settings,
    UserAgent,
)

log = logging.getLogger("cctool.sip")
RCVBUF = 4 * 1024 * 1024
_CONTENT_LENGTH = re.compile(rb"^(?:content-length|l)[ \t]*:[ \t]*(\d+)", re.IGNORECASE | re.MULTILINE)


class _NoEvents:
    def on_ringing(self, call_no: int) -> None: ...

    def on_answer(self, call_no: int, machine: bool) -> None: ...

    def on_end(self, call_no: int, result: CallResult) -> None: ...


class SipTrunk:
    """Places calls through the carrier's trunk described by a TRUNK.yaml."""

    def __init__(self, config: TrunkConfig):
        self.config = config
        self.name = config.name
        self.max_channels: int | None = config.max_channels
        self.max_cps: float | None = config.max_cps
        self.fatal: TrunkFatal | None = None  # set when the trunk cannot go on; dial() then raises it
        self.ua: UserAgent | None = None
        self.options_answers: dict[int, OptionsAnswered] = {}
        self._events: TrunkEvents = _NoEvents()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._udp: socket.socket | None = None
        self._tcp: dict[Address, _TcpConnection] = {}
        self._resolved: dict[str, str] = {}
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at = 0.0
        self._closing = False
        self._closed = False
        self.on_idle: Callable[[], None] | None = None
        self.receive_buffer = 0  # bytes the kernel gave the UDP socket

    @classmethod
    def from_file(cls, path: Path | str) -> SipTrunk:
        return cls(trunk_config.load(path))

    def __repr__(self) -> str:
        return f"SipTrunk({self.config.host}:{self.config.port}/{self.config.transport})"

    # ---- the Trunk protocol ---------------------------------------------------------------------------
    def start(self, clock: Any, events: TrunkEvents | None = None) -> None:
        """Open the socket (binding now, so errors surface before the first dial)."""
        loop = getattr(clock, "loop", None)
        if not isinstance(loop, asyncio.AbstractEventLoop):
            raise TypeError("SipTrunk runs on a WallClock (an asyncio loop), not a virtual clock")
        self._loop = loop
        self._events = events or _NoEvents()
        cfg = self.config
        trunk_ip = self._resolve(cfg.host)
        if cfg.transport == "udp":
            try:
                local = self._open_udp(trunk_ip)
            except OSError as exc:
                where = f"{cfg.bind_address}:{cfg.bind_port}"
                raise TrunkFatal(f"cannot open a UDP socket on {where}: {exc.strerror or exc}") from None
        else:
            try:
                local = self._open_tcp((trunk_ip, cfg.port)).local
            except OSError as exc:
                where = f"{cfg.host}:{cfg.port}/tcp"
                raise TrunkFatal(f"cannot connect to the trunk {where}: {exc.strerror or exc}") from None
        self.ua = UserAgent(
            Settings(
                local_host=local[0],
                local_port=local[1],
                trunk_host=cfg.host,
                trunk_port=cfg.port,
                transport=cfg.transport,
                domain=cfg.domain,
                username=cfg.username,
                password=cfg.password,
                codecs=cfg.codecs,
                max_channels=cfg.max_channels,
                max_cps=cfg.max_cps,
            )
        )

    def dial(self, call_no: int, e164: str, caller_id: str, ring_timeout_s: float) -> None:
        if self.fatal is not None:
            raise self.fatal
        ua = self._ua()
        ua.dial(
            call_no, e164, caller_id or "anonymous", ring_timeout_s or self.config.ring_timeout, self._now()
        )
        self._pump()

    def hangup(self, call_no: int, safe_harbour: bool = False) -> None:
        """End a call. No audio is played (no RTP): the safe-harbour message is the engine's record only."""
        self._ua().hangup(call_no, self._now())
        self._pump()

    def options(self, key: int = 0) -> None:
        """Send an OPTIONS to the trunk; the answer lands in `options_answers[key]`."""
        self._ua().options(key, self._now())
        self._pump()

    @property
    def active_calls(self) -> int:
        return self.ua.active if self.ua else 0

    @property
    def open_dialogs(self) -> int:
        return self.ua.open_dialogs if self.ua else 0

    def close(self, timeout_s: float = 64 * T1 + 5) -> None:
        """Cancel ringing calls, BYE answered ones, and wait for every call to end (on_end for each).

        Safe from a signal handler: on a running loop it only schedules the shutdown and returns; the
        caller keeps the loop running until `active_calls` is 0 (the sockets close by themselves then).
        """
        if self._loop is None or self._closed:
            return
        if self._loop.is_running():
            self._loop.call_soon_threadsafe(self._begin_close)
            return
        self._begin_close()
        self._loop.run_until_complete(self._wait_idle(timeout_s))
        self._release()

    async def aclose(self, timeout_s: float = 64 * T1 + 5) -> None:
        """`close()` for code already running on the loop."""
        if self._loop is None or self._closed:
            return
        self._begin_close()
        await self._wait_idle(timeout_s)
        self._release()

    async def _wait_idle(self, timeout_s: float) -> None:
        assert self._loop is not None
        end = self._loop.time() + timeout_s
        while self.active_calls and self._loop.time() < end:
            await asyncio.sleep(0.02)

    def _begin_close(self) -> None:
        if self.ua is None or self._closing:
            return
        self._closing = True
        self.ua.shutdown(self._now())
        self._pump()

    # ---- pumping the sans-IO core ---------------------------------------------------------------------
    def _ua(self) -> UserAgent:
        if self.ua is None:
            raise RuntimeError("SipTrunk.start() must be called before dialing")
        return self.ua

    def _now(self) -> float:
        assert self._loop is not None
        return self._loop.time()

    def _pump(self) -> None:
        """Send what the core queued, deliver its events, and arm the loop timer for its next deadline."""
        ua = self.ua
        if ua is None:
            return
        if ua.outbox:
            out, ua.outbox = ua.outbox, []
            for data, dest in out:
                self._send(data, dest)
        failure: BaseException | None = None
        if ua.events:
            events, ua.events = ua.events, []
            for event in events:
                try:
                    self._deliver(event)
                except BaseException as exc:  # the engine's callback failed: deliver the rest, then raise
                    failure = failure or exc
        deadline = ua.deadline
        if deadline is not None and (self._timer is None or deadline < self._timer_at - 1e-4):
            if self._timer is not None:
                self._timer.cancel()
            assert self._loop is not None
            self._timer_at = deadline
            self._timer = self._loop.call_at(deadline, self._on_timer)
        if self._closing and not ua.active and self._loop is not None and self._loop.is_running():
            self._release()
        if failure is not None:
            raise failure

    def _on_timer(self) -> None:
        self._timer = None
        if self.ua is not None:
            self.ua.tick(max(self._now(), self._timer_at))
            self._pump()

    def _deliver(self, event: object) -> None:
        if isinstance(event, Ringing):
            self._events.on_ringing(event.key)
        elif isinstance(event, Answered):
            self._events.on_answer(event.key, False)
        elif isinstance(event, Ended):
            result = CallResult(event.outcome, event.ring_s, event.sip_code, event.call_id, event.detail)
            self._events.on_end(event.key, result)
        elif isinstance(event, OptionsAnswered):
            self.options_answers[event.key] = event
        elif isinstance(event, Fatal):
            if self.fatal is None:
                self.fatal = TrunkFatal(event.message)
                log.error("%s: %s", self.config.host, event.message)
        elif isinstance(event, BackedOff):
            log.warning("trunk answered %s: holding new calls for %.1f s", event.code, event.seconds)

    # ---- sockets -----------------------------------------------------------------------------------
    def _resolve(self, host: str) -> str:
        if host not in self._resolved:
            try:
                self._resolved[host] = str(socket.getaddrinfo(host, None, type=socket.SOCK_DGRAM)[0][4][0])
            except OSError:
                raise TrunkFatal(f"cannot resolve the trunk host {host!r}") from None
        return self._resolved[host]

    def _open_udp(self, trunk_ip: str) -> Address:
        cfg = self.config
        family = socket.AF_INET6 if ":" in trunk_ip else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_DGRAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RCVBUF)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, RCVBUF)
        self.receive_buffer = sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF) // 2  # Linux reports 2x
        if self.receive_buffer < RCVBUF and hasattr(socket, "SO_RCVBUFFORCE"):
            try:  # past net.core.rmem_max; allowed with CAP_NET_ADMIN
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUFFORCE, RCVBUF)
                self.receive_buffer = sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF) // 2
            except OSError:
                log.warning(
                    "UDP receive buffer is %d bytes (net.core.rmem_max); raise it to %d for high call rates",
                    self.receive_buffer,
                    RCVBUF,
                )
        sock.bind((cfg.bind_address, cfg.bind_port))
        sock.setblocking(False)
        self._udp = sock
        assert self._loop is not None
        self._loop.add_reader(sock.fileno(), self._on_udp)
        host, port = sock.getsockname()[:2]
        if host in ("0.0.0.0", "::"):
            host = _route_to(trunk_ip, cfg.port, family)
        return host, port

    def _open_tcp(self, dest: Address) -> _TcpConnection:
        conn = self._tcp.get(dest)
        if conn is None or conn.closed:
            assert self._loop is not None
            conn = _TcpConnection(self, dest, self._loop, self.config.bind_address)
            self._tcp[dest] = conn
        return conn

    def _send(self, data: bytes, dest: Address) -> None:
        ip = self._resolve(dest[0])
        try:
            if self._udp is not None:
                self._udp.sendto(data, (ip, dest[1]))
            else:
                self._open_tcp((ip, dest[1])).write(data)
        except (BlockingIOError, InterruptedError):
            log.debug("send buffer full: a datagram to %s was dropped (retransmission covers it)", dest)
        except OSError as exc:
            log.warning("cannot send to %s:%s: %s", dest[0], dest[1], exc.strerror or exc)

    def _on_udp(self) -> None:
        sock, ua = self._udp, self.ua
        if sock is None or ua is None:
            return
        now = self._now()
        for _ in range(256):
            try:
                data, source = sock.recvfrom(65535)
            except (BlockingIOError, InterruptedError):
                break
            except OSError:
                break  # e.g. ICMP port unreachable surfacing as ECONNREFUSED
            ua.receive(data, source[:2], now)
        self._pump()

    def _on_tcp_message(self, data: bytes, source: Address) -> None:
        if self.ua is not None:
            self.ua.receive(data, source, self._now())
            self._pump()

    def _release(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._udp is not None and self._loop is not None:
            self._loop.remove_reader(self._udp.fileno())
            self._udp.close()
        for conn in self._tcp.values():
            conn.close()
        if self.on_idle is not None:
            self.on_idle()


class _TcpConnection:
    """One TCP connection: a blocking connect (the trunk is one hop away), then non-blocking I/O."""

    def __init__(self, owner: SipTrunk, dest: Address, loop: asyncio.AbstractEventLoop, bind_address: str):
        self.owner, self.dest, self.loop = owner, dest, loop
        source = (bind_address, 0) if bind_address not in ("0.0.0.0", "::") else None
        self.sock = socket.create_connection(dest, timeout=5, source_address=source)
        self.sock.setblocking(False)
        self.local: Address = self.sock.getsockname()[:2]
        self.inbuf = b""
        self.outbuf = b""
        self.closed = False
        loop.add_reader(self.sock.fileno(), self._readable)

    def write(self, data: bytes) -> None:
        if self.closed:
            return
        if self.outbuf:
            self.outbuf += data
            return
        try:
            sent = self.sock.send(data)
        except (BlockingIOError, InterruptedError):
            sent = 0
        if sent < len(data):
            self.outbuf = data[sent:]
            self.loop.add_writer(self.sock.fileno(), self._writable)

    def _writable(self) -> None:
        try:
            sent = self.sock.send(self.outbuf)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            self.close()
            return
        self.outbuf = self.outbuf[sent:]
        if not self.outbuf:
            self.loop.remove_writer(self.sock.fileno())

    def _readable(self) -> None:
        try:
            chunk = self.sock.recv(262144)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            chunk = b""
        if not chunk:
            self.close()
            return
        self.inbuf += chunk
        for message in self._frames():
            self.owner._on_tcp_message(message, self.dest)

    def _frames(self) -> list[bytes]:
        """Whole messages from the stream: headers to the blank line, then Content-Length bytes."""
        out: list[bytes] = []
        while True:
            self.inbuf = self.inbuf.lstrip(b"\r\n")
            end = self.inbuf.find(b"\r\n\r\n")
            if end < 0:
                return out
            match = _CONTENT_LENGTH.search(self.inbuf[:end])
            total = end + 4 + (int(match.group(1)) if match else 0)
            if len(self.inbuf) < total:
                return out
            out.append(self.inbuf[:total])
            self.inbuf = self.inbuf[total:]

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        self.loop.remove_reader(self.sock.fileno())
        if self.outbuf:
            self.loop.remove_writer(self.sock.fileno())
        self.sock.close()


def _route_to(ip: str, port: int, family: int) -> str:
    """The local address the kernel would use to reach the trunk (for Via, Contact and SDP)."""
    probe = socket.socket(family, socket.SOCK_DGRAM)
    try:
        probe.connect((ip, port))
        return str(probe.getsockname()[0])
    finally:
        probe.close()

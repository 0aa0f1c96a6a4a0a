"""Engine choice check: does a candidate's INVITE survive a lost datagram? (RFC 3261 Timer A)

    pip install aiosipua && python -m bench.sip_aiosipua

Sends one INVITE from aiosipua and one from cctool's SipTrunk to a UDP port on 127.0.0.1 that never
answers, and counts the datagrams each sends in 4 seconds. RFC 3261 says 4 (at 0, 0.5, 1.5, 3.5 s):
a UA that sends 1 loses the call whenever its INVITE is dropped (as SIPp's kernel buffer does under load).
"""

from __future__ import annotations

import asyncio
import socket
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def black_hole() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.setblocking(False)
    return sock


def count(sock: socket.socket) -> int:
    n = 0
    while True:
        try:
            sock.recv(65535)
        except BlockingIOError:
            return n
        n += 1


async def with_aiosipua(seconds: float) -> int:
    from aiosipua.transport import UdpSipTransport
    from aiosipua.uac import SipUAC

    hole = black_hole()
    transport = UdpSipTransport(local_addr=("127.0.0.1", 0))
    await transport.start()
    uac = SipUAC(transport)
    uac.send_invite(
        "sip:bench@127.0.0.1", f"sip:+14155550123@127.0.0.1:{hole.getsockname()[1]}", hole.getsockname()
    )
    await asyncio.sleep(seconds)
    await transport.stop()
    return count(hole)


def with_cctool(seconds: float) -> int:
    from datetime import timedelta

    from cctool.clock import WallClock
    from cctool.sip.config import from_mapping
    from cctool.sip.trunk import SipTrunk

    hole = black_hole()
    clock = WallClock()
    trunk = SipTrunk(from_mapping({"host": "127.0.0.1", "port": hole.getsockname()[1]}))
    trunk.start(clock, None)
    trunk.dial(1, "+14155550123", "+14155550100", 30)
    clock.run_until(clock.now() + timedelta(seconds=seconds))
    n = count(hole)
    trunk.close(timeout_s=0)
    clock.close()
    return n


def main() -> int:
    seconds = 4.0
    rows = [("cctool SipTrunk", with_cctool(seconds))]
    try:
        rows.append(("aiosipua", asyncio.run(with_aiosipua(seconds))))
    except ImportError:
        print("aiosipua is not installed (pip install aiosipua); measuring cctool only")
    print(f"INVITE datagrams sent in {seconds:g} s to a peer that never answers (RFC 3261: 4)")
    for name, n in rows:
        print(f"  {name:<16} {n}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

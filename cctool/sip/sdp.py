"""The SDP offer (RFC 4566 / 3264) carried by our INVITEs. cctool sends and receives no RTP: the offer
names codecs so that trunks accept the call, and the answer is not used."""

from __future__ import annotations

import time

# name -> (payload type, rtpmap, fmtp)
CODECS: dict[str, tuple[int, str, str | None]] = {
    "PCMU": (0, "PCMU/8000", None),
    "PCMA": (8, "PCMA/8000", None),
    "telephone-event": (101, "telephone-event/8000", "0-16"),
}


def offer(local_ip: str, rtp_port: int, codecs: tuple[str, ...]) -> bytes:
    """An audio offer listing `codecs` in order of preference."""
    session = int(time.time())
    family = "IP6" if ":" in local_ip else "IP4"
    pts = [CODECS[name] for name in codecs]
    lines = [
        "v=0",
        f"o=cctool {session} {session} IN {family} {local_ip}",
        "s=cctool",
        f"c=IN {family} {local_ip}",
        "t=0 0",
        f"m=audio {rtp_port} RTP/AVP {' '.join(str(pt) for pt, _, _ in pts)}",
    ]
    for pt, rtpmap, fmtp in pts:
        lines.append(f"a=rtpmap:{pt} {rtpmap}")
        if fmtp:
            lines.append(f"a=fmtp:{pt} {fmtp}")
    lines += ["a=ptime:20", "a=sendrecv"]
    return ("\r\n".join(lines) + "\r\n").encode()

"""SIP benchmark: SipTrunk against a SIPp answering peer on loopback, with SIPp's own caller as baseline.

    python -m bench.sip [--rate 250] [--talk 3] [--seconds 8]

Every call rings, is answered, held for --talk seconds and ended with our BYE. Reported: attempts per
second sustained, the peak of concurrent answered dialogs, calls failed on SIPp's side (its exit code and
counters), dialogs left open at the end, and the same run with SIPp's own UAC in place of cctool.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from cctool.sip.config import from_mapping  # noqa: E402
from cctool.sip.oneshot import place_calls  # noqa: E402
from tests.sippeers import free_port, start_sipp  # noqa: E402


def sipp_failed(peer_logs: list[Path]) -> int | None:
    for log in peer_logs:
        if log.name.endswith("screen.log") and log.exists():
            found = re.findall(r"Failed call\s*\|\s*\d+\s*\|\s*(\d+)", log.read_text(errors="replace"))
            if found:
                return int(found[-1])
    return None


def run_cctool(
    workdir: Path, rate: float, talk: float, calls: int, transport: str = "udp"
) -> dict[str, object]:
    peer = start_sipp("answer", calls, workdir, transport=transport, timeout_s=int(calls / rate + talk + 90))
    try:
        cfg = from_mapping(
            {"host": "127.0.0.1", "port": peer.port, "ring_timeout": 30, "transport": transport}
        )
        report = place_calls(
            cfg,
            [f"+1415{i:07d}" for i in range(calls)],
            talk_s=talk,
            rate_cps=rate,
            deadline_s=calls / rate + talk + 60,
        )
        code = peer.wait(60)
    finally:
        peer.kill()
    outcomes: dict[str, int] = {}
    for result in report.results.values():
        outcomes[result.outcome] = outcomes.get(result.outcome, 0) + 1
    return {
        "attempts/s": round(calls / max(report.dial_span_s, 1e-9), 1),
        "peak dialogs": report.peak_answered,
        "answered": outcomes.get("answered", 0),
        "other outcomes": {k: v for k, v in outcomes.items() if k != "answered"} or "-",
        "SIPp exit": code,
        "SIPp failed": sipp_failed(peer.logs),
        "open dialogs at end": report.open_dialogs_after,
        "retransmits": report.retransmits,
        "wall s": round(report.elapsed_s, 1),
    }


def run_sipp_uac(workdir: Path, rate: float, talk: float, calls: int) -> dict[str, object]:
    """Baseline: SIPp's built-in caller (C++) doing the same calls to the same answering scenario."""
    peer = start_sipp("answer", calls, workdir, timeout_s=int(calls / rate + talk + 90))
    screen = workdir / "uac-screen.log"
    start = time.monotonic()
    try:
        with open(screen, "wb") as out:
            uac = subprocess.run(
                ["sipp", "-sn", "uac", "-s", "14155550000", "-i", "127.0.0.1", "-p", str(free_port()), "-r", str(rate),
                 "-d", str(int(talk * 1000)), "-m", str(calls), "-l", str(calls), "-nostdin", "-timeout",
                 f"{int(calls / rate + talk + 60)}s", "-buff_size", str(4 << 20), f"127.0.0.1:{peer.port}"],
                cwd=workdir, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, timeout=calls / rate + talk + 120,
            )  # fmt: skip
        elapsed = time.monotonic() - start
        code = peer.wait(60)
    finally:
        peer.kill()
    text = screen.read_text(errors="replace")
    peak = re.findall(r"Peak was (\d+) calls", text)
    return {
        "attempts/s": rate,  # SIPp paces to the rate it is given
        "peak dialogs": max(map(int, peak)) if peak else "?",
        "answered": calls - (sipp_failed([screen]) or 0),
        "other outcomes": "-",
        "SIPp exit": code if uac.returncode == 0 else f"{code} (uac {uac.returncode})",
        "SIPp failed": sipp_failed(peer.logs),
        "open dialogs at end": "-",
        "retransmits": "-",
        "wall s": round(elapsed, 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rate", type=float, default=250.0, help="call attempts per second")
    parser.add_argument("--talk", type=float, default=3.0, help="seconds each answered call is held")
    parser.add_argument("--seconds", type=float, default=8.0, help="seconds of dialing")
    parser.add_argument("--transport", choices=["udp", "tcp"], default="udp")
    parser.add_argument("--no-baseline", action="store_true")
    args = parser.parse_args()
    calls = int(args.rate * args.seconds)
    rows = []
    with tempfile.TemporaryDirectory(prefix="cctool-bench-sip-") as tmp:
        if not args.no_baseline:
            rows.append(("SIPp uac (baseline)", run_sipp_uac(Path(tmp), args.rate, args.talk, calls)))
        rows.append(("cctool SipTrunk", run_cctool(Path(tmp), args.rate, args.talk, calls, args.transport)))
    print(
        f"{calls} calls at {args.rate:g}/s, talk {args.talk:g} s, {args.transport.upper()} on 127.0.0.1 "
        "against SIPp (answer.xml); the baseline is SIPp's own caller over UDP"
    )
    keys = list(rows[-1][1])
    width = max(len(k) for k in keys)
    print(" " * width + "".join(f"  {name:>22}" for name, _ in rows))
    for key in keys:
        print(f"{key:<{width}}" + "".join(f"  {str(row[key]):>22}" for _, row in rows))
    ours = rows[-1][1]
    ok = (
        ours["SIPp exit"] == 0
        and ours["open dialogs at end"] == 0
        and ours["answered"] == calls
        and float(ours["attempts/s"]) >= 200  # type: ignore[arg-type]
        and int(ours["peak dialogs"]) >= 500  # type: ignore[call-overload]
    )
    print("target (>= 200 attempts/s, >= 500 concurrent, 0 failed, 0 open):", "met" if ok else "NOT met")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

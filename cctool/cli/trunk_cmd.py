"""`cctool trunk check TRUNK.yaml` and `cctool trunk call TRUNK.yaml PHONE`: try a SIP trunk by hand."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

from ..errors import UserError
from ..phones import e164
from ..sip import config as trunk_config
from ..sip import oneshot
from .common import emit, note, region_option

app = typer.Typer(no_args_is_help=True)


@app.command("check")
def check(
    ctx: typer.Context,
    trunk_file: Path = typer.Argument(..., help="The trunk file (TRUNK.yaml)."),
    timeout: float = typer.Option(5.0, "--timeout", min=0.1, help="Seconds to wait for an answer."),
) -> None:
    """Send an OPTIONS to the trunk and report the answer, its latency and the server; exit 1 if none."""
    cfg = trunk_config.load(trunk_file)
    report = oneshot.check(cfg, timeout_s=timeout)
    doc = {
        "trunk": cfg.describe(),
        "answered": report.code is not None,
        "code": report.code,
        "reason": report.reason,
        "latency_ms": report.latency_ms,
        "server": report.server or None,
    }

    def human(out: Console) -> None:
        if report.code is None:
            return
        server = f", server {report.server!r}" if report.server else ""
        out.print(
            f"{report.target}: {report.code} {report.reason} in {report.latency_ms} ms{server}",
            highlight=False,
        )

    emit(ctx, doc, human)
    if report.code is None:
        raise UserError(f"{report.target}: {report.reason}")


@app.command("call")
def call(
    ctx: typer.Context,
    trunk_file: Path = typer.Argument(..., help="The trunk file (TRUNK.yaml)."),
    phone: str = typer.Argument(..., help="The number to call, in +country format."),
    talk: float = typer.Option(
        5.0, "--talk", min=0.0, help="Seconds to hold the call once answered (silent: no RTP)."
    ),
    caller_id: str = typer.Option("", "--caller-id", help="Our number (From); default: the trunk username."),
    ring_timeout: float | None = typer.Option(
        None, "--ring-timeout", min=1.0, help="Default: the trunk file's."
    ),
    region: str | None = region_option(),
) -> None:
    """Place one call through the trunk and print how it ended (exit 1 if it failed)."""
    number = e164(phone, region)
    cfg = trunk_config.load(trunk_file)
    note(ctx, f"calling {number} through {cfg.host}:{cfg.port}/{cfg.transport} ...")
    report = oneshot.place_calls(
        cfg,
        [number],
        caller_id=e164(caller_id, region) if caller_id else (cfg.username or "cctool"),
        talk_s=talk,
        ring_timeout_s=ring_timeout,
        deadline_s=(ring_timeout or cfg.ring_timeout) + talk + 70,
    )
    if report.fatal and not report.results:
        raise UserError(report.fatal)
    result = report.results.get(0)
    if result is None:
        raise UserError(f"the call to {number} did not end in time")
    doc = {
        "phone": number,
        "outcome": result.outcome,
        "sip_code": result.sip_code,
        "call_id": result.call_id,
        "ring_s": result.ring_s,
        "detail": result.detail or None,
    }

    def human(out: Console) -> None:
        code = f" ({result.sip_code})" if result.sip_code else ""
        detail = f": {result.detail}" if result.detail else ""
        # a trunk that never answered (timer B) did not ring: it was not "32.0 s ringing"
        rang = any(event == "ringing" for event, _ in report.order)
        waited = f"{result.ring_s:.1f} s ringing" if rang else f"{result.ring_s:.1f} s without ringing"
        out.print(f"{number}: {result.outcome}{code} after {waited}{detail}", highlight=False)

    emit(ctx, doc, human)
    if report.fatal:
        raise UserError(report.fatal)
    if result.outcome == "failed":
        raise typer.Exit(1)

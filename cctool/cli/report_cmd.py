"""`cctool report campaign NAME [--from D --to D]`: campaign KPIs, with small charts on a terminal."""

from __future__ import annotations

import typer
from rich.console import Console

from ..campaign_report import campaign_kpis, chart_lines
from ..errors import UserError
from ..timeutil import parse_date
from .common import emit, store, table

app = typer.Typer(no_args_is_help=True)


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.2%}"


@app.command("campaign")
def campaign(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Campaign name."),
    from_: str | None = typer.Option(None, "--from", help="First day (YYYY-MM-DD, UTC)."),
    to: str | None = typer.Option(None, "--to", help="Last day (YYYY-MM-DD, UTC)."),
) -> None:
    """Attempts, connects, conversion, AHT, occupancy, abandonment, calls per agent-hour."""
    since = parse_date(from_, "--from") if from_ else None
    until = parse_date(to, "--to") if to else None
    if since and until and since > until:
        raise UserError(f"--from {since} is after --to {until}: give the earlier day first")
    with store(ctx) as opened:
        report = campaign_kpis(opened.conn, name, since, until)
    emit(ctx, report, lambda out: render(out, report))


def render(out: Console, report: dict) -> None:
    ab = report["abandonment"]
    rows = [
        ["attempts", report["attempts"]],
        ["contacts", report["contacts"]],
        ["connects", report["connects"]],
        ["connect rate", _pct(report["connect_rate"])],
        [
            "conversion",
            f"{_pct(report['conversion'])} ({report['conversions']} {'/'.join(report['success_dispositions'])})",
        ],
        ["AHT (talk + wrap)", f"{report['aht_s']:.0f} s"],
        ["logged-in hours", report["logged_in_hours"]],
        ["occupancy", _pct(report["occupancy"])],
        [
            "abandonment",
            f"{_pct(ab['rate'])} ({ab['abandoned']}/{ab['live_answers']}, cap {_pct(ab['cap'])} per {ab['window']})",
        ],
        ["safe-harbour messages", ab["safe_harbour_played"]],
        [
            "calls per agent-hour",
            "-" if report["calls_per_agent_hour"] is None else report["calls_per_agent_hour"],
        ],
        ["attempts per contact", report["attempts_per_contact"]],
    ]
    out.print(table(f"campaign {report['campaign']}", ["KPI", "value"], rows))
    if len(ab["by_day"]) > 1:
        out.print(
            table(
                "abandonment per day",
                ["day", "live", "abandoned", "rate"],
                [
                    [d["day"], d["live_answers"], d["abandoned"], _pct(d["abandon_rate"])]
                    for d in ab["by_day"]
                ],
            )
        )
    for line in chart_lines(report, out.width):
        out.print(line, highlight=False)

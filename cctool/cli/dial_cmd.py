"""`cctool dial run|status`: run a campaign on a trunk, and see where it stands."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

from .. import dialer
from ..errors import UsageError, UserError
from ..timeutil import parse_duration, parse_time
from .common import emit, options, store, table

app = typer.Typer(no_args_is_help=True)


def _pct(value: float) -> str:
    return f"{value:.2%}"


@app.command("run")
def run(
    ctx: typer.Context,
    campaign: str = typer.Argument(..., help="Campaign name."),
    trunk: str = typer.Option(
        "mock", "--trunk", help="'mock' (simulated, virtual clock) or a SIP trunk YAML."
    ),
    model: Path | None = typer.Option(None, "--model", help="Call model YAML for the mock trunk and agents."),
    agents: int = typer.Option(10, "--agents", help="Agents logged in for the run."),
    for_: str = typer.Option("8h", "--for", help="How long to dial (e.g. 8h, 90m)."),
    start: str | None = typer.Option(None, "--start", help="Mock trunk: the simulated start time (UTC)."),
    seed: int = typer.Option(0, "--seed", min=0, max=2**63 - 1, help="Mock trunk: same seed, same run."),
    speed: float | None = typer.Option(
        None, "--speed", help="Mock trunk: simulated seconds per wall second (default: as fast as possible)."
    ),
    mode: str | None = typer.Option(
        None, "--mode", help="predictive, progressive or preview (else the campaign's)."
    ),
    breaks: str | None = typer.Option(
        None, "--breaks", help="EVERY:LENGTH, e.g. 2h:15m: each agent takes such breaks, staggered."
    ),
) -> None:
    """Dial a campaign: every dial is checked at its instant; attempts are written as they finish."""
    try:
        for_s = parse_duration(for_).total_seconds()
    except ValueError as exc:
        raise UsageError(f"--for: {exc}") from None
    break_every = break_length = None
    if breaks is not None:
        every_text, _, length_text = breaks.partition(":")
        try:
            break_every = parse_duration(every_text).total_seconds()
            break_length = parse_duration(length_text).total_seconds()
        except ValueError:
            raise UsageError(f"--breaks {breaks!r}: use EVERY:LENGTH such as 2h:15m") from None
    if speed is not None and not speed > 0:  # NaN too
        raise UsageError("--speed must be a positive number of simulated seconds per second")
    opts = dialer.RunOptions(
        campaign=campaign,
        trunk=trunk,
        model=model,
        agents=agents,
        for_s=for_s,
        start=parse_time(start, "--start") if start else None,
        seed=seed,
        speed=speed,
        mode=mode,
        break_every_s=break_every,
        break_s=break_length or 900.0,
    )
    try:  # cron's kill (SIGTERM) arrives as Ctrl-C does (`cli.main`): the run finishes its batch, then stops
        with store(ctx) as opened:
            summary = dialer.run_campaign(opened, opts)
    except dialer.RunInterrupted as stopped:
        if options(ctx).json:  # a script still gets the one document: what the run did, "interrupted": true
            emit(ctx, stopped.summary)
        raise

    def human(out: Console) -> None:
        out.print(
            f"run {summary['run_id']} of {summary['campaign']} (v{summary['version']}, {summary['mode']}, "
            f"{summary['agents']} agents): {summary['attempts']} attempts, {summary['blocked']} refused"
        )
        window = summary["abandonment_window"]
        out.print(
            f"live answers {summary['live_answers']}, abandoned {summary['abandoned']} "
            f"({_pct(summary['abandon_rate'])}; in the campaign's {window['window']} window "
            f"{window['abandoned']} / {window['live_answers']} = {_pct(window['rate'])}, cap {_pct(window['cap'])}), "
            f"occupancy {_pct(summary['occupancy'])}, opt-outs taken {summary['optouts']}"
        )
        out.print(table(None, ["outcome", "attempts"], [[k, v] for k, v in summary["outcomes"].items()]))
        if summary["stopped"]:
            out.print(f"stopped early: {summary['stopped']}")
        elif not summary["attempts"] and not summary["blocked"]:
            out.print(
                f"nothing to dial: no contact of the campaign's segment was due before the run's end "
                f"(`cctool dial status {summary['campaign']}` shows them by state)"
            )

    emit(ctx, summary, human)
    if summary["stopped"]:  # cron sees a failure, with what to do, on stderr
        reasons = summary["stopped"].split(";")
        advice = "; ".join(_STOPPED.get(r, r).format(name=summary["campaign"]) for r in reasons)
        raise UserError(
            f"run {summary['run_id']} of {summary['campaign']} stopped: every dial was refused for the whole "
            f"campaign ({summary['stopped']}): {advice}"
        )


_STOPPED = {
    "campaign_paused": "it was paused; `cctool campaign resume {name}` lets it dial again",
    "registry_stale": "the national do-not-call registry copy is missing or older than the policy allows; "
    "load a current one with `cctool dnc import`",
    "no_caller_id": "it has no caller ID; set caller_id in its file and load it",
}


@app.command("status")
def status(ctx: typer.Context, campaign: str = typer.Argument(..., help="Campaign name.")) -> None:
    """Contacts by state, attempts, dispositions and abandonment in the current window."""
    with store(ctx) as opened:
        doc = dialer.status(opened.conn, campaign)

    def human(out: Console) -> None:
        ab = doc["abandonment"]
        out.print(f"[bold]{doc['campaign']}[/bold] v{doc['version']}{' (paused)' if doc['paused'] else ''}")
        out.print(table("contacts", list(doc["contacts"]), [list(doc["contacts"].values())]))
        out.print(
            table("attempts by outcome", ["outcome", "n"], [[k, v] for k, v in doc["outcomes"].items()])
        )
        if doc["dispositions"]:
            out.print(
                table("dispositions", ["disposition", "n"], [list(i) for i in doc["dispositions"].items()])
            )
        if doc["blocked"]:
            out.print(
                table("refused at dial time", ["reasons", "n"], [list(i) for i in doc["blocked"].items()])
            )
        out.print(
            f"abandonment ({ab['window']} window, {ab['from']} to {ab['until']}): "
            f"{ab['abandoned']} / {ab['live_answers']} "
            f"live answers = {_pct(ab['rate'])} (cap {_pct(ab['cap'])})"
        )

    emit(ctx, doc, human)

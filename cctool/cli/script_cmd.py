"""`cctool script render CAMPAIGN --phone P`."""

from __future__ import annotations

import typer
from rich.console import Console

from .. import scripts
from ..phones import e164
from ..store import default_actor
from .common import emit, options, region_option, store

app = typer.Typer(no_args_is_help=True)


@app.command("render")
def render(
    ctx: typer.Context,
    campaign: str = typer.Argument(..., help="Campaign name."),
    phone: str = typer.Option(..., "--phone", help="The contact's number."),
    agent: str | None = typer.Option(
        None, "--agent", help="Agent name in the script (else --as / the OS user)."
    ),
    region: str | None = region_option(),
) -> None:
    """Print the campaign's call script for one contact, with the disposition keys an agent may pick."""
    number = e164(phone, region)
    with store(ctx) as opened:
        result = scripts.render_for(
            opened.conn, campaign, number, agent or options(ctx).actor or default_actor()
        )

    def human(out: Console) -> None:  # plain text: a script is read as written, never re-wrapped
        typer.echo(result.text.rstrip("\n"))
        typer.echo(f"\ndispositions: {', '.join(result.dispositions)}")

    emit(ctx, result.as_dict(), human)

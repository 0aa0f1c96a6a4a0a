"""`cctool optout PHONE`: the one-step opt-out."""

from __future__ import annotations

import typer
from rich.console import Console

from .. import optout as optout_service
from ..phones import e164
from .common import emit, region_option, store


def optout(
    ctx: typer.Context,
    phone: str = typer.Argument(..., help="The number, +country format."),
    channel: str = typer.Option("call", "--channel", help="How the request came: call, sms, email or web."),
    region: str | None = region_option(),
) -> None:
    """Opt a number out of every campaign, effective at once."""
    number = e164(phone, region)
    with store(ctx) as opened:
        row = optout_service.record(opened, number, channel)

    def human(out: Console) -> None:
        if row["opted_out_since"] < row["effective_at"]:
            out.print(
                f"{row['phone']} was already opted out in every campaign since {row['opted_out_since']}; "
                f"this request ({row['channel']}) is recorded too"
            )
        else:
            out.print(
                f"{row['phone']} opted out ({row['channel']}), effective {row['effective_at']} in every campaign"
            )

    emit(ctx, row, human)

"""`cctool demo`."""

from __future__ import annotations

from pathlib import Path

import typer

from .. import demo as demo_service
from .common import options, stdout


def demo(
    ctx: typer.Context,
    folder: Path | None = typer.Option(
        None, "--dir", help="Folder for the demo database and files (else a new temporary folder)."
    ),
) -> None:
    """Run the whole product end to end on a fresh database built from bundled samples."""
    quiet = options(ctx).quiet

    def say(message: str) -> None:
        if not quiet:
            stdout.print(message, highlight=False, soft_wrap=True)

    db_path = demo_service.run(folder, say, actor=options(ctx).actor or "demo")
    say(f"\nDone. Explore it with: cctool --db {db_path} audit log")

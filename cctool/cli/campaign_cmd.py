"""`cctool campaign validate|load|list|show|preview|pause|resume`."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

from .. import campaign_store
from .. import preview as preview_mod
from ..campaign import Campaign, CampaignErrors, load_file
from ..errors import UserError
from ..timeutil import parse_time
from .common import emit, options, store, table

app = typer.Typer(no_args_is_help=True)


def _checked(ctx: typer.Context, file: Path) -> Campaign:
    """The validated campaign; on errors, every `FILE:LINE: message` (or the JSON list) and exit 1."""
    try:
        return load_file(file)
    except CampaignErrors as exc:
        errors = [{"line": line, "message": message} for line, message in exc.errors]
        if options(ctx).json:
            emit(ctx, {"file": str(file), "valid": False, "errors": errors})
        else:
            for line, message in exc.errors:
                typer.echo(f"{file}:{line}: {message}", err=True)
        plural = "s" if len(errors) != 1 else ""
        raise UserError(f"{file}: {len(errors)} error{plural}, nothing stored") from None


@app.command("validate")
def validate(ctx: typer.Context, file: Path = typer.Argument(..., help="Campaign YAML file.")) -> None:
    """Check a campaign file; list every error with its line (exit 1), or summarise the campaign."""
    campaign = _checked(ctx, file)
    doc = {
        "file": str(file),
        "valid": True,
        "errors": [],
        "campaign": campaign.name,
        "definition": campaign.definition,
        "overrides": [o.__dict__ for o in campaign.overrides],
    }

    def human(out: Console) -> None:
        out.print(
            f"{file}: valid {campaign.kind} campaign {campaign.name!r} under the {campaign.policy} preset"
        )
        for item in campaign.overrides:
            out.print(f"  override {item.rule}: {item.preset_value} -> {item.value} ({item.reason})")

    emit(ctx, doc, human)


@app.command("load")
def load(ctx: typer.Context, file: Path = typer.Argument(..., help="Campaign YAML file.")) -> None:
    """Store a campaign as a new version (the same text again adds nothing)."""
    campaign = _checked(ctx, file)
    with store(ctx, create=True) as opened:
        result = campaign_store.load(opened, campaign)

    def human(out: Console) -> None:
        if result.added:
            out.print(
                f"campaign {result.name!r} version {result.version} loaded ({result.overrides} overrides)"
            )
        else:
            out.print(f"campaign {result.name!r} unchanged: version {result.version} has the same text")

    emit(ctx, result.as_dict(), human)


@app.command("list")
def list_(ctx: typer.Context) -> None:
    """Every campaign at its current version."""
    with store(ctx) as opened:
        found = campaign_store.list_campaigns(opened.conn)
    docs = [
        {
            "campaign": c.name,
            "version": c.version,
            "kind": c.kind,
            "policy": c.policy,
            "paused": c.paused,
            "caller_id": c.caller_id,
            "loaded_at": c.loaded_at,
        }
        for c in found
    ]

    def human(out: Console) -> None:
        columns = ["campaign", "version", "kind", "policy", "paused", "caller_id", "loaded_at"]
        out.print(table("campaigns", columns, [[d[c] for c in columns] for d in docs]))

    emit(ctx, docs, human)


@app.command("show")
def show(
    ctx: typer.Context,
    name: str = typer.Argument(...),
    version: int | None = typer.Option(None, "--version", help="A given version (else the current one)."),
) -> None:
    """A campaign's effective definition, overrides and version history."""
    with store(ctx) as opened:
        found = campaign_store.get(opened.conn, name, version)
        history = campaign_store.versions(opened.conn, name)
        loosened = campaign_store.overrides(opened.conn, name, found.version)
    doc = {
        "campaign": found.name,
        "version": found.version,
        "paused": found.paused,
        "sha256": found.sha256,
        "script_sha256": found.script_sha256,
        "definition": found.definition,
        "overrides": loosened,
        "versions": history,
    }

    def human(out: Console) -> None:
        d = found.definition
        out.print(f"[bold]{found.name}[/bold] v{found.version} {found.kind} ({found.policy})"
                  f"{' [red]PAUSED[/red]' if found.paused else ''}")  # fmt: skip
        out.print(f"caller ID {found.caller_id}; seller {found.seller}; purpose {found.purpose}")
        out.print(f"hours {d['hours']['start']}-{d['hours']['end']} on {', '.join(d['hours']['days'])}")
        out.print(f"caps {d['caps']}; dialing {d['dialing']}")
        out.print(f"segment {d['segment']}; script {d['script']}")
        for item in loosened:
            out.print(
                f"override {item['rule']}: {item['preset_value']} -> {item['value']} ({item['reason']})"
            )
        out.print(table("versions", ["version", "sha256", "loaded_at", "actor"],
                        [[v["version"], v["sha256"][:16], v["loaded_at"], v["actor"]] for v in history]))  # fmt: skip

    emit(ctx, doc, human)


@app.command("preview")
def preview(
    ctx: typer.Context,
    name: str = typer.Argument(...),
    at: str | None = typer.Option(None, "--at", help="Judge as if dialing at this time (ISO; else now)."),
    contacts: bool = typer.Option(False, "--contacts", help="List each contact's decision."),
) -> None:
    """Who in the segment is dialable at a time, and why the others are not."""
    moment = parse_time(at, "--at") if at else None
    with store(ctx) as opened:
        doc = preview_mod.preview(opened.conn, name, moment, contacts=contacts)

    def human(out: Console) -> None:
        out.print(f"{doc['campaign']} at {doc['at']}: {doc['dialable']} of {doc['in_segment']} dialable")
        if doc["blocked"]:
            out.print(
                table("blocked by", ["reason", "contacts"], [[r, n] for r, n in doc["blocked"].items()])
            )
        if doc["next_open_at"]:
            out.print(f"next blocked contact opens at {doc['next_open_at']}")
        if contacts:
            rows = [
                [c["phone"], c["allowed"], " ".join(c["reasons"]), c["next_allowed_at"]]
                for c in doc["contacts"]
            ]
            out.print(table("contacts", ["phone", "allowed", "reasons", "next_allowed_at"], rows))

    emit(ctx, doc, human)


def _pause(ctx: typer.Context, name: str, paused: bool) -> None:
    with store(ctx) as opened:
        changed = campaign_store.set_paused(opened, name, paused)
    state = "paused" if paused else "running"
    doc = {"campaign": name, "paused": paused, "changed": changed}
    emit(ctx, doc, lambda out: out.print(f"campaign {name!r} {state}" + ("" if changed else " (already)")))


@app.command("pause")
def pause(ctx: typer.Context, name: str = typer.Argument(...)) -> None:
    """Stop dialing a campaign from the very next dial."""
    _pause(ctx, name, True)


@app.command("resume")
def resume(ctx: typer.Context, name: str = typer.Argument(...)) -> None:
    """Let a paused campaign dial again."""
    _pause(ctx, name, False)

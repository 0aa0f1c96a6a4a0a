"""Demo step: each loaded campaign dials a simulated day on the mock trunk, then its report is shown."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from . import campaign_store, segment
from .campaign_report import campaign_kpis, chart_lines
from .dialer import RunOptions, run_campaign
from .store import Store
from .timeutil import utcnow

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def day_start(store: Store, campaign: campaign_store.StoredCampaign) -> datetime:
    """The campaign's next calling day, at its opening hour in its first contact's zone (UTC)."""
    ids = segment.contact_ids(store.conn, campaign.definition.get("segment"))
    row = None
    if ids:
        row = store.conn.execute(
            "SELECT timezone, number_zones FROM contacts WHERE id = ?", (ids[0],)
        ).fetchone()
    zone_name = "UTC"
    if row:
        zones = [row[0]] if row[0] else json.loads(row[1] or "[]")
        zone_name = zones[0] if zones else "UTC"
    zone = ZoneInfo(zone_name)
    hour, minute = (int(x) for x in campaign.hours_start.split(":")[:2])
    day = utcnow().astimezone(zone).date() + timedelta(days=1)
    while WEEKDAYS[day.weekday()] not in campaign.days:
        day += timedelta(days=1)
    return datetime.combine(day, time(hour, minute), zone).astimezone(ZoneInfo("UTC"))


def demo(store: Store, workdir: Path, say: Callable[[str], None]) -> None:
    """Run every loaded campaign for a simulated day (5 agents) and show its KPIs and charts."""
    campaigns = campaign_store.list_campaigns(store.conn)
    if not campaigns:
        say("no campaigns loaded: nothing to dial")
        return
    for campaign in campaigns:
        start = day_start(store, campaign)
        open_h, close_h = (int(t.split(":")[0]) for t in (campaign.hours_start, campaign.hours_end))
        hours = max(close_h - open_h, 1)
        summary = run_campaign(
            store, RunOptions(campaign.name, agents=5, for_s=hours * 3600.0, start=start, seed=1)
        )
        say(
            f"[bold]{campaign.name}[/bold] ({summary['mode']}, 5 agents, {hours} h from {start:%Y-%m-%d %H:%M} UTC): "
            f"{summary['attempts']} attempts, {summary['blocked']} refused at dial time, "
            f"abandonment {summary['abandon_rate']:.2%}, occupancy {summary['occupancy']:.1%}, "
            f"opt-outs taken on calls {summary['optouts']}"
            + (
                f"; stopped: {summary['stopped']} (every dial refused for that reason)"
                if summary["stopped"]
                else ""
            )
        )
        report = campaign_kpis(store.conn, campaign.name)
        say(
            f"  report: connects {report['connects']} ({report['connect_rate']:.1%}), conversion "
            f"{report['conversion']:.1%}, AHT {report['aht_s']:.0f} s, "
            f"{report['attempts_per_contact']} attempts per contact"
        )
        for line in chart_lines(report):
            say(f"  {line}")
    say("see it again with: cctool report campaign NAME   (and cctool dial status NAME)")

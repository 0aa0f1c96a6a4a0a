"""The columns of the export's attempts files and the query that reads them, in a module of their own.

Both the exporter (`auditsections.attempts`) and the process that writes attempts.jsonl beside it
(`auditjson`) build their query from these, so the two files hold the same rows in the same order; this
module imports nothing, so that process stays small.
"""

from __future__ import annotations

# (column, SQL expression) of attempts.csv; the number and its reference are filled in by Python.
ATTEMPT_FIELDS: list[tuple[str, str | None]] = [
    ("attempt_id", "a.id"),
    ("campaign", "a.campaign"),
    ("seller", "v.seller"),
    ("purpose", "v.purpose"),
    ("kind", "v.kind"),
    ("campaign_version", "a.campaign_version"),
    ("phone", None),
    ("phone_ref", None),
    ("started_at", "a.started_at"),
    ("ended_at", "a.ended_at"),
    ("local_time", "a.local_time"),
    ("zone", "a.zone"),
    ("zone_source", "a.zone_source"),
    ("zones", "a.zones"),
    (
        "duration_s",
        "CASE WHEN a.ring_s IS NULL AND a.talk_s IS NULL THEN NULL "
        "ELSE coalesce(a.ring_s, 0) + coalesce(a.talk_s, 0) END",
    ),
    ("ring_s", "a.ring_s"),
    ("talk_s", "a.talk_s"),
    ("connect_delay_s", "a.connect_delay_s"),
    ("caller_id", "a.caller_id"),
    ("script", "a.script"),
    ("script_version", "a.script_version"),
    ("registry_version", "a.registry_version"),
    ("registry_date", "r.registry_date"),
    ("rules_checked", "a.rules_checked"),
    ("outcome", "a.outcome"),
    ("disposition", "a.disposition"),
    ("abandoned", "a.abandoned"),
    ("safe_harbour", "a.safe_harbour"),
    ("callback_requested", "a.callback_requested"),
    ("agent", "a.agent"),
    ("sip_code", "a.sip_code"),
]
ATTEMPT_COLUMNS = [name for name, _ in ATTEMPT_FIELDS]
SELECTED = [(name, expr) for name, expr in ATTEMPT_FIELDS if expr is not None]

ATTEMPTS_FROM = (
    "FROM attempts a "
    "LEFT JOIN campaign_versions v ON v.campaign = a.campaign AND v.version = a.campaign_version "
    "LEFT JOIN (SELECT version, max(registry_date) AS registry_date FROM dnc_registry_loads "
    "GROUP BY version) r ON r.version = a.registry_version "
)

# A row as a JSON object but for the number and its reference (which Python masks): SQLite encodes it
# in C, several times faster than Python would.
JSON_OBJECT = "json_object(" + ", ".join(f"'{name}', {expr}" for name, expr in SELECTED) + ")"


def attempts_sql(columns: str, campaign: bool) -> str:
    """The period's attempts (parameters: since, until, then the campaign when `campaign`), in time order."""
    where = " AND a.campaign = ?" if campaign else ""
    return (
        f"SELECT {columns} {ATTEMPTS_FROM}WHERE a.started_at >= ? AND a.started_at < ?{where} "
        "ORDER BY a.started_at, a.id"
    )

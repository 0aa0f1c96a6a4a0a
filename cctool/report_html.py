"""The auditor's one-page report: self-contained HTML with inline SVG charts, no script, no network."""

from __future__ import annotations

import html
from typing import Any

_STYLE = """
body{font:14px/1.45 system-ui,sans-serif;margin:2em auto;max-width:980px;color:#222}
h1{font-size:1.5em}h2{font-size:1.15em;margin-top:2em;border-bottom:1px solid #ddd}
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}
th{background:#f3f3f3}.ok{color:#1a7f37}.bad{color:#b42318;font-weight:bold}
svg{background:#fafafa;border:1px solid #e5e5e5}.note{color:#666;font-size:.9em}
"""


def _esc(value: Any) -> str:
    return html.escape(str(value), quote=True)


def bar_chart(
    chart_id: str,
    labels: list[str],
    values: list[float],
    *,
    title: str,
    highlight: list[bool] | None = None,
    cap: float | None = None,
    width: int = 900,
    height: int = 220,
    percent: bool = False,
) -> str:
    """Bars with an optional horizontal cap line; `highlight` marks bars inside an allowed window."""
    pad_left, pad_bottom, pad_top = 48, 40, 20
    top = max([*values, cap or 0]) or (0.01 if percent else 1)
    every = max(-(-len(labels) // 16), 1)  # at most ~16 axis labels
    labels = [label[5:] if len(label) == 10 and label[4] == "-" else label for label in labels]  # MM-DD
    plot_w, plot_h = width - pad_left - 10, height - pad_bottom - pad_top
    step = plot_w / max(len(values), 1)
    parts = [
        f'<svg id="{_esc(chart_id)}" class="chart" role="img" aria-label="{_esc(title)}" '
        f'xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}">',
        f"<title>{_esc(title)}</title>",
    ]
    for i, (label, value) in enumerate(zip(labels, values)):
        h = plot_h * value / top
        x = pad_left + i * step
        colour = "#4e79a7" if highlight is None or highlight[i] else "#e15759"
        parts.append(
            f'<rect class="bar" x="{x + 1:.1f}" y="{pad_top + plot_h - h:.1f}" width="{max(step - 2, 1):.1f}" '
            f'height="{h:.1f}" fill="{colour}"><title>{_esc(label)}: '
            f"{_esc(f'{value:.2%}' if percent else f'{value:g}')}</title></rect>"
        )
        if i % every == 0:
            parts.append(
                f'<text x="{x + step / 2:.1f}" y="{height - pad_bottom + 14}" font-size="10" '
                f'text-anchor="middle">{_esc(label)}</text>'
            )
    if cap is not None:
        y = pad_top + plot_h - plot_h * cap / top
        parts.append(
            f'<line class="cap" x1="{pad_left}" x2="{width - 10}" y1="{y:.1f}" y2="{y:.1f}" '
            f'stroke="#b42318" stroke-dasharray="6 4"/>'
            f'<text x="{width - 12}" y="{y - 4:.1f}" font-size="11" text-anchor="end" fill="#b42318">'
            f"cap {cap:.0%}</text>"
        )
    top_label = f"{top:.1%}" if percent else f"{top:g}"
    parts.append(f'<text x="4" y="{pad_top + 4}" font-size="10">{_esc(top_label)}</text>')
    parts.append(
        f'<line x1="{pad_left}" x2="{width - 10}" y1="{pad_top + plot_h}" y2="{pad_top + plot_h}" stroke="#999"/>'
    )
    parts.append("</svg>")
    return "".join(parts)


def _table(columns: list[str], rows: list[list[Any]]) -> str:
    head = "".join(f"<th>{_esc(c)}</th>" for c in columns)
    body = "".join("<tr>" + "".join(f"<td>{_esc(v)}</td>" for v in row) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _per_campaign(summary: dict[str, Any]) -> list[str]:
    """Abandonment verdicts and attempts per contact, one row per campaign."""
    abandonment = summary.get("abandonment", {})
    per_contact = summary.get("attempts_per_contact", {})
    names = sorted(set(abandonment) | set(per_contact))
    if not names:
        return []
    rows = []
    for name in names:
        a, c = abandonment.get(name, {}), per_contact.get(name, {})
        failed = a.get("windows_failed")
        rows.append(
            [
                name,
                a.get("window", ""),
                f"{a['cap']:.0%}" if "cap" in a else "",
                f"{a['worst_rate']:.2%}" if "worst_rate" in a else "",
                "" if failed is None else ("pass" if failed == 0 else f"FAIL in {failed} window(s)"),
                c.get("contacts", ""),
                c.get("mean", ""),
                c.get("max", ""),
            ]
        )
    return [
        "<h2>Per campaign</h2>",
        _table(
            [
                "campaign",
                "abandonment window",
                "cap",
                "worst rate",
                "verdict",
                "contacts",
                "attempts per contact",
                "most attempts",
            ],
            rows,
        ),
    ]


def render(summary: dict[str, Any], charts: dict[str, Any]) -> str:
    """The page. `charts` holds the series: attempts_per_day, abandonment, local_hours, optouts."""
    violations = summary.get("violations", [])
    verdict = (
        '<p class="ok">Independent re-check: no violations found.</p>'
        if not violations
        else f'<p class="bad">Independent re-check: {len(violations)} violation(s).</p>'
        + _table(
            ["rule", "campaign", "phone", "time", "detail"],
            [[v["rule"], v["campaign"], v["phone"], v["started_at"], v["detail"]] for v in violations[:200]],
        )
    )
    per_day = charts.get("attempts_per_day", [])
    abandon = charts.get("abandonment", [])
    hours = charts.get("local_hours", {"hours": list(range(24)), "counts": [0] * 24, "allowed": [True] * 24})
    optouts = charts.get("optouts", [])
    counts = summary.get("counts", {})
    sections = [
        f"<h1>cctool compliance audit: {_esc(summary.get('from'))} to {_esc(summary.get('to'))}</h1>",
        f'<p class="note">Generated {_esc(summary.get("generated_at"))} by cctool {_esc(summary.get("tool_version"))}; '
        f"numbers {'masked' if summary.get('masked') else 'NOT masked (unmasked export)'}; "
        f"audit chain head {_esc(str(summary.get('audit_head', ''))[:16])}.</p>",
        verdict,
        "<h2>Counts</h2>",
        _table(["what", "count"], [[k, v] for k, v in counts.items()]),
        *_per_campaign(summary),
        "<h2>Attempts per day</h2>",
        bar_chart(
            "attempts-per-day",
            [d["day"] for d in per_day],
            [d["attempts"] for d in per_day],
            title="attempts per day",
        ),
        "<h2>Abandonment against the cap, per window</h2>",
    ]
    for campaign in abandon:
        windows = campaign["windows"]
        sections.append(f"<p>{_esc(campaign['campaign'])} (window: {_esc(campaign['window'])})</p>")
        sections.append(
            bar_chart(
                f"abandonment-{campaign['campaign']}",
                [w["window_end"] for w in windows],
                [w["rate"] for w in windows],
                title=f"abandonment rate, {campaign['campaign']}",
                cap=campaign["cap"],
                percent=True,
                highlight=[w["rate"] <= campaign["cap"] for w in windows],
            )
        )
    sections += [
        "<h2>Local hour of calls (called party's time) against the allowed window</h2>",
        bar_chart(
            "local-hours",
            [f"{h:02d}" for h in hours["hours"]],
            hours["counts"],
            title="calls by local hour",
            highlight=hours["allowed"],
        ),
        '<p class="note">Blue: hours inside every campaign\'s window; red: outside.</p>',
        "<h2>Opt-outs and how fast each took effect</h2>",
        bar_chart(
            "optout-latency",
            [o["received"] for o in optouts],
            [o["latency_s"] for o in optouts],
            title="seconds from request to effect",
        )
        if optouts
        else "<p>No opt-outs in the period.</p>",
        _table(
            ["received", "effective", "channel", "seconds"],
            [[o["received"], o["effective"], o["channel"], o["latency_s"]] for o in optouts[:200]],
        ),
    ]
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:\">"
        f"<title>cctool audit {_esc(summary.get('from'))}..{_esc(summary.get('to'))}</title><style>{_STYLE}</style></head><body>"
        + "\n".join(sections)
        + "</body></html>\n"
    )

"""Call scripts: Jinja2 templates rendered in a sandbox, with the disclosures checked when a campaign loads.

A template cannot reach Python internals (SandboxedEnvironment refuses `__class__`, `mro`, ...), cannot
include other files (no loader), and a field it names that the context lacks is an error, not an empty
string (StrictUndefined): an agent must never read "Hello , this is  calling".

Disclosure markers (documented in docs/campaigns.md). A marketing script must contain
- the identity-and-purpose disclosure: a line with `[disclosure]` or `【明确告知营销意图】` that names the
  seller and the purpose (the template uses `seller` and `purpose`), and
- the opt-out sentence: a line with `[opt-out]` or `【一键退订】`.
A survey or follow-up script must not contain the marketing block: no disclosure marker and no
`[offer]` / `【营销推荐】` section.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
from jinja2 import meta
from jinja2.sandbox import SandboxedEnvironment

from .errors import UserError

DISCLOSURE_MARKERS = ("[disclosure]", "【明确告知营销意图】")
OPTOUT_MARKERS = ("[opt-out]", "【一键退订】")
OFFER_MARKERS = ("[offer]", "【营销推荐】")

_MAX_TEXT = 100_000  # characters (or items) one `*` may build: a script is read aloud, not a book
_MAX_EXPONENT = 64


class _ScriptSandbox(SandboxedEnvironment):
    """The sandbox, also refusing arithmetic that would build a huge value (`{{ name * 1000000000 }}`
    filled 16 GB before anything stopped it; `range` is already capped by the sandbox)."""

    intercepted_binops = frozenset(["*", "**"])

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        if operator == "*":
            for seq, times in ((left, right), (right, left)):
                if (
                    isinstance(seq, str | list | tuple)
                    and isinstance(times, int)
                    and len(seq) * times > _MAX_TEXT
                ):
                    raise jinja2.exceptions.SecurityError(f"a repeat of {times:,} would be too long")
        if operator == "**" and isinstance(right, int | float) and abs(right) > _MAX_EXPONENT:
            raise jinja2.exceptions.SecurityError(f"an exponent of {right} is too large")
        return super().call_binop(context, operator, left, right)


# An empty loader: `{% include %}`, `{% import %}` and `{% extends %}` find nothing to read.
_ENV = _ScriptSandbox(
    loader=jinja2.DictLoader({}),
    undefined=jinja2.StrictUndefined,
    autoescape=False,
    keep_trailing_newline=True,
)
_FILE_NODES = (jinja2.nodes.Include, jinja2.nodes.Import, jinja2.nodes.FromImport, jinja2.nodes.Extends)

# What `render_for` puts in the context; `check` refuses other names so a typo fails at validate, not on a call.
CONTACT_FIELDS = ("phone", "name", "email", "region", "timezone", "attributes", "source", "tags")
CAMPAIGN_FIELDS = ("name", "kind", "seller", "purpose")
CONTEXT = ("contact", "campaign", "seller", "purpose", "agent", "caller_id", "company")
_DICT_METHODS = ("get", "items", "keys", "values")


@dataclass(frozen=True)
class ScriptProblem:
    line: int | None  # line in the template, when the problem is at one
    message: str


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _lines_with(text: str, markers: tuple[str, ...]) -> list[tuple[int, str]]:
    return [(n, line) for n, line in enumerate(text.splitlines(), start=1) if any(m in line for m in markers)]


def check(text: str, kind: str) -> list[ScriptProblem]:
    """Syntax and disclosure problems of a script for a campaign of `kind`."""
    problems: list[ScriptProblem] = []
    try:
        tree = _ENV.parse(text)
    except jinja2.TemplateSyntaxError as exc:
        problems.append(ScriptProblem(exc.lineno, f"template syntax error: {exc.message}"))
    else:
        for node in tree.find_all(_FILE_NODES):
            problems.append(
                ScriptProblem(node.lineno, "a script cannot include, import or extend other files")
            )
        problems.extend(_unknown_names(tree))
    disclosure = _lines_with(text, DISCLOSURE_MARKERS)
    if kind == "marketing":
        if not disclosure:
            problems.append(
                ScriptProblem(
                    None,
                    "marketing script lacks the identity-and-purpose disclosure "
                    f"(a line with {' or '.join(DISCLOSURE_MARKERS)})",
                )
            )
        elif not any(
            re.search(r"\bseller\b", line) and re.search(r"\bpurpose\b", line) for _, line in disclosure
        ):
            problems.append(
                ScriptProblem(
                    disclosure[0][0],
                    "the disclosure line must name the seller and the purpose "
                    "({{ seller }} and {{ purpose }})",
                )
            )
        if not _lines_with(text, OPTOUT_MARKERS):
            problems.append(
                ScriptProblem(
                    None,
                    f"marketing script lacks the opt-out sentence (a line with {' or '.join(OPTOUT_MARKERS)})",
                )
            )
    else:
        for number, _line in disclosure + _lines_with(text, OFFER_MARKERS):
            problems.append(ScriptProblem(number, f"a {kind} script must not carry the marketing block"))
    return problems


def _unknown_names(tree: jinja2.nodes.Template) -> list[ScriptProblem]:
    """Names and contact/campaign fields the context never has: every call would fail on them."""
    unknown = meta.find_undeclared_variables(tree) - set(CONTEXT) - set(_ENV.globals)
    problems = [
        ScriptProblem(node.lineno, f"unknown name {node.name!r} (known: {', '.join(CONTEXT)})")
        for node in tree.find_all(jinja2.nodes.Name)
        if node.ctx == "load" and node.name in unknown
    ]
    fields = {"contact": CONTACT_FIELDS, "campaign": CAMPAIGN_FIELDS}
    for node in tree.find_all((jinja2.nodes.Getattr, jinja2.nodes.Getitem)):
        if isinstance(node, jinja2.nodes.Getattr):
            owner, attr = node.node, node.attr
        elif isinstance(node, jinja2.nodes.Getitem) and isinstance(node.arg, jinja2.nodes.Const):
            owner, attr = node.node, node.arg.value
        else:
            continue
        if not (isinstance(owner, jinja2.nodes.Name) and owner.name in fields and owner.name not in unknown):
            continue
        if attr not in fields[owner.name] and attr not in _DICT_METHODS:
            known = ", ".join(fields[owner.name])
            problems.append(
                ScriptProblem(node.lineno, f"{owner.name} has no field {attr!r} (known: {known})")
            )
    return sorted(problems, key=lambda p: p.line or 0)


def find(script: str, campaign_file: Path | None) -> Path | None:
    """The template file a campaign names: beside the campaign, in ../scripts_templates/, or shipped."""
    from .resources import data_dir

    if Path(script).name != script:
        return None  # a bare file name only: no paths out of the script folders
    folders: list[Path] = []
    if campaign_file is not None:
        folders += [campaign_file.parent, campaign_file.parent.parent / "scripts_templates"]
    with contextlib.suppress(FileNotFoundError):
        folders.append(data_dir("scripts_templates"))
    for folder in folders:
        candidate = folder / script
        if candidate.is_file():
            return candidate
    return None


def _template_line(exc: BaseException) -> int | None:
    """The script line being rendered when `exc` was raised (Jinja rewrites its frames to the template's)."""
    line, tb = None, exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == "<template>":
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


def render(text: str, context: dict[str, Any], name: str | None = None) -> str:
    """Render a script in the sandbox; a missing field or a reach for internals is a one-line error."""
    try:
        return _ENV.from_string(text).render(context)
    except jinja2.UndefinedError as exc:
        raise UserError(
            f"{_where(name, exc)} needs a field the contact or campaign lacks: {exc.message}; "
            "guard an optional field with {% if ... is defined %}"
        ) from None
    except jinja2.exceptions.SecurityError as exc:
        raise UserError(f"script tried something the sandbox forbids: {exc}") from None
    except jinja2.TemplateError as exc:
        raise UserError(f"script cannot be rendered: {exc}") from None
    except (ArithmeticError, ValueError, TypeError, LookupError) as exc:  # `{{ 1/0 }}`, `{{ "a" + 1 }}`
        raise UserError(
            f"{_where(name, exc)} cannot be rendered: {type(exc).__name__}: {exc}; fix the template"
        ) from None


def _where(name: str | None, exc: BaseException) -> str:
    """'script NAME line N' for the line being rendered when `exc` was raised (as much as is known)."""
    line = _template_line(exc)
    return f"script {name or ''}{f' line {line}' if line else ''}".replace("  ", " ")


@dataclass(frozen=True)
class RenderedScript:
    campaign: str
    version: int
    phone: str
    script: str | None
    script_sha256: str | None
    text: str
    dispositions: list[str]

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def render_for(conn: sqlite3.Connection, campaign_name: str, phone: str, agent: str) -> RenderedScript:
    """The campaign's script rendered for the contact with this number, and the dispositions to pick from."""
    from . import campaign_store

    campaign = campaign_store.get(conn, campaign_name)
    row = conn.execute(
        "SELECT id, phone, name, email, region, timezone, attributes, source, erased_at FROM contacts WHERE phone = ?",
        (phone,),
    ).fetchone()
    if row is None:
        raise UserError(f"no contact with phone {phone}: import it first (cctool contacts import)")
    if row[8]:
        raise UserError(f"contact {phone} was erased: there is nothing to render")
    if not campaign.script_text:
        raise UserError(f"campaign {campaign_name!r} has no script stored")
    tags = [
        t
        for (t,) in conn.execute("SELECT tag FROM contact_tags WHERE contact_id = ? ORDER BY tag", (row[0],))
    ]
    company = conn.execute("SELECT value FROM settings WHERE key = 'company'").fetchone()
    try:
        attributes = json.loads(row[6] or "{}")
    except ValueError:
        attributes = {}
    context = {
        "contact": {
            "phone": row[1],
            "name": row[2],
            "email": row[3],
            "region": row[4],
            "timezone": row[5],
            "attributes": attributes if isinstance(attributes, dict) else {},
            "source": row[7],
            "tags": tags,
        },
        "campaign": {
            "name": campaign.name,
            "kind": campaign.kind,
            "seller": campaign.seller,
            "purpose": campaign.purpose,
        },
        "seller": campaign.seller,
        "purpose": campaign.purpose,
        "agent": agent,
        "caller_id": campaign.caller_id,
        "company": company[0] if company else (campaign.seller or "our company"),
    }
    return RenderedScript(
        campaign=campaign.name,
        version=campaign.version,
        phone=row[1],
        script=campaign.script,
        script_sha256=campaign.script_sha256,
        text=render(campaign.script_text, context, campaign.script),
        dispositions=list(campaign.definition.get("dispositions") or []),
    )

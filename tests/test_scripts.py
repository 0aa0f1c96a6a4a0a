"""Call scripts: sandboxed, strict about missing fields, rendered for one contact with the dispositions."""

from __future__ import annotations

import pytest

from cctool import scripts
from cctool.errors import UserError
from cctool.store import Store

from .campaign_data import EXAMPLES, add_contact


@pytest.mark.parametrize(
    "template",
    [
        "{{ contact.__class__ }}",
        "{{ contact.__class__.__mro__[1].__subclasses__() }}",
        "{{ ''.__class__.__mro__ }}",
        "{{ agent.__init__.__globals__ }}",
        "{{ cycler.__init__.__globals__.os }}",
        "{{ contact.attributes.__class__.__base__ }}",
    ],
)
def test_a_template_cannot_reach_python_internals(template: str) -> None:
    with pytest.raises(UserError):
        scripts.render(template, {"contact": {"attributes": {}}, "agent": "amy"})


def test_include_and_import_of_files_is_impossible() -> None:
    with pytest.raises(UserError):
        scripts.render("{% include '/etc/passwd' %}", {})


def test_a_missing_field_is_an_error_not_an_empty_string() -> None:
    with pytest.raises(UserError, match="lacks"):
        scripts.render("Hello {{ contact.nickname }}", {"contact": {"name": "Ann"}})
    assert scripts.render("Hello {{ contact.name }}", {"contact": {"name": "Ann"}}) == "Hello Ann"


def test_marketing_scripts_need_both_disclosures_and_they_must_name_seller_and_purpose() -> None:
    good = "[disclosure] calling for {{ seller }} about {{ purpose }}\n[opt-out] say stop\n"
    assert scripts.check(good, "marketing") == []
    chinese = "【明确告知营销意图】{{ seller }}{{ purpose }}\n【一键退订】回复退订\n"
    assert scripts.check(chinese, "marketing") == []
    vague = "[disclosure] this is a sales call\n[opt-out] say stop\n"
    assert [p.line for p in scripts.check(vague, "marketing")] == [1]
    assert len(scripts.check("Hello\n", "marketing")) == 2


def test_service_scripts_may_not_carry_the_marketing_block() -> None:
    assert scripts.check("How was our service?\n", "survey") == []
    problems = scripts.check("How was it?\n[offer] upgrade now\n", "followup")
    assert [(p.line, p.message) for p in problems] == [
        (2, "a followup script must not carry the marketing block")
    ]


def test_syntax_errors_name_their_line() -> None:
    problems = scripts.check("ok\n{% if x %}\n", "survey")
    assert problems and problems[0].line is not None and "syntax" in problems[0].message


def test_script_render_prints_the_script_and_disposition_keys(cli, store: Store) -> None:
    assert cli("campaign", "load", EXAMPLES / "renewal-us.yaml").code == 0
    add_contact(store, "+14155552671", name="Ann Lee", attributes={"plan": "Fiber 300"})
    result = cli(
        "script", "render", "broadband-renewal-2026q4", "--phone", "+1 415 555 2671", "--agent", "Amy"
    )
    assert result.code == 0, result.stderr
    assert "Hello Ann Lee, this is Amy calling from Acme Broadband." in result.stdout
    assert "Your current plan is Fiber 300." in result.stdout
    assert (
        "dispositions: sale, interested, not_interested, callback, dnc_request, wrong_number" in result.stdout
    )
    doc = cli("script", "render", "broadband-renewal-2026q4", "--phone", "+14155552671", "--json").json
    assert doc["dispositions"][0] == "sale" and len(doc["script_sha256"]) == 64


def test_every_example_script_renders_for_a_plain_contact(cli, store: Store) -> None:
    phones = {"renewal-us": "+14155552671", "satisfaction-cn": "+8613812345678",
              "complaint-followup-cn": "+8613812345678", "new-customer-care-uk": "+442079460000"}  # fmt: skip
    for phone in set(phones.values()):
        add_contact(store, phone)
    for stem, phone in phones.items():
        loaded = cli("campaign", "load", EXAMPLES / f"{stem}.yaml", "--json").json
        result = cli("script", "render", loaded["campaign"], "--phone", phone, "--as", "amy")
        assert result.code == 0, (stem, result.stderr)


def test_render_for_an_unknown_contact_is_one_line(cli) -> None:
    cli("campaign", "load", EXAMPLES / "renewal-us.yaml")
    result = cli("script", "render", "broadband-renewal-2026q4", "--phone", "+14155552671")
    assert result.code == 1 and result.stderr.startswith("cctool: no contact with phone +14155552671")


def test_a_script_that_includes_files_is_refused_at_load() -> None:
    problems = scripts.check("Hi\n{% include 'other.j2' %}\n", "survey")
    assert [(p.line, p.message) for p in problems] == [
        (2, "a script cannot include, import or extend other files")
    ]


def test_a_misspelt_name_or_field_is_caught_at_validate_with_its_line() -> None:
    """`{{ contact.nme }}` passed validate and load and failed on the first call an agent took."""
    text = (
        "Hello {{ contact.nme }},\nthis is {{ agnet }} for {{ campaign.seler }} and {{ contact['emial'] }}.\n"
    )
    assert [(p.line, p.message) for p in scripts.check(text, "survey")] == [
        (1, f"contact has no field 'nme' (known: {', '.join(scripts.CONTACT_FIELDS)})"),
        (2, f"unknown name 'agnet' (known: {', '.join(scripts.CONTEXT)})"),
        (2, "campaign has no field 'seler' (known: name, kind, seller, purpose)"),
        (2, f"contact has no field 'emial' (known: {', '.join(scripts.CONTACT_FIELDS)})"),
    ]


def test_names_the_script_defines_or_the_context_has_are_not_flagged() -> None:
    text = (
        "{% set greeting = 'Hello' %}{{ greeting }} {{ contact.get('name') or 'there' }}\n"
        "{% for tag in contact.tags %}{{ loop.index }} {{ tag }}{% endfor %}{{ range(2) | list }}\n"
        "{% if contact.attributes.plan is defined %}{{ contact.attributes.plan }}{% endif %}\n"
        "{{ agent }} {{ company }} {{ caller_id }} {{ seller }} {{ purpose }} {{ campaign.kind }}\n"
    )
    assert scripts.check(text, "survey") == []


def test_a_field_missing_at_render_names_the_script_and_its_line() -> None:
    with pytest.raises(UserError) as raised:
        scripts.render(
            "Hello\n\nYour plan: {{ contact.attributes.plan }}\n", {"contact": {"attributes": {}}}, "x.j2"
        )
    assert str(raised.value).startswith("script x.j2 line 3 needs a field the contact or campaign lacks: ")
    assert "is defined" in str(raised.value)


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ("Hi\n{{ 1 / 0 }}", "script s line 2 cannot be rendered: ZeroDivisionError"),
        ("{{ 'x' + 1 }}", "script s line 1 cannot be rendered: TypeError"),
        ("{% for i in range(10**9) %}{% endfor %}", "OverflowError: Range too big"),
        ("{{ (contact.name or 'x') * 1000000000 }}", "a repeat of 1,000,000,000 would be too long"),
        ("{{ 10 ** 100000 }}", "an exponent of 100000 is too large"),
    ],
)
def test_a_script_that_fails_to_render_is_one_line_not_a_traceback_or_a_runaway(
    template: str, message: str
) -> None:
    """These loaded, then `script render` raised ZeroDivisionError or OverflowError, or grew to 16 GB."""
    with pytest.raises(UserError) as refused:
        scripts.render(template, {"contact": {"name": "Ann"}}, "s")
    assert message in str(refused.value) and "\n" not in str(refused.value)
    assert (
        scripts.render("{{ contact.name * 3 }} {{ 2 ** 10 }}", {"contact": {"name": "Ann"}})
        == "AnnAnnAnn 1024"
    )

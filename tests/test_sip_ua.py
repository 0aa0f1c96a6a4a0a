"""The calling user agent driven message by message, with no network: timers, CANCEL, auth, route sets."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cctool.sip.auth import Secret, digest_response
from cctool.sip.dialog import outcome_for
from cctool.sip.message import Request, Response, auth_params, parse, response_to
from cctool.sip.useragent import (
    Answered,
    BackedOff,
    Ended,
    Fatal,
    Ringing,
    Settings,
    UserAgent,
)
from cctool.trunk import OUTCOMES

TRUNK = ("10.0.0.1", 5060)
PASSWORD = "pa55-word-xyz"


def agent(**kw: object) -> UserAgent:
    settings = Settings(local_host="127.0.0.1", local_port=5070, trunk_host="10.0.0.1", trunk_port=5060)
    for key, value in kw.items():
        setattr(settings, key, value)
    return UserAgent(settings)


def sent(ua: UserAgent) -> list[tuple[Request | Response, tuple[str, int]]]:
    out = [(parse(data), dest) for data, dest in ua.outbox]
    ua.outbox.clear()
    return out


def requests(ua: UserAgent, method: str | None = None) -> list[Request]:
    return [m for m, _ in sent(ua) if isinstance(m, Request) and (method is None or m.method == method)]


def answer(req: Request, code: int, reason: str = "X", to_tag: str = "callee1", **headers: str) -> bytes:
    resp = response_to(req, code, reason, to_tag=to_tag if code > 100 else None)
    for name, value in headers.items():
        for one in value.split("\n"):
            resp.add(name.replace("_", "-"), one)
    return resp.serialize()


def events(ua: UserAgent) -> list[object]:
    out, ua.events = ua.events, []
    return out


def invite_and(ua: UserAgent, *codes: int, **headers: str) -> Request:
    """Dial call 1 at t=0 and answer its INVITE with `codes` in turn; return the INVITE."""
    ua.dial(1, "+14155550123", "+14155550100", 20, now=0.0)
    invite = requests(ua, "INVITE")[0]
    for code in codes:
        ua.receive(answer(invite, code, **headers), TRUNK, now=0.1)
    return invite


def test_an_unanswered_invite_is_retransmitted_on_timer_a_and_fails_on_timer_b() -> None:
    ua = agent()
    invite = invite_and(ua)
    assert (
        invite.body.startswith(b"v=0") and b"PCMU/8000" in invite.body and b"telephone-event" in invite.body
    )
    times = []
    now = 0.0
    while ua.deadline is not None and now < 40:
        now = ua.deadline
        ua.tick(now)
        if requests(ua, "INVITE"):
            times.append(now)
        if any(isinstance(e, Ended) for e in ua.events):
            break
    assert times == [0.5, 1.5, 3.5, 7.5, 15.5, 31.5]
    [ended] = [e for e in events(ua) if isinstance(e, Ended)]
    assert (ended.outcome, ended.sip_code, now) == ("failed", None, 32.0)


def test_over_tcp_nothing_is_retransmitted() -> None:
    ua = agent(transport="tcp")
    invite_and(ua)
    ua.tick(10.0)
    assert requests(ua) == []


def test_a_provisional_response_stops_retransmission_and_183_counts_as_ringing() -> None:
    ua = agent()
    invite_and(ua, 100, 183, 180)
    ua.tick(5.0)
    assert requests(ua, "INVITE") == []
    assert events(ua) == [Ringing(1)]  # one ringing event for 183 then 180


def test_an_answer_is_acked_along_the_record_route_and_bye_follows_it() -> None:
    ua = agent()
    invite = invite_and(
        ua,
        180,
        200,
        Record_Route="<sip:proxy2.test:5080;lr>\n<sip:proxy1.test:5090;lr>",
        Contact="<sip:callee@192.0.2.9:5062>",
    )
    assert events(ua) == [Ringing(1), Answered(1)]
    [(ack, dest)] = sent(ua)
    assert isinstance(ack, Request) and ack.method == "ACK"
    # The UAC reverses Record-Route: the proxy nearest to us comes first and gets the request.
    assert ack.get_all("Route") == ["<sip:proxy1.test:5090;lr>", "<sip:proxy2.test:5080;lr>"]
    assert ack.uri == "sip:callee@192.0.2.9:5062" and dest == ("proxy1.test", 5090)
    assert ack.cseq == (1, "ACK") and ack.branch != invite.branch
    ua.hangup(1, now=30.0)
    [(bye, dest)] = sent(ua)
    assert isinstance(bye, Request) and bye.method == "BYE" and bye.cseq == (2, "BYE")
    assert bye.get_all("Route") == ack.get_all("Route") and dest == ("proxy1.test", 5090)
    assert ua.open_dialogs == 1
    ua.receive(answer(bye, 200), TRUNK, now=30.1)
    [ended] = events(ua)
    assert isinstance(ended, Ended) and (ended.outcome, ended.sip_code, ended.call_id) == (
        "answered",
        200,
        invite.call_id,
    )
    assert ua.open_dialogs == 0 and ua.active == 0


def test_a_strict_router_becomes_the_request_uri() -> None:
    ua = agent()
    invite_and(ua, 200, Record_Route="<sip:strict.test:5080>", Contact="<sip:callee@192.0.2.9>")
    [(ack, dest)] = sent(ua)
    assert isinstance(ack, Request)
    assert ack.uri == "sip:strict.test:5080" and ack.get_all("Route") == ["<sip:callee@192.0.2.9>"]
    assert dest == ("strict.test", 5080)


def test_a_retransmitted_200_gets_the_same_ack_again() -> None:
    ua = agent()
    invite = invite_and(ua, 200, Contact="<sip:callee@192.0.2.9:5062>")
    first = ua.outbox[:]
    ua.outbox.clear()
    ua.receive(answer(invite, 200, Contact="<sip:callee@192.0.2.9:5062>"), TRUNK, now=0.6)
    assert ua.outbox == first


def test_ring_timeout_sends_cancel_and_the_487_ends_the_call_as_no_answer() -> None:
    ua = agent()
    invite = invite_and(ua, 180)
    ua.tick(20.0)
    [cancel] = requests(ua, "CANCEL")
    assert cancel.branch == invite.branch and cancel.cseq == (1, "CANCEL") and cancel.uri == invite.uri
    ua.receive(answer(cancel, 200), TRUNK, now=20.01)
    ua.receive(answer(invite, 487), TRUNK, now=20.02)
    [ack] = requests(ua, "ACK")
    assert ack.branch == invite.branch and ack.cseq == (1, "ACK")
    ended = [e for e in events(ua) if isinstance(e, Ended)][0]
    assert (ended.outcome, ended.sip_code, ended.detail) == ("no_answer", 487, "ring timeout")
    assert ended.ring_s == pytest.approx(20.02)


def test_cancel_waits_for_a_provisional_response() -> None:
    ua = agent(transport="tcp")
    invite = invite_and(ua)
    ua.hangup(1, now=1.0)
    assert requests(ua, "CANCEL") == []  # RFC 3261 9.1: not before a provisional response
    ua.receive(answer(invite, 100), TRUNK, now=2.0)
    assert len(requests(ua, "CANCEL")) == 1


def test_an_answer_racing_our_cancel_is_acked_and_byed() -> None:
    ua = agent()
    invite = invite_and(ua, 180)
    ua.hangup(1, now=5.0)
    sent(ua)
    ua.receive(answer(invite, 200, Contact="<sip:callee@192.0.2.9>"), TRUNK, now=5.01)
    assert [r.method for r in requests(ua)] == ["ACK", "BYE"]
    assert Answered(1) not in ua.events


def test_digest_authentication_is_answered_once_without_the_password_on_the_wire() -> None:
    ua = agent(username="acme", password=Secret(PASSWORD))
    challenge = 'Digest realm="carrier", nonce="abc123", qop="auth,auth-int", algorithm=MD5, opaque="op"'
    invite = invite_and(ua, 401, WWW_Authenticate=challenge)
    wire = b"".join(data for data, _ in ua.outbox)
    msgs = requests(ua)
    assert [m.method for m in msgs] == ["ACK", "INVITE"]
    again = msgs[1]
    assert again.call_id == invite.call_id and again.cseq == (2, "INVITE") and again.branch != invite.branch
    scheme, params = auth_params(again.get("Authorization") or "")
    assert scheme == "digest" and params["qop"] == "auth" and params["opaque"] == "op"
    expected = digest_response(
        username="acme",
        password=Secret(PASSWORD),
        realm="carrier",
        method="INVITE",
        uri=params["uri"],
        nonce="abc123",
        qop="auth",
        cnonce=params["cnonce"],
        nc=params["nc"],
    )
    assert params["response"] == expected
    assert PASSWORD.encode() not in wire


def test_a_403_after_authenticating_is_fatal_and_stops_further_dials() -> None:
    ua = agent(username="acme", password=Secret("wrong"))
    invite_and(ua, 407, Proxy_Authenticate='Digest realm="c", nonce="n1"')
    again = requests(ua, "INVITE")[0]
    assert again.get("Proxy-Authorization")
    ua.receive(answer(again, 403, "Forbidden"), TRUNK, now=0.2)
    evs = events(ua)
    assert Fatal("trunk rejected credentials") in evs
    ended = [e for e in evs if isinstance(e, Ended)][0]
    assert (ended.outcome, ended.sip_code, ended.detail) == ("failed", 403, "trunk rejected credentials")
    ua.dial(2, "+14155550124", "+14155550100", 20, now=0.3)
    assert requests(ua, "INVITE") == []


def test_a_second_challenge_means_the_credentials_were_rejected() -> None:
    ua = agent(username="acme", password=Secret("wrong"))
    invite_and(ua, 401, WWW_Authenticate='Digest realm="c", nonce="n1"')
    again = requests(ua, "INVITE")[0]
    ua.receive(answer(again, 401, WWW_Authenticate='Digest realm="c", nonce="n2"'), TRUNK, now=0.2)
    assert Fatal("trunk rejected credentials") in events(ua)


@pytest.mark.parametrize(
    "code,outcome",
    [
        (486, "busy"),
        (600, "busy"),
        (404, "invalid"),
        (484, "invalid"),
        (604, "invalid"),
        (480, "no_answer"),
        (408, "no_answer"),
        (487, "no_answer"),
        (503, "failed"),
        (500, "failed"),
        (403, "failed"),
        (302, "failed"),
    ],
)
def test_final_responses_map_to_attempt_outcomes_and_keep_the_code(code: int, outcome: str) -> None:
    ua = agent()
    invite_and(ua, code)
    ended = [e for e in events(ua) if isinstance(e, Ended)]
    assert [(e.outcome, e.sip_code) for e in ended] == [(outcome, code)]
    assert [m.method for m in requests(ua)] == ["ACK"]


def test_a_5xx_backs_the_trunk_off_before_the_next_invite() -> None:
    ua = agent()
    invite_and(ua, 503, Retry_After="3")
    assert BackedOff(503, 3.0) in events(ua)
    sent(ua)
    ua.dial(2, "+14155550124", "+14155550100", 20, now=0.2)
    assert requests(ua, "INVITE") == []
    ua.tick(3.1)
    assert len(requests(ua, "INVITE")) == 1


def test_max_cps_and_max_channels_hold_calls_back() -> None:
    ua = agent(max_cps=2.0, max_channels=2, transport="tcp")
    for key in (1, 2, 3):
        ua.dial(key, f"+1415555012{key}", "+14155550100", 20, now=0.0)
    assert len(requests(ua, "INVITE")) == 1
    ua.tick(0.5)
    [second] = requests(ua, "INVITE")
    ua.tick(1.0)
    assert requests(ua, "INVITE") == []  # two channels in use
    ua.receive(answer(second, 486), TRUNK, now=1.2)
    assert len(requests(ua, "INVITE")) == 1


def test_the_far_end_hanging_up_ends_the_call_and_gets_a_200() -> None:
    ua = agent()
    invite = invite_and(ua, 200, Contact="<sip:callee@192.0.2.9:5062>")
    sent(ua)
    bye = Request(method="BYE", uri="sip:cctool@127.0.0.1:5070")
    bye.add("Via", "SIP/2.0/UDP 192.0.2.9:5062;branch=z9hG4bKfar")
    bye.add("From", f"{invite.get('To')};tag=callee1")
    bye.add("To", invite.get("From") or "")
    bye.add("Call-ID", invite.call_id)
    bye.add("CSeq", "5 BYE")
    ua.receive(bye.serialize(), ("192.0.2.9", 5062), now=3.0)
    [(ok, dest)] = sent(ua)
    assert isinstance(ok, Response) and ok.code == 200 and dest == ("192.0.2.9", 5062)
    ended = [e for e in events(ua) if isinstance(e, Ended)][0]
    assert (ended.outcome, ended.detail) == ("answered", "the called party hung up")


def test_an_unanswered_bye_is_retransmitted_up_to_t2_and_given_up_on_timer_f() -> None:
    ua = agent()
    invite_and(ua, 200, Contact="<sip:callee@192.0.2.9:5062>")
    sent(ua)
    ua.hangup(1, now=1.0)
    sent(ua)
    times = []
    while ua.active:
        now = ua.deadline
        assert now is not None
        ua.tick(now)
        if requests(ua, "BYE"):
            times.append(round(now - 1.0, 2))
    assert times[:6] == [0.5, 1.5, 3.5, 7.5, 11.5, 15.5]
    ended = [e for e in events(ua) if isinstance(e, Ended)][0]
    assert ended.outcome == "answered" and "timer F" in ended.detail


def test_shutdown_cancels_the_ringing_and_byes_the_answered() -> None:
    ua = agent()
    ua.dial(1, "+14155550001", "+14155550100", 20, now=0.0)
    ua.dial(2, "+14155550002", "+14155550100", 20, now=0.0)
    first, second = requests(ua, "INVITE")
    ua.receive(answer(first, 180), TRUNK, now=0.1)
    ua.receive(answer(second, 200, Contact="<sip:callee@192.0.2.9>"), TRUNK, now=0.1)
    sent(ua)
    ua.shutdown(now=1.0)
    assert sorted(r.method for r in requests(ua)) == ["BYE", "CANCEL"]
    ua.dial(3, "+14155550003", "+14155550100", 20, now=1.1)
    assert requests(ua, "INVITE") == []


def test_a_forked_second_answer_is_acked_and_released() -> None:
    ua = agent()
    invite = invite_and(ua, 200, Contact="<sip:a@192.0.2.9>")
    sent(ua)
    ua.receive(answer(invite, 200, to_tag="other", Contact="<sip:b@192.0.2.10>"), TRUNK, now=0.2)
    msgs = requests(ua)
    assert [(m.method, m.uri) for m in msgs] == [("ACK", "sip:b@192.0.2.10"), ("BYE", "sip:b@192.0.2.10")]


def test_garbage_is_dropped() -> None:
    ua = agent()
    ua.receive(b"\x00\xffnot sip", TRUNK, now=0.0)
    ua.receive(b"SIP/2.0 abc\r\n\r\n", TRUNK, now=0.0)
    assert ua.stats["dropped"] == 2 and ua.outbox == [] and ua.events == []


@given(st.integers(min_value=200, max_value=699))
def test_every_final_code_maps_to_a_schema_outcome_and_5xx_is_always_failed(code: int) -> None:
    outcome = outcome_for(code)
    assert outcome in OUTCOMES and outcome != "abandoned"
    if 500 <= code < 600:
        assert outcome == "failed"
    if outcome == "answered":
        assert code < 300


@given(
    st.lists(
        st.tuples(
            st.sampled_from(["Via", "From", "To", "Call-ID", "CSeq", "Contact", "X-Note"]),
            st.text(alphabet=st.characters(min_codepoint=33, max_codepoint=126), min_size=1, max_size=30),
        ),
        max_size=8,
    ),
    st.binary(max_size=64),
)
def test_messages_survive_serialize_then_parse(headers: list[tuple[str, str]], body: bytes) -> None:
    req = Request(method="INFO", uri="sip:a@b", headers=list(headers), body=body)
    back = parse(req.serialize())
    assert isinstance(back, Request) and back.body == body
    assert [h for h in back.headers if h[0] != "Content-Length"] == headers


def test_a_long_queue_behind_max_cps_wakes_once_per_call() -> None:
    ua = agent(max_cps=100.0, transport="tcp")
    for key in range(1000):
        ua.dial(key, "+14155550123", "+14155550100", 20, now=0.0)
    assert len(ua.timers) < 1100  # ring timers and one release wake-up, not one per waiting call
    now = 0.0
    while ua.pending:
        now = ua.deadline or now
        ua.tick(now)
    assert len(requests(ua, "INVITE")) == 1000 and now == pytest.approx(9.99)


def test_a_failing_engine_callback_does_not_lose_the_other_events() -> None:
    import asyncio

    from cctool.sip.config import from_mapping
    from cctool.sip.trunk import SipTrunk
    from cctool.trunk import CallResult

    class Events:
        def __init__(self) -> None:
            self.ended: list[int] = []

        def on_ringing(self, call_no: int) -> None: ...

        def on_answer(self, call_no: int, machine: bool) -> None: ...

        def on_end(self, call_no: int, result: CallResult) -> None:
            self.ended.append(call_no)
            if call_no == 1:
                raise RuntimeError("the engine's sink failed")

    class Clock:
        loop = asyncio.new_event_loop()

    trunk = SipTrunk(from_mapping({"host": "127.0.0.1", "port": 9, "bind_address": "127.0.0.1"}))
    events = Events()
    trunk.start(Clock(), events)
    assert trunk.ua is not None
    trunk.ua.events += [Ended(1, "busy", 0.1, 486, "a"), Ended(2, "busy", 0.1, 486, "b")]
    with pytest.raises(RuntimeError, match="sink failed"):
        trunk._pump()
    assert events.ended == [1, 2]
    trunk.close(timeout_s=0)
    Clock.loop.close()

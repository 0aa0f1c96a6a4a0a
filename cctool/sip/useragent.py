"""The calling user agent as a sans-IO state machine: bytes and clock ticks in, bytes and events out.

    ua = UserAgent(settings)
    ua.dial(key, "+14155550123", "+14155550100", ring_timeout_s, now)
    ua.receive(datagram, source, now); ua.tick(now)          # inputs (monotonic seconds)
    ua.outbox -> [(bytes, (host, port))]; ua.events -> [...]  # outputs, drained by the transport
    ua.deadline                                              # when the next tick is wanted

It owns the client transactions (transaction.py), the dialogs (dialog.py), digest authentication
(auth.py), the trunk's pacing (max channels, calls per second, back-off after a 5xx) and the outcome
of each call. Nothing here touches a socket or reads a clock, so tests drive it message by message.
"""

from __future__ import annotations

import heapq
import itertools
import secrets
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial

from . import sdp
from .auth import AuthError, Secret, authorization
from .dialog import Dialog, outcome_for
from .message import ParseError, Request, Response, addr_uri, param, parse, parse_uri, response_to, tag
from .transaction import T1, InviteClientTransaction, NonInviteClientTransaction, new_transaction

Address = tuple[str, int]
CREDENTIALS_REJECTED = "trunk rejected credentials"


# ---- events the transport hands to the trunk -------------------------------------------------------
@dataclass(frozen=True)
class Ringing:
    key: int


@dataclass(frozen=True)
class Answered:
    key: int


@dataclass(frozen=True)
class Ended:
    key: int
    outcome: str
    ring_s: float
    sip_code: int | None
    call_id: str
    detail: str = ""


@dataclass(frozen=True)
class OptionsAnswered:
    key: int
    code: int | None  # None: nothing answered
    reason: str
    server: str
    latency_s: float


@dataclass(frozen=True)
class Fatal:
    message: str


@dataclass(frozen=True)
class BackedOff:
    code: int
    seconds: float


Event = Ringing | Answered | Ended | OptionsAnswered | Fatal | BackedOff


@dataclass
class Settings:
    local_host: str
    local_port: int
    trunk_host: str
    trunk_port: int
    transport: str = "udp"
    domain: str = ""
    username: str | None = None
    password: Secret | None = None
    codecs: tuple[str, ...] = ("PCMU", "PCMA", "telephone-event")
    max_channels: int | None = None
    max_cps: float | None = None
    t1: float = T1
    user_agent: str = "cctool"


@dataclass
class Call:
    key: int
    user: str
    caller_id: str
    ring_timeout: float
    call_id: str
    from_tag: str
    state: str = "queued"  # queued, calling, ringing, answered, ending, ended
    cseq: int = 1
    invite: Request | None = None
    invite_tx: InviteClientTransaction | None = None
    provisional: bool = False
    ringing: bool = False
    cancel_wanted: str = ""  # why we cancel (ring timeout, hangup, shutdown); '' while not cancelling
    cancel_sent: bool = False
    auth_tried: bool = False
    bye_auth_tried: bool = False
    dialog: Dialog | None = None
    ack: bytes | None = None
    ack_dest: Address | None = None
    sent_at: float | None = None  # when the first INVITE went out
    answered_at: float | None = None
    final_code: int | None = None
    detail: str = ""
    outcome: str = ""
    extra_dialogs: dict[str, bytes] = field(default_factory=dict)  # forked 2xx to-tag -> their ACK


class UserAgent:
    def __init__(self, settings: Settings):
        self.s = settings
        self.proto = settings.transport.upper()
        self.reliable = settings.transport == "tcp"
        self.outbox: list[tuple[bytes, Address]] = []
        self.events: list[Event] = []
        self.calls: dict[int, Call] = {}  # live calls by key
        self.by_call_id: dict[str, Call] = {}  # live and recently ended calls (late 2xx, BYE)
        self.transactions: dict[tuple[str, str], InviteClientTransaction | NonInviteClientTransaction] = {}
        self.owners: dict[tuple[str, str], tuple[Call | None, str, float]] = {}
        self.pending: deque[Call] = deque()
        self.timers: list[tuple[float, int, Callable[[float], None]]] = []
        self.seq = itertools.count()
        self.backoff_until = 0.0
        self.backoff_step = 0
        self.last_invite_at = -1e9
        self.release_at: float | None = None
        self.fatal: str | None = None
        self.closing = False
        self.stats = {"invites": 0, "retransmits": 0, "answered": 0, "ended": 0, "dropped": 0}
        self.trunk: Address = (settings.trunk_host, settings.trunk_port)

    # ---- inputs --------------------------------------------------------------------------------------
    def dial(self, key: int, user: str, caller_id: str, ring_timeout: float, now: float) -> None:
        """Queue a call; it is sent as soon as channels, calls per second and back-off allow."""
        call = Call(key, user, caller_id, ring_timeout, call_id=self._new_call_id(), from_tag=_token(8))
        self.calls[key] = call
        self.by_call_id[call.call_id] = call
        if self.fatal or self.closing:
            self._end(call, "failed", None, now, self.fatal or "trunk is closing")
            return
        self.pending.append(call)
        self._release(now)

    def hangup(self, key: int, now: float, why: str = "hung up") -> None:
        """End a call: a queued one is dropped, a ringing one cancelled (CANCEL), an answered one BYEd."""
        call = self.calls.get(key)
        if call is None or call.state in ("ending", "ended"):
            return
        if call.state == "queued":
            self.pending.remove(call)
            self._end(call, "no_answer", None, now, f"{why} before it was dialed")
        elif call.state in ("calling", "ringing"):
            self._cancel(call, now, why)
        elif call.state == "answered":
            self._bye(call, now)

    def shutdown(self, now: float) -> None:
        """Stop dialing; cancel every ringing call and BYE every answered one."""
        self.closing = True
        for key in list(self.calls):
            self.hangup(key, now, "trunk closing")

    def options(self, key: int, now: float) -> None:
        """Send an OPTIONS to the trunk (a health check); an OptionsAnswered event follows."""
        req = self._out_of_dialog(
            "OPTIONS", f"sip:{self.s.trunk_host}:{self.s.trunk_port}", "ping", _token(8)
        )
        req.add("Accept", "application/sdp")
        self._start_tx(req, self.trunk, None, "options", now, key)

    def receive(self, data: bytes, source: Address, now: float) -> None:
        """A datagram (or one framed TCP message) from `source`."""
        try:
            msg = parse(data)
        except ParseError:
            self.stats["dropped"] += 1
            return
        try:
            if isinstance(msg, Response):
                self._on_response(msg, now)
            else:
                self._on_request(msg, source, now)
        except ParseError:
            self.stats["dropped"] += 1

    def tick(self, now: float) -> None:
        """Run every timer that is due."""
        while self.timers and self.timers[0][0] <= now:
            _, _, callback = heapq.heappop(self.timers)
            callback(now)

    @property
    def deadline(self) -> float | None:
        return self.timers[0][0] if self.timers else None

    @property
    def active(self) -> int:
        """Calls not yet ended (queued, ringing, answered or hanging up)."""
        return len(self.calls)

    @property
    def open_dialogs(self) -> int:
        return sum(1 for c in self.calls.values() if c.dialog is not None)

    # ---- pacing --------------------------------------------------------------------------------------
    def _in_progress(self) -> int:
        return len(self.calls) - len(self.pending)

    def _release(self, now: float) -> None:
        while self.pending:
            if self.s.max_channels is not None and self._in_progress() >= self.s.max_channels:
                return  # released again when a call ends
            wait_until = self.backoff_until
            if self.s.max_cps:
                wait_until = max(wait_until, self.last_invite_at + 1.0 / self.s.max_cps)
            if wait_until > now:
                if self.release_at is None or wait_until < self.release_at:
                    self.release_at = wait_until  # one wake-up however many calls wait
                    self._at(wait_until, self._release_timer)
                return
            call = self.pending.popleft()
            self.last_invite_at = now
            self._invite(call, now)

    def _release_timer(self, now: float) -> None:
        self.release_at = None
        self._release(now)

    def _back_off(self, resp: Response, now: float) -> None:
        retry_after = (resp.get("Retry-After") or "").split(";")[0].split("(")[0].strip()
        if retry_after.isdigit():
            seconds = min(float(retry_after), 60.0)
        else:
            seconds = min(0.5 * 2**self.backoff_step, 30.0)
        self.backoff_step += 1
        self.backoff_until = max(self.backoff_until, now + seconds)
        self.events.append(BackedOff(resp.code, seconds))

    # ---- building requests ---------------------------------------------------------------------------
    def _new_call_id(self) -> str:
        return f"{secrets.token_hex(10)}@{self.s.local_host}"

    def _via(self) -> str:
        return f"SIP/2.0/{self.proto} {self._hostport()};branch=z9hG4bK{_token(10)};rport"

    def _hostport(self) -> str:
        host = self.s.local_host
        return f"[{host}]:{self.s.local_port}" if ":" in host else f"{host}:{self.s.local_port}"

    def _contact(self) -> str:
        suffix = ";transport=tcp" if self.reliable else ""
        return f"<sip:cctool@{self._hostport()}{suffix}>"

    def _trunk_uri(self, user: str) -> str:
        suffix = ";transport=tcp" if self.reliable else ""
        return f"sip:{user}@{self.s.trunk_host}:{self.s.trunk_port}{suffix}"

    def _out_of_dialog(
        self, method: str, uri: str, from_user: str, from_tag: str, call_id: str = ""
    ) -> Request:
        req = Request(method=method, uri=uri)
        req.add("Via", self._via())
        req.add("Max-Forwards", "70")
        req.add("From", f"<sip:{from_user}@{self.s.domain or self.s.trunk_host}>;tag={from_tag}")
        to_user = parse_uri(uri).user
        to_uri = f"sip:{to_user}@{self.s.trunk_host}" if to_user else f"sip:{self.s.trunk_host}"
        req.add("To", f"<{to_uri}>")
        req.add("Call-ID", call_id or self._new_call_id())
        req.add("CSeq", f"1 {method}")
        req.add("Contact", self._contact())
        req.add("User-Agent", self.s.user_agent)
        return req

    def _invite(self, call: Call, now: float, auth: tuple[str, str] | None = None) -> None:
        req = self._out_of_dialog(
            "INVITE", self._trunk_uri(call.user), call.caller_id, call.from_tag, call.call_id
        )
        req.set("CSeq", f"{call.cseq} INVITE")
        if auth:
            req.add(*auth)
        req.add("Allow", "INVITE, ACK, CANCEL, BYE, OPTIONS")
        req.add("Content-Type", "application/sdp")
        req.body = sdp.offer(self.s.local_host, 40000 + 2 * (call.key % 10000), self.s.codecs)
        call.invite = req
        call.provisional = False
        if call.state == "queued":
            call.state = "calling"
            call.sent_at = now
            self._at(now + call.ring_timeout, partial(self._ring_timeout, call))
        tx = self._start_tx(req, self.trunk, call, "invite", now)
        assert isinstance(tx, InviteClientTransaction)
        call.invite_tx = tx
        self.stats["invites"] += 1

    def _start_tx(
        self, req: Request, dest: Address, call: Call | None, purpose: str, now: float, key: int = 0
    ) -> InviteClientTransaction | NonInviteClientTransaction:
        tx = new_transaction(req, self.reliable, now, self.s.t1)
        self.transactions[tx.key] = tx
        self.owners[tx.key] = (call, purpose, float(key))
        tx.dest = dest
        self._flush(tx, now, first=True)
        return tx

    def _flush(
        self, tx: InviteClientTransaction | NonInviteClientTransaction, now: float, first: bool = False
    ) -> None:
        """Send what the transaction queued; forget it once terminated; schedule its next timer."""
        dest: Address = tx.dest
        for i, wire in enumerate(tx.outbox):
            if not first or i:
                self.stats["retransmits"] += wire is tx.wire
            self.outbox.append((wire, dest))
        tx.outbox.clear()
        if tx.done:
            self.transactions.pop(tx.key, None)
            self.owners.pop(tx.key, None)
            return
        deadline = tx.deadline
        if deadline is not None:
            self._at(deadline, partial(self._tick_tx, tx))

    def _tick_tx(self, tx: InviteClientTransaction | NonInviteClientTransaction, now: float) -> None:
        if tx.done or self.transactions.get(tx.key) is not tx:
            return
        deadline = tx.deadline
        if deadline is None or deadline > now:
            return  # a stale timer entry; the current one is in the heap too
        owner = self.owners.get(tx.key)
        timed_out = tx.tick(now)
        self._flush(tx, now)
        if timed_out and owner is not None:
            self._on_timeout(owner, tx, now)

    def _at(self, when: float, callback: Callable[[float], None]) -> None:
        heapq.heappush(self.timers, (when, next(self.seq), callback))

    def _dest_of(self, uri: str) -> Address:
        parsed = parse_uri(uri)
        default = 5061 if uri.startswith("sips:") else 5060
        return (parsed.host, parsed.port or default)

    # ---- responses -----------------------------------------------------------------------------------
    def _on_response(self, resp: Response, now: float) -> None:
        number, method = resp.cseq
        key = (resp.branch, method)
        tx = self.transactions.get(key)
        if tx is None:
            if method == "INVITE" and 200 <= resp.code < 300:
                call = self.by_call_id.get(resp.call_id)
                if call is not None:
                    self._on_2xx(call, resp, now)  # a 2xx retransmitted after our transaction ended
            return
        owner = self.owners.get(key)
        passed = tx.receive(resp, now)
        self._flush(tx, now)
        if passed is None or owner is None:
            return
        call, purpose, okey = owner
        if purpose == "invite" and call is not None:
            self._on_invite_response(call, resp, now)
        elif purpose == "bye" and call is not None and resp.code >= 200:
            self._on_bye_response(call, resp, now)
        elif purpose == "options" and resp.code >= 200:
            server = resp.get("Server") or resp.get("User-Agent") or ""
            self.events.append(OptionsAnswered(int(okey), resp.code, resp.reason, server, now - tx.started))

    def _on_timeout(self, owner: tuple[Call | None, str, float], tx: object, now: float) -> None:
        call, purpose, okey = owner
        if purpose == "options":
            self.events.append(
                OptionsAnswered(int(okey), None, "no answer", "", now - getattr(tx, "started", now))
            )
        elif purpose == "invite" and call is not None and call.state in ("calling", "ringing"):
            self._end(call, "failed", None, now, "no response from the trunk (timer B)")
        elif purpose == "bye" and call is not None and call.state == "ending":
            self._end(call, "answered", call.final_code, now, "no answer to BYE (timer F)")

    def _on_invite_response(self, call: Call, resp: Response, now: float) -> None:
        if call.state not in ("calling", "ringing"):
            if 200 <= resp.code < 300:
                self._on_2xx(call, resp, now)
            return
        if resp.code < 200:
            call.provisional = True
            if resp.code != 100 and not call.ringing:
                call.ringing = True
                call.state = "ringing"
                self.events.append(Ringing(call.key))
            if call.cancel_wanted and not call.cancel_sent:
                self._send_cancel(call, now)
            return
        call.final_code = resp.code
        if resp.code < 300:
            self._on_2xx(call, resp, now)
            return
        if resp.code in (401, 407):
            self._on_challenge(call, resp, now)
            return
        if resp.code == 403 and call.auth_tried:
            self._credentials_rejected(call, now)
            return
        outcome = outcome_for(resp.code)
        detail = f"{resp.code} {resp.reason}".strip()
        if call.cancel_wanted and resp.code == 487:
            detail = call.cancel_wanted
        if 300 <= resp.code < 400:
            contact = resp.get_all("Contact")
            detail += f" (redirect to {addr_uri(contact[0]) if contact else '?'} not followed)"
        if 500 <= resp.code < 600:
            self._back_off(resp, now)
        else:
            self.backoff_step = 0
        self._end(call, outcome, resp.code, now, detail)

    def _on_challenge(self, call: Call, resp: Response, now: float) -> None:
        if call.auth_tried:
            self._credentials_rejected(call, now)
            return
        if not self.s.username or self.s.password is None:
            message = "the trunk asks for authentication; set username and password_env in the trunk file"
            self.fatal = self.fatal or message
            self.events.append(Fatal(message))
            self._end(call, "failed", resp.code, now, message)
            return
        if call.cancel_wanted:
            self._end(call, "no_answer", resp.code, now, call.cancel_wanted)
            return
        header = "WWW-Authenticate" if resp.code == 401 else "Proxy-Authenticate"
        answer = "Authorization" if resp.code == 401 else "Proxy-Authorization"
        try:
            value = authorization(
                resp.get(header) or "",
                username=self.s.username,
                password=self.s.password,
                method="INVITE",
                uri=self._trunk_uri(call.user),
            )
        except AuthError as exc:
            self._end(call, "failed", resp.code, now, str(exc))
            return
        call.auth_tried = True
        call.cseq += 1
        self._invite(call, now, (answer, value))

    def _credentials_rejected(self, call: Call, now: float) -> None:
        self.fatal = CREDENTIALS_REJECTED
        self.events.append(Fatal(CREDENTIALS_REJECTED))
        self._end(call, "failed", call.final_code, now, CREDENTIALS_REJECTED)
        for queued in list(self.pending):
            self.pending.remove(queued)
            self._end(queued, "failed", None, now, CREDENTIALS_REJECTED)

    def _on_2xx(self, call: Call, resp: Response, now: float) -> None:
        """Answer every 2xx with an ACK (again, if it was retransmitted); a forked extra leg gets a BYE."""
        assert call.invite is not None
        to_tag = tag(resp.get("To") or "") or ""
        if call.dialog is not None and call.dialog.remote_tag != to_tag:
            if to_tag not in call.extra_dialogs:
                extra = Dialog.from_2xx(call.invite, resp)
                ack = extra.request("ACK", self._via(), cseq=call.cseq)
                dest = self._dest_of(extra.next_hop())
                call.extra_dialogs[to_tag] = ack.serialize()
                self.outbox.append((call.extra_dialogs[to_tag], dest))
                self._start_tx(extra.request("BYE", self._via()), dest, None, "stray-bye", now)
            else:
                self.outbox.append(
                    (call.extra_dialogs[to_tag], self._dest_of(Dialog.from_2xx(call.invite, resp).next_hop()))
                )
            return
        if call.dialog is not None:
            if call.ack is not None and call.ack_dest is not None:
                self.outbox.append((call.ack, call.ack_dest))
            return
        dialog = Dialog.from_2xx(call.invite, resp)
        call.dialog = dialog
        ack = dialog.request("ACK", self._via(), cseq=call.cseq)
        call.ack = ack.serialize()
        call.ack_dest = self._dest_of(dialog.next_hop())
        self.outbox.append((call.ack, call.ack_dest))
        self.backoff_step = 0
        if call.cancel_wanted or self.closing:
            # Answered while we were cancelling: the call is over for us, but the far end needs its BYE.
            call.detail = f"answered after CANCEL ({call.cancel_wanted or 'trunk closing'}); BYE sent"
            call.outcome = "no_answer"
            self._bye(call, now)
            return
        call.state = "answered"
        call.answered_at = now
        self.stats["answered"] += 1
        self.events.append(Answered(call.key))

    # ---- CANCEL and BYE ------------------------------------------------------------------------------
    def _ring_timeout(self, call: Call, now: float) -> None:
        if call.state in ("calling", "ringing") and not call.cancel_wanted:
            self._cancel(call, now, "ring timeout")

    def _cancel(self, call: Call, now: float, why: str) -> None:
        if call.cancel_wanted:
            return
        call.cancel_wanted = why
        if call.provisional:
            self._send_cancel(call, now)
        # else RFC 3261 9.1: wait for a provisional response before sending CANCEL

    def _send_cancel(self, call: Call, now: float) -> None:
        assert call.invite is not None
        invite = call.invite
        cancel = Request(method="CANCEL", uri=invite.uri)
        cancel.add("Via", invite.get_all("Via")[0])
        for route in invite.get_all("Route"):
            cancel.add("Route", route)
        cancel.add("Max-Forwards", "70")
        for name in ("From", "To", "Call-ID"):
            cancel.add(name, invite.get(name) or "")
        cancel.add("CSeq", f"{call.cseq} CANCEL")
        cancel.add("User-Agent", self.s.user_agent)
        call.cancel_sent = True
        self._start_tx(cancel, self.trunk, call, "cancel", now)
        # RFC 3261 9.1: without a final response 64*T1 after the CANCEL, the INVITE is given up.
        self._at(now + 64 * self.s.t1, partial(self._cancel_gave_up, call))

    def _cancel_gave_up(self, call: Call, now: float) -> None:
        if call.state in ("calling", "ringing"):
            if call.invite_tx is not None:
                self.transactions.pop(call.invite_tx.key, None)
                self.owners.pop(call.invite_tx.key, None)
            self._end(call, "no_answer", None, now, f"{call.cancel_wanted}; no final response to CANCEL")

    def _bye(self, call: Call, now: float, auth: tuple[str, str] | None = None) -> None:
        assert call.dialog is not None
        call.state = "ending"
        bye = call.dialog.request("BYE", self._via())
        bye.add("User-Agent", self.s.user_agent)
        if auth:
            bye.add(*auth)
        self._start_tx(bye, self._dest_of(call.dialog.next_hop()), call, "bye", now)

    def _on_bye_response(self, call: Call, resp: Response, now: float) -> None:
        if resp.code in (401, 407) and not call.bye_auth_tried and self.s.username and self.s.password:
            call.bye_auth_tried = True
            assert call.dialog is not None
            try:
                value = authorization(
                    resp.get("WWW-Authenticate" if resp.code == 401 else "Proxy-Authenticate") or "",
                    username=self.s.username,
                    password=self.s.password,
                    method="BYE",
                    uri=call.dialog._uri_and_routes()[0],
                )
            except AuthError:
                value = ""
            if value:
                self._bye(call, now, ("Authorization" if resp.code == 401 else "Proxy-Authorization", value))
                return
        self._end(call, call.outcome or "answered", call.final_code, now, call.detail)

    # ---- requests from the far end ----------------------------------------------------------------------
    def _on_request(self, req: Request, source: Address, now: float) -> None:
        if req.method == "ACK":
            return
        call = self.by_call_id.get(req.call_id)
        to_tag = tag(req.get("To") or "")
        in_dialog = call is not None and call.dialog is not None and to_tag == call.from_tag
        if req.method == "BYE":
            if not in_dialog or call is None:
                self._reply(req, source, 481, "Call/Transaction Does Not Exist")
                return
            self._reply(req, source, 200, "OK")
            if call.state == "answered":
                self._end(call, "answered", call.final_code, now, "the called party hung up")
            return
        if req.method == "OPTIONS":
            resp = response_to(req, 200, "OK", to_tag=_token(8))
            resp.add("Allow", "INVITE, ACK, CANCEL, BYE, OPTIONS")
            self._send_response(resp, source)
            return
        if req.method == "INVITE" and in_dialog and call is not None:
            # A session refresh: keep the call, answer with our (unchanged) offer.
            resp = response_to(req, 200, "OK")
            resp.add("Contact", self._contact())
            resp.add("Content-Type", "application/sdp")
            resp.body = sdp.offer(self.s.local_host, 40000 + 2 * (call.key % 10000), self.s.codecs)
            self._send_response(resp, source)
            return
        if req.method == "CANCEL" or in_dialog:
            self._reply(
                req, source, 481 if req.method == "CANCEL" else 200, "OK" if in_dialog else "No Such Call"
            )
            return
        self._reply(req, source, 405, "Method Not Allowed")

    def _reply(self, req: Request, source: Address, code: int, reason: str) -> None:
        resp = response_to(req, code, reason, to_tag=_token(8) if code >= 200 else None)
        if code == 405:
            resp.add("Allow", "INVITE, ACK, CANCEL, BYE, OPTIONS")
        self._send_response(resp, source)

    def _send_response(self, resp: Response, source: Address) -> None:
        resp.add("Server", self.s.user_agent)
        via = resp.get_all("Via")
        dest = source
        if via and not self.reliable:
            rport = param(via[0], "rport")
            if rport and rport.isdigit():
                dest = (param(via[0], "received") or source[0], int(rport))
        self.outbox.append((resp.serialize(), dest))

    # ---- the end of a call ---------------------------------------------------------------------------
    def _end(self, call: Call, outcome: str, code: int | None, now: float, detail: str) -> None:
        if call.state == "ended":
            return
        call.state = "ended"
        self.calls.pop(call.key, None)
        ring_end = call.answered_at if call.answered_at is not None else now
        ring_s = max(ring_end - call.sent_at, 0.0) if call.sent_at is not None else 0.0
        self.events.append(Ended(call.key, outcome, round(ring_s, 3), code, call.call_id, detail))
        self.stats["ended"] += 1
        # Keep the call findable for 64*T1: a late 2xx still gets its ACK, a late BYE its 200.
        self._at(now + 64 * self.s.t1, partial(self._forget, call))
        if self.pending:
            self._release(now)

    def _forget(self, call: Call, now: float) -> None:
        if self.by_call_id.get(call.call_id) is call:
            del self.by_call_id[call.call_id]


def _token(nbytes: int) -> str:
    return secrets.token_hex(nbytes)

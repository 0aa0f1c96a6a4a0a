"""Client transactions (RFC 3261 section 17.1): retransmission and timeout timers, no sockets.

A transaction is fed responses (`receive`) and timer ticks (`tick`) with the current monotonic time and
leaves the bytes it wants sent in `outbox`; `deadline` says when it next wants a tick. Over a reliable
transport (TCP) nothing is retransmitted and the wait timers D and K are zero.

    INVITE      Timer A (retransmit, T1 doubling), B (64*T1 without any response), D (32 s absorbing
                retransmitted final responses, each answered with the same ACK)
    non-INVITE  Timer E (retransmit, T1 doubling up to T2; T2 once a provisional arrived),
                F (64*T1 without a final response), K (T4 absorbing retransmissions)
"""

from __future__ import annotations

from .message import Request, Response

T1 = 0.5
T2 = 4.0
T4 = 5.0


class ClientTransaction:
    """What both kinds share: the request, its branch, the outbox and the state."""

    def __init__(self, request: Request, reliable: bool, now: float):
        self.request = request
        self.key = (request.branch, request.method)
        self.reliable = reliable
        self.wire = request.serialize()
        self.outbox: list[bytes] = [self.wire]
        self.state = "calling" if request.method == "INVITE" else "trying"
        self.started = now
        self.final: Response | None = None
        self.dest: tuple[str, int] = ("", 0)  # where the transport sends it (set by the user agent)

    @property
    def done(self) -> bool:
        return self.state == "terminated"


class InviteClientTransaction(ClientTransaction):
    def __init__(self, request: Request, reliable: bool, now: float, t1: float = T1):
        super().__init__(request, reliable, now)
        self.t1 = t1
        self.interval = t1
        self.timer_a: float | None = None if reliable else now + t1
        self.timer_b: float | None = now + 64 * t1
        self.timer_d: float | None = None
        self.ack: bytes | None = None

    @property
    def deadline(self) -> float | None:
        times = [t for t in (self.timer_a, self.timer_b, self.timer_d) if t is not None]
        return min(times) if times else None

    def receive(self, resp: Response, now: float) -> Response | None:
        """Take a response; return it when the call (the transaction user) should see it."""
        if self.state in ("calling", "proceeding"):
            self.timer_a = None
            if resp.code < 200:
                self.state = "proceeding"
                self.timer_b = None  # a provisional answer: the ring timeout (CANCEL) governs from here
                return resp
            self.final = resp
            self.timer_b = None
            if resp.code < 300:
                # RFC 6026 "accepted": 2xx retransmissions still reach the call, which repeats its ACK.
                self.state = "accepted"
                self.timer_d = now + 64 * self.t1
                return resp
            self.state = "completed"
            self.ack = self._ack_for(resp).serialize()
            self.outbox.append(self.ack)
            self.timer_d = now + (0.0 if self.reliable else 64 * self.t1)
            return resp
        if self.state == "accepted" and 200 <= resp.code < 300:
            return resp
        if self.state == "completed" and resp.code >= 300 and self.ack is not None:
            self.outbox.append(self.ack)  # our ACK was lost: the final response came again
        return None

    def tick(self, now: float) -> bool:
        """Advance the timers; True when the transaction timed out (Timer B)."""
        if self.timer_a is not None and now >= self.timer_a and self.state == "calling":
            self.outbox.append(self.wire)
            self.interval *= 2
            self.timer_a = now + self.interval
        if self.timer_b is not None and now >= self.timer_b:
            self.state = "terminated"
            self.timer_a = self.timer_b = self.timer_d = None
            return True
        if self.timer_d is not None and now >= self.timer_d:
            self.state = "terminated"
            self.timer_a = self.timer_b = self.timer_d = None
        return False

    def _ack_for(self, resp: Response) -> Request:
        """The ACK of a non-2xx final response: same branch, same Route set, the response's To."""
        req = self.request
        ack = Request(method="ACK", uri=req.uri)
        ack.add("Via", req.get_all("Via")[0])
        for name in ("Route",):
            for value in req.get_all(name):
                ack.add(name, value)
        ack.add("Max-Forwards", "70")
        ack.add("From", req.get("From") or "")
        ack.add("To", resp.get("To") or req.get("To") or "")
        ack.add("Call-ID", req.call_id)
        ack.add("CSeq", f"{req.cseq[0]} ACK")
        return ack


class NonInviteClientTransaction(ClientTransaction):
    def __init__(self, request: Request, reliable: bool, now: float, t1: float = T1):
        super().__init__(request, reliable, now)
        self.t1 = t1
        self.interval = t1
        self.timer_e: float | None = None if reliable else now + t1
        self.timer_f: float | None = now + 64 * t1
        self.timer_k: float | None = None

    @property
    def deadline(self) -> float | None:
        times = [t for t in (self.timer_e, self.timer_f, self.timer_k) if t is not None]
        return min(times) if times else None

    def receive(self, resp: Response, now: float) -> Response | None:
        if self.state in ("trying", "proceeding"):
            if resp.code < 200:
                self.state = "proceeding"
                return resp
            self.final = resp
            self.state = "completed"
            self.timer_e = self.timer_f = None
            self.timer_k = now + (0.0 if self.reliable else T4)
            return resp
        return None

    def tick(self, now: float) -> bool:
        if self.timer_e is not None and now >= self.timer_e:
            self.outbox.append(self.wire)
            self.interval = T2 if self.state == "proceeding" else min(self.interval * 2, T2)
            self.timer_e = now + self.interval
        if self.timer_f is not None and now >= self.timer_f:
            self.state = "terminated"
            self.timer_e = self.timer_f = self.timer_k = None
            return True
        if self.timer_k is not None and now >= self.timer_k:
            self.state = "terminated"
            self.timer_k = None
        return False


def new_transaction(
    request: Request, reliable: bool, now: float, t1: float = T1
) -> InviteClientTransaction | NonInviteClientTransaction:
    if request.method == "INVITE":
        return InviteClientTransaction(request, reliable, now, t1)
    return NonInviteClientTransaction(request, reliable, now, t1)

"""Dialogs (RFC 3261 section 12) seen from the calling side, and how a final response becomes an outcome.

A dialog is made by a 2xx to our INVITE. Its route set is the 2xx's Record-Route headers in reverse
order; in-dialog requests (the ACK of the 2xx, BYE) go to the first route when there is one (a proxy
such as Kamailio that asked to stay in the path), else straight to the remote target (the 2xx's Contact).
Loose routing (`;lr`) keeps the remote target as the Request-URI; a strict router takes its place.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .message import Request, Response, addr_uri, parse_uri, tag


@dataclass
class Dialog:
    call_id: str
    local_from: str  # our From header value, with our tag
    remote_to: str  # their To header value, with their tag
    remote_target: str  # URI from the 2xx's Contact
    route_set: list[str] = field(default_factory=list)  # Route values, first hop first
    cseq: int = 1

    @property
    def remote_tag(self) -> str | None:
        return tag(self.remote_to)

    @classmethod
    def from_2xx(cls, invite: Request, resp: Response) -> Dialog:
        contacts = resp.get_all("Contact")
        return cls(
            call_id=invite.call_id,
            local_from=invite.get("From") or "",
            remote_to=resp.get("To") or "",
            remote_target=addr_uri(contacts[0]) if contacts else invite.uri,
            route_set=list(reversed(resp.get_all("Record-Route"))),
            cseq=invite.cseq[0],
        )

    def _uri_and_routes(self) -> tuple[str, list[str]]:
        if self.route_set and not parse_uri(addr_uri(self.route_set[0])).loose:
            # A strict router: it becomes the Request-URI, the remote target goes last in Route.
            return addr_uri(self.route_set[0]), [*self.route_set[1:], f"<{self.remote_target}>"]
        return self.remote_target, list(self.route_set)

    def next_hop(self) -> str:
        """The URI whose host and port the request is sent to."""
        return addr_uri(self.route_set[0]) if self.route_set else self.remote_target

    def request(self, method: str, via: str, cseq: int | None = None) -> Request:
        """An in-dialog request; BYE takes the next CSeq, ACK reuses the INVITE's (pass `cseq`)."""
        if cseq is None:
            self.cseq += 1
            cseq = self.cseq
        uri, routes = self._uri_and_routes()
        req = Request(method=method, uri=uri)
        req.add("Via", via)
        for route in routes:
            req.add("Route", route)
        req.add("Max-Forwards", "70")
        req.add("From", self.local_from)
        req.add("To", self.remote_to)
        req.add("Call-ID", self.call_id)
        req.add("CSeq", f"{cseq} {method}")
        return req


# Final response codes the issue maps to attempt outcomes; other 4xx/6xx and all 5xx are failed.
_OUTCOMES = {
    486: "busy",
    600: "busy",
    404: "invalid",
    484: "invalid",
    604: "invalid",
    480: "no_answer",
    408: "no_answer",
    487: "no_answer",
}


def outcome_for(code: int) -> str:
    """The attempt outcome for a final response to our INVITE."""
    if 200 <= code < 300:
        return "answered"
    return _OUTCOMES.get(code, "failed")

"""SIP messages (RFC 3261 section 7): parse bytes into a Request or Response and serialize them back.

Headers keep their order and are stored under their canonical long names, so compact forms
(`v`, `f`, `t`, `i`, `m`, `l`, ...) read the same as the long ones. Only what a calling user agent needs
is modelled: the start line, headers as (name, value) pairs and an opaque body.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

COMPACT = {
    "v": "Via",
    "f": "From",
    "t": "To",
    "i": "Call-ID",
    "m": "Contact",
    "l": "Content-Length",
    "c": "Content-Type",
    "k": "Supported",
    "s": "Subject",
    "e": "Content-Encoding",
}
_CANONICAL = {
    name.lower(): name
    for name in (
        "Via",
        "From",
        "To",
        "Call-ID",
        "CSeq",
        "Contact",
        "Content-Length",
        "Content-Type",
        "Max-Forwards",
        "Route",
        "Record-Route",
        "WWW-Authenticate",
        "Proxy-Authenticate",
        "Authorization",
        "Proxy-Authorization",
        "User-Agent",
        "Server",
        "Allow",
        "Supported",
        "Retry-After",
        "Reason",
        "Subject",
        "Content-Encoding",
        "Accept",
    )
}
# Headers whose values may be comma-joined lists on one line (never the auth headers, whose params hold commas).
_LIST_HEADERS = {"Via", "Route", "Record-Route", "Contact"}


class ParseError(ValueError):
    """Bytes that are not a SIP message we can use; the transport drops them."""


def canonical(name: str) -> str:
    low = name.strip().lower()
    if low in COMPACT:
        return COMPACT[low]
    return _CANONICAL.get(low) or "-".join(part.capitalize() for part in low.split("-"))


@dataclass
class Message:
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""

    def get(self, name: str) -> str | None:
        """The first value of a header (None if absent)."""
        for key, value in self.headers:
            if key == name:
                return value
        return None

    def get_all(self, name: str) -> list[str]:
        """Every value of a header, comma-separated lists split for Via/Route/Record-Route/Contact."""
        values = [value for key, value in self.headers if key == name]
        if name in _LIST_HEADERS:
            return [part for value in values for part in split_list(value)]
        return values

    def add(self, name: str, value: str) -> None:
        self.headers.append((name, value))

    def set(self, name: str, value: str) -> None:
        self.headers = [(k, v) for k, v in self.headers if k != name]
        self.headers.append((name, value))

    @property
    def call_id(self) -> str:
        return self.get("Call-ID") or ""

    @property
    def cseq(self) -> tuple[int, str]:
        raw = (self.get("CSeq") or "0 ?").split()
        try:
            return int(raw[0]), raw[1].upper()
        except (IndexError, ValueError) as exc:
            raise ParseError(f"bad CSeq {raw!r}") from exc

    @property
    def branch(self) -> str:
        via = self.get_all("Via")
        return param(via[0], "branch") or "" if via else ""

    def _head_and_body(self, start: str) -> bytes:
        lines = [start]
        lines.extend(f"{k}: {v}" for k, v in self.headers if k != "Content-Length")
        lines.append(f"Content-Length: {len(self.body)}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode() + self.body


@dataclass
class Request(Message):
    method: str = ""
    uri: str = ""

    def serialize(self) -> bytes:
        return self._head_and_body(f"{self.method} {self.uri} SIP/2.0")


@dataclass
class Response(Message):
    code: int = 0
    reason: str = ""

    def serialize(self) -> bytes:
        return self._head_and_body(f"SIP/2.0 {self.code} {self.reason}")


def parse(data: bytes) -> Request | Response:
    """Parse one whole message (a datagram, or one framed from a TCP stream)."""
    head, sep, body = data.partition(b"\r\n\r\n")
    if not sep:
        head, sep, body = data.partition(b"\n\n")
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ParseError("headers are not UTF-8") from exc
    lines = text.replace("\r\n", "\n").split("\n")
    while lines and not lines[0].strip():
        lines.pop(0)  # keep-alive CRLFs before a message
    if not lines:
        raise ParseError("empty message")
    start = lines[0].split(" ", 2)
    headers: list[tuple[str, str]] = []
    for line in lines[1:]:
        if line[:1] in (" ", "\t") and headers:  # folded continuation line
            name, value = headers[-1]
            headers[-1] = (name, value + " " + line.strip())
            continue
        name, colon, value = line.partition(":")
        if not colon:
            raise ParseError(f"bad header line {line[:40]!r}")
        headers.append((canonical(name), value.strip()))
    length = next((v for k, v in headers if k == "Content-Length"), None)
    if length is not None and length.strip().isdigit():
        body = body[: int(length)]
    if len(start) < 3 and not (len(start) == 2 and start[0] == "SIP/2.0"):
        raise ParseError(f"bad start line {lines[0][:60]!r}")
    if start[0] == "SIP/2.0":
        if not start[1].isdigit():
            raise ParseError(f"bad status line {lines[0][:60]!r}")
        return Response(
            headers=headers, body=body, code=int(start[1]), reason=start[2] if len(start) > 2 else ""
        )
    if start[2] != "SIP/2.0":
        raise ParseError(f"bad request line {lines[0][:60]!r}")
    return Request(headers=headers, body=body, method=start[0].upper(), uri=start[1])


def split_list(value: str) -> list[str]:
    """Split a comma-joined header value, ignoring commas inside quotes and <...>."""
    parts: list[str] = []
    depth = 0
    quoted = False
    current: list[str] = []
    for ch in value:
        if ch == '"':
            quoted = not quoted
        elif not quoted and ch == "<":
            depth += 1
        elif not quoted and ch == ">":
            depth -= 1
        if ch == "," and not quoted and depth == 0:
            parts.append("".join(current).strip())
            current = []
        else:
            current.append(ch)
    if "".join(current).strip():
        parts.append("".join(current).strip())
    return parts


def param(value: str, name: str) -> str | None:
    """A `;name=value` parameter of a header value (outside <...>); '' for a flag without a value."""
    tail = value.rsplit(">", 1)[1] if ">" in value else value
    for part in tail.split(";")[1:]:
        key, eq, val = part.partition("=")
        if key.strip().lower() == name:
            return val.strip().strip('"') if eq else ""
    return None


def tag(value: str) -> str | None:
    """The tag parameter of a From or To header."""
    return param(value, "tag")


def addr_uri(value: str) -> str:
    """The URI inside a name-addr (`"Bob" <sip:bob@h>;tag=1`) or of a bare addr-spec."""
    if "<" in value:
        return value.split("<", 1)[1].split(">", 1)[0].strip()
    return value.split(";", 1)[0].strip()


_URI = re.compile(
    r"^sips?:(?:(?P<user>[^@]*)@)?(?P<host>\[[^\]]+\]|[^:;?>]+)(?::(?P<port>\d+))?(?P<params>[^?>]*)"
)


@dataclass(frozen=True)
class Uri:
    user: str | None
    host: str
    port: int | None
    params: dict[str, str]

    @property
    def loose(self) -> bool:
        return "lr" in self.params


def parse_uri(uri: str) -> Uri:
    match = _URI.match(uri.strip())
    if not match:
        raise ParseError(f"bad SIP URI {uri[:60]!r}")
    params: dict[str, str] = {}
    for part in match.group("params").split(";")[1:]:
        key, _, val = part.partition("=")
        params[key.strip().lower()] = val.strip()
    port = match.group("port")
    return Uri(match.group("user"), match.group("host").strip("[]"), int(port) if port else None, params)


def auth_params(value: str) -> tuple[str, dict[str, str]]:
    """`Digest realm="x", nonce="y", qop="auth"` -> ("digest", {realm: x, ...})."""
    scheme, _, rest = value.strip().partition(" ")
    params = {}
    for match in re.finditer(r'([A-Za-z0-9_-]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^,\s]+)', rest):
        raw = match.group(2)
        params[match.group(1).lower()] = raw[1:-1] if raw.startswith('"') else raw
    return scheme.lower(), params


def response_to(request: Request, code: int, reason: str, to_tag: str | None = None) -> Response:
    """A response to a request we received (we answer BYE and OPTIONS from the far end)."""
    resp = Response(code=code, reason=reason)
    for name in ("Via", "From", "To", "Call-ID", "CSeq"):
        for key, value in request.headers:
            if key == name:
                if name == "To" and to_tag and tag(value) is None:
                    value = f"{value};tag={to_tag}"
                resp.add(name, value)
    return resp

"""Digest authentication (RFC 2617 / RFC 3261 section 22), MD5 with qop=auth, as trunks ask for it.

The password only ever enters `digest_response`; what goes on the wire is the hash.
"""

from __future__ import annotations

import hashlib
import secrets

from .message import auth_params


class Secret:
    """A password that does not print: repr/str show asterisks so it cannot leak into logs or output."""

    __slots__ = ("_value",)

    def __init__(self, value: str):
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('********')"

    __str__ = __repr__

    def __bool__(self) -> bool:
        return bool(self._value)


class AuthError(ValueError):
    """A challenge we cannot answer (an algorithm other than MD5, or no realm/nonce)."""


def _md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()


def digest_response(
    *,
    username: str,
    password: Secret,
    realm: str,
    method: str,
    uri: str,
    nonce: str,
    qop: str | None,
    cnonce: str,
    nc: str,
) -> str:
    ha1 = _md5(f"{username}:{realm}:{password.reveal()}")
    ha2 = _md5(f"{method}:{uri}")
    if qop:
        return _md5(f"{ha1}:{nonce}:{nc}:{cnonce}:{qop}:{ha2}")
    return _md5(f"{ha1}:{nonce}:{ha2}")


def authorization(
    challenge: str, *, username: str, password: Secret, method: str, uri: str, cnonce: str | None = None
) -> str:
    """The Authorization/Proxy-Authorization value answering a WWW-/Proxy-Authenticate challenge."""
    scheme, params = auth_params(challenge)
    if scheme != "digest":
        raise AuthError(f"the trunk asks for {scheme!r} authentication; only Digest is supported")
    algorithm = params.get("algorithm", "MD5")
    if algorithm.upper() != "MD5":
        raise AuthError(f"the trunk asks for digest algorithm {algorithm}; only MD5 is supported")
    realm, nonce = params.get("realm"), params.get("nonce")
    if realm is None or nonce is None:
        raise AuthError("the trunk's challenge has no realm or nonce")
    offered = [q.strip() for q in params.get("qop", "").split(",") if q.strip()]
    qop = "auth" if "auth" in offered else None
    if offered and qop is None:
        raise AuthError(f"the trunk asks for qop={params['qop']}; only qop=auth is supported")
    cnonce = cnonce or secrets.token_hex(8)
    nc = "00000001"
    response = digest_response(
        username=username,
        password=password,
        realm=realm,
        method=method,
        uri=uri,
        nonce=nonce,
        qop=qop,
        cnonce=cnonce,
        nc=nc,
    )
    parts = [
        f'username="{username}"',
        f'realm="{realm}"',
        f'nonce="{nonce}"',
        f'uri="{uri}"',
        f'response="{response}"',
        "algorithm=MD5",
    ]
    if qop:
        parts += [f'cnonce="{cnonce}"', f"qop={qop}", f"nc={nc}"]
    if "opaque" in params:
        parts.append(f'opaque="{params["opaque"]}"')
    return "Digest " + ", ".join(parts)

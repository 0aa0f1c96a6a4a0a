"""TRUNK.yaml: where the carrier's SIP trunk is and how to use it. The password is only referenced.

    host: sip.carrier.example       # required
    port: 5060
    transport: udp                  # udp | tcp
    from_domain: acme.example       # the host part of our From URI (default: host)
    username: acme                  # digest user (omit when the trunk authenticates by IP)
    password_env: CCTOOL_TRUNK_PASSWORD   # or password_file: /etc/cctool/trunk.pw (mode 0600)
    max_channels: 30                # concurrent calls the trunk allows
    max_cps: 5                      # new calls per second it allows
    ring_timeout: 25                # seconds before an unanswered call is cancelled (or 25s, 1m)
    codecs: [PCMU, PCMA, telephone-event]
    bind_address: 0.0.0.0           # local address (and bind_port, default 0 = any free port)

An inline `password:` is refused: a YAML file is copied, mailed and committed, a reference is not.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from ..errors import UserError
from ..timeutil import parse_duration
from .auth import Secret
from .sdp import CODECS

_KNOWN = {
    "host",
    "port",
    "transport",
    "from_domain",
    "username",
    "password_env",
    "password_file",
    "max_channels",
    "max_cps",
    "ring_timeout",
    "codecs",
    "bind_address",
    "bind_port",
    "name",
}


@dataclass(frozen=True)
class TrunkConfig:
    host: str
    port: int = 5060
    transport: str = "udp"
    from_domain: str = ""
    username: str | None = None
    password: Secret | None = None
    max_channels: int | None = None
    max_cps: float | None = None
    ring_timeout: float = 25.0
    codecs: tuple[str, ...] = ("PCMU", "PCMA", "telephone-event")
    bind_address: str = "0.0.0.0"
    bind_port: int = 0
    name: str = "sip"
    source: str = "TRUNK.yaml"  # where it was read from, for error messages

    @property
    def domain(self) -> str:
        return self.from_domain or self.host

    def describe(self) -> dict[str, Any]:
        """What may be printed or recorded about the trunk: everything but the password."""
        return {
            "name": self.name,
            "host": self.host,
            "port": self.port,
            "transport": self.transport,
            "from_domain": self.domain,
            "username": self.username,
            "password": "set" if self.password else "none",
            "max_channels": self.max_channels,
            "max_cps": self.max_cps,
            "ring_timeout": self.ring_timeout,
            "codecs": list(self.codecs),
            "bind": f"{self.bind_address}:{self.bind_port}",
        }


def load(path: Path | str, environ: dict[str, str] | None = None) -> TrunkConfig:
    """Read and check a TRUNK.yaml; every problem is one UserError naming the file and the field."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UserError(f"{path}: no such trunk file") from None
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise UserError(f"{path}: cannot read the trunk file ({type(exc).__name__})") from None
    if not isinstance(data, dict):
        raise UserError(f"{path}: a trunk file is a YAML mapping (host:, port:, ...)")
    if "name" not in data:
        data = {**data, "name": path.name}  # dial_runs.trunk / attempts.trunk: the trunk file name
    return from_mapping(data, source=str(path), base=path.parent, environ=environ)


def from_mapping(
    data: dict[str, Any],
    source: str = "TRUNK.yaml",
    base: Path | None = None,
    environ: dict[str, str] | None = None,
) -> TrunkConfig:
    env = os.environ if environ is None else environ
    if "password" in data:
        raise UserError(
            f"{source}: an inline 'password:' is refused; use 'password_env: VAR' or "
            "'password_file: PATH' (a file of mode 0600)"
        )
    unknown = sorted(set(data) - _KNOWN)
    if unknown:
        raise UserError(f"{source}: unknown setting {unknown[0]!r} (known: {', '.join(sorted(_KNOWN))})")
    host = data.get("host")
    if not isinstance(host, str) or not host.strip():
        raise UserError(f"{source}: 'host' is required (the trunk's host name or address)")
    transport = str(data.get("transport", "udp")).lower()
    if transport not in ("udp", "tcp"):
        raise UserError(f"{source}: transport must be udp or tcp, not {transport!r}")
    codecs = data.get("codecs", ["PCMU", "PCMA", "telephone-event"])
    if not isinstance(codecs, list) or not codecs:
        raise UserError(f"{source}: codecs is a list such as [PCMU, PCMA, telephone-event]")
    for codec in codecs:
        if codec not in CODECS:
            raise UserError(f"{source}: unknown codec {codec!r} (offered: {', '.join(CODECS)})")
    if not any(c != "telephone-event" for c in codecs):
        raise UserError(f"{source}: codecs needs an audio codec (PCMU or PCMA)")
    username = data.get("username")
    password = _password(data, source, base, env)
    if password is not None and not username:
        raise UserError(f"{source}: a password is given but no 'username'")
    return TrunkConfig(
        host=host.strip(),
        port=_number(data, "port", 5060, int, source, low=1, high=65535),
        transport=transport,
        from_domain=str(data.get("from_domain") or ""),
        username=str(username) if username else None,
        password=password,
        max_channels=_optional(data, "max_channels", int, source),
        max_cps=_optional(data, "max_cps", float, source),
        ring_timeout=_number(
            _seconds(data, "ring_timeout", source), "ring_timeout", 25.0, float, source, low=1, high=600
        ),
        codecs=tuple(codecs),
        bind_address=str(data.get("bind_address", "0.0.0.0")),
        bind_port=_number(data, "bind_port", 0, int, source, low=0, high=65535),
        name=str(data.get("name") or "sip"),
        source=source,
    )


def _password(data: dict[str, Any], source: str, base: Path | None, env: Any) -> Secret | None:
    if "password_env" in data and "password_file" in data:
        raise UserError(f"{source}: give either password_env or password_file, not both")
    if "password_env" in data:
        var = str(data["password_env"])
        if var not in env:
            raise UserError(f"{source}: password_env names ${var}, which is not set in the environment")
        return Secret(env[var])
    if "password_file" in data:
        pw_path = Path(str(data["password_file"])).expanduser()
        if base is not None and not pw_path.is_absolute():
            pw_path = base / pw_path
        try:
            mode = stat.S_IMODE(pw_path.stat().st_mode)
        except OSError:
            raise UserError(f"{source}: password_file {pw_path} cannot be read") from None
        if mode & 0o077:
            raise UserError(
                f"{source}: password_file {pw_path} has mode {mode:04o}; make it private: chmod 600 {pw_path}"
            )
        try:
            text = pw_path.read_text(encoding="utf-8")
        except OSError:
            raise UserError(f"{source}: password_file {pw_path} cannot be read") from None
        return Secret(text.strip("\r\n"))
    return None


def _number(
    data: dict[str, Any], key: str, default: Any, kind: type, source: str, low: float, high: float
) -> Any:
    value = data.get(key, default)
    try:
        number = kind(value)
    except (TypeError, ValueError):
        raise UserError(f"{source}: {key} must be a number, not {value!r}") from None
    if isinstance(value, bool) or not low <= number <= high:
        raise UserError(f"{source}: {key} must be between {low:g} and {high:g}, not {value!r}")
    return number


def _seconds(data: dict[str, Any], key: str, source: str) -> dict[str, Any]:
    """`data` with `key` in seconds: a number, or a duration as campaign files write it (25s, 1m)."""
    value = data.get(key)
    if not isinstance(value, str) or not value.strip() or value.strip()[-1].isdigit():
        return data
    try:
        return {**data, key: parse_duration(value.strip()).total_seconds()}
    except ValueError as exc:
        raise UserError(f"{source}: {key}: {exc}") from None


def _optional(data: dict[str, Any], key: str, kind: type, source: str) -> Any:
    if data.get(key) is None:
        return None
    return _number(data, key, None, kind, source, low=1, high=1_000_000)

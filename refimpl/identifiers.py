"""Identifiers: server names, user IDs, room IDs, event IDs and key IDs.

Theory of operation (``specification/appendices.rst``, "Identifier Grammar"
and "Common Identifier Format"; ``specification/rooms/v12.rst`` for room
IDs without a server part): every identifier is parsed once, at the edge,
into a frozen value whose fields are already checked, so code further in
never splits strings on ``:`` again. The grammar each parser accepts is
written in its docstring in ABNF-like notation; ``DIGIT``, ``ALPHA`` and
``HEXDIG`` are as in RFC 5234.

Lengths are counted in bytes of UTF-8, as the protocol counts them on the
wire. A string that is not an identifier of the asked kind raises
:class:`~refimpl.errors.InvalidParam` (``M_INVALID_PARAM``) naming the
reason; these parsers never raise anything else.
"""

from __future__ import annotations

import enum
import functools
import ipaddress
import re
from dataclasses import dataclass

from .errors import InvalidParam
from .keys import parse_key_id as _split_key_id
from .room_versions import EventIdFormat, RoomVersion

__all__ = [
    "MAX_IDENTIFIER_BYTES",
    "HostKind",
    "ServerName",
    "UserId",
    "RoomId",
    "EventId",
    "KeyId",
    "parse_server_name",
    "parse_user_id",
    "parse_room_id",
    "parse_event_id",
    "parse_key_id",
]

#: User, room and event IDs, sigil and server name included, may not exceed
#: this many bytes.
MAX_IDENTIFIER_BYTES = 255

_DNS_NAME = re.compile(r"[A-Za-z0-9.\-]{1,255}")
_IPV4 = re.compile(r"(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})")
_IPV6_CHARS = re.compile(r"[0-9A-Fa-f:.]{2,45}")
_PORT = re.compile(r"\d{1,5}")
_LOCALPART = re.compile(r"[a-z0-9._=\-/+]+")
_HISTORICAL_LOCALPART = re.compile(r"[\x21-\x39\x3b-\x7e]+")
# 32 hash bytes are 43 Base64 characters; the last one carries 4 bits of
# hash and 2 zero bits, so only 16 characters may end a canonical encoding.
_HASH_STANDARD = re.compile(r"[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]")
_HASH_URLSAFE = re.compile(r"[A-Za-z0-9\-_]{42}[AEIMQUYcgkosw048]")


def _fail(kind: str, text: object, reason: str) -> InvalidParam:
    return InvalidParam(f"invalid {kind} {text!r}: {reason}", identifier=text)


def _require_str(kind: str, text: object) -> str:
    if not isinstance(text, str):
        raise _fail(kind, text, "not a string")
    return text


def _check_length(kind: str, text: str) -> None:
    size = len(text.encode("utf-8", "surrogatepass"))
    if size > MAX_IDENTIFIER_BYTES:
        raise _fail(kind, text, f"{size} bytes long, the limit is {MAX_IDENTIFIER_BYTES}")


class HostKind(enum.Enum):
    DNS = "dns"
    IPV4 = "ipv4"
    IPV6 = "ipv6"


@dataclass(frozen=True)
class ServerName:
    """A parsed server name; ``str()`` gives back the text it came from."""

    host: str
    kind: HostKind
    port: int | None = None

    def __str__(self) -> str:
        host = f"[{self.host}]" if self.kind is HostKind.IPV6 else self.host
        return host if self.port is None else f"{host}:{self.port}"


def parse_server_name(text: str) -> ServerName:
    """Parse a server name.

    Grammar::

        server_name  = hostname [ ":" port ]
        port         = 1*5DIGIT              ; and 1 to 65535 in value
        hostname     = ipv4_literal / "[" ipv6_literal "]" / dns_name
        ipv4_literal = 1*3DIGIT "." 1*3DIGIT "." 1*3DIGIT "." 1*3DIGIT
        ipv6_literal = 2*45( HEXDIG / ":" / "." )  ; and a real IPv6 address
        dns_name     = 1*255( DIGIT / ALPHA / "-" / "." )

    A dotted quad whose parts are all at most 255 is an IPv4 literal; any
    other string of digits and dots is, by the grammar, a DNS name.

    Raises:
        InvalidParam: ``text`` does not match the grammar.
    """
    text = _require_str("server name", text)
    if text.startswith("["):
        close = text.find("]")
        if close < 0:
            raise _fail("server name", text, "IPv6 literal without a closing ']'")
        host, rest = text[1:close], text[close + 1 :]
        if not _IPV6_CHARS.fullmatch(host):
            raise _fail("server name", text, "IPv6 literal has characters outside hex digits, ':' and '.'")
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            raise _fail("server name", text, "not an IPv6 address") from None
        kind = HostKind.IPV6
        if rest and not rest.startswith(":"):
            raise _fail("server name", text, "unexpected text after the IPv6 literal")
        port_text = rest[1:] if rest else None
    else:
        host, colon, port_text = text.partition(":")
        if not colon:
            port_text = None
        if not _DNS_NAME.fullmatch(host):
            raise _fail("server name", text, "hostname must be 1-255 letters, digits, '-' or '.'")
        quad = _IPV4.fullmatch(host)
        kind = HostKind.IPV4 if quad and all(int(p) <= 255 for p in quad.groups()) else HostKind.DNS
    port = None
    if port_text is not None:
        if not _PORT.fullmatch(port_text) or not 1 <= int(port_text) <= 65535:
            raise _fail("server name", text, "port must be a number from 1 to 65535")
        port = int(port_text)
    return ServerName(host, kind, port)


@dataclass(frozen=True)
class UserId:
    """``@localpart:server_name``; ``historical`` marks the tolerated
    older character set, which may be read but should not be issued."""

    localpart: str
    server_name: str
    historical: bool = False

    def __str__(self) -> str:
        return f"@{self.localpart}:{self.server_name}"


def parse_user_id(text: str, *, allow_historical: bool = True) -> UserId:
    """Parse a user ID.

    Grammar::

        user_id             = "@" localpart ":" server_name   ; at most 255 bytes
        localpart           = 1*( DIGIT / %x61-7A / "-" / "." / "=" / "_" / "/" / "+" )
        historical_localpart = 1*( %x21-39 / %x3B-7E )   ; printable ASCII but ":"

    IDs whose localpart only fits the historical set exist on the network
    and must still be accepted; they come back with ``historical=True``.

    Raises:
        InvalidParam: not a user ID, too long, or historical when
            ``allow_historical`` is false.
    """
    return _parse_user_id(_require_str("user ID", text), allow_historical)


#: Every received event names its sender, and most senders recur, so parsed
#: user IDs are remembered (the values are frozen, so sharing them is safe).
#: Refusals are not cached: they raise, and lru_cache only keeps results.
@functools.lru_cache(maxsize=4096, typed=True)
def _parse_user_id(text: str, allow_historical: bool) -> UserId:
    if not text.startswith("@"):
        raise _fail("user ID", text, "must start with '@'")
    _check_length("user ID", text)
    localpart, colon, server = text[1:].partition(":")
    if not colon:
        raise _fail("user ID", text, "missing ':' before the server name")
    parse_server_name(server)
    if _LOCALPART.fullmatch(localpart):
        return UserId(localpart, server)
    if _HISTORICAL_LOCALPART.fullmatch(localpart):
        if not allow_historical:
            raise _fail("user ID", text, "localpart uses the historical character set")
        return UserId(localpart, server, historical=True)
    if not localpart:
        raise _fail("user ID", text, "empty localpart")
    raise _fail("user ID", text, "localpart has characters outside printable ASCII")


@dataclass(frozen=True)
class RoomId:
    """``!opaque:server`` (room versions 1-11) or ``!hash`` (12), where
    ``server_name`` is None."""

    opaque: str
    server_name: str | None = None

    def __str__(self) -> str:
        return f"!{self.opaque}" if self.server_name is None else f"!{self.opaque}:{self.server_name}"


def _opaque_with_server(kind: str, sigil: str, text: str) -> tuple[str, str]:
    if not text.startswith(sigil):
        raise _fail(kind, text, f"must start with {sigil!r}")
    _check_length(kind, text)
    opaque, colon, server = text[1:].partition(":")
    if not colon:
        raise _fail(kind, text, "missing ':' before the server name")
    if not opaque or "\x00" in opaque:
        raise _fail(kind, text, "the part before the server name must be non-empty and hold no NUL")
    parse_server_name(server)
    return opaque, server


def parse_room_id(text: str, room_version: RoomVersion | None = None) -> RoomId:
    """Parse a room ID, in the form ``room_version`` uses (either if None).

    Grammar::

        room_id       = "!" opaque ":" server_name     ; before v12, at most 255 bytes
                      / "!" 43urlsafe_b64              ; v12: hash of the create event
        opaque        = 1*( any character but ":" and NUL )
        urlsafe_b64   = ALPHA / DIGIT / "-" / "_"

    Raises:
        InvalidParam: ``text`` is not a room ID of that form.
    """
    text = _require_str("room ID", text)
    hashed = ":" not in text if room_version is None else room_version.room_id_from_create_event
    if not hashed:
        return RoomId(*_opaque_with_server("room ID", "!", text))
    if not text.startswith("!") or not _HASH_URLSAFE.fullmatch(text[1:]):
        raise _fail("room ID", text, "expected '!' and 43 URL-safe Base64 characters of a SHA-256 hash")
    return RoomId(text[1:])


@dataclass(frozen=True)
class EventId:
    """``$opaque:server`` (v1-v2) or ``$hash`` (v3 on), where
    ``server_name`` is None."""

    opaque: str
    server_name: str | None = None

    def __str__(self) -> str:
        return f"${self.opaque}" if self.server_name is None else f"${self.opaque}:{self.server_name}"


def parse_event_id(text: str, room_version: RoomVersion) -> EventId:
    """Parse an event ID in the format ``room_version`` uses.

    Grammar::

        event_id = "$" opaque ":" server_name   ; v1-v2, at most 255 bytes
                 / "$" 43std_b64                ; v3: reference hash, standard alphabet
                 / "$" 43urlsafe_b64            ; v4 and later: URL-safe alphabet
        std_b64  = ALPHA / DIGIT / "+" / "/"

    Raises:
        InvalidParam: ``text`` is not an event ID of that room version.
    """
    text = _require_str("event ID", text)
    fmt = room_version.event_id_format
    if fmt is EventIdFormat.ORIGIN_ASSIGNED:
        return EventId(*_opaque_with_server("event ID", "$", text))
    pattern = _HASH_STANDARD if fmt is EventIdFormat.REFERENCE_HASH_STANDARD else _HASH_URLSAFE
    if not text.startswith("$") or not pattern.fullmatch(text[1:]):
        alphabet = "standard" if pattern is _HASH_STANDARD else "URL-safe"
        raise _fail(
            "event ID",
            text,
            f"room version {room_version.identifier} expects '$' and 43 {alphabet} Base64 characters",
        )
    return EventId(text[1:])


@dataclass(frozen=True)
class KeyId:
    algorithm: str
    version: str

    def __str__(self) -> str:
        return f"{self.algorithm}:{self.version}"


def parse_key_id(text: str) -> KeyId:
    """Parse a signing key ID.

    Grammar::

        key_id    = algorithm ":" version
        algorithm = 1*( %x61-7A / DIGIT / "_" )
        version   = 1*( ALPHA / DIGIT / "_" )

    Raises:
        InvalidParam: ``text`` does not match the grammar.
    """
    return KeyId(*_split_key_id(_require_str("key ID", text)))

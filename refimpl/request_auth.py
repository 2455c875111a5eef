"""Request authentication: the ``X-Matrix`` authorization scheme.

Theory of operation (``specification/server-server-api.rst``, "Request
Authentication"): every federation request carries a signature by the
sending server over a JSON object describing the request::

    {"method": "PUT", "uri": "/_matrix/federation/v1/send/1",
     "origin": "example.org", "destination": "remote.example.com",
     "content": {...}}                        # content only when there is a body

``uri`` is the request target exactly as sent: path and query string,
percent-encoding untouched. The signature travels in an HTTP header::

    Authorization: X-Matrix origin="example.org",destination="remote.example.com",key="ed25519:1",sig="..."

whose syntax is RFC 9110's ``credentials`` with an ``auth-param`` list::

    credentials   = auth-scheme 1*SP [ auth-param *( OWS "," OWS [ auth-param ] ) ]
    auth-scheme   = token                  ; "X-Matrix", any letter case
    auth-param    = token BWS "=" BWS ( token / quoted-string )
    token         = 1*tchar
    tchar         = "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "."
                  / "^" / "_" / "`" / "|" / "~" / DIGIT / ALPHA
    quoted-string = DQUOTE *( qdtext / "\\" ( HTAB / SP / VCHAR / obs-text ) ) DQUOTE
    qdtext        = HTAB / SP / "!" / %x23-5B / %x5D-7E / obs-text
    obs-text      = %x80-FF
    OWS = BWS     = *( SP / HTAB )

Parameter names are case-insensitive and may not repeat; empty list
elements are skipped, as RFC 9110 asks of recipients; unknown parameters
are ignored. For compatibility with older senders (the specification asks
this of recipients) an unquoted value may also contain ``:``.

Every failure is :class:`~refimpl.errors.Unauthorized` (401
``M_UNAUTHORIZED``): missing or malformed header, a ``destination`` that is
not us, an unknown key, a bad signature. Whether the origin may talk to us
at all (server ACLs, 403 ``M_FORBIDDEN``) is decided after this, elsewhere.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Union

from .errors import InvalidParam, Unauthorized
from .identifiers import parse_key_id, parse_server_name
from .keys import SigningKey, VerifyKey, key_lookup
from .signing import sign_json, verify_json
from .unpadded_base64 import Base64Error, decode_base64

__all__ = [
    "SCHEME",
    "XMatrixAuthorization",
    "KeyLookup",
    "request_object",
    "sign_request",
    "parse_authorization",
    "verify_request",
]

SCHEME = "X-Matrix"

#: The origin's public keys: either ``{server: {key_id: VerifyKey}}`` or a
#: :data:`refimpl.keys.KeyLookup`.
KeyLookup = Union[Mapping[str, Mapping[str, VerifyKey]], Callable[[str, str], Union[VerifyKey, None]]]

_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]*")
_UNQUOTED_VALUE = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z:]*")
_QUOTED_STRING = re.compile(r'"((?:[^"\\\x00-\x08\x0a-\x1f\x7f]|\\[^\x00-\x08\x0a-\x1f\x7f])*)"')
_QUOTED_PAIR = re.compile(r"\\(.)")
_FORBIDDEN_CHARS = re.compile(r"[^\t\x20-\x7e\x80-\xff]")
_OWS = " \t"


@dataclass(frozen=True)
class XMatrixAuthorization:
    """The parameters of one ``X-Matrix`` header, already checked for form."""

    origin: str
    key: str
    sig: str
    destination: str | None = None

    def to_header(self) -> str:
        """The header value, written the way the specification asks senders
        to: one space after the scheme, lower-case names, quoted values."""
        params = [("origin", self.origin)]
        if self.destination is not None:
            params.append(("destination", self.destination))
        params += [("key", self.key), ("sig", self.sig)]
        return f"{SCHEME} " + ",".join(f"{name}={_quote(value)}" for name, value in params)


def _quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def request_object(
    method: str, uri: str, origin: str, destination: str, content: Any = None
) -> dict[str, Any]:
    """The JSON object whose signature authenticates a request.

    ``content`` None means the request has no body, so the member is left
    out (federation bodies are always JSON objects, never ``null``).
    """
    obj: dict[str, Any] = {"method": method, "uri": uri, "origin": origin, "destination": destination}
    if content is not None:
        obj["content"] = content
    return obj


def sign_request(
    *, method: str, uri: str, origin: str, destination: str, key: SigningKey, content: Any = None
) -> XMatrixAuthorization:
    """Sign an outgoing request as ``origin``; ``.to_header()`` gives the header.

    Raises:
        CanonicalJsonError: ``content`` cannot be written as canonical JSON.
    """
    signed = sign_json(request_object(method, uri, origin, destination, content), origin, key)
    return XMatrixAuthorization(origin, key.key_id, signed["signatures"][origin][key.key_id], destination)


class _Scanner:
    """A cursor over the header text; every complaint is Unauthorized."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def fail(self, what: str) -> Unauthorized:
        return Unauthorized(f"malformed X-Matrix authorization: {what} at offset {self.pos}", header=self.text)

    def at_end(self) -> bool:
        return self.pos >= len(self.text)

    def peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def skip(self, chars: str) -> int:
        start = self.pos
        while self.peek() and self.peek() in chars:
            self.pos += 1
        return self.pos - start

    def run(self, pattern: re.Pattern[str]) -> str:
        match = pattern.match(self.text, self.pos)
        self.pos = match.end()
        return match.group()

    def quoted_string(self) -> str:
        match = _QUOTED_STRING.match(self.text, self.pos)
        if match is None:
            raise self.fail("unterminated quoted string")
        self.pos = match.end()
        return _QUOTED_PAIR.sub(r"\1", match.group(1))


def _raw_params(header: str) -> dict[str, str]:
    if _FORBIDDEN_CHARS.search(header):
        raise Unauthorized("X-Matrix authorization holds characters no HTTP header can carry", header=header)
    scan = _Scanner(header.strip(_OWS))
    scheme = scan.run(_TOKEN)
    if not scheme:
        raise scan.fail("missing authorization scheme")
    if scheme.lower() != SCHEME.lower():
        raise Unauthorized(f"authorization scheme {scheme!r} is not {SCHEME}", header=header)
    if not scan.skip(" ") and not scan.at_end():
        raise scan.fail("expected a space after the scheme")
    params: dict[str, str] = {}
    while not scan.at_end():
        if scan.peek() == ",":
            scan.pos += 1
            scan.skip(_OWS)
            continue
        name = scan.run(_TOKEN).lower()
        if not name:
            raise scan.fail("expected a parameter name")
        scan.skip(_OWS)
        if scan.peek() != "=":
            raise scan.fail(f"expected '=' after {name!r}")
        scan.pos += 1
        scan.skip(_OWS)
        if scan.peek() == '"':
            value = scan.quoted_string()
        else:
            value = scan.run(_UNQUOTED_VALUE)
            if not value:
                raise scan.fail(f"expected a value for {name!r}")
        if name in params:
            raise scan.fail(f"parameter {name!r} given twice")
        params[name] = value
        scan.skip(_OWS)
        if not scan.at_end() and scan.peek() != ",":
            raise scan.fail("expected ',' between parameters")
    return params


def parse_authorization(header: str) -> XMatrixAuthorization:
    """Parse an ``Authorization`` header value of the ``X-Matrix`` scheme.

    ``origin`` and ``destination`` must be server names, ``key`` a key ID
    and ``sig`` Base64; ``origin``, ``key`` and ``sig`` are required.

    Raises:
        Unauthorized: anything else, with the reason in the message.
    """
    if not isinstance(header, str):
        raise Unauthorized("missing X-Matrix authorization header")
    params = _raw_params(header)
    missing = [name for name in ("origin", "key", "sig") if name not in params]
    if missing:
        raise Unauthorized(f"X-Matrix authorization lacks {', '.join(missing)}", header=header)
    try:
        parse_server_name(params["origin"])
        if "destination" in params:
            parse_server_name(params["destination"])
        parse_key_id(params["key"])
        decode_base64(params["sig"])
    except (InvalidParam, Base64Error) as exc:
        raise Unauthorized(f"X-Matrix authorization: {exc.message}", header=header) from None
    return XMatrixAuthorization(params["origin"], params["key"], params["sig"], params.get("destination"))


def verify_request(
    authorization: str | XMatrixAuthorization,
    *,
    method: str,
    uri: str,
    our_server_name: str,
    keys: KeyLookup,
    content: Any = None,
) -> XMatrixAuthorization:
    """Authenticate an incoming request; returns its authorization, whose
    ``origin`` is now proven.

    Args:
        authorization: the header value, or an already parsed one.
        method, uri, content: the request as received (``uri`` with its
            query string, undecoded; ``content`` None for no body).
        our_server_name: the receiving server; a ``destination`` naming any
            other server is refused, and a missing one is taken to be us.
        keys: the origin's current verify keys (see :data:`KeyLookup`);
            fetching and freshness are the caller's business.

    Raises:
        Unauthorized: malformed header, wrong destination, unknown key or a
            signature that does not verify.
    """
    auth = authorization if isinstance(authorization, XMatrixAuthorization) else parse_authorization(authorization)
    destination = auth.destination if auth.destination is not None else our_server_name
    if destination != our_server_name:
        raise Unauthorized(
            f"request is addressed to {destination!r}, not to {our_server_name!r}",
            destination=destination,
        )
    verify_key = (keys if callable(keys) else key_lookup(keys))(auth.origin, auth.key)
    if verify_key is None:
        raise Unauthorized(f"unknown key {auth.key} for {auth.origin}", origin=auth.origin, key=auth.key)
    signed = request_object(method, uri, auth.origin, destination, content)
    signed["signatures"] = {auth.origin: {auth.key: auth.sig}}
    verdict = verify_json(signed, auth.origin, {auth.key: verify_key})
    if not verdict.ok:
        raise Unauthorized(
            f"X-Matrix signature from {auth.origin} does not verify: {verdict.detail}",
            origin=auth.origin,
            key=auth.key,
            reason=verdict.reason,
        )
    return auth

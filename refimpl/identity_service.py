"""Third-party invites, the identity server's side.

Theory of operation (``specification/identity-service-api.rst``,
"Invitation storage", "Ephemeral invitation signing" and "Key management";
the homeservers' side is :mod:`refimpl.third_party_invites`):

* ``POST /store-invite`` (:func:`store_invite`): the inviter's server asks
  us to hold an invite for an address nobody has bound. We answer a token,
  our long-term public key and a fresh ephemeral one, each with the URL that
  says whether it is still valid, and a redacted form of the address. The
  token and the ephemeral key are inputs: this module has no randomness, the
  transport draws them.
* ``POST /sign-ed25519`` (:func:`sign_ed25519`): whoever holds the
  ephemeral private key of a stored invite (the invitee, from the message we
  sent them) gets ``{mxid, sender, token}`` signed with it, under our name.
* ``GET /pubkey/isvalid`` and ``/pubkey/ephemeral/isvalid``
  (:func:`pubkey_is_valid`): ``{"valid": true}`` while we vouch for a key.
* On a binding, :func:`onbind_payload` is the body of
  ``PUT /_matrix/federation/v1/3pid/onbind`` to the user's server: each
  stored invite with a ``signed`` object ``{mxid, token}`` signed by our
  long-term key.

Refusals raise :class:`~refimpl.errors.RemoteProtocolError` subclasses with
the endpoint's errcode (``M_MISSING_PARAM``, ``M_INVALID_PARAM``,
``M_UNRECOGNIZED``, ``M_THREEPID_IN_USE``) and a ``rule`` field.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .canonical_json import OBJECT_TYPES
from .errors import BadJson, InvalidParam, MatrixError, MissingParam, NotFound, ThreepidInUse, Unrecognized
from .identifiers import parse_room_id, parse_user_id
from .keys import SigningKey
from .signing import sign_json
from .unpadded_base64 import Base64Error, decode_base64

__all__ = [
    "StoredInvite",
    "MEDIA",
    "redact_address",
    "store_invite",
    "sign_ed25519",
    "pubkey_is_valid",
    "onbind_payload",
    "IDENTITY_KEY_ID",
]

#: The key ID every signature of ours is made under (long-term and ephemeral).
IDENTITY_KEY_ID = "ed25519:0"
#: The media we accept invites for.
MEDIA = frozenset({"email"})
_REVEAL = 3


@dataclass(frozen=True)
class StoredInvite:
    """An invite we hold until the address is bound."""

    token: str
    medium: str
    address: str
    room_id: str
    sender: str
    ephemeral_public_key: str


def redact_address(address: str) -> str:
    """The address as the room may show it: at most the first three
    characters of the local part and of the domain, ``...`` where something
    was left out (``carol@third.example.net`` -> ``car...@thi...``)."""
    local, at, domain = address.partition("@")

    def cut(part: str) -> str:
        return part if len(part) <= _REVEAL else part[:_REVEAL] + "..."

    return cut(local) + at + (cut(domain) if at else "")


def _field(body: Mapping[str, Any], name: str, rule: str) -> str:
    if name not in body:
        raise MissingParam(f"missing {name!r}", rule=f"{rule}.missing_param")
    if type(body[name]) is not str:
        raise BadJson(f"{name!r} must be a string", rule=f"{rule}.bad_json")
    return body[name]


def _identifier(parse: Callable[[str], Any], value: str, rule: str) -> None:
    try:
        parse(value)
    except InvalidParam as exc:
        raise InvalidParam(exc.message, rule=f"{rule}.invalid_param") from None


def _object(body: Any, rule: str) -> Mapping[str, Any]:
    if not isinstance(body, OBJECT_TYPES):
        raise BadJson("the body must be a JSON object", rule=f"{rule}.bad_json")
    return body


def store_invite(
    body: Any,
    *,
    base_url: str,
    long_term_key: SigningKey,
    ephemeral_key: SigningKey,
    token: str,
    bound_mxid: Callable[[str, str], str | None] = lambda medium, address: None,
) -> tuple[StoredInvite, dict[str, Any]]:
    """Handle ``POST /_matrix/identity/v2/store-invite``.

    Args:
        body: the request body.
        base_url: our public base URL (``https://id.example.org``).
        long_term_key, ephemeral_key, token: our key, and the fresh key and
            token drawn for this invite.
        bound_mxid: ``(medium, address) -> mxid or None``, our bindings.

    Returns:
        The invite to keep, and the answer's body.

    Raises:
        MissingParam, BadJson: a required field is absent or not a string.
        InvalidParam: ``room_id`` or ``sender`` is not an identifier.
        Unrecognized: the medium is not one we handle (400).
        ThreepidInUse: the address is already bound: invite that user (400).
    """
    body = _object(body, "store_invite")
    medium, address, room_id, sender = (_field(body, n, "store_invite") for n in ("medium", "address", "room_id", "sender"))
    _identifier(parse_room_id, room_id, "store_invite")
    _identifier(parse_user_id, sender, "store_invite")
    if medium not in MEDIA:
        raise Unrecognized(f"medium {medium!r} is not supported", rule="store_invite.medium")
    if bound_mxid(medium, address) is not None:
        raise ThreepidInUse("this address is already bound to a Matrix user", rule="store_invite.bound")
    ephemeral = ephemeral_key.verify_key.public_base64
    stored = StoredInvite(token, medium, address, room_id, sender, ephemeral)
    base = base_url.rstrip("/") + "/_matrix/identity/v2/pubkey"
    answer = {
        "token": token,
        "public_keys": [
            {"public_key": long_term_key.verify_key.public_base64, "key_validity_url": f"{base}/isvalid"},
            {"public_key": ephemeral, "key_validity_url": f"{base}/ephemeral/isvalid"},
        ],
        "display_name": redact_address(address),
    }
    return stored, answer


def sign_ed25519(
    body: Any, *, server_name: str, stored_invite: Callable[[str], StoredInvite | None]
) -> dict[str, Any]:
    """Handle ``POST /_matrix/identity/v2/sign-ed25519``: ``{mxid, sender,
    token}`` signed with the ephemeral private key the caller holds.

    The private key must be the stored invite's ephemeral key: anyone else's
    would produce a signature no third-party invite event lists.

    Raises:
        MissingParam, BadJson: a field is absent or not a string.
        InvalidParam: ``mxid`` is not a user ID, or ``private_key`` is not
            the base64 of the invite's 32-byte ephemeral seed.
        NotFound: no stored invite has the token (404 ``M_UNRECOGNIZED``).
    """
    body = _object(body, "sign")
    mxid, token, private = (_field(body, n, "sign") for n in ("mxid", "token", "private_key"))
    _identifier(parse_user_id, mxid, "sign")
    invite = stored_invite(token)
    if invite is None:
        raise _UnknownToken(f"no stored invite has token {token!r}", rule="sign.unknown_token")
    try:
        key = SigningKey.from_base64_seed(private, IDENTITY_KEY_ID.partition(":")[2])
    except MatrixError:
        raise InvalidParam("private_key is not an unpadded base64 ed25519 seed", rule="sign.private_key") from None
    if key.verify_key.public_base64 != invite.ephemeral_public_key:
        raise InvalidParam("private_key is not this invite's ephemeral key", rule="sign.private_key")
    return sign_json({"mxid": mxid, "sender": invite.sender, "token": token}, server_name, key)


class _UnknownToken(NotFound):
    """The endpoint answers an unknown token 404 ``M_UNRECOGNIZED``."""

    errcode = Unrecognized.errcode


def pubkey_is_valid(public_key: Any, valid_keys: Collection[str]) -> dict[str, bool]:
    """Handle ``GET .../pubkey/isvalid`` or ``.../pubkey/ephemeral/isvalid``
    (``valid_keys``: the long-term or the ephemeral keys we vouch for).

    Keys are compared as bytes, so either Base64 alphabet, padded or not,
    names the same key; a string that is no Base64 is simply not valid.

    Raises:
        MissingParam: the ``public_key`` query parameter is absent.
    """
    if public_key is None:
        raise MissingParam("missing 'public_key'", rule="isvalid.missing_param")
    try:
        wanted = decode_base64(public_key)
    except Base64Error:
        return {"valid": False}
    return {"valid": any(_decodes_to(k, wanted) for k in valid_keys)}


def _decodes_to(text: str, raw: bytes) -> bool:
    try:
        return decode_base64(text) == raw
    except Base64Error:
        return False


def onbind_payload(
    medium: str, address: str, mxid: str, invites: Sequence[StoredInvite], *, server_name: str, long_term_key: SigningKey
) -> dict[str, Any]:
    """The body of ``PUT /_matrix/federation/v1/3pid/onbind`` for a new binding.

    Raises:
        InvalidParam: ``mxid`` is not a user ID (a bug of our caller's).
    """
    parse_user_id(mxid)
    entries = [
        {
            "medium": medium,
            "address": address,
            "mxid": mxid,
            "room_id": invite.room_id,
            "sender": invite.sender,
            "signed": sign_json({"mxid": mxid, "token": invite.token}, server_name, long_term_key),
        }
        for invite in invites
        if invite.medium == medium and invite.address == address
    ]
    return {"medium": medium, "address": address, "mxid": mxid, "invites": entries}


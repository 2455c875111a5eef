"""Third-party invites, the homeservers' side: from a binding to an invite event.

Theory of operation (``specification/modules/third_party_invites.rst`` and
``specification/server-server-api.rst``, "Third-party invites"):

1. The inviter's server (H1) stores the invite at an identity server and
   puts the answer into an ``m.room.third_party_invite`` event whose state
   key is the token (:func:`third_party_invite_content`;
   :mod:`refimpl.identity_service` is the other end).
2. When someone binds the address, the identity server calls
   ``/3pid/onbind`` on the invitee's server (H3) with a ``signed`` object
   per invite (:func:`handle_onbind` reads it). ``onbind`` carries no
   request signature, so H3 first proves each ``signed`` with the key its
   signer publishes: :func:`identity_key_requests` says which keys to
   fetch, :func:`read_identity_key_answer` reads each answer and
   :func:`check_bound_invites` judges.
3. H3 builds the skeleton of an ``invite`` member event holding ``signed``
   and asks a server in the room to issue it
   (:func:`make_exchange_third_party_invite`): it is H3 that turns the
   binding into an invite (the later design, in which the member event is an
   invite rather than a join).
4. That server checks the skeleton against the room's state: the
   third-party invite event named by the token, its sender, the signed
   mxid, a signature of ``signed`` by one of the event's public keys, in
   either Base64 alphabet (:func:`verify_signed`). It asks first, computes
   second: :func:`key_validity_requests` says which ``key_validity_url``
   queries to make (one per key that verified), the caller makes them, and
   :func:`handle_exchange_third_party_invite` reads the answers
   (:func:`read_key_validity_answer`: only ``{"valid": true}`` counts) and
   returns the invite event's fields, ready to be completed, signed and
   sent through :mod:`refimpl.invites`.

Only that server checks ``key_validity_url``; every other server judges the
invite by the auth rules alone, so all of them reach the same verdict even
if the identity server is unreachable or has revoked a key since.

Refusals raise :class:`~refimpl.errors.RemoteProtocolError` subclasses whose
``rule`` field is a key of :data:`RULES`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import partial
from types import MappingProxyType
from typing import Any

from .auth_rules import signed_by_any, third_party_invite_keys
from .canonical_json import OBJECT_TYPES, as_plain
from .errors import BadJson, Forbidden, InvalidParam, MissingParam, Refusals, refusal
from .identifiers import parse_room_id, parse_user_id
from .invites import percent_encode
from .state import RoomState

__all__ = [
    "RULES",
    "ValidityQuery",
    "BoundInvite",
    "third_party_invite_content",
    "verify_signed",
    "verifying_keys",
    "key_validity_request_url",
    "read_key_validity_answer",
    "handle_onbind",
    "IdentityKeyQuery",
    "identity_key_requests",
    "read_identity_key_answer",
    "check_bound_invites",
    "make_exchange_third_party_invite",
    "key_validity_requests",
    "handle_exchange_third_party_invite",
]

RULES: Refusals = MappingProxyType(
    {
        "onbind.not_object": (BadJson, "the onbind body is not an object with an invites array"),
        "onbind.missing_field": (MissingParam, "an onbind field is absent"),
        "onbind.bad_field": (BadJson, "an onbind field has the wrong type"),
        "onbind.not_our_user": (InvalidParam, "the bound user is not on this server"),
        "onbind.mxid_mismatch": (InvalidParam, "an invite's signed mxid is not the bound user"),
        "onbind.too_many_keys": (InvalidParam, "the invites name more identity server keys than a server fetches"),
        "onbind.bad_signature": (Forbidden, "no signature in an invite's signed verifies with the key its "
                                            "identity server publishes"),
        "exchange.malformed": (BadJson, "the exchange body is not a skeleton invite member event"),
        "exchange.room_id_mismatch": (InvalidParam, "the body's room ID is not the path's"),
        "exchange.no_signed": (BadJson, "content.third_party_invite.signed is missing or not an object"),
        "exchange.signed_incomplete": (BadJson, "signed lacks a string mxid or token"),
        "exchange.mxid_mismatch": (InvalidParam, "signed.mxid is not the invited user"),
        "exchange.no_invite_event": (InvalidParam, "no m.room.third_party_invite event has the token"),
        "exchange.sender_mismatch": (InvalidParam, "the sender did not send the third-party invite"),
        "exchange.bad_signature": (Forbidden, "no signature in signed verifies with the invite's keys"),
        "exchange.key_revoked": (Forbidden, "the identity server does not vouch for the key that signed"),
    }
)


_refuse = partial(refusal, RULES)


# -- The inviter's server: the m.room.third_party_invite event -----------------------------------


def third_party_invite_content(answer: Mapping[str, Any]) -> dict[str, Any]:
    """The ``m.room.third_party_invite`` content H1 makes of a ``store-invite``
    answer (whose ``token`` is the state key): every key in ``public_keys``,
    and the first one again as ``public_key`` for servers that only read that."""
    keys = as_plain(answer["public_keys"])
    return {"display_name": answer["display_name"], "key_validity_url": keys[0]["key_validity_url"],
            "public_key": keys[0]["public_key"], "public_keys": keys}


# -- The signed object and its keys ------------------------------------------------------------


@dataclass(frozen=True)
class ValidityQuery:
    """One ``GET key_validity_url?public_key=...`` to make."""

    public_key: str
    key_validity_url: str

    @property
    def url(self) -> str:
        return key_validity_request_url(self.key_validity_url, self.public_key)


def verify_signed(signed: Any, invite_content: Mapping[str, Any]) -> bool:
    """Whether any signature in ``signed`` verifies with any public key of the
    ``m.room.third_party_invite`` content (``public_key`` or ``public_keys``,
    either Base64 alphabet). The same judgement the auth rules make."""
    return isinstance(signed, OBJECT_TYPES) and signed_by_any(signed, third_party_invite_keys(invite_content))


def verifying_keys(signed: Mapping[str, Any], invite_content: Mapping[str, Any]) -> tuple[ValidityQuery, ...]:
    """The invite's keys that verify a signature in ``signed``, each with the
    URL that vouches for it: its own in ``public_keys``, else the event's
    top-level ``key_validity_url`` (for ``public_key``)."""
    listed: dict[str, str] = {}
    top_url = invite_content.get("key_validity_url")
    if type(invite_content.get("public_key")) is str and type(top_url) is str:
        listed[invite_content["public_key"]] = top_url
    entries = invite_content.get("public_keys")
    for entry in entries if isinstance(entries, list) else ():
        if isinstance(entry, OBJECT_TYPES) and type(entry.get("public_key")) is str:
            url = entry.get("key_validity_url")
            if type(url) is str:
                listed.setdefault(entry["public_key"], url)
    return tuple(ValidityQuery(key, url) for key, url in listed.items() if signed_by_any(signed, (key,)))


def key_validity_request_url(key_validity_url: str, public_key: str) -> str:
    """``key_validity_url`` with ``public_key`` added as a query parameter
    (percent-encoded, so a standard-alphabet ``+`` or ``/`` survives)."""
    encoded = percent_encode(public_key)
    separator = "&" if "?" in key_validity_url else "?"
    return f"{key_validity_url}{separator}public_key={encoded}"


def read_key_validity_answer(status: int, body: Any) -> bool:
    """Whether an answer to a key validity query vouches for the key: status
    200 and a JSON object whose ``valid`` is ``true`` (the boolean; ``1``,
    ``"true"`` or a missing key do not count)."""
    return status == 200 and isinstance(body, OBJECT_TYPES) and body.get("valid") is True


# -- The invitee's server: onbind and the exchange request --------------------------------------


@dataclass(frozen=True)
class BoundInvite:
    """One invite from an onbind call, as H3 keeps it."""

    room_id: str
    sender: str
    mxid: str
    signed: Mapping[str, Any]


def _onbind_field(body: Mapping[str, Any], name: str, kind: type, where: str = "") -> Any:
    if name not in body:
        raise _refuse("onbind.missing_field", f"{where}{name}")
    if not isinstance(body[name], kind):
        raise _refuse("onbind.bad_field", f"{where}{name}")
    return body[name]


def handle_onbind(body: Any, *, our_server_name: str) -> tuple[BoundInvite, ...]:
    """Read ``PUT /3pid/onbind`` (H3's side): the invites to turn into invite
    events, once :func:`check_bound_invites` has proved their signatures.

    Raises:
        RemoteProtocolError: with the ``rule`` of :data:`RULES` broken.
    """
    if not isinstance(body, OBJECT_TYPES):
        raise _refuse("onbind.not_object")
    mxid = _onbind_field(body, "mxid", str)
    try:
        user = parse_user_id(mxid)
    except InvalidParam as exc:
        raise _refuse("onbind.bad_field", exc.message) from None
    if user.server_name != our_server_name:
        raise _refuse("onbind.not_our_user", mxid)
    invites = []
    for i, entry in enumerate(_onbind_field(body, "invites", list)):
        where = f"invites[{i}]."
        if not isinstance(entry, OBJECT_TYPES):
            raise _refuse("onbind.bad_field", where[:-1])
        signed = _onbind_field(entry, "signed", Mapping, where)
        room_id = _onbind_field(entry, "room_id", str, where)
        sender = _onbind_field(entry, "sender", str, where)
        if signed.get("mxid") != mxid:
            raise _refuse("onbind.mxid_mismatch", f"{where}signed.mxid")
        invites.append(BoundInvite(room_id, sender, mxid, MappingProxyType(as_plain(signed))))
    return tuple(invites)


#: The most identity server keys one onbind call makes H3 fetch: a genuine
#: call names one identity server, so more is a request to make H3 fetch
#: from many servers at a stranger's bidding.
MAX_IDENTITY_KEYS = 8


@dataclass(frozen=True)
class IdentityKeyQuery:
    """One ``GET /_matrix/identity/v2/pubkey/{keyId}`` H3 sends to the
    server that signed a ``signed`` object."""

    server_name: str
    key_id: str

    @property
    def request_target(self) -> str:
        return f"/_matrix/identity/v2/pubkey/{percent_encode(self.key_id)}"


def _signatures(signed: Mapping[str, Any]) -> list[tuple[str, str, str]]:
    """The ed25519 signatures of ``signed`` as ``(server, key ID, signature)``."""
    signatures = signed.get("signatures")
    found = []
    for server, by_key in signatures.items() if isinstance(signatures, OBJECT_TYPES) else ():
        for key_id, signature in by_key.items() if isinstance(by_key, OBJECT_TYPES) else ():
            if key_id.startswith("ed25519:") and type(signature) is str:
                found.append((server, key_id, signature))
    return found


def identity_key_requests(invites: tuple[BoundInvite, ...]) -> tuple[IdentityKeyQuery, ...]:
    """The keys H3 fetches to check ``invites``: one per identity server
    and key ID that signed, in the order met.

    Raises:
        RemoteProtocolError: ``onbind.too_many_keys`` past :data:`MAX_IDENTITY_KEYS`.
    """
    queries = tuple(dict.fromkeys(IdentityKeyQuery(server, key_id)
                                  for invite in invites for server, key_id, _ in _signatures(invite.signed)))
    if len(queries) > MAX_IDENTITY_KEYS:
        raise _refuse("onbind.too_many_keys", f"{len(queries)} keys, at most {MAX_IDENTITY_KEYS}")
    return queries


def read_identity_key_answer(status: int, body: Any) -> str | None:
    """The ``public_key`` of an answer to ``GET .../pubkey/{keyId}``, or
    ``None`` unless it is a 200 with a string key."""
    if status == 200 and isinstance(body, OBJECT_TYPES) and type(body.get("public_key")) is str:
        return body["public_key"]
    return None


def check_bound_invites(invites: tuple[BoundInvite, ...], keys: Mapping[IdentityKeyQuery, str | None]) -> None:
    """Every invite's ``signed`` must carry a signature that verifies with
    the key its signer publishes (``keys``: the answers to
    :func:`identity_key_requests`, ``None`` for a key that could not be
    fetched). That only proves an identity server vouched for the binding;
    whether it is the one the room's invite named is the room's server's
    check (:func:`handle_exchange_third_party_invite`).

    Raises:
        RemoteProtocolError: ``onbind.bad_signature``, naming the invite.
    """
    for i, invite in enumerate(invites):
        if not any(
            (key := keys.get(IdentityKeyQuery(server, key_id))) is not None
            and signed_by_any({**invite.signed, "signatures": {server: {key_id: signature}}}, (key,))
            for server, key_id, signature in _signatures(invite.signed)
        ):
            raise _refuse("onbind.bad_signature", f"invites[{i}].signed")


def make_exchange_third_party_invite(invite: BoundInvite) -> tuple[str, dict[str, Any]]:
    """H3's request to a server in the room: the path and the skeleton event.

    The skeleton carries no ``display_name``: H3 has not seen the
    third-party invite event, so the server in the room copies it from
    there (as Synapse does).
    """
    body = {
        "type": "m.room.member",
        "room_id": invite.room_id,
        "sender": invite.sender,
        "state_key": invite.mxid,
        "content": {
            "membership": "invite",
            "third_party_invite": {"signed": as_plain(invite.signed)},
        },
    }
    return f"/_matrix/federation/v1/exchange_third_party_invite/{percent_encode(invite.room_id)}", body


# -- The server in the room: exchange_third_party_invite -------------------------------------------


@dataclass(frozen=True)
class _Exchange:
    signed: Mapping[str, Any]
    invite_content: Mapping[str, Any]


def _check_exchange(room_id: str, body: Any, state: RoomState) -> _Exchange:
    if not isinstance(body, OBJECT_TYPES):
        raise _refuse("exchange.malformed", "not an object")
    content = body.get("content")
    if (
        body.get("type") != "m.room.member"
        or not isinstance(content, OBJECT_TYPES)
        or content.get("membership") != "invite"
        or type(body.get("sender")) is not str
        or type(body.get("state_key")) is not str
    ):
        raise _refuse("exchange.malformed")
    try:
        parse_room_id(body.get("room_id"))
        parse_user_id(body["sender"])
        parse_user_id(body["state_key"])
    except InvalidParam as exc:
        raise _refuse("exchange.malformed", exc.message) from None
    if body["room_id"] != room_id:
        raise _refuse("exchange.room_id_mismatch", f"{body['room_id']} in the body, {room_id} in the path")
    invite = content.get("third_party_invite")
    signed = invite.get("signed") if isinstance(invite, OBJECT_TYPES) else None
    if not isinstance(signed, OBJECT_TYPES):
        raise _refuse("exchange.no_signed")
    if type(signed.get("mxid")) is not str or type(signed.get("token")) is not str:
        raise _refuse("exchange.signed_incomplete")
    if signed["mxid"] != body["state_key"]:
        raise _refuse("exchange.mxid_mismatch", f"{signed['mxid']} signed, {body['state_key']} invited")
    invite_event = state.lookup("m.room.third_party_invite", signed["token"])
    if invite_event is None:
        raise _refuse("exchange.no_invite_event", repr(signed["token"]))
    if invite_event.sender != body["sender"]:
        raise _refuse("exchange.sender_mismatch", f"{invite_event.sender} sent it, not {body['sender']}")
    if not verify_signed(signed, invite_event.content):
        raise _refuse("exchange.bad_signature")
    return _Exchange(signed, invite_event.content)


def key_validity_requests(room_id: str, body: Any, state: RoomState) -> tuple[ValidityQuery, ...]:
    """What to ask the identity server before deciding an exchange: one query
    per key of the third-party invite that verifies a signature in ``signed``.

    Raises:
        RemoteProtocolError: the exchange already fails without asking.
    """
    exchange = _check_exchange(room_id, body, state)
    return verifying_keys(exchange.signed, exchange.invite_content)


def handle_exchange_third_party_invite(
    room_id: str, body: Any, state: RoomState, validity: Mapping[str, bool]
) -> dict[str, Any]:
    """Decide ``PUT /exchange_third_party_invite/{roomId}`` (the server in the room).

    Args:
        room_id: the path's room ID.
        body: the skeleton invite event.
        state: the room's current state.
        validity: for each :attr:`ValidityQuery.url` of
            :func:`key_validity_requests`, whether the answer vouched for the
            key (:func:`read_key_validity_answer`); a missing URL counts as
            not vouched for.

    Returns:
        The invite event's ``type``, ``room_id``, ``sender``, ``state_key``
        and ``content`` (``third_party_invite`` holding ``signed`` and the
        third-party invite event's ``display_name``), for the caller to complete with references, hash
        and signature, and to send to the invitee's server as an invite.

    Raises:
        RemoteProtocolError: with the ``rule`` of :data:`RULES` broken;
            ``exchange.key_revoked`` when no verifying key is vouched for.
    """
    exchange = _check_exchange(room_id, body, state)
    queries = verifying_keys(exchange.signed, exchange.invite_content)
    if not any(validity.get(query.url) is True for query in queries):
        raise _refuse("exchange.key_revoked", ", ".join(q.public_key for q in queries) or "no key with a URL")
    event = {k: as_plain(body[k]) for k in ("type", "room_id", "sender", "state_key", "content")}
    # The display name is the third-party invite event's, whatever H3 sent.
    display_name = exchange.invite_content.get("display_name")
    third_party = {"signed": as_plain(exchange.signed)}
    if type(display_name) is str:
        third_party["display_name"] = display_name
    event["content"]["third_party_invite"] = third_party
    return event

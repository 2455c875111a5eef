"""Inviting a user of another server: both sides of ``PUT .../invite``.

Theory of operation (``specification/server-server-api.rst``, "Inviting to
a room"; the v3 proposal is ``refimpl.room_versions.INVITE_V3``):

The inviting server builds and signs an ``m.room.member`` event with
``membership: invite`` and sends it to the invitee's server, which checks it,
adds its own signature and sends it back. Three forms of the endpoint exist,
and this module writes them as one shared core plus three small deltas
(:data:`APIS`):

======  ======================================  ==================================================
api     path                                    body and answer
======  ======================================  ==================================================
``v1``  ``/v1/invite/{roomId}/{eventId}``        the event itself; ``[200, {"event": ...}]``.
                                                Room versions 1 and 2 only (the body names none).
``v2``  ``/v2/invite/{roomId}/{eventId}``        ``{room_version, event, invite_room_state}``;
                                                ``{"event": ...}``
``v3``  ``/unstable/org.matrix.msc0000/invite/   ``{event, invite_room_state, state}``, the room's
        {roomId}`` (proposal)                   create event in ``state`` fixes the version;
                                                ``{"event": ...}``. Room versions 3 and later.
======  ======================================  ==================================================

Receiving (:func:`handle_invite`), in this order, each refusal an exception
whose ``rule`` field is a key of :data:`RULES`: the body's shape; the room
version (``M_INCOMPATIBLE_ROOM_VERSION`` when we do not support it); for v3,
the proposal's create-event rules (400 ``M_INVALID_PARAM``); the event's
format for that version; the path's room and event IDs against the event
(the event ID computed as the version says); the invite's own shape (a
member event, ``invite`` membership, the state key a user of ours, the
sender a user of the origin); the origin's signature and the content hash.
Then we countersign, and answer in the api's form. For v3 the create event
replaces any create event in ``invite_room_state``, in stripped form.

Sending (:func:`plan_invite`, :func:`handle_invite_response`): v3 first when
both the room version and the caller allow it, then v2, then (room versions
1 and 2 only) v1. A ``400`` or ``404`` answer with ``M_UNRECOGNIZED``, or a
``404`` without a Matrix error body, means the invitee's server does not
know that endpoint, and the next one is tried. A ``200`` answer must hold
our event unchanged except for ``signatures`` and ``unsigned``, now also
signed by the invitee's server.

Local and remote faults stay apart (h11's split): a peer's bad request or
answer raises a :class:`~refimpl.errors.RemoteProtocolError` subclass, the
invitee's refusal raises :class:`InviteRefused`, and misuse by our caller
raises :class:`~refimpl.errors.LocalProtocolError`. Everything here is
pure: keys come in as a :data:`~refimpl.keys.KeyLookup`, nothing is fetched.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from types import MappingProxyType
from typing import Any

from .canonical_json import OBJECT_TYPES, as_plain
from .errors import (
    BadJson,
    Errcode,
    Forbidden,
    IncompatibleRoomVersion,
    InvalidParam,
    LocalProtocolError,
    MatrixError,
    MissingParam,
    Refusals,
    RemoteProtocolError,
    refusal,
)
from .event_ids import room_id_from_create_event
from .event_signing import check_received_event, sign_event
from .events import Event
from .hashing import encode_event
from .identifiers import parse_server_name, parse_user_id
from .keys import KeyLookup, SigningKey
from .room_versions import INVITE_V3, ROOM_VERSIONS, V1, RoomVersion
from .signing import verify_signed_bytes

__all__ = [
    "InviteApi",
    "APIS",
    "RULES",
    "InviteRefused",
    "ReceivedInvite",
    "AcceptedInvite",
    "handle_invite",
    "stripped_state",
    "InviteAttempt",
    "plan_invite",
    "handle_invite_response",
    "CountersignedInvite",
    "percent_encode",
]


class InviteApi(enum.Enum):
    V1 = "v1"
    V2 = "v2"
    V3 = "v3"


@dataclass(frozen=True)
class _ApiForm:
    """What distinguishes one form of the endpoint from the shared core."""

    path_prefix: str
    #: The path names the event ID (v1, v2; v3 derives it from the body).
    path_has_event_id: bool
    #: The body is the event itself (v1) or an object holding it.
    body_is_event: bool
    #: Where the room version comes from: fixed (v1), ``room_version`` (v2)
    #: or the create event in ``state`` (v3).
    room_version_source: str
    #: The 200 answer is ``[200, {...}]`` (v1's historical form).
    answer_in_array: bool


APIS: Mapping[InviteApi, _ApiForm] = MappingProxyType(
    {
        InviteApi.V1: _ApiForm("/_matrix/federation/v1/invite", True, True, "fixed", True),
        InviteApi.V2: _ApiForm("/_matrix/federation/v2/invite", True, False, "body", False),
        InviteApi.V3: _ApiForm(f"{INVITE_V3.unstable_prefix}/invite", False, False, "create_event", False),
    }
)

#: Every way a received invite is refused: rule ID -> (error class, meaning).
RULES: Refusals = MappingProxyType(
    {
        "invite.body.not_object": (BadJson, "the body is not a JSON object"),
        "invite.body.missing_field": (MissingParam, "a required body field is absent"),
        "invite.body.bad_field": (BadJson, "a body field has the wrong type"),
        "invite.room_version.unsupported": (IncompatibleRoomVersion, "we do not support the room's version"),
        "invite.v3.state_not_list": (InvalidParam, "state is not an array of objects"),
        "invite.v3.no_create_event": (InvalidParam, "state holds no m.room.create event"),
        "invite.v3.several_create_events": (InvalidParam, "state holds more than one m.room.create event"),
        "invite.v3.create_state_key": (InvalidParam, "the create event's state key is not the empty string"),
        "invite.v3.create_malformed": (InvalidParam, "the create event is not a valid PDU of its room version"),
        "invite.v3.room_version_too_old": (InvalidParam, "v3 is for room versions whose event IDs are hashes"),
        "invite.v3.room_id_mismatch": (InvalidParam, "the create event is for another room than the path and event"),
        "invite.event.malformed": (BadJson, "the event is not a valid PDU of the room version"),
        "invite.event.room_id_mismatch": (InvalidParam, "the event's room ID is not the path's"),
        "invite.event.event_id_mismatch": (InvalidParam, "the event's ID is not the path's"),
        "invite.event.not_member": (InvalidParam, "the event is not an m.room.member event"),
        "invite.event.not_invite": (InvalidParam, "the membership is not invite"),
        "invite.event.state_key_not_user": (InvalidParam, "the state key is not a user ID"),
        "invite.event.not_our_user": (InvalidParam, "the invited user is not on this server"),
        "invite.event.sender_not_origin": (InvalidParam, "the sender is not a user of the requesting server"),
        "invite.event.bad_signature": (Forbidden, "the origin's signature is missing or does not verify"),
        "invite.event.content_hash": (InvalidParam, "the content hash does not match the content"),
    }
)


_refuse = partial(refusal, RULES)


class InviteRefused(RemoteProtocolError):
    """The invitee's server answered an invite with an error.

    ``status`` and ``remote_errcode`` are the answer's; the errcode of this
    error is ``M_FORBIDDEN``, what our own client should be told.
    """

    errcode = Errcode.M_FORBIDDEN
    http_status = 403


# -- Receiving -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReceivedInvite:
    """An invite request as the transport saw it.

    ``origin`` is the server the request's X-Matrix header authenticated;
    ``event_id`` is the path's (None for v3); ``body`` is the decoded JSON.
    """

    api: InviteApi
    origin: str
    room_id: str
    event_id: str | None
    body: Any


@dataclass(frozen=True)
class AcceptedInvite:
    """The outcome of an accepted invite.

    ``answer`` is the 200 body to send back. ``invite_room_state`` is what
    the invitee's clients are shown (for v3 with the create event put in).
    """

    answer: Any
    event: Event
    room_version: RoomVersion
    invite_room_state: tuple[Mapping[str, Any], ...] = field(repr=False)


def stripped_state(pdu: Mapping[str, Any]) -> dict[str, Any]:
    """The stripped form of a state event: the four keys clients are shown."""
    return {k: as_plain(pdu[k]) for k in ("type", "state_key", "content", "sender") if k in pdu}


def _body_field(body: Mapping[str, Any], name: str, kind: type) -> Any:
    if name not in body:
        raise _refuse("invite.body.missing_field", name)
    value = body[name]
    if not isinstance(value, kind):
        raise _refuse("invite.body.bad_field", f"{name} must be {'an object' if kind is Mapping else 'a string'}")
    return value


def _room_state_list(value: Any, name: str) -> tuple[Mapping[str, Any], ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(e, OBJECT_TYPES) for e in value):
        raise _refuse("invite.body.bad_field", f"{name} must be an array of objects")
    return tuple(value)


def _supported(identifier: Any, supported: frozenset[str]) -> RoomVersion:
    if type(identifier) is not str or identifier not in supported or identifier not in ROOM_VERSIONS:
        raise _refuse("invite.room_version.unsupported", f"room version {identifier!r}",
                      **({"room_version": identifier} if type(identifier) is str else {}))
    return ROOM_VERSIONS[identifier]


def _create_event(state: Any, supported: frozenset[str], path_room_id: str, event_room_id: Any) -> tuple[Event, RoomVersion]:
    """The proposal's rules on ``state``: exactly one create event, with an
    empty state key, of a supported hash-ID room version, for this room."""
    if not isinstance(state, list) or not all(isinstance(e, OBJECT_TYPES) for e in state):
        raise _refuse("invite.v3.state_not_list")
    creates = [e for e in state if e.get("type") == "m.room.create"]
    if not creates:
        raise _refuse("invite.v3.no_create_event")
    if len(creates) > 1:
        raise _refuse("invite.v3.several_create_events", f"{len(creates)} of them")
    create = creates[0]
    if create.get("state_key") != "":
        raise _refuse("invite.v3.create_state_key", repr(create.get("state_key")))
    content = create.get("content")
    # A create event without room_version is a version 1 room.
    named = content.get("room_version", V1.identifier) if isinstance(content, OBJECT_TYPES) else None
    version = _supported(named, supported)
    if version.identifier not in INVITE_V3.applies_to:
        raise _refuse("invite.v3.room_version_too_old", f"room version {version.identifier}")
    try:
        event = Event.from_pdu(create, version)
        room_id = room_id_from_create_event(create, version) if version.room_id_from_create_event else event.room_id
    except MatrixError as exc:
        raise _refuse("invite.v3.create_malformed", exc.message) from None
    if room_id != path_room_id or room_id != event_room_id:
        raise _refuse("invite.v3.room_id_mismatch", f"create event is for {room_id}")
    return event, version


def handle_invite(
    request: ReceivedInvite,
    *,
    our_server_name: str,
    signing_key: SigningKey,
    verify_keys: KeyLookup,
    supported_room_versions: frozenset[str] = frozenset(ROOM_VERSIONS),
) -> AcceptedInvite:
    """Check a received invite and countersign it (the invitee's side).

    Args:
        request: the request; ``origin`` must already be authenticated.
        our_server_name, signing_key: who we are and the key we sign with.
        verify_keys: the origin's keys, as the caller vouches for them (for
            room versions from 5, only keys valid at the event's
            ``origin_server_ts``; see :mod:`refimpl.server_keys`).
        supported_room_versions: the versions we accept invites into.

    Returns:
        The answer to send with status 200, and the event and state to keep.

    Raises:
        RemoteProtocolError: a subclass whose ``rule`` field names the
            :data:`RULES` entry the request broke; its ``errcode`` and
            ``http_status`` are the answer to send.
        LocalProtocolError: ``our_server_name`` is not a server name.
    """
    try:
        parse_server_name(our_server_name)
    except InvalidParam as exc:
        raise LocalProtocolError(f"our_server_name: {exc.message}") from None
    form = APIS[request.api]
    body = request.body
    if not isinstance(body, OBJECT_TYPES):
        raise _refuse("invite.body.not_object")
    create: Event | None = None
    if form.body_is_event:
        # v1 names no room version: it serves versions 1 and 2, which share
        # the event format, signing, hashing and IDs; we judge by version 1.
        pdu, version = body, _supported(V1.identifier, supported_room_versions)
        unsigned = pdu.get("unsigned")
        room_state = _room_state_list(
            unsigned.get("invite_room_state") if isinstance(unsigned, OBJECT_TYPES) else None, "unsigned.invite_room_state"
        )
    else:
        pdu = _body_field(body, "event", Mapping)
        room_state = _room_state_list(body.get("invite_room_state"), "invite_room_state")
        if form.room_version_source == "body":
            version = _supported(_body_field(body, "room_version", str), supported_room_versions)
        else:
            if "state" not in body:
                raise _refuse("invite.body.missing_field", "state")
            create, version = _create_event(body["state"], supported_room_versions, request.room_id, pdu.get("room_id"))
    try:
        event = Event.from_pdu(pdu, version)
    except MatrixError as exc:
        raise _refuse("invite.event.malformed", exc.message) from None
    _check_invite_event(event, request, form, our_server_name)
    received = check_received_event(pdu, version, verify_keys)
    if received.outcome == "drop":
        raise _refuse("invite.event.bad_signature", received.reason)
    if received.outcome == "redacted":
        raise _refuse("invite.event.content_hash", received.reason)
    signed = sign_event(pdu, version, our_server_name, signing_key)
    answer: Any = {"event": signed}
    if form.answer_in_array:
        answer = [200, answer]
    if create is not None:
        room_state = (*(e for e in room_state if e.get("type") != "m.room.create"), stripped_state(create.pdu))
    return AcceptedInvite(answer, Event.from_pdu(signed, version), version, room_state)


def _check_invite_event(event: Event, request: ReceivedInvite, form: _ApiForm, our_server_name: str) -> None:
    if event.room_id != request.room_id:
        raise _refuse("invite.event.room_id_mismatch", f"{event.room_id} in the event, {request.room_id} in the path")
    if form.path_has_event_id and event.event_id != request.event_id:
        raise _refuse("invite.event.event_id_mismatch", f"{event.event_id} in the event, {request.event_id} in the path")
    if event.type != "m.room.member":
        raise _refuse("invite.event.not_member", repr(event.type))
    if event.content.get("membership") != "invite":
        raise _refuse("invite.event.not_invite", repr(event.content.get("membership")))
    try:
        invitee = parse_user_id(event.state_key)
    except InvalidParam as exc:
        raise _refuse("invite.event.state_key_not_user", exc.message) from None
    if invitee.server_name != our_server_name:
        raise _refuse("invite.event.not_our_user", invitee.server_name)
    if parse_user_id(event.sender).server_name != request.origin:
        raise _refuse("invite.event.sender_not_origin", f"{event.sender} sent by {request.origin}")


# -- Sending ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class InviteAttempt:
    """One request to send, and what to try if the invitee does not know it.

    ``method``, ``path`` and ``body`` are the request; ``remaining`` the
    apis still to try after this one.
    """

    api: InviteApi
    method: str
    path: str
    body: Any
    remaining: tuple[InviteApi, ...]
    pdu: Mapping[str, Any] = field(repr=False)
    room_version: RoomVersion
    invitee_server: str
    invite_room_state: tuple[Mapping[str, Any], ...] = field(repr=False)
    create_event: Mapping[str, Any] | None = field(repr=False)


@dataclass(frozen=True)
class CountersignedInvite:
    """The invite signed by both servers, ready to be sent into the room: the
    event we sent, carrying the signatures of the answer."""

    api: InviteApi
    event: Event


def _api_order(room_version: RoomVersion, use_v3: bool) -> tuple[InviteApi, ...]:
    order = []
    if use_v3 and room_version.identifier in INVITE_V3.applies_to:
        order.append(InviteApi.V3)
    order.append(InviteApi.V2)
    if not room_version.event_ids_are_hashes:
        order.append(InviteApi.V1)
    return tuple(order)


_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")


def percent_encode(text: str) -> str:
    """``text`` percent-encoded for a path segment or query value (RFC 3986:
    all but the unreserved characters), so ``$``, ``/`` and ``+`` survive."""
    return "".join(c if c in _UNRESERVED else "".join(f"%{b:02X}" for b in c.encode("utf-8")) for c in text)


def _attempt(apis: tuple[InviteApi, ...], previous: InviteAttempt) -> InviteAttempt:
    api, remaining = apis[0], apis[1:]
    form = APIS[api]
    event = Event.from_pdu(previous.pdu, previous.room_version)
    path = f"{form.path_prefix}/{percent_encode(event.room_id)}"
    if form.path_has_event_id:
        path += f"/{percent_encode(event.event_id)}"
    pdu = as_plain(previous.pdu)
    room_state = [as_plain(e) for e in previous.invite_room_state]
    if form.body_is_event:
        body: Any = {**pdu, "unsigned": {**pdu.get("unsigned", {}), "invite_room_state": room_state}}
    elif form.room_version_source == "body":
        body = {"room_version": previous.room_version.identifier, "event": pdu, "invite_room_state": room_state}
    else:
        body = {"event": pdu, "invite_room_state": room_state, "state": [as_plain(previous.create_event)]}
    return InviteAttempt(
        api, "PUT", path, body, remaining, previous.pdu, previous.room_version,
        previous.invitee_server, previous.invite_room_state, previous.create_event,
    )


def plan_invite(
    pdu: Mapping[str, Any],
    room_version: RoomVersion,
    *,
    invite_room_state: Sequence[Mapping[str, Any]] = (),
    create_event: Mapping[str, Any] | None = None,
    use_v3: bool = False,
) -> InviteAttempt:
    """The first request to send for a signed invite event ``pdu``.

    v3 is tried first only when ``use_v3`` is set, the room version allows
    it and ``create_event`` (the room's, as a PDU) is given.

    Raises:
        LocalProtocolError: ``pdu`` is not a valid invite member event of
            the room version, or its invitee is not a user ID.
    """
    try:
        event = Event.from_pdu(pdu, room_version)
        invitee = parse_user_id(event.state_key).server_name
    except MatrixError as exc:
        raise LocalProtocolError(f"not an invite we can send: {exc.message}") from None
    if event.type != "m.room.member" or event.content.get("membership") != "invite":
        raise LocalProtocolError("not an invite we can send: the event is not an invite member event")
    seed = InviteAttempt(
        InviteApi.V2, "PUT", "", None, (), MappingProxyType(dict(pdu)), room_version,
        invitee, tuple(invite_room_state), create_event,
    )
    return _attempt(_api_order(room_version, use_v3 and create_event is not None), seed)


def _unrecognized(status: int, body: Any) -> bool:
    errcode = body.get("errcode") if isinstance(body, OBJECT_TYPES) else None
    if status in (400, 404) and errcode == Errcode.M_UNRECOGNIZED.value:
        return True
    return status == 404 and errcode is None


def handle_invite_response(
    attempt: InviteAttempt, status: int, body: Any, verify_keys: KeyLookup
) -> CountersignedInvite | InviteAttempt:
    """Read the invitee's answer to ``attempt``.

    Returns:
        The countersigned invite, or the next attempt when the invitee does
        not know this endpoint and another remains.

    Raises:
        InviteRefused: any other error answer (including an unknown endpoint
            with nothing left to try).
        BadJson: a 200 answer of the wrong shape.
        InvalidParam: the returned event differs from ours beyond signatures.
        InvalidSignature: the invitee's signature (or ours) does not verify.
    """
    if status != 200:
        if _unrecognized(status, body) and attempt.remaining:
            return _attempt(attempt.remaining, attempt)
        errcode = body.get("errcode") if isinstance(body, OBJECT_TYPES) else None
        raise InviteRefused(f"{attempt.api.value} invite answered {status} {errcode}", status=status, remote_errcode=errcode)
    if APIS[attempt.api].answer_in_array:
        if not (isinstance(body, list) and len(body) == 2 and body[0] == 200):
            raise BadJson("a v1 invite answer is [200, {\"event\": ...}]")
        body = body[1]
    if not isinstance(body, OBJECT_TYPES) or not isinstance(body.get("event"), OBJECT_TYPES):
        raise BadJson("an invite answer is {\"event\": {...}}")
    returned = body["event"]
    ignored = ("signatures", "unsigned")
    if {k: v for k, v in returned.items() if k not in ignored} != {
        k: v for k, v in as_plain(attempt.pdu).items() if k not in ignored
    }:
        raise InvalidParam("the invitee changed the invite event beyond its signatures")
    version = attempt.room_version
    received = check_received_event(returned, version, verify_keys)
    if received.outcome != "accept":
        raise Forbidden(f"the returned invite fails its checks: {received.reason}")
    signatures = returned["signatures"]
    theirs = signatures.get(attempt.invitee_server)
    known = {
        k: key
        for k in (theirs if isinstance(theirs, OBJECT_TYPES) else ())
        if (key := verify_keys(attempt.invitee_server, k)) is not None
    }
    verdict = verify_signed_bytes(encode_event(returned, version).redacted_bytes, signatures, attempt.invitee_server, known)
    if not verdict.ok:
        raise Forbidden(f"the invitee's countersignature: {verdict.detail}", reason=verdict.reason)
    # Our event with the answer's signatures: the invitee's ``unsigned`` (a
    # v1 body carries invite_room_state there) is not part of the invite.
    ours = {**as_plain(attempt.pdu), "signatures": as_plain(signatures)}
    return CountersignedInvite(attempt.api, Event.from_pdu(ours, version))

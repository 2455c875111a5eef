"""The example room histories: declared stories, example rooms, and replay.

Theory of operation: the specification shows real rooms, never invented
ones. Two kinds of history are written to ``event-schemas/histories/``:

- *Declared stories* (:func:`declared_histories`): short scenarios built
  with :class:`refimpl.factories.RoomFactory` (fixed timestamps, published
  test keys), so the same code always yields the same bytes.
- *Example rooms* (:func:`build_room`): the client-format event examples of
  one room, completed into PDUs the way a server would build them, with the
  events the examples leave out declared here (:data:`EXAMPLE_ROOM_EXTRAS`)
  rather than by weakening any check.

:func:`replay` is the one judge both ``specgen examples --sign`` and
``specgen verify`` use: every event's signatures and content hash, then the
authorization rules against the state the earlier events built.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Iterable, Mapping, Sequence

from refimpl.auth_rules import RULES, auth_event_keys, authorize
from refimpl.canonical_json import as_plain
from refimpl.errors import MatrixError
from refimpl.event_signing import check_received_event, required_signatures, sign_event
from refimpl.events import Event, build_pdu
from refimpl.factories import ALICE, BOB, CAROL, IDENTITY_SERVER, RoomFactory
from refimpl.identity_service import IDENTITY_KEY_ID, onbind_payload, pubkey_is_valid, store_invite
from refimpl.identifiers import parse_user_id
from refimpl.invites import InviteApi, ReceivedInvite, handle_invite, handle_invite_response, plan_invite
from refimpl.keys import KeyLookup, SigningKey, VerifyKey
from refimpl.room_versions import RoomVersion, room_version as lookup_room_version
from refimpl.state import RoomState
from refimpl.test_keys import PUBLISHED_KEYS, seed_for_label, signing_key_for
from refimpl.third_party_invites import (
    check_bound_invites,
    handle_exchange_third_party_invite,
    handle_onbind,
    identity_key_requests,
    key_validity_requests,
    make_exchange_third_party_invite,
    read_key_validity_answer,
    third_party_invite_content,
)

__all__ = [
    "EPHEMERAL_KEY",
    "EventSpec",
    "Finding",
    "History",
    "EXAMPLE_ROOM_EXTRAS",
    "V1_INVITE_ROOM",
    "build_room",
    "declared_histories",
    "history_json",
    "replay",
    "published_key_lookup",
]


@dataclass(frozen=True)
class EventSpec:
    """What a room event says, before the server adds references, hashes and signatures."""

    type: str
    sender: str
    content: Mapping[str, Any]
    origin_server_ts: int
    state_key: str | None = None
    redacts: str | None = None
    #: Room versions 1-2 only: the ID the origin server chose.
    event_id: str | None = None


@dataclass(frozen=True)
class History:
    """One history file: its stem (``<story>-v<version>``), what happens, and the PDUs."""

    name: str
    description: str
    room_version: RoomVersion
    events: tuple[Event, ...] = field(repr=False)


def build_room(
    room_version: RoomVersion | str, room_id: str | None, specs: Sequence[EventSpec]
) -> tuple[Event, ...]:
    """The PDUs a server builds for ``specs``, in the order given.

    Each event cites the auth events :func:`auth_event_keys` selects from
    the state so far, follows the previous event, and is signed by every
    server :func:`required_signatures` names. ``room_id`` is ignored in
    room versions that derive it from the create event.

    Raises:
        MatrixError: a spec does not fit the room version (for instance a
            v1 event without an ``event_id``).
    """
    version = room_version if isinstance(room_version, RoomVersion) else lookup_room_version(room_version)
    events: list[Event] = []
    state = RoomState()
    for spec in specs:
        is_create = spec.type == "m.room.create"
        keys = auth_event_keys(spec.type, spec.sender, spec.state_key, spec.content, version)
        pdu = build_pdu(
            version,
            type=spec.type,
            sender=spec.sender,
            content=spec.content,
            origin_server_ts=spec.origin_server_ts,
            room_id=None if is_create and version.room_id_from_create_event else room_id,
            state_key=spec.state_key,
            prev_events=events[-1:],
            auth_events=state.lookup_all(keys),
            depth=len(events) + 1,
            redacts=spec.redacts,
            event_id=spec.event_id,
        )
        for server in sorted(required_signatures(pdu, version)):
            pdu = sign_event(pdu, version, server, signing_key_for(server))
        event = Event.from_pdu(pdu, version)
        if is_create:
            room_id = event.room_id
        events.append(event)
        state = state.apply(event)
    return tuple(events)


def published_key_lookup(server_name: str, key_id: str) -> VerifyKey | None:
    """The published test key of ``server_name`` if its ID is ``key_id``."""
    key = PUBLISHED_KEYS.get(server_name)
    return key.verify_key if key is not None and key.key_id == key_id else None


@dataclass(frozen=True)
class Finding:
    """Why a history event is refused: ``kind`` is ``signature``, ``hash`` or
    ``auth``; ``pointer`` is inside the event; ``rule`` is the auth rule ID."""

    index: int
    kind: str
    pointer: str
    message: str
    rule: str = ""


def _receipt_findings(index: int, pdu: Mapping[str, Any], version: RoomVersion, verify_keys: KeyLookup) -> list[Finding]:
    """What a receiving server's signature and hash checks say, located."""
    received = check_received_event(pdu, version, verify_keys)
    if received.outcome == "accept":
        return []
    if received.outcome == "redacted":
        return [Finding(index, "hash", "/hashes/sha256", "the content hash does not match the event")]
    if received.verdict is not None:
        key_id = received.verdict.key_id
        where = f"/signatures/{received.signer}/{key_id}" if key_id else "/signatures"
        return [Finding(index, "signature", where, received.verdict.detail)]
    return [Finding(index, "auth", "", received.reason, "receipt.format")]


def replay(
    events: Iterable[Mapping[str, Any]],
    room_version: RoomVersion,
    verify_keys: KeyLookup = published_key_lookup,
) -> list[Finding]:
    """Judge a linear history of PDUs as a receiving server would, event by event.

    Each event's required signatures and content hash are checked, then the
    auth rules run with the cited auth events resolved among the earlier
    accepted events; a refused event changes nothing. Never raises for
    anything in ``events``.
    """
    state = RoomState()
    known: dict[str, Event] = {}
    findings: list[Finding] = []
    for index, pdu in enumerate(events):
        pdu = pdu.pdu if isinstance(pdu, Event) else pdu
        try:
            event = Event.from_pdu(pdu, room_version)
        except MatrixError as exc:
            findings.append(Finding(index, "auth", "", exc.message, "receipt.format"))
            continue
        received = _receipt_findings(index, pdu, room_version, verify_keys)
        findings.extend(received)
        if received:
            continue
        verdict = authorize(event, state, room_version, fetch_event=known.get)
        if not verdict:
            findings.append(Finding(index, "auth", "", verdict.message or RULES[verdict.rule], verdict.rule))
            continue
        known[event.event_id] = event
        state = state.apply(event)
    return findings


def history_json(history: History) -> dict[str, Any]:
    """A history in the format ``event-schemas/histories/README.md`` describes."""
    signers: dict[str, dict[str, str]] = {}
    for event in history.events:
        for server, by_key in event.pdu.get("signatures", {}).items():
            for key_id in by_key:
                key = published_key_lookup(server, key_id)
                if key is not None:
                    signers.setdefault(server, {})[key_id] = key.public_base64
    return {
        "description": history.description,
        "room_version": history.room_version.identifier,
        "events": [as_plain(event.pdu) for event in history.events],
        "keys": {server: signers[server] for server in sorted(signers)},
    }


# -- Example rooms -----------------------------------------------------------

#: Events an example room needs but no example shows, keyed by the name of
#: the room's ``m.room.create`` example. The v11 examples show a create, a
#: message and its redaction; Alice must join and set power levels between.
EXAMPLE_ROOM_EXTRAS: Mapping[str, tuple[EventSpec, ...]] = MappingProxyType(
    {
        "m.room.create#v11": (
            EventSpec("m.room.member", ALICE, {"membership": "join", "displayname": "Alice"},
                      1732001270000, state_key=ALICE),
            EventSpec(
                "m.room.power_levels",
                ALICE,
                {"ban": 50, "events_default": 0, "invite": 0, "kick": 50, "redact": 50,
                 "state_default": 50, "users": {ALICE: 100}, "users_default": 0},
                1732001280000,
                state_key="",
            ),
        ),
    }
)


# -- Declared stories --------------------------------------------------------

#: The room of the v1 remote-invite story, which the invite v1 API examples show.
V1_INVITE_ROOM = "kQvMzRwTbLpXeJhY"

_INVITE_TOKEN = "hBqVqrxXpLvyKtRQ"


#: The identity server's ephemeral invite key: a fixed seed derived the way
#: refimpl.test_keys derives the published ones, so anyone can recompute it.
EPHEMERAL_KEY = SigningKey.from_seed(seed_for_label(f"{IDENTITY_SERVER} ephemeral"), IDENTITY_KEY_ID.partition(":")[2])

_CAROL_ADDRESS = "carol@third.example.net"


def _third_party_invite_story(version: str) -> History:
    """The walk-through of the third-party invites module, each step by
    refimpl's handler for it: store-invite at the identity server, H1's
    ``m.room.third_party_invite`` event, the onbind call to H3 once Carol
    binds the address, H3's exchange request, H1's decision with the
    identity server's answers to its key validity queries, the invite
    exchange in which H3 countersigns, and Carol's join."""
    room = RoomFactory.invite_only(version)
    identity_key = signing_key_for(IDENTITY_SERVER)
    stored, answer = store_invite(
        {"medium": "email", "address": _CAROL_ADDRESS, "room_id": room.room_id, "sender": ALICE},
        base_url=f"https://{IDENTITY_SERVER}", long_term_key=identity_key, ephemeral_key=EPHEMERAL_KEY,
        token=_INVITE_TOKEN,
    )
    room.send_state(ALICE, "m.room.third_party_invite", third_party_invite_content(answer), state_key=answer["token"])
    onbind = onbind_payload("email", _CAROL_ADDRESS, CAROL, [stored], server_name=IDENTITY_SERVER,
                            long_term_key=identity_key)
    (bound,) = handle_onbind(onbind, our_server_name=parse_user_id(CAROL).server_name)
    check_bound_invites((bound,), {query: identity_key.verify_key.public_base64
                                   for query in identity_key_requests((bound,))})
    _, skeleton = make_exchange_third_party_invite(bound)
    vouched = {identity_key.verify_key.public_base64}
    validity = {
        query.url: read_key_validity_answer(200, pubkey_is_valid(query.public_key, vouched))
        for query in key_validity_requests(room.room_id, skeleton, room.state)
    }
    fields = handle_exchange_third_party_invite(room.room_id, skeleton, room.state, validity)
    invite = room.member(fields["sender"], fields["state_key"], "invite", content=fields["content"], commit=False)
    room.add(_countersigned(room, invite))
    room.join(CAROL)
    return History(
        f"third-party-invite-v{version}",
        f"Room version {version}: Alice invites {_CAROL_ADDRESS}, which {IDENTITY_SERVER} stores; once Carol "
        "binds it, the identity server's signed proof reaches her server third.example.net (onbind), which asks "
        "example.org to exchange it for an invite; example.org checks the key with the identity server, issues "
        f"the invite, third.example.net countersigns it through {_INVITE_ENDPOINTS[version]}, and Carol joins.",
        room.room_version,
        tuple(room.events),
    )


_INVITE_ENDPOINTS = {
    "1": "PUT /_matrix/federation/v1/invite (v1)",
    "3": "PUT /_matrix/federation/v2/invite (v2)",
    "10": "PUT /_matrix/federation/v2/invite (v2)",
    "12": "the invite v3 proposal",
}


#: The endpoint each remote-invite story goes through.
_STORY_APIS = {"1": InviteApi.V1, "3": InviteApi.V2, "10": InviteApi.V2, "12": InviteApi.V3}


def _countersigned(room: RoomFactory, invite: Event) -> Event:
    """The invite as the exchange with the invitee's server ends, produced by
    refimpl's handlers on both sides: Alice's server plans the request (for
    the v1 story the invitee does not know v2, so it falls back), Bob's
    server checks and countersigns it, Alice's server checks the answer."""
    version = room.room_version.identifier
    attempt = plan_invite(invite.pdu, room.room_version, create_event=room.events[0].pdu,
                          use_v3=_STORY_APIS[version] is InviteApi.V3)
    while attempt.api is not _STORY_APIS[version]:
        attempt = handle_invite_response(attempt, 404, {"errcode": "M_UNRECOGNIZED"}, published_key_lookup)
    invitee = parse_user_id(invite.state_key).server_name
    request = ReceivedInvite(attempt.api, parse_user_id(invite.sender).server_name, invite.room_id,
                             None if attempt.api is InviteApi.V3 else invite.event_id, attempt.body)
    accepted = handle_invite(request, our_server_name=invitee, signing_key=signing_key_for(invitee),
                             verify_keys=published_key_lookup)
    return handle_invite_response(attempt, 200, accepted.answer, published_key_lookup).event


def _remote_invite_story(version: str) -> History:
    room = RoomFactory(version, room_name=V1_INVITE_ROOM if version == "1" else "room")
    room.join(ALICE)
    room.set_power_levels(ALICE, room.default_power_levels())
    room.set_join_rule(ALICE, "invite")
    room.add(_countersigned(room, room.member(ALICE, BOB, "invite", content={"displayname": "Bob"}, commit=False)))
    room.join(BOB)
    return History(
        f"remote-invite-v{version}",
        f"Room version {version}: Alice invites Bob of remote.example.com through "
        f"{_INVITE_ENDPOINTS[version]}; the invite holds both servers' signatures, and Bob joins.",
        room.room_version,
        tuple(room.events),
    )


def declared_histories() -> tuple[History, ...]:
    """Every declared story, in a fixed order.

    Raises:
        MatrixError: a story no longer fits refimpl (a bug to fix here).
    """
    stories = [_third_party_invite_story(v) for v in ("1", "3", "10", "12")]
    stories += [_remote_invite_story(v) for v in _INVITE_ENDPOINTS]
    return tuple(stories)


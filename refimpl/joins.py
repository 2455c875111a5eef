"""Joining a room through a resident server: ``make_join`` and ``send_join``.

Theory of operation (``specification/server-server-api.rst``, "Joining
Rooms"): a server whose user wants to join a room it is not in asks a
resident server for a template (:func:`handle_make_join`), fills it in,
hashes and signs it (:func:`make_join_event`), and submits it
(:func:`handle_send_join`). The resident server accepts the join only if it
is the event the path names, about the origin's own user, signed by the
origin and allowed by the room's authorization rules; it answers with the
room's state before the join and the auth chain of that state and of the
join. The joining server then judges that answer
(:func:`judge_send_join_answer`): every event on receipt and by the rules,
and its own join against the state the answer gives.

The resident side works on a :class:`HostedRoom`, an immutable linear
history with its state; accepting a join returns a new one. Signature
checks take keys as data: :func:`required_signatures` of the event says
whose keys to fetch before calling :func:`handle_send_join`.

Room versions 1 and 2 are not served: their event IDs are chosen by the
sending server, which the template round trip here does not model.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .auth_rules import auth_event_keys, authorize, check_on_receipt
from .errors import BadJson, Forbidden, IncompatibleRoomVersion, InvalidParam
from .event_ids import event_id as compute_event_id
from .event_signing import sign_event
from .events import Event, build_pdu, user_server_name
from .identifiers import parse_user_id
from .keys import KeyLookup, SigningKey, VerifyKey
from .room_versions import RoomVersion
from .server_keys import ServerKeys
from .state import RoomState

__all__ = [
    "HostedRoom",
    "next_event",
    "handle_make_join",
    "make_join_event",
    "handle_send_join",
    "JudgedEvent",
    "keys_at",
    "judge_room_events",
    "judge_send_join_answer",
    "DEFAULT_JOIN_VERSIONS",
]

#: The versions a joining server is taken to implement when ``ver`` is absent.
DEFAULT_JOIN_VERSIONS = ("1",)

_MEMBER = "m.room.member"


@dataclass(frozen=True)
class HostedRoom:
    """A room as its resident server holds it: the accepted events in
    order, and the state they form."""

    room_version: RoomVersion
    events: tuple[Event, ...]
    state: RoomState = field(default_factory=RoomState)

    @classmethod
    def from_events(cls, events: Sequence[Event], room_version: RoomVersion) -> "HostedRoom":
        state = RoomState()
        for event in events:
            state = state.apply(event)
        return cls(room_version, tuple(events), state)

    @property
    def room_id(self) -> str:
        return self.events[0].room_id

    def with_event(self, event: Event) -> "HostedRoom":
        return HostedRoom(self.room_version, (*self.events, event), self.state.apply(event))

    def auth_chain(self, events: Iterable[Event]) -> list[Event]:
        """Every event cited, directly or through others, as an auth event
        of ``events``, in history order."""
        by_id = {event.event_id: event for event in self.events}
        seen: set[str] = set()
        todo = [event_id for event in events for event_id in event.auth_event_ids]
        while todo:
            event_id = todo.pop()
            if event_id in seen or event_id not in by_id:
                continue
            seen.add(event_id)
            todo.extend(by_id[event_id].auth_event_ids)
        return [event for event in self.events if event.event_id in seen]


def _require_served(room: HostedRoom) -> None:
    if not room.room_version.event_ids_are_hashes:
        raise IncompatibleRoomVersion(
            f"joins through this server need room version 3 or later, not {room.room_version.identifier}",
            room_version=room.room_version.identifier,
        )


def next_event(
    room: HostedRoom, event_type: str, sender: str, content: Mapping[str, Any], *, state_key: str | None, now: int
) -> dict[str, Any]:
    """A new event of the resident server's making on top of the room: its
    auth events chosen from the current state, the latest event as its
    only predecessor; not yet hashed or signed."""
    _require_served(room)
    version = room.room_version
    keys = auth_event_keys(event_type, sender, state_key, content, version)
    return build_pdu(
        version,
        type=event_type,
        sender=sender,
        state_key=state_key,
        content=content,
        room_id=room.room_id,
        origin_server_ts=now,
        prev_events=[room.events[-1].event_id],
        auth_events=[event.event_id for event in room.state.lookup_all(keys)],
        depth=room.events[-1].depth + 1,
    )


def handle_make_join(
    room: HostedRoom, user_id: str, *, origin: str, supported_versions: Sequence[str], now: int
) -> dict[str, Any]:
    """The resident server's answer to ``GET /make_join/{roomId}/{userId}``.

    Args:
        user_id: the user wanting to join; must belong to ``origin``.
        supported_versions: the ``ver`` query values (empty: version 1 only).
        now: the template's ``origin_server_ts``.

    Raises:
        Forbidden: the user is not ``origin``'s, or the rules would refuse the join.
        IncompatibleRoomVersion: the room's version is not among ``supported_versions``
            (``room_version`` in the error's fields), or is one this server does not serve.
    """
    version = room.room_version
    if parse_user_id(user_id).server_name != origin:
        raise Forbidden(f"{origin} cannot ask to join for {user_id}")
    if version.identifier not in (supported_versions or DEFAULT_JOIN_VERSIONS):
        raise IncompatibleRoomVersion(
            f"the room is version {version.identifier}, which the joining server does not implement",
            room_version=version.identifier,
        )
    template = next_event(room, _MEMBER, user_id, {"membership": "join"}, state_key=user_id, now=now)
    verdict = authorize(Event.from_pdu(template, version), room.state, version)
    if not verdict:
        raise Forbidden(f"{user_id} may not join: {verdict.rule}", rule=verdict.rule)
    return {"room_version": version.identifier, "event": template}


def make_join_event(
    template_response: Mapping[str, Any], room_version: RoomVersion, server_name: str, key: SigningKey
) -> tuple[str, dict[str, Any]]:
    """The joining server's side: the template, hashed and signed; returns
    ``(event_id, pdu)`` for ``PUT /send_join/{roomId}/{eventId}``.

    Raises:
        BadJson: the answer holds no template object.
    """
    template = template_response.get("event") if isinstance(template_response, Mapping) else None
    if not isinstance(template, Mapping):
        raise BadJson("make_join answer holds no event template")
    pdu = sign_event(template, room_version, server_name, key)
    return compute_event_id(pdu, room_version), pdu


def handle_send_join(
    room: HostedRoom, event_id: str, pdu: Any, *, origin: str, verify_keys: KeyLookup
) -> tuple[HostedRoom, dict[str, Any]]:
    """The resident server's answer to ``PUT /send_join/{roomId}/{eventId}``.

    Returns the room with the join accepted, and the body of the version 2
    answer: ``state`` (the state before the join) and ``auth_chain``.

    Raises:
        BadJson: the body is not a PDU of the room's version.
        InvalidParam: it is not a join, or its room or event ID is not the path's.
        Forbidden: it is not the origin's own user's, its signatures or hashes
            do not hold, or the authorization rules refuse it.
    """
    version = room.room_version
    _require_served(room)
    event, verdict = check_on_receipt(pdu, version, verify_keys)
    if event is None:
        if verdict.rule == "receipt.format":
            raise BadJson(f"send_join body is not a room version {version.identifier} PDU: {verdict.message}")
        raise Forbidden(f"join event refused on receipt: {verdict.message}", rule=verdict.rule)
    if event.type != _MEMBER or event.content.get("membership") != "join" or event.state_key != event.sender:
        raise InvalidParam("send_join takes a join event of the sender about itself")
    if event.room_id != room.room_id:
        raise InvalidParam(f"the event is in {event.room_id}, the path names {room.room_id}")
    if event.event_id != event_id:
        raise InvalidParam(f"the event's ID is {event.event_id}, the path names {event_id}")
    if user_server_name(event.sender, "sender") != origin:
        raise Forbidden(f"{origin} cannot send a join for {event.sender}")
    verdict = authorize(event, room.state, version, fetch_event={e.event_id: e for e in room.events}.get)
    if not verdict:
        raise Forbidden(f"the join is refused: {verdict.rule}", rule=verdict.rule)
    state = list(room.state.values())
    answer = {
        "state": [dict(e.pdu) for e in state],
        "auth_chain": [dict(e.pdu) for e in room.auth_chain([*state, event])],
    }
    return room.with_event(event), answer


# -- The joining server: judging the send_join answer -------------------------------------------


@dataclass(frozen=True)
class JudgedEvent:
    """One event of a room as another server sent it, and the verdict on it."""

    event_id: str
    type: str
    state_key: str | None
    sender: str
    #: ``"allowed"``, or ``"rejected by <rule>: <why>"``.
    verdict: str

    @property
    def ok(self) -> bool:
        return self.verdict == "allowed"


def _verdict_text(verdict: Any) -> str:
    return "allowed" if verdict else f"rejected by {verdict.rule}: {verdict.message}"


def keys_at(keys: Mapping[str, ServerKeys], pdu: Mapping[str, Any], room_version: RoomVersion) -> KeyLookup:
    """The keys that may verify ``pdu``: each server's key as valid at the
    event's ``origin_server_ts`` (from room version 5 on, validity counts)."""
    sent_at = pdu.get("origin_server_ts")

    def lookup(server: str, key_id: str) -> VerifyKey | None:
        found = keys.get(server)
        return None if found is None or not isinstance(sent_at, int) else found.key_for_event(
            key_id, room_version, sent_at)

    return lookup


def judge_room_events(pdus: Sequence[Mapping[str, Any]], room_version: RoomVersion,
                      keys: Mapping[str, ServerKeys]) -> list[JudgedEvent]:
    """Each of ``pdus`` checked on receipt (format, signatures, content
    hash; its event ID computed here, so a cited auth event must be one
    hashed to that ID) and by the rules against the state its own auth
    events form, in the order given."""
    received: list[Event] = []
    judged: list[JudgedEvent] = []
    for pdu in pdus:
        event, verdict = check_on_receipt(pdu, room_version, keys_at(keys, pdu, room_version))
        if event is None:
            judged.append(JudgedEvent("?", str(pdu.get("type")), pdu.get("state_key"), str(pdu.get("sender")),
                                      _verdict_text(verdict)))
        else:
            received.append(event)
    by_id = {event.event_id: event for event in received}
    create = next((e for e in received if e.type == "m.room.create" and e.state_key == ""), None)
    for event in received:
        if create is None:
            text = "rejected: the answer holds no create event"
        else:
            cited = [by_id[i] for i in event.auth_event_ids if i in by_id]
            text = _verdict_text(authorize(event, RoomState((create, *cited)), room_version, fetch_event=by_id.get))
        judged.append(JudgedEvent(event.event_id, event.type, event.state_key, event.sender, text))
    return judged


def judge_send_join_answer(join: Mapping[str, Any], answer: Mapping[str, Any], room_version: RoomVersion,
                           keys: Mapping[str, ServerKeys]) -> tuple[list[JudgedEvent], JudgedEvent]:
    """The joining server's judgement of a ``send_join`` answer: its events
    (state and auth chain, each once) judged, and its own ``join``
    authorized against the state the answer says the room had."""
    seen: dict[str, Mapping[str, Any]] = {}
    for pdu in [*answer.get("auth_chain", ()), *answer.get("state", ())]:
        seen.setdefault(Event.from_pdu(pdu, room_version).event_id, pdu)
    judged = judge_room_events(list(seen.values()), room_version, keys)
    events = {e.event_id: e for e in (Event.from_pdu(p, room_version) for p in seen.values())}
    state = RoomState(Event.from_pdu(p, room_version) for p in answer.get("state", ()))
    event, verdict = check_on_receipt(join, room_version, keys_at(keys, join, room_version))
    if event is not None:
        verdict = authorize(event, state, room_version, fetch_event=events.get)
    ours = JudgedEvent(event.event_id if event else "?", _MEMBER, join.get("state_key"), str(join.get("sender")),
                       _verdict_text(verdict))
    return judged, ours

"""refimpl's judgement on a room's events as another server sent them.

The joining server's side of ``send_join``: every PDU of the answer's
``state`` and ``auth_chain`` goes through the checks on receipt (format,
the signatures of every server that must sign, the content hash), its
event ID is computed by refimpl (the answer carries none from room version
3 on, so each cited ``auth_events`` ID must name an event refimpl hashed to
that same ID), and the authorization rules run against the state its own
auth events form. The join itself is then authorized against the state
the answer says the room had.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from refimpl.auth_rules import authorize, check_on_receipt
from refimpl.events import Event
from refimpl.keys import KeyLookup, VerifyKey
from refimpl.room_versions import RoomVersion
from refimpl.server_keys import ServerKeys
from refimpl.state import RoomState

_CREATE = "m.room.create"


@dataclass(frozen=True)
class Judged:
    event_id: str
    type: str
    state_key: str | None
    sender: str
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


def judge_room(pdus: Sequence[Mapping[str, Any]], room_version: RoomVersion,
               keys: Mapping[str, ServerKeys]) -> list[Judged]:
    """Each of ``pdus`` checked on receipt and against the rules, in the order given."""
    received: list[Event] = []
    judged: list[Judged] = []
    for pdu in pdus:
        event, verdict = check_on_receipt(pdu, room_version, keys_at(keys, pdu, room_version))
        if event is None:
            judged.append(Judged("?", str(pdu.get("type")), pdu.get("state_key"), str(pdu.get("sender")),
                                 _verdict_text(verdict)))
        else:
            received.append(event)
    by_id = {event.event_id: event for event in received}
    create = next((e for e in received if e.type == _CREATE and e.state_key == ""), None)
    for event in received:
        if create is None:
            verdict_text = "rejected: the answer holds no create event"
        else:
            cited = [by_id[i] for i in event.auth_event_ids if i in by_id]
            verdict_text = _verdict_text(
                authorize(event, RoomState((create, *cited)), room_version, fetch_event=by_id.get)
            )
        judged.append(Judged(event.event_id, event.type, event.state_key, event.sender, verdict_text))
    return judged


def judge_join(join: Mapping[str, Any], answer: Mapping[str, Any], room_version: RoomVersion,
               keys: Mapping[str, ServerKeys]) -> tuple[list[Judged], Judged]:
    """The ``send_join`` answer's events judged (state and auth chain, each
    once), and our join authorized against the answer's state."""
    seen: dict[str, Mapping[str, Any]] = {}
    for pdu in [*answer.get("auth_chain", ()), *answer.get("state", ())]:
        seen.setdefault(Event.from_pdu(pdu, room_version).event_id, pdu)
    judged = judge_room(list(seen.values()), room_version, keys)
    events = {e.event_id: e for e in (Event.from_pdu(p, room_version) for p in seen.values())}
    state = RoomState(Event.from_pdu(p, room_version) for p in answer.get("state", ()))
    event, verdict = check_on_receipt(join, room_version, keys_at(keys, join, room_version))
    if event is not None:
        verdict = authorize(event, state, room_version, fetch_event=events.get)
    ours = Judged(event.event_id if event else "?", "m.room.member", join.get("state_key"), str(join.get("sender")),
                  _verdict_text(verdict))
    return judged, ours

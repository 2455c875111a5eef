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
from urllib.parse import urlencode

from refimpl.auth_rules import authorize, check_on_receipt
from refimpl.events import Event
from refimpl.joins import make_join_event
from refimpl.keys import KeyLookup, VerifyKey
from refimpl.room_versions import RoomVersion
from refimpl.server_keys import ServerKeys, parse_server_keys
from refimpl.state import RoomState
from refimpl.transport.http_client import target
from wire import now_ms

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


@dataclass(frozen=True)
class Joined:
    """What one join of ours into a Synapse room exchanged, and refimpl's verdicts."""

    made: Any
    sent: Any
    judged: list[Judged]
    ours: Judged
    keys: Mapping[str, ServerKeys]


async def join_synapse_room(ours, synapse, room_id: str, user: str, room_version: RoomVersion, *,
                            api: str = "v2", versions: Sequence[str] = ("10", "11", "12")) -> Joined:
    """Our ``user`` joins ``room_id`` on Synapse (make_join, then send_join in
    ``api``); every event of the answer must pass refimpl's checks and our
    join must be allowed by the state Synapse sent."""
    made = await ours.client.request(
        synapse.server_name, "GET",
        target("/_matrix/federation/v1/make_join/{roomId}/{userId}", roomId=room_id, userId=user)
        + "?" + urlencode([("ver", v) for v in versions]), sign=True)
    assert made.status == 200, made.response_text
    event_id, join = make_join_event(made.response_body, room_version, ours.server_name, ours.signing_key)
    sent = await ours.client.request(
        synapse.server_name, "PUT",
        target(f"/_matrix/federation/{api}/send_join/{{roomId}}/{{eventId}}", roomId=room_id, eventId=event_id),
        body=join, sign=True)
    assert sent.status == 200, sent.response_text
    # v1 answers [200, {...}], the form kept from before v2.
    if api == "v1":
        assert sent.response_body[0] == 200
    answer = sent.response_body[1] if api == "v1" else sent.response_body
    keys = {synapse.server_name: await ours.keyring.server_keys(synapse.server_name, needed_until=now_ms()),
            ours.server_name: parse_server_keys(ours.key_document, received_ts=now_ms())}
    judged, our_join = judge_join(join, answer, room_version, keys)
    assert not [j for j in judged if not j.ok], judged
    assert our_join.ok, our_join
    return Joined(made, sent, judged, our_join, keys)

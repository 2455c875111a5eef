"""Our joins into Synapse's rooms, judged by refimpl.

The joining server's side of ``send_join`` is refimpl's
(:func:`refimpl.joins.judge_send_join_answer`): every PDU of the answer's
state and auth chain checked on receipt and by the authorization rules, and
our join authorized against the state Synapse says the room had.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from refimpl.factories import RoomFactory
from refimpl.joins import JudgedEvent, judge_send_join_answer, make_join_event
from refimpl.room_versions import RoomVersion
from refimpl.server_keys import ServerKeys, parse_server_keys
from refimpl.transport.http_client import target
from wire import now_ms

def our_room(ours, user: str, version: str, join_rule: str) -> RoomFactory:
    """A room ``user`` made on our homeserver ``ours``: created, joined,
    the default power levels and ``join_rule`` set."""
    factory = RoomFactory(version, creator=user, signing_keys={ours.server_name: ours.signing_key})
    factory.join(user)
    factory.set_power_levels(user, factory.default_power_levels())
    factory.set_join_rule(user, join_rule)
    return factory


#: The room versions the flows with Synapse run in and our joins offer
#: (``make_join``'s ``ver``): the current ones.
ROOM_VERSIONS = ("10", "11", "12")


@dataclass(frozen=True)
class Joined:
    """What one join of ours into a Synapse room exchanged, and refimpl's verdicts."""

    made: Any
    sent: Any
    judged: list[JudgedEvent]
    ours: JudgedEvent
    keys: Mapping[str, ServerKeys]


async def join_synapse_room(ours, synapse, room_id: str, user: str, room_version: RoomVersion, *,
                            api: str = "v2", versions: Sequence[str] = ROOM_VERSIONS) -> Joined:
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
    judged, our_join = judge_send_join_answer(join, answer, room_version, keys)
    assert not [j for j in judged if not j.ok], judged
    assert our_join.ok, our_join
    return Joined(made, sent, judged, our_join, keys)

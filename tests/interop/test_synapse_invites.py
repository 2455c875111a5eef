"""Invites across the two implementations, each way, in room versions 10, 11 and 12.

Narrative: Bob's server (refimpl, over TLS) holds an invite-only room in
version 10, 11 or 12 that refimpl built. Bob invites Erin, a Synapse user.
refimpl's send plan tries the invite v3 proposal first (the room's create
event in the body); Synapse does not know that endpoint, so the plan falls
back to v2, which Synapse answers with the event countersigned. refimpl
checks the answer: our event unchanged but for signatures, Synapse's
signature valid with the keys our key ring fetched. Bob's server adds the
countersigned invite to the room, and Erin joins it through Synapse, which
runs make_join and send_join against refimpl and accepts the room's events.

The other way: Alice, on Synapse, creates a private room and invites Bob.
Synapse sends the invite to Bob's server (v2), whose handler checks it
(Alice's server's signature with the keys our key ring fetched, the
content hash, the event ID, the invite's shape) and countersigns it;
Synapse accepts the countersignature. Bob then joins through make_join and
send_join, and refimpl judges every event Synapse sends back, the invite
among them.
"""

from __future__ import annotations

import asyncio
from urllib.parse import quote

import pytest

from our_server import TlsServerTable, client_session, our_homeserver
from refimpl.invites import CountersignedInvite, handle_invite_response, plan_invite, stripped_state
from refimpl.joins import HostedRoom
from refimpl.keys import key_lookup
from refimpl.room_versions import room_version
from room_check import ROOM_VERSIONS, join_synapse_room, our_room
from wire import now_ms


@pytest.mark.parametrize("version", ROOM_VERSIONS)
def test_our_user_invites_a_synapse_user(wire, synapse, tls, version):
    asyncio.run(_invite(wire, synapse, tls, version))


async def _invite(wire, synapse, tls, version):
    erin_token = await asyncio.to_thread(synapse.register, f"erin_v{version}")
    erin = f"@erin_v{version}:{synapse.server_name}"
    table = TlsServerTable()
    table.register(synapse.server_name, synapse.port)
    async with client_session(tls) as session, our_homeserver(tls, table, session, wire.observe) as ours:
        bob = f"@bob:{ours.server_name}"
        factory = our_room(ours, bob, version, "invite")
        invite = factory.member(bob, erin, "invite", commit=False)

        theirs = await ours.keyring.server_keys(synapse.server_name, needed_until=now_ms())
        wire.judge(wire.records[-1].exchange, f"Synapse's keys accepted by our key ring: {sorted(theirs.verify_keys)}")
        keys = key_lookup({synapse.server_name: dict(theirs.verify_keys),
                           ours.server_name: {ours.signing_key.key_id: ours.signing_key.verify_key}})
        shown = [stripped_state(e.pdu) for e in factory.state.values() if e.type != "m.room.member"]
        attempt = plan_invite(invite.pdu, factory.room_version, invite_room_state=shown,
                              create_event=factory.events[0].pdu, use_v3=True)
        tried = []
        while True:
            sent = await ours.client.request(synapse.server_name, attempt.method, attempt.path,
                                             body=attempt.body, sign=True)
            outcome = handle_invite_response(attempt, sent.status, sent.response_body, keys)
            tried.append(attempt.api.value)
            if isinstance(outcome, CountersignedInvite):
                wire.judge(sent, f"{attempt.api.value} accepted: the returned event is ours, countersigned "
                                 f"by Synapse, and both signatures verify")
                break
            wire.judge(sent, f"Synapse does not know {attempt.api.value} ({sent.status} {sent.errcode}): "
                             f"fall back to {outcome.api.value}")
            attempt = outcome
        assert tried == ["v3", "v2"]

        room = HostedRoom.from_events([*factory.events, outcome.event], factory.room_version)
        ours.rooms[room.room_id] = room
        joined = await asyncio.to_thread(
            synapse.call, "POST",
            f"/_matrix/client/v3/join/{quote(room.room_id, safe='')}?server_name={quote(ours.server_name)}",
            {}, token=erin_token)
        assert joined.status == 200, joined.body
        for record in wire.records:
            if record.exchange.destination == ours.server_name and "/send_join/" in record.exchange.path:
                wire.judge(record.exchange, "refimpl accepted Erin's join (invited); Synapse accepted the "
                                            "room's events")
        accepted = ours.rooms[room.room_id].events[-1]
        assert (accepted.type, accepted.state_key, accepted.content["membership"]) == ("m.room.member", erin, "join")


@pytest.mark.parametrize("version", ROOM_VERSIONS)
def test_synapse_user_invites_our_user(wire, synapse, tls, version):
    asyncio.run(_invited(wire, synapse, tls, version))


async def _invited(wire, synapse, tls, version):
    alice = await asyncio.to_thread(synapse.register, f"alice_inviting_v{version}")
    room_id = await asyncio.to_thread(synapse.create_room, alice, preset="private_chat", room_version=version)
    rules = room_version(version)
    table = TlsServerTable()
    table.register(synapse.server_name, synapse.port)
    async with client_session(tls) as session, our_homeserver(tls, table, session, wire.observe) as ours:
        bob = f"@bob:{ours.server_name}"
        invited = await asyncio.to_thread(synapse.call, "POST",
                                          f"/_matrix/client/v3/rooms/{quote(room_id, safe='')}/invite",
                                          {"user_id": bob}, token=alice)
        assert invited.status == 200, invited.body
        (accepted,) = ours.invites
        assert (accepted.event.state_key, accepted.event.room_id) == (bob, room_id)
        for record in wire.records:
            if record.exchange.destination == ours.server_name and "/invite/" in record.exchange.path:
                wire.judge(record.exchange, "refimpl checked Synapse's invite (signature, hash, event ID, "
                                            "shape) and countersigned it; Synapse accepted the countersignature")

        joined = await join_synapse_room(ours, synapse, room_id, bob, rules)
        wire.judge(joined.made, "a join template for the invited user")
        judged = joined.judged
        assert any(j.type == "m.room.member" and j.state_key == bob for j in judged), "the invite is not in the answer"
        wire.judge(joined.sent, f"{len(judged)} events, our countersigned invite among them, pass refimpl's "
                                f"checks; the join is allowed by the state sent")

    members = await asyncio.to_thread(synapse.call, "GET",
                                      f"/_matrix/client/v3/rooms/{quote(room_id, safe='')}/joined_members",
                                      token=alice)
    assert bob in members.body["joined"], members.body

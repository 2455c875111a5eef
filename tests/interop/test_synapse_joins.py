"""Joins across the two implementations, each way, in room versions 10, 11 and 12.

Narrative: Alice, on Synapse, creates a public room in room version 10, 11
or 12, with a name and a topic, and says hello. Bob's server (refimpl's homeserver, over TLS on 127.0.0.1) asks
Synapse for a join template, signing the request with X-Matrix; Synapse
can only accept it by fetching Bob's server's keys from us, which it does.
refimpl hashes and signs the template and sends it back with send_join
(v2 for Bob, and v1, with its ``[200, {...}]`` answer, for Carol).
Synapse answers with the room's state and auth chain, and refimpl checks
every event of it: the signatures with Synapse's keys (fetched by our key
ring), the content hashes, the event IDs (every cited auth event must be
one refimpl hashed to that ID) and the authorization rules, each event
against the state its own auth events form; our join is then authorized
against the state Synapse sent. Finally Alice sees Bob and Carol in the room.

The other way: Bob's server holds a public room whose every event refimpl
built and signed. Dave, on Synapse, joins it by room ID through Bob's
server; Synapse runs make_join and send_join against refimpl's handlers and
accepts the join only if every event refimpl sent passes Synapse's own
checks (signatures with the keys it fetched from us, hashes, auth rules).
Synapse then lists Dave and Bob as the room's members.
"""

from __future__ import annotations

import asyncio
from urllib.parse import quote

import pytest

from our_server import TlsServerTable, client_session, our_homeserver
from refimpl.joins import HostedRoom
from refimpl.room_versions import room_version
from room_check import ROOM_VERSIONS, join_synapse_room, our_room


@pytest.mark.parametrize("version", ROOM_VERSIONS)
def test_our_user_joins_a_public_synapse_room(wire, synapse, tls, version):
    asyncio.run(_join(wire, synapse, tls, version))


async def _join(wire, synapse, tls, version):
    alice = await asyncio.to_thread(synapse.register, f"alice_v{version}")
    room_id = await asyncio.to_thread(synapse.create_room, alice, preset="public_chat", room_version=version,
                                      name="interop", topic=f"room version {version}")
    said = await asyncio.to_thread(synapse.call, "PUT", f"/_matrix/client/v3/rooms/{quote(room_id, safe='')}"
                                   f"/send/m.room.message/1", {"msgtype": "m.text", "body": "hello"}, token=alice)
    assert said.status == 200, said.body
    rules = room_version(version)

    table = TlsServerTable()
    table.register(synapse.server_name, synapse.port)
    async with client_session(tls) as session, our_homeserver(tls, table, session, wire.observe) as ours:
        first = True
        for user, api in ((f"@bob:{ours.server_name}", "v2"), (f"@carol:{ours.server_name}", "v1")):
            joined = await join_synapse_room(ours, synapse, room_id, user, rules, api=api)
            if first:
                theirs = joined.keys[synapse.server_name]
                wire.judge(wire.records[-1].exchange,
                           f"Synapse's keys accepted by our key ring: {sorted(theirs.verify_keys)}")
                first = False
            assert joined.made.response_body["room_version"] == version
            fetched = [r for r in wire.records if r.exchange.destination == ours.server_name
                       and r.exchange.path == "/_matrix/key/v2/server"]
            assert fetched, "Synapse accepted our X-Matrix request without fetching our keys"
            wire.judge(joined.made, f"X-Matrix accepted: a join template for {user}")
            kinds = sorted({j.type for j in joined.judged})
            wire.judge(joined.sent, f"{api}: {len(joined.judged)} events ({', '.join(kinds)}) pass signatures, "
                                    f"hashes, IDs and auth rules; the join {joined.ours.event_id} is allowed by "
                                    f"the state sent")

    members = await asyncio.to_thread(synapse.call, "GET", f"/_matrix/client/v3/rooms/{room_id}/joined_members",
                                      token=alice)
    assert {f"@bob:{ours.server_name}", f"@carol:{ours.server_name}"} <= set(members.body["joined"]), members.body


@pytest.mark.parametrize("version", ROOM_VERSIONS)
def test_synapse_user_joins_our_public_room(wire, synapse, tls, version):
    asyncio.run(_joined_by_synapse(wire, synapse, tls, version))


async def _joined_by_synapse(wire, synapse, tls, version):
    dave = await asyncio.to_thread(synapse.register, f"dave_v{version}")
    table = TlsServerTable()
    table.register(synapse.server_name, synapse.port)
    async with client_session(tls) as session, our_homeserver(tls, table, session, wire.observe) as ours:
        bob = f"@bob:{ours.server_name}"
        factory = our_room(ours, bob, version, "public")
        room = HostedRoom.from_events(factory.events, factory.room_version)
        ours.rooms[room.room_id] = room

        joined = await asyncio.to_thread(
            synapse.call, "POST",
            f"/_matrix/client/v3/join/{quote(room.room_id, safe='')}?server_name={quote(ours.server_name)}",
            {}, token=dave)
        assert joined.status == 200, joined.body
        for record in wire.records:
            exchange = record.exchange
            if exchange.destination == ours.server_name and "/send_join/" in exchange.path:
                wire.judge(exchange, f"refimpl accepted Synapse's join and sent {len(room.events)} events; "
                                     f"Synapse accepted them all (its join succeeded)")
            elif exchange.destination == synapse.server_name and exchange.path == "/_matrix/key/v2/server":
                wire.judge(exchange, "Synapse's keys accepted by our key ring, to check its X-Matrix")

        members = await asyncio.to_thread(
            synapse.call, "GET", f"/_matrix/client/v3/rooms/{quote(room.room_id, safe='')}/joined_members",
            token=dave)
        assert set(members.body["joined"]) == {bob, f"@dave_v{version}:{synapse.server_name}"}, members.body
        accepted = ours.rooms[room.room_id].events[-1]
        assert (accepted.type, accepted.state_key) == ("m.room.member", f"@dave_v{version}:{synapse.server_name}")

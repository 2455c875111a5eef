"""Our user joins public Synapse rooms with make_join and send_join.

Narrative: Alice, on Synapse, creates a public room in room version 10, 11
or 12. Bob's server (refimpl's homeserver, over TLS on 127.0.0.1) asks
Synapse for a join template, signing the request with X-Matrix; Synapse
can only accept it by fetching Bob's server's keys from us, which it does.
refimpl hashes and signs the template and sends it back with send_join.
Synapse answers with the room's state and auth chain, and refimpl checks
every event of it: the signatures with Synapse's keys (fetched by our key
ring), the content hashes, the event IDs (every cited auth event must be
one refimpl hashed to that ID) and the authorization rules, each event
against the state its own auth events form; our join is then authorized
against the state Synapse sent. Finally Alice sees Bob in the room.
"""

from __future__ import annotations

import asyncio
from urllib.parse import urlencode

import pytest

from our_server import TlsServerTable, client_session, our_homeserver
from refimpl.joins import make_join_event
from refimpl.room_versions import room_version
from refimpl.server_keys import parse_server_keys
from refimpl.transport.http_client import target
from room_check import judge_join
from wire import now_ms

ROOM_VERSIONS = ("10", "11", "12")


@pytest.mark.parametrize("version", ROOM_VERSIONS)
def test_our_user_joins_a_public_synapse_room(wire, synapse, tls, version):
    asyncio.run(_join(wire, synapse, tls, version))


async def _join(wire, synapse, tls, version):
    alice = await asyncio.to_thread(synapse.register, f"alice_v{version}")
    created = await asyncio.to_thread(synapse.call, "POST", "/_matrix/client/v3/createRoom",
                                      {"preset": "public_chat", "room_version": version}, token=alice)
    assert created.status == 200, created.body
    room_id = created.body["room_id"]
    rules = room_version(version)

    table = TlsServerTable()
    table.register(synapse.server_name, synapse.port)
    async with client_session(tls) as session, our_homeserver(tls, table, session, wire.observe) as ours:
        bob = f"@bob:{ours.server_name}"
        ver = urlencode([("ver", v) for v in ROOM_VERSIONS])
        made = await ours.client.request(
            synapse.server_name, "GET",
            target("/_matrix/federation/v1/make_join/{roomId}/{userId}", roomId=room_id, userId=bob) + "?" + ver,
            sign=True)
        assert made.status == 200, made.response_text
        assert made.response_body["room_version"] == version
        fetched = [r for r in wire.records if r.exchange.destination == ours.server_name
                   and r.exchange.path == "/_matrix/key/v2/server"]
        assert fetched, "Synapse accepted our X-Matrix request without fetching our keys"
        wire.judge(made, "X-Matrix accepted: a join template for our user")

        event_id, join = make_join_event(made.response_body, rules, ours.server_name, ours.signing_key)
        sent = await ours.client.request(
            synapse.server_name, "PUT",
            target("/_matrix/federation/v2/send_join/{roomId}/{eventId}", roomId=room_id, eventId=event_id),
            body=join, sign=True)
        assert sent.status == 200, sent.response_text

        theirs = await ours.keyring.server_keys(synapse.server_name, needed_until=now_ms())
        wire.judge(wire.records[-1].exchange, f"Synapse's keys accepted by our key ring: {sorted(theirs.verify_keys)}")
        keys = {synapse.server_name: theirs,
                ours.server_name: parse_server_keys(ours.key_document, received_ts=now_ms())}
        judged, our_join = judge_join(join, sent.response_body, rules, keys)
        refused = [j for j in judged if not j.ok]
        assert not refused, refused
        assert our_join.ok, our_join
        kinds = sorted({j.type for j in judged})
        wire.judge(sent, f"{len(judged)} events ({', '.join(kinds)}) pass signatures, hashes, IDs and auth "
                         f"rules; our join {our_join.event_id} is allowed by the state sent")

    members = await asyncio.to_thread(synapse.call, "GET", f"/_matrix/client/v3/rooms/{room_id}/joined_members",
                                      token=alice)
    assert bob in members.body["joined"], members.body

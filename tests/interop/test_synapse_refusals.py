"""Synapse refuses what it must, with the codes our definitions declare.

Narrative: Bob's server (refimpl, over TLS) asks Synapse for join templates
that Synapse must refuse: one signed with a key Bob's server does not
publish (Synapse fetches our real keys, and the signature fails), one for
a user of another server, and one whose ``ver`` list leaves out the room's
version. Each answer's status and errcode are held to ``api/``.
"""

from __future__ import annotations

import asyncio
import os
from urllib.parse import urlencode

from our_server import TlsServerTable, client_session, our_homeserver
from refimpl.keys import SigningKey
from refimpl.transport.http_client import HttpClient, target
from room_check import ROOM_VERSIONS


def test_synapse_refuses_bad_join_requests(wire, synapse, tls):
    asyncio.run(_refusals(wire, synapse, tls))


async def _refusals(wire, synapse, tls):
    alice = await asyncio.to_thread(synapse.register, "alice_refusals")
    room_id = await asyncio.to_thread(synapse.create_room, alice, preset="public_chat", room_version="11")
    table = TlsServerTable()
    table.register(synapse.server_name, synapse.port)
    async with client_session(tls) as session, our_homeserver(tls, table, session, wire.observe) as ours:
        def make_join(user_id, versions=ROOM_VERSIONS):
            return target("/_matrix/federation/v1/make_join/{roomId}/{userId}", roomId=room_id, userId=user_id) \
                + "?" + urlencode([("ver", v) for v in versions])

        bob = f"@bob:{ours.server_name}"
        impostor = HttpClient(session, table, origin=ours.server_name, observer=wire.observe,
                              signing_key=SigningKey.from_seed(os.urandom(32), ours.signing_key.version))
        forged = await impostor.request(synapse.server_name, "GET", make_join(bob), sign=True)
        assert (forged.status, forged.errcode) == (401, "M_UNAUTHORIZED"), forged.response_text
        wire.judge(forged, "refused as it must be: signed with a key we do not publish")

        other = await ours.client.request(synapse.server_name, "GET", make_join(f"@carol:{synapse.server_name}"),
                                          sign=True)
        assert other.status == 403, other.response_text
        wire.judge(other, f"refused as it must be: a user of another server ({other.errcode})")

        old = await ours.client.request(synapse.server_name, "GET", make_join(bob, ("9",)), sign=True)
        assert (old.status, old.errcode) == (400, "M_INCOMPATIBLE_ROOM_VERSION"), old.response_text
        assert old.response_body.get("room_version") == "11"
        wire.judge(old, "refused as it must be: the room's version is not among ver")

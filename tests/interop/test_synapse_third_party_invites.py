"""A Synapse user invites an email address through our identity server.

Narrative: Alice, on Synapse, invites erin@example.org into her private
room in version 10, 11 or 12, naming our identity server (refimpl's, over
TLS) and an access token it issued. Synapse asks our identity server to
store the invite and puts its answer (the token, the long-term and
ephemeral public keys, their key_validity_url) into an
``m.room.third_party_invite`` event. Later the identity server binds the
address to Erin, a user of our homeserver, and tells our homeserver
(``3pid/onbind``), which asks Synapse to turn the stored invite into a real
one (``exchange_third_party_invite``). Synapse checks the identity
server's signature and the key's validity with our identity server, issues
the invite and sends it to our homeserver, which countersigns it. Erin then
joins through make_join and send_join, and refimpl judges every event of
the answer, the third-party invite and the invite it became among them.
"""

from __future__ import annotations

import asyncio
from urllib.parse import quote

import pytest

from our_server import TlsServerTable, client_session, our_homeserver, our_identity_server
from refimpl.room_versions import room_version
from room_check import ROOM_VERSIONS, join_synapse_room

TOKEN = "synapse-token"


@pytest.mark.parametrize("version", ROOM_VERSIONS)
def test_third_party_invite_through_our_identity_server(wire, synapse, tls, version):
    asyncio.run(_third_party(wire, synapse, tls, version))


async def _third_party(wire, synapse, tls, version):
    alice = await asyncio.to_thread(synapse.register, f"alice_3pid_v{version}")
    room_id = await asyncio.to_thread(synapse.create_room, alice, preset="private_chat", room_version=version)
    address = f"erin.v{version}@example.org"
    rules = room_version(version)
    table = TlsServerTable()
    table.register(synapse.server_name, synapse.port)
    async with client_session(tls) as session, \
            our_identity_server(tls, table, session, wire.observe, access_tokens=[TOKEN]) as identity, \
            our_homeserver(tls, table, session, wire.observe) as ours:
        erin = f"@erin:{ours.server_name}"
        invited = await asyncio.to_thread(
            synapse.call, "POST", f"/_matrix/client/v3/rooms/{quote(room_id, safe='')}/invite",
            {"id_server": identity.server_name, "id_access_token": TOKEN, "medium": "email", "address": address},
            token=alice)
        assert invited.status == 200, invited.body
        assert [(i.medium, i.address) for i in identity.invites.values()] == [("email", address)]

        onbind = await identity.bind("email", address, erin)
        assert onbind is not None and onbind.status == 200, onbind
        wire.judge(onbind, "refimpl's homeserver took the bound invite and asked Synapse to exchange it")
        (accepted,) = ours.invites
        assert accepted.event.state_key == erin and "third_party_invite" in accepted.event.content
        for record in wire.records:
            path = record.exchange.path
            if "/exchange_third_party_invite/" in path:
                wire.judge(record.exchange, "Synapse accepted the identity server's signature and issued the invite")
            elif record.exchange.destination == ours.server_name and "/invite/" in path:
                wire.judge(record.exchange, "refimpl checked the third-party invite Synapse issued and "
                                            "countersigned it")

        joined = await join_synapse_room(ours, synapse, room_id, erin, rules)
        wire.judge(joined.made, "a join template for the invited user")
        judged = joined.judged
        kinds = sorted({j.type for j in judged})
        assert "m.room.third_party_invite" in kinds, kinds
        wire.judge(joined.sent, f"{len(judged)} events ({', '.join(kinds)}) pass refimpl's checks; the join is allowed")

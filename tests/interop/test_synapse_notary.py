"""Synapse as the notary between two of our servers.

Narrative: Bob's server (refimpl) wants the keys of Carol's server (refimpl
too) and asks through Synapse, its configured notary, the way refimpl's key
ring does: ``GET /_matrix/key/v2/query/{serverName}`` with
``minimum_valid_until_ts``. Synapse answers that form from its cache alone,
and has never seen Carol's server, so the answer is empty and the key ring
refuses (finding K1 of the note). Then the batch form naming Carol's key
makes Synapse fetch it from Carol's server over TLS; refimpl verifies the
co-signed answer. Asked again, Synapse serves it from its cache, and the
key ring accepts Carol's key through the notary.
"""

from __future__ import annotations

import asyncio

import pytest

from our_server import TlsServerTable, client_session, our_homeserver
from refimpl.errors import Forbidden
from refimpl.server_keys import verify_key_query_response
from refimpl.transport.http_client import HttpClient
from wire import now_ms


def test_synapse_notarises_our_keys(wire, synapse, tls):
    asyncio.run(_notary(wire, synapse, tls))


async def _notary(wire, synapse, tls):
    table = TlsServerTable()
    table.register(synapse.server_name, synapse.port)
    async with client_session(tls) as session, \
            our_homeserver(tls, table, session, wire.observe) as carol, \
            our_homeserver(tls, table, session, wire.observe, notary=synapse.server_name) as bob:
        with pytest.raises(Forbidden):
            await bob.keyring.server_keys(carol.server_name, needed_until=now_ms())
        asked = wire.records[-1].exchange
        assert asked.path.startswith("/_matrix/key/v2/query/") and asked.response_body == {"server_keys": []}
        wire.judge(asked, "refused by our key ring: the notary holds no keys of Carol's server (K1)")

        synapse_keys = bob.keyring.cached(synapse.server_name)
        for record in wire.records:
            if record.exchange.destination == synapse.server_name and record.exchange.path == "/_matrix/key/v2/server":
                wire.judge(record.exchange, f"Synapse's keys accepted by our key ring, to check the notary's "
                                            f"signatures: {sorted(synapse_keys.verify_keys)}")
        key_id = carol.signing_key.key_id
        anonymous = HttpClient(session, table, observer=wire.observe)
        body = {"server_keys": {carol.server_name: {key_id: {"minimum_valid_until_ts": now_ms()}}}}
        posted = await anonymous.request(synapse.server_name, "POST", "/_matrix/key/v2/query", body=body)
        (answer,) = verify_key_query_response(posted.response_body, notary_name=synapse.server_name,
                                              notary_keys=synapse_keys.verify_keys, now=now_ms(),
                                              requested=[carol.server_name])
        assert dict(answer.verify_keys) == {key_id: carol.signing_key.verify_key}
        wire.judge(posted, "accepted: Carol's key, signed by Carol's server and co-signed by Synapse")

        keys = await bob.keyring.server_keys(carol.server_name, needed_until=now_ms())
        assert dict(keys.verify_keys) == {key_id: carol.signing_key.verify_key}
        wire.judge(wire.records[-1].exchange, "accepted by our key ring through the notary, from its cache")

"""Synapse as the notary between our servers.

Narrative: Bob's server (refimpl) checks a request from Carol's server
(refimpl too) and needs Carol's key through Synapse, its configured
notary, which has never seen Carol's server. The key ring names the key
the request's ``X-Matrix`` header names: ``POST /_matrix/key/v2/query``
with ``minimum_valid_until_ts``. Synapse fetches the key from Carol's
server over TLS and co-signs it; the key ring accepts it. For Dave's
server the ring knows no key ID and asks the all-keys GET form, which
Synapse answers from its cache alone (finding K1 of the note): nothing,
so the ring fetches Dave's keys from Dave's server itself.
"""

from __future__ import annotations

import asyncio
from urllib.parse import quote

from our_server import TlsServerTable, client_session, our_homeserver


def test_synapse_notarises_our_keys(wire, synapse, tls):
    asyncio.run(_notary(wire, synapse, tls))


async def _notary(wire, synapse, tls):
    table = TlsServerTable()
    table.register(synapse.server_name, synapse.port)
    async with client_session(tls) as session, \
            our_homeserver(tls, table, session, wire.observe) as carol, \
            our_homeserver(tls, table, session, wire.observe) as dave, \
            our_homeserver(tls, table, session, wire.observe, notary=synapse.server_name) as bob:
        key_id = carol.signing_key.key_id
        key = await bob.keyring.current_key(carol.server_name, key_id)
        assert key == carol.signing_key.verify_key
        asked = _last(wire, synapse.server_name, "/_matrix/key/v2/query")
        assert (asked.method, asked.origin, asked.status) == ("POST", bob.server_name, 200)
        (criterion,) = asked.request_body["server_keys"][carol.server_name].items()
        assert criterion[0] == key_id and isinstance(criterion[1]["minimum_valid_until_ts"], int)
        fetched = _to(wire, carol.server_name, "/_matrix/key/v2/server")
        assert fetched and all(exchange.origin != bob.server_name for exchange in fetched)
        wire.judge(fetched[-1], "Carol's server answered Synapse's fetch of its keys, over TLS")
        wire.judge(asked, "accepted by our key ring: Carol's key, signed by Carol's server and co-signed by Synapse")
        synapse_keys = bob.keyring.cached(synapse.server_name)
        for record in wire.records:
            if record.exchange.destination == synapse.server_name and record.exchange.path == "/_matrix/key/v2/server":
                wire.judge(record.exchange, f"Synapse's keys accepted by our key ring, to check the notary's "
                                            f"signatures: {sorted(synapse_keys.verify_keys)}")

        # Ports are reused between tests, so Synapse may hold a copy from an
        # earlier server of Dave's name; needing keys valid as long as Dave's
        # own document leaves only that document to serve.
        needed = dave.key_document["valid_until_ts"]
        keys = await bob.keyring.server_keys(dave.server_name, needed_until=needed)
        assert dict(keys.verify_keys) == {dave.signing_key.key_id: dave.signing_key.verify_key}
        cached = _last(wire, synapse.server_name, f"/_matrix/key/v2/query/{quote(dave.server_name, safe='')}")
        assert cached.method == "GET"
        assert all(entry["valid_until_ts"] < needed for entry in cached.response_body["server_keys"])
        wire.judge(cached, f"{len(cached.response_body['server_keys'])} entries, none valid as long as asked "
                           "(K1: Synapse answers from its cache): our key ring asks Dave's server itself")
        direct = [e for e in _to(wire, dave.server_name, "/_matrix/key/v2/server") if e.origin == bob.server_name]
        assert len(direct) == 1
        wire.judge(direct[0], "Dave's keys accepted by our key ring, fetched directly")


def _to(wire, destination, path):
    """The exchanges to ``destination`` at ``path``, in the order seen."""
    return [r.exchange for r in wire.records if r.exchange.destination == destination and r.exchange.path == path]


def _last(wire, destination, path):
    return _to(wire, destination, path)[-1]

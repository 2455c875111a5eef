"""Keys between refimpl and Synapse, over TLS on 127.0.0.1.

Narrative: refimpl, as a reader, fetches Synapse's key document from
``/_matrix/key/v2/server`` and accepts it only if refimpl's own checks pass
(server name, every current key signing, validity). It then asks Synapse to
act as a notary for Synapse's own keys: Synapse fetches them from itself
through its federation client (TLS verified against the test CA), co-signs
them, and refimpl checks both signatures. Every exchange is held to our
``api/`` definitions.
"""

from __future__ import annotations

from urllib.parse import quote

from wire import now_ms
from refimpl.keys import SigningKey
from refimpl.server_keys import verify_key_query_response, verify_server_keys
from synapse_server import free_port

HOUR_MS = 60 * 60 * 1000


def synapse_keys(wire):
    exchange = wire.call("GET", "/_matrix/key/v2/server")
    assert exchange.status == 200
    keys = verify_server_keys(exchange.response_body, server_name=wire.synapse.server_name, now=now_ms())
    wire.judge(exchange, f"accepted: keys {sorted(keys.verify_keys)} valid until {keys.valid_until_ts}")
    return keys


def test_refimpl_verifies_synapse_key_document(wire):
    keys = synapse_keys(wire)
    # The key Synapse generated at start-up is the one it publishes.
    algorithm, version, seed = (wire.synapse.data_dir / "signing.key").read_text().split()
    generated = SigningKey.from_base64_seed(seed, version)
    assert dict(keys.verify_keys) == {generated.key_id: generated.verify_key}
    assert keys.valid_until_ts > now_ms()

    key_id = generated.key_id
    exchange = wire.call("GET", f"/_matrix/key/v2/server/{quote(key_id)}")
    again = verify_server_keys(exchange.response_body, server_name=wire.synapse.server_name, now=now_ms())
    assert again.verify_keys == keys.verify_keys
    wire.judge(exchange, "accepted: the deprecated key-ID form gives the same keys")


def test_synapse_as_notary_for_its_own_keys(wire):
    keys = synapse_keys(wire)
    name = wire.synapse.server_name
    (key_id,) = keys.verify_keys

    # Synapse answers "all keys of a server" from its cache alone, ignoring
    # minimum_valid_until_ts, and has nothing cached about itself yet; our
    # definition says the notary fetches first (finding K1 of the note).
    wanted = now_ms() + HOUR_MS
    empty = wire.call("GET", f"/_matrix/key/v2/query/{quote(name)}?minimum_valid_until_ts={wanted}")
    assert empty.response_body == {"server_keys": []}
    wire.judge(empty, "no entries: Synapse did not fetch for an all-keys query")

    # A key criterion without minimum_valid_until_ts, which api/ (like the
    # Matrix spec) makes optional, is refused by Synapse (finding K2).
    refused = wire.call("POST", "/_matrix/key/v2/query", {"server_keys": {name: {key_id: {}}}})
    assert refused.status == 400
    wire.judge(refused, f"Synapse refused an optional field's absence: {refused.response_body.get('errcode')}")

    # Naming the key makes it a cache miss: Synapse fetches from itself.
    body = {"server_keys": {name: {key_id: {"minimum_valid_until_ts": wanted}}}}
    posted = wire.call("POST", "/_matrix/key/v2/query", body)
    (answer,) = verify_key_query_response(posted.response_body, notary_name=name, notary_keys=keys.verify_keys,
                                          now=now_ms(), requested=[name])
    assert answer.verify_keys == keys.verify_keys and answer.valid_until_ts >= wanted
    wire.judge(posted, "accepted: origin and notary signatures verify")

    cached = wire.call("GET", f"/_matrix/key/v2/query/{quote(name)}")
    (answer,) = verify_key_query_response(cached.response_body, notary_name=name, notary_keys=keys.verify_keys,
                                          now=now_ms(), requested=[name])
    assert answer.verify_keys == keys.verify_keys
    wire.judge(cached, "accepted: served from the notary's cache, co-signed")

    by_key = wire.call("GET", f"/_matrix/key/v2/query/{quote(name)}/{quote(key_id)}"
                                    f"?minimum_valid_until_ts={wanted}")
    (answer,) = verify_key_query_response(by_key.response_body, notary_name=name, notary_keys=keys.verify_keys,
                                          now=now_ms(), requested=[name])
    assert answer.verify_keys == keys.verify_keys
    wire.judge(by_key, "accepted: the deprecated key-ID form")


def test_synapse_as_notary_for_an_unreachable_server(wire, synapse):
    keys = synapse_keys(wire)
    nobody = f"127.0.0.1:{free_port()}"
    body = {"server_keys": {nobody: {"ed25519:1": {"minimum_valid_until_ts": now_ms()}}}}
    posted = wire.call("POST", "/_matrix/key/v2/query", body)
    assert verify_key_query_response(posted.response_body, notary_name=synapse.server_name,
                                     notary_keys=keys.verify_keys, now=now_ms(), requested=[nobody]) == ()
    wire.judge(posted, "accepted: no entry for a server nobody serves")


def test_synapse_version(wire):
    exchange = wire.call("GET", "/_matrix/federation/v1/version")
    assert exchange.response_body["server"]["name"] == "Synapse"
    wire.judge(exchange, f"Synapse {exchange.response_body['server'].get('version')}")

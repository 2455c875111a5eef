"""Key server and notary between real servers on loopback: each scenario
of the key flows runs, and every exchange conforms to api/."""

from __future__ import annotations

import pytest

from refimpl.server_keys import handle_key_query, key_query_for_server
from refimpl.transport.http_server import HOMESERVER_ROUTES, Route
from specgen.flow_scenarios import H1, H2, H3, NOTARY
from specgen.flows import Federation, server_signing_key

from flowkit import assert_scenario_passes, run


@pytest.mark.parametrize("name", ["keys-direct", "keys-notary-get", "keys-notary-post", "keys-notary-cache"])
def test_key_scenario(corpus, observer, name):
    assert_scenario_passes(corpus, observer, name)


def test_notary_cache_scenario_sees_the_stale_copy(corpus, observer):
    result = assert_scenario_passes(corpus, observer, "keys-notary-cache")
    queries = [o.exchange for o in result.exchanges if "/query/" in o.exchange.path]
    # Four queries: H1 first, H2 from cache, H1 refused the stale copy, H1 again after H3 came back.
    assert len(queries) == 4
    stale, fresh = queries[2].response_body["server_keys"][0], queries[3].response_body["server_keys"][0]
    assert stale["valid_until_ts"] < fresh["valid_until_ts"]


async def _from_cache_only(server, incoming):
    """A notary in Synapse's manner: a query for all of a server's keys
    is answered from what it already holds, whatever the time asked for."""
    query = key_query_for_server(incoming.path_params["serverName"])
    return 200, handle_key_query(query, server.notary_cache, notary_name=server.server_name,
                                 notary_key=server.signing_key)


CACHE_ONLY_ROUTES = tuple(
    Route(r.method, r.path, _from_cache_only) if r.path == "/_matrix/key/v2/query/{serverName}" else r
    for r in HOMESERVER_ROUTES
)


def test_key_ring_gets_uncached_keys_through_a_notary_that_answers_all_keys_from_cache(observer):
    run(_uncached_keys_through_cache_only_notary(observer))


async def _uncached_keys_through_cache_only_notary(observer):
    async with Federation(observer.check) as fed:
        await fed.homeserver(NOTARY, routes=CACHE_ONLY_ROUTES)
        await fed.homeserver(H3)
        h1 = await fed.homeserver(H1, notary=NOTARY)
        key_id = server_signing_key(H3).key_id
        needed = fed.clock() + 60 * 60 * 1000

        # Naming the key (as an X-Matrix header does) makes the notary fetch it.
        keys = await h1.keyring.server_keys(H3, needed_until=needed, key_id=key_id)
        assert keys.verify_keys[key_id] == server_signing_key(H3).verify_key
        (asked,) = [o.exchange for o in fed.exchanges if o.exchange.destination == NOTARY
                    and o.exchange.path.startswith("/_matrix/key/v2/query")]
        assert (asked.method, asked.path, asked.status) == ("POST", "/_matrix/key/v2/query", 200)
        assert asked.request_body == {"server_keys": {H3: {key_id: {"minimum_valid_until_ts": needed}}}}
        assert [o.exchange.origin for o in fed.exchanges if o.exchange.destination == H3] == [NOTARY]

        # Without a key ID the all-keys form gets nothing of H2 (never cached):
        # the ring asks H2 itself.
        await fed.homeserver(H2)
        before = len(fed.exchanges)
        keys = await h1.keyring.server_keys(H2, needed_until=needed)
        assert keys.verify_keys == {server_signing_key(H2).key_id: server_signing_key(H2).verify_key}
        seen = [(o.exchange.origin, o.exchange.destination, o.exchange.path,
                 o.exchange.response_body) for o in fed.exchanges[before:]]
        assert seen[0] == (H1, NOTARY, f"/_matrix/key/v2/query/{H2}", {"server_keys": []})
        assert seen[1][:3] == (H1, H2, "/_matrix/key/v2/server")
        assert len(seen) == 2
        assert not [d for o in fed.exchanges for d in o.findings]

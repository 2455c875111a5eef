"""Key server and notary between real servers on loopback: each scenario
of the key flows runs, and every exchange conforms to api/."""

from __future__ import annotations

import pytest

from flowkit import assert_scenario_passes


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

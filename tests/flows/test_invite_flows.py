"""Remote invites between real servers on loopback, in each version of the
endpoint and with the v3 -> v2 and v2 -> v1 fallbacks: each scenario runs
and every exchange conforms to api/."""

from __future__ import annotations

import pytest

from flowkit import assert_scenario_passes


@pytest.mark.parametrize("name", ["invite-v1", "invite-v2", "invite-v3", "invite-v3-fallback"])
def test_invite_scenario(corpus, observer, name):
    result = assert_scenario_passes(corpus, observer, name)
    invites = [o.exchange for o in result.exchanges if "/invite/" in o.exchange.path]
    assert invites[-1].status == 200
    refused = [e for e in invites if e.status != 200]
    assert all(e.status == 404 and e.errcode == "M_UNRECOGNIZED" for e in refused), "only unknown-endpoint fallbacks"


def test_third_party_invite_walk_through(corpus, observer):
    result = assert_scenario_passes(corpus, observer, "third-party-invite")
    paths = [o.exchange.path for o in result.exchanges]
    steps = ["/_matrix/identity/v2/store-invite", "/_matrix/identity/v2/pubkey/ed25519",
             "/_matrix/identity/v2/pubkey/isvalid",
             "/_matrix/federation/v1/exchange_third_party_invite/", "/_matrix/federation/v1/3pid/onbind",
             "/_matrix/federation/v1/make_join/", "/_matrix/federation/v2/send_join/"]
    found = [next(i for i, p in enumerate(paths) if p.startswith(step)) for step in steps]
    assert found == sorted(found), f"the steps happened out of order: {paths}"

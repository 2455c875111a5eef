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

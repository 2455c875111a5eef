"""Fuzzing refimpl's homeserver with schemathesis, from our own API definitions.

Invariant: whatever schemathesis derives from ``api/`` (valid requests and
invalid ones), the server never answers 5xx, and every answer conforms to
its definition as the flows observer reads it (status, body, errcode).
Operations that require X-Matrix or an access token are fuzzed without
one: they must refuse with 401, never fail. Bounded: a few cases an
operation, derandomized, on loopback.
"""

from __future__ import annotations

import asyncio
import threading
from urllib.parse import urlsplit

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from refimpl.transport.http_client import Exchange
from specgen.flow_scenarios import H1, H1_TOKEN, H2, H3, IDENTITY, NOTARY, alice_public_room, host_room
from specgen.flows import Federation
from specgen.refs import Resolver

#: API file -> the server that answers it.
FUZZED = {
    "server-server/keys_server.yaml": H1, "server-server/keys_query.yaml": H1, "server-server/version.yaml": H1,
    "server-server/joins-v1.yaml": H1, "server-server/joins-v2.yaml": H1,
    "server-server/invites-v2.yaml": H1, "server-server/third_party_invite.yaml": H1,
    "identity/pubkey.yaml": IDENTITY, "identity/store_invite.yaml": IDENTITY, "identity/sign.yaml": IDENTITY,
}


@pytest.fixture(scope="module")
def server_urls():
    """H1 (hosting a room) with N, H2, H3 and the identity server beside it,
    served from a thread of its own; server name -> base URL."""
    ready = threading.Event()
    loop = asyncio.new_event_loop()
    state = {}

    async def serve():
        async with Federation(record=False) as fed:
            for name in (NOTARY, H2, H3):
                await fed.homeserver(name)
            h1 = await fed.homeserver(H1)
            host_room(h1, alice_public_room("11"))
            await fed.identity_server(IDENTITY, access_tokens=frozenset({H1_TOKEN}))
            state["urls"] = {name: fed.loopback.table.base_url(name) for name in (H1, IDENTITY)}
            state["stop"] = asyncio.Event()
            ready.set()
            await state["stop"].wait()

    thread = threading.Thread(target=lambda: loop.run_until_complete(serve()), daemon=True)
    thread.start()
    assert ready.wait(30)
    yield state["urls"]
    loop.call_soon_threadsafe(state["stop"].set)
    thread.join(30)


@pytest.mark.parametrize("api_file", list(FUZZED))
def test_fuzzed_requests_get_conforming_answers(corpus, observer, server_urls, api_file):
    server = FUZZED[api_file]
    document = Resolver(corpus).inline(corpus.api_dir / api_file).data
    schema = schemathesis.openapi.from_dict(document)
    problems = []
    for result in schema.get_all_operations():
        operation = result.ok()

        @given(case=operation.as_strategy())
        @settings(max_examples=8, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck))
        def fuzz(case):
            response = case.call(base_url=server_urls[server], timeout=10)
            sent = urlsplit(response.request.url)
            target = sent.path + (f"?{sent.query}" if sent.query else "")
            try:
                body = response.json()
            except ValueError:
                body = None
            exchange = Exchange(None, server, case.method.upper(), target, case.body if isinstance(case.body, dict)
                                else None, response.status_code, body, response.text)
            if response.status_code >= 500:
                problems.append(f"{case.method} {target}: {response.status_code} {response.text[:200]}")
            for finding in observer.check(exchange):
                if finding.code != "flows.request":  # schemathesis sends invalid requests on purpose
                    problems.append(f"{finding.location}: {finding.message}")

        fuzz()
    assert not problems, "\n".join(sorted(set(problems))[:20])

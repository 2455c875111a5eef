"""refimpl's HTTP client on loopback: a URL another server handed out (a
``key_validity_url``) reaches the server its host and port name."""

from __future__ import annotations

from specgen.flows import Federation

from flowkit import run


async def keys_by_url() -> tuple[list[str], list[str]]:
    """Two identity servers told apart only by a port; each one's public
    key, and what a GET of each one's key URL answers."""
    async with Federation() as fed:
        servers = [await fed.identity_server(name, access_tokens=frozenset())
                   for name in ("id.example.org", "id.example.org:8090")]
        published = [s.signing_key.verify_key.public_base64 for s in servers]
        fetched = []
        for server in servers:
            url = f"https://{server.server_name}/_matrix/identity/v2/pubkey/{server.signing_key.key_id}"
            fetched.append((await fed.client().get_url(url)).response_body.get("public_key"))
        return published, fetched


def test_a_url_with_a_port_reaches_the_server_its_host_and_port_name():
    published, fetched = run(keys_by_url())
    assert published[0] != published[1]
    assert fetched == published

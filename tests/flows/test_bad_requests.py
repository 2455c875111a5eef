"""Bad requests over HTTP get the spec's status and errcode, and the
server keeps serving: each test sends its request to a live server on
loopback, then fetches the server's keys to show it still answers."""

from __future__ import annotations

import pytest

from refimpl.transport.http_server import DEFAULT_MAX_BODY_BYTES
from specgen.flows import Federation

from flowkit import run

H1 = "example.org"


async def send_raw(method: str, path: str, *, data: bytes | None = None, headers: dict | None = None):
    """One raw request to a fresh H1, then a keys fetch; returns (status, body, keys status)."""
    async with Federation() as fed:
        await fed.homeserver(H1)
        base = fed.loopback.table.base_url(H1)
        async with fed.session.request(method, base + path, data=data, headers=headers or {}) as response:
            status, body = response.status, await response.json(content_type=None)
        after = await fed.client().request(H1, "GET", "/_matrix/key/v2/server")
        return status, body, after.status


@pytest.mark.parametrize(
    ("method", "path", "data", "status", "errcode"),
    [
        ("POST", "/_matrix/key/v2/query", b'{"server_keys": {', 400, "M_NOT_JSON"),
        ("POST", "/_matrix/key/v2/query", b"\xff\xfe{}", 400, "M_NOT_JSON"),
        ("POST", "/_matrix/key/v2/query", b'{"server_keys": NaN}', 400, "M_NOT_JSON"),
        ("POST", "/_matrix/key/v2/query", b'{"server_keys": {"a.org": {"ed25519:1": {"minimum_valid_until_ts": 1.0}}}}',
         200, None),
        ("POST", "/_matrix/key/v2/query", b'{"server_keys": []}', 400, "M_BAD_JSON"),
        ("POST", "/_matrix/key/v2/query", b'{"server_keys": {"bad name!": {}}}', 400, "M_INVALID_PARAM"),
        ("POST", "/_matrix/key/v2/query", b'{"server_keys": {"a.org": {"ed25519:1": {"minimum_valid_until_ts": "x"}}}}',
         400, "M_BAD_JSON"),
        ("POST", "/_matrix/key/v2/query", b'{"server_keys": {"a.org": {"x": {}}}}', 400, "M_INVALID_PARAM"),
        ("GET", "/_matrix/key/v2/query/bad%20name", None, 400, "M_INVALID_PARAM"),
        ("GET", "/_matrix/key/v2/query/a.org?minimum_valid_until_ts=soon", None, 400, "M_INVALID_PARAM"),
        ("POST", "/_matrix/key/v2/query", b'{"server_keys": {"a.org": {"ed25519:1": {}}}, "pad": "'
         + b"x" * DEFAULT_MAX_BODY_BYTES + b'"}', 413, "M_TOO_LARGE"),
        ("GET", "/_matrix/federation/v1/no_such_thing", None, 404, "M_UNRECOGNIZED"),
        ("DELETE", "/_matrix/key/v2/server", None, 405, "M_UNRECOGNIZED"),
    ],
    ids=["truncated", "not-utf8", "nan", "integral-float-is-an-integer", "wrong-shape", "bad-server-name", "bad-minimum-type", "bad-key-id",
         "bad-path-server-name", "bad-query-param", "oversized", "unknown-endpoint", "wrong-method"],
)
def test_bad_key_request(method, path, data, status, errcode):
    headers = {"Content-Type": "application/json"} if data is not None else {}
    got_status, body, after = run(send_raw(method, path, data=data, headers=headers))
    assert (got_status, body.get("errcode")) == (status, errcode), body
    assert errcode is None or isinstance(body.get("error"), str)
    assert after == 200


def test_oversized_chunked_body_without_a_length_is_refused_while_read():
    async def scenario():
        async with Federation() as fed:
            await fed.homeserver(H1)
            base = fed.loopback.table.base_url(H1)

            async def chunks():
                yield b'{"server_keys": {}, "pad": "'
                for _ in range(DEFAULT_MAX_BODY_BYTES // 1024 + 1):
                    yield b"x" * 1024
                yield b'"}'

            async with fed.session.post(base + "/_matrix/key/v2/query", data=chunks()) as response:
                return response.status, await response.json(content_type=None)

    status, body = run(scenario())
    assert (status, body["errcode"]) == (413, "M_TOO_LARGE")

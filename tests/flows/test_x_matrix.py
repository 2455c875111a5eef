"""X-Matrix checked on receipt, over HTTP: H1 hosts a room and serves
make_join/send_join; each test sends one signed (or mis-signed) request
from H2 and checks the status and errcode, then that H1 still serves."""

from __future__ import annotations

import json

import pytest
from yarl import URL

from refimpl.event_signing import sign_event
from refimpl.factories import BOB, CAROL
from refimpl.joins import make_join_event
from refimpl.request_auth import sign_request
from refimpl.room_versions import room_version
from refimpl.transport.http_client import target
from specgen.flow_scenarios import H1, H2, H3, alice_public_room, host_room
from specgen.flows import Federation, server_signing_key

from flowkit import run

V11 = room_version("11")


def header(method, uri, *, origin=H2, destination=H1, key_of=H2, content=None):
    return sign_request(method=method, uri=uri, origin=origin, destination=destination,
                        key=server_signing_key(key_of), content=content).to_header()


async def exchange(build, *, stop_h2: bool = False):
    """Start H1 (hosting a v11 public room), H2 and H3; ``build(room_id, join)``
    returns (method, uri, body bytes, headers) to send to H1, where ``join``
    is a valid (event_id, pdu) join of Bob. Returns (status, body, keys status after)."""
    async with Federation() as fed:
        h1 = await fed.homeserver(H1)
        h2 = await fed.homeserver(H2)
        await fed.homeserver(H3)
        room = host_room(h1, alice_public_room("11"))
        template = await h2.client.request(
            H1, "GET", target("/_matrix/federation/v1/make_join/{r}/{u}", {"ver": ["11"]}, r=room.room_id, u=BOB),
            sign=True,
        )
        join = make_join_event(template.response_body, V11, H2, h2.signing_key)
        if stop_h2:
            await fed.stop(H2)
            h1.keyring._cache.clear()
        method, uri, data, headers = build(room.room_id, join)
        base = fed.loopback.table.base_url(H1)
        if data is not None:
            headers = {"Content-Type": "application/json", **headers}
        async with fed.session.request(method, URL(base + uri, encoded=True), data=data, headers=headers) as response:
            status, body = response.status, await response.json(content_type=None)
        after = await fed.client().request(H1, "GET", "/_matrix/key/v2/server")
        return status, body, after.status


def make_join_uri(room_id, user=BOB, ver=("11",)):
    return target("/_matrix/federation/v1/make_join/{r}/{u}", {"ver": list(ver)}, r=room_id, u=user)


def send_join_uri(room_id, event_id, version=2):
    return target(f"/_matrix/federation/v{version}/send_join/{{r}}/{{e}}", r=room_id, e=event_id)


def signed_get(uri_of, **signing):
    def build(room_id, join):
        uri = uri_of(room_id)
        return "GET", uri, None, {"Authorization": header("GET", uri, **signing)}
    return build


def signed_put(uri_of, body_of=lambda join: join[1], signed_body_of=None, **signing):
    def build(room_id, join):
        uri = uri_of(room_id, join[0])
        body = body_of(join)
        signed = body if signed_body_of is None else signed_body_of(join)
        return "PUT", uri, json.dumps(body).encode(), {"Authorization": header("PUT", uri, content=signed, **signing)}
    return build


def replayed(build_signed_for, send_to):
    """A header signed for one request, sent with another's target."""
    def build(room_id, join):
        method, uri, data, headers = build_signed_for(room_id, join)
        return method, send_to(room_id), data, headers
    return build


def resigned(pdu, **changes):
    """The join with ``changes``, hashed and signed again by H2."""
    bare = {k: v for k, v in pdu.items() if k not in ("hashes", "signatures")}
    return sign_event({**bare, **changes}, V11, H2, server_signing_key(H2))


CASES = {
    "valid-make-join": (signed_get(make_join_uri), 200, None),
    "forged-signature": (signed_get(make_join_uri, key_of=H3), 401, "M_UNAUTHORIZED"),
    "wrong-origin": (signed_get(make_join_uri, origin=H3, key_of=H2), 401, "M_UNAUTHORIZED"),
    "other-destination": (signed_get(make_join_uri, destination=H3), 401, "M_UNAUTHORIZED"),
    "replayed-other-path": (replayed(signed_get(make_join_uri), lambda r: make_join_uri(r, ver=("10", "11"))),
                            401, "M_UNAUTHORIZED"),
    "replayed-other-body": (signed_put(send_join_uri, body_of=lambda j: {**j[1], "depth": 99},
                                       signed_body_of=lambda j: j[1]), 401, "M_UNAUTHORIZED"),
    "no-header": (lambda r, j: ("GET", make_join_uri(r), None, {}), 401, "M_UNAUTHORIZED"),
    "malformed-header": (lambda r, j: ("GET", make_join_uri(r), None, {"Authorization": "X-Matrix origin=,"}),
                         401, "M_UNAUTHORIZED"),
    "user-of-another-server": (signed_get(lambda r: make_join_uri(r, user=CAROL)), 403, "M_FORBIDDEN"),
    "room-version-not-implemented": (signed_get(lambda r: make_join_uri(r, ver=())), 400,
                                     "M_INCOMPATIBLE_ROOM_VERSION"),
    "unknown-room": (signed_get(lambda r: make_join_uri("!nowhere:example.org")), 404, "M_NOT_FOUND"),
    "valid-send-join": (signed_put(send_join_uri), 200, None),
    "valid-send-join-v1": (signed_put(lambda r, e: send_join_uri(r, e, version=1)), 200, None),
    "room-id-mismatch": (signed_put(lambda r, e: send_join_uri("!other:example.org", e)), 404, "M_NOT_FOUND"),
    "event-id-mismatch": (signed_put(lambda r, e: send_join_uri(r, "$not-the-join")), 400, "M_INVALID_PARAM"),
    "event-room-mismatch": (signed_put(send_join_uri, body_of=lambda j: resigned(j[1], room_id="!other:example.org")),
                            400, "M_INVALID_PARAM"),
    "tampered-event": (signed_put(send_join_uri, body_of=lambda j: {**j[1], "room_id": "!other:example.org"}),
                       403, "M_FORBIDDEN"),
    "not-a-pdu": (signed_put(send_join_uri, body_of=lambda j: {"type": "m.room.member"}), 400, "M_BAD_JSON"),
    "malformed-json": (lambda r, j: ("PUT", send_join_uri(r, j[0]), b"{'single': quotes}",
                                     {"Authorization": header("PUT", send_join_uri(r, j[0]), content={})}),
                       400, "M_NOT_JSON"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_request_on_receipt(case):
    build, status, errcode = CASES[case]
    got_status, body, after = run(exchange(build))
    assert got_status == status, body
    if errcode is not None:
        assert body["errcode"] == errcode
    assert after == 200


def test_incompatible_room_version_names_the_room_version():
    _, body, _ = run(exchange(signed_get(lambda r: make_join_uri(r, ver=("10",)))))
    assert body["room_version"] == "11"


def test_origin_whose_keys_cannot_be_fetched_is_unauthorized():
    status, body, after = run(exchange(signed_get(make_join_uri), stop_h2=True))
    assert (status, body["errcode"], after) == (401, "M_UNAUTHORIZED", 200)
    assert "no usable keys of remote.example.com" in body["error"]

"""Third-party invites refused over HTTP with the spec's answer: a revoked
identity-server key, an identity server that cannot be reached, a token no
event names, and the identity server's own refusals; each server keeps
serving."""

from __future__ import annotations

from refimpl.factories import CAROL, RoomFactory
from refimpl.identity_service import onbind_payload
from refimpl.keys import SigningKey
from refimpl.signing import sign_json
from refimpl.third_party_invites import handle_onbind, make_exchange_third_party_invite
from specgen.flow_scenarios import EMAIL, H1, H1_TOKEN, H3, IDENTITY, store_third_party_invite, host_room
from specgen.flows import Federation

from flowkit import run


async def unchanged(fed, identity, payload):
    return payload


async def deliver(change, send, asked: str):
    """H1 holds a stored third-party invite; the identity server's onbind
    payload, as ``change`` makes it, goes out through ``send``. Returns
    (the answer, H1's room state of Carol, whether ``asked`` still answers)."""
    async with Federation() as fed:
        h1 = await fed.homeserver(H1)
        h3 = await fed.homeserver(H3)
        identity = await fed.identity_server(IDENTITY, access_tokens=frozenset({H1_TOKEN}))
        room = host_room(h1, RoomFactory.invite_only("11"))
        await store_third_party_invite(fed, h1, room)
        payload = onbind_payload("email", EMAIL, CAROL, list(identity.invites.values()),
                                 server_name=IDENTITY, long_term_key=identity.signing_key)
        payload = await change(fed, identity, payload)
        answer = await send(fed, h3, payload)
        after = await fed.client().request(asked, "GET", "/_matrix/key/v2/server")
        return answer, h1.room(room.room_id).state.lookup("m.room.member", CAROL), after.status


async def _exchange_as_h3(fed, h3, payload):
    (bound,) = handle_onbind(payload, our_server_name=H3)
    path, skeleton = make_exchange_third_party_invite(bound)
    return await h3.client.request(H1, "PUT", path, body=skeleton, sign=True)


async def _onbind_to_h3(fed, h3, payload):
    return await fed.client().request(H3, "PUT", "/_matrix/federation/v1/3pid/onbind", body=payload)


def exchange(change=unchanged):
    """H3's exchange request, made from the binding, reaches H1."""
    return deliver(change, _exchange_as_h3, H1)


def onbind(change=unchanged):
    """The identity server's onbind call reaches H3."""
    return deliver(change, _onbind_to_h3, H3)


def test_the_binding_is_exchanged_for_an_invite():
    answer, carol, after = run(exchange())
    assert (answer.status, after) == (200, 200)
    assert carol.content["membership"] == "invite"


def test_a_revoked_identity_server_key_is_refused():
    async def revoke(fed, identity, payload):
        identity.revoked.add(identity.signing_key.verify_key.public_base64)
        return payload

    answer, carol, after = run(exchange(revoke))
    assert (answer.status, answer.errcode, after) == (403, "M_FORBIDDEN", 200)
    assert carol is None


def test_an_unreachable_identity_server_vouches_for_nothing():
    async def stop(fed, identity, payload):
        await fed.stop(IDENTITY)
        return payload

    answer, carol, _ = run(exchange(stop))
    assert (answer.status, answer.errcode) == (403, "M_FORBIDDEN")
    assert carol is None


def test_a_token_no_third_party_invite_names_is_refused():
    async def other_token(fed, identity, payload):
        entry = payload["invites"][0]
        signed = {"mxid": CAROL, "token": "nobody-issued-this"}
        return {**payload, "invites": [{**entry, "signed": sign_json(signed, IDENTITY, identity.signing_key)}]}

    answer, carol, _ = run(exchange(other_token))
    assert (answer.status, answer.errcode) == (400, "M_INVALID_PARAM")
    assert carol is None


def test_h3_exchanges_a_binding_its_identity_server_signed():
    answer, carol, after = run(onbind())
    assert (answer.status, after) == (200, 200)
    assert carol.content["membership"] == "invite"


def test_h3_refuses_a_binding_the_named_identity_server_did_not_sign():
    async def forge(fed, identity, payload):
        entry = payload["invites"][0]
        signed = {k: v for k, v in entry["signed"].items() if k != "signatures"}
        forger = SigningKey.from_seed(bytes(32), identity.signing_key.version)
        return {**payload, "invites": [{**entry, "signed": sign_json(signed, IDENTITY, forger)}]}

    answer, carol, after = run(onbind(forge))
    assert (answer.status, answer.errcode, after) == (403, "M_FORBIDDEN", 200)
    assert carol is None, "H3 must not ask the room's server to exchange an unproven binding"


def test_h3_refuses_a_binding_when_the_identity_server_key_cannot_be_fetched():
    async def stop(fed, identity, payload):
        await fed.stop(IDENTITY)
        return payload

    answer, carol, after = run(onbind(stop))
    assert (answer.status, answer.errcode, after) == (403, "M_FORBIDDEN", 200)
    assert carol is None


async def identity_request(method, path, body=None, token=None):
    async with Federation() as fed:
        await fed.identity_server(IDENTITY, access_tokens=frozenset({H1_TOKEN}))
        answer = await fed.client().request(IDENTITY, method, path, body=body, access_token=token)
        still = await fed.client().request(IDENTITY, "GET", "/_matrix/identity/v2/pubkey/ed25519%3A0")
        return answer, still.status


def test_identity_server_refusals():
    store = {"medium": "email", "address": EMAIL, "room_id": "!room:example.org", "sender": "@alice:example.org"}
    cases = [
        (("POST", "/_matrix/identity/v2/store-invite", store, None), 401, "M_UNAUTHORIZED"),
        (("POST", "/_matrix/identity/v2/store-invite", store, "stolen"), 401, "M_UNKNOWN_TOKEN"),
        (("POST", "/_matrix/identity/v2/store-invite", {**store, "medium": "msisdn"}, H1_TOKEN), 400, "M_UNRECOGNIZED"),
        (("POST", "/_matrix/identity/v2/sign-ed25519", {"mxid": CAROL, "token": "t", "private_key": "x"}, H1_TOKEN),
         404, "M_UNRECOGNIZED"),
        (("GET", "/_matrix/identity/v2/pubkey/ed25519%3A9", None, None), 404, "M_NOT_FOUND"),
        (("GET", "/_matrix/identity/v2/pubkey/isvalid", None, None), 400, "M_MISSING_PARAM"),
    ]
    for (method, path, body, token), status, errcode in cases:
        answer, still = run(identity_request(method, path, body, token))
        assert (answer.status, answer.errcode, still) == (status, errcode, 200), (path, answer.response_body)

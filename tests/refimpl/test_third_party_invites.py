"""Third-party invites end to end, in memory: identity server, H1 (in the
room, Alice's example.org) and H3 (Carol's third.example.net).

Alice invites carol@third.example.net; the identity server stores the
invite; Alice's server puts the answer into the room; Carol binds the
address; the identity server calls H3's onbind; H3 asks H1 to exchange the
binding for an invite; H1 asks the identity server whether the key is still
good, then issues the invite, which the auth rules accept.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from refimpl.auth_rules import Allowed, authorize
from refimpl.errors import MatrixError
from refimpl.factories import ALICE, BOB, CAROL, IDENTITY_SERVER, RoomFactory
from refimpl.identity_service import (
    StoredInvite,
    onbind_payload,
    pubkey_is_valid,
    redact_address,
    sign_ed25519,
    store_invite,
)
from refimpl.keys import SigningKey
from refimpl.third_party_invites import (
    RULES,
    IdentityKeyQuery,
    check_bound_invites,
    handle_exchange_third_party_invite,
    handle_onbind,
    identity_key_requests,
    key_validity_request_url,
    key_validity_requests,
    make_exchange_third_party_invite,
    read_identity_key_answer,
    read_key_validity_answer,
    third_party_invite_content,
    verify_signed,
)
from refimpl.test_keys import signing_key_for
from refimpl.unpadded_base64 import encode_base64

ADDRESS = "carol@third.example.net"
LONG_TERM = signing_key_for(IDENTITY_SERVER)
EPHEMERAL = SigningKey.from_seed(bytes(range(32)), "0")


def _rule(call):
    with pytest.raises(MatrixError) as info:
        call()
    return info.value.fields.get("rule"), info.value.errcode.value


def _setup(version="10"):
    room = RoomFactory.invite_only(version)
    stored, answer = store_invite(
        {"medium": "email", "address": ADDRESS, "room_id": room.room_id, "sender": ALICE},
        base_url=f"https://{IDENTITY_SERVER}", long_term_key=LONG_TERM, ephemeral_key=EPHEMERAL, token="tok",
    )
    room.send_state(ALICE, "m.room.third_party_invite", third_party_invite_content(answer), state_key=answer["token"])
    return room, stored


def _validity(queries, long_term=(LONG_TERM.verify_key.public_base64,)):
    return {q.url: read_key_validity_answer(200, pubkey_is_valid(q.public_key, long_term)) for q in queries}


@pytest.mark.parametrize("version", ["1", "10", "12"])
def test_binding_becomes_an_invite_the_rules_accept(version):
    room, stored = _setup(version)
    body = onbind_payload("email", ADDRESS, CAROL, [stored], server_name=IDENTITY_SERVER, long_term_key=LONG_TERM)
    (bound,) = handle_onbind(body, our_server_name="third.example.net")
    path, exchange = make_exchange_third_party_invite(bound)
    assert path.endswith(room.room_id.replace("!", "%21").replace(":", "%3A"))
    queries = key_validity_requests(room.room_id, exchange, room.state)
    assert [q.url for q in queries] == [
        f"https://{IDENTITY_SERVER}/_matrix/identity/v2/pubkey/isvalid?public_key="
        + LONG_TERM.verify_key.public_base64.replace("+", "%2B").replace("/", "%2F")
    ]
    fields = handle_exchange_third_party_invite(room.room_id, exchange, room.state, _validity(queries))
    assert fields["content"]["third_party_invite"]["display_name"] == "car...@thi..."
    invite = room.member(fields["sender"], fields["state_key"], "invite", content=fields["content"], commit=False)
    assert authorize(invite, room.state, room.room_version, fetch_event=room.find) is Allowed


def test_exchange_rules():
    room, stored = _setup()
    (bound,) = handle_onbind(
        onbind_payload("email", ADDRESS, CAROL, [stored], server_name=IDENTITY_SERVER, long_term_key=LONG_TERM),
        our_server_name="third.example.net",
    )
    _, good = make_exchange_third_party_invite(bound)
    signed = good["content"]["third_party_invite"]["signed"]

    def rule(body, room_id=room.room_id, validity=None):
        return _rule(lambda: handle_exchange_third_party_invite(room_id, body, room.state, validity or {}))

    def with_signed(**changes):
        return {**good, "content": {"membership": "invite", "third_party_invite": {"signed": {**signed, **changes}}}}

    assert rule(good) == ("exchange.key_revoked", "M_FORBIDDEN")
    assert rule([good]) == ("exchange.malformed", "M_BAD_JSON")
    assert rule({**good, "type": "m.room.message"})[0] == "exchange.malformed"
    assert rule({**good, "sender": "alice"})[0] == "exchange.malformed"
    assert rule(good, room_id="!else:example.org") == ("exchange.room_id_mismatch", "M_INVALID_PARAM")
    assert rule({**good, "content": {"membership": "invite"}})[0] == "exchange.no_signed"
    assert rule(with_signed(token=1))[0] == "exchange.signed_incomplete"
    assert rule({**good, "state_key": BOB})[0] == "exchange.mxid_mismatch"
    assert rule(with_signed(token="other"))[0] == "exchange.no_invite_event"
    assert rule({**good, "sender": BOB})[0] == "exchange.sender_mismatch"
    assert rule(with_signed(mxid=CAROL, extra=1)) == ("exchange.bad_signature", "M_FORBIDDEN")
    # Revoked: the identity server no longer vouches for its long-term key.
    queries = key_validity_requests(room.room_id, good, room.state)
    assert rule(good, validity=_validity(queries, long_term=())) == ("exchange.key_revoked", "M_FORBIDDEN")


def test_ephemeral_signature_from_sign_ed25519_redeems_the_invite():
    room, stored = _setup()
    lookup = {stored.token: stored}.get
    signed = sign_ed25519(
        {"mxid": CAROL, "token": "tok", "private_key": encode_base64(EPHEMERAL.seed)},
        server_name=IDENTITY_SERVER, stored_invite=lookup,
    )
    assert signed["sender"] == ALICE
    invite_content = room.state.lookup("m.room.third_party_invite", "tok").content
    assert verify_signed(signed, invite_content)
    exchange = {"type": "m.room.member", "room_id": room.room_id, "sender": ALICE, "state_key": CAROL,
                "content": {"membership": "invite", "third_party_invite": {"display_name": "c", "signed": signed}}}
    (query,) = key_validity_requests(room.room_id, exchange, room.state)
    assert query.url.startswith(f"https://{IDENTITY_SERVER}/_matrix/identity/v2/pubkey/ephemeral/isvalid?")
    answer = pubkey_is_valid(query.public_key, [stored.ephemeral_public_key])
    handle_exchange_third_party_invite(room.room_id, exchange, room.state, {query.url: read_key_validity_answer(200, answer)})

    def sign(**body):
        return _rule(lambda: sign_ed25519({"mxid": CAROL, "token": "tok", "private_key": encode_base64(EPHEMERAL.seed), **body},
                                          server_name=IDENTITY_SERVER, stored_invite=lookup))

    assert sign(token="nope") == ("sign.unknown_token", "M_UNRECOGNIZED")
    assert sign(private_key="!!") == ("sign.private_key", "M_INVALID_PARAM")
    assert sign(private_key=encode_base64(LONG_TERM.seed)) == ("sign.private_key", "M_INVALID_PARAM")
    assert sign(mxid=5) == ("sign.bad_json", "M_BAD_JSON")
    assert _rule(lambda: sign_ed25519({"mxid": CAROL}, server_name=IDENTITY_SERVER, stored_invite=lookup)) == (
        "sign.missing_param", "M_MISSING_PARAM")


def test_store_invite_refusals():
    def store(bound=None, **body):
        request = {"medium": "email", "address": ADDRESS, "room_id": "!r:example.org", "sender": ALICE, **body}
        return _rule(lambda: store_invite(request, base_url="https://i", long_term_key=LONG_TERM, ephemeral_key=EPHEMERAL,
                                          token="t", bound_mxid=lambda m, a: bound))

    assert store(medium="msisdn") == ("store_invite.medium", "M_UNRECOGNIZED")
    assert store(bound=CAROL) == ("store_invite.bound", "M_THREEPID_IN_USE")
    assert store(address=None) == ("store_invite.bad_json", "M_BAD_JSON")
    assert store(sender="alice") == ("store_invite.invalid_param", "M_INVALID_PARAM")
    assert _rule(lambda: store_invite([], base_url="", long_term_key=LONG_TERM, ephemeral_key=EPHEMERAL, token="t"))[1] == "M_BAD_JSON"


@pytest.mark.parametrize(
    "address, shown",
    [(ADDRESS, "car...@thi..."), ("al@b.c", "al@b.c"), ("nobody", "nob..."), ("", "")],
)
def test_redacted_display_name(address, shown):
    assert redact_address(address) == shown


def test_isvalid_compares_keys_not_spellings():
    standard = encode_base64(LONG_TERM.verify_key.public_bytes)
    urlsafe = encode_base64(LONG_TERM.verify_key.public_bytes, urlsafe=True)
    assert pubkey_is_valid(urlsafe, [standard]) == {"valid": True}
    assert pubkey_is_valid(standard + "=", [urlsafe]) == {"valid": True}
    assert pubkey_is_valid("!!", [standard]) == {"valid": False}
    assert pubkey_is_valid(encode_base64(EPHEMERAL.verify_key.public_bytes), [standard]) == {"valid": False}
    assert _rule(lambda: pubkey_is_valid(None, [standard])) == ("isvalid.missing_param", "M_MISSING_PARAM")


@pytest.mark.parametrize(
    "status, body, valid",
    [(200, {"valid": True}, True), (200, {"valid": False}, False), (200, {"valid": 1}, False),
     (200, {"valid": "true"}, False), (200, {}, False), (200, [True], False), (500, {"valid": True}, False)],
)
def test_key_validity_answers(status, body, valid):
    assert read_key_validity_answer(status, body) is valid


def test_key_validity_url_with_a_query_already():
    assert key_validity_request_url("https://i/v?x=1", "a+b/") == "https://i/v?x=1&public_key=a%2Bb%2F"


def test_onbind_rules():
    stored = StoredInvite("tok", "email", ADDRESS, "!r:example.org", ALICE, "k")
    body = onbind_payload("email", ADDRESS, CAROL, [stored], server_name=IDENTITY_SERVER, long_term_key=LONG_TERM)

    def rule(body, server="third.example.net"):
        return _rule(lambda: handle_onbind(body, our_server_name=server))

    assert rule(body, server="example.org") == ("onbind.not_our_user", "M_INVALID_PARAM")
    assert rule([]) == ("onbind.not_object", "M_BAD_JSON")
    assert rule({**body, "mxid": "carol"})[0] == "onbind.bad_field"
    assert rule({k: v for k, v in body.items() if k != "invites"}) == ("onbind.missing_field", "M_MISSING_PARAM")
    entry = body["invites"][0]
    assert rule({**body, "invites": [{**entry, "signed": {**entry["signed"], "mxid": BOB}}]})[0] == "onbind.mxid_mismatch"
    assert rule({**body, "invites": [5]})[0] == "onbind.bad_field"
    other = StoredInvite("t2", "email", "dan@x.org", "!r:example.org", ALICE, "k")
    assert len(onbind_payload("email", ADDRESS, CAROL, [stored, other], server_name=IDENTITY_SERVER, long_term_key=LONG_TERM)["invites"]) == 1


def test_rules_registry_is_exercised():
    import pathlib

    text = pathlib.Path(__file__).read_text()
    assert [r for r in RULES if f'"{r}"' not in text] == []


# -- H3 proves each binding with the key its identity server publishes ---------------------------


def _bound(signed_changes=None, sign_with=LONG_TERM, signer=IDENTITY_SERVER):
    stored = StoredInvite("tok", "email", ADDRESS, "!r:example.org", ALICE, "k")
    body = onbind_payload("email", ADDRESS, CAROL, [stored], server_name=signer, long_term_key=sign_with)
    if signed_changes:
        entry = body["invites"][0]
        body = {**body, "invites": [{**entry, "signed": {**entry["signed"], **signed_changes}}]}
    return handle_onbind(body, our_server_name="third.example.net")


PUBLISHED = {IdentityKeyQuery(IDENTITY_SERVER, LONG_TERM.key_id): LONG_TERM.verify_key.public_base64}


def test_h3_asks_for_the_key_that_signed_and_accepts_what_it_verifies():
    bound = _bound()
    assert identity_key_requests(bound) == (IdentityKeyQuery(IDENTITY_SERVER, LONG_TERM.key_id),)
    assert identity_key_requests(bound)[0].request_target == "/_matrix/identity/v2/pubkey/ed25519%3A" + LONG_TERM.version
    assert check_bound_invites(bound, PUBLISHED) is None


@pytest.mark.parametrize("keys", [
    {},                                                                      # the key could not be fetched
    {IdentityKeyQuery(IDENTITY_SERVER, LONG_TERM.key_id): None},
    {IdentityKeyQuery(IDENTITY_SERVER, LONG_TERM.key_id): EPHEMERAL.verify_key.public_base64},  # another key
    {IdentityKeyQuery("example.org", LONG_TERM.key_id): LONG_TERM.verify_key.public_base64},   # another server's
])
def test_h3_refuses_a_binding_no_published_key_proves(keys):
    assert _rule(lambda: check_bound_invites(_bound(), keys)) == ("onbind.bad_signature", "M_FORBIDDEN")


def test_h3_fetches_a_bounded_number_of_keys():
    (invite,) = _bound()
    many = {f"is{i}.example.org": {"ed25519:0": "AAAA"} for i in range(9)}
    crowded = type(invite)(invite.room_id, invite.sender, invite.mxid, {**invite.signed, "signatures": many})
    assert _rule(lambda: identity_key_requests((crowded,))) == ("onbind.too_many_keys", "M_INVALID_PARAM")


@pytest.mark.parametrize("status, body, key", [
    (200, {"public_key": "abc"}, "abc"), (404, {"public_key": "abc"}, None), (200, {"public_key": 5}, None),
    (200, ["abc"], None), (200, {}, None),
])
def test_identity_key_answers(status, body, key):
    assert read_identity_key_answer(status, body) == key


@settings(max_examples=60, deadline=None)
@given(field=st.sampled_from(["mxid", "token", "sender", "extra"]), value=st.text(max_size=20))
def test_a_binding_altered_after_signing_is_refused(field, value):
    (invite,) = _bound()
    if invite.signed.get(field) == value:
        return
    changed = type(invite)(invite.room_id, invite.sender, invite.mxid, {**invite.signed, field: value})
    assert _rule(lambda: check_bound_invites((changed,), PUBLISHED)) == ("onbind.bad_signature", "M_FORBIDDEN")

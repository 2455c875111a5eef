"""Event signing and receipt checks: required signers, accept / redacted / drop outcomes."""

from __future__ import annotations

import copy

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from refimpl.errors import BadJson
from refimpl.event_signing import check_received_event, required_signatures, sign_event
from refimpl.events import build_pdu
from refimpl.redaction import redact
from refimpl.room_versions import ROOM_VERSIONS, V1, V7, V8, V11, V12
from refimpl.signing import verify_json
from refimpl.test_keys import PUBLISHED_KEYS, signing_key_for

from test_events import signed_pdus


def published(server, key_id):
    key = PUBLISHED_KEYS.get(server)
    return key.verify_key if key is not None and key.key_id == key_id else None


def nobody(server, key_id):
    return None


def join(room_version, via=None):
    content = {"membership": "join"}
    if via:
        content["join_authorised_via_users_server"] = via
    return build_pdu(room_version, type="m.room.member", sender="@bob:remote.example.com", state_key="@bob:remote.example.com",
                     content=content, origin_server_ts=10, room_id="!r:example.org",
                     event_id="$j:example.org" if room_version is V1 else None)


def test_required_signatures():
    assert required_signatures(join(V11), V11) == {"remote.example.com"}
    assert required_signatures(join(V1), V1) == {"remote.example.com", "example.org"}
    assert required_signatures(join(V8, "@alice:example.org"), V8) == {"remote.example.com", "example.org"}
    assert required_signatures(join(V7, "@alice:example.org"), V7) == {"remote.example.com"}
    leave = {**join(V8, "@alice:example.org"), "content": {"membership": "leave", "join_authorised_via_users_server": "@alice:example.org"}}
    assert required_signatures(leave, V8) == {"remote.example.com", "example.org"}
    with pytest.raises(BadJson):
        required_signatures(join(V8, "not-a-user"), V8)
    with pytest.raises(BadJson):
        required_signatures({**join(V11), "sender": 3}, V11)


def test_restricted_join_needs_both_servers():
    pdu = sign_event(join(V8, "@alice:example.org"), V8, "remote.example.com", signing_key_for("remote.example.com"))
    half = check_received_event(pdu, V8, published)
    assert half.outcome == "drop" and "example.org" in half.reason
    both = sign_event(pdu, V8, "example.org", signing_key_for("example.org"))
    assert set(both["signatures"]) == {"remote.example.com", "example.org"}
    assert check_received_event(both, V8, published).outcome == "accept"


def test_signature_is_over_the_redacted_form():
    with_name = {**join(V11), "content": {"membership": "join", "displayname": "Bob"}}
    pdu = sign_event(with_name, V11, "remote.example.com", signing_key_for("remote.example.com"))
    keys = {"ed25519:1": signing_key_for("remote.example.com").verify_key}
    assert verify_json(redact(pdu, V11), "remote.example.com", keys).ok
    assert not verify_json(pdu, "remote.example.com", keys).ok


def test_outcomes():
    pdu = sign_event(join(V12), V12, "remote.example.com", signing_key_for("remote.example.com"))
    assert check_received_event(pdu, V12, published).outcome == "accept"
    assert check_received_event(pdu, V12, nobody).outcome == "drop"
    altered = {**pdu, "content": {**pdu["content"], "displayname": "Mallory"}}
    result = check_received_event(altered, V12, published)
    assert (result.outcome, result.pdu) == ("redacted", redact(altered, V12))
    forged = {**pdu, "content": {"membership": "leave"}}
    assert check_received_event(forged, V12, published).outcome == "drop"
    for malformed in ["junk", {**pdu, "sender": None}, {**pdu, "signatures": []}, {**pdu, "depth": 1.5}]:
        verdict = check_received_event(malformed, V12, published)
        assert verdict.outcome == "drop" and verdict.reason.startswith(("malformed", "signature"))


@settings(max_examples=60, deadline=None)
@given(signed_pdus())
def test_signed_events_are_accepted_and_inputs_untouched(case):
    """A freshly signed event is accepted, and neither signing nor checking modifies its input."""
    pdu, room_version = case
    before = copy.deepcopy(pdu)
    sign_event(pdu, room_version, "third.example.net", signing_key_for("third.example.net"))
    result = check_received_event(pdu, room_version, published)
    assert pdu == before
    try:
        expected = "accept" if required_signatures(pdu, room_version) == {"example.org"} else "drop"
    except BadJson:  # e.g. an authorising "user" that is not a user ID: malformed, so dropped
        expected = "drop"
    assert result.outcome == expected, result.reason


near_pdus = st.fixed_dictionaries(
    {},
    optional={
        "type": st.sampled_from(["m.room.member", "m.room.create", 3]),
        "sender": st.sampled_from(["@alice:example.org", "alice", None]),
        "event_id": st.sampled_from(["$e:example.org", "$bad", 1]),
        "content": st.dictionaries(st.sampled_from(["membership", "join_authorised_via_users_server"]),
                                   st.sampled_from(["join", "@x:example.org", "nope", 1.5])) | st.just("x"),
        "hashes": st.just({"sha256": "AAAA"}) | st.just([]),
        "signatures": st.just({"example.org": {"ed25519:1": "AAAA"}}) | st.just({"example.org": 1}) | st.just("x"),
        "depth": st.integers() | st.floats(),
        "room_id": st.just("!r:example.org"),
    },
)


@settings(max_examples=150, deadline=None)
@given(near_pdus | st.integers() | st.lists(st.none()), st.sampled_from(sorted(ROOM_VERSIONS, key=int)))
def test_receipt_check_never_raises(pdu, version):
    """Any received value yields a ReceivedEvent; anything but a validly signed event is dropped."""
    result = check_received_event(pdu, ROOM_VERSIONS[version], published)
    assert result.outcome == "drop"


def test_an_unencodable_unredacted_part_drops_the_event():
    """In a strict room a float anywhere but unsigned/signatures makes the event malformed, even where redaction would drop it."""
    key = signing_key_for("remote.example.com")
    floaty = {**join(V11), "content": {"membership": "join", "weight": 1.5}}
    signed = sign_event({**floaty, "content": {"membership": "join"}}, V11, "remote.example.com", key)
    result = check_received_event({**signed, "content": floaty["content"]}, V11, published)
    assert result.outcome == "drop" and result.reason.startswith("malformed") and "/content/weight" in result.reason
    lenient = sign_event(join(V1), V1, "remote.example.com", key)
    lenient = sign_event(lenient, V1, "example.org", signing_key_for("example.org"))
    tolerated = check_received_event({**lenient, "content": {"membership": "join", "weight": 1.5}}, V1, published)
    assert tolerated.outcome == "redacted"

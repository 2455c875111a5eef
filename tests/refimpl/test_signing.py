"""sign_json / verify_json: published values, verdict reasons, immutability, and agreement with signedjson."""

from __future__ import annotations

import copy

import pytest
import signedjson.key
import signedjson.sign
from hypothesis import given, settings
from hypothesis import strategies as st

from refimpl import signing
from refimpl.errors import BadJson, InvalidParam, InvalidSignature
from refimpl.keys import SigningKey, VerifyKey, parse_key_id
from refimpl.test_keys import APPENDIX_SEED, PUBLISHED_KEYS, signing_key_for
from refimpl.errors import LocalProtocolError
from refimpl.unpadded_base64 import decode_base64, encode_base64

from test_canonical_json import json_values

DOMAIN = signing_key_for("domain")
KEYS = {DOMAIN.key_id: DOMAIN.verify_key}

json_objects = st.dictionaries(st.text(max_size=8), json_values, max_size=6)


def test_published_key_ids_and_lookup():
    assert {name: key.key_id for name, key in PUBLISHED_KEYS.items()} == {
        "domain": "ed25519:1",
        "example.org": "ed25519:1",
        "remote.example.com": "ed25519:1",
        "third.example.net": "ed25519:1",
        "id.example.org": "ed25519:0",
    }
    assert len({key.seed for key in PUBLISHED_KEYS.values()}) == len(PUBLISHED_KEYS)
    with pytest.raises(LocalProtocolError):
        signing_key_for("nowhere.invalid")


@settings(max_examples=60, deadline=None)
@given(json_objects)
def test_matches_signedjson(obj):
    """Our signature equals signedjson's on any object, and each verifies the other's."""
    theirs_key = signedjson.key.decode_signing_key_base64("ed25519", "1", APPENDIX_SEED)
    theirs = signedjson.sign.sign_json(copy.deepcopy(obj), "domain", theirs_key)
    ours = signing.sign_json(obj, "domain", DOMAIN)
    assert ours["signatures"] == theirs["signatures"]
    assert signing.verify_json(theirs, "domain", KEYS).ok
    signedjson.sign.verify_signed_json(ours, "domain", signedjson.key.get_verify_key(theirs_key))


@settings(max_examples=60, deadline=None)
@given(json_objects, st.data())
def test_any_changed_signed_byte_fails(obj, data):
    """Flipping any bit of the signed bytes or of the signature makes verification fail."""
    signed = signing.sign_json(obj, "domain", DOMAIN)
    message = signing.signed_bytes(signed)
    signature = decode_base64(signed["signatures"]["domain"]["ed25519:1"])
    assert DOMAIN.verify_key.verify(message, signature)
    i = data.draw(st.integers(0, len(message) - 1))
    bit = 1 << data.draw(st.integers(0, 7))
    tampered = message[:i] + bytes([message[i] ^ bit]) + message[i + 1 :]
    assert not DOMAIN.verify_key.verify(tampered, signature)
    j = data.draw(st.integers(0, 63))
    bad_sig = signature[:j] + bytes([signature[j] ^ bit]) + signature[j + 1 :]
    assert not DOMAIN.verify_key.verify(message, bad_sig)
    forged = {**signed, "signatures": {"domain": {"ed25519:1": encode_base64(bad_sig)}}}
    verdict = signing.verify_json(forged, "domain", KEYS)
    assert (verdict.ok, verdict.reason, verdict.key_id) == (False, signing.BAD_SIGNATURE, "ed25519:1")


@settings(max_examples=60, deadline=None)
@given(json_objects)
def test_sign_json_never_mutates_its_input(obj):
    """sign_json leaves its argument deeply equal to what it was."""
    before = copy.deepcopy(obj)
    signing.sign_json(obj, "domain", DOMAIN)
    assert obj == before


def test_keeps_other_signatures_and_unsigned():
    other = signing_key_for("example.org")
    first = signing.sign_json({"a": 1, "unsigned": {"age": 5}}, "example.org", other)
    both = signing.sign_json(first, "domain", DOMAIN)
    assert both["unsigned"] == {"age": 5}
    assert set(both["signatures"]) == {"example.org", "domain"}
    assert signing.verify_json(both, "example.org", {other.key_id: other.verify_key}).ok
    assert signing.verify_json(both, "domain", KEYS).ok
    assert first["signatures"].keys() == {"example.org"}
    changed_unsigned = {**both, "unsigned": {"age": 99}}
    assert signing.verify_json(changed_unsigned, "domain", KEYS).ok


def test_verdict_reasons():
    signed = signing.sign_json({"a": 1}, "domain", DOMAIN)
    assert signing.verify_json({"a": 1}, "domain", KEYS).reason == signing.NO_SIGNATURES
    other_key = {"ed25519:2": DOMAIN.verify_key}
    assert signing.verify_json(signed, "domain", other_key).reason == signing.NO_KNOWN_KEY
    garbled = {**signed, "signatures": {"domain": {"ed25519:1": "!!"}}}
    verdict = signing.verify_json(garbled, "domain", KEYS)
    assert (verdict.reason, verdict.key_id) == (signing.UNDECODABLE_SIGNATURE, "ed25519:1")
    short = {**signed, "signatures": {"domain": {"ed25519:1": "AAAA"}}}
    assert signing.verify_json(short, "domain", KEYS).reason == signing.UNDECODABLE_SIGNATURE
    wrong_key = {"ed25519:1": signing_key_for("example.org").verify_key}
    assert signing.verify_json(signed, "domain", wrong_key).reason == signing.BAD_SIGNATURE
    floaty = {**signed, "f": 1.5}
    assert signing.verify_json(floaty, "domain", KEYS, strict=True).reason == signing.NOT_CANONICAL
    with pytest.raises(InvalidSignature) as info:
        signing.require_valid_signature(signed, "domain", wrong_key)
    assert info.value.fields == {"reason": signing.BAD_SIGNATURE, "key_id": "ed25519:1"}
    signing.require_valid_signature(signed, "domain", KEYS)


def test_verifying_given_bytes_agrees_with_verify_json():
    """verify_signed_bytes over signed_bytes(obj) gives verify_json's verdict, for every reason."""
    signed = signing.sign_json({"a": 1}, "domain", DOMAIN)
    objects = [
        {"a": 1},
        signed,
        {**signed, "signatures": {"domain": {"ed25519:1": "!!"}}},
        {**signed, "signatures": {"domain": {"ed25519:1": "AAAA"}}},
        {**signed, "a": 2},
    ]
    key_sets = [KEYS, {"ed25519:2": DOMAIN.verify_key}, {"ed25519:1": signing_key_for("example.org").verify_key}]
    for obj in objects:
        for keys in key_sets:
            given = signing.verify_signed_bytes(signing.signed_bytes(obj), obj.get("signatures", {}), "domain", keys)
            assert given == signing.verify_json(obj, "domain", keys)
    for bad in [[], {"domain": "x"}]:
        with pytest.raises(BadJson):
            signing.verify_signed_bytes(b"{}", bad, "domain", KEYS)


@pytest.mark.parametrize("bad", [[], {"signatures": []}, {"signatures": {"domain": "x"}}])
def test_malformed_objects_are_bad_json(bad):
    with pytest.raises(BadJson):
        signing.sign_json(bad, "domain", DOMAIN)
    with pytest.raises(BadJson):
        signing.verify_json(bad, "domain", KEYS)


def test_key_ids_and_key_construction():
    assert parse_key_id("ed25519:a_B9") == ("ed25519", "a_B9")
    for bad in ["ed25519", "ed25519:", ":1", "ed25519:a-b", "ed25519:1:2", None]:
        with pytest.raises(InvalidParam):
            parse_key_id(bad)
    with pytest.raises(InvalidParam):
        SigningKey.from_seed(b"short", "1")
    with pytest.raises(InvalidParam):
        SigningKey.from_seed(bytes(32), "no-dash")
    with pytest.raises(InvalidParam):
        VerifyKey.from_base64("curve25519:1", DOMAIN.verify_key.public_base64)
    with pytest.raises(InvalidParam):
        VerifyKey.from_base64("ed25519:1", "AAAA")
    key = VerifyKey.from_base64("ed25519:1", DOMAIN.verify_key.public_base64)
    assert key == DOMAIN.verify_key
    assert not key.verify(b"m", b"too short")
    assert SigningKey.from_base64_seed(APPENDIX_SEED, "1") == DOMAIN

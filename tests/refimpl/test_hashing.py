"""Content and reference hashes: what each covers, strictness, and the check."""

from __future__ import annotations

import hashlib

from types import MappingProxyType

import pytest
from hypothesis import given, settings

from refimpl.canonical_json import CanonicalJsonError, encode_canonical_json
from refimpl.errors import BadJson
from refimpl.hashing import (
    check_content_hash,
    content_hash,
    encode_event,
    reference_hash,
    with_content_hash,
)
from refimpl.redaction import redact
from refimpl.room_versions import V1, V5, V6, V11
from refimpl.signing import signed_bytes

from test_events import signed_pdus

PDU = {
    "type": "m.room.message", "sender": "@alice:example.org", "room_id": "!r:example.org",
    "content": {"body": "hello"}, "origin_server_ts": 1, "depth": 2, "prev_events": [], "auth_events": [],
    "origin": "example.org", "unsigned": {"age": 1}, "signatures": {"x": {}}, "hashes": {"other": "z"},
}


def test_content_hash_excludes_only_unsigned_signatures_hashes():
    covered = {k: v for k, v in PDU.items() if k not in ("unsigned", "signatures", "hashes")}
    assert content_hash(PDU, V11) == hashlib.sha256(encode_canonical_json(covered)).digest()
    changed = {**PDU, "unsigned": {}, "signatures": {}, "hashes": {"sha256": "q"}}
    assert content_hash(changed, V11) == content_hash(PDU, V11)
    assert content_hash({**PDU, "origin": "other"}, V11) != content_hash(PDU, V11)


def test_with_content_hash_and_check():
    hashed = with_content_hash(PDU, V11)
    assert hashed["hashes"]["other"] == "z" and len(hashed["hashes"]["sha256"]) == 43
    assert "sha256" not in PDU["hashes"]
    assert check_content_hash(hashed, V11)
    assert not check_content_hash({**hashed, "content": {"body": "bye"}}, V11)
    assert not check_content_hash(PDU, V11)
    assert not check_content_hash({**PDU, "hashes": {"sha256": "!!"}}, V11)
    assert not check_content_hash({**PDU, "hashes": "nope"}, V11)
    with pytest.raises(BadJson):
        with_content_hash({**PDU, "hashes": []}, V11)


def test_reference_hash_is_over_the_redacted_form():
    hashed = with_content_hash(PDU, V1)
    # Content, unsigned and signatures do not matter once the content hash is fixed...
    same = {**hashed, "content": {"body": "other"}, "unsigned": {"a": 1}, "signatures": {}}
    assert reference_hash(same, V1) == reference_hash(hashed, V1)
    # ...but the content hash does, so the reference hash commits to the content.
    assert reference_hash(with_content_hash(same, V1), V1) != reference_hash(hashed, V1)
    # origin is redacted from v11, so it stops mattering there.
    moved = {**hashed, "origin": "elsewhere"}
    assert reference_hash(moved, V1) != reference_hash(hashed, V1)
    assert reference_hash(moved, V11) == reference_hash(hashed, V11)


def test_strictness_follows_the_room_version():
    floaty = {**PDU, "content": {"n": 1.5}}
    content_hash(floaty, V5)
    with pytest.raises(CanonicalJsonError) as info:
        content_hash(floaty, V6)
    assert info.value.pointer == "/content/n"
    big = {**PDU, "depth": 2**60}
    content_hash(big, V5)
    with pytest.raises(CanonicalJsonError):
        reference_hash(big, V6)
    with pytest.raises(BadJson):
        content_hash("not an event", V11)


def _separately(pdu, room_version):
    return (
        content_hash(pdu, room_version),
        check_content_hash(pdu, room_version),
        signed_bytes(redact(pdu, room_version), strict=room_version.strict_canonical_json),
        reference_hash(pdu, room_version),
    )


def _together(pdu, room_version):
    encoded = encode_event(pdu, room_version)
    return encoded.content_hash, encoded.content_hash_matches, encoded.redacted_bytes, encoded.reference_hash


@settings(max_examples=80, deadline=None)
@given(signed_pdus())
def test_one_pass_equals_the_separate_computations(case):
    """encode_event gives the same content hash, hash check, signed bytes and reference hash as the separate functions."""
    pdu, room_version = case
    assert _together(pdu, room_version) == _separately(pdu, room_version)
    altered = {**pdu, "content": {**pdu["content"], "extra": "x"}}
    assert _together(altered, room_version) == _separately(altered, room_version)


def test_one_pass_takes_read_only_and_tuple_forms():
    frozen = MappingProxyType({**with_content_hash(PDU, V11), "prev_events": ("$a", "$b"),
                               "content": MappingProxyType({"body": "hi"})})
    assert _together(frozen, V11) == _separately(frozen, V11)


def test_one_pass_checks_the_unredacted_part_too():
    """A float in content a redaction would drop still makes the event unencodable in a strict room."""
    floaty = with_content_hash({**PDU, "content": {"n": 1.5}}, V5)
    encode_event(floaty, V5)
    reference_hash(floaty, V6)
    with pytest.raises(CanonicalJsonError) as info:
        encode_event(floaty, V6)
    assert info.value.pointer == "/content/n"
    with pytest.raises(CanonicalJsonError):
        encode_event({**PDU, "hashes": {"sha256": "\ud800"}}, V11)
    with pytest.raises(BadJson):
        encode_event(["not", "an", "event"], V11)

"""Runs tests/vectors/{canonical_json,signing,hashing,redaction,event_ids,event_signing}.json in both directions."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import signedjson.key
import signedjson.sign

from refimpl.canonical_json import CanonicalJsonError, encode_canonical_json, parse_json
from refimpl.event_ids import event_id, room_id_from_create_event
from refimpl.event_signing import check_received_event, required_signatures, sign_event
from refimpl.hashing import content_hash, reference_hash
from refimpl.keys import SigningKey
from refimpl.redaction import redact
from refimpl.room_versions import room_version
from refimpl.signing import BAD_SIGNATURE, sign_json, signed_bytes, verify_json
from refimpl.test_keys import PUBLISHED_KEYS
from refimpl.unpadded_base64 import encode_base64

VECTORS = Path(__file__).resolve().parent.parent / "vectors"


def load(name):
    return json.loads((VECTORS / f"{name}.json").read_text(encoding="utf-8"))


def cases(name, section="cases"):
    return [pytest.param(case, id=case["description"]) for case in load(name)[section]]


def published_key(server, key_id):
    key = PUBLISHED_KEYS.get(server)
    return key.verify_key if key is not None and key.key_id == key_id else None


def test_every_case_has_a_description():
    for name in ("canonical_json", "signing", "hashing", "redaction", "event_ids", "event_signing"):
        data = load(name)
        assert data["description"]
        for section in ("cases", "invalid", "received"):
            assert all(case.get("description") for case in data.get(section, []))


@pytest.mark.parametrize("case", cases("canonical_json"))
def test_canonical_json(case):
    value = parse_json(case["input_json"]) if "input_json" in case else case["input"]
    canonical = case["canonical"].encode("utf-8")
    assert encode_canonical_json(value, strict=case.get("strict", True)) == canonical
    decoded = json.loads(canonical)
    assert decoded == value
    assert encode_canonical_json(decoded, strict=case.get("strict", True)) == canonical


@pytest.mark.parametrize("case", cases("canonical_json", "invalid"))
def test_canonical_json_invalid(case):
    value = parse_json(case["input_json"]) if "input_json" in case else case["input"]
    with pytest.raises(CanonicalJsonError) as info:
        encode_canonical_json(value, strict=case["strict"])
    assert info.value.pointer == case["pointer"]
    encode_canonical_json(value, strict=False)


@pytest.mark.parametrize(("name", "entry"), list(load("signing")["keys"].items()))
def test_published_keys_derive_as_documented(name, entry):
    key = PUBLISHED_KEYS[name]
    assert key.key_id == entry["key_id"]
    assert SigningKey.from_base64_seed(entry["seed"], key.version) == key
    assert key.verify_key.public_base64 == entry["public_key"]


@pytest.mark.parametrize("case", cases("signing"))
def test_signing(case):
    name = case["signing_name"]
    key = PUBLISHED_KEYS[name]
    assert sign_json(case["object"], name, key) == case["signed"]
    assert signed_bytes(case["signed"]).decode("utf-8") == case["signed_bytes"]
    keys = {key.key_id: key.verify_key}
    assert verify_json(case["signed"], name, keys).ok
    theirs = signedjson.key.decode_verify_key_base64("ed25519", key.version, key.verify_key.public_base64)
    signedjson.sign.verify_signed_json(json.loads(json.dumps(case["signed"])), name, theirs)
    tampered = {**case["signed"], "extra": 1}
    assert verify_json(tampered, name, keys).reason == BAD_SIGNATURE


@pytest.mark.parametrize("case", cases("hashing"))
def test_hashing(case):
    rv = room_version(case["room_version"])
    assert encode_base64(content_hash(case["pdu"], rv)) == case["content_hash"]
    assert encode_base64(reference_hash(case["pdu"], rv)) == case["reference_hash"]


@pytest.mark.parametrize("case", cases("redaction"))
def test_redaction(case):
    rv = room_version(case["room_version"])
    assert redact(case["pdu"], rv) == case["redacted"]
    assert redact(case["redacted"], rv) == case["redacted"]


@pytest.mark.parametrize("case", cases("event_ids"))
def test_event_ids(case):
    rv = room_version(case["room_version"])
    assert event_id(case["pdu"], rv) == case["event_id"]
    assert event_id(redact(case["pdu"], rv), rv) == case["event_id"]
    if "room_id" in case:
        assert room_id_from_create_event(case["pdu"], rv) == case["room_id"]


@pytest.mark.parametrize("case", cases("event_signing"))
def test_event_signing(case):
    rv = room_version(case["room_version"])
    servers = case["server_name"]
    pdu = case["pdu"]
    for server in [servers] if isinstance(servers, str) else servers:
        pdu = sign_event(pdu, rv, server, PUBLISHED_KEYS[server])
    assert pdu == case["signed"]
    assert sorted(required_signatures(case["signed"], rv)) == case["required_signatures"]
    assert check_received_event(case["signed"], rv, published_key).outcome == case["received"]


@pytest.mark.parametrize("case", cases("event_signing", "received"))
def test_received_events(case):
    rv = room_version(case["room_version"])
    result = check_received_event(case["pdu"], rv, published_key)
    assert result.outcome == case["received"], result.reason
    assert result.pdu == (redact(case["pdu"], rv) if result.outcome == "redacted" else case["pdu"])

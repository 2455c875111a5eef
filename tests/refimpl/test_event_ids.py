"""Event IDs per room version, and their survival of redaction."""

from __future__ import annotations

import pytest
from hypothesis import given, settings

from refimpl.errors import BadJson
from refimpl.event_ids import event_id
from refimpl.hashing import reference_hash
from refimpl.identifiers import parse_event_id
from refimpl.redaction import redact
from refimpl.room_versions import V1, V2, V3, V4, V12
from refimpl.unpadded_base64 import decode_base64

from test_events import signed_pdus

# A reference hash whose standard Base64 has both '+' and '/', to tell alphabets apart.
PDU = {"type": "m.room.message", "sender": "@a:example.org", "room_id": "!r:example.org", "content": {},
       "origin_server_ts": 0, "depth": 1, "prev_events": [], "auth_events": [], "hashes": {"sha256": "x"}}


def _find_pdu_with_both_special_characters():
    for n in range(1000):
        pdu = {**PDU, "depth": n}
        encoded = event_id(pdu, V3)
        if "+" in encoded and "/" in encoded:
            return pdu
    raise AssertionError("no such PDU in range")


def test_v3_standard_and_v4_urlsafe_alphabets():
    pdu = _find_pdu_with_both_special_characters()
    v3, v4 = event_id(pdu, V3), event_id(pdu, V4)
    assert v3.startswith("$") and len(v3) == 44
    assert v4 == v3.replace("+", "-").replace("/", "_")
    assert decode_base64(v3[1:]) == reference_hash(pdu, V3)
    parse_event_id(v3, V3)
    parse_event_id(v4, V4)
    parse_event_id(event_id(pdu, V12), V12)


def test_v1_v2_use_the_origin_assigned_id():
    assert event_id({**PDU, "event_id": "$abc:example.org"}, V1) == "$abc:example.org"
    for bad in [None, 5, "abc:example.org", "$abc", "$:example.org"]:
        pdu = dict(PDU) if bad is None else {**PDU, "event_id": bad}
        with pytest.raises(BadJson):
            event_id(pdu, V2)
    with pytest.raises(BadJson):
        event_id([], V4)


@settings(max_examples=80, deadline=None)
@given(signed_pdus())
def test_event_id_survives_redaction(case):
    """An event's ID is the same before and after redaction, in every room version."""
    pdu, room_version = case
    assert event_id(redact(pdu, room_version), room_version) == event_id(pdu, room_version)

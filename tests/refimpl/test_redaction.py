"""Redaction per room version: the spec's keep-lists written out by hand, idempotence, immutability."""

from __future__ import annotations

import copy

import pytest
from hypothesis import given, settings

from refimpl.errors import BadJson
from refimpl.redaction import redact
from refimpl.room_versions import ROOM_VERSIONS

from test_events import signed_pdus

# The spec's lists, written out independently of the room-version flags.
TOP_V1 = {
    "event_id", "type", "room_id", "sender", "state_key", "content", "hashes", "signatures",
    "depth", "prev_events", "prev_state", "auth_events", "origin", "origin_server_ts", "membership",
}
TOP_V11 = TOP_V1 - {"origin", "membership", "prev_state"}
PL_V1 = {"ban", "events", "events_default", "kick", "redact", "state_default", "users", "users_default"}

EVERY_CONTENT_KEY = {
    "membership": "join", "join_authorised_via_users_server": "@a:x", "displayname": "A",
    "third_party_invite": {"signed": {"token": "t"}, "display_name": "d"},
    "creator": "@a:x", "room_version": "1", "m.federate": True,
    "join_rule": "restricted", "allow": [], "ban": 50, "events": {}, "events_default": 0, "kick": 50,
    "redact": 50, "state_default": 50, "users": {}, "users_default": 0, "invite": 0,
    "notifications": {}, "aliases": ["#a:x"], "history_visibility": "shared", "redacts": "$e",
    "reason": "r", "body": "b",
}


def expected_content(event_type: str, version: int) -> dict:
    keep = {
        "m.room.member": {"membership"} | ({"join_authorised_via_users_server"} if version >= 9 else set()),
        "m.room.create": set(EVERY_CONTENT_KEY) if version >= 11 else {"creator"},
        "m.room.join_rules": {"join_rule"} | ({"allow"} if version >= 8 else set()),
        "m.room.power_levels": PL_V1 | ({"invite"} if version >= 11 else set()),
        "m.room.aliases": {"aliases"} if version <= 5 else set(),
        "m.room.history_visibility": {"history_visibility"},
        "m.room.redaction": {"redacts"} if version >= 11 else set(),
    }.get(event_type, set())
    content = {k: v for k, v in EVERY_CONTENT_KEY.items() if k in keep}
    if event_type == "m.room.member" and version >= 11:
        content["third_party_invite"] = {"signed": {"token": "t"}}
    return content


EVENT_TYPES = [
    "m.room.member", "m.room.create", "m.room.join_rules", "m.room.power_levels", "m.room.aliases",
    "m.room.history_visibility", "m.room.redaction", "m.room.message", "m.room.topic",
]


@pytest.mark.parametrize("version", range(1, 13))
@pytest.mark.parametrize("event_type", EVENT_TYPES)
def test_keep_lists_match_the_spec(version, event_type):
    pdu = {key: key for key in TOP_V1 | {"unsigned", "redacts", "extra", "age_ts"}}
    pdu.update(type=event_type, content=copy.deepcopy(EVERY_CONTENT_KEY))
    before = copy.deepcopy(pdu)
    redacted = redact(pdu, ROOM_VERSIONS[str(version)])
    assert set(redacted) == (TOP_V1 if version <= 10 else TOP_V11)
    assert redacted["content"] == expected_content(event_type, version)
    assert pdu == before


def test_odd_shapes():
    v11 = ROOM_VERSIONS["11"]
    assert redact({"type": "m.room.member"}, v11) == {"type": "m.room.member", "content": {}}
    assert redact({"type": "m.room.create", "content": "text"}, v11)["content"] == {}
    member = {"type": "m.room.member", "content": {"third_party_invite": {"display_name": "d"}}}
    assert redact(member, v11)["content"] == {}
    with pytest.raises(BadJson):
        redact(["not", "an", "object"], v11)


@pytest.mark.parametrize("event_type", [{}, ["m.room.member"], None, 7])
@pytest.mark.parametrize("version", ["1", "11"])
def test_a_type_that_is_not_a_string_keeps_no_content(event_type, version):
    """A malformed event still redacts (to empty content) instead of raising TypeError."""
    pdu = {"type": event_type, "content": {"membership": "join", "creator": "@a:b"}}
    assert redact(pdu, ROOM_VERSIONS[version]) == {"type": event_type, "content": {}}


@settings(max_examples=80, deadline=None)
@given(signed_pdus())
def test_redaction_is_idempotent_and_pure(case):
    """Redacting twice equals redacting once, and the input is never modified."""
    pdu, room_version = case
    before = copy.deepcopy(pdu)
    once = redact(pdu, room_version)
    assert redact(once, room_version) == once
    assert pdu == before

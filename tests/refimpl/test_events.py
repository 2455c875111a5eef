"""Event model and builder: formats per room version, accessors, and malformed PDUs."""

from __future__ import annotations

import copy

import pytest
from hypothesis import strategies as st

from refimpl.errors import BadJson, LocalProtocolError
from refimpl.event_ids import room_id_from_create_event
from refimpl.event_signing import sign_event
from refimpl.events import Event, build_pdu
from refimpl.hashing import reference_hash
from refimpl.room_versions import ROOM_VERSIONS, V1, V3, V10, V11, V12, EventFormat
from refimpl.test_keys import signing_key_for
from refimpl.unpadded_base64 import encode_base64

ALICE = "@alice:example.org"
KEY = signing_key_for("example.org")

_content_values = st.one_of(
    st.sampled_from(["join", "invite", "restricted", "@bob:remote.example.com", "$ev", "shared"]),
    st.integers(-100, 100),
    st.dictionaries(st.sampled_from(["signed", "display_name", "mxid", "token"]), st.text(max_size=4), max_size=3),
)
_content = st.dictionaries(
    st.sampled_from(
        ["membership", "join_authorised_via_users_server", "third_party_invite", "creator", "join_rule",
         "allow", "ban", "invite", "users", "aliases", "history_visibility", "redacts", "body", "reason"]
    ),
    _content_values,
    max_size=6,
)


@st.composite
def signed_pdus(draw):
    """A signed PDU of any room version and one of the types redaction treats specially."""
    room_version = draw(st.sampled_from(list(ROOM_VERSIONS.values())))
    event_type = draw(st.sampled_from([
        "m.room.member", "m.room.create", "m.room.join_rules", "m.room.power_levels", "m.room.aliases",
        "m.room.history_visibility", "m.room.redaction", "m.room.message",
    ]))
    v1 = room_version.event_format is EventFormat.V1
    derived = room_version.room_id_from_create_event and event_type == "m.room.create"
    pdu = build_pdu(
        room_version,
        type=event_type,
        sender=ALICE,
        content=draw(_content),
        origin_server_ts=draw(st.integers(0, 2**40)),
        depth=draw(st.integers(1, 1000)),
        room_id=None if derived else "!room:example.org",
        state_key=draw(st.none() | st.just("") | st.just(ALICE)),
        event_id=f"${draw(st.integers(0, 99))}:example.org" if v1 else None,
        prev_events=[("$p:example.org", "abc")] if v1 else ["$prev"],
        unsigned=draw(st.none() | st.just({"age": 3})),
    )
    extra = draw(st.dictionaries(st.sampled_from(["origin", "membership", "prev_state", "junk"]), st.just("x"), max_size=3))
    return sign_event({**pdu, **extra}, room_version, "example.org", KEY), room_version


def _message(room_version, **overrides):
    base = dict(
        type="m.room.message", sender=ALICE, content={"body": "hi"}, origin_server_ts=5,
        room_id="!room:example.org",
        event_id="$m:example.org" if room_version.event_format is EventFormat.V1 else None,
    )
    return build_pdu(room_version, **{**base, **overrides})


def test_format_1_references_are_pairs_with_reference_hashes():
    create = Event.from_pdu(sign_event(build_pdu(
        V1, type="m.room.create", sender=ALICE, content={"creator": ALICE}, origin_server_ts=1,
        room_id="!room:example.org", state_key="", event_id="$c:example.org"), V1, "example.org", KEY), V1)
    msg = Event.from_pdu(_message(V1, prev_events=[create], auth_events=[("$x:example.org", "aGFzaA")]), V1)
    expected_hash = encode_base64(reference_hash(create.pdu, V1))
    assert msg.pdu["prev_events"] == [["$c:example.org", {"sha256": expected_hash}]]
    assert msg.prev_event_ids == ("$c:example.org",)
    assert msg.auth_event_ids == ("$x:example.org",)
    assert msg.event_id == "$m:example.org"


def test_format_2_references_are_ids_and_accessors():
    prev = Event.from_pdu(_message(V10), V10)
    msg = Event.from_pdu(_message(V10, prev_events=[prev, "$other"], state_key="", depth=7), V10)
    assert msg.prev_event_ids == (prev.event_id, "$other")
    assert msg.auth_event_ids == ()
    assert (msg.type, msg.sender, msg.state_key, msg.is_state, msg.depth) == ("m.room.message", ALICE, "", True, 7)
    assert (msg.room_id, msg.origin_server_ts, msg.content) == ("!room:example.org", 5, {"body": "hi"})
    plain = Event.from_pdu(_message(V10), V10)
    assert (plain.state_key, plain.is_state, plain.redacts) == (None, False, None)
    assert plain == Event.from_pdu(_message(V10), V10) and hash(plain) == hash(Event.from_pdu(_message(V10), V10))


@pytest.mark.parametrize(("room_version", "where"), [(V3, "top"), (V10, "top"), (V11, "content"), (V12, "content")])
def test_redacts_moves_into_content_in_v11(room_version, where):
    pdu = _message(room_version, type="m.room.redaction", content={}, redacts="$target")
    assert ("redacts" in pdu) == (where == "top")
    assert ("redacts" in pdu["content"]) == (where == "content")
    assert Event.from_pdu(pdu, room_version).redacts == "$target"


def test_v12_create_event_defines_the_room_id():
    create = sign_event(build_pdu(V12, type="m.room.create", sender=ALICE, content={"room_version": "12"},
                                  origin_server_ts=1, state_key=""), V12, "example.org", KEY)
    event = Event.from_pdu(create, V12)
    assert event.room_id == "!" + event.event_id[1:] == room_id_from_create_event(create)
    with pytest.raises(BadJson, match="has no room_id"):
        Event.from_pdu({**create, "room_id": "!r:example.org"}, V12)
    with pytest.raises(LocalProtocolError):
        build_pdu(V12, type="m.room.create", sender=ALICE, content={}, origin_server_ts=1, room_id="!r:x")
    with pytest.raises(LocalProtocolError):
        room_id_from_create_event(create, V11)


def test_from_pdu_never_mutates_and_is_read_only():
    pdu = _message(V11)
    before = copy.deepcopy(pdu)
    event = Event.from_pdu(pdu, V11)
    assert pdu == before
    with pytest.raises(TypeError):
        event.pdu["type"] = "x"  # type: ignore[index]


@pytest.mark.parametrize(
    ("room_version", "change", "fragment"),
    [
        (V11, {"type": None}, "missing required field 'type'"),
        (V11, {"type": 5}, "'type' must be a string"),
        (V11, {"content": []}, "'content' must be an object"),
        (V11, {"depth": True}, "'depth' must be an integer"),
        (V11, {"depth": -1}, "must not be negative"),
        (V11, {"origin_server_ts": 1.5}, "'origin_server_ts' must be an integer"),
        (V11, {"room_id": None}, "missing required field 'room_id'"),
        (V11, {"prev_events": [["$a:x", {}]]}, "list of event IDs"),
        (V1, {"prev_events": ["$a:x"]}, "[event_id, {hashes}] pairs"),
        (V11, {"state_key": 3}, "'state_key' must be a string"),
        (V11, {"signatures": "x"}, "'signatures' must be an object"),
        (V11, {"sender": "alice"}, "sender"),
        (V1, {"event_id": None}, "event_id"),
        (V1, {"event_id": "$no-server"}, "event_id"),
    ],
)
def test_malformed_pdus_are_bad_json(room_version, change, fragment):
    pdu = {k: v for k, v in {**_message(room_version), **change}.items() if v is not None}
    with pytest.raises(BadJson) as info:
        Event.from_pdu(pdu, room_version)
    assert fragment in info.value.message


def test_not_an_object_and_builder_misuse():
    with pytest.raises(BadJson):
        Event.from_pdu([], V11)
    with pytest.raises(LocalProtocolError):
        _message(V1, event_id=None)
    with pytest.raises(LocalProtocolError):
        _message(V3, event_id="$m:example.org")
    with pytest.raises(LocalProtocolError):
        _message(V3, room_id=None)
    with pytest.raises(LocalProtocolError):
        _message(V1, prev_events=["$bare:example.org"])
    with pytest.raises(LocalProtocolError):
        _message(V3, prev_events=[("$a", "hash")])

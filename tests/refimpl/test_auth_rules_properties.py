"""Properties of the authorization rules, each stated in one sentence."""

from __future__ import annotations

from functools import lru_cache

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from refimpl.auth_rules import RULES, Allowed, Rejected, authorize
from refimpl.errors import MatrixError
from refimpl.factories import ALICE, BOB, CAROL, RoomFactory
from refimpl.oracle import OPERATIONS
from refimpl.room_versions import ROOM_VERSIONS

SETTINGS = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])

versions = st.sampled_from(list(ROOM_VERSIONS))
users = st.sampled_from([ALICE, BOB, CAROL, "@dave:remote.example.com"])
memberships = st.sampled_from(["join", "invite", "leave", "ban", "knock", "dance"])
json_scalars = st.none() | st.booleans() | st.integers(-(2**53) + 1, 2**53 - 1) | st.text(max_size=8)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=8,
)
levels = st.integers(-5, 120)
#: Types and content keys the rules read, mixed with arbitrary ones.
event_types = st.sampled_from(
    ["m.room.create", "m.room.member", "m.room.power_levels", "m.room.aliases", "m.room.join_rules",
     "m.room.third_party_invite", "m.room.redaction", "m.room.message"]
) | st.text(max_size=12)
content_keys = st.sampled_from(
    ["membership", "join_rule", "third_party_invite", "join_authorised_via_users_server", "users", "events",
     "notifications", "ban", "kick", "invite", "users_default", "state_default", "events_default", "creator",
     "room_version", "additional_creators", "m.federate", "redacts", "public_key", "public_keys"]
) | st.text(max_size=6)


@lru_cache(maxsize=None)
def preset(name: str, version: str) -> RoomFactory:
    """Presets are only read from (``commit=False``), so one per version serves every example."""
    return getattr(RoomFactory, name)(version)


def judge(room: RoomFactory, event):
    return authorize(event, room.state, room.room_version, fetch_event=room.find)


@st.composite
def member_or_state_events(draw, sender):
    """Fields of an event of any kind the rules treat specially, or of none."""
    event_type = draw(
        st.sampled_from(
            ["m.room.message", "m.room.member", "m.room.power_levels", "m.room.name",
             "m.room.join_rules", "m.room.third_party_invite", "m.room.redaction", "x.custom"]
        )
    )
    content = draw(st.dictionaries(st.text(max_size=6), json_values, max_size=3))
    state_key = draw(st.none() | st.just("") | users)
    if event_type == "m.room.member":
        content["membership"] = draw(memberships)
        state_key = draw(users)
    if event_type == "m.room.third_party_invite":
        state_key = draw(st.text(min_size=1, max_size=5))
    if event_type == "m.room.power_levels":
        state_key = ""
        content["users"] = draw(st.dictionaries(users, levels, max_size=3))
    return event_type, sender, content, state_key


@SETTINGS
@given(versions, member_or_state_events(CAROL))
def test_outsiders_are_rejected(version, fields):
    """In an invite-only room, every event (other than create and v1-v5 aliases) from a sender with no membership is rejected."""
    room = preset("invite_only", version)
    event_type, sender, content, state_key = fields
    verdict = judge(room, room.build(event_type, sender, content, state_key=state_key))
    assert isinstance(verdict, Rejected)


@SETTINGS
@given(
    versions,
    levels,
    st.dictionaries(st.sampled_from(["ban", "kick", "redact", "invite", "state_default", "events_default", "users_default"]), levels, max_size=4),
    st.dictionaries(st.sampled_from([BOB, CAROL, "@dave:remote.example.com"]), levels, max_size=3),
    st.dictionaries(st.sampled_from(["m.room.name", "m.room.topic", "m.room.power_levels"]), levels, max_size=3),
)
def test_nobody_raises_above_own_level(version, own, named, user_levels, event_levels):
    """Whenever a power-levels change is allowed, no level it sets or alters ends above the sender's own."""
    room = RoomFactory.public_chat(version)
    before = room.default_power_levels({BOB: own})
    before["events"]["m.room.power_levels"] = 0
    room.set_power_levels(ALICE, before)
    after = {**before, **named, "users": {**before["users"], **user_levels}, "events": {**before["events"], **event_levels}}
    verdict = judge(room, room.set_power_levels(BOB, after, commit=False))
    if verdict is Allowed:
        for old, new in ((before, after), (before["users"], after["users"]), (before["events"], after["events"])):
            raised = {k: v for k, v in new.items() if type(v) is int and old.get(k) != v}
            assert all(v <= own for v in raised.values()), raised


@SETTINGS
@given(versions, users.flatmap(member_or_state_events))
def test_every_rejection_is_registered(version, fields):
    """Every Rejected verdict names a rule of RULES."""
    room = preset("public_chat", version)
    event_type, sender, content, state_key = fields
    verdict = judge(room, room.build(event_type, sender, content, state_key=state_key))
    assert verdict is Allowed or verdict.rule in RULES


@SETTINGS
@given(versions, event_types, users, st.dictionaries(content_keys, json_values, max_size=4), st.none() | users | st.text(max_size=8))
def test_authorize_never_raises(version, event_type, sender, content, state_key):
    """Authorizing any event built from generated type, sender, content and state key returns a verdict and never raises."""
    room = preset("private_chat", version)
    verdict = judge(room, room.build(event_type, sender, content, state_key=state_key))
    assert verdict is Allowed or isinstance(verdict, Rejected)


@SETTINGS
@given(versions, st.dictionaries(st.sampled_from(["type", "sender", "content", "state_key", "room_id", "depth", "auth_events", "prev_events", "origin_server_ts", "event_id"]), json_values))
def test_oracle_answers_or_raises_matrix_errors(version, pdu):
    """Any candidate PDU given to check-event yields an answer, or a MatrixError, never another exception."""
    room = preset("public_chat", version)
    request = {
        "room_version": version,
        "event": pdu,
        "events": [dict(e.pdu) for e in room.events],
        "state": [e.event_id for e in room.state.values()],
        "rejected": [],
    }
    try:
        answer = OPERATIONS["check-event"].run(request)
    except MatrixError:
        return
    assert answer["allowed"] or answer["rule"] in RULES

"""The power-level defaults, audited per room version.

Each default is pinned at its boundary by one allowed and one rejected
event, in every room version, both in a room without ``m.room.power_levels``
and in one whose power-levels event leaves the field out. The values follow
the current power-levels schema and auth rules (and Synapse): users 0,
events 0, state 50, invite 0, kick 50, ban 50, redact 50; without the event
the creators have 100 (v1-v11); in v12 creators stand above every level.
``notifications`` is absent from the list on purpose: no auth rule reads its
default (only changes to it are compared, from v6).

The first test is the security bug this module was written for: with
``state_default`` taken as 0 in a room without power levels, any member could
send the first ``m.room.power_levels`` event and make themself admin.
"""

from __future__ import annotations

import pytest

from refimpl.auth_rules import Allowed, authorize
from refimpl.factories import ALICE, BOB, CAROL, RoomFactory
from refimpl.room_versions import ROOM_VERSIONS

ALL = list(ROOM_VERSIONS)


def _room(version: str, levels: dict | None = None, *, bob: int | None = None) -> RoomFactory:
    """ALICE creates a public room that BOB and CAROL join. ``levels`` is the
    power-levels content (None: the room has no such event); ``bob`` lists
    BOB at that level in ``users``, next to the creator at 100 (v1-v11)."""
    room = RoomFactory(version)
    room.join(ALICE)
    room.set_join_rule(ALICE, "public")
    if levels is not None:
        users = {} if room.room_version.privileged_creators else {ALICE: 100}
        if bob is not None:
            users[BOB] = bob
        room.set_power_levels(ALICE, {**levels, "users": users})
    room.join(BOB)
    room.join(CAROL)
    return room


def _verdict(room: RoomFactory, event) -> str:
    verdict = authorize(event, room.state, room.room_version, fetch_event=room.find)
    return "allowed" if verdict is Allowed else verdict.rule


@pytest.mark.parametrize("version", ALL)
def test_no_power_levels_member_cannot_take_over(version):
    room = _room(version)
    takeover = room.set_power_levels(BOB, {"users": {BOB: 100}}, commit=False)
    assert _verdict(room, takeover) == "event.insufficient_power"
    name = room.send_state(BOB, "m.room.name", {"name": "mine"}, commit=False)
    assert _verdict(room, name) == "event.insufficient_power"
    assert _verdict(room, room.send_state(ALICE, "m.room.name", {"name": "x"}, commit=False)) == "allowed"
    first = room.set_power_levels(ALICE, {"users": {BOB: 100}}, commit=False)
    assert _verdict(room, first) == "allowed"


@pytest.mark.parametrize("version", ALL)
def test_state_default_with_event(version):
    for bob, expected in ((50, "allowed"), (49, "event.insufficient_power")):
        room = _room(version, {}, bob=bob)
        assert _verdict(room, room.send_state(BOB, "m.custom", {}, commit=False)) == expected


@pytest.mark.parametrize("version", ALL)
@pytest.mark.parametrize("levels", [None, {}], ids=["no_event", "event"])
def test_events_default(version, levels):
    room = _room(version, levels)
    assert _verdict(room, room.send_message(BOB, commit=False)) == "allowed"
    if levels is not None:
        room = _room(version, levels, bob=-1)
        assert _verdict(room, room.send_message(BOB, commit=False)) == "event.insufficient_power"


@pytest.mark.parametrize("version", ALL)
def test_users_default(version):
    """An unlisted user is at 0: enough for a level of 0, not for 1."""
    for needed, expected in ((0, "allowed"), (1, "event.insufficient_power")):
        room = _room(version, {"events": {"m.room.message": needed}})
        assert _verdict(room, room.send_message(BOB, commit=False)) == expected


@pytest.mark.parametrize("version", ALL)
@pytest.mark.parametrize("levels", [None, {}], ids=["no_event", "event"])
def test_invite_default(version, levels):
    room = _room(version, levels)
    assert _verdict(room, room.invite(BOB, "@dan:example.org", commit=False)) == "allowed"
    if levels is not None:
        room = _room(version, levels, bob=-1)
        assert _verdict(room, room.invite(BOB, "@dan:example.org", commit=False)) == "member.invite.insufficient_power"


@pytest.mark.parametrize("version", ALL)
@pytest.mark.parametrize(
    "action, rule",
    [("kick", "member.leave.kick_insufficient_power"), ("ban", "member.ban.insufficient_power")],
)
def test_kick_and_ban_default(version, action, rule):
    room = _room(version)
    assert _verdict(room, getattr(room, action)(BOB, CAROL, commit=False)) == rule
    assert _verdict(room, getattr(room, action)(ALICE, CAROL, commit=False)) == "allowed"
    for bob, expected in ((50, "allowed"), (49, rule)):
        room = _room(version, {}, bob=bob)
        assert _verdict(room, getattr(room, action)(BOB, CAROL, commit=False)) == expected


@pytest.mark.parametrize("version", ALL)
def test_redact_default(version):
    """The redact level is an auth rule in v1-v2 only (later versions check
    redactions when they are shown), so from v3 every case is allowed."""
    checked = ROOM_VERSIONS[version].redaction_auth_checks_event_domain
    rule = "redaction.insufficient_power" if checked else "allowed"
    room = _room(version)
    target = room.send_message(ALICE)
    assert _verdict(room, room.redact(BOB, target.event_id, commit=False)) == rule
    for bob, expected in ((50, "allowed"), (49, rule)):
        room = _room(version, {}, bob=bob)
        target = room.send_message(ALICE)
        assert _verdict(room, room.redact(BOB, target.event_id, commit=False)) == expected


@pytest.mark.parametrize("version", ALL)
def test_creators(version):
    """Without the event the creator has 100 (v1-v11); from v12 the creators
    outrank any level, even one above 100 that the event sets."""
    room = _room(version)
    assert _verdict(room, room.send_state(ALICE, "m.custom", {}, commit=False)) == "allowed"
    room = _room(version, {"state_default": 101})
    privileged = ROOM_VERSIONS[version].privileged_creators
    expected = "allowed" if privileged else "event.insufficient_power"
    assert _verdict(room, room.send_state(ALICE, "m.custom", {}, commit=False)) == expected

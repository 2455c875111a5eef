"""Authorization rules: one allowed and one rejected case per rule branch, in
every room version where the branch applies.

Every event is built by RoomFactory (real signatures, hashes and IDs), and
every assertion is on a rule ID, never on message text. Each case is judged
with the cited auth events fetched, so the auth-event checks run too.
"""

from __future__ import annotations

import pytest

from refimpl.auth_rules import RULES, Allowed, Rejected, authorize, authorize_history, check_on_receipt
from refimpl.errors import LocalProtocolError
from refimpl.factories import ALICE, BOB, CAROL, IDENTITY_SERVER, RoomFactory, signed_third_party_object
from refimpl.room_versions import ROOM_VERSIONS
from refimpl.state import RoomState
from refimpl.test_keys import PUBLISHED_KEYS, signing_key_for

ALL = list(ROOM_VERSIONS)


def versions(flag: str, value: bool = True) -> list[str]:
    return [k for k, v in ROOM_VERSIONS.items() if getattr(v, flag) == value]


def verdict_of(room: RoomFactory, event, *, state: RoomState | None = None, fetch=None, rejected=frozenset()):
    verdict = authorize(
        event,
        room.state if state is None else state,
        room.room_version,
        fetch_event=fetch or room.find,
        rejected=rejected,
    )
    assert verdict is Allowed or isinstance(verdict, Rejected)
    return "allowed" if verdict else verdict.rule


def verify_keys(server: str, key_id: str):
    key = PUBLISHED_KEYS.get(server)
    return key.verify_key if key is not None and key.key_id == key_id else None


def power_room(version: str, **overrides) -> RoomFactory:
    """A public room with ALICE (creator), BOB at 50 and power levels that let
    BOB edit them; ``overrides`` replace top-level power-level fields."""
    room = RoomFactory.public_chat(version)
    content = room.default_power_levels({BOB: 50})
    content["events"]["m.room.power_levels"] = 50
    content.update(overrides)
    room.set_power_levels(ALICE, content)
    return room


# -- m.room.create --------------------------------------------------------------


@pytest.mark.parametrize("version", ALL)
def test_create_allowed(version):
    room = RoomFactory(version)
    assert verdict_of(room, room.events[0], state=RoomState()) == "allowed"


@pytest.mark.parametrize("version", ALL)
def test_create_with_prev_events(version):
    room = RoomFactory.public_chat(version)
    event = room.build("m.room.create", ALICE, dict(room.events[0].content), state_key="")
    assert verdict_of(room, event, state=RoomState()) == "create.prev_events"


@pytest.mark.parametrize("version", versions("room_id_from_create_event", False))
def test_create_room_id_domain(version):
    room = RoomFactory(version)
    content = dict(room.events[0].content, creator=BOB)
    event = room.build("m.room.create", BOB, content, state_key="", prev_events=[])
    assert verdict_of(room, event, state=RoomState()) == "create.room_id_domain"


@pytest.mark.parametrize("version", ALL)
@pytest.mark.parametrize("named", ["99", ["1"], 1])
def test_create_unknown_room_version(version, named):
    room = RoomFactory(version, create_content={"room_version": named})
    assert verdict_of(room, room.events[0], state=RoomState()) == "create.unknown_room_version"


@pytest.mark.parametrize("version", ALL)
def test_create_without_creator(version):
    room = RoomFactory(version)
    event = room.build("m.room.create", ALICE, {"room_version": version}, state_key="", prev_events=[])
    expected = "allowed" if ROOM_VERSIONS[version].implicit_room_creator else "create.creator_missing"
    assert verdict_of(room, event, state=RoomState()) == expected


@pytest.mark.parametrize("version", versions("privileged_creators"))
@pytest.mark.parametrize(
    "extra, expected",
    [([BOB, CAROL], "allowed"), (["bob"], "create.additional_creators_invalid"), (BOB, "create.additional_creators_invalid")],
)
def test_create_additional_creators(version, extra, expected):
    room = RoomFactory(version, create_content={"additional_creators": extra})
    assert verdict_of(room, room.events[0], state=RoomState()) == expected


# -- The room and the cited auth events ----------------------------------------------


@pytest.mark.parametrize("version", ALL)
def test_missing_create_event(version):
    room = RoomFactory.public_chat(version)
    assert verdict_of(room, room.send_message(ALICE, commit=False), state=RoomState()) == "create.missing"


@pytest.mark.parametrize("version", ALL)
def test_event_from_another_room(version):
    room = RoomFactory.public_chat(version)
    other = RoomFactory(version, create_content={"m.tag": 1}, room_name="other")
    other.join(ALICE)
    event = other.send_message(ALICE, commit=False)
    assert verdict_of(room, event, fetch=other.find) == "room_id.mismatch"
    assert verdict_of(other, event) == "allowed"


@pytest.mark.parametrize("version", ALL)
def test_rejected_create_event(version):
    """v12 names the create event in the room ID, which must be an accepted
    one; earlier versions cite it, so it is a rejected auth event there."""
    room = RoomFactory.public_chat(version)
    message = room.send_message(BOB, commit=False)
    create = room.events[0].event_id
    expected = "room_id.create_rejected" if ROOM_VERSIONS[version].room_id_from_create_event else "auth_events.rejected"
    assert verdict_of(room, message, rejected={create}) == expected
    assert verdict_of(room, message) == "allowed"


def _cite(room: RoomFactory, event, auth_ids):
    return room.build(event.type, event.sender, event.content, state_key=event.state_key, auth_events=auth_ids)


@pytest.mark.parametrize("version", ALL)
def test_auth_events_unknown(version):
    room = RoomFactory.public_chat(version)
    message = room.send_message(ALICE, commit=False)
    event = _cite(room, message, [*message.auth_event_ids, "$unknown:example.org"])
    assert verdict_of(room, event) == "auth_events.unknown"


@pytest.mark.parametrize("version", ALL)
def test_auth_events_duplicate(version):
    room = RoomFactory.public_chat(version)
    message = room.send_message(ALICE, commit=False)
    event = _cite(room, message, [*message.auth_event_ids, message.auth_event_ids[-1]])
    assert verdict_of(room, event) == "auth_events.duplicate"


@pytest.mark.parametrize("version", versions("room_id_from_create_event"))
def test_auth_events_create_cited(version):
    room = RoomFactory.public_chat(version)
    message = room.send_message(ALICE, commit=False)
    event = _cite(room, message, [room.events[0].event_id, *message.auth_event_ids])
    assert verdict_of(room, event) == "auth_events.create_cited"


@pytest.mark.parametrize("version", ALL)
def test_auth_events_unexpected(version):
    room = RoomFactory.public_chat(version)
    message = room.send_message(ALICE, commit=False)
    join_rules = room.state.lookup("m.room.join_rules").event_id
    event = _cite(room, message, [*message.auth_event_ids, join_rules])
    assert verdict_of(room, event) == "auth_events.unexpected"


@pytest.mark.parametrize("version", ALL)
def test_auth_events_rejected(version):
    room = RoomFactory.public_chat(version)
    message = room.send_message(ALICE, commit=False)
    power_levels = room.state.lookup("m.room.power_levels").event_id
    assert verdict_of(room, message, rejected={power_levels}) == "auth_events.rejected"


@pytest.mark.parametrize("version", versions("create_event_in_auth_events"))
def test_auth_events_missing_create(version):
    room = RoomFactory.public_chat(version)
    message = room.send_message(ALICE, commit=False)
    create = room.events[0].event_id
    event = _cite(room, message, [i for i in message.auth_event_ids if i != create])
    assert verdict_of(room, event) == "auth_events.missing_create"


def _two_rooms(version):
    room = RoomFactory.public_chat(version)
    other = RoomFactory(version, create_content={"m.tag": 1}, room_name="other")
    other.join(ALICE)
    other.set_power_levels(ALICE, other.default_power_levels())

    def fetch(event_id):
        return room.find(event_id) or other.find(event_id)

    return room, other, fetch


@pytest.mark.parametrize("version", versions("create_event_in_auth_events"))
def test_auth_events_wrong_create(version):
    room, other, fetch = _two_rooms(version)
    message = room.send_message(ALICE, commit=False)
    create = room.events[0].event_id
    event = _cite(room, message, [other.events[0].event_id if i == create else i for i in message.auth_event_ids])
    assert verdict_of(room, event, fetch=fetch) == "auth_events.wrong_create"


@pytest.mark.parametrize("version", ALL)
def test_auth_events_room_mismatch(version):
    room, other, fetch = _two_rooms(version)
    message = room.send_message(ALICE, commit=False)
    mine = room.state.lookup("m.room.power_levels").event_id
    theirs = other.state.lookup("m.room.power_levels").event_id
    event = _cite(room, message, [theirs if i == mine else i for i in message.auth_event_ids])
    assert verdict_of(room, event, fetch=fetch) == "auth_events.room_mismatch"


@pytest.mark.parametrize("version", ALL)
def test_rules_also_run_against_cited_auth_events(version):
    """BOB is joined in the state, but an event citing no membership for him
    is judged on the state its auth events form, too."""
    room = RoomFactory.public_chat(version)
    message = room.send_message(BOB, commit=False)
    bob_join = room.state.lookup("m.room.member", BOB).event_id
    event = _cite(room, message, [i for i in message.auth_event_ids if i != bob_join])
    assert verdict_of(room, event) == "sender.not_joined"
    assert verdict_of(room, message) == "allowed"


# -- m.federate and m.room.aliases ------------------------------------------------------


@pytest.mark.parametrize("version", ALL)
def test_federate_false(version):
    room = RoomFactory(version, create_content={"m.federate": False})
    room.join(ALICE)
    room.set_join_rule(ALICE, "public")
    assert verdict_of(room, room.join(BOB, commit=False)) == "federate.disallowed"
    assert verdict_of(room, room.send_message(ALICE, commit=False)) == "allowed"


@pytest.mark.parametrize("version", versions("special_case_aliases_auth"))
def test_aliases_special_case(version):
    room = RoomFactory.public_chat(version)
    content = {"aliases": ["#room:remote.example.com"]}
    own = room.send_state(BOB, "m.room.aliases", content, state_key="remote.example.com", commit=False)
    assert verdict_of(room, own) == "allowed"
    other = room.send_state(BOB, "m.room.aliases", content, state_key="example.org", commit=False)
    assert verdict_of(room, other) == "aliases.domain_mismatch"
    keyless = room.build("m.room.aliases", BOB, content)
    assert verdict_of(room, keyless) == "aliases.no_state_key"


@pytest.mark.parametrize("version", versions("special_case_aliases_auth", False))
def test_aliases_are_ordinary_state(version):
    room = RoomFactory.public_chat(version)
    content = {"aliases": ["#room:remote.example.com"]}
    own = room.send_state(BOB, "m.room.aliases", content, state_key="remote.example.com", commit=False)
    assert verdict_of(room, own) == "event.insufficient_power"
    other = room.send_state(ALICE, "m.room.aliases", content, state_key="remote.example.com", commit=False)
    assert verdict_of(room, other) == "allowed"


# -- m.room.member: join ------------------------------------------------------------------


@pytest.mark.parametrize("version", ALL)
def test_member_malformed(version):
    room = RoomFactory.public_chat(version)
    event = room.build("m.room.member", CAROL, {}, state_key=CAROL)
    assert verdict_of(room, event) == "member.malformed"


@pytest.mark.parametrize("version", ALL)
def test_first_join_is_the_creators(version):
    room = RoomFactory(version)
    assert verdict_of(room, room.join(ALICE, commit=False)) == "allowed"
    # Anyone else straight after the create event meets the default (invite) join rule.
    assert verdict_of(room, room.join(BOB, commit=False)) == "member.join.not_invited"
    # So does the creator once anything else came first.
    room.send_state(ALICE, "m.room.topic", {"topic": "early"})
    assert verdict_of(room, room.join(ALICE, commit=False)) == "member.join.not_invited"


@pytest.mark.parametrize("version", ALL)
def test_join_sender_mismatch(version):
    room = RoomFactory.public_chat(version)
    event = room.member(ALICE, CAROL, "join", commit=False)
    assert verdict_of(room, event) == "member.join.sender_mismatch"
    assert verdict_of(room, room.join(CAROL, commit=False)) == "allowed"


@pytest.mark.parametrize("version", ALL)
def test_join_banned(version):
    room = RoomFactory.public_chat(version)
    room.ban(ALICE, CAROL)
    assert verdict_of(room, room.join(CAROL, commit=False)) == "member.join.banned"


@pytest.mark.parametrize("version", ALL)
def test_join_invite_only(version):
    room = RoomFactory.invite_only(version)
    assert verdict_of(room, room.join(BOB, commit=False)) == "member.join.not_invited"
    room.invite(ALICE, BOB)
    assert verdict_of(room, room.join(BOB, commit=False)) == "allowed"


@pytest.mark.parametrize("version", versions("knocking"))
def test_join_after_knock(version):
    room = RoomFactory.knock(version)
    assert verdict_of(room, room.join(BOB, commit=False)) == "member.join.not_invited"
    room.knock_on(BOB)
    assert verdict_of(room, room.join(BOB, commit=False)) == "member.join.not_invited"
    room.invite(ALICE, BOB)
    assert verdict_of(room, room.join(BOB, commit=False)) == "allowed"


@pytest.mark.parametrize("version", versions("knocking", False))
def test_knock_join_rule_unknown_before_v7(version):
    room = RoomFactory.invite_only(version)
    room.set_join_rule(ALICE, "knock")
    assert verdict_of(room, room.join(BOB, commit=False)) == "member.join.not_allowed"


@pytest.mark.parametrize("version", ALL)
def test_join_rule_unknown(version):
    room = RoomFactory.invite_only(version)
    room.set_join_rule(ALICE, "private")
    assert verdict_of(room, room.join(BOB, commit=False)) == "member.join.not_allowed"
    room.set_join_rule(ALICE, "public")
    assert verdict_of(room, room.join(BOB, commit=False)) == "allowed"


def _restricted(version, join_rule="restricted"):
    room = RoomFactory.restricted(version)
    if join_rule != "restricted":
        room.set_join_rule(ALICE, join_rule, allow=[{"type": "m.room_membership", "room_id": "!space:example.org"}])
    return room


@pytest.mark.parametrize("version", versions("restricted_join_rule"))
@pytest.mark.parametrize("join_rule", ["restricted", "knock_restricted"])
def test_restricted_join(version, join_rule):
    room = _restricted(version, join_rule)
    supported = join_rule == "restricted" or ROOM_VERSIONS[version].knock_restricted_join_rule
    vouched = room.join(BOB, via=ALICE, commit=False)
    assert verdict_of(room, vouched) == ("allowed" if supported else "member.join.not_allowed")
    bare = room.join(BOB, commit=False)
    assert verdict_of(room, bare) == ("member.join.no_authoriser" if supported else "member.join.not_allowed")


@pytest.mark.parametrize("version", versions("restricted_join_rule"))
def test_restricted_join_invited_needs_no_authoriser(version):
    room = _restricted(version)
    room.invite(ALICE, BOB)
    assert verdict_of(room, room.join(BOB, commit=False)) == "allowed"


@pytest.mark.parametrize("version", versions("restricted_join_rule"))
def test_restricted_join_authoriser_not_joined(version):
    room = _restricted(version)
    assert verdict_of(room, room.join(BOB, via=CAROL, commit=False)) == "member.join.authoriser_not_joined"


@pytest.mark.parametrize("version", versions("restricted_join_rule"))
def test_restricted_join_authoriser_power(version):
    room = _restricted(version)
    room.invite(ALICE, CAROL)
    room.join(CAROL)
    room.set_power_levels(ALICE, dict(room.default_power_levels({CAROL: 49}), invite=50))
    assert verdict_of(room, room.join(BOB, via=CAROL, commit=False)) == "member.join.authoriser_power"
    room.set_power_levels(ALICE, dict(room.default_power_levels({CAROL: 50}), invite=50))
    assert verdict_of(room, room.join(BOB, via=CAROL, commit=False)) == "allowed"


@pytest.mark.parametrize("version", versions("restricted_join_rule"))
def test_join_authorised_via_checks(version):
    room = _restricted(version)
    invalid = room.member(BOB, BOB, "join", content={"join_authorised_via_users_server": "alice"}, commit=False)
    assert verdict_of(room, invalid) == "member.join_authorised_via.invalid"
    unsigned = room.member(BOB, BOB, "join", content={"join_authorised_via_users_server": ALICE}, commit=False)
    assert verdict_of(room, unsigned) == "member.join_authorised_via.unsigned"
    _, received = check_on_receipt(unsigned.pdu, room.room_version, verify_keys)
    assert received.rule == "receipt.signatures"


@pytest.mark.parametrize("version", versions("restricted_join_rule"))
def test_authoriser_membership_is_cited_by_joins_only(version):
    """The authorising user's member event is an auth event of a join; on
    any other membership carrying the key it is unexpected."""
    room = _restricted(version)
    room.join(BOB, via=ALICE)
    via = {"join_authorised_via_users_server": ALICE}
    leave = room.member(BOB, BOB, "leave", content=via, also_signed_by=["example.org"], commit=False)
    assert room.state.lookup("m.room.member", ALICE).event_id not in leave.auth_event_ids
    assert verdict_of(room, leave) == "allowed"
    citing = room.build(
        "m.room.member",
        BOB,
        leave.content,
        state_key=BOB,
        auth_events=[*leave.auth_event_ids, room.state.lookup("m.room.member", ALICE).event_id],
        also_signed_by=["example.org"],
    )
    assert verdict_of(room, citing) == "auth_events.unexpected"


# -- m.room.member: third-party invites -------------------------------------------------------


def _tpi_room(version, **invite_options):
    room = RoomFactory.public_chat(version)
    room.third_party_invite(ALICE, "tok", **invite_options)
    return room


@pytest.mark.parametrize("version", ALL)
@pytest.mark.parametrize("form", ["public_key", "public_keys", "both"])
@pytest.mark.parametrize("urlsafe", [False, True])
def test_third_party_invite_redeemed(version, form, urlsafe):
    # The identity server signs with a key whose base64 has a '+', so the
    # standard and URL-safe spellings of the listed key differ.
    key = signing_key_for("example.org")
    room = _tpi_room(version, form=form, urlsafe=urlsafe, keys=[key])
    signed = signed_third_party_object(CAROL, "tok", ALICE, key=key)
    assert verdict_of(room, room.redeem_third_party_invite(ALICE, CAROL, "tok", signed=signed, commit=False)) == "allowed"
    unsigned = room.redeem_third_party_invite(ALICE, CAROL, "tok", commit=False)
    assert verdict_of(room, unsigned) == "member.third_party_invite.bad_signature"


@pytest.mark.parametrize("version", ALL)
def test_third_party_invite_key_only_in_public_keys(version):
    other = signing_key_for("third.example.net")
    room = _tpi_room(version, keys=[other, signing_key_for(IDENTITY_SERVER)])
    assert room.state.lookup("m.room.third_party_invite", "tok").content["public_key"] != ""
    assert verdict_of(room, room.redeem_third_party_invite(ALICE, CAROL, "tok", commit=False)) == "allowed"


def _redeem(room, signed=None, *, sender=ALICE, target=CAROL, content=None):
    if content is not None:
        return room.member(sender, target, "invite", content=content, commit=False)
    return room.redeem_third_party_invite(sender, target, "tok", signed=signed, commit=False)


@pytest.mark.parametrize("version", ALL)
def test_third_party_invite_rejections(version):
    room = _tpi_room(version)
    wrong_key = signed_third_party_object(CAROL, "tok", ALICE, key=signing_key_for("third.example.net"))
    tampered = dict(signed_third_party_object(BOB, "tok", ALICE), mxid=CAROL)
    cases = {
        "member.third_party_invite.no_signed": _redeem(room, content={"third_party_invite": {"display_name": "c"}}),
        "member.third_party_invite.signed_incomplete": _redeem(
            room, content={"third_party_invite": {"signed": {"mxid": CAROL}}}
        ),
        "member.third_party_invite.mxid_mismatch": _redeem(room, signed_third_party_object(BOB, "tok", ALICE)),
        "member.third_party_invite.no_invite_event": _redeem(room, signed_third_party_object(CAROL, "nope", ALICE)),
        "member.third_party_invite.sender_mismatch": _redeem(room, sender=BOB),
        "member.third_party_invite.bad_signature": _redeem(room, wrong_key),
    }
    for rule, event in cases.items():
        assert verdict_of(room, event) == rule
    assert verdict_of(room, _redeem(room, tampered)) == "member.third_party_invite.bad_signature"


@pytest.mark.parametrize("version", ALL)
def test_third_party_invite_any_good_signature_counts(version):
    """A malformed entry beside a good signature does not spoil it."""
    room = _tpi_room(version)
    signed = signed_third_party_object(CAROL, "tok", ALICE)
    for junk in ("not an object", {"ed25519:0": 7}, {"ed25519:0": "!!"}):
        noisy = dict(signed, signatures={"aaa.example": junk, **signed["signatures"]})
        assert verdict_of(room, _redeem(room, noisy)) == "allowed"


@pytest.mark.parametrize("version", ALL)
def test_third_party_invite_target_banned(version):
    room = _tpi_room(version)
    room.ban(ALICE, CAROL)
    assert verdict_of(room, _redeem(room)) == "member.third_party_invite.target_banned"


# -- m.room.member: invite, leave, ban, knock ---------------------------------------------------


@pytest.mark.parametrize("version", ALL)
def test_invite(version):
    room = RoomFactory.public_chat(version)
    assert verdict_of(room, room.invite(BOB, CAROL, commit=False)) == "allowed"
    assert verdict_of(room, room.invite(CAROL, CAROL, commit=False)) == "member.invite.sender_not_joined"
    assert verdict_of(room, room.invite(ALICE, BOB, commit=False)) == "member.invite.target_joined_or_banned"
    room.set_power_levels(ALICE, dict(room.default_power_levels(), invite=50))
    assert verdict_of(room, room.invite(BOB, CAROL, commit=False)) == "member.invite.insufficient_power"


@pytest.mark.parametrize("version", ALL)
def test_leave_self(version):
    room = RoomFactory.public_chat(version)
    assert verdict_of(room, room.leave(BOB, commit=False)) == "allowed"
    assert verdict_of(room, room.leave(CAROL, commit=False)) == "member.leave.not_member"
    room.invite(ALICE, CAROL)
    assert verdict_of(room, room.leave(CAROL, commit=False)) == "allowed"


@pytest.mark.parametrize("version", versions("knocking"))
def test_leave_withdraws_knock(version):
    room = RoomFactory.knock(version)
    room.knock_on(BOB)
    assert verdict_of(room, room.leave(BOB, commit=False)) == "allowed"


@pytest.mark.parametrize("version", ALL)
def test_kick(version):
    room = RoomFactory.public_chat(version)
    assert verdict_of(room, room.kick(ALICE, BOB, commit=False)) == "allowed"
    assert verdict_of(room, room.kick(BOB, ALICE, commit=False)) == "member.leave.kick_insufficient_power"
    assert verdict_of(room, room.kick(CAROL, BOB, commit=False)) == "member.leave.sender_not_joined"


@pytest.mark.parametrize("version", ALL)
def test_unban(version):
    room = power_room(version, ban=100)
    room.ban(ALICE, CAROL)
    assert verdict_of(room, room.unban(BOB, CAROL, commit=False)) == "member.leave.unban_insufficient_power"
    assert verdict_of(room, room.unban(ALICE, CAROL, commit=False)) == "allowed"


@pytest.mark.parametrize("version", ALL)
def test_ban(version):
    room = RoomFactory.public_chat(version)
    assert verdict_of(room, room.ban(ALICE, BOB, commit=False)) == "allowed"
    assert verdict_of(room, room.ban(BOB, ALICE, commit=False)) == "member.ban.insufficient_power"
    assert verdict_of(room, room.ban(CAROL, BOB, commit=False)) == "member.ban.sender_not_joined"


@pytest.mark.parametrize("version", versions("knocking"))
def test_knock(version):
    room = RoomFactory.knock(version)
    assert verdict_of(room, room.knock_on(BOB, commit=False)) == "allowed"
    assert verdict_of(room, room.member(ALICE, BOB, "knock", commit=False)) == "member.knock.sender_mismatch"
    room.invite(ALICE, BOB)
    assert verdict_of(room, room.knock_on(BOB, commit=False)) == "member.knock.already_present"
    public = RoomFactory.public_chat(version)
    assert verdict_of(public, public.knock_on(CAROL, commit=False)) == "member.knock.join_rule"


@pytest.mark.parametrize("version", versions("knocking"))
def test_knock_restricted(version):
    room = RoomFactory.knock(version)
    room.set_join_rule(ALICE, "knock_restricted", allow=[{"type": "m.room_membership", "room_id": "!space:example.org"}])
    expected = "allowed" if ROOM_VERSIONS[version].knock_restricted_join_rule else "member.knock.join_rule"
    assert verdict_of(room, room.knock_on(BOB, commit=False)) == expected


@pytest.mark.parametrize("version", ALL)
def test_unknown_membership(version):
    room = RoomFactory.public_chat(version)
    assert verdict_of(room, room.member(BOB, BOB, "dance", commit=False)) == "member.unknown_membership"
    knock = room.knock_on(CAROL, commit=False)
    expected = "member.knock.join_rule" if ROOM_VERSIONS[version].knocking else "member.unknown_membership"
    assert verdict_of(room, knock) == expected


# -- The remaining rules -------------------------------------------------------------------------


@pytest.mark.parametrize("version", ALL)
def test_sender_not_joined(version):
    room = RoomFactory.public_chat(version)
    assert verdict_of(room, room.send_message(CAROL, commit=False)) == "sender.not_joined"
    assert verdict_of(room, room.send_message(BOB, commit=False)) == "allowed"


@pytest.mark.parametrize("version", ALL)
def test_third_party_invite_event_power(version):
    room = RoomFactory.public_chat(version)
    assert verdict_of(room, room.third_party_invite(BOB, commit=False)) == "allowed"
    room.set_power_levels(ALICE, dict(room.default_power_levels(), invite=50))
    assert verdict_of(room, room.third_party_invite(BOB, commit=False)) == "third_party_invite.insufficient_power"


@pytest.mark.parametrize("version", ALL)
def test_required_power_level(version):
    room = RoomFactory.public_chat(version)
    name = {"name": "x"}
    assert verdict_of(room, room.send_state(BOB, "m.room.name", name, commit=False)) == "event.insufficient_power"
    assert verdict_of(room, room.send_state(ALICE, "m.room.name", name, commit=False)) == "allowed"
    room.set_power_levels(ALICE, dict(room.default_power_levels(), events_default=10))
    assert verdict_of(room, room.send_message(BOB, commit=False)) == "event.insufficient_power"


@pytest.mark.parametrize("version", ALL)
def test_user_owned_state_key(version):
    room = RoomFactory.public_chat(version)
    assert verdict_of(room, room.send_state(ALICE, "m.custom", {}, state_key=BOB, commit=False)) == "state_key.user_owned"
    assert verdict_of(room, room.send_state(ALICE, "m.custom", {}, state_key=ALICE, commit=False)) == "allowed"


# -- m.room.power_levels -----------------------------------------------------------------------


def _levels(room, sender=BOB, **changes):
    content = dict(room.state.lookup("m.room.power_levels").content)
    content.update(changes)
    return verdict_of(room, room.set_power_levels(sender, content, commit=False))


@pytest.mark.parametrize("version", ALL)
def test_power_levels_stringy_integers(version):
    room = power_room(version)
    stringy = "allowed" if not ROOM_VERSIONS[version].integer_power_levels else "power_levels.not_integer"
    assert _levels(room, ALICE, ban=" +0040 ") == stringy
    events = "allowed" if not ROOM_VERSIONS[version].integer_power_levels else "power_levels.bad_event_levels"
    assert _levels(room, ALICE, events={"m.room.name": "40"}) == events
    users = "allowed" if not ROOM_VERSIONS[version].integer_power_levels else "power_levels.bad_users"
    assert _levels(room, ALICE, users={BOB: "40"}) == users


@pytest.mark.parametrize("version", versions("strict_canonical_json", False))
def test_power_levels_floats_truncate(version):
    """v1-v5 events may carry floats; a float level counts as its integer
    part (truncated towards zero), like the spec's 50.57 example."""
    room = power_room(version)
    room.invite(ALICE, CAROL)
    room.join(CAROL)
    assert _levels(room, ALICE, users={ALICE: 100, BOB: 50.57}, ban=50.5) == "allowed"
    content = dict(room.state.lookup("m.room.power_levels").content)
    room.set_power_levels(ALICE, dict(content, users={ALICE: 100, BOB: 50.57, CAROL: -0.9}, ban=50.99))
    # BOB is at 50 and the ban level is 50; CAROL's -0.9 is 0, not -1.
    assert verdict_of(room, room.ban(BOB, CAROL, commit=False)) == "allowed"
    room.set_power_levels(ALICE, dict(content, users={ALICE: 100, BOB: 49.99}, ban=50))
    assert verdict_of(room, room.ban(BOB, CAROL, commit=False)) == "member.ban.insufficient_power"


@pytest.mark.parametrize("version", ALL)
def test_power_levels_bad_users(version):
    room = power_room(version)
    assert _levels(room, ALICE, users={"alice": 10}) == "power_levels.bad_users"
    assert _levels(room, ALICE, users={BOB: "high"}) == "power_levels.bad_users"
    assert _levels(room, ALICE, users=[BOB]) == "power_levels.bad_users"


@pytest.mark.parametrize("version", ALL)
def test_power_levels_creator_in_users(version):
    room = RoomFactory.public_chat(version)
    expected = "power_levels.creator_in_users" if ROOM_VERSIONS[version].privileged_creators else "allowed"
    assert _levels(room, ALICE, users={ALICE: 100}) == expected


@pytest.mark.parametrize("version", ALL)
def test_first_power_levels_event_is_free(version):
    room = RoomFactory(version)
    room.join(ALICE)
    content = {"users": {BOB: 1000}, "ban": 9000}
    assert verdict_of(room, room.set_power_levels(ALICE, content, commit=False)) == "allowed"


@pytest.mark.parametrize("version", ALL)
def test_power_levels_named_fields(version):
    room = power_room(version, ban=51, redact=50)
    assert _levels(room, ban=40) == "power_levels.change_from_above_own"
    assert _levels(room, kick=51) == "power_levels.raise_above_own"
    assert _levels(room, kick=50) == "allowed"
    assert _levels(room, redact=10) == "allowed"


@pytest.mark.parametrize("version", ALL)
def test_power_levels_events_map(version):
    room = power_room(version)
    events = dict(room.state.lookup("m.room.power_levels").content["events"])
    assert _levels(room, events={**events, "m.room.name": 75}) == "power_levels.raise_above_own"
    assert _levels(room, events={**events, "m.room.topic": 20}) == "allowed"
    room = power_room(version, events={**events, "m.room.tombstone": 60})
    assert _levels(room, events=events) == "power_levels.change_from_above_own"


@pytest.mark.parametrize("version", ALL)
def test_power_levels_notifications(version):
    room = power_room(version, notifications={"room": 60})
    limited = ROOM_VERSIONS[version].limit_notifications_power_levels
    assert _levels(room, notifications={"room": 40}) == ("power_levels.change_from_above_own" if limited else "allowed")
    assert _levels(room, notifications={"room": 60, "x": 80}) == ("power_levels.raise_above_own" if limited else "allowed")


@pytest.mark.parametrize("version", ALL)
def test_power_levels_users(version):
    room = power_room(version)
    users = dict(room.state.lookup("m.room.power_levels").content["users"])
    assert _levels(room, users={**users, CAROL: 75}) == "power_levels.raise_above_own"
    assert _levels(room, users={**users, CAROL: 50}) == "allowed"
    assert _levels(room, users={**users, BOB: 10}) == "allowed"
    room = power_room(version, users={**users, CAROL: 50})
    assert _levels(room, users={**users, CAROL: 10}) == "power_levels.change_peer"


# -- Redactions and privileged creators -------------------------------------------------------


@pytest.mark.parametrize("version", ALL)
def test_redaction(version):
    room = RoomFactory.public_chat(version)
    alices = room.send_message(ALICE)
    bobs = room.send_message(BOB)
    special = ROOM_VERSIONS[version].redaction_auth_checks_event_domain
    expected = "redaction.insufficient_power" if special else "allowed"
    assert verdict_of(room, room.redact(BOB, alices.event_id, commit=False)) == expected
    assert verdict_of(room, room.redact(BOB, bobs.event_id, commit=False)) == "allowed"
    assert verdict_of(room, room.redact(ALICE, bobs.event_id, commit=False)) == "allowed"


@pytest.mark.parametrize("version", ALL)
def test_creators_power(version):
    room = RoomFactory(version, create_content={"additional_creators": [CAROL]})
    room.join(ALICE)
    room.set_power_levels(ALICE, room.default_power_levels({BOB: 100}))
    room.set_join_rule(ALICE, "public")
    room.join(BOB)
    room.join(CAROL)
    privileged = ROOM_VERSIONS[version].privileged_creators
    assert verdict_of(room, room.ban(BOB, ALICE, commit=False)) == "member.ban.insufficient_power"
    kick = room.kick(BOB, CAROL, commit=False)
    assert verdict_of(room, kick) == ("member.leave.kick_insufficient_power" if privileged else "allowed")
    name = room.send_state(CAROL, "m.room.name", {"name": "x"}, commit=False)
    assert verdict_of(room, name) == ("allowed" if privileged else "event.insufficient_power")


# -- Receipt checks and whole histories ---------------------------------------------------------


@pytest.mark.parametrize("version", ALL)
def test_receipt_checks(version):
    room = RoomFactory.public_chat(version)
    message = room.send_message(BOB, commit=False)
    event, verdict = check_on_receipt(message.pdu, room.room_version, verify_keys)
    assert verdict is Allowed and event == message
    forged = dict(message.pdu, origin_server_ts=message.origin_server_ts + 1)
    assert check_on_receipt(forged, room.room_version, verify_keys)[1].rule == "receipt.signatures"
    edited = dict(message.pdu, content={"body": "edited", "msgtype": "m.text"})
    event, verdict = check_on_receipt(edited, room.room_version, verify_keys)
    assert verdict is Allowed and event.content == {}
    assert check_on_receipt({"type": "m.room.message"}, room.room_version, verify_keys)[1].rule == "receipt.format"


@pytest.mark.parametrize("version", ALL)
@pytest.mark.parametrize("preset", ["public_chat", "private_chat", "invite_only"])
def test_preset_histories_pass(version, preset):
    room = getattr(RoomFactory, preset)(version)
    room.send_message(BOB if preset != "invite_only" else ALICE)
    for check in (False, True):
        verdicts = authorize_history(room.events, room.room_version, check_signatures=check, verify_keys=verify_keys)
        assert [v for _, v in verdicts if not v] == []
        assert [i for i, _ in verdicts] == [e.event_id for e in room.events]


@pytest.mark.parametrize("version", ALL)
def test_rejected_events_do_not_change_state(version):
    room = RoomFactory.public_chat(version)
    room.member(CAROL, CAROL, "ban")
    room.join(CAROL)
    verdicts = dict(authorize_history(room.events, room.room_version))
    assert verdicts[room.events[-2].event_id].rule == "member.ban.sender_not_joined"
    assert verdicts[room.events[-1].event_id] is Allowed


def test_every_rule_is_exercised_by_this_module():
    """Rule IDs named in this file cover the registry (keeps tests and RULES in step)."""
    import pathlib

    text = pathlib.Path(__file__).read_text()
    assert [r for r in RULES if f'"{r}"' not in text] == []


def test_decisions_table_names_registered_rules():
    """The decisions page only names rule IDs the code has, and is valid reStructuredText."""
    import pathlib
    import re

    import docutils.core
    import docutils.utils

    page = pathlib.Path(__file__).resolve().parents[2] / "specification" / "rooms" / "auth-decisions.rst"
    text = page.read_text()
    # Rule IDs are cited in parentheses; other dotted names are field paths.
    cited = " ".join(re.findall(r"\(([^()]*)\)", text))
    named = set(re.findall(r"``([a-z_]+(?:\.[a-z_]+)+)``", cited))
    assert named and named <= set(RULES), named - set(RULES)
    docutils.core.publish_doctree(text, settings_overrides={"halt_level": docutils.utils.Reporter.WARNING_LEVEL, "report_level": 5})


@pytest.mark.parametrize("version", ["1", "6", "12"])
def test_history_drops_forged_events(version):
    room = RoomFactory.public_chat(version)
    message = room.send_message(BOB, commit=False)
    forged = type(message).from_pdu(dict(message.pdu, origin_server_ts=1), room.room_version)
    room.add(forged)
    room.send_message(BOB)
    verdicts = authorize_history(room.events, room.room_version, check_signatures=True, verify_keys=verify_keys)
    assert [v.rule for _, v in verdicts if not v] == ["receipt.signatures"]
    with pytest.raises(LocalProtocolError):
        authorize_history(room.events, room.room_version, check_signatures=True)

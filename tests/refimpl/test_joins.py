"""make_join and send_join as an in-memory pair: the resident side's
handlers and the joining side's event, with keys passed as data."""

from __future__ import annotations

import pytest

from refimpl.errors import BadJson, Forbidden, IncompatibleRoomVersion, InvalidParam
from refimpl.factories import CAROL, RoomFactory
from refimpl.room_versions import ROOM_VERSIONS
from refimpl.joins import HostedRoom, handle_make_join, handle_send_join, judge_send_join_answer, make_join_event
from refimpl.keys import key_lookup
from refimpl.server_keys import build_server_keys, parse_server_keys
from refimpl.test_keys import signing_key_for

H2 = "remote.example.com"
H3 = "third.example.net"
KEYS = key_lookup({server: {"ed25519:1": signing_key_for(server).verify_key}
                   for server in ("example.org", H2, H3)})
NOW = 1736424000000 + 1000


def hosted(factory: RoomFactory) -> HostedRoom:
    return HostedRoom.from_events(factory.events, factory.room_version)


def join(room: HostedRoom, user=CAROL, origin=H3):
    template = handle_make_join(room, user, origin=origin, supported_versions=["10", "11"], now=NOW)
    return make_join_event(template, room.room_version, origin, signing_key_for(origin))


def test_a_public_room_accepts_the_join_and_answers_its_state():
    room = hosted(RoomFactory.public_chat("11"))
    event_id, pdu = join(room)
    joined, answer = handle_send_join(room, event_id, pdu, origin=H3, verify_keys=KEYS)
    assert joined.state.lookup("m.room.member", CAROL).event_id == event_id
    assert {e["type"] for e in answer["state"]} >= {"m.room.create", "m.room.join_rules", "m.room.power_levels"}
    assert {e["event_id"] if "event_id" in e else None for e in answer["auth_chain"]} == {None}
    # The events the state and the join cite: create, Alice's join, power
    # levels, join rules (Bob's join is state, but nothing cites it).
    assert len(answer["auth_chain"]) == 4
    assert room.state.lookup("m.room.member", CAROL) is None  # the old value is untouched


def test_invite_only_room_refuses_the_template():
    with pytest.raises(Forbidden) as caught:
        join(hosted(RoomFactory.invite_only("11")))
    assert caught.value.fields["rule"].startswith("member.join")


def test_the_room_version_must_be_among_the_joining_servers():
    room = hosted(RoomFactory.public_chat("9"))
    with pytest.raises(IncompatibleRoomVersion) as caught:
        handle_make_join(room, CAROL, origin=H3, supported_versions=[], now=NOW)
    assert caught.value.fields == {"room_version": "9"}


def test_room_versions_1_and_2_are_not_served():
    room = hosted(RoomFactory.public_chat("2"))
    with pytest.raises(IncompatibleRoomVersion):
        handle_make_join(room, CAROL, origin=H3, supported_versions=["2"], now=NOW)


def test_an_origin_joins_only_its_own_users():
    with pytest.raises(Forbidden):
        join(hosted(RoomFactory.public_chat("11")), user=CAROL, origin=H2)


@pytest.mark.parametrize(
    ("change", "error"),
    [
        (lambda event_id, pdu: (event_id, {"type": "m.room.member"}), BadJson),
        (lambda event_id, pdu: ("$other", pdu), InvalidParam),
        (lambda event_id, pdu: (event_id, {**pdu, "depth": 7}), Forbidden),
    ],
    ids=["not-a-pdu", "event-id-of-another-event", "tampered-after-signing"],
)
def test_send_join_refuses(change, error):
    room = hosted(RoomFactory.public_chat("11"))
    event_id, pdu = change(*join(room))
    with pytest.raises(error):
        handle_send_join(room, event_id, pdu, origin=H3, verify_keys=KEYS)


def test_send_join_from_another_origin_is_forbidden():
    room = hosted(RoomFactory.public_chat("11"))
    event_id, pdu = join(room)
    with pytest.raises(Forbidden):
        handle_send_join(room, event_id, pdu, origin=H2, verify_keys=KEYS)


# -- the joining server judges the answer -------------------------------------------------------

SERVER_KEYS = {server: parse_server_keys(build_server_keys(server, [signing_key_for(server)],
                                                           valid_until_ts=NOW + 86_400_000), received_ts=NOW)
               for server in ("example.org", H2, H3)}


def answered(version="11"):
    room = hosted(RoomFactory.public_chat(version))
    event_id, pdu = join(room)
    _, answer = handle_send_join(room, event_id, pdu, origin=H3, verify_keys=KEYS)
    return pdu, answer


@pytest.mark.parametrize("version", ["10", "11"])
def test_the_joining_server_accepts_an_honest_answer(version):
    pdu, answer = answered(version)
    judged, ours = judge_send_join_answer(pdu, answer, ROOM_VERSIONS[version], SERVER_KEYS)
    assert judged and all(j.ok for j in judged), judged
    assert ours.ok, ours


def test_a_state_event_altered_in_transit_is_rejected():
    pdu, answer = answered()
    state = [dict(e) for e in answer["state"]]
    rules = next(e for e in state if e["type"] == "m.room.join_rules")
    rules["content"] = {"join_rule": "invite"}
    judged, _ = judge_send_join_answer(pdu, {**answer, "state": state}, ROOM_VERSIONS["11"], SERVER_KEYS)
    refused = [j for j in judged if not j.ok]
    assert [j.type for j in refused] == ["m.room.join_rules"] and "receipt" in refused[0].verdict


def test_without_the_residents_keys_nothing_is_accepted():
    pdu, answer = answered()
    judged, ours = judge_send_join_answer(pdu, answer, ROOM_VERSIONS["11"], {H3: SERVER_KEYS[H3]})
    assert not any(j.ok for j in judged)
    assert ours.ok, "our own join is signed by us alone"


def test_a_join_the_answered_state_does_not_allow_is_refused():
    pdu, answer = answered()
    state = [e for e in answer["state"] if e["type"] != "m.room.join_rules"]
    _, ours = judge_send_join_answer(pdu, {**answer, "state": state}, ROOM_VERSIONS["11"], SERVER_KEYS)
    assert not ours.ok

"""tests/vectors/auth_rules.json: accept and reject cases as data.

Each vector is exactly a request of the oracle's ``check-event`` operation
plus the ``expected`` answer, so another implementation can replay them.
The vectors are built by RoomFactory from the published test keys; the
first test checks that the file still equals what the factory builds;
``PYTHONPATH=. .venv/bin/python tests/refimpl/test_auth_rules_vectors.py``
rewrites it.
"""

from __future__ import annotations

import json
import pathlib
from typing import Callable

import pytest

from refimpl.canonical_json import as_plain
from refimpl.errors import MatrixError, UnsupportedRoomVersion
from refimpl.factories import ALICE, BOB, CAROL, RoomFactory, signed_third_party_object
from refimpl.oracle import OPERATIONS
from refimpl.test_keys import PUBLISHED_KEYS

VECTORS = pathlib.Path(__file__).resolve().parents[1] / "vectors" / "auth_rules.json"
SERVERS = ("example.org", "remote.example.com", "third.example.net")


def _vector(description: str, room: RoomFactory, candidate, expected_rule: str | None, *, keys=False, rejected=(), pdu=None):
    vector = {
        "description": description,
        "room_version": room.room_version.identifier,
        "events": [as_plain(e.pdu) for e in room.events],
        "state": sorted(e.event_id for e in room.state.values()),
        "rejected": list(rejected),
        "event": as_plain(pdu if pdu is not None else candidate.pdu),
        "expected": {
            "allowed": expected_rule is None,
            "rule": expected_rule,
            "errcode": None if expected_rule is None else ("M_BAD_JSON" if expected_rule == "receipt.format" else "M_FORBIDDEN"),
        },
    }
    if keys:
        vector["keys"] = {s: {PUBLISHED_KEYS[s].key_id: PUBLISHED_KEYS[s].verify_key.public_base64} for s in SERVERS}
    return vector


def _case(builder: Callable[[], dict]) -> Callable[[], dict]:
    CASES.append(builder)
    return builder


CASES: list[Callable[[], dict]] = []


@_case
def _message_v1():
    room = RoomFactory.public_chat("1")
    return _vector("v1: a joined member's message, signatures checked", room, room.send_message(BOB, commit=False), None, keys=True)


@_case
def _outsider_v11():
    room = RoomFactory.public_chat("11")
    return _vector("v11: a message from a user who never joined", room, room.send_message(CAROL, commit=False), "sender.not_joined")


@_case
def _stringy_v9():
    room = RoomFactory.public_chat("9")
    event = room.set_power_levels(ALICE, dict(room.default_power_levels(), ban="60"), commit=False)
    return _vector("v9: power levels written as integer strings are accepted", room, event, None)


@_case
def _stringy_v10():
    room = RoomFactory.public_chat("10")
    event = room.set_power_levels(ALICE, dict(room.default_power_levels(), ban="60"), commit=False)
    return _vector("v10: power levels must be JSON integers", room, event, "power_levels.not_integer")


@_case
def _creator_listed_v12():
    room = RoomFactory.public_chat("12")
    event = room.set_power_levels(ALICE, room.default_power_levels({ALICE: 100}), commit=False)
    return _vector("v12: the creator may not appear in users", room, event, "power_levels.creator_in_users")


@_case
def _third_party_v6():
    room = RoomFactory.public_chat("6")
    key = PUBLISHED_KEYS["example.org"]  # its standard base64 has a '+', so the alphabets differ
    room.third_party_invite(ALICE, "tok", form="public_keys", urlsafe=True, keys=[key])
    signed = signed_third_party_object(CAROL, "tok", ALICE, key=key)
    event = room.redeem_third_party_invite(ALICE, CAROL, "tok", signed=signed, commit=False)
    return _vector("v6: third-party invite redeemed; the identity server key is listed in public_keys in URL-safe base64", room, event, None, keys=True)


@_case
def _third_party_wrong_mxid_v6():
    room = RoomFactory.public_chat("6")
    room.third_party_invite(ALICE, "tok")
    event = room.redeem_third_party_invite(ALICE, CAROL, "tok", signed=signed_third_party_object(BOB, "tok", ALICE), commit=False)
    return _vector("v6: the signed mxid names someone else", room, event, "member.third_party_invite.mxid_mismatch")


@_case
def _restricted_v8():
    room = RoomFactory.restricted("8")
    event = room.join(BOB, via=ALICE, commit=False)
    return _vector("v8: restricted join vouched for by the creator, signed by both servers", room, event, None, keys=True)


@_case
def _redaction_v2():
    room = RoomFactory.public_chat("2")
    target = room.send_message(ALICE)
    event = room.redact(BOB, target.event_id, commit=False)
    return _vector("v2: redacting another server's event without the redact level", room, event, "redaction.insufficient_power")


@_case
def _create_cited_v12():
    room = RoomFactory.public_chat("12")
    message = room.send_message(BOB, commit=False)
    event = room.build("m.room.message", BOB, message.content, auth_events=[room.events[0].event_id, *message.auth_event_ids])
    return _vector("v12: the create event is cited in auth_events", room, event, "auth_events.create_cited")


@_case
def _forged_v4():
    room = RoomFactory.public_chat("4")
    message = room.send_message(BOB, commit=False)
    forged = dict(message.pdu, origin_server_ts=message.origin_server_ts + 1)
    return _vector("v4: a signed field changed after signing", room, message, "receipt.signatures", keys=True, pdu=forged)


@_case
def _knock_v7():
    room = RoomFactory.knock("7")
    return _vector("v7: knocking on a knock room", room, room.knock_on(BOB, commit=False), None)


@_case
def _ban_v3():
    room = RoomFactory.public_chat("3")
    return _vector("v3: a user at level 0 bans the creator", room, room.ban(BOB, ALICE, commit=False), "member.ban.insufficient_power")


@_case
def _aliases_v5():
    room = RoomFactory.public_chat("5")
    event = room.send_state(BOB, "m.room.aliases", {"aliases": ["#a:example.org"]}, state_key="example.org", commit=False)
    return _vector("v5: aliases for a domain other than the sender's", room, event, "aliases.domain_mismatch")


@_case
def _rejected_auth_v11():
    room = RoomFactory.public_chat("11")
    rejected = [room.state.lookup("m.room.power_levels").event_id]
    return _vector("v11: citing a rejected power-levels event", room, room.send_message(BOB, commit=False), "auth_events.rejected", rejected=rejected)


@_case
def _bad_format_v12():
    room = RoomFactory.public_chat("12")
    message = room.send_message(BOB, commit=False)
    broken = {k: v for k, v in message.pdu.items() if k != "depth"}
    return _vector("v12: a PDU without depth", room, message, "receipt.format", pdu=broken)


@_case
def _float_levels_v5():
    room = RoomFactory.public_chat("5")
    event = room.set_power_levels(ALICE, dict(room.default_power_levels({BOB: 50.57}), ban=50.5), commit=False)
    return _vector("v5: float power levels are accepted (each counts as its integer part)", room, event, None, keys=True)


@_case
def _authoriser_cited_by_leave_v9():
    room = RoomFactory.restricted("9")
    room.join(BOB, via=ALICE)
    alice = room.state.lookup("m.room.member", ALICE).event_id
    leave = room.member(BOB, BOB, "leave", content={"join_authorised_via_users_server": ALICE}, also_signed_by=["example.org"], commit=False)
    event = room.build("m.room.member", BOB, leave.content, state_key=BOB, auth_events=[*leave.auth_event_ids, alice], also_signed_by=["example.org"])
    return _vector("v9: a leave cites the authorising user's membership, which only joins select", room, event, "auth_events.unexpected")


@_case
def _rejected_create_v12():
    room = RoomFactory.public_chat("12")
    rejected = [room.events[0].event_id]
    return _vector("v12: the room ID names a rejected create event", room, room.send_message(BOB, commit=False), "room_id.create_rejected", rejected=rejected)


@_case
def _takeover_without_power_levels_v10():
    room = RoomFactory("10")
    room.join(ALICE)
    room.set_join_rule(ALICE, "public")
    room.join(BOB)
    event = room.set_power_levels(BOB, {"users": {BOB: 100}}, commit=False)
    return _vector("v10: no power-levels event yet: a member who is not the creator sends the first one (state_default is 50)", room, event, "event.insufficient_power")


@_case
def _creator_first_power_levels_v10():
    room = RoomFactory("10")
    room.join(ALICE)
    room.set_join_rule(ALICE, "public")
    room.join(BOB)
    event = room.set_power_levels(ALICE, {"users": {ALICE: 100}}, commit=False)
    return _vector("v10: no power-levels event yet: the creator (level 100) sends the first one", room, event, None)


def build_vectors() -> list[dict]:
    return [case() for case in CASES]


def _load() -> list[dict]:
    return json.loads(VECTORS.read_text())


def test_file_matches_factory():
    assert _load() == build_vectors()


@pytest.mark.parametrize("vector", _load(), ids=lambda v: v["description"])
def test_vector(vector):
    request = {k: v for k, v in vector.items() if k not in ("description", "expected")}
    assert OPERATIONS["check-event"].run(request) == vector["expected"]


@pytest.mark.parametrize(
    "change, error",
    [
        ({"room_version": "99"}, UnsupportedRoomVersion),
        ({"events": "nope"}, MatrixError),
        ({"state": ["$missing"]}, MatrixError),
        ({"keys": {"example.org": {"ed25519:1": "!!"}}}, MatrixError),
        ({"events": [{"type": "m.room.message"}]}, MatrixError),
    ],
)
def test_malformed_requests_raise_matrix_errors(change, error):
    request = {k: v for k, v in _load()[0].items() if k not in ("description", "expected")}
    with pytest.raises(error):
        OPERATIONS["check-event"].run({**request, **change})


if __name__ == "__main__":
    VECTORS.write_text(json.dumps(build_vectors(), indent=2, sort_keys=True) + "\n")
    print(f"wrote {VECTORS}")

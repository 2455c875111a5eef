"""RoomFactory builds real events: IDs, hashes, signatures, references."""

from __future__ import annotations

import ast
import pathlib

import pytest

from refimpl import factories
from refimpl.errors import LocalProtocolError
from refimpl.event_ids import room_id_from_create_event
from refimpl.event_signing import check_received_event
from refimpl.factories import ALICE, BOB, CAROL, IDENTITY_SERVER, RoomFactory, signed_third_party_object
from refimpl.keys import SigningKey, VerifyKey
from refimpl.room_versions import ROOM_VERSIONS
from refimpl.signing import verify_json
from refimpl.test_keys import PUBLISHED_KEYS, signing_key_for
from refimpl.unpadded_base64 import decode_base64

ALL = list(ROOM_VERSIONS)


def verify_keys(server, key_id):
    key = PUBLISHED_KEYS.get(server)
    return key.verify_key if key is not None and key.key_id == key_id else None


@pytest.mark.parametrize("version", ALL)
@pytest.mark.parametrize("preset", ["public_chat", "private_chat", "invite_only"])
def test_presets_are_valid_signed_chains(version, preset):
    room = getattr(RoomFactory, preset)(version)
    previous = None
    for event in room.events:
        assert check_received_event(event.pdu, room.room_version, verify_keys).outcome == "accept"
        assert event.room_id == room.room_id
        assert event.prev_event_ids == (() if previous is None else (previous.event_id,))
        assert all(room.find(i) is not None for i in event.auth_event_ids)
        previous = event
    assert room.state.lookup("m.room.member", ALICE).content["membership"] == "join"


@pytest.mark.parametrize("version", ALL)
def test_room_id_form(version):
    room = RoomFactory(version)
    if ROOM_VERSIONS[version].room_id_from_create_event:
        assert room.room_id == room_id_from_create_event(room.events[0].pdu, room.room_version)
        assert "room_id" not in room.events[0].pdu
    else:
        assert room.room_id == "!room:example.org"


@pytest.mark.parametrize("version", ALL)
def test_auth_events_follow_the_selection(version):
    room = RoomFactory.private_chat(version)
    join = room.state.lookup("m.room.member", BOB)
    cited = {(room.find(i).type, room.find(i).state_key) for i in join.auth_event_ids}
    expected = {("m.room.power_levels", ""), ("m.room.member", BOB), ("m.room.join_rules", "")}
    if not ROOM_VERSIONS[version].room_id_from_create_event:
        expected.add(("m.room.create", ""))
    assert cited == expected


def test_commit_false_leaves_history_alone():
    room = RoomFactory.public_chat("10")
    before = list(room.events)
    candidate = room.send_message(BOB, commit=False)
    assert room.events == before and room.find(candidate.event_id) is None


@pytest.mark.parametrize("version", ["8", "12"])
def test_restricted_join_is_signed_by_both_servers(version):
    room = RoomFactory.restricted(version)
    join = room.join(BOB, via=ALICE, commit=False)
    assert set(join.pdu["signatures"]) == {"remote.example.com", "example.org"}
    assert check_received_event(join.pdu, room.room_version, verify_keys).outcome == "accept"


@pytest.mark.parametrize("preset, version", [("restricted", "7"), ("knock", "6")])
def test_presets_refuse_versions_without_the_feature(preset, version):
    with pytest.raises(LocalProtocolError):
        getattr(RoomFactory, preset)(version)


@pytest.mark.parametrize("urlsafe", [False, True])
def test_third_party_invite_keys_verify_signed_object(urlsafe):
    # example.org's key has a '+' in standard base64, so the alphabets differ.
    identity_key = signing_key_for("example.org")
    room = RoomFactory.public_chat("11")
    invite = room.third_party_invite(ALICE, "tok", keys=[identity_key], urlsafe=urlsafe)
    signed = signed_third_party_object(CAROL, "tok", ALICE, key=identity_key)
    written = invite.content["public_key"]
    assert invite.content["public_keys"][0]["public_key"] == written
    assert set(written) & (set("-_") if urlsafe else set("+/"))
    key = VerifyKey(identity_key.key_id, decode_base64(written))
    assert verify_json(signed, IDENTITY_SERVER, {identity_key.key_id: key}).ok


def test_factories_do_not_depend_on_pytest():
    tree = ast.parse(pathlib.Path(factories.__file__).read_text())
    imported = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    imported |= {n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    assert not any(m.split(".")[0] in ("pytest", "hypothesis") for m in imported)


@pytest.mark.parametrize("version", ["1", "10", "12"])
def test_a_server_without_a_published_key_signs_with_the_key_given(version):
    live = SigningKey.from_seed(bytes(range(32)), "live")
    room = RoomFactory(version, creator="@bob:localhost:8448", signing_keys={"localhost:8448": live})
    room.join("@bob:localhost:8448")
    for event in room.events:
        def keys(server, key_id):
            return live.verify_key if (server, key_id) == ("localhost:8448", live.key_id) else None

        assert check_received_event(event.pdu, room.room_version, keys).outcome == "accept"
    with pytest.raises(LocalProtocolError):
        RoomFactory(version, creator="@bob:localhost:8448")

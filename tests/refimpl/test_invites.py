"""Remote invites, both sides, as in-memory pairs (no HTTP).

Alice (example.org) invites Bob (remote.example.com). The inviting side
plans the request, the invitee's side handles it, the inviting side reads
the answer: every accepted path ends with an event both servers signed, and
every refusal is asserted by its rule ID and errcode.
"""

from __future__ import annotations

import pytest

from refimpl.canonical_json import as_plain
from refimpl.errors import Errcode, IncompatibleRoomVersion, LocalProtocolError, MatrixError
from refimpl.event_ids import room_id_from_create_event
from refimpl.events import Event
from refimpl.factories import ALICE, BOB, CAROL, RoomFactory
from refimpl.invites import (
    APIS,
    RULES,
    CountersignedInvite,
    InviteApi,
    InviteAttempt,
    InviteRefused,
    ReceivedInvite,
    handle_invite,
    handle_invite_response,
    plan_invite,
)
from refimpl.room_versions import ROOM_VERSIONS
from refimpl.test_keys import PUBLISHED_KEYS, signing_key_for

BOB_SERVER = "remote.example.com"


def published(server, key_id):
    key = PUBLISHED_KEYS.get(server)
    return key.verify_key if key is not None and key.key_id == key_id else None


def _room(version: str) -> RoomFactory:
    room = RoomFactory.invite_only(version)
    room.send_state(ALICE, "m.room.name", {"name": "Tea"})
    return room


def _invite(room: RoomFactory, target: str = BOB, **changes):
    """Alice's invite, signed by example.org only, with top-level ``changes``
    applied and re-signed (so only the change under test is wrong)."""
    event = room.member(ALICE, target, "invite", commit=False)
    if not changes:
        return as_plain(event.pdu)
    content = changes.pop("content", event.content)
    built = room.build(changes.pop("type", "m.room.member"), changes.pop("sender", ALICE), content,
                       state_key=changes.pop("state_key", target))
    return {**as_plain(built.pdu), **changes}


def _event_id(pdu, room: RoomFactory) -> str:
    """The path's event ID: the event's own, or a stand-in for a broken one."""
    try:
        return Event.from_pdu(pdu, room.room_version).event_id
    except MatrixError:
        return "$broken:example.org"


def _receive(api: InviteApi, room: RoomFactory, body, *, origin="example.org", room_id=None, event_id=None, **kw):
    if event_id is None and APIS[api].path_has_event_id:
        event_id = _event_id(body if api is InviteApi.V1 else body.get("event"), room)
    request = ReceivedInvite(api, origin, room_id or room.room_id, event_id, body)
    return handle_invite(request, our_server_name=BOB_SERVER, signing_key=signing_key_for(BOB_SERVER), verify_keys=published, **kw)


def _body(api: InviteApi, room: RoomFactory, pdu, **extra):
    if api is InviteApi.V1:
        return pdu
    if api is InviteApi.V2:
        return {"room_version": room.room_version.identifier, "event": pdu, "invite_room_state": [], **extra}
    return {"event": pdu, "invite_room_state": [], "state": [as_plain(room.events[0].pdu)], **extra}


def _rule(call) -> tuple[str, str, int]:
    with pytest.raises(MatrixError) as info:
        call()
    return info.value.fields.get("rule"), info.value.errcode.value, info.value.http_status


# -- Full exchanges -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "version, use_v3, api",
    [("1", False, InviteApi.V2), ("3", False, InviteApi.V2), ("10", True, InviteApi.V3), ("12", True, InviteApi.V3),
     ("12", False, InviteApi.V2)],
)
def test_exchange_ends_countersigned(version, use_v3, api):
    room = _room(version)
    pdu = _invite(room)
    stripped = [{"type": "m.room.name", "state_key": "", "sender": ALICE, "content": {"name": "Tea"}}]
    attempt = plan_invite(pdu, room.room_version, invite_room_state=stripped, create_event=room.events[0].pdu, use_v3=use_v3)
    assert attempt.api is api and attempt.method == "PUT"
    accepted = handle_invite(
        ReceivedInvite(api, "example.org", room.room_id, None if api is InviteApi.V3 else _event_id(pdu, room), attempt.body),
        our_server_name=BOB_SERVER, signing_key=signing_key_for(BOB_SERVER), verify_keys=published,
    )
    assert set(accepted.event.pdu["signatures"]) == {"example.org", BOB_SERVER}
    result = handle_invite_response(attempt, 200, accepted.answer, published)
    assert isinstance(result, CountersignedInvite) and result.event == accepted.event
    types = [e["type"] for e in accepted.invite_room_state]
    assert types == (["m.room.name", "m.room.create"] if api is InviteApi.V3 else ["m.room.name"])


def test_v1_exchange_after_fallback():
    room = _room("1")
    attempt = plan_invite(_invite(room), room.room_version)
    assert attempt.api is InviteApi.V2 and attempt.remaining == (InviteApi.V1,)
    v1 = handle_invite_response(attempt, 400, {"errcode": "M_UNRECOGNIZED", "error": "no"}, published)
    assert isinstance(v1, InviteAttempt) and v1.api is InviteApi.V1
    assert v1.path.startswith("/_matrix/federation/v1/invite/%21room%3Aexample.org/%24")
    accepted = _receive(InviteApi.V1, room, v1.body)
    assert accepted.answer[0] == 200
    assert isinstance(handle_invite_response(v1, 200, accepted.answer, published), CountersignedInvite)


@pytest.mark.parametrize(
    "version, use_v3, answers, outcome",
    [
        ("12", True, [(404, {"errcode": "M_UNRECOGNIZED"})], InviteApi.V2),
        ("12", True, [(404, "<html>not found</html>")], InviteApi.V2),
        ("10", False, [(404, {"errcode": "M_UNRECOGNIZED"})], "refused"),
        ("2", False, [(400, {"errcode": "M_UNRECOGNIZED"})], InviteApi.V1),
        ("2", False, [(400, {"errcode": "M_UNKNOWN"})], "refused"),
        ("2", False, [(403, {"errcode": "M_FORBIDDEN"})], "refused"),
        ("12", True, [(400, {"errcode": "M_UNRECOGNIZED"}), (404, {"errcode": "M_UNRECOGNIZED"})], "refused"),
    ],
)
def test_send_plan_fallbacks(version, use_v3, answers, outcome):
    room = _room(version)
    step = plan_invite(_invite(room), room.room_version, create_event=room.events[0].pdu, use_v3=use_v3)
    try:
        for status, body in answers:
            step = handle_invite_response(step, status, body, published)
    except InviteRefused as exc:
        assert outcome == "refused" and exc.errcode is Errcode.M_FORBIDDEN
        return
    assert step.api is outcome


def test_send_side_checks_the_answer():
    room = _room("10")
    attempt = plan_invite(_invite(room), room.room_version)
    accepted = _receive(InviteApi.V2, room, attempt.body)
    event = accepted.answer["event"]
    changed = {"event": {**event, "depth": event["depth"] + 1}}
    assert _rule(lambda: handle_invite_response(attempt, 200, changed, published))[1] == "M_INVALID_PARAM"
    unsigned = {"event": {**event, "signatures": {"example.org": event["signatures"]["example.org"]}}}
    assert _rule(lambda: handle_invite_response(attempt, 200, unsigned, published))[1] == "M_FORBIDDEN"
    assert _rule(lambda: handle_invite_response(attempt, 200, [200, accepted.answer], published))[1] == "M_BAD_JSON"
    with pytest.raises(LocalProtocolError):
        plan_invite(as_plain(room.send_message(ALICE, commit=False).pdu), room.room_version)


# -- Receiving: every rule ----------------------------------------------------------------------


@pytest.mark.parametrize("api, version", [(InviteApi.V1, "1"), (InviteApi.V2, "10"), (InviteApi.V3, "12")])
def test_invite_event_rules(api, version):
    room = _room(version)

    def rule(pdu, **kw):
        return _rule(lambda: _receive(api, room, _body(api, room, pdu), **kw))

    assert rule(_invite(room), origin="third.example.net")[0] == "invite.event.sender_not_origin"
    assert rule(_invite(room, CAROL))[0] == "invite.event.not_our_user"
    assert rule(_invite(room, state_key="bob"))[0] == "invite.event.state_key_not_user"
    assert rule(_invite(room, content={"membership": "join"}))[0] == "invite.event.not_invite"
    assert rule(_invite(room, type="m.room.topic", content={"membership": "invite"}))[0] == "invite.event.not_member"
    forged = _invite(room)
    assert rule({**forged, "origin_server_ts": forged["origin_server_ts"] + 1})[0] == "invite.event.bad_signature"
    assert rule({**forged, "content": {"membership": "invite", "displayname": "B"}})[0] == "invite.event.content_hash"
    assert rule({k: v for k, v in forged.items() if k != "depth"})[:2] == ("invite.event.malformed", "M_BAD_JSON")
    if api is not InviteApi.V3:
        assert rule(_invite(room), room_id="!other:example.org")[0] == "invite.event.room_id_mismatch"
        assert rule(_invite(room), event_id="$elsewhere:example.org")[0] == "invite.event.event_id_mismatch"


def test_body_rules():
    room = _room("10")
    pdu = _invite(room)
    v2 = lambda body: _rule(lambda: _receive(InviteApi.V2, room, body, event_id="$x"))  # noqa: E731
    assert v2([pdu])[:2] == ("invite.body.not_object", "M_BAD_JSON")
    assert v2({"room_version": "10"})[:2] == ("invite.body.missing_field", "M_MISSING_PARAM")
    assert v2({"event": pdu})[:2] == ("invite.body.missing_field", "M_MISSING_PARAM")
    assert v2({"event": pdu, "room_version": 10})[:2] == ("invite.body.bad_field", "M_BAD_JSON")
    assert v2({"event": pdu, "room_version": "10", "invite_room_state": {}})[0] == "invite.body.bad_field"
    assert v2({"event": pdu, "room_version": "99"}) == ("invite.room_version.unsupported", "M_INCOMPATIBLE_ROOM_VERSION", 400)
    with pytest.raises(IncompatibleRoomVersion):
        _receive(InviteApi.V2, room, _body(InviteApi.V2, room, pdu), supported_room_versions=frozenset({"11"}))
    with pytest.raises(LocalProtocolError):
        handle_invite(ReceivedInvite(InviteApi.V2, "example.org", room.room_id, "$x", {}),
                      our_server_name="bad name", signing_key=signing_key_for(BOB_SERVER), verify_keys=published)


@pytest.mark.parametrize("version", ["3", "11", "12"])
def test_v3_create_event_rules(version):
    """The proposal's rules on ``state``, each answered 400 M_INVALID_PARAM."""
    room = _room(version)
    pdu = _invite(room)
    create = as_plain(room.events[0].pdu)

    def rule(state, **kw):
        body = {"event": pdu, "invite_room_state": [], "state": state}
        return _rule(lambda: _receive(InviteApi.V3, room, body, **kw))

    assert rule([]) == ("invite.v3.no_create_event", "M_INVALID_PARAM", 400)
    assert rule([create, create])[0] == "invite.v3.several_create_events"
    assert rule([{**create, "state_key": "x"}])[0] == "invite.v3.create_state_key"
    assert rule({"create": create})[0] == "invite.v3.state_not_list"
    assert rule([{k: v for k, v in create.items() if k != "depth"}])[0] == "invite.v3.create_malformed"
    assert rule([create], room_id="!else:example.org")[0] == "invite.v3.room_id_mismatch"
    other = RoomFactory(version, room_name="other", create_content={"m.federate": True})
    assert rule([as_plain(other.events[0].pdu)])[0] == "invite.v3.room_id_mismatch"
    assert rule([{**create, "content": {**create["content"], "room_version": "99"}}])[1] == "M_INCOMPATIBLE_ROOM_VERSION"
    assert _rule(lambda: _receive(InviteApi.V3, room, {"event": pdu}))[:2] == ("invite.body.missing_field", "M_MISSING_PARAM")
    # More entries than the create event are tolerated (and not shown to clients).
    extra = as_plain(room.events[-1].pdu)
    accepted = _receive(InviteApi.V3, room, {"event": pdu, "invite_room_state": [{"type": "m.room.create"}], "state": [extra, create]})
    assert [e["type"] for e in accepted.invite_room_state] == ["m.room.create"]
    assert accepted.invite_room_state[0]["content"] == create["content"]
    if ROOM_VERSIONS[version].room_id_from_create_event:
        assert room_id_from_create_event(create, room.room_version) == room.room_id


def test_v3_refuses_room_versions_without_hash_ids():
    room = _room("2")
    body = {"event": _invite(room), "state": [as_plain(room.events[0].pdu)]}
    assert _rule(lambda: _receive(InviteApi.V3, room, body))[0] == "invite.v3.room_version_too_old"


def test_rules_registry_is_exercised():
    import pathlib

    text = pathlib.Path(__file__).read_text()
    assert [r for r in RULES if f'"{r}"' not in text] == []

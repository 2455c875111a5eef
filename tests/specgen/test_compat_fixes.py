"""Errors in our corpus that comparing it with the public Matrix
specification showed (``make compat``), each fixed and held here: real
events built by refimpl, and instances validated against the corpus's own
schemas through its resolver."""

import pytest
from jsonschema import Draft202012Validator

from conftest import REPO
from refimpl.canonical_json import as_plain
from refimpl.factories import ALICE, BOB, RoomFactory
from specgen.corpus import Corpus
from specgen.diff import _errcodes
from specgen.openapi import load_api
from specgen.refs import Resolver
from specgen.sources import join_pointer

CORPUS = Corpus(REPO)
RESOLVER = Resolver(CORPUS)
SS = REPO / "api/server-server"
JSON = "application/json"


def _validator(path, *tokens):
    uri = path.resolve().as_uri() + "#" + join_pointer("", *tokens)
    return Draft202012Validator({"$ref": uri}, registry=RESOLVER.registry())


def _client_form(event):
    """An event as the event schemas describe it: with its ``event_id``
    and ``room_id`` (which a v12 create event's PDU lacks)."""
    return {**as_plain(event.pdu), "event_id": event.event_id, "room_id": event.room_id}


def _request(path, template, method="put"):
    return _validator(path, "paths", template, method, "requestBody", "content", JSON, "schema")


def _endpoint(path, method, suffix):
    document, problems = load_api(CORPUS, RESOLVER, path)
    assert not problems
    return next(e for e in document.endpoints if e.method == method and e.path.endswith(suffix))


def test_v3_invite_state_holds_a_room_version_12_create_event():
    """A v12 create event has no room_id; ``state`` items were typed as
    v3 PDUs, which require one."""
    create = as_plain(RoomFactory("12").events[0].pdu)
    assert "room_id" not in create
    schema = _request(SS / "invites-v3.yaml", "/_matrix/federation/v3/invite/{roomId}")
    errors = [e.message for e in schema.iter_errors({"event": {}, "state": [create]})
              if e.absolute_path and e.absolute_path[0] == "state"]
    assert errors == []


def test_send_join_body_is_a_join():
    room = RoomFactory.public_chat("11")
    join, leave = room.join(BOB), room.leave(BOB)
    # Both versions of send_join take this body.
    schema = _validator(SS / "joins-v1.yaml", "components", "requestBodies", "joinEvent", "content", JSON, "schema")
    assert schema.is_valid(as_plain(join.pdu))
    assert not schema.is_valid(as_plain(leave.pdu))


def test_send_join_response_needs_no_origin():
    """The public spec dropped ``origin`` (v1.14): servers never sent it."""
    schema = _validator(SS / "definitions/send_join_response.yaml")
    room = RoomFactory.public_chat("11")
    assert schema.is_valid({"state": [as_plain(e.pdu) for e in room.events], "auth_chain": []})


def test_make_join_template_requires_origin_server_ts():
    template = {"type": "m.room.member", "room_id": "!r:example.org", "sender": BOB, "state_key": BOB,
                "content": {"membership": "join"}, "prev_events": [], "auth_events": []}
    schema = _validator(SS / "definitions/join_template.yaml")
    assert not schema.is_valid(template)
    assert schema.is_valid({**template, "origin_server_ts": 1736424119000})


@pytest.mark.parametrize("file, method, suffix, status, codes", [
    ("joins-v1.yaml", "GET", "/make_join/{roomId}/{userId}", "400",
     {"M_UNABLE_TO_AUTHORISE_JOIN", "M_UNABLE_TO_GRANT_JOIN"}),
    ("joins-v2.yaml", "PUT", "/v2/send_join/{roomId}/{eventId}", "400",
     {"M_UNABLE_TO_AUTHORISE_JOIN", "M_UNABLE_TO_GRANT_JOIN", "M_MISSING_PARAM"}),
    ("invites-v1.yaml", "PUT", "/v1/invite/{roomId}/{eventId}", "400", {"M_INVALID_PARAM"}),
    ("invites-v2.yaml", "PUT", "/v2/invite/{roomId}/{eventId}", "400", {"M_INVALID_PARAM", "M_MISSING_PARAM"}),
    ("../identity/sign.yaml", "POST", "/sign-ed25519", "403", {"M_TERMS_NOT_SIGNED"}),
])
def test_errcodes_the_public_spec_lists_are_ours_too(file, method, suffix, status, codes):
    endpoint = _endpoint(SS / file, method, suffix)
    response = next(r for r in endpoint.responses if r.status == status)
    assert codes <= _errcodes(response)


def test_room_name_has_no_length_limit():
    """The public spec dropped ``maxLength: 255`` (v1.3); nothing enforces it."""
    room = RoomFactory.public_chat("11")
    name = room.send_state(ALICE, "m.room.name", {"name": "n" * 300})
    assert _validator(REPO / "event-schemas/schema/m.room.name.yaml").is_valid(_client_form(name))


def test_create_event_may_repeat_an_additional_creator():
    """No auth rule requires ``additional_creators`` to be unique: refimpl
    accepts the room, so the schema must too."""
    room = RoomFactory("12", create_content={"additional_creators": [BOB, BOB]})
    room.join(ALICE)
    create = room.events[0]
    assert _validator(REPO / "event-schemas/schema/m.room.create.yaml").is_valid(_client_form(create))


def test_third_party_invite_proof_needs_only_signed():
    """m.room.member's ``third_party_invite`` carries only ``signed``
    (seed 000); the invite's proof definition agrees."""
    signed = {"mxid": BOB, "token": "abc", "signatures": {"id.example.org": {"ed25519:0": "c2ln"}}}
    assert _validator(SS / "definitions/third_party_invite_proof.yaml").is_valid({"signed": signed})


@pytest.mark.parametrize("field, limit", [("prev_events", 20), ("auth_events", 10)])
def test_pdu_reference_lists_are_bounded(field, limit):
    """At most 20 ``prev_events`` and 10 ``auth_events`` in every room version."""
    room = RoomFactory.public_chat("11")
    pdu = as_plain(room.send_message(ALICE).pdu)
    schema = _validator(SS / "definitions/pdu_v3.yaml")
    assert schema.is_valid({**pdu, field: [pdu[field][0]] * limit})
    assert not schema.is_valid({**pdu, field: [pdu[field][0]] * (limit + 1)})

"""tests/vectors/{base64,invites,third_party_invites,key_validity}.json: the
flow steps as oracle requests, for other implementations to replay.

Each case is ``{"description", "op", "request", "expected"}``: the request
an implementation sends to ``python -m refimpl`` and the answer it gets,
covering each step's acceptance and every refusal rule with its errcode.
The files are built here from RoomFactory and the published test keys; the
first test checks they are current, and
``PYTHONPATH=. .venv/bin/python tests/refimpl/test_flow_vectors.py``
rewrites them. The property at the end holds every operation to the
oracle's promise: any JSON in any field gives an answer, never a traceback.
"""

from __future__ import annotations

import json
import pathlib
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from refimpl import invites, third_party_invites
from refimpl.canonical_json import as_plain
from refimpl.errors import MatrixError
from refimpl.events import Event
from refimpl.factories import ALICE, BOB, CAROL, IDENTITY_SERVER, RoomFactory
from refimpl.identity_service import onbind_payload, store_invite
from refimpl.keys import SigningKey
from refimpl.oracle import OPERATIONS, handle
from refimpl.test_keys import PUBLISHED_KEYS, signing_key_for
from refimpl.unpadded_base64 import encode_base64

VECTORS = pathlib.Path(__file__).resolve().parents[1] / "vectors"
FILES = {
    "base64": "Unpadded Base64 through the oracle: encode (either alphabet) and decode (either alphabet, padded or not).",
    "invites": "Remote invites: the invitee's checks (invite-receive) and the inviting side's plan and fallback (invite-send-plan).",
    "third_party_invites": "Third-party invites: the identity server's endpoints (is-*), the signed check, key_validity_url, and exchange_third_party_invite.",
    "key_validity": "Whether a server key may verify an event sent at a given time (key-valid-for-event), at the boundaries.",
}
EPHEMERAL = SigningKey.from_seed(bytes(range(32)), "0")
ADDRESS = "carol@third.example.net"


def _key(server: str) -> dict[str, str]:
    key = signing_key_for(server)
    return {"seed": encode_base64(key.seed), "key_id": key.key_id}


def _keys(*servers: str) -> dict[str, dict[str, str]]:
    return {s: {PUBLISHED_KEYS[s].key_id: PUBLISHED_KEYS[s].verify_key.public_base64} for s in servers}


def _case(file: str, description: str, op: str, request: dict[str, Any]) -> dict[str, Any]:
    return {"file": file, "description": description, "op": op, "request": as_plain(request),
            "expected": handle(op, as_plain(request))}


def _refusal(file: str, rules, rule: str, prefix: str, op: str, request: dict[str, Any]) -> dict[str, Any]:
    """A refusal case, checked while it is built to hit the rule it is named for."""
    error_class, meaning = rules[rule]
    case = _case(file, f"{prefix}: {meaning} ({rule}, {error_class.errcode.value})", op, request)
    assert case["expected"].get("rule") == rule, (rule, case["expected"])
    return case


# -- base64 ---------------------------------------------------------------------------------------


def _base64_cases():
    yield _case("base64", "encode: standard alphabet, padding dropped", "base64-encode", {"hex": "fbff"})
    yield _case("base64", "encode: URL-safe alphabet", "base64-encode", {"hex": "fbff", "urlsafe": True})
    yield _case("base64", "encode: empty input", "base64-encode", {"hex": ""})
    yield _case("base64", "encode: not hexadecimal (M_BAD_JSON)", "base64-encode", {"hex": "zz"})
    for text, what in [("+/8", "standard"), ("-_8", "URL-safe"), ("+/8=", "padded"), ("YJDBA9Xnr2sVqXD9Vj7XVUnmFZcZrlw8Md7kMW+3XA1", "non-zero tail bits (the appendix seed)")]:
        yield _case("base64", f"decode: {what}", "base64-decode", {"base64": text})
    for text, what in [("A", "impossible length"), ("ab!c", "a character outside both alphabets"), ("a=bc", "padding in the middle")]:
        yield _case("base64", f"decode refused: {what} (M_BAD_JSON)", "base64-decode", {"base64": text})


# -- invites ------------------------------------------------------------------------------------


def _room(version: str) -> RoomFactory:
    room = RoomFactory.invite_only(version)
    room.send_state(ALICE, "m.room.name", {"name": "Tea"})
    return room


def _invite(room: RoomFactory, target: str = BOB, content=None, event_type="m.room.member") -> dict:
    return as_plain(room.build(event_type, ALICE, content or {"membership": "invite"}, state_key=target).pdu)


def _receive(room: RoomFactory, api: str, pdu: Any, *, body: Any = None, event_id: str | None = None, **changes):
    if body is None:
        if api == "v1":
            body = pdu
        elif api == "v2":
            body = {"room_version": room.room_version.identifier, "event": pdu, "invite_room_state": []}
        else:
            body = {"event": pdu, "invite_room_state": [], "state": [as_plain(room.events[0].pdu)]}
    if event_id is None and api != "v3":
        try:
            event_id = Event.from_pdu(pdu, room.room_version).event_id
        except MatrixError:
            event_id = "$unparsable:example.org"
    request = {"api": api, "origin": "example.org", "destination": "remote.example.com", "room_id": room.room_id,
               "body": body, "verify_keys": _keys("example.org"), "key": _key("remote.example.com")}
    if event_id is not None:
        request["event_id"] = event_id
    return {**request, **changes}


def _invite_cases():
    r1, r10, r12 = _room("1"), _room("10"), _room("12")
    good10 = _invite(r10)
    yield _case("invites", "v1: room version 1, accepted and countersigned ([200, {event}])", "invite-receive", _receive(r1, "v1", _invite(r1)))
    yield _case("invites", "v2: room version 10, accepted", "invite-receive", _receive(r10, "v2", good10))
    yield _case("invites", "v3: room version 12, the create event in state; it joins invite_room_state", "invite-receive", _receive(r12, "v3", _invite(r12)))
    refusals = [
        ("invite.body.not_object", _receive(r10, "v2", good10, body=[good10])),
        ("invite.body.missing_field", _receive(r10, "v2", good10, body={"event": good10})),
        ("invite.body.bad_field", _receive(r10, "v2", good10, body={"event": good10, "room_version": 10})),
        ("invite.room_version.unsupported", _receive(r10, "v2", good10, body={"event": good10, "room_version": "99"})),
        ("invite.v3.state_not_list", _receive(r12, "v3", _invite(r12), body={"event": _invite(r12), "state": {}})),
        ("invite.v3.no_create_event", _receive(r12, "v3", _invite(r12), body={"event": _invite(r12), "state": []})),
        ("invite.v3.several_create_events", _receive(r12, "v3", _invite(r12), body={"event": _invite(r12), "state": [as_plain(r12.events[0].pdu)] * 2})),
        ("invite.v3.create_state_key", _receive(r12, "v3", _invite(r12), body={"event": _invite(r12), "state": [{**as_plain(r12.events[0].pdu), "state_key": "x"}]})),
        ("invite.v3.create_malformed", _receive(r12, "v3", _invite(r12), body={"event": _invite(r12), "state": [{"type": "m.room.create", "state_key": "", "content": {"room_version": "12"}}]})),
        ("invite.v3.room_version_too_old", _receive(r1, "v3", _invite(r1), body={"event": _invite(r1), "state": [as_plain(r1.events[0].pdu)]})),
        ("invite.v3.room_id_mismatch", _receive(r12, "v3", _invite(r12), body={"event": _invite(r12), "state": [as_plain(RoomFactory("12", room_name="x", create_content={"m.federate": True}).events[0].pdu)]})),
        ("invite.event.malformed", _receive(r10, "v2", {k: v for k, v in good10.items() if k != "depth"})),
        ("invite.event.room_id_mismatch", _receive(r10, "v2", good10, room_id="!other:example.org")),
        ("invite.event.event_id_mismatch", _receive(r10, "v2", good10, event_id="$elsewhere")),
        ("invite.event.not_member", _receive(r10, "v2", _invite(r10, event_type="m.room.topic"))),
        ("invite.event.not_invite", _receive(r10, "v2", _invite(r10, content={"membership": "join"}))),
        ("invite.event.state_key_not_user", _receive(r10, "v2", _invite(r10, target="bob"))),
        ("invite.event.not_our_user", _receive(r10, "v2", _invite(r10, target=CAROL))),
        ("invite.event.sender_not_origin", _receive(r10, "v2", good10, origin="third.example.net")),
        ("invite.event.bad_signature", _receive(r10, "v2", {**good10, "origin_server_ts": 1})),
        ("invite.event.content_hash", _receive(r10, "v2", {**good10, "content": {"membership": "invite", "x": 1}})),
    ]
    for rule, request in refusals:
        yield _refusal("invites", invites.RULES, rule, "refused", "invite-receive", request)
    yield _case("invites", "a destination that is not a server name (M_INVALID_PARAM)", "invite-receive", _receive(r10, "v2", good10, destination="bad name"))
    # The sending side: plans and fallbacks, with the invitee's answers given.
    accepted = OPERATIONS["invite-receive"].run(_receive(r10, "v2", good10))["answer"]
    send = {"room_version": "10", "event": good10, "verify_keys": _keys("example.org", "remote.example.com")}
    yield _case("invites", "send: v10 tries v2 first; the countersigned answer is checked", "invite-send-plan", {**send, "answers": [[200, accepted]]})
    yield _case("invites", "send: v2 unknown to the invitee and no v1 for v10 rooms: refused", "invite-send-plan", {**send, "answers": [[404, {"errcode": "M_UNRECOGNIZED"}]]})
    yield _case("invites", "send: v12 with the proposal tries v3, falls back to v2 on 404 M_UNRECOGNIZED", "invite-send-plan",
                {"room_version": "12", "event": _invite(r12), "create_event": as_plain(r12.events[0].pdu), "use_v3": True, "answers": [[404, {"errcode": "M_UNRECOGNIZED"}]]})
    yield _case("invites", "send: v1 rooms fall back from v2 to v1 on 400 M_UNRECOGNIZED", "invite-send-plan",
                {"room_version": "1", "event": _invite(r1), "answers": [[400, {"errcode": "M_UNRECOGNIZED"}]]})
    yield _case("invites", "send: a 403 is a refusal, not a reason to fall back", "invite-send-plan",
                {"room_version": "1", "event": _invite(r1), "answers": [[403, {"errcode": "M_FORBIDDEN"}]]})
    yield _case("invites", "send: an answer whose event was changed is refused (M_INVALID_PARAM)", "invite-send-plan",
                {**send, "answers": [[200, {"event": {**accepted["event"], "depth": 1}}]]})


# -- third-party invites --------------------------------------------------------------------------


def _third_party_room():
    room = RoomFactory.invite_only("10")
    stored, answer = store_invite({"medium": "email", "address": ADDRESS, "room_id": room.room_id, "sender": ALICE},
                                  base_url=f"https://{IDENTITY_SERVER}", long_term_key=signing_key_for(IDENTITY_SERVER),
                                  ephemeral_key=EPHEMERAL, token="tok")
    keys = answer["public_keys"]
    content = {"display_name": answer["display_name"], "key_validity_url": keys[0]["key_validity_url"],
               "public_key": keys[0]["public_key"], "public_keys": keys}
    room.send_state(ALICE, "m.room.third_party_invite", content, state_key="tok")
    return room, stored, content


def _third_party_cases():
    room, stored, content = _third_party_room()
    lt = signing_key_for(IDENTITY_SERVER)
    stored_json = [dict(stored.__dict__)]
    store = {"body": {"medium": "email", "address": ADDRESS, "room_id": room.room_id, "sender": ALICE},
             "base_url": f"https://{IDENTITY_SERVER}", "key": _key(IDENTITY_SERVER),
             "ephemeral_key": {"seed": encode_base64(EPHEMERAL.seed), "key_id": "ed25519:0"}, "token": "tok"}
    yield _case("third_party_invites", "store-invite: token, long-term and ephemeral keys, redacted address", "is-store-invite", store)
    yield _case("third_party_invites", "store-invite refused: medium not handled (M_UNRECOGNIZED)", "is-store-invite", {**store, "body": {**store["body"], "medium": "msisdn"}})
    yield _case("third_party_invites", "store-invite refused: address already bound (M_THREEPID_IN_USE)", "is-store-invite", {**store, "bound": {f"email:{ADDRESS}": CAROL}})
    yield _case("third_party_invites", "store-invite refused: sender missing (M_MISSING_PARAM)", "is-store-invite", {**store, "body": {"medium": "email", "address": ADDRESS, "room_id": room.room_id}})
    yield _case("third_party_invites", "store-invite refused: sender not a user ID (M_INVALID_PARAM)", "is-store-invite", {**store, "body": {**store["body"], "sender": "alice"}})
    sign = {"server_name": IDENTITY_SERVER, "stored": stored_json,
            "body": {"mxid": CAROL, "token": "tok", "private_key": encode_base64(EPHEMERAL.seed)}}
    yield _case("third_party_invites", "sign-ed25519: mxid, sender and token signed with the ephemeral key", "is-sign", sign)
    yield _case("third_party_invites", "sign-ed25519 refused: unknown token (404 M_UNRECOGNIZED)", "is-sign", {**sign, "body": {**sign["body"], "token": "nope"}})
    yield _case("third_party_invites", "sign-ed25519 refused: a private key other than the invite's (M_INVALID_PARAM)", "is-sign", {**sign, "body": {**sign["body"], "private_key": encode_base64(lt.seed)}})
    yield _case("third_party_invites", "isvalid: the long-term key, written in the URL-safe alphabet", "is-isvalid",
                {"public_key": encode_base64(lt.verify_key.public_bytes, urlsafe=True), "valid_keys": [lt.verify_key.public_base64]})
    yield _case("third_party_invites", "isvalid: a key we do not vouch for", "is-isvalid", {"public_key": EPHEMERAL.verify_key.public_base64, "valid_keys": [lt.verify_key.public_base64]})
    yield _case("third_party_invites", "onbind: one signed object per stored invite for the address", "is-onbind",
                {"medium": "email", "address": ADDRESS, "mxid": CAROL, "stored": stored_json, "server_name": IDENTITY_SERVER, "key": _key(IDENTITY_SERVER)})
    onbind = onbind_payload("email", ADDRESS, CAROL, [stored], server_name=IDENTITY_SERVER, long_term_key=lt)
    signed = onbind["invites"][0]["signed"]
    identity_keys = _keys(IDENTITY_SERVER)
    yield _case("third_party_invites", "onbind received: the identity server's key fetched, one exchange request per invite",
                "onbind-receive", {"body": onbind, "destination": "third.example.net", "identity_keys": identity_keys})
    entry = onbind["invites"][0]
    forged = {**signed, "signatures": {IDENTITY_SERVER: {"ed25519:0": signed["signatures"][IDENTITY_SERVER]["ed25519:0"]},
                                       **{f"is{i}.example.org": {"ed25519:0": "AAAA"} for i in range(8)}}}
    for rule, body, destination, keys in [
        ("onbind.not_object", [onbind], "third.example.net", identity_keys),
        ("onbind.missing_field", {k: v for k, v in onbind.items() if k != "invites"}, "third.example.net", identity_keys),
        ("onbind.bad_field", {**onbind, "invites": [5]}, "third.example.net", identity_keys),
        ("onbind.not_our_user", onbind, "example.org", identity_keys),
        ("onbind.mxid_mismatch", {**onbind, "invites": [{**entry, "signed": {**signed, "mxid": BOB}}]}, "third.example.net", identity_keys),
        ("onbind.bad_signature", onbind, "third.example.net",
         {IDENTITY_SERVER: {PUBLISHED_KEYS[IDENTITY_SERVER].key_id: PUBLISHED_KEYS["example.org"].verify_key.public_base64}}),
        ("onbind.too_many_keys", {**onbind, "invites": [{**entry, "signed": forged}]}, "third.example.net", identity_keys),
    ]:
        yield _refusal("third_party_invites", third_party_invites.RULES, rule, "onbind refused", "onbind-receive",
                       {"body": body, "destination": destination, "identity_keys": keys})
    yield _case("third_party_invites", "onbind refused: the identity server's key could not be fetched (M_FORBIDDEN)",
                "onbind-receive", {"body": onbind, "destination": "third.example.net"})
    yield _case("third_party_invites", "signed verifies with the invite's long-term key", "third-party-signed-verify", {"signed": signed, "invite": content})
    yield _case("third_party_invites", "signed altered after signing: no key verifies it", "third-party-signed-verify", {"signed": {**signed, "mxid": BOB}, "invite": content})
    url = content["key_validity_url"]
    for status, body, what in [(200, {"valid": True}, "valid"), (200, {"valid": "true"}, "not the boolean true"), (404, {"valid": True}, "not a 200")]:
        yield _case("third_party_invites", f"key_validity_url answer: {what}", "key-validity-check",
                    {"key_validity_url": url, "public_key": lt.verify_key.public_base64, "status": status, "body": body})
    exchange = {"type": "m.room.member", "room_id": room.room_id, "sender": ALICE, "state_key": CAROL,
                "content": {"membership": "invite", "third_party_invite": {"signed": signed}}}
    query = third_party_invites.key_validity_request_url(url, lt.verify_key.public_base64)
    base = {"room_version": "10", "room_id": room.room_id, "events": [as_plain(e.pdu) for e in room.events],
            "state": sorted(e.event_id for e in room.state.values()), "body": exchange}
    yield _case("third_party_invites", "exchange: accepted once the identity server vouches for the key", "exchange-third-party-invite",
                {**base, "validity": {query: [200, {"valid": True}]}})
    bad = [
        ("exchange.key_revoked", {**base, "validity": {query: [200, {"valid": False}]}}),
        ("exchange.malformed", {**base, "body": {**exchange, "type": "m.room.message"}}),
        ("exchange.room_id_mismatch", {**base, "room_id": "!else:example.org"}),
        ("exchange.no_signed", {**base, "body": {**exchange, "content": {"membership": "invite"}}}),
        ("exchange.signed_incomplete", {**base, "body": {**exchange, "content": {"membership": "invite", "third_party_invite": {"signed": {"mxid": CAROL}}}}}),
        ("exchange.mxid_mismatch", {**base, "body": {**exchange, "state_key": BOB}}),
        ("exchange.no_invite_event", {**base, "body": {**exchange, "content": {"membership": "invite", "third_party_invite": {"signed": {**signed, "token": "x"}}}}}),
        ("exchange.sender_mismatch", {**base, "body": {**exchange, "sender": BOB}}),
        ("exchange.bad_signature", {**base, "body": {**exchange, "content": {"membership": "invite", "third_party_invite": {"signed": {**signed, "extra": 1}}}}}),
    ]
    for rule, request in bad:
        yield _refusal("third_party_invites", third_party_invites.RULES, rule, "exchange refused", "exchange-third-party-invite", request)


# -- key validity over time -----------------------------------------------------------------------


def _key_validity_cases():
    day = 24 * 60 * 60 * 1000
    for version in ("4", "5"):
        for ts, what in [(1000, "at valid_until_ts"), (1001, "one millisecond after valid_until_ts")]:
            yield _case("key_validity", f"v{version}: event {what}", "key-valid-for-event",
                        {"room_version": version, "origin_server_ts": ts, "valid_until_ts": 1000, "received_ts": 0})
        for ts, what in [(999, "just before expired_ts"), (1000, "at expired_ts")]:
            yield _case("key_validity", f"v{version}: old key, event {what}", "key-valid-for-event",
                        {"room_version": version, "origin_server_ts": ts, "expired_ts": 1000})
    for ts, what in [(7 * day, "at the 7-day cap"), (7 * day + 1, "past the 7-day cap")]:
        yield _case("key_validity", f"v10: valid_until_ts a year away is believed for 7 days after receipt; event {what}", "key-valid-for-event",
                    {"room_version": "10", "origin_server_ts": ts, "valid_until_ts": 365 * day, "received_ts": 0})


def build_vectors() -> dict[str, list[dict]]:
    files: dict[str, list[dict]] = {name: [] for name in FILES}
    for case in (*_base64_cases(), *_invite_cases(), *_third_party_cases(), *_key_validity_cases()):
        files[case.pop("file")].append(case)
    return files


def _load(name: str) -> list[dict]:
    path = VECTORS / f"{name}.json"
    return json.loads(path.read_text(encoding="utf-8"))["cases"] if path.exists() else []


ALL = [case for name in FILES for case in _load(name)]


def test_files_match_the_handlers():
    assert {name: _load(name) for name in FILES} == build_vectors()


@pytest.mark.parametrize("case", ALL, ids=lambda c: f"{c['op']}: {c['description']}")
def test_vector(case):
    assert handle(case["op"], case["request"]) == case["expected"]


def test_every_op_has_vectors_and_every_rule_a_refusal():
    ops = {c["op"] for c in ALL}
    assert ops >= {"base64-encode", "base64-decode", "invite-receive", "invite-send-plan", "third-party-signed-verify",
                   "key-validity-check", "exchange-third-party-invite", "is-store-invite", "is-sign", "is-isvalid",
                   "is-onbind", "onbind-receive", "key-valid-for-event"}
    rules = {c["expected"].get("rule") for c in ALL}
    assert set(invites.RULES) | set(third_party_invites.RULES) <= rules


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=12,
)


@settings(max_examples=200, deadline=None)
@given(case=st.sampled_from(ALL), data=st.data())
def test_any_json_in_any_field_is_answered(case, data):
    """Every flow op answers a request with any field replaced by any JSON
    (or dropped) with a result or an error line, never an internal error."""
    request = dict(case["request"])
    name = data.draw(st.sampled_from(sorted(request)))
    if data.draw(st.booleans()):
        del request[name]
    else:
        request[name] = data.draw(_JSON)
    answer = handle(case["op"], request)
    assert isinstance(answer, dict)
    if "error" in answer:
        assert not answer["error"]["message"].startswith("internal error"), answer


if __name__ == "__main__":
    for name, cases in build_vectors().items():
        document = {"description": FILES[name], "cases": cases}
        (VECTORS / f"{name}.json").write_text(json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n")
        print(f"wrote {VECTORS / name}.json")

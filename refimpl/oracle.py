"""The oracle: refimpl's operations as JSON in, JSON out, for other implementations to test against.

Theory of operation: :data:`OPERATIONS` is an explicit registry from an
operation name (``sign-json``) to a function taking the decoded request
object and returning the result object, plus a one-line summary. Every
function only translates: it reads its fields, builds keys and room
versions from their JSON forms, calls the protocol module that owns the
concept, and writes the answer back as JSON. :func:`run_line` wraps one
input line into exactly one output line and never raises; the command-line
adapter (:mod:`refimpl.__main__`) is the only place that touches stdin and
stdout.

Shared JSON forms in requests:

* a signing key: ``{"seed": "<unpadded base64 of 32 bytes>", "key_id": "ed25519:1"}``
* verify keys: ``{"<server>": {"<key id>": "<unpadded base64 public key>"}}``
* a room version: ``"room_version": "10"``
* times: integers, milliseconds since the epoch (the oracle has no clock)

A request the oracle cannot serve becomes
``{"error": {"errcode": "M_...", "message": "..."}}``: ``M_NOT_JSON`` for
a line that is not JSON, ``M_BAD_JSON`` / ``M_MISSING_PARAM`` for a request
of the wrong shape, ``M_UNRECOGNIZED`` for an unknown ``op``, and otherwise
the errcode of the protocol error raised (``M_UNAUTHORIZED`` for a request
signature that does not verify, and so on).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from . import (
    auth_rules,
    event_ids,
    event_signing,
    hashing,
    identity_service,
    invites,
    redaction,
    request_auth,
    server_keys,
    signing,
    third_party_invites,
)
from .canonical_json import encode_canonical_json, parse_json, require_object
from .errors import BadJson, Errcode, MatrixError, MissingParam, NotJson, RemoteProtocolError
from .identifiers import parse_key_id, parse_server_name
from .events import Event
from .keys import SigningKey, VerifyKey, key_lookup
from .room_versions import ROOM_VERSIONS, RoomVersion, room_version
from .state import RoomState
from .unpadded_base64 import decode_base64, encode_base64

__all__ = ["Operation", "OPERATIONS", "handle", "run_line"]

Request = Mapping[str, Any]


@dataclass(frozen=True)
class Operation:
    run: Callable[[Request], dict[str, Any]]
    summary: str


_MISSING = object()
_KIND_NAMES = {dict: "an object", list: "an array", str: "a string", int: "an integer", bool: "a boolean"}


def _field(request: Request, name: str, kind: type, default: Any = _MISSING) -> Any:
    value = request.get(name, _MISSING)
    if value is _MISSING:
        if default is _MISSING:
            raise MissingParam(f"request lacks {name!r}")
        return default
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise BadJson(f"{name!r} must be {_KIND_NAMES.get(kind, kind)}")
    return value


def _server_name(request: Request, name: str, default: Any = _MISSING) -> Any:
    """A server name field, checked by the identifier grammar (M_INVALID_PARAM)."""
    value = _field(request, name, str, default)
    if value is not None:
        parse_server_name(value)
    return value


def _version(request: Request) -> RoomVersion:
    return room_version(_field(request, "room_version", str))


def _signing_key(spec: Any, name: str = "key") -> SigningKey:
    if not isinstance(spec, Mapping):
        raise BadJson(f"{name!r} must be an object with 'seed' and 'key_id'")
    key_id = parse_key_id(_field(spec, "key_id", str))
    key = SigningKey.from_base64_seed(_field(spec, "seed", str), key_id.version)
    if key.algorithm != key_id.algorithm:
        raise BadJson(f"{name!r}: only ed25519 keys can sign")
    return key


def _key_map(spec: Any, name: str) -> dict[str, VerifyKey]:
    if not isinstance(spec, Mapping):
        raise BadJson(f"{name!r} must map key IDs to base64 public keys")
    for key_id in spec:
        parse_key_id(key_id)
    return {key_id: VerifyKey.from_base64(key_id, _field(spec, key_id, str)) for key_id in spec}


def _verify_keys(request: Request, name: str = "verify_keys") -> dict[str, dict[str, VerifyKey]]:
    """``{server: {key_id: base64}}`` into ``{server: {key_id: VerifyKey}}``;
    server names and key IDs are checked by their grammars (M_INVALID_PARAM)."""
    spec = _field(request, name, dict)
    for server in spec:
        parse_server_name(server)
    return {server: _key_map(by_id, f"{name}.{server}") for server, by_id in spec.items()}


def _public_keys(keys: Mapping[str, VerifyKey]) -> dict[str, str]:
    return {key_id: key.public_base64 for key_id, key in keys.items()}


def _canonical_json(request: Request) -> dict[str, Any]:
    strict = _field(request, "strict", bool, False)
    if "room_version" in request:
        strict = strict or _version(request).strict_canonical_json
    return {"canonical": encode_canonical_json(_field(request, "value", object), strict=strict).decode("utf-8")}


def _sign_json(request: Request) -> dict[str, Any]:
    signed = signing.sign_json(
        _field(request, "object", dict), _server_name(request, "server_name"), _signing_key(request.get("key"))
    )
    return {"signed": signed}


def _verify_json(request: Request) -> dict[str, Any]:
    server = _server_name(request, "server_name")
    keys = _verify_keys(request).get(server, {})
    verdict = signing.verify_json(_field(request, "object", dict), server, keys)
    return {"ok": verdict.ok, "key_id": verdict.key_id, "reason": verdict.reason}


def _content_hash(request: Request) -> dict[str, Any]:
    return {"sha256": encode_base64(hashing.content_hash(_field(request, "event", dict), _version(request)))}


def _reference_hash(request: Request) -> dict[str, Any]:
    return {"sha256": encode_base64(hashing.reference_hash(_field(request, "event", dict), _version(request)))}


def _redact(request: Request) -> dict[str, Any]:
    return {"redacted": redaction.redact(_field(request, "event", dict), _version(request))}


def _event_id(request: Request) -> dict[str, Any]:
    return {"event_id": event_ids.event_id(_field(request, "event", dict), _version(request))}


def _sign_event(request: Request) -> dict[str, Any]:
    signed = event_signing.sign_event(
        _field(request, "event", dict),
        _version(request),
        _server_name(request, "server_name"),
        _signing_key(request.get("key")),
    )
    return {"signed": signed}


def _check_event_signatures(request: Request) -> dict[str, Any]:
    received = event_signing.check_received_event(
        _field(request, "event", dict), _version(request), key_lookup(_verify_keys(request))
    )
    return {"outcome": received.outcome, "reason": received.reason, "event": dict(received.pdu)}


def _event_ids(request: Request, name: str, default: Any = _MISSING) -> list[str]:
    ids = _field(request, name, list, default)
    if not all(type(i) is str for i in ids):
        raise BadJson(f"{name!r} must list event IDs (strings)")
    return ids


def _room(request: Request, rules: RoomVersion) -> tuple[dict[str, Event], RoomState]:
    """``events`` (the room's PDUs) by ID, and the state of those ``state`` names."""
    known = {}
    for pdu in _field(request, "events", list):
        event = Event.from_pdu(pdu, rules)
        known[event.event_id] = event
    state_ids = _event_ids(request, "state")
    missing = [i for i in state_ids if i not in known]
    if missing:
        raise BadJson(f"state names unknown events {missing}")
    return known, RoomState(known[i] for i in state_ids)


def _check_event(request: Request) -> dict[str, Any]:
    """``events`` are the room's PDUs, ``state`` and ``rejected`` name some
    of them; ``keys``, when given, turns on the signature and hash checks."""
    rules = _version(request)
    candidate = _field(request, "event", dict)
    known, state = _room(request, rules)
    rejected = frozenset(_event_ids(request, "rejected", []))
    if request.get("keys") is not None:
        event, verdict = auth_rules.check_on_receipt(candidate, rules, key_lookup(_verify_keys(request, "keys")))
    else:
        try:
            event, verdict = Event.from_pdu(candidate, rules), auth_rules.Allowed
        except MatrixError as exc:
            event, verdict = None, auth_rules.Rejected("receipt.format", Errcode.M_BAD_JSON, exc.message)
    if event is not None:
        verdict = auth_rules.authorize(event, state, rules, fetch_event=known.get, rejected=rejected)
    if verdict:
        return {"allowed": True, "rule": None, "errcode": None}
    return {"allowed": False, "rule": verdict.rule, "errcode": verdict.errcode.value}


def _old_verify_keys(request: Request) -> dict[str, server_keys.OldVerifyKey]:
    spec = _field(request, "old_verify_keys", dict, {})
    old = {}
    for key_id, entry in spec.items():
        if not isinstance(entry, Mapping):
            raise BadJson(f"old_verify_keys.{key_id} must be an object with 'key' and 'expired_ts'")
        old[key_id] = server_keys.OldVerifyKey(
            VerifyKey.from_base64(key_id, _field(entry, "key", str)), _field(entry, "expired_ts", int)
        )
    return old


def _server_keys_publish(request: Request) -> dict[str, Any]:
    specs = _field(request, "keys", list)
    document = server_keys.build_server_keys(
        _server_name(request, "server_name"),
        [_signing_key(spec, f"keys[{i}]") for i, spec in enumerate(specs)],
        valid_until_ts=_field(request, "valid_until_ts", int),
        old_verify_keys=_old_verify_keys(request),
    )
    return {"document": document}


def _describe(keys: server_keys.ServerKeys) -> dict[str, Any]:
    return {
        "server_name": keys.server_name,
        "verify_keys": _public_keys(keys.verify_keys),
        "old_verify_keys": {
            key_id: {"key": old.verify_key.public_base64, "expired_ts": old.expired_ts}
            for key_id, old in keys.old_verify_keys.items()
        },
        "valid_until_ts": keys.valid_until_ts,
        "trusted_until_ts": keys.trusted_until_ts,
    }


def _server_keys_verify(request: Request) -> dict[str, Any]:
    keys = server_keys.verify_server_keys(
        _field(request, "document", dict),
        server_name=_server_name(request, "server_name"),
        now=_field(request, "now", int),
        minimum_valid_until_ts=_field(request, "minimum_valid_until_ts", int, None),
    )
    return {"ok": True, **_describe(keys)}


def _key_query(request: Request) -> server_keys.KeyQuery:
    if "body" in request:
        return server_keys.parse_key_query(_field(request, "body", dict))
    return server_keys.key_query_for_server(
        _server_name(request, "server_name"),
        key_id=_field(request, "key_id", str, None),
        minimum_valid_until_ts=_field(request, "minimum_valid_until_ts", int, None),
    )


def _notary_sign(request: Request) -> dict[str, Any]:
    query = _key_query(request)
    cache = {}
    for server, entry in _field(request, "cache", dict).items():
        if not isinstance(entry, Mapping):
            raise BadJson(f"cache.{server} must be an object with 'document' and 'fetched_ts'")
        document = _field(entry, "document", dict)
        server_keys.parse_server_keys(document, received_ts=0)
        cache[server] = server_keys.CachedServerKeys(document, _field(entry, "fetched_ts", int))
    refresh = server_keys.servers_to_refresh(query, cache, now=_field(request, "now", int))
    answer = server_keys.handle_key_query(
        query, cache, notary_name=_server_name(request, "notary_name"), notary_key=_signing_key(request.get("key"))
    )
    return {"refresh": sorted(refresh), "answer": answer}


def _notary_verify(request: Request) -> dict[str, Any]:
    requested = _field(request, "requested", list, None)
    verified = server_keys.verify_key_query_response(
        _field(request, "answer", dict),
        notary_name=_server_name(request, "notary_name"),
        notary_keys=_key_map(_field(request, "notary_keys", dict), "notary_keys"),
        now=_field(request, "now", int),
        requested=requested,
    )
    return {"server_keys": [_describe(keys) for keys in verified]}


def _x_matrix_sign(request: Request) -> dict[str, Any]:
    auth = request_auth.sign_request(
        method=_field(request, "method", str),
        uri=_field(request, "uri", str),
        origin=_server_name(request, "origin"),
        destination=_server_name(request, "destination"),
        key=_signing_key(request.get("key")),
        content=request.get("content"),
    )
    return {"header": auth.to_header(), "key": auth.key, "sig": auth.sig}


def _authorization(auth: request_auth.XMatrixAuthorization) -> dict[str, Any]:
    return {"origin": auth.origin, "destination": auth.destination, "key": auth.key, "sig": auth.sig}


def _x_matrix_parse(request: Request) -> dict[str, Any]:
    return _authorization(request_auth.parse_authorization(_field(request, "header", str)))


def _x_matrix_verify(request: Request) -> dict[str, Any]:
    auth = request_auth.verify_request(
        _field(request, "header", str),
        method=_field(request, "method", str),
        uri=_field(request, "uri", str),
        our_server_name=_server_name(request, "our_server_name"),
        keys=_verify_keys(request),
        content=request.get("content"),
    )
    return {"ok": True, **_authorization(auth)}


def _base64_encode(request: Request) -> dict[str, Any]:
    hex_text = _field(request, "hex", str)
    try:
        data = bytes.fromhex(hex_text)
    except ValueError:
        raise BadJson("'hex' must be hexadecimal digits, two per byte") from None
    return {"base64": encode_base64(data, urlsafe=_field(request, "urlsafe", bool, False))}


def _base64_decode(request: Request) -> dict[str, Any]:
    data = decode_base64(_field(request, "base64", str))
    return {"hex": data.hex(), "standard": encode_base64(data), "urlsafe": encode_base64(data, urlsafe=True)}


def _refusal(exc: RemoteProtocolError) -> dict[str, Any]:
    """A flow's refusal, as an answer: what the server would send back."""
    return {
        "accepted": False,
        "errcode": exc.errcode.value,
        "http_status": exc.http_status,
        "rule": exc.fields.get("rule"),
        "message": exc.message,
        **{k: v for k, v in exc.to_body().items() if k not in ("errcode", "error")},
    }


def _flow(run: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """Run a flow step: its answer with ``accepted`` true, or its refusal."""
    try:
        return {"accepted": True, **run()}
    except RemoteProtocolError as exc:
        return _refusal(exc)


def _lookup(request: Request, name: str = "verify_keys") -> Any:
    return key_lookup(_verify_keys(request, name))


def _invite_receive(request: Request) -> dict[str, Any]:
    api = _field(request, "api", str)
    if api not in {a.value for a in invites.InviteApi}:
        raise BadJson("'api' must be one of v1, v2, v3")
    received = invites.ReceivedInvite(
        invites.InviteApi(api),
        _server_name(request, "origin"),
        _field(request, "room_id", str),
        _field(request, "event_id", str, None),
        _field(request, "body", object),
    )
    supported = _field(request, "room_versions", list, list(ROOM_VERSIONS))
    destination, key, keys = _server_name(request, "destination"), _signing_key(request.get("key")), _lookup(request)

    def run() -> dict[str, Any]:
        accepted = invites.handle_invite(
            received, our_server_name=destination, signing_key=key, verify_keys=keys,
            supported_room_versions=frozenset(v for v in supported if type(v) is str),
        )
        return {
            "answer": accepted.answer,
            "room_version": accepted.room_version.identifier,
            "invite_room_state": [dict(e) for e in accepted.invite_room_state],
        }

    return _flow(run)


def _invite_send_plan(request: Request) -> dict[str, Any]:
    rules = _version(request)
    answers = _field(request, "answers", list, [])
    if not all(isinstance(a, list) and len(a) == 2 and type(a[0]) is int for a in answers):
        raise BadJson("'answers' must list [status, body] pairs")
    keys = _lookup(request) if "verify_keys" in request else key_lookup({})
    state = _field(request, "invite_room_state", list, [])
    if not all(isinstance(e, Mapping) for e in state):
        raise BadJson("'invite_room_state' must list objects")
    step: Any = invites.plan_invite(
        _field(request, "event", dict), rules, invite_room_state=state,
        create_event=_field(request, "create_event", dict, None), use_v3=_field(request, "use_v3", bool, False),
    )
    attempts, result, pending = [], {"outcome": "pending"}, list(answers)
    while True:
        attempts.append({"api": step.api.value, "method": step.method, "path": step.path, "body": step.body})
        if not pending:
            break
        status, body = pending.pop(0)
        try:
            step = invites.handle_invite_response(step, status, body, keys)
        except RemoteProtocolError as exc:
            result = {"outcome": "refused", **_refusal(exc)}
            break
        if isinstance(step, invites.CountersignedInvite):
            result = {"outcome": "countersigned", "event": dict(step.event.pdu)}
            break
    return {"attempts": attempts, **result}


def _third_party_signed_verify(request: Request) -> dict[str, Any]:
    signed, content = _field(request, "signed", dict), _field(request, "invite", dict)
    return {
        "ok": third_party_invites.verify_signed(signed, content),
        "verifying_keys": [q.public_key for q in third_party_invites.verifying_keys(signed, content)],
    }


def _key_validity_check(request: Request) -> dict[str, Any]:
    url = third_party_invites.key_validity_request_url(
        _field(request, "key_validity_url", str), _field(request, "public_key", str)
    )
    answer: dict[str, Any] = {"url": url}
    if "status" in request:
        answer["valid"] = third_party_invites.read_key_validity_answer(
            _field(request, "status", int), request.get("body")
        )
    return answer


def _exchange_third_party_invite(request: Request) -> dict[str, Any]:
    """``validity`` maps query URLs to answers ``[status, body]``."""
    state = _room(request, _version(request))[1]
    room_id, body = _field(request, "room_id", str), _field(request, "body", object)
    answers = _field(request, "validity", dict, {})
    if not all(isinstance(a, list) and len(a) == 2 and type(a[0]) is int for a in answers.values()):
        raise BadJson("'validity' must map URLs to [status, body] answers")
    validity = {url: third_party_invites.read_key_validity_answer(a[0], a[1]) for url, a in answers.items()}

    try:
        queries = [q.url for q in third_party_invites.key_validity_requests(room_id, body, state)]
    except RemoteProtocolError as exc:
        return _refusal(exc)
    run = third_party_invites.handle_exchange_third_party_invite
    return {**_flow(lambda: {"event": run(room_id, body, state, validity)}), "queries": queries}


def _stored_invites(request: Request) -> dict[str, identity_service.StoredInvite]:
    stored = {}
    for entry in _field(request, "stored", list, []):
        if not isinstance(entry, Mapping):
            raise BadJson("'stored' must list stored invites")
        fields = [_field(entry, name, str) for name in identity_service.StoredInvite.__dataclass_fields__]
        invite = identity_service.StoredInvite(*fields)
        stored[invite.token] = invite
    return stored


def _is_store_invite(request: Request) -> dict[str, Any]:
    bound = _field(request, "bound", dict, {})
    args = {
        "base_url": _field(request, "base_url", str),
        "long_term_key": _signing_key(request.get("key")),
        "ephemeral_key": _signing_key(request.get("ephemeral_key"), "ephemeral_key"),
        "token": _field(request, "token", str),
        "bound_mxid": lambda medium, address: bound.get(f"{medium}:{address}"),
    }
    body = _field(request, "body", object)

    def run() -> dict[str, Any]:
        stored, answer = identity_service.store_invite(body, **args)
        return {"answer": answer, "stored": dict(stored.__dict__)}

    return _flow(run)


def _is_sign(request: Request) -> dict[str, Any]:
    stored, server, body = _stored_invites(request), _server_name(request, "server_name"), _field(request, "body", object)
    return _flow(lambda: {"signed": identity_service.sign_ed25519(body, server_name=server, stored_invite=stored.get)})


def _is_isvalid(request: Request) -> dict[str, Any]:
    keys = _field(request, "valid_keys", list)
    public_key = _field(request, "public_key", str, None)
    return _flow(lambda: identity_service.pubkey_is_valid(public_key, [k for k in keys if type(k) is str]))


def _is_onbind(request: Request) -> dict[str, Any]:
    body = identity_service.onbind_payload(
        _field(request, "medium", str), _field(request, "address", str), _field(request, "mxid", str),
        list(_stored_invites(request).values()),
        server_name=_server_name(request, "server_name"), long_term_key=_signing_key(request.get("key")),
    )
    return {"body": body}


def _onbind_receive(request: Request) -> dict[str, Any]:
    """H3's side: the identity server keys it fetches, then (given their
    answers as ``identity_keys``; a key not given could not be fetched)
    the exchange requests it sends."""
    destination, body = _server_name(request, "destination"), _field(request, "body", object)
    fetched = _verify_keys(request, "identity_keys") if request.get("identity_keys") is not None else {}

    def run() -> dict[str, Any]:
        bound = third_party_invites.handle_onbind(body, our_server_name=destination)
        queries = third_party_invites.identity_key_requests(bound)
        third_party_invites.check_bound_invites(bound, {
            q: key.public_base64 if (key := fetched.get(q.server_name, {}).get(q.key_id)) else None for q in queries})
        exchanges = [third_party_invites.make_exchange_third_party_invite(invite) for invite in bound]
        return {"key_requests": [{"server_name": q.server_name, "path": q.request_target} for q in queries],
                "exchanges": [{"method": "PUT", "path": path, "body": skeleton} for path, skeleton in exchanges]}

    return _flow(run)


def _key_valid_for_event(request: Request) -> dict[str, Any]:
    """A current key (``valid_until_ts`` and ``received_ts``, the 7-day cap
    applied) or an old one (``expired_ts``)."""
    rules = _version(request)
    ts = _field(request, "origin_server_ts", int)
    expired = _field(request, "expired_ts", int, None)
    if expired is not None:
        return {"valid": server_keys.key_valid_for_event(rules, origin_server_ts=ts, expired_ts=expired)}
    trusted = server_keys.trusted_valid_until_ts(_field(request, "valid_until_ts", int), _field(request, "received_ts", int))
    return {
        "valid": server_keys.key_valid_for_event(rules, origin_server_ts=ts, valid_until_ts=trusted),
        "trusted_until_ts": trusted,
    }


OPERATIONS: Mapping[str, Operation] = MappingProxyType(
    {
        "canonical-json": Operation(_canonical_json, "value[, strict | room_version] -> canonical (string)"),
        "sign-json": Operation(_sign_json, "object, server_name, key -> signed"),
        "verify-json": Operation(_verify_json, "object, server_name, verify_keys -> ok, key_id, reason"),
        "content-hash": Operation(_content_hash, "event, room_version -> sha256 (unpadded base64)"),
        "reference-hash": Operation(_reference_hash, "event, room_version -> sha256 (unpadded base64)"),
        "redact": Operation(_redact, "event, room_version -> redacted"),
        "event-id": Operation(_event_id, "event, room_version -> event_id"),
        "sign-event": Operation(_sign_event, "event, room_version, server_name, key -> signed (hashed and signed)"),
        "check-event-signatures": Operation(
            _check_event_signatures, "event, room_version, verify_keys -> outcome (accept|redacted|drop), reason, event"
        ),
        "check-event": Operation(
            _check_event,
            "room_version, event, events, state[, rejected, keys] -> allowed, rule, errcode",
        ),
        "server-keys-publish": Operation(
            _server_keys_publish, "server_name, keys, valid_until_ts[, old_verify_keys] -> document"
        ),
        "server-keys-verify": Operation(
            _server_keys_verify, "document, server_name, now[, minimum_valid_until_ts] -> ok and the keys"
        ),
        "notary-sign": Operation(
            _notary_sign,
            "server_name[, key_id, minimum_valid_until_ts] | body; cache, notary_name, key, now -> refresh, answer",
        ),
        "notary-verify": Operation(
            _notary_verify, "answer, notary_name, notary_keys, now[, requested] -> server_keys"
        ),
        "x-matrix-sign": Operation(
            _x_matrix_sign, "method, uri, origin, destination, key[, content] -> header, key, sig"
        ),
        "x-matrix-parse": Operation(_x_matrix_parse, "header -> origin, destination, key, sig"),
        "x-matrix-verify": Operation(
            _x_matrix_verify, "header, method, uri, our_server_name, verify_keys[, content] -> ok, origin, ..."
        ),
        "base64-encode": Operation(_base64_encode, "hex[, urlsafe] -> base64 (unpadded)"),
        "base64-decode": Operation(_base64_decode, "base64 (either alphabet) -> hex, standard, urlsafe"),
        "invite-receive": Operation(
            _invite_receive,
            "api, origin, destination, room_id[, event_id], body, verify_keys, key[, room_versions] -> accepted, answer | errcode, rule",
        ),
        "invite-send-plan": Operation(
            _invite_send_plan,
            "room_version, event[, invite_room_state, create_event, use_v3, answers, verify_keys] -> attempts, outcome",
        ),
        "third-party-signed-verify": Operation(_third_party_signed_verify, "signed, invite -> ok, verifying_keys"),
        "key-validity-check": Operation(_key_validity_check, "key_validity_url, public_key[, status, body] -> url[, valid]"),
        "exchange-third-party-invite": Operation(
            _exchange_third_party_invite,
            "room_version, room_id, body, events, state[, validity] -> accepted, queries, event | errcode, rule",
        ),
        "onbind-receive": Operation(
            _onbind_receive, "body, destination[, identity_keys] -> accepted, key_requests (the identity server "
            "keys fetched), exchanges (the exchange_third_party_invite requests) | errcode, rule"
        ),
        "is-store-invite": Operation(
            _is_store_invite, "body, base_url, key, ephemeral_key, token[, bound] -> accepted, answer | errcode, rule"
        ),
        "is-sign": Operation(_is_sign, "body, server_name, stored -> accepted, signed | errcode, rule"),
        "is-isvalid": Operation(_is_isvalid, "public_key, valid_keys -> accepted, valid"),
        "is-onbind": Operation(_is_onbind, "medium, address, mxid, stored, server_name, key -> body"),
        "key-valid-for-event": Operation(
            _key_valid_for_event,
            "room_version, origin_server_ts, valid_until_ts and received_ts | expired_ts -> valid[, trusted_until_ts]",
        ),
    }
)


def _error(errcode: Errcode | str, message: str) -> dict[str, Any]:
    return {"error": {"errcode": str(errcode), "message": message}}


def handle(op: str | None, request: Any) -> dict[str, Any]:
    """Run one decoded request; ``op`` None takes the name from its ``"op"``.

    Never raises: a request that fails yields an ``{"error": ...}`` object.
    An exception that is not a :class:`MatrixError` is a bug in refimpl and
    is reported as ``M_UNKNOWN`` with a message starting "internal error".
    """
    try:
        require_object(request, "a request")
        name = op if op is not None else _field(request, "op", str)
        operation = OPERATIONS.get(name)
        if operation is None:
            return _error(Errcode.M_UNRECOGNIZED, f"unknown operation {name!r}; known: {', '.join(OPERATIONS)}")
        return operation.run(request)
    except MatrixError as exc:
        return _error(exc.errcode, exc.message)
    except RecursionError:
        return _error(Errcode.M_BAD_JSON, "request nests too deeply")
    except Exception as exc:  # noqa: BLE001 - the oracle must answer every line
        return _error(Errcode.M_UNKNOWN, f"internal error: {type(exc).__name__}: {exc}")


def run_line(op: str | None, line: bytes | str) -> str:
    """One input line to exactly one output line (without its newline).

    The line is read by :func:`refimpl.canonical_json.parse_json`, so its
    numbers follow the same rule as everywhere else in refimpl."""
    try:
        request = parse_json(line)
    except NotJson as exc:
        result = _error(exc.errcode, exc.message)
    else:
        result = handle(op, request)
    return json.dumps(result, sort_keys=True, ensure_ascii=True)

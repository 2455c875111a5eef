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

from . import auth_rules, event_ids, event_signing, hashing, redaction, request_auth, server_keys, signing
from .canonical_json import encode_canonical_json, parse_json, require_object
from .errors import BadJson, Errcode, MatrixError, MissingParam, NotJson
from .identifiers import parse_key_id
from .events import Event
from .keys import SigningKey, VerifyKey, key_lookup
from .room_versions import RoomVersion, room_version
from .state import RoomState
from .unpadded_base64 import encode_base64

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
    return {key_id: VerifyKey.from_base64(key_id, _field(spec, key_id, str)) for key_id in spec}


def _verify_keys(request: Request, name: str = "verify_keys") -> dict[str, dict[str, VerifyKey]]:
    """``{server: {key_id: base64}}`` into ``{server: {key_id: VerifyKey}}``."""
    spec = _field(request, name, dict)
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
        _field(request, "object", dict), _field(request, "server_name", str), _signing_key(request.get("key"))
    )
    return {"signed": signed}


def _verify_json(request: Request) -> dict[str, Any]:
    server = _field(request, "server_name", str)
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
        _field(request, "server_name", str),
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


def _check_event(request: Request) -> dict[str, Any]:
    """``events`` are the room's PDUs, ``state`` and ``rejected`` name some
    of them; ``keys``, when given, turns on the signature and hash checks."""
    rules = _version(request)
    candidate = _field(request, "event", dict)
    known = {}
    for pdu in _field(request, "events", list):
        event = Event.from_pdu(pdu, rules)
        known[event.event_id] = event
    rejected = frozenset(_event_ids(request, "rejected", []))
    state_ids = _event_ids(request, "state")
    missing = [i for i in state_ids if i not in known]
    if missing:
        raise BadJson(f"state names unknown events {missing}")
    state = RoomState(known[i] for i in state_ids)
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
        _field(request, "server_name", str),
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
        server_name=_field(request, "server_name", str),
        now=_field(request, "now", int),
        minimum_valid_until_ts=_field(request, "minimum_valid_until_ts", int, None),
    )
    return {"ok": True, **_describe(keys)}


def _key_query(request: Request) -> server_keys.KeyQuery:
    if "body" in request:
        return server_keys.parse_key_query(_field(request, "body", dict))
    return server_keys.key_query_for_server(
        _field(request, "server_name", str),
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
        query, cache, notary_name=_field(request, "notary_name", str), notary_key=_signing_key(request.get("key"))
    )
    return {"refresh": sorted(refresh), "answer": answer}


def _notary_verify(request: Request) -> dict[str, Any]:
    requested = _field(request, "requested", list, None)
    verified = server_keys.verify_key_query_response(
        _field(request, "answer", dict),
        notary_name=_field(request, "notary_name", str),
        notary_keys=_key_map(_field(request, "notary_keys", dict), "notary_keys"),
        now=_field(request, "now", int),
        requested=requested,
    )
    return {"server_keys": [_describe(keys) for keys in verified]}


def _x_matrix_sign(request: Request) -> dict[str, Any]:
    auth = request_auth.sign_request(
        method=_field(request, "method", str),
        uri=_field(request, "uri", str),
        origin=_field(request, "origin", str),
        destination=_field(request, "destination", str),
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
        our_server_name=_field(request, "our_server_name", str),
        keys=_verify_keys(request),
        content=request.get("content"),
    )
    return {"ok": True, **_authorization(auth)}


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

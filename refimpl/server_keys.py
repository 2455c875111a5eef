"""Server keys: publishing them, querying them through a notary, and when a key counts.

Theory of operation (``specification/server-server-api.rst``, "Retrieving
server keys"; ``specification/rooms/v5.rst``, "Signing key validity
period"):

* A server publishes ``GET /_matrix/key/v2/server``: its ``server_name``,
  current ``verify_keys``, ``old_verify_keys`` (each with the
  ``expired_ts`` at which it stopped being used) and ``valid_until_ts``,
  the time by which readers should fetch again. The document is signed by
  the server itself (:func:`build_server_keys`).
* A reader accepts a document only for the server it asked about, with
  well-formed key IDs and keys, signed by every key in its ``verify_keys``
  (as the publisher must sign it), every such signature verifying
  (:func:`verify_server_keys`). Signatures by keys it does not list are
  ignored; ``old_verify_keys`` need not sign, their private halves may be
  long gone.
  Signatures by other names (a notary's) are left to their own check.
* A notary answers ``GET /_matrix/key/v2/query/{serverName}`` and ``POST
  /_matrix/key/v2/query`` from responses it fetched earlier, adding its own
  signature to each. Sans-I/O, the notary asks first and computes second:
  :func:`servers_to_refresh` says which servers' documents are missing or
  too stale for the query (``minimum_valid_until_ts``, or past half their
  lifetime); the caller fetches and verifies those and passes the cache to
  :func:`handle_key_query`. A refresh may fail, so the answer can hold a
  document whose ``valid_until_ts`` is earlier than was asked for: it still
  serves old events, and the requester decides (:func:`verify_key_query_response`
  checks both the origin's and the notary's signatures).
* A requester that knows the key ID it needs (an ``X-Matrix`` header names
  it) asks with the batch form naming that key and the time it must be
  valid until (:func:`key_query_body`): a notary then fetches what it
  lacks, where some (Synapse) answer the all-keys forms from their cache
  alone. Of the answer it keeps the entry that serves its need
  (:func:`usable_notarised_keys`); with none, it asks the origin itself.
* Whether a key may verify an event depends on the room version
  (:func:`key_valid_for_event`): from v5 a current key counts only for
  events whose ``origin_server_ts`` is not after its ``valid_until_ts``, and
  an old key only for events before its ``expired_ts``. A published
  ``valid_until_ts`` is trusted at most 7 days past the moment the document
  was received (:func:`trusted_valid_until_ts`), so a stolen key cannot be
  declared valid for years.

Failures raise: :class:`~refimpl.errors.BadJson` for a document of the
wrong shape, :class:`~refimpl.errors.InvalidParam` for bad identifiers,
keys or a document about another server, :class:`~refimpl.errors.InvalidSignature`
for missing or bad signatures, :class:`~refimpl.errors.Forbidden` for keys
that expired before the time the caller needs them until.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from .errors import BadJson, Forbidden, InvalidParam, InvalidSignature
from .identifiers import parse_key_id, parse_server_name
from .keys import SigningKey, VerifyKey
from .room_versions import RoomVersion
from .signing import NO_SIGNATURES, require_valid_signature, sign_json

__all__ = [
    "TRUST_HORIZON_MS",
    "OldVerifyKey",
    "ServerKeys",
    "CachedServerKeys",
    "KeyQuery",
    "build_server_keys",
    "parse_server_keys",
    "verify_server_keys",
    "trusted_valid_until_ts",
    "key_valid_for_event",
    "key_query_for_server",
    "parse_key_query",
    "servers_to_refresh",
    "cosign_server_keys",
    "handle_key_query",
    "verify_key_query_response",
    "key_query_body",
    "usable_notarised_keys",
]

#: How far past its receipt a published ``valid_until_ts`` is believed.
TRUST_HORIZON_MS = 7 * 24 * 60 * 60 * 1000


@dataclass(frozen=True)
class OldVerifyKey:
    verify_key: VerifyKey
    expired_ts: int


@dataclass(frozen=True)
class ServerKeys:
    """A verified key document, as a reader uses it.

    ``received_ts`` is when the reader accepted it; the trusted validity
    is :func:`trusted_valid_until_ts` of the two timestamps.
    """

    server_name: str
    verify_keys: Mapping[str, VerifyKey]
    old_verify_keys: Mapping[str, OldVerifyKey]
    valid_until_ts: int
    received_ts: int

    @property
    def trusted_until_ts(self) -> int:
        return trusted_valid_until_ts(self.valid_until_ts, self.received_ts)

    def key_for_event(self, key_id: str, room_version: RoomVersion, origin_server_ts: int) -> VerifyKey | None:
        """The key named ``key_id`` if it may verify an event sent at
        ``origin_server_ts`` in a room of ``room_version``, else None."""
        if key_id in self.verify_keys:
            usable = key_valid_for_event(
                room_version, origin_server_ts=origin_server_ts, valid_until_ts=self.trusted_until_ts
            )
            return self.verify_keys[key_id] if usable else None
        old = self.old_verify_keys.get(key_id)
        if old is not None and key_valid_for_event(
            room_version, origin_server_ts=origin_server_ts, expired_ts=old.expired_ts
        ):
            return old.verify_key
        return None


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def trusted_valid_until_ts(valid_until_ts: int, received_ts: int) -> int:
    """The lesser of the published ``valid_until_ts`` and 7 days after receipt."""
    return min(valid_until_ts, received_ts + TRUST_HORIZON_MS)


def key_valid_for_event(
    room_version: RoomVersion,
    *,
    origin_server_ts: int,
    valid_until_ts: int | None = None,
    expired_ts: int | None = None,
) -> bool:
    """Whether a key may verify an event sent at ``origin_server_ts``.

    Give ``valid_until_ts`` (already capped by :func:`trusted_valid_until_ts`)
    for a current key, ``expired_ts`` for an old one. Room versions before
    v5 ignore both: any key the server ever published counts.
    """
    if not room_version.enforce_key_validity:
        return True
    if expired_ts is not None and not origin_server_ts < expired_ts:
        return False
    return valid_until_ts is None or origin_server_ts <= valid_until_ts


def build_server_keys(
    server_name: str,
    signing_keys: Sequence[SigningKey],
    *,
    valid_until_ts: int,
    old_verify_keys: Mapping[str, OldVerifyKey] | None = None,
) -> dict[str, Any]:
    """The ``/_matrix/key/v2/server`` response, signed by every current key.

    Raises:
        InvalidParam: no signing key, or a bad server name.
    """
    parse_server_name(server_name)
    if not signing_keys:
        raise InvalidParam("a key document needs at least one current signing key")
    document: dict[str, Any] = {
        "server_name": server_name,
        "verify_keys": {k.key_id: {"key": k.verify_key.public_base64} for k in signing_keys},
        "old_verify_keys": {
            key_id: {"key": old.verify_key.public_base64, "expired_ts": old.expired_ts}
            for key_id, old in (old_verify_keys or {}).items()
        },
        "valid_until_ts": valid_until_ts,
    }
    for key in signing_keys:
        document = sign_json(document, server_name, key)
    return document


def _object(value: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise BadJson(f"{where} must be a JSON object")
    return value


def _verify_key(key_id: str, entry: Any, where: str) -> VerifyKey:
    entry = _object(entry, f"{where}[{key_id!r}]")
    if not isinstance(entry.get("key"), str):
        raise BadJson(f"{where}[{key_id!r}].key must be a string")
    return VerifyKey.from_base64(key_id, entry["key"])


def parse_server_keys(document: Any, *, received_ts: int) -> ServerKeys:
    """Read a key document's fields, without checking its signatures.

    Raises:
        BadJson: wrong shape or types (including undecodable Base64).
        InvalidParam: bad server name, key ID, algorithm or key length.
    """
    document = _object(document, "server keys")
    server_name = document.get("server_name")
    if not isinstance(server_name, str):
        raise BadJson("server keys: server_name must be a string")
    parse_server_name(server_name)
    if not _is_int(document.get("valid_until_ts")):
        raise BadJson("server keys: valid_until_ts must be an integer")
    verify_keys = {
        key_id: _verify_key(key_id, entry, "verify_keys")
        for key_id, entry in _object(document.get("verify_keys"), "verify_keys").items()
    }
    old_verify_keys = {}
    for key_id, entry in _object(document.get("old_verify_keys", {}), "old_verify_keys").items():
        key = _verify_key(key_id, entry, "old_verify_keys")
        if not _is_int(entry.get("expired_ts")):
            raise BadJson(f"old_verify_keys[{key_id!r}].expired_ts must be an integer")
        old_verify_keys[key_id] = OldVerifyKey(key, entry["expired_ts"])
    return ServerKeys(
        server_name,
        MappingProxyType(verify_keys),
        MappingProxyType(old_verify_keys),
        document["valid_until_ts"],
        received_ts,
    )


def verify_server_keys(
    document: Any,
    *,
    server_name: str,
    now: int,
    minimum_valid_until_ts: int | None = None,
) -> ServerKeys:
    """Accept a key document from (or about) ``server_name``.

    Args:
        now: when the document was received; it anchors the 7-day cap.
        minimum_valid_until_ts: refuse documents that expire before this
            time; None means ``now`` (the keys must be current). Pass 0 to
            accept expired documents, which still verify old events.

    Raises:
        BadJson, InvalidParam: see :func:`parse_server_keys`; also a
            document naming another server.
        InvalidSignature: not signed by each of its own ``verify_keys``, or
            such a signature does not verify.
        Forbidden: ``valid_until_ts`` is before ``minimum_valid_until_ts``.
    """
    keys = parse_server_keys(document, received_ts=now)
    if keys.server_name != server_name:
        raise InvalidParam(
            f"key document is for {keys.server_name!r}, not {server_name!r}", server_name=keys.server_name
        )
    require_valid_signature(document, server_name, keys.verify_keys)
    # The publisher signs with every current key; requiring each signature
    # proves the server holds every private key it asks others to trust.
    signed_by = document["signatures"][server_name]
    for key_id in sorted(keys.verify_keys):
        if key_id not in signed_by:
            raise InvalidSignature(
                f"key document of {server_name} is not signed by its current key {key_id}",
                reason=NO_SIGNATURES,
                key_id=key_id,
            )
    minimum = now if minimum_valid_until_ts is None else minimum_valid_until_ts
    if keys.valid_until_ts < minimum:
        raise Forbidden(
            f"keys of {server_name} are valid until {keys.valid_until_ts}, needed until {minimum}",
            valid_until_ts=keys.valid_until_ts,
        )
    return keys


@dataclass(frozen=True)
class CachedServerKeys:
    """A notary's copy of a server's own (origin-signed) key document."""

    document: Mapping[str, Any]
    fetched_ts: int

    @property
    def valid_until_ts(self) -> int:
        return self.document["valid_until_ts"]

    def names_key(self, key_id: str) -> bool:
        return key_id in self.document.get("verify_keys", {}) or key_id in self.document.get("old_verify_keys", {})


@dataclass(frozen=True)
class KeyQuery:
    """What a requester asks a notary: server -> key ID -> the time the key
    must be valid until (None: the notary's now). An empty inner mapping
    asks for all of that server's keys. ``minimum_valid_until_ts`` is the
    GET form's query parameter, which applies to every key."""

    servers: Mapping[str, Mapping[str, int | None]]
    minimum_valid_until_ts: int | None = None

    def minimum_for(self, server_name: str, *, now: int) -> int:
        wanted = [ts for ts in self.servers.get(server_name, {}).values() if ts is not None]
        if self.minimum_valid_until_ts is not None:
            wanted.append(self.minimum_valid_until_ts)
        return max(wanted, default=now)


def _freeze(servers: Mapping[str, Mapping[str, int | None]], minimum: int | None = None) -> KeyQuery:
    return KeyQuery(MappingProxyType({s: MappingProxyType(dict(c)) for s, c in servers.items()}), minimum)


def key_query_for_server(
    server_name: str, *, key_id: str | None = None, minimum_valid_until_ts: int | None = None
) -> KeyQuery:
    """The GET form: ``/_matrix/key/v2/query/{serverName}[?minimum_valid_until_ts=]``.

    A ``key_id`` (from the deprecated ``/{keyId}`` path) narrows the query;
    without one, all keys are asked for.

    Raises:
        InvalidParam: bad server name or key ID.
    """
    parse_server_name(server_name)
    criteria = {}
    if key_id is not None:
        parse_key_id(key_id)
        criteria[key_id] = None
    return _freeze({server_name: criteria}, minimum_valid_until_ts)


def parse_key_query(body: Any) -> KeyQuery:
    """Read a ``POST /_matrix/key/v2/query`` body.

    Raises:
        BadJson: wrong shape or a non-integer ``minimum_valid_until_ts``.
        InvalidParam: a bad server name or key ID.
    """
    servers = _object(_object(body, "key query").get("server_keys"), "server_keys")
    parsed: dict[str, dict[str, int | None]] = {}
    for server, criteria in servers.items():
        parse_server_name(server)
        parsed[server] = {}
        for key_id, criterion in _object(criteria, f"server_keys[{server!r}]").items():
            parse_key_id(key_id)
            ts = _object(criterion, f"server_keys[{server!r}][{key_id!r}]").get("minimum_valid_until_ts")
            if ts is not None and not _is_int(ts):
                raise BadJson(f"server_keys[{server!r}][{key_id!r}].minimum_valid_until_ts must be an integer")
            parsed[server][key_id] = ts
    return _freeze(parsed)


def servers_to_refresh(query: KeyQuery, cache: Mapping[str, CachedServerKeys], *, now: int) -> frozenset[str]:
    """The servers a notary should fetch ``/_matrix/key/v2/server`` from
    before answering: none cached, a requested key not in the copy, a copy
    that expires before the query needs, or one past half its lifetime."""
    stale = set()
    for server, criteria in query.servers.items():
        cached = cache.get(server)
        if (
            cached is None
            or any(not cached.names_key(key_id) for key_id in criteria)
            or cached.valid_until_ts < query.minimum_for(server, now=now)
            or now > cached.fetched_ts + (cached.valid_until_ts - cached.fetched_ts) // 2
        ):
            stale.add(server)
    return frozenset(stale)


def cosign_server_keys(document: Mapping[str, Any], notary_name: str, notary_key: SigningKey) -> dict[str, Any]:
    """A copy of a server's key document with the notary's signature added."""
    return sign_json(document, notary_name, notary_key)


def handle_key_query(
    query: KeyQuery,
    cache: Mapping[str, CachedServerKeys],
    *,
    notary_name: str,
    notary_key: SigningKey,
) -> dict[str, Any]:
    """The notary's answer: every queried server's cached document, co-signed.

    Documents are served even when they expire before the query asked
    (the refresh failed): a stale key still verifies older events. Servers
    with nothing cached are left out, so the list may be empty. Keys other
    than those asked for may be included, as the specification allows.
    """
    return {
        "server_keys": [
            cosign_server_keys(cache[server].document, notary_name, notary_key)
            for server in sorted(query.servers)
            if server in cache
        ]
    }


def verify_key_query_response(
    answer: Any,
    *,
    notary_name: str,
    notary_keys: Mapping[str, VerifyKey],
    now: int,
    requested: Sequence[str] | None = None,
) -> tuple[ServerKeys, ...]:
    """Check a notary's answer: each entry signed by its origin and by the notary.

    Expired entries are returned too (check ``valid_until_ts`` against
    what you need); ``requested``, when given, lists the only servers an
    entry may be about.

    Raises:
        BadJson: the answer is not ``{"server_keys": [objects]}``.
        InvalidParam: an entry about a server that was not asked about, or
            with bad identifiers or keys.
        InvalidSignature: an entry lacking a good origin or notary signature.
    """
    entries = _object(answer, "key query response").get("server_keys")
    if not isinstance(entries, list):
        raise BadJson("key query response: server_keys must be an array")
    result = []
    for entry in entries:
        server = _object(entry, "server_keys entry").get("server_name")
        if not isinstance(server, str):
            raise BadJson("server_keys entry: server_name must be a string")
        if requested is not None and server not in requested:
            raise InvalidParam(f"notary answered for {server!r}, which was not asked about", server_name=server)
        keys = verify_server_keys(entry, server_name=server, now=now, minimum_valid_until_ts=0)
        require_valid_signature(entry, notary_name, notary_keys)
        result.append(keys)
    return tuple(result)


def key_query_body(server_name: str, key_id: str, *, minimum_valid_until_ts: int) -> dict[str, Any]:
    """The ``POST /_matrix/key/v2/query`` body asking for one key of one
    server, valid until ``minimum_valid_until_ts`` (always sent: the
    notary cannot guess what the requester needs, and Synapse requires it)."""
    return {"server_keys": {server_name: {key_id: {"minimum_valid_until_ts": minimum_valid_until_ts}}}}


def usable_notarised_keys(
    entries: Sequence[ServerKeys], *, needed_until: int, key_id: str | None = None
) -> ServerKeys | None:
    """Of a notary's verified entries, the one valid longest among those
    valid until ``needed_until`` and naming ``key_id`` (when given); None
    when no entry serves, and the requester should ask the origin."""
    fresh = [
        keys
        for keys in entries
        if keys.valid_until_ts >= needed_until and (key_id is None or key_id in keys.verify_keys)
    ]
    return max(fresh, key=lambda keys: keys.valid_until_ts, default=None)

"""``specgen verify``: prove the corpus's examples and histories with refimpl.

Theory of operation: nothing is written, and nothing ``--sign`` computed is
trusted; every claim is re-checked from the files.

1. Each history in ``event-schemas/histories/`` is replayed
   (:func:`specgen.histories.replay`) with the keys it lists, which must be
   the published test keys: signatures, content hashes, then the auth rules
   event by event.
2. Each client-format event example must be an event of some history (same
   room, type, state key, sender and timestamp) with the same event ID, room
   ID and content.
3. Every signed thing in an example verifies with the published keys: PDUs
   (signatures over the redacted event, content hash, references to known
   events with the right reference hashes), server key documents, and any
   other signed object. Lone fragments (a ``hashes`` object, a signature
   map, a verify key) must carry a value refimpl computed for a real event.

A failure is a Diagnostic at the offending value: ``verify.signature``,
``verify.hash``, ``verify.event-id``, ``verify.room-id``, ``verify.auth``
(naming the rule), or ``verify.history`` for a history file that cannot be read.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field
from typing import Any, Iterator, Mapping

from refimpl.errors import MatrixError
from refimpl.events import Event
from refimpl.hashing import check_content_hash, reference_hash
from refimpl.keys import VerifyKey
from refimpl.redaction import redact
from refimpl.room_versions import RoomVersion, room_version as lookup_room_version
from refimpl.signing import verify_json
from refimpl.test_keys import PUBLISHED_KEYS
from refimpl.unpadded_base64 import encode_base64

from .corpus import Corpus
from .diagnostics import Collector, Diagnostic, Severity
from .example_signing import EPHEMERAL_KEY, RETIRED_KEY, Site, example_sites, is_key_document, is_pdu
from .histories import published_key_lookup, replay
from .sources import join_pointer, split_pointer

__all__ = ["verify_corpus", "verify_command", "add_verify_arguments"]

_CODES = {"signature": "verify.signature", "hash": "verify.hash", "auth": "verify.auth"}


@dataclass
class _Known:
    """What the histories and API examples establish."""

    events: dict[str, Event] = field(default_factory=dict)
    by_identity: dict[tuple, Event] = field(default_factory=dict)
    versions: dict[str, RoomVersion] = field(default_factory=dict)
    hashes: set[str] = field(default_factory=set)
    signatures: set[str] = field(default_factory=set)

    def add(self, event: Event) -> None:
        self.events[event.event_id] = event
        pdu = event.pdu
        self.by_identity[(event.room_id, pdu.get("type"), pdu.get("state_key"), pdu.get("sender"),
                          pdu.get("origin_server_ts"))] = event
        self.hashes.add(pdu.get("hashes", {}).get("sha256", ""))
        for by_key in pdu.get("signatures", {}).values():
            self.signatures.update(by_key.values())


def _history_keys(keys: Any) -> tuple[dict[tuple[str, str], VerifyKey], list[tuple[str, str]]]:
    """The keys a history lists, and the (server, key ID) entries that are not the published ones."""
    usable, wrong = {}, []
    for server, by_key in (keys or {}).items() if isinstance(keys, Mapping) else ():
        for key_id, text in (by_key or {}).items() if isinstance(by_key, Mapping) else ():
            published = published_key_lookup(server, key_id)
            if published is None or published.public_base64 != text:
                wrong.append((server, key_id))
                continue
            usable[(server, key_id)] = published
    return usable, wrong


def _verify_histories(corpus: Corpus, known: _Known) -> Iterator[Diagnostic]:
    for path in corpus.histories:
        doc = corpus.document(path)
        if doc is None:
            continue
        data = doc.data
        try:
            version = lookup_room_version(str(data["room_version"]))
            events = data["events"]
            if not isinstance(events, list):
                raise TypeError
        except (MatrixError, KeyError, TypeError):
            yield doc.diagnostic("", "verify.history", Severity.ERROR, "a history needs room_version (a known version) and events (a list)")
            continue
        usable, wrong = _history_keys(data.get("keys"))
        for server, key_id in wrong:
            yield doc.diagnostic(join_pointer("/keys", server, key_id), "verify.signature", Severity.ERROR,
                                 f"{server} {key_id} is not a published test key")
        findings = replay(events, version, lambda s, k: usable.get((s, k)))
        for finding in findings:
            rule = f" (rule {finding.rule})" if finding.rule else ""
            yield doc.diagnostic(f"/events/{finding.index}{finding.pointer}", _CODES[finding.kind], Severity.ERROR,
                                 f"event {finding.index}: {finding.message}{rule}")
        refused = {f.index for f in findings}
        for index, pdu in enumerate(events):
            if index not in refused:
                event = Event.from_pdu(pdu, version)
                known.add(event)
                known.versions.setdefault(event.room_id, version)


# -- Examples -------------------------------------------------------------------


def _candidate_keys(name: str, key_id: str) -> list[VerifyKey]:
    keys = [k for k in (published_key_lookup(name, key_id),) if k is not None]
    if name == "id.example.org" and key_id == EPHEMERAL_KEY.key_id:
        keys.append(EPHEMERAL_KEY.verify_key)
    return keys


def _check_signatures(obj: Mapping[str, Any], signed: Mapping[str, Any], strict: bool) -> Iterator[tuple[str, str, str]]:
    """``(pointer, code, message)`` for each signature of ``obj`` that does not
    verify over ``signed`` (the object itself, or a PDU's redacted form)."""
    signatures = obj.get("signatures")
    if not isinstance(signatures, Mapping) or not signatures:
        yield "/signatures", "verify.signature", "no signatures"
        return
    for name, by_key in signatures.items():
        for key_id in by_key if isinstance(by_key, Mapping) else ():
            where = join_pointer("/signatures", name, key_id)
            candidates = _candidate_keys(name, key_id)
            if not candidates:
                yield where, "verify.signature", f"{name} {key_id} is not a published test key"
                continue
            verdicts = [verify_json({**signed, "signatures": {name: {key_id: by_key[key_id]}}}, name,
                                    {key_id: key}, strict=strict) for key in candidates]
            if not any(v.ok for v in verdicts):
                yield where, "verify.signature", verdicts[0].detail


def _check_references(pdu: Mapping[str, Any], version: RoomVersion | None, known: _Known) -> Iterator[tuple[str, str, str]]:
    for name in ("prev_events", "auth_events"):
        refs = pdu.get(name)
        for i, ref in enumerate(refs if isinstance(refs, list) else ()):
            yield from (
                (join_pointer(f"/{name}", i, *sub.split("/")[1:]) if sub else join_pointer(f"/{name}", i), code, msg)
                for sub, code, msg in _check_reference(ref, known)
            )


def _check_reference(ref: Any, known: _Known) -> Iterator[tuple[str, str, str]]:
    event_id = ref[0] if isinstance(ref, list) and ref else ref
    event = known.events.get(event_id) if isinstance(event_id, str) else None
    if event is None:
        yield ("/0" if isinstance(ref, list) else ""), "verify.event-id", f"{event_id!r} is not an event of any history or API example"
        return
    if isinstance(ref, list):
        expected = encode_base64(reference_hash(event.pdu, event.room_version))
        claimed = ref[1].get("sha256") if len(ref) == 2 and isinstance(ref[1], Mapping) else None
        if claimed != expected:
            yield "/1/sha256", "verify.hash", f"not the reference hash of {event_id}"


def _check_pdu(pdu: Mapping[str, Any], version: RoomVersion | None, known: _Known) -> Iterator[tuple[str, str, str]]:
    yield from _check_references(pdu, version, known)
    if not ("hashes" in pdu or "signatures" in pdu):
        return
    if version is None:
        yield "/room_id", "verify.room-id", f"no history or API create event gives the version of room {pdu.get('room_id')!r}"
        return
    try:
        Event.from_pdu(pdu, version)
        if not check_content_hash(pdu, version):
            yield "/hashes/sha256", "verify.hash", f"the content hash does not match (room version {version.identifier})"
        yield from _check_signatures(pdu, redact(pdu, version), version.strict_canonical_json)
    except MatrixError as exc:
        yield "", "verify.event-id", f"not an event of room version {version.identifier}: {exc.message}"


_IDENTITY_KEYS = frozenset({PUBLISHED_KEYS["id.example.org"].verify_key.public_base64,
                            EPHEMERAL_KEY.verify_key.public_base64})
_SERVER_KEYS = frozenset({k.verify_key.public_base64 for k in PUBLISHED_KEYS.values()}
                         | {RETIRED_KEY.verify_key.public_base64})


def _check_value(value: Any, versions: Mapping[str, RoomVersion], known: _Known, pointer: str = "") -> Iterator[tuple[str, str, str]]:
    """Walk one example value: every signed, hashed or keyed thing in it."""
    here = lambda items: ((pointer + p, c, m) for p, c, m in items)  # noqa: E731
    if isinstance(value, list):
        if len(value) == 2 and isinstance(value[0], str) and isinstance(value[1], Mapping) and "sha256" in value[1]:
            yield from here(_check_reference(value, known))
            return
        for i, item in enumerate(value):
            yield from _check_value(item, versions, known, join_pointer(pointer, i))
        return
    if not isinstance(value, Mapping):
        return
    if is_pdu(value):
        yield from here(_check_pdu(value, versions.get(value.get("room_id")), known))
        return
    if is_key_document(value):
        server = value.get("server_name")
        for key_id, entry in (value.get("verify_keys") or {}).items():
            published = published_key_lookup(server, key_id)
            if published is None or not isinstance(entry, Mapping) or entry.get("key") != published.public_base64:
                yield join_pointer(pointer, "verify_keys", key_id, "key"), "verify.signature", f"not {server}'s published {key_id} key"
        yield from here(_check_signatures(value, value, False))
        return
    signatures = value.get("signatures")
    if isinstance(signatures, Mapping):
        yield from here(_check_signatures(value, value, False))
        return
    for key, item in value.items():
        at = join_pointer(pointer, key)
        if key == "sha256" and isinstance(item, str) and item not in known.hashes:
            yield at, "verify.hash", "not the content hash of any event of the histories or API examples"
        elif key == "public_key" and isinstance(item, str) and item not in _IDENTITY_KEYS:
            yield at, "verify.signature", "not a published identity server key"
        elif key == "key" and isinstance(item, str) and item not in _SERVER_KEYS:
            yield at, "verify.signature", "not a published server key"
        elif _is_lone_signatures(item):
            for name, by_key in item.items():
                for key_id, signature in by_key.items():
                    if signature not in known.signatures:
                        yield join_pointer(at, name, key_id), "verify.signature", "not a signature of any event of the histories or API examples"
        else:
            yield from _check_value(item, versions, known, at)


def _is_lone_signatures(value: Any) -> bool:
    return isinstance(value, Mapping) and bool(value) and all(
        isinstance(by_key, Mapping) and by_key and all(":" in k and isinstance(s, str) for k, s in by_key.items())
        for by_key in value.values()
    )


def _check_event_example(value: Any, known: _Known) -> Iterator[tuple[str, str, str]]:
    if not isinstance(value, Mapping):
        return
    identity = (value.get("room_id"), value.get("type"), value.get("state_key"), value.get("sender"),
                value.get("origin_server_ts"))
    event = known.by_identity.get(identity)
    if event is None:
        yield "/event_id", "verify.event-id", "no history holds this event (same room, type, state key, sender and time)"
        return
    if value.get("event_id") != event.event_id:
        yield "/event_id", "verify.event-id", f"the history's event has ID {event.event_id}"
    if value.get("room_id") != event.room_id:
        yield "/room_id", "verify.room-id", f"the history's event is in room {event.room_id}"
    if value.get("content") != dict(event.content):
        yield "/content", "verify.hash", f"the content differs from the signed event {event.event_id}"
    if "redacts" in value and value.get("redacts") != event.pdu.get("redacts"):
        yield "/redacts", "verify.hash", f"redacts differs from the signed event {event.event_id}"


def _api_versions(sites: list[Site], known: _Known) -> dict[str, RoomVersion]:
    """Room versions by room ID: the API examples' own create events first
    (their rooms are separate from the histories'), then the histories."""
    versions = dict(known.versions)
    for site in sites:
        for value in _walk(site.value):
            if is_pdu(value) and value.get("type") == "m.room.create" and isinstance(value.get("content"), Mapping):
                try:
                    versions[value.get("room_id")] = lookup_room_version(str(value["content"].get("room_version", "1")))
                except MatrixError:
                    continue
    return versions


def _walk(value: Any) -> Iterator[Any]:
    yield value
    children = value.values() if isinstance(value, Mapping) else value if isinstance(value, list) else ()
    for child in children:
        yield from _walk(child)


def _learn_api_events(sites: list[Site], versions: Mapping[str, RoomVersion], known: _Known) -> None:
    """API PDUs that verify become known, so other examples may cite them."""
    for site in sites:
        for value in _walk(site.value):
            version = versions.get(value.get("room_id")) if is_pdu(value) and "hashes" in value else None
            if version is None:
                continue
            try:
                event = Event.from_pdu(value, version)
            except MatrixError:
                continue
            if check_content_hash(value, version):
                known.events.setdefault(event.event_id, event)
                known.hashes.add(value["hashes"].get("sha256", ""))
                for by_key in (value.get("signatures") or {}).values():
                    known.signatures.update(s for s in by_key.values() if isinstance(s, str))


def verify_corpus(corpus: Corpus) -> Iterator[Diagnostic]:
    """Every failure of the histories and examples, located at its value."""
    known = _Known()
    yield from _verify_histories(corpus, known)
    sites, failures = example_sites(corpus)
    yield from failures
    versions = _api_versions([s for s in sites if s.kind == "api"], known)
    _learn_api_events([s for s in sites if s.kind == "api"], versions, known)
    for site in sites:
        doc = corpus.document(site.path)
        checks = _check_event_example(site.value, known) if site.kind == "event" else _check_value(site.value, versions, known)
        for pointer, code, message in checks:
            yield doc.diagnostic(join_pointer(site.pointer, *split_pointer(pointer)), code, Severity.ERROR, message)


def add_verify_arguments(parser: argparse.ArgumentParser) -> None:
    """``specgen verify`` takes no options of its own."""


def verify_command(corpus: Corpus, args: argparse.Namespace, collector: Collector) -> int | None:
    """``specgen verify``: diagnostics only, never a write."""
    collector.extend(verify_corpus(corpus))
    return None

"""``specgen examples --sign``: every hash, signature and ID in the examples, computed.

Theory of operation (gather everything, compute, then write only what changed):

1. *Gather* every example value: event examples (client-format events),
   JSON files under an ``examples`` folder of the API tree, and inline
   ``example``/``examples`` values of API and schema YAML files. Each is a
   :class:`Site` (file, pointer, value).
2. *Refresh embedded objects*: identity-server public keys, the ephemeral
   private key, server key documents (keys and self/notary signatures) and
   any other signed object (``third_party_invite.signed``) are recomputed
   with the published test keys, innermost first.
3. *Build rooms* until the ID map reaches a fixed point: the event examples
   of each room, with :data:`~specgen.histories.EXAMPLE_ROOM_EXTRAS`, become
   full PDUs (:func:`~specgen.histories.build_room`); API PDUs are hashed and
   signed as written, in depth order, or copied from the history event they
   show. Every old event or room ID maps to its computed one, and the map is
   applied to every string of every example, so references follow.
4. *Fill fragments*: lone ``hashes``, ``signatures``, verify keys and v1
   event references take real values from a real event.
5. *Write*: a changed value is spliced into its file's text in its own
   quoting style, so comments, key order and layout stay as they were
   (finer than a YAML round-trip, which reflows). Unchanged files are not
   touched. ``--check`` writes nothing and reports each stale value as
   ``examples.stale`` at its own line.
"""

from __future__ import annotations

import argparse
import json
import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping

import yaml

from refimpl.errors import MatrixError
from refimpl.event_signing import required_signatures, sign_event
from refimpl.events import Event
from refimpl.hashing import reference_hash, with_content_hash
from refimpl.keys import SigningKey
from refimpl.room_versions import RoomVersion, room_version as lookup_room_version
from refimpl.signing import sign_json
from refimpl.test_keys import PUBLISHED_KEYS
from refimpl.unpadded_base64 import encode_base64

from .corpus import Corpus
from .diagnostics import Collector, Diagnostic, Severity
from .histories import (
    EPHEMERAL_KEY,
    EXAMPLE_ROOM_EXTRAS,
    EventSpec,
    History,
    build_room,
    declared_histories,
    history_json,
    replay,
)
from .sources import JSON_SUFFIXES, join_pointer, read_bounded, split_pointer

__all__ = [
    "Site",
    "Signed",
    "EPHEMERAL_KEY",
    "RETIRED_KEY",
    "example_sites",
    "sign_corpus",
    "stale_values",
    "write_signed",
    "examples_command",
    "add_examples_arguments",
    "is_pdu",
    "is_key_document",
]

#: Retired (``old_verify_keys``) entries show the appendix's published key:
#: nothing in the examples is signed with a retired key, and it is public.
RETIRED_KEY = PUBLISHED_KEYS["domain"]
#: Fragments that name no server show the examples' protagonist's.
DEFAULT_SERVER = "example.org"
IDENTITY_SERVER = "id.example.org"

_SIGNED_PDU_FIELDS = ("hashes", "signatures")
_MAX_ROUNDS = 12


@dataclass(frozen=True)
class Site:
    """One example value: where it is, whose it is, what it says."""

    path: Path
    display: str
    pointer: str
    #: ``"event"`` for a client-format event example, else ``"api"``.
    kind: str
    #: The event example's name (``m.room.create#v11``), else ``""``.
    name: str
    value: Any = field(repr=False)


@dataclass(frozen=True)
class Signed:
    """Everything ``--sign`` computed, not yet written."""

    sites: tuple[Site, ...]
    #: New value per site, in the order of :attr:`sites`.
    values: tuple[Any, ...]
    histories: tuple[History, ...]
    diagnostics: tuple[Diagnostic, ...]


# -- Gathering -----------------------------------------------------------------


def _inline_sites(path: Path, display: str, data: Any, pointer: str = "", parent: str = "") -> Iterator[Site]:
    if isinstance(data, Mapping):
        for key, value in data.items():
            here = join_pointer(pointer, key)
            if key == "example" and parent != "properties":
                yield Site(path, display, here, "api", "", value)
            elif key == "examples" and parent != "properties" and isinstance(value, (Mapping, list)):
                items = value.items() if isinstance(value, Mapping) else enumerate(value)
                for name, item in items:
                    at = join_pointer(here, name)
                    if isinstance(value, list):
                        yield Site(path, display, at, "api", "", item)
                    elif isinstance(item, Mapping) and "value" in item:
                        yield Site(path, display, join_pointer(at, "value"), "api", "", item["value"])
            else:
                yield from _inline_sites(path, display, value, here, key)
    elif isinstance(data, list):
        for index, value in enumerate(data):
            yield from _inline_sites(path, display, value, join_pointer(pointer, index), "")


def example_sites(corpus: Corpus) -> tuple[list[Site], list[Diagnostic]]:
    """Every example value of the corpus, and the files that did not load."""
    sites: list[Site] = []
    failures: list[Diagnostic] = []

    def load(path: Path):
        loaded = corpus.load(path)
        if isinstance(loaded, Diagnostic):
            failures.append(loaded)
            return None
        return loaded

    for example in sorted(corpus.all_example_files(), key=lambda e: e.path):
        doc = load(example.path)
        if doc is not None:
            name = example.path.name
            sites.append(Site(example.path, doc.display, "", "event", name, doc.data))
    for path in corpus.example_partials:
        doc = load(path)
        if doc is not None:
            sites.append(Site(path, doc.display, "", "api", "", doc.data))
    yaml_files = [*corpus.api_files, *corpus.schemas.values(), *corpus.schema_definitions]
    for path in corpus.api_definitions:
        if "examples" in path.relative_to(corpus.api_dir).parts[:-1]:
            doc = load(path)
            if doc is not None:
                sites.append(Site(path, doc.display, "", "api", "", doc.data))
        else:
            yaml_files.append(path)
    for path in sorted(yaml_files):
        doc = load(path)
        if doc is not None:
            sites.extend(_inline_sites(path, doc.display, doc.data))
    return sites, failures


# -- Shapes --------------------------------------------------------------------


def is_pdu(value: Any) -> bool:
    """An event in federation form (hashed and signed, or a template to be)."""
    return (
        isinstance(value, Mapping)
        and all(k in value for k in ("type", "sender", "content"))
        and any(k in value for k in ("hashes", "signatures", "auth_events", "prev_events"))
    )


def _is_signed_pdu(value: Any) -> bool:
    return is_pdu(value) and any(k in value for k in _SIGNED_PDU_FIELDS)


def is_key_document(value: Any) -> bool:
    return isinstance(value, Mapping) and "server_name" in value and "verify_keys" in value


def _is_signature_map(value: Any) -> bool:
    return (
        isinstance(value, Mapping)
        and bool(value)
        and all(
            isinstance(by_key, Mapping) and by_key and all(isinstance(k, str) and ":" in k for k in by_key)
            for by_key in value.values()
        )
    )


def _map_strings(value: Any, renames: Mapping[str, str]) -> Any:
    if isinstance(value, str):
        return renames.get(value, value)
    if isinstance(value, Mapping):
        return {k: _map_strings(v, renames) for k, v in value.items()}
    if isinstance(value, list):
        return [_map_strings(v, renames) for v in value]
    return value


def _keep_order(old: Any, new: Any) -> Any:
    """``new`` with its object keys in ``old``'s order where they match, so
    a recomputed value diffs only where a value changed."""
    if isinstance(old, Mapping) and isinstance(new, Mapping):
        ordered = [k for k in old if k in new] + [k for k in new if k not in old]
        return {k: _keep_order(old.get(k), new[k]) for k in ordered}
    if isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        return [_keep_order(o, n) for o, n in zip(old, new)]
    return new


# -- Refreshing embedded objects -------------------------------------------------


class _Context:
    """Per-run state: diagnostics, and where each site's values live."""

    def __init__(self) -> None:
        self.diagnostics: list[Diagnostic] = []

    def report(self, site: Site, pointer: str, code: str, message: str) -> None:
        self.diagnostics.append(
            Diagnostic(site.display, 0, 0, code, Severity.ERROR, message, join_pointer(site.pointer, *split_pointer(pointer)))
        )


def _signer_key(name: str) -> SigningKey | None:
    return PUBLISHED_KEYS.get(name)


def _resign(obj: Mapping[str, Any], report: Callable[[str], None]) -> dict[str, Any]:
    """``obj`` signed afresh by every signer it lists that has a test key."""
    signatures = obj.get("signatures")
    fresh: dict[str, Any] = {k: v for k, v in obj.items() if k != "signatures"}
    result = dict(fresh)
    result["signatures"] = {}
    for name in signatures:
        key = _signer_key(name)
        if key is None:
            report(f"{name!r} signs here but has no published test key; use one of {sorted(PUBLISHED_KEYS)}")
            continue
        signature = sign_json(fresh, name, key)["signatures"][name][key.key_id]
        result["signatures"][name] = {key.key_id: signature}
    return _keep_order(obj, result)


def _refresh_key_document(doc: Mapping[str, Any], report: Callable[[str], None]) -> dict[str, Any]:
    server = doc.get("server_name")
    key = _signer_key(server) if isinstance(server, str) else None
    result = dict(doc)
    if key is None:
        report(f"server {server!r} has no published test key")
        return result
    verify_keys = doc.get("verify_keys")
    if isinstance(verify_keys, Mapping):
        result["verify_keys"] = {}
        for key_id, entry in verify_keys.items():
            if key_id != key.key_id:
                report(f"{server} publishes no test key {key_id}; its key is {key.key_id}")
            result["verify_keys"][key.key_id] = {**entry, "key": key.verify_key.public_base64}
    old = doc.get("old_verify_keys")
    if isinstance(old, Mapping):
        result["old_verify_keys"] = {k: {**v, "key": RETIRED_KEY.verify_key.public_base64} for k, v in old.items()}
    return result


def _identity_public_key(sibling_url: Any) -> str:
    ephemeral = isinstance(sibling_url, str) and "ephemeral" in sibling_url
    key = EPHEMERAL_KEY if ephemeral else PUBLISHED_KEYS[IDENTITY_SERVER]
    return key.verify_key.public_base64


def _refresh(value: Any, report: Callable[[str, str], None], pointer: str = "") -> Any:
    """Keys and signed objects inside ``value``, innermost first (PDUs are
    left to the room builder, but what they embed is refreshed here)."""
    if isinstance(value, list):
        return [_refresh(v, report, join_pointer(pointer, i)) for i, v in enumerate(value)]
    if not isinstance(value, Mapping):
        return value
    result = {k: _refresh(v, report, join_pointer(pointer, k)) for k, v in value.items()}
    if isinstance(result.get("public_key"), str):
        result["public_key"] = _identity_public_key(result.get("key_validity_url"))
    if isinstance(result.get("private_key"), str):
        result["private_key"] = encode_base64(EPHEMERAL_KEY.seed)
    here = lambda message: report(pointer, message)  # noqa: E731
    if is_key_document(result):
        result = _refresh_key_document(result, here)
    if isinstance(result.get("signatures"), Mapping) and _is_signature_map(result["signatures"]) and not is_pdu(result):
        result = _resign(result, here)
    return result


# -- Rooms ---------------------------------------------------------------------


def _version_of_create(content: Any) -> RoomVersion:
    identifier = content.get("room_version", "1") if isinstance(content, Mapping) else "1"
    return lookup_room_version(str(identifier))


def _event_identity(value: Mapping[str, Any]) -> tuple:
    return (value.get("type"), value.get("state_key"), value.get("sender"), value.get("origin_server_ts"))


@dataclass
class _Rooms:
    """What the fixed-point loop knows so far."""

    renames: dict[str, str] = field(default_factory=dict)
    #: Example-room histories by the original room ID of their examples.
    example_rooms: dict[str, tuple[History, list[int | None]]] = field(default_factory=dict)
    #: Every built event by ID, with its room version.
    events: dict[str, Event] = field(default_factory=dict)
    #: Computed PDU per (site index, pointer inside the site).
    pdus: dict[tuple[int, str], dict[str, Any]] = field(default_factory=dict)
    #: Rooms the API examples show on their own (with their create event), as histories.
    api_rooms: dict[str, History] = field(default_factory=dict)


def _build_example_rooms(sites: list[Site], values: list[Any], rooms: _Rooms, ctx: _Context) -> None:
    groups: dict[str, list[int]] = {}
    for index, site in enumerate(sites):
        if site.kind == "event" and isinstance(site.value, Mapping) and "room_id" in site.value:
            groups.setdefault(site.value["room_id"], []).append(index)
    for room_id, members in groups.items():
        creates = [i for i in members if sites[i].value.get("type") == "m.room.create"]
        if len(creates) != 1:
            ctx.report(sites[members[0]], "/room_id", "examples.room",
                       f"room {room_id} needs exactly one m.room.create example, found {len(creates)}")
            continue
        create_site = sites[creates[0]]
        version = _version_of_create(create_site.value.get("content"))
        entries: list[tuple[int, int, EventSpec, int | None]] = []
        for i in members:
            value = _map_strings(values[i], rooms.renames)
            redacts = value.get("redacts") if not version.redacts_in_content else None
            spec = EventSpec(
                type=value["type"], sender=value["sender"], content=value.get("content", {}),
                origin_server_ts=value["origin_server_ts"], state_key=value.get("state_key"),
                redacts=redacts, event_id=None if version.event_ids_are_hashes else value.get("event_id"),
            )
            entries.append((spec.origin_server_ts, 0 if spec.type == "m.room.create" else 1, spec, i))
        extras = EXAMPLE_ROOM_EXTRAS.get(create_site.name, ())
        entries += [(s.origin_server_ts, 1, s, None) for s in extras]
        entries.sort(key=lambda e: (e[0], e[1]))
        try:
            events = build_room(version, _map_strings(room_id, rooms.renames), [e[2] for e in entries])
        except MatrixError as exc:
            ctx.report(create_site, "", "examples.room", f"room {room_id} cannot be built: {exc.message}")
            continue
        origins = [e[3] for e in entries]
        for event, origin in zip(events, origins):
            rooms.events[event.event_id] = event
            if origin is not None:
                old = sites[origin].value.get("event_id")
                if isinstance(old, str) and old != event.event_id:
                    rooms.renames[old] = event.event_id
        if version.room_id_from_create_event and room_id != events[0].room_id:
            rooms.renames[room_id] = events[0].room_id
        name = f"example-room-v{version.identifier}"
        description = (
            f"The event examples of room version {version.identifier} as one room: "
            + ", ".join(e.type for e in events) + "."
        )
        rooms.example_rooms[room_id] = (History(name, description, version, events), origins)


def _pdu_occurrences(value: Any, pointer: str = "") -> Iterator[tuple[str, Mapping[str, Any]]]:
    if is_pdu(value):
        yield pointer, value
        return
    if isinstance(value, Mapping):
        for k, v in value.items():
            yield from _pdu_occurrences(v, join_pointer(pointer, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _pdu_occurrences(v, join_pointer(pointer, i))


def _fill_references(value: Any, version: RoomVersion, rooms: _Rooms) -> Any:
    """v1-v2 ``[event_id, {"sha256": ...}]`` pairs with the cited event's reference hash."""
    if version.event_ids_are_hashes or not isinstance(value, list):
        return value
    result = []
    for ref in value:
        if isinstance(ref, list) and len(ref) == 2 and isinstance(ref[1], Mapping) and ref[0] in rooms.events:
            cited = rooms.events[ref[0]]
            ref = [ref[0], {**ref[1], "sha256": encode_base64(reference_hash(cited.pdu, cited.room_version))}]
        result.append(ref)
    return result


def _sign_pdu(pdu: Mapping[str, Any], version: RoomVersion, rooms: _Rooms, report: Callable[[str], None]) -> dict[str, Any]:
    """``pdu`` hashed and signed by every server it lists plus every server that must sign."""
    body = {k: v for k, v in pdu.items() if k != "signatures"}
    for name in ("prev_events", "auth_events"):
        if name in body:
            body[name] = _fill_references(body[name], version, rooms)
    listed = pdu.get("signatures") if isinstance(pdu.get("signatures"), Mapping) else {}
    try:
        servers = list(dict.fromkeys([*listed, *sorted(required_signatures(body, version))]))
        signed = with_content_hash(body, version)
        for server in servers:
            key = _signer_key(server)
            if key is None:
                report(f"{server!r} signs here but has no published test key")
                continue
            signed = sign_event(signed, version, server, key)
    except MatrixError as exc:
        report(f"cannot sign this event: {exc.message}")
        return dict(pdu)
    return _keep_order(pdu, signed)


def _history_rooms(histories: tuple[History, ...]) -> dict[str, History]:
    return {h.events[0].room_id: h for h in histories if h.events}


def _matching_event(history: History, value: Mapping[str, Any]) -> Event | None:
    exact = [e for e in history.events if _event_identity(e.pdu) == _event_identity(value)]
    if len(exact) == 1:
        return exact[0]
    loose = [e for e in history.events if _event_identity(e.pdu)[:3] == _event_identity(value)[:3]]
    return loose[0] if len(loose) == 1 else None


def _copy_from_history(value: Mapping[str, Any], event: Event, report: Callable[[str], None]) -> dict[str, Any]:
    """The history's event in place of the example, signed by the servers the example lists."""
    listed = value.get("signatures") if isinstance(value.get("signatures"), Mapping) else {}
    pdu = {k: v for k, v in event.pdu.items() if k != "signatures"}
    if "unsigned" in value:
        pdu["unsigned"] = value["unsigned"]
    signed = dict(pdu)
    for server in dict.fromkeys([*listed, *sorted(required_signatures(pdu, event.room_version))]):
        key = _signer_key(server)
        if key is None:
            report(f"{server!r} signs here but has no published test key")
            continue
        signed = sign_event(signed, event.room_version, server, key)
    return _keep_order(value, signed)


def _old_ids(occurrences: list[tuple[int, str, Mapping[str, Any]]]) -> dict[tuple, str]:
    """The ID each API event was known by, read off the event one deeper
    that names it as its only predecessor (v3+ PDUs carry no ID of their own)."""
    by_depth: dict[int, set[str]] = {}
    for _, _, value in occurrences:
        prev = value.get("prev_events")
        if isinstance(value.get("depth"), int) and isinstance(prev, list) and len(prev) == 1 and isinstance(prev[0], str):
            by_depth.setdefault(value["depth"], set()).add(prev[0])
    result = {}
    for _, _, value in occurrences:
        if "event_id" in value:
            result[_event_identity(value)] = value["event_id"]
            continue
        candidates = by_depth.get(value.get("depth", -2) + 1, set())
        if len(candidates) == 1:
            result[_event_identity(value)] = next(iter(candidates))
    return result


def _sign_api_pdus(
    sites: list[Site], originals: list[Any], known: dict[str, History], rooms: _Rooms, ctx: _Context
) -> None:
    groups: dict[Any, list[tuple[int, str, Mapping[str, Any]]]] = {}
    for index, site in enumerate(sites):
        if site.kind != "api":
            continue
        for pointer, value in _pdu_occurrences(originals[index]):
            groups.setdefault(value.get("room_id"), []).append((index, pointer, value))
    for room_id, occurrences in groups.items():
        creates = [v for _, _, v in occurrences if v.get("type") == "m.room.create"]
        history = known.get(room_id)
        if creates:
            version = _version_of_create(creates[0].get("content"))
        elif history is not None:
            version = history.room_version
        else:
            index, pointer, _ = occurrences[0]
            ctx.report(sites[index], pointer, "examples.room",
                       f"no create event or history gives the room version of {room_id}")
            continue
        old_ids = _old_ids(occurrences)
        timeline: dict[str, Event] = {}
        ordered = sorted(occurrences, key=lambda o: (o[2].get("depth", 0), o[2].get("origin_server_ts", 0)))
        for index, pointer, original in ordered:
            report = lambda m, s=sites[index], p=pointer: ctx.report(s, p, "examples.sign", m)  # noqa: E731
            value = _map_strings(original, rooms.renames)
            if not _is_signed_pdu(value):
                for name in ("prev_events", "auth_events"):
                    if name in value:
                        value = {**value, name: _fill_references(value[name], version, rooms)}
                rooms.pdus[(index, pointer)] = value
                continue
            match = _matching_event(history, value) if history is not None and not creates else None
            if match is not None:
                pdu = _copy_from_history(value, match, report)
            else:
                pdu = _sign_pdu(value, version, rooms, report)
            rooms.pdus[(index, pointer)] = pdu
            try:
                event = Event.from_pdu(pdu, version)
            except MatrixError as exc:
                report(f"not an event of room version {version.identifier}: {exc.message}")
                continue
            rooms.events[event.event_id] = event
            timeline.setdefault(event.event_id, event)
            old = old_ids.get(_event_identity(original))
            if old is not None and old != event.event_id and old not in rooms.events:
                rooms.renames[old] = event.event_id
        if creates:
            rooms.api_rooms[room_id] = History(
                f"api-room-v{version.identifier}", f"The API examples' room {room_id}", version, tuple(timeline.values())
            )


# -- Fragments ----------------------------------------------------------------


def _set_at(value: Any, pointer: str, new: Any) -> Any:
    tokens = split_pointer(pointer)
    if not tokens:
        return new
    head, rest = tokens[0], join_pointer("", *tokens[1:])
    if isinstance(value, list):
        i = int(head)
        return [*value[:i], _set_at(value[i], rest, new), *value[i + 1:]]
    return {**value, head: _set_at(value[head], rest, new)}


def _anchor(rooms: _Rooms, sites: list[Site]) -> Event | None:
    for (index, pointer), pdu in sorted(rooms.pdus.items()):
        if _is_signed_pdu(pdu) and sites[index].kind == "api":
            for event in rooms.events.values():
                if event.pdu.get("hashes") == pdu.get("hashes"):
                    return event
    return None


def _fill_fragments(value: Any, anchor: Event, rooms: _Rooms) -> Any:
    """Lone hashes, signature maps, verify keys and v1 references, from real events."""
    if isinstance(value, list):
        if len(value) == 2 and isinstance(value[0], str) and isinstance(value[1], Mapping) and "sha256" in value[1]:
            return _fill_references([value], anchor.room_version if value[0] not in rooms.events
                                    else rooms.events[value[0]].room_version, rooms)[0]
        return [_fill_fragments(v, anchor, rooms) for v in value]
    # Signed objects were refreshed whole; their signature maps are not fragments.
    if not isinstance(value, Mapping) or is_pdu(value) or is_key_document(value) or "signatures" in value:
        return value
    if set(value) == {"sha256"} and isinstance(value["sha256"], str):
        return {"sha256": anchor.pdu["hashes"]["sha256"]}
    if _is_signature_map(value) and all(
        isinstance(s, str) for by_key in value.values() for s in by_key.values()
    ):
        result = {}
        for name, by_key in value.items():
            key = _signer_key(name)
            if key is None:
                result[name] = by_key
                continue
            signed = sign_event(anchor.pdu, anchor.room_version, name, key)
            result[name] = {key.key_id: signed["signatures"][name][key.key_id]}
        return _keep_order(value, result)
    if "key" in value and isinstance(value["key"], str) and set(value) <= {"key", "expired_ts"}:
        key = RETIRED_KEY if "expired_ts" in value else PUBLISHED_KEYS[DEFAULT_SERVER]
        return {**value, "key": key.verify_key.public_base64}
    return {k: _fill_fragments(v, anchor, rooms) for k, v in value.items()}


# -- The whole computation ------------------------------------------------------


def sign_corpus(corpus: Corpus) -> Signed:
    """Compute every example value and history; write nothing."""
    ctx = _Context()
    sites, failures = example_sites(corpus)
    ctx.diagnostics.extend(failures)
    refreshed = [
        _refresh(site.value, lambda p, m, s=site: ctx.report(s, p, "examples.sign", m)) for site in sites
    ]
    declared = declared_histories() if corpus.config.declared_histories else ()
    rooms = _Rooms()
    for history in declared:
        for event in history.events:
            rooms.events[event.event_id] = event
    known = _history_rooms(declared)
    # An ID change changes the hashes of the events that cite it, so repeat
    # until no ID moves (each round settles at least one more level).
    for _ in range(_MAX_ROUNDS):
        before = dict(rooms.renames)
        round_ctx = _Context()
        _build_example_rooms(sites, refreshed, rooms, round_ctx)
        _sign_api_pdus(sites, refreshed, known, rooms, round_ctx)
        if rooms.renames == before:
            break
    ctx.diagnostics.extend(round_ctx.diagnostics)
    values = []
    for index, site in enumerate(sites):
        value = _map_strings(refreshed[index], rooms.renames)
        for (i, pointer), pdu in rooms.pdus.items():
            if i == index:
                value = _set_at(value, pointer, pdu)
        values.append(value)
    for room_id, (history, origins) in rooms.example_rooms.items():
        for event, origin in zip(history.events, origins):
            if origin is None:
                continue
            value = dict(values[origin])
            if "event_id" in value:
                value["event_id"] = event.event_id
            if "room_id" in value:
                value["room_id"] = event.room_id
            values[origin] = value
    anchor = _anchor(rooms, sites)
    if anchor is not None:
        values = [_fill_fragments(v, anchor, rooms) if s.kind == "api" else v for s, v in zip(sites, values)]
    values = [_keep_order(site.value, value) for site, value in zip(sites, values)]
    histories = [*declared, *(h for h, _ in rooms.example_rooms.values())]
    for history in [*histories, *rooms.api_rooms.values()]:
        for finding in replay(history.events, history.room_version):
            rule = f" by rule {finding.rule}" if finding.rule else ""
            ctx.diagnostics.append(Diagnostic(
                corpus.display(corpus.history_dir / f"{history.name}.json"), 0, 0, "examples.auth", Severity.ERROR,
                f"{history.name}: event {finding.index} ({history.events[finding.index].type}) is refused{rule}: "
                f"{finding.message}", f"/events/{finding.index}{finding.pointer}"))
    return Signed(tuple(sites), tuple(values), tuple(histories), tuple(ctx.diagnostics))


# -- Writing --------------------------------------------------------------------


def _changes(old: Any, new: Any, pointer: str = "") -> Iterator[tuple[str, Any]]:
    """The smallest subtrees where ``new`` differs from ``old``."""
    if old == new and type(old) is type(new):
        return
    if isinstance(old, Mapping) and isinstance(new, Mapping) and list(old) == list(new):
        for key in old:
            yield from _changes(old[key], new[key], join_pointer(pointer, key))
    elif isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        for i, (o, n) in enumerate(zip(old, new)):
            yield from _changes(o, n, join_pointer(pointer, i))
    else:
        yield pointer, new


def _node_index(text: str) -> dict[str, Any]:
    index: dict[str, Any] = {}

    def walk(node: Any, pointer: str) -> None:
        index[pointer] = node
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                walk(value, join_pointer(pointer, key.value))
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                walk(item, join_pointer(pointer, i))

    # The pure-Python composer: its marks count characters, as str slicing does.
    root = yaml.compose(text, Loader=yaml.SafeLoader)
    if root is not None:
        walk(root, "")
    return index


_NOT_PLAIN = (",", "[", "]", "{", "}", "#", ": ", "\n", "'", '"')


def _render(node: Any, new: Any) -> str:
    """``new`` as YAML in ``node``'s quoting style where it has one."""
    if isinstance(new, str) and isinstance(node, yaml.ScalarNode):
        if node.style == "'":
            return "'" + new.replace("'", "''") + "'"
        plain_ok = node.style is None and new and new == new.strip() and not any(c in new for c in _NOT_PLAIN)
        if plain_ok and yaml.safe_load(new) == new:
            return new
    return json.dumps(new, ensure_ascii=False)


def _splice(text: str, changes: list[tuple[str, Any]]) -> str | None:
    """``text`` with each changed value replaced in place, or None when a
    change has no node to replace."""
    index = _node_index(text)
    edits = []
    for pointer, new in changes:
        node = index.get(pointer)
        if node is None:
            return None
        edits.append((node.start_mark.index, node.end_mark.index, _render(node, new)))
    for start, end, replacement in sorted(edits, reverse=True):
        text = text[:start] + replacement + text[end:]
    return text


def _new_text(path: Path, text: str, old: Any, new: Any) -> str:
    changes = list(_changes(old, new))
    is_json = path.suffix.lower() in JSON_SUFFIXES or not path.suffix
    scalar_only = all(not isinstance(v, (Mapping, list)) for _, v in changes)
    spliced = _splice(text, changes) if scalar_only or not is_json else None
    if spliced is not None:
        try:
            if yaml.safe_load(spliced) == new:
                return spliced
        except yaml.YAMLError:
            pass
    if is_json:
        return json.dumps(new, indent=2, ensure_ascii=False) + "\n"
    raise ValueError(f"cannot rewrite {path} in place")


def _file_values(signed: Signed, corpus: Corpus) -> Iterator[tuple[Path, Any, Any, list[tuple[Site, Any]]]]:
    """Per file with a changed example: its old data, new data, and the changed sites."""
    by_path: dict[Path, list[tuple[Site, Any]]] = {}
    for site, value in zip(signed.sites, signed.values):
        if list(_changes(site.value, value)):
            by_path.setdefault(site.path, []).append((site, value))
    for path, changed in by_path.items():
        doc = corpus.document(path)
        if doc is None:
            continue
        new = doc.data
        for site, value in changed:
            new = _set_at(new, site.pointer, value)
        yield path, doc.data, new, changed


def _history_texts(corpus: Corpus, signed: Signed) -> dict[Path, str]:
    return {
        corpus.history_dir / f"{h.name}.json": json.dumps(history_json(h), indent=2, ensure_ascii=False) + "\n"
        for h in signed.histories
    }


def _current(corpus: Corpus, path: Path) -> str | None:
    """The text of a history file, or ``None`` when it is missing,
    unreadable, not UTF-8 or a link out of the corpus: ``--sign`` replaces
    it in each case, and nothing outside the corpus is read."""
    if not corpus.sources.inside(path):
        return None
    raw = read_bounded(path, corpus.sources.max_size)
    try:
        return None if isinstance(raw, tuple) else raw.decode("utf-8")
    except UnicodeDecodeError:
        return None


def _replace(path: Path, text: str) -> None:
    """Write through a new file renamed over ``path``, so a link there is
    replaced, never followed out of the corpus."""
    temporary = path.with_name(f".{path.name}.specgen-{os.getpid()}")
    temporary.write_text(text, "utf-8")
    os.replace(temporary, path)


def _stray_histories(corpus: Corpus, texts: Mapping[Path, str]) -> list[Path]:
    folder = corpus.history_dir
    return sorted(p for p in folder.glob("*.json") if p not in texts) if folder.is_dir() else []


def stale_values(corpus: Corpus, signed: Signed) -> Iterator[Diagnostic]:
    """``examples.stale`` for every value and history file ``--sign`` would change."""
    for path, _, _, changed in _file_values(signed, corpus):
        doc = corpus.document(path)
        for site, value in changed:
            for pointer, new in _changes(site.value, value):
                at = join_pointer(site.pointer, *split_pointer(pointer))
                line, column = doc.locate(at)
                yield Diagnostic(site.display, line, column, "examples.stale", Severity.ERROR,
                                 f"stale value at {at or '/'}: run `specgen examples --sign`", at)
    texts = _history_texts(corpus, signed)
    for path, text in texts.items():
        current = _current(corpus, path)
        if current != text:
            what = "is missing" if current is None else "is out of date"
            yield Diagnostic(corpus.display(path), 0, 0, "examples.stale", Severity.ERROR,
                             f"history {what}: run `specgen examples --sign`")
    for path in _stray_histories(corpus, texts):
        yield Diagnostic(corpus.display(path), 0, 0, "examples.stale", Severity.ERROR,
                         "history not declared in specgen/histories.py: `specgen examples --sign` removes it")


def write_signed(corpus: Corpus, signed: Signed) -> Iterator[Diagnostic]:
    """Write changed example files and histories; untouched files keep their mtime."""
    for path, old, new, changed in list(_file_values(signed, corpus)):
        doc = corpus.document(path)
        try:
            text = _new_text(path, doc.text, old, new)
        except ValueError as exc:
            yield Diagnostic(doc.display, 1, 1, "examples.unwritable", Severity.ERROR, str(exc))
            continue
        path.write_text(text, "utf-8")
    texts = _history_texts(corpus, signed)
    if texts:
        corpus.history_dir.mkdir(parents=True, exist_ok=True)
    for path, text in texts.items():
        if _current(corpus, path) != text:
            _replace(path, text)
    for path in _stray_histories(corpus, texts):
        path.unlink()


def _located(corpus: Corpus, diagnostic: Diagnostic) -> Diagnostic:
    if diagnostic.line or not diagnostic.pointer:
        return diagnostic
    doc = corpus.document(corpus.root / diagnostic.path)
    if doc is None:
        return diagnostic
    line, column = doc.locate(diagnostic.pointer)
    return replace(diagnostic, line=line, column=column)


def add_examples_arguments(parser: argparse.ArgumentParser) -> None:
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--sign", action="store_true",
                      help="recompute every hash, signature and ID and write the changed values and histories")
    mode.add_argument("--check", action="store_true",
                      help="compute everything, write nothing, report each stale value (exit 1 if any)")


def examples_command(corpus: Corpus, args: argparse.Namespace, collector: Collector) -> int | None:
    """``specgen examples --sign|--check``."""
    signed = sign_corpus(corpus)
    collector.extend(_located(corpus, d) for d in signed.diagnostics)
    collector.extend(stale_values(corpus, signed) if args.check else write_signed(corpus, signed))
    return None

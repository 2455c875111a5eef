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

4. The examples of the invite and third-party-invite endpoints go through
   refimpl's handlers (:mod:`refimpl.invites`, :mod:`refimpl.third_party_invites`,
   :mod:`refimpl.identity_service`): each invite request is accepted by the
   invitee's checks and each 200 example is the countersigned answer they
   give; each exchange passes the room server's checks and yields an invite
   the examples show; each onbind proof verifies with the room's
   third-party invite keys; each store-invite answer is the identity
   server's.

A failure is a Diagnostic at the offending value: ``verify.signature``,
``verify.hash``, ``verify.event-id``, ``verify.room-id``, ``verify.auth``
(naming the rule), ``verify.flow`` for an example a flow handler refuses or
does not reproduce (naming the rule and errcode), or ``verify.history`` for a
history file that cannot be read.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field
from typing import Any, Iterator, Mapping

from refimpl.canonical_json import as_plain
from refimpl.errors import MatrixError
from refimpl.events import Event
from refimpl.hashing import check_content_hash, reference_hash
from refimpl.identifiers import parse_user_id
from refimpl.identity_service import pubkey_is_valid, store_invite
from refimpl.invites import InviteApi, ReceivedInvite, handle_invite
from refimpl.keys import VerifyKey
from refimpl.redaction import redact
from refimpl.room_versions import ROOM_VERSIONS, RoomVersion, room_version as lookup_room_version
from refimpl.signing import verify_json
from refimpl.state import RoomState
from refimpl.test_keys import PUBLISHED_KEYS, signing_key_for
from refimpl.third_party_invites import (
    check_bound_invites,
    handle_exchange_third_party_invite,
    handle_onbind,
    identity_key_requests,
    key_validity_requests,
    read_key_validity_answer,
    verify_signed,
)
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


# -- Flows: the API examples through refimpl's handlers -------------------------

_INVITE_APIS = {
    "/_matrix/federation/v1/invite/{roomId}/{eventId}": InviteApi.V1,
    "/_matrix/federation/v2/invite/{roomId}/{eventId}": InviteApi.V2,
    "/_matrix/federation/v3/invite/{roomId}": InviteApi.V3,
}
_EXCHANGE = "/_matrix/federation/v1/exchange_third_party_invite/{roomId}"
_ONBIND = "/_matrix/federation/v1/3pid/onbind"
_STORE_INVITE = "/_matrix/identity/v2/store-invite"
_JSON = "application/json"


@dataclass(frozen=True)
class _Example:
    """One request or response example of an operation, ``$ref``s resolved."""

    doc: Any
    pointer: str
    status: str
    value: Any


def _resolved(value: Any, base: Any, corpus: Corpus, depth: int = 0) -> Any:
    """``value`` with each ``{"$ref": file}`` replaced by the file's content
    (read through the corpus, so nothing outside it), or None if it does not load."""
    if isinstance(value, Mapping):
        ref = value.get("$ref")
        if isinstance(ref, str) and len(value) == 1 and ref and not ref.startswith("#"):
            target = base / ref.split("#", 1)[0]
            loaded = corpus.load(target) if depth < 16 else None
            if not hasattr(loaded, "data"):
                return None
            return _resolved(loaded.data, target.parent, corpus, depth + 1)
        return {k: _resolved(v, base, corpus, depth) for k, v in value.items()}
    if isinstance(value, list):
        return [_resolved(v, base, corpus, depth) for v in value]
    return value


def _operation_examples(corpus: Corpus, templates: Mapping[str, Any]) -> Iterator[tuple[Any, list[_Example]]]:
    """For each operation at one of ``templates``: its key there and its
    examples, the request's first (status ``""``)."""
    for path in corpus.api_files:
        doc = corpus.document(path)
        paths = doc.data.get("paths") if doc is not None and isinstance(doc.data, Mapping) else None
        for template, item in (paths or {}).items() if isinstance(paths, Mapping) else ():
            if template not in templates or not isinstance(item, Mapping):
                continue
            for method, operation in item.items():
                if method not in ("put", "post") or not isinstance(operation, Mapping):
                    continue
                at = join_pointer("/paths", template, method)
                bodies = [("", join_pointer(at, "requestBody"), operation.get("requestBody"))]
                responses = operation.get("responses")
                bodies += [(str(status), join_pointer(at, "responses", status), response)
                           for status, response in (responses.items() if isinstance(responses, Mapping) else ())]
                examples = []
                for status, where, body in bodies:
                    media = body.get("content", {}).get(_JSON) if isinstance(body, Mapping) and isinstance(body.get("content"), Mapping) else None
                    named = media.get("examples") if isinstance(media, Mapping) else None
                    for name, example in named.items() if isinstance(named, Mapping) else ():
                        if isinstance(example, Mapping) and "value" in example:
                            value = _resolved(example["value"], path.parent, corpus)
                            pointer = join_pointer(where, "content", _JSON, "examples", name, "value")
                            examples.append(_Example(doc, pointer, status, value))
                yield templates[template], examples


def _server(user_id: Any) -> str | None:
    try:
        return parse_user_id(user_id).server_name
    except MatrixError:
        return None


def _refusal_text(exc: MatrixError) -> str:
    rule = exc.fields.get("rule")
    return f"{exc.message} ({exc.errcode.value}{', rule ' + rule if rule else ''})"


def _invite_request(api: InviteApi, body: Any) -> tuple[ReceivedInvite, str | None]:
    """The request an example body makes, and the invitee's server."""
    pdu = body if api is InviteApi.V1 else body.get("event") if isinstance(body, Mapping) else None
    pdu = pdu if isinstance(pdu, Mapping) else {}
    event_id = None
    if api is not InviteApi.V3:
        named = "1" if api is InviteApi.V1 else body.get("room_version")
        try:
            event_id = Event.from_pdu(pdu, lookup_room_version(str(named))).event_id
        except MatrixError:
            event_id = ""
    return ReceivedInvite(api, _server(pdu.get("sender")) or "", str(pdu.get("room_id")), event_id, body), _server(pdu.get("state_key"))


def _handle_invite_example(api: InviteApi, body: Any, supported: frozenset[str] = frozenset(ROOM_VERSIONS)):
    request, invitee = _invite_request(api, body)
    return handle_invite(request, our_server_name=invitee or "", signing_key=signing_key_for(invitee),
                         verify_keys=published_key_lookup, supported_room_versions=supported)


def _check_invites(corpus: Corpus) -> Iterator[Diagnostic]:
    """Every request example of the invite endpoints is an invite the invitee
    accepts, every 200 example is the countersigned answer it gives, and an
    ``M_INCOMPATIBLE_ROOM_VERSION`` example is what it answers when it does
    not support the version the example names."""
    for api, examples in _operation_examples(corpus, _INVITE_APIS):
        answers, requests = [], [e.value for e in examples if e.status == ""]
        for example in (e for e in examples if e.status == ""):
            try:
                accepted = _handle_invite_example(api, example.value)
            except MatrixError as exc:
                yield example.doc.diagnostic(example.pointer, "verify.flow", Severity.ERROR,
                                             f"the invitee's server refuses this invite: {_refusal_text(exc)}")
                continue
            answers.append(as_plain(accepted.answer))
        for example in (e for e in examples if e.status == "200"):
            if answers and example.value not in answers:
                yield example.doc.diagnostic(example.pointer, "verify.flow", Severity.ERROR,
                                             "not the answer the invitee's server gives to any request example")
        for example in (e for e in examples if e.status == "400" and isinstance(e.value, Mapping)):
            if example.value.get("errcode") == "M_INCOMPATIBLE_ROOM_VERSION" and requests:
                yield from _check_incompatible(api, requests, example)


def _check_incompatible(api: InviteApi, requests: list[Any], example: "_Example") -> Iterator[Diagnostic]:
    named = example.value.get("room_version")
    supported = frozenset(ROOM_VERSIONS) - {named}
    for body in requests:
        try:
            _handle_invite_example(api, body, supported)
        except MatrixError as exc:
            if exc.errcode.value == "M_INCOMPATIBLE_ROOM_VERSION":
                return
    yield example.doc.diagnostic(example.pointer, "verify.flow", Severity.ERROR,
                                 f"no request example is refused with M_INCOMPATIBLE_ROOM_VERSION by an invitee "
                                 f"that lacks room version {named!r}")


def _room_state(known: _Known, room_id: Any) -> RoomState:
    state = RoomState()
    for event in sorted((e for e in known.events.values() if e.room_id == room_id), key=lambda e: e.depth):
        state = state.apply(event)
    return state


def _identity_answer(query: Any) -> bool:
    return read_key_validity_answer(200, pubkey_is_valid(query.public_key, _IDENTITY_KEYS))


def _check_third_party(corpus: Corpus, known: _Known) -> Iterator[Diagnostic]:
    """The exchange examples pass the server in the room's checks (the
    identity server vouching for its published keys) and yield an invite the
    examples show; the onbind proofs verify with the room's third-party
    invite keys; store-invite answers are what the identity server computes."""
    templates = {_EXCHANGE: "exchange", _ONBIND: "onbind", _STORE_INVITE: "store"}
    for kind, examples in _operation_examples(corpus, templates):
        for example in examples:
            if example.status == "" and kind == "exchange":
                yield from _check_exchange(example, known)
            elif example.status == "" and kind == "onbind":
                yield from _check_onbind(example, known)
            elif example.status == "200" and kind == "store":
                requests = [e.value for e in examples if e.status == ""]
                yield from _check_store_invite(example, requests)


def _check_exchange(example: _Example, known: _Known) -> Iterator[Diagnostic]:
    body = example.value
    room_id = body.get("room_id") if isinstance(body, Mapping) else None
    state = _room_state(known, room_id)
    try:
        queries = key_validity_requests(str(room_id), body, state)
        fields = handle_exchange_third_party_invite(str(room_id), body, state, {q.url: _identity_answer(q) for q in queries})
    except MatrixError as exc:
        yield example.doc.diagnostic(example.pointer, "verify.flow", Severity.ERROR,
                                     f"the server in the room refuses this exchange: {_refusal_text(exc)}")
        return
    if not any(e.type == "m.room.member" and e.state_key == fields["state_key"] and dict(e.content) == fields["content"]
               for e in known.events.values() if e.room_id == room_id):
        yield example.doc.diagnostic(example.pointer, "verify.flow", Severity.ERROR,
                                     "no invite event of the examples is the one this exchange produces")


def _check_onbind(example: _Example, known: _Known) -> Iterator[Diagnostic]:
    body = example.value
    try:
        bound = handle_onbind(body, our_server_name=_server(body.get("mxid") if isinstance(body, Mapping) else None) or "")
        keys = {query: _published_key(query.server_name, query.key_id) for query in identity_key_requests(bound)}
    except MatrixError as exc:
        yield example.doc.diagnostic(example.pointer, "verify.flow", Severity.ERROR,
                                     f"the invitee's server refuses this onbind call: {_refusal_text(exc)}")
        return
    for index, invite in enumerate(bound):
        try:
            check_bound_invites((invite,), keys)
        except MatrixError as exc:
            yield example.doc.diagnostic(join_pointer(example.pointer, "invites", index, "signed"), "verify.flow",
                                         Severity.ERROR, "the invitee's server refuses this proof (it checks it with "
                                         f"the identity server's published key): {_refusal_text(exc)}")
            continue
        third_party = _room_state(known, invite.room_id).lookup("m.room.third_party_invite", str(invite.signed.get("token")))
        if third_party is None or not verify_signed(invite.signed, third_party.content):
            yield example.doc.diagnostic(join_pointer(example.pointer, "invites", index, "signed"), "verify.flow", Severity.ERROR,
                                         "no third-party invite of the examples has this token and a key that verifies the proof")


def _published_key(server_name: str, key_id: str) -> str | None:
    key = PUBLISHED_KEYS.get(server_name)
    return key.verify_key.public_base64 if key is not None and key.key_id == key_id else None


def _check_store_invite(example: _Example, requests: list[Any]) -> Iterator[Diagnostic]:
    answer = example.value
    keys = answer.get("public_keys") if isinstance(answer, Mapping) else None
    first = keys[0].get("key_validity_url") if isinstance(keys, list) and keys and isinstance(keys[0], Mapping) else None
    base = str(first).split("/_matrix/", 1)[0]
    computed = []
    for body in requests:
        try:
            _, computed_answer = store_invite(body, base_url=base, long_term_key=PUBLISHED_KEYS["id.example.org"],
                                              ephemeral_key=EPHEMERAL_KEY, token=str(answer.get("token")))
        except MatrixError:
            continue
        computed.append({k: computed_answer[k] for k in _STORE_ANSWER_FIELDS})
    if {k: answer.get(k) for k in _STORE_ANSWER_FIELDS} not in computed:
        yield example.doc.diagnostic(example.pointer, "verify.flow", Severity.ERROR,
                                     "not the token, keys and display name the identity server answers to a request "
                                     "example (its published long-term key, then the ephemeral test key; the "
                                     "address obscured as it obscures it)")


#: The fields of a store-invite answer that follow from the request and the keys.
_STORE_ANSWER_FIELDS = ("token", "public_keys", "display_name")


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
    yield from _check_invites(corpus)
    yield from _check_third_party(corpus, known)


def add_verify_arguments(parser: argparse.ArgumentParser) -> None:
    """``specgen verify`` takes no options of its own."""


def verify_command(corpus: Corpus, args: argparse.Namespace, collector: Collector) -> int | None:
    """``specgen verify``: diagnostics only, never a write."""
    collector.extend(verify_corpus(corpus))
    return None

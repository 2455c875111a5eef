"""Signing events, and checking the hashes and signatures of received events.

Theory of operation (``specification/server-server-api.rst``, "Signing
events" and "Checks performed on receipt of a PDU"):

Signing: set the content hash first, then sign the *redacted* event, and
put that signature on the full event. Signing the redacted form means the
signature still verifies after a redaction; the content hash inside it
still ties the signature to the full content.

Receiving, in the specification's order:

1. Every server that must sign (:func:`required_signatures`) has a valid
   signature over the redacted event, by a key the caller vouches for.
   Otherwise the event is dropped.
2. The content hash matches. Otherwise the event is kept, but only in its
   redacted form.

Keys come in through a narrow callable ``verify_keys(server_name, key_id)``
returning a :class:`~refimpl.keys.VerifyKey` or None; the caller does the
fetching and, for room versions with ``enforce_key_validity``, returns None
for keys whose validity ended before the event's ``origin_server_ts``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from .canonical_json import OBJECT_TYPES, require_object
from .errors import BadJson, RemoteProtocolError
from .event_ids import claimed_event_id
from .events import user_server_name
from .hashing import encode_event, with_content_hash
from .keys import KeyLookup, SigningKey
from .redaction import redact
from .room_versions import EventFormat, RoomVersion
from .signing import SignatureVerdict, sign_json, verify_signed_bytes

__all__ = [
    "sign_event",
    "required_signatures",
    "check_received_event",
    "ReceivedEvent",
]


def sign_event(
    pdu: Mapping[str, Any], room_version: RoomVersion, server_name: str, key: SigningKey
) -> dict[str, Any]:
    """A copy of ``pdu`` with its content hash set and ``server_name``'s signature added.

    Signatures already on the event (other servers', other keys') are kept.

    Raises:
        BadJson: ``pdu`` is not an object, or its ``hashes`` or
            ``signatures`` are malformed.
        CanonicalJsonError: the event cannot be encoded in this room version.
    """
    hashed = with_content_hash(pdu, room_version)
    signed_redacted = sign_json(
        redact(hashed, room_version), server_name, key, strict=room_version.strict_canonical_json
    )
    hashed["signatures"] = signed_redacted["signatures"]
    return hashed


def required_signatures(pdu: Mapping[str, Any], room_version: RoomVersion) -> frozenset[str]:
    """The server names whose signatures a received event must carry.

    The sender's server always; in room versions 1-2 also the server named
    in the event ID; and, from room version 8, for any member event carrying
    ``join_authorised_via_users_server``, the server of that user (the auth
    rules require the event to be validly signed by it, whatever the
    membership).

    Raises:
        BadJson: ``pdu`` is not an object, or the sender, event ID or
            authorising user is malformed.
    """
    require_object(pdu, "an event")
    servers = {user_server_name(pdu.get("sender"), "sender")}
    if room_version.event_format is EventFormat.V1:
        servers.add(claimed_event_id(pdu, room_version).server_name)
    content = pdu.get("content")
    if (
        room_version.restricted_join_rule
        and pdu.get("type") == "m.room.member"
        and isinstance(content, OBJECT_TYPES)
        and "join_authorised_via_users_server" in content
    ):
        servers.add(
            user_server_name(content["join_authorised_via_users_server"], "content.join_authorised_via_users_server")
        )
    return frozenset(servers)


@dataclass(frozen=True)
class ReceivedEvent:
    """What to do with a received PDU.

    ``outcome`` is ``"accept"`` (``pdu`` is the event as received),
    ``"redacted"`` (the content hash did not match: ``pdu`` is the redacted
    form, to be used in its place) or ``"drop"`` (``pdu`` is the event as
    received, to be discarded). ``reason`` says why, for logs and tests.
    """

    outcome: Literal["accept", "redacted", "drop"]
    pdu: Mapping[str, Any]
    reason: str
    #: For a drop caused by a signature: whose signature failed, and the
    #: verdict saying which key and why (so callers can point at it).
    signer: str | None = None
    verdict: SignatureVerdict | None = None


def check_received_event(
    pdu: Mapping[str, Any], room_version: RoomVersion, verify_keys: KeyLookup
) -> ReceivedEvent:
    """Check a received PDU's signatures, then its content hash.

    The event is checked for canonical form and encoded once
    (:func:`~refimpl.hashing.encode_event`); every required server's
    signatures are verified over those same redacted bytes.

    Never raises for anything in ``pdu``: a malformed event is dropped with
    the reason.
    """
    try:
        servers = sorted(required_signatures(pdu, room_version))
        encoded = encode_event(pdu, room_version)
        signatures = pdu.get("signatures", {})
        if not isinstance(signatures, OBJECT_TYPES):
            raise BadJson("'signatures' must be an object")
        for server in servers:
            by_server = signatures.get(server)
            key_ids = by_server if isinstance(by_server, OBJECT_TYPES) else {}
            known = {k: key for k in key_ids if (key := verify_keys(server, k)) is not None}
            verdict = verify_signed_bytes(encoded.redacted_bytes, signatures, server, known)
            if not verdict.ok:
                return ReceivedEvent("drop", pdu, f"signature check failed: {verdict.detail}", server, verdict)
        if not encoded.content_hash_matches:
            return ReceivedEvent("redacted", redact(pdu, room_version), "content hash does not match")
    except RemoteProtocolError as exc:
        return ReceivedEvent("drop", pdu, f"malformed event: {exc.message}")
    return ReceivedEvent("accept", pdu, "signatures and content hash are valid")

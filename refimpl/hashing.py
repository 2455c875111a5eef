"""Content hashes and reference hashes of events.

Theory of operation (``specification/server-server-api.rst``, "Calculating
the content hash for an event" and "Calculating the reference hash for an
event"):

- The *content hash* covers the whole event except ``unsigned``,
  ``signatures`` and ``hashes``. It is stored as ``hashes.sha256`` and
  lets a receiver detect an event whose content was altered after signing;
  such an event is kept only in its redacted form.
- The *reference hash* covers the redacted event without ``signatures`` and
  ``unsigned``. Because the content hash is inside the redacted form, the
  reference hash still commits to the full content. Event IDs from room
  version 3 and room IDs in room version 12 are derived from it.

Both are SHA-256 over canonical JSON, strict where the room version says so.

The bytes the reference hash is taken over are also exactly the bytes an
event signature covers (the redacted event without ``signatures`` and
``unsigned``). :func:`encode_event` therefore checks an event once and
writes both encodings from that one check, which is what a receiving
server needs for every event (content hash, signatures, and from v3 the
event ID).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from .canonical_json import OBJECT_TYPES, _checked_plain, _encode_checked, encode_canonical_json, require_object
from .errors import BadJson
from .redaction import redact
from .room_versions import RoomVersion
from .unpadded_base64 import Base64Error, decode_base64, encode_base64

__all__ = [
    "content_hash",
    "with_content_hash",
    "reference_hash",
    "check_content_hash",
    "EncodedEvent",
    "encode_event",
]

_NOT_IN_CONTENT_HASH = ("unsigned", "signatures", "hashes")
_NOT_IN_REFERENCE_HASH = ("unsigned", "signatures")


def _sha256_without(pdu: Mapping[str, Any], excluded: tuple[str, ...], room_version: RoomVersion) -> bytes:
    remaining = {k: v for k, v in pdu.items() if k not in excluded}
    encoded = encode_canonical_json(remaining, strict=room_version.strict_canonical_json)
    return hashlib.sha256(encoded).digest()


def content_hash(pdu: Mapping[str, Any], room_version: RoomVersion) -> bytes:
    """The SHA-256 content hash of ``pdu`` (32 raw bytes).

    Raises:
        BadJson: ``pdu`` is not an object.
        CanonicalJsonError: ``pdu`` cannot be encoded under the room version.
    """
    return _sha256_without(require_object(pdu, "an event"), _NOT_IN_CONTENT_HASH, room_version)


def with_content_hash(pdu: Mapping[str, Any], room_version: RoomVersion) -> dict[str, Any]:
    """A copy of ``pdu`` with ``hashes.sha256`` set to its content hash.

    Other entries of ``hashes`` are kept.

    Raises:
        BadJson: ``pdu`` or its ``hashes`` is not an object.
        CanonicalJsonError: ``pdu`` cannot be encoded under the room version.
    """
    digest = encode_base64(content_hash(pdu, room_version))
    hashes = pdu.get("hashes", {})
    if not isinstance(hashes, Mapping):
        raise BadJson("'hashes' must be an object")
    return {**pdu, "hashes": {**hashes, "sha256": digest}}


def _claimed_content_hash(pdu: Mapping[str, Any]) -> bytes | None:
    hashes = pdu.get("hashes")
    claimed = hashes.get("sha256") if isinstance(hashes, OBJECT_TYPES) else None
    try:
        return decode_base64(claimed)
    except Base64Error:
        return None


def check_content_hash(pdu: Mapping[str, Any], room_version: RoomVersion) -> bool:
    """Whether ``hashes.sha256`` is present and matches the content.

    Raises:
        BadJson: ``pdu`` is not an object.
        CanonicalJsonError: ``pdu`` cannot be encoded under the room version.
    """
    claimed = _claimed_content_hash(require_object(pdu, "an event"))
    return claimed is not None and claimed == content_hash(pdu, room_version)


@dataclass(frozen=True)
class EncodedEvent:
    """An event's content hash and the canonical bytes of its redacted form.

    ``redacted_bytes`` is what a signature on the event covers and what its
    reference hash is taken over. Build one with :func:`encode_event`.
    """

    content_hash: bytes
    content_hash_matches: bool
    redacted_bytes: bytes

    @cached_property
    def reference_hash(self) -> bytes:
        return hashlib.sha256(self.redacted_bytes).digest()


def encode_event(pdu: Mapping[str, Any], room_version: RoomVersion) -> EncodedEvent:
    """Everything a receiver computes over an event's bytes, from one check.

    The whole event except ``signatures`` and ``unsigned`` is checked for
    canonical form once; that covers the content-hash input and, since
    redaction only drops keys and shares the values it keeps, the redacted
    form too. Equal to :func:`content_hash`, :func:`check_content_hash` and
    :func:`reference_hash` taken separately, except that it refuses an event
    whose unredacted part cannot be encoded even if its redacted form could.

    Raises:
        BadJson: ``pdu`` is not an object.
        CanonicalJsonError: ``pdu`` cannot be encoded under the room version.
    """
    strict = room_version.strict_canonical_json
    covered = _checked_plain(
        {k: v for k, v in require_object(pdu, "an event").items() if k not in _NOT_IN_REFERENCE_HASH}, strict
    )
    content = {k: v for k, v in covered.items() if k != "hashes"}
    digest = hashlib.sha256(_encode_checked(content, strict)).digest()
    return EncodedEvent(
        content_hash=digest,
        content_hash_matches=_claimed_content_hash(covered) == digest,
        redacted_bytes=_encode_checked(redact(covered, room_version), strict),
    )


def reference_hash(pdu: Mapping[str, Any], room_version: RoomVersion) -> bytes:
    """The SHA-256 reference hash of ``pdu`` (32 raw bytes).

    Raises:
        BadJson: ``pdu`` is not an object.
        CanonicalJsonError: the redacted event cannot be encoded.
    """
    return _sha256_without(redact(pdu, room_version), _NOT_IN_REFERENCE_HASH, room_version)

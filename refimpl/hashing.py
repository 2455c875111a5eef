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
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from .canonical_json import encode_canonical_json
from .errors import BadJson
from .redaction import redact
from .room_versions import RoomVersion
from .unpadded_base64 import Base64Error, decode_base64, encode_base64

__all__ = ["content_hash", "with_content_hash", "reference_hash", "check_content_hash"]

_NOT_IN_CONTENT_HASH = ("unsigned", "signatures", "hashes")
_NOT_IN_REFERENCE_HASH = ("unsigned", "signatures")


def _sha256_without(pdu: Mapping[str, Any], excluded: tuple[str, ...], room_version: RoomVersion) -> bytes:
    remaining = {k: v for k, v in pdu.items() if k not in excluded}
    encoded = encode_canonical_json(remaining, strict=room_version.strict_canonical_json)
    return hashlib.sha256(encoded).digest()


def _require_object(pdu: Any) -> Mapping[str, Any]:
    if not isinstance(pdu, Mapping):
        raise BadJson(f"an event must be a JSON object, not {type(pdu).__name__}")
    return pdu


def content_hash(pdu: Mapping[str, Any], room_version: RoomVersion) -> bytes:
    """The SHA-256 content hash of ``pdu`` (32 raw bytes).

    Raises:
        BadJson: ``pdu`` is not an object.
        CanonicalJsonError: ``pdu`` cannot be encoded under the room version.
    """
    return _sha256_without(_require_object(pdu), _NOT_IN_CONTENT_HASH, room_version)


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


def check_content_hash(pdu: Mapping[str, Any], room_version: RoomVersion) -> bool:
    """Whether ``hashes.sha256`` is present and matches the content.

    Raises:
        BadJson: ``pdu`` is not an object.
        CanonicalJsonError: ``pdu`` cannot be encoded under the room version.
    """
    hashes = _require_object(pdu).get("hashes")
    claimed = hashes.get("sha256") if isinstance(hashes, Mapping) else None
    try:
        expected = decode_base64(claimed)
    except Base64Error:
        return False
    return expected == content_hash(pdu, room_version)


def reference_hash(pdu: Mapping[str, Any], room_version: RoomVersion) -> bytes:
    """The SHA-256 reference hash of ``pdu`` (32 raw bytes).

    Raises:
        BadJson: ``pdu`` is not an object.
        CanonicalJsonError: the redacted event cannot be encoded.
    """
    return _sha256_without(redact(pdu, room_version), _NOT_IN_REFERENCE_HASH, room_version)

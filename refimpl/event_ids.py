"""Event IDs, and room IDs derived from the create event.

Theory of operation (``specification/rooms/v1.rst``, ``v3.rst``, ``v4.rst``,
``v12.rst``, "Event IDs" and "Room IDs"):

- Room versions 1 and 2: the origin server picks the ID, ``$opaque:origin``,
  and sends it in the event's ``event_id`` field.
- Room version 3: ``$`` followed by the unpadded standard Base64 of the
  event's reference hash; the ID is not sent with the event.
- Room version 4 onwards: the same with the URL-safe alphabet, so IDs can
  appear in URL paths unescaped.
- Room version 12: the room ID is ``!`` followed by the URL-safe unpadded
  Base64 of the create event's reference hash.

Because the reference hash is over the redacted event, an event keeps its ID
when it is redacted.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .canonical_json import require_object
from .errors import BadJson, InvalidParam, LocalProtocolError
from .hashing import reference_hash
from .identifiers import EventId, parse_event_id
from .room_versions import V12, EventIdFormat, RoomVersion
from .unpadded_base64 import encode_base64

__all__ = ["event_id", "claimed_event_id", "room_id_from_create_event"]


def event_id(pdu: Mapping[str, Any], room_version: RoomVersion) -> str:
    """The ID of ``pdu`` in ``room_version``.

    Raises:
        BadJson: ``pdu`` is not an object, or (v1-v2) lacks a well-formed
            ``event_id``.
        CanonicalJsonError: the redacted event cannot be encoded.
    """
    require_object(pdu, "an event")
    if room_version.event_id_format is EventIdFormat.ORIGIN_ASSIGNED:
        claimed_event_id(pdu, room_version)
        return pdu["event_id"]
    urlsafe = room_version.event_id_format is EventIdFormat.REFERENCE_HASH_URLSAFE
    return "$" + encode_base64(reference_hash(pdu, room_version), urlsafe=urlsafe)


def claimed_event_id(pdu: Mapping[str, Any], room_version: RoomVersion) -> EventId:
    """The ``event_id`` a v1-v2 event carries, parsed (its server must sign).

    Raises:
        BadJson: the field is missing or not an event ID of ``room_version``.
    """
    try:
        return parse_event_id(pdu.get("event_id"), room_version)
    except InvalidParam as exc:
        raise BadJson(f"event_id: {exc.message}") from None


def room_id_from_create_event(
    create_pdu: Mapping[str, Any], room_version: RoomVersion = V12
) -> str:
    """The room ID a create event defines, in room versions that derive it.

    Raises:
        BadJson: ``create_pdu`` is not an ``m.room.create`` event object.
        CanonicalJsonError: the redacted event cannot be encoded.
        LocalProtocolError: ``room_version`` does not derive room IDs.
    """
    if not room_version.room_id_from_create_event:
        raise LocalProtocolError(
            f"room version {room_version.identifier} does not derive room IDs from create events"
        )
    if not isinstance(create_pdu, Mapping) or create_pdu.get("type") != "m.room.create":
        raise BadJson("only an m.room.create event defines a room ID")
    return "!" + encode_base64(reference_hash(create_pdu, room_version), urlsafe=True)

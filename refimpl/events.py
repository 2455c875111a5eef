"""Events (PDUs): a frozen model over the wire form, and a builder.

Theory of operation (``specification/server-server-api.rst``, "PDUs";
``specification/rooms/v1.rst`` and ``v3.rst``, "Event format"): a PDU is a
JSON object whose shape depends on the room version's event format.

- Format 1 (room versions 1-2): the event carries its own ``event_id``;
  ``prev_events`` and ``auth_events`` are ``[event_id, {"sha256": hash}]``
  pairs, the hash being the referenced event's reference hash.
- Format 2 (room version 3 on): no ``event_id`` field (the ID is derived
  from the reference hash); references are bare event IDs.
- Room version 12: the ``m.room.create`` event has no ``room_id``; its room
  ID is derived from its reference hash.

:class:`Event` keeps the PDU exactly as received, since hashes and
signatures are over those bytes, and offers typed accessors. Two Events are
equal when their room version and event ID are.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from types import MappingProxyType
from typing import Any, Union

from .canonical_json import require_object
from .errors import BadJson, InvalidParam, LocalProtocolError
from .event_ids import event_id as compute_event_id
from .event_ids import room_id_from_create_event
from .hashing import reference_hash
from .identifiers import parse_user_id
from .room_versions import EventFormat, RoomVersion
from .unpadded_base64 import encode_base64

__all__ = ["Event", "EventReference", "build_pdu", "user_server_name"]

_EMPTY: Mapping[str, Any] = MappingProxyType({})


def _is_str(value: Any) -> bool:
    return isinstance(value, str)


def _is_object(value: Any) -> bool:
    return isinstance(value, Mapping)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_pair_list(value: Any) -> bool:
    return isinstance(value, (list, tuple)) and all(
        isinstance(item, (list, tuple))
        and len(item) == 2
        and isinstance(item[0], str)
        and isinstance(item[1], Mapping)
        for item in value
    )


def _is_id_list(value: Any) -> bool:
    return isinstance(value, (list, tuple)) and all(isinstance(item, str) for item in value)


_Check = Callable[[Any], bool]

_COMMON_REQUIRED: Mapping[str, tuple[_Check, str]] = MappingProxyType(
    {
        "type": (_is_str, "a string"),
        "sender": (_is_str, "a string"),
        "content": (_is_object, "an object"),
        "origin_server_ts": (_is_int, "an integer"),
        "depth": (_is_int, "an integer"),
    }
)
_REFERENCES: Mapping[EventFormat, tuple[_Check, str]] = MappingProxyType(
    {
        EventFormat.V1: (_is_pair_list, "a list of [event_id, {hashes}] pairs"),
        EventFormat.V2: (_is_id_list, "a list of event IDs"),
    }
)
_OPTIONAL: Mapping[str, tuple[_Check, str]] = MappingProxyType(
    {
        "state_key": (_is_str, "a string"),
        "hashes": (_is_object, "an object"),
        "signatures": (_is_object, "an object"),
        "unsigned": (_is_object, "an object"),
        "redacts": (_is_str, "a string"),
        "origin": (_is_str, "a string"),
    }
)


def _room_id_is_derived(pdu: Mapping[str, Any], room_version: RoomVersion) -> bool:
    return room_version.room_id_from_create_event and pdu.get("type") == "m.room.create"


def user_server_name(value: Any, field: str) -> str:
    """The server name of the user ID an event holds at ``field``.

    Raises:
        BadJson: ``value`` is not a user ID (the event is malformed), the
            message naming ``field``.
    """
    try:
        return parse_user_id(value).server_name
    except InvalidParam as exc:
        raise BadJson(f"{field}: {exc.message}") from None


def _check_format(pdu: Any, room_version: RoomVersion) -> None:
    """Raise BadJson naming the first field that breaks the event format."""
    require_object(pdu, "an event")
    references = _REFERENCES[room_version.event_format]
    required = {**_COMMON_REQUIRED, "prev_events": references, "auth_events": references}
    if not _room_id_is_derived(pdu, room_version):
        required["room_id"] = (_is_str, "a string")
    elif "room_id" in pdu:
        raise BadJson(
            f"an m.room.create event in room version {room_version.identifier} has no room_id"
        )
    for name, (check, expected) in required.items():
        if name not in pdu:
            raise BadJson(f"event is missing required field {name!r}", field=name)
        if not check(pdu[name]):
            raise BadJson(f"event field {name!r} must be {expected}", field=name)
    for name, (check, expected) in _OPTIONAL.items():
        if name in pdu and not check(pdu[name]):
            raise BadJson(f"event field {name!r} must be {expected}", field=name)
    if pdu["depth"] < 0:
        raise BadJson("event field 'depth' must not be negative", field="depth")
    user_server_name(pdu["sender"], "sender")


@dataclass(frozen=True, repr=False)
class Event:
    """A PDU together with its room version and event ID.

    Build one with :meth:`from_pdu`, which checks the format and computes
    the ID; ``pdu`` is held read-only and never modified.
    """

    room_version: RoomVersion
    pdu: Mapping[str, Any] = field(compare=False, repr=False)
    event_id: str

    @classmethod
    def from_pdu(cls, pdu: Mapping[str, Any], room_version: RoomVersion) -> Event:
        """Check ``pdu`` against the room version's event format and wrap it.

        Raises:
            BadJson: a required field is missing or ill-typed, the sender is
                not a user ID, or (v1-v2) the event ID is malformed.
            CanonicalJsonError: the event cannot be encoded (for instance a
                float in a room version with strict canonical JSON).
        """
        _check_format(pdu, room_version)
        frozen = MappingProxyType(dict(pdu))
        return cls(room_version, frozen, compute_event_id(frozen, room_version))

    def __repr__(self) -> str:
        return f"Event(v{self.room_version.identifier}, {self.event_id!r}, type={self.type!r})"

    @property
    def type(self) -> str:
        return self.pdu["type"]

    @property
    def state_key(self) -> str | None:
        return self.pdu.get("state_key")

    @property
    def is_state(self) -> bool:
        return "state_key" in self.pdu

    @property
    def sender(self) -> str:
        return self.pdu["sender"]

    @property
    def content(self) -> Mapping[str, Any]:
        return self.pdu.get("content", _EMPTY)

    @cached_property
    def room_id(self) -> str:
        if _room_id_is_derived(self.pdu, self.room_version):
            return room_id_from_create_event(self.pdu, self.room_version)
        return self.pdu["room_id"]

    @property
    def origin_server_ts(self) -> int:
        return self.pdu["origin_server_ts"]

    @property
    def depth(self) -> int:
        return self.pdu["depth"]

    def _reference_ids(self, name: str) -> tuple[str, ...]:
        refs = self.pdu.get(name, ())
        if self.room_version.event_format is EventFormat.V1:
            return tuple(ref[0] for ref in refs)
        return tuple(refs)

    @property
    def auth_event_ids(self) -> tuple[str, ...]:
        return self._reference_ids("auth_events")

    @property
    def prev_event_ids(self) -> tuple[str, ...]:
        return self._reference_ids("prev_events")

    @property
    def redacts(self) -> str | None:
        """The redacted event's ID, wherever this room version puts it."""
        if self.type != "m.room.redaction":
            return None
        source = self.content if self.room_version.redacts_in_content else self.pdu
        value = source.get("redacts")
        return value if isinstance(value, str) else None


#: How :func:`build_pdu` accepts a reference to another event: an
#: :class:`Event`, or for format 2 its event ID, or for format 1 a pair
#: ``(event_id, sha256)`` with the referenced event's reference hash in
#: unpadded base64.
EventReference = Union[Event, str, tuple[str, str]]


def _reference(ref: EventReference, room_version: RoomVersion) -> Any:
    if room_version.event_format is EventFormat.V2:
        if isinstance(ref, Event):
            return ref.event_id
        if isinstance(ref, str):
            return ref
        raise LocalProtocolError(f"room version {room_version.identifier} references events by ID, got {ref!r}")
    if isinstance(ref, Event):
        digest = encode_base64(reference_hash(ref.pdu, ref.room_version))
        return [ref.event_id, {"sha256": digest}]
    if isinstance(ref, tuple) and len(ref) == 2 and all(isinstance(x, str) for x in ref):
        return [ref[0], {"sha256": ref[1]}]
    raise LocalProtocolError(
        f"room version {room_version.identifier} references events as Event or (event_id, sha256), got {ref!r}"
    )


def build_pdu(
    room_version: RoomVersion,
    *,
    type: str,
    sender: str,
    content: Mapping[str, Any],
    origin_server_ts: int,
    room_id: str | None = None,
    state_key: str | None = None,
    prev_events: Sequence[EventReference] = (),
    auth_events: Sequence[EventReference] = (),
    depth: int = 1,
    redacts: str | None = None,
    event_id: str | None = None,
    origin: str | None = None,
    unsigned: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """A new PDU in ``room_version``'s format, not yet hashed or signed.

    ``redacts`` goes to the top level or into ``content`` as the room
    version says. ``event_id`` is required in room versions 1-2 and refused
    after; ``room_id`` is refused for a v12 create event and required
    otherwise. ``origin`` is only written when given.

    Raises:
        LocalProtocolError: the arguments do not fit the room version.
    """
    pdu: dict[str, Any] = {
        "type": type,
        "sender": sender,
        "content": dict(content),
        "origin_server_ts": origin_server_ts,
        "depth": depth,
        "prev_events": [_reference(ref, room_version) for ref in prev_events],
        "auth_events": [_reference(ref, room_version) for ref in auth_events],
    }
    derived = _room_id_is_derived(pdu, room_version)
    if (room_id is None) != derived:
        need = "must not be given" if derived else "is required"
        raise LocalProtocolError(f"room_id {need} for {type} in room version {room_version.identifier}")
    if room_id is not None:
        pdu["room_id"] = room_id
    if (event_id is None) == (room_version.event_format is EventFormat.V1):
        need = "is required" if event_id is None else "must not be given"
        raise LocalProtocolError(f"event_id {need} in room version {room_version.identifier}")
    if event_id is not None:
        pdu["event_id"] = event_id
    if state_key is not None:
        pdu["state_key"] = state_key
    if redacts is not None:
        if room_version.redacts_in_content:
            pdu["content"]["redacts"] = redacts
        else:
            pdu["redacts"] = redacts
    if origin is not None:
        pdu["origin"] = origin
    if unsigned is not None:
        pdu["unsigned"] = dict(unsigned)
    return pdu

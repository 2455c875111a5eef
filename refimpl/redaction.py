"""The redaction algorithm, for every room version.

Theory of operation (``specification/rooms/v1.rst`` .. ``v12.rst``,
"Redactions"): redacting an event keeps only the top-level keys the
protocol needs to authorise and link it, and, inside ``content``, only the
keys that drive the authorization rules of a few state event types.
Everything else, ``unsigned`` included, is dropped. The redacted form is
what servers sign and what the reference hash (and so the event ID from
room version 3) is taken over, so it must be computed identically
everywhere.

Which keys survive is decided by the ``redaction_*`` flags of
:class:`~refimpl.room_versions.RoomVersion` and nothing else; the tables
below are assembled from those flags once per room version.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from .canonical_json import OBJECT_TYPES, require_object
from .room_versions import RoomVersion

__all__ = ["redact", "kept_top_level_keys", "kept_content_keys"]

_ALWAYS_KEPT = frozenset(
    {
        "event_id",
        "type",
        "room_id",
        "sender",
        "state_key",
        "content",
        "hashes",
        "signatures",
        "depth",
        "prev_events",
        "auth_events",
        "origin_server_ts",
    }
)


def kept_top_level_keys(room_version: RoomVersion) -> frozenset[str]:
    """The top-level keys a redacted event of this room version keeps."""
    if room_version.redaction_keeps_origin_membership_prev_state:
        return _ALWAYS_KEPT | {"origin", "membership", "prev_state"}
    return _ALWAYS_KEPT


def kept_content_keys(room_version: RoomVersion) -> Mapping[str, frozenset[str]]:
    """Event type -> the content keys it keeps, in this room version.

    ``m.room.create`` from v11 (keeps everything) and the nested
    ``third_party_invite.signed`` of ``m.room.member`` from v11 are handled
    by :func:`redact` itself, since they are not plain top-level keys.
    """
    rv = room_version
    member = {"membership"}
    if rv.redaction_keeps_join_authorised_via:
        member.add("join_authorised_via_users_server")
    join_rules = {"join_rule"} | ({"allow"} if rv.redaction_keeps_join_rules_allow else set())
    power_levels = {"ban", "events", "events_default", "kick", "redact", "state_default", "users", "users_default"}
    if rv.redaction_keeps_power_levels_invite:
        power_levels.add("invite")
    table: dict[str, set[str]] = {
        "m.room.member": member,
        "m.room.join_rules": join_rules,
        "m.room.power_levels": power_levels,
        "m.room.history_visibility": {"history_visibility"},
    }
    if not rv.redaction_keeps_all_create_content:
        table["m.room.create"] = {"creator"}
    if rv.redaction_keeps_aliases:
        table["m.room.aliases"] = {"aliases"}
    if rv.redaction_keeps_redacts:
        table["m.room.redaction"] = {"redacts"}
    return MappingProxyType({event_type: frozenset(keys) for event_type, keys in table.items()})


#: identifier -> (room version, top-level keys, content keys). Looked up by
#: identifier and checked by identity, because hashing a RoomVersion (two
#: dozen fields) would cost more than the redaction itself.
_TABLES: dict[str, tuple[RoomVersion, frozenset[str], Mapping[str, frozenset[str]]]] = {}


def _tables(room_version: RoomVersion) -> tuple[frozenset[str], Mapping[str, frozenset[str]]]:
    cached = _TABLES.get(room_version.identifier)
    if cached is None or cached[0] is not room_version:
        cached = (room_version, kept_top_level_keys(room_version), kept_content_keys(room_version))
        _TABLES[room_version.identifier] = cached
    return cached[1], cached[2]


def _redacted_content(event_type: Any, content: Any, room_version: RoomVersion) -> dict[str, Any]:
    # A malformed event's "type" may be any JSON value; only strings name a
    # type with kept content keys (and only strings can be looked up).
    if not isinstance(content, OBJECT_TYPES) or not isinstance(event_type, str):
        return {}
    if event_type == "m.room.create" and room_version.redaction_keeps_all_create_content:
        return dict(content)
    kept = _tables(room_version)[1].get(event_type, frozenset())
    result = {k: v for k, v in content.items() if k in kept}
    if event_type == "m.room.member" and room_version.redaction_keeps_third_party_invite_signed:
        invite = content.get("third_party_invite")
        if isinstance(invite, OBJECT_TYPES) and "signed" in invite:
            result["third_party_invite"] = {"signed": invite["signed"]}
    return result


def redact(pdu: Mapping[str, Any], room_version: RoomVersion) -> dict[str, Any]:
    """The redacted form of ``pdu`` under ``room_version``'s rules.

    Returns a new dict and leaves ``pdu`` alone; kept values are shared,
    not copied. Redacting a redacted event changes nothing.

    Raises:
        BadJson: ``pdu`` is not a JSON object.
    """
    require_object(pdu, "an event")
    kept = _tables(room_version)[0]
    result = {k: v for k, v in pdu.items() if k in kept}
    result["content"] = _redacted_content(pdu.get("type"), pdu.get("content"), room_version)
    return result

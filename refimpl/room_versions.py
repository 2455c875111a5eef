"""Room versions 1 to 12 as one declarative table of deltas.

Theory of operation: every behaviour that differs between room versions is a
flag on :class:`RoomVersion`. Each version is written as the previous one
plus what changed, so the table reads like the changelog of the room-version
pages (``specification/rooms/v<N>.rst``). Code branches on flags
(``if rules.knocking:``), never on version strings, so a new room version is
one ``replace(...)`` line plus the flags it introduces.

Proposals that are not part of the stable protocol are kept apart in
:data:`UNSTABLE_FEATURES` and are never switched on by a stable version.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace
from types import MappingProxyType
from typing import Mapping

from .errors import UnsupportedRoomVersion

__all__ = [
    "EventFormat",
    "EventIdFormat",
    "StateResolution",
    "RoomVersion",
    "UnstableFeature",
    "ROOM_VERSIONS",
    "UNSTABLE_FEATURES",
    "INVITE_V3",
    "room_version",
    "V1", "V2", "V3", "V4", "V5", "V6", "V7", "V8", "V9", "V10", "V11", "V12",
]


class EventFormat(enum.Enum):
    """Shape of a PDU on the wire."""

    #: v1-v2: the event carries ``event_id``; ``prev_events`` and
    #: ``auth_events`` are ``[event_id, {"sha256": ...}]`` pairs.
    V1 = 1
    #: v3 and later: no ``event_id`` field; references are bare event IDs
    #: derived from the reference hash.
    V2 = 2


class EventIdFormat(enum.Enum):
    #: ``$opaque:origin``, chosen by the origin server (v1-v2).
    ORIGIN_ASSIGNED = "origin"
    #: ``$`` + unpadded standard base64 of the reference hash (v3).
    REFERENCE_HASH_STANDARD = "base64"
    #: ``$`` + unpadded URL-safe base64 of the reference hash (v4 and later).
    REFERENCE_HASH_URLSAFE = "urlsafe"


class StateResolution(enum.Enum):
    V1 = "v1"
    V2 = "v2"
    #: v12: the create event and the unconflicted state seed the resolution.
    V2_1 = "v2.1"


@dataclass(frozen=True)
class RoomVersion:
    """The rules one room version follows. Every flag names where it began."""

    identifier: str
    stable: bool = True

    # -- Event format (specification/rooms/v1.rst, v3.rst, v4.rst) --
    event_format: EventFormat = EventFormat.V1
    event_id_format: EventIdFormat = EventIdFormat.ORIGIN_ASSIGNED
    state_resolution: StateResolution = StateResolution.V1

    # -- Signing keys (v5: "Signing key validity period") --
    #: A signature only counts if the key's ``valid_until_ts`` is not before
    #: the event's ``origin_server_ts``.
    enforce_key_validity: bool = False

    # -- Canonical JSON (v6: "Canonical JSON") --
    #: Values must be integers within [-(2**53)+1, 2**53-1]; floats and
    #: out-of-range numbers make the event invalid.
    strict_canonical_json: bool = False

    # -- Authorization rules --
    #: v1-v2: a redaction is allowed when the redacted and redacting events'
    #: IDs share a domain (event IDs carry no domain from v3).
    redaction_auth_checks_event_domain: bool = True
    #: v1-v5: ``m.room.aliases`` has its own rule (state key must be the
    #: sender's domain) and skips the later rules.
    special_case_aliases_auth: bool = True
    #: v6: changes to ``notifications`` in power levels are checked like the
    #: other power levels.
    limit_notifications_power_levels: bool = False
    #: v7: the ``knock`` membership and join rule.
    knocking: bool = False
    #: v8: the ``restricted`` join rule with ``allow`` conditions and
    #: ``join_authorised_via_users_server``.
    restricted_join_rule: bool = False
    #: v10: the ``knock_restricted`` join rule.
    knock_restricted_join_rule: bool = False
    #: v10: power-level values must be JSON integers (strings rejected).
    integer_power_levels: bool = False
    #: v11: the creator is the create event's ``sender``; ``content.creator``
    #: is neither required nor used.
    implicit_room_creator: bool = False
    #: v11: ``redacts`` moves from the top level of a redaction into its
    #: ``content``.
    redacts_in_content: bool = False
    #: v12: the create event's sender and ``content.additional_creators``
    #: are creators with power above every power level; they may not appear
    #: in ``users`` of ``m.room.power_levels``.
    privileged_creators: bool = False
    #: v12: the room ID is ``!`` + URL-safe base64 of the create event's
    #: reference hash; the create event carries no ``room_id`` and is not
    #: listed in any event's ``auth_events`` (it is implied by the room ID).
    room_id_from_create_event: bool = False

    # -- Redaction algorithm (specification/rooms/*, "Redactions") --
    #: v1-v10: ``origin``, ``membership`` and ``prev_state`` survive redaction.
    redaction_keeps_origin_membership_prev_state: bool = True
    #: v1-v5: ``m.room.aliases`` keeps ``aliases``.
    redaction_keeps_aliases: bool = True
    #: v8: ``m.room.join_rules`` keeps ``allow``.
    redaction_keeps_join_rules_allow: bool = False
    #: v9: ``m.room.member`` keeps ``join_authorised_via_users_server``.
    redaction_keeps_join_authorised_via: bool = False
    #: v11: ``m.room.create`` keeps all of its content.
    redaction_keeps_all_create_content: bool = False
    #: v11: ``m.room.power_levels`` keeps ``invite``.
    redaction_keeps_power_levels_invite: bool = False
    #: v11: ``m.room.redaction`` keeps ``content.redacts``.
    redaction_keeps_redacts: bool = False
    #: v11: ``m.room.member`` keeps ``third_party_invite.signed``.
    redaction_keeps_third_party_invite_signed: bool = False

    @property
    def event_ids_are_hashes(self) -> bool:
        return self.event_id_format is not EventIdFormat.ORIGIN_ASSIGNED

    @property
    def create_event_in_auth_events(self) -> bool:
        return not self.room_id_from_create_event


V1 = RoomVersion("1")
V2 = replace(V1, identifier="2", state_resolution=StateResolution.V2)
V3 = replace(
    V2,
    identifier="3",
    event_format=EventFormat.V2,
    event_id_format=EventIdFormat.REFERENCE_HASH_STANDARD,
    redaction_auth_checks_event_domain=False,
)
V4 = replace(V3, identifier="4", event_id_format=EventIdFormat.REFERENCE_HASH_URLSAFE)
V5 = replace(V4, identifier="5", enforce_key_validity=True)
V6 = replace(
    V5,
    identifier="6",
    special_case_aliases_auth=False,
    limit_notifications_power_levels=True,
    strict_canonical_json=True,
    redaction_keeps_aliases=False,
)
V7 = replace(V6, identifier="7", knocking=True)
V8 = replace(V7, identifier="8", restricted_join_rule=True, redaction_keeps_join_rules_allow=True)
V9 = replace(V8, identifier="9", redaction_keeps_join_authorised_via=True)
V10 = replace(V9, identifier="10", knock_restricted_join_rule=True, integer_power_levels=True)
V11 = replace(
    V10,
    identifier="11",
    implicit_room_creator=True,
    redacts_in_content=True,
    redaction_keeps_origin_membership_prev_state=False,
    redaction_keeps_all_create_content=True,
    redaction_keeps_power_levels_invite=True,
    redaction_keeps_redacts=True,
    redaction_keeps_third_party_invite_signed=True,
)
V12 = replace(
    V11,
    identifier="12",
    state_resolution=StateResolution.V2_1,
    privileged_creators=True,
    room_id_from_create_event=True,
)

ROOM_VERSIONS: Mapping[str, RoomVersion] = MappingProxyType(
    {v.identifier: v for v in (V1, V2, V3, V4, V5, V6, V7, V8, V9, V10, V11, V12)}
)


@dataclass(frozen=True)
class UnstableFeature:
    """A proposal implemented ahead of the stable protocol."""

    name: str
    proposal: str
    unstable_prefix: str
    description: str
    #: The stable room versions the proposal may be used with.
    applies_to: frozenset[str]


#: Remote invites that carry the room's create event
#: (``PUT /_matrix/federation/v3/invite/{roomId}``). The endpoint drops the
#: event ID from the path, so it only makes sense where event IDs are hashes.
INVITE_V3 = UnstableFeature(
    name="invite_v3",
    proposal="MSC0000",
    unstable_prefix="/_matrix/federation/unstable/org.matrix.msc0000",
    description="invite carrying the m.room.create event in a 'state' array",
    applies_to=frozenset(k for k, v in ROOM_VERSIONS.items() if v.event_ids_are_hashes),
)

UNSTABLE_FEATURES: Mapping[str, UnstableFeature] = MappingProxyType({INVITE_V3.name: INVITE_V3})


def room_version(identifier: str) -> RoomVersion:
    """Look up a room version by its identifier.

    Raises:
        UnsupportedRoomVersion: the identifier is not a known room version.
    """
    try:
        return ROOM_VERSIONS[identifier]
    except (KeyError, TypeError):
        raise UnsupportedRoomVersion(f"unsupported room version {identifier!r}") from None

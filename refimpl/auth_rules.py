"""Authorization rules for room versions 1 to 12.

Theory of operation (``specification/server-server-api.rst``, "Authorization
rules", and ``specification/rooms/v<N>.rst``; our own decisions where the
spec is silent are in ``specification/rooms/auth-decisions.rst``):

1. *Ask first.* :func:`auth_event_keys` says which ``(type, state_key)``
   entries an event must cite; the caller looks them up.
2. *Checks on receipt* (:func:`check_on_receipt`) do not depend on room
   state: the PDU has the room version's format, carries valid signatures of
   every required server (keys passed in as data), and its content hash
   either matches or the event is replaced by its redacted form.
3. *State-dependent rules* (:func:`authorize`) run in the spec's order, one
   branch per rule, each naming the versions it applies to. They branch only
   on :class:`~refimpl.room_versions.RoomVersion` flags. When a way to fetch
   the cited auth events is given, the cited events are checked too and the
   rules are run against them as well as against the state before the event.

Every verdict is a value: :data:`Allowed` or :class:`Rejected`, whose
``rule`` is a key of :data:`RULES`, so callers and tests reason about rule
IDs rather than messages.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Callable, Container, Iterable, Mapping

from .errors import Errcode, InvalidParam, LocalProtocolError, MatrixError
from .events import Event
from .event_signing import check_received_event
from .identifiers import parse_user_id
from .keys import ED25519, KeyLookup, VerifyKey
from .room_versions import ROOM_VERSIONS, RoomVersion
from .signing import signed_bytes, verify_signed_bytes
from .state import RoomState
from .unpadded_base64 import Base64Error, decode_base64

__all__ = [
    "RULES",
    "Allowed",
    "Rejected",
    "Verdict",
    "auth_event_keys",
    "check_on_receipt",
    "check_auth_events",
    "authorize",
    "authorize_history",
    "signed_by_any",
    "third_party_invite_keys",
]

#: Rule ID -> what the rule forbids. Every :class:`Rejected` names one.
RULES: Mapping[str, str] = MappingProxyType(
    {
        # Checks on receipt.
        "receipt.format": "the PDU does not have the room version's event format",
        "receipt.signatures": "a required server's signature is missing or does not verify",
        # m.room.create.
        "create.prev_events": "a create event must not have previous events",
        "create.room_id_domain": "the create event's room ID domain must be the sender's (v1-v11)",
        "create.unknown_room_version": "content.room_version must be a known room version",
        "create.creator_missing": "the create event's content must have a creator (v1-v10)",
        "create.additional_creators_invalid": "additional_creators must be a list of user IDs (v12)",
        # The room and the cited auth events.
        "create.missing": "no create event is in the room state",
        "room_id.mismatch": "the event's room ID is not the room's (v12: derived from the create event)",
        "room_id.create_rejected": "the room ID names a create event that was rejected (v12)",
        "auth_events.unknown": "a cited auth event is not known",
        "auth_events.duplicate": "two cited auth events share a type and state key",
        "auth_events.create_cited": "the create event must not be cited; the room ID implies it (v12)",
        "auth_events.unexpected": "a cited auth event is not one the selection algorithm asks for",
        "auth_events.rejected": "a cited auth event was itself rejected",
        "auth_events.missing_create": "the create event is not among the cited auth events (v1-v11)",
        "auth_events.wrong_create": "the cited create event is not the room's",
        "auth_events.room_mismatch": "a cited auth event belongs to another room",
        # m.federate.
        "federate.disallowed": "the room does not federate and the sender is on another server",
        # m.room.aliases (v1-v5).
        "aliases.no_state_key": "an aliases event must have a state key (v1-v5)",
        "aliases.domain_mismatch": "an aliases event's state key must be the sender's domain (v1-v5)",
        # m.room.member.
        "member.malformed": "a member event needs a state key and content.membership",
        "member.join_authorised_via.invalid": "join_authorised_via_users_server must be a user ID (v8+)",
        "member.join_authorised_via.unsigned": "the authorising user's server has not signed the event (v8+)",
        "member.join.sender_mismatch": "only the user themself can join",
        "member.join.banned": "a banned user cannot join",
        "member.join.not_invited": "the join rule requires an invite (or an accepted knock)",
        "member.join.no_authoriser": "a restricted join needs an authorising user (v8+)",
        "member.join.authoriser_not_joined": "the authorising user is not in the room (v8+)",
        "member.join.authoriser_power": "the authorising user may not invite (v8+)",
        "member.join.not_allowed": "the join rule does not let this user join",
        "member.third_party_invite.target_banned": "a banned user cannot be invited",
        "member.third_party_invite.no_signed": "third_party_invite has no signed object",
        "member.third_party_invite.signed_incomplete": "the signed object lacks mxid or token",
        "member.third_party_invite.mxid_mismatch": "signed.mxid is not the invited user",
        "member.third_party_invite.no_invite_event": "no third-party invite event matches the token",
        "member.third_party_invite.sender_mismatch": "only the third-party inviter can redeem the invite",
        "member.third_party_invite.bad_signature": "no signature in signed verifies with the invite's keys",
        "member.invite.sender_not_joined": "only a joined user can invite",
        "member.invite.target_joined_or_banned": "a joined or banned user cannot be invited",
        "member.invite.insufficient_power": "the sender's power is below the invite level",
        "member.leave.not_member": "a user can only leave after an invite, a join or a knock",
        "member.leave.sender_not_joined": "only a joined user can kick or unban",
        "member.leave.unban_insufficient_power": "the sender's power is below the ban level for an unban",
        "member.leave.kick_insufficient_power": "the sender cannot kick this user",
        "member.ban.sender_not_joined": "only a joined user can ban",
        "member.ban.insufficient_power": "the sender cannot ban this user",
        "member.knock.join_rule": "the join rule does not allow knocking (v7+)",
        "member.knock.sender_mismatch": "only the user themself can knock (v7+)",
        "member.knock.already_present": "a banned, invited or joined user cannot knock (v7+)",
        "member.unknown_membership": "the membership is not one the room version knows",
        # The remaining rules.
        "sender.not_joined": "the sender is not joined to the room",
        "third_party_invite.insufficient_power": "the sender's power is below the invite level",
        "event.insufficient_power": "the sender's power is below the level the event type needs",
        "state_key.user_owned": "a state key starting with '@' must be the sender",
        "power_levels.not_integer": "a top-level power level is not an integer (v10+)",
        "power_levels.bad_event_levels": "events or notifications is not an object of integers (v10+)",
        "power_levels.bad_users": "users is not an object from user IDs to integers",
        "power_levels.creator_in_users": "a room creator is listed in users (v12)",
        "power_levels.change_from_above_own": "a changed or removed level is above the sender's",
        "power_levels.raise_above_own": "a new level is above the sender's",
        "power_levels.change_peer": "another user at or above the sender's level is changed",
        "redaction.insufficient_power": "the sender may not redact another server's event (v1-v2)",
    }
)


@dataclass(frozen=True)
class _AllowedType:
    """The verdict of an event every rule lets through (use :data:`Allowed`)."""

    def __bool__(self) -> bool:
        return True

    def __repr__(self) -> str:
        return "Allowed"


Allowed = _AllowedType()


@dataclass(frozen=True)
class Rejected:
    """An event that a named rule refuses."""

    rule: str
    errcode: Errcode = Errcode.M_FORBIDDEN
    message: str = ""

    def __post_init__(self) -> None:
        if self.rule not in RULES:
            raise LocalProtocolError(f"rejection names an unregistered rule {self.rule!r}")

    def __bool__(self) -> bool:
        return False


Verdict = _AllowedType | Rejected

_CREATE = "m.room.create"
_MEMBER = "m.room.member"
_POWER_LEVELS = "m.room.power_levels"
_JOIN_RULES = "m.room.join_rules"
_THIRD_PARTY_INVITE = "m.room.third_party_invite"
_ALIASES = "m.room.aliases"
_REDACTION = "m.room.redaction"

_LEVEL_FIELDS = ("users_default", "events_default", "state_default", "ban", "redact", "kick", "invite")
#: The defaults of an absent field, the same with or without the
#: power-levels event (audited per room version in test_power_level_defaults).
_NAMED_LEVEL_DEFAULTS = {"invite": 0, "kick": 50, "ban": 50, "redact": 50}
_STATE_DEFAULT = 50
_EVENTS_DEFAULT = 0
_USERS_DEFAULT = 0
#: Without a power-levels event: the creators' level (v1-v11); everyone else
#: has _USERS_DEFAULT.
_CREATOR_LEVEL_WITHOUT_EVENT = 100
#: v1-v9 accept integers written as strings: optional surrounding
#: whitespace, one optional sign, then decimal digits (leading zeros allowed).
_STRINGY_INTEGER = re.compile(r"[ \t\n\r]*[+-]?[0-9]+[ \t\n\r]*")


def _reject(rule: str, message: str = "", errcode: Errcode = Errcode.M_FORBIDDEN) -> Rejected:
    return Rejected(rule, errcode, message or RULES[rule])


def _domain(identifier: str) -> str:
    """The server part of a ``@user:server`` / ``!room:server`` / ``$id:server``."""
    return identifier.partition(":")[2]


def _is_user_id(value: Any) -> bool:
    try:
        parse_user_id(value)
    except InvalidParam:
        return False
    return True


# -- Power levels --------------------------------------------------------------


def _as_level(value: Any, rules: RoomVersion) -> int | None:
    """An integer power level, or None when ``value`` is not one."""
    if type(value) is int:
        return value
    if rules.integer_power_levels:
        return None
    # v1-v9: an integer written as a string.
    if type(value) is str and _STRINGY_INTEGER.fullmatch(value):
        return int(value)
    # v1-v5, whose events may hold floats: the level is the float truncated
    # towards zero. (Non-finite numbers never get this far: they have no
    # canonical JSON, so such an event fails the format check on receipt.)
    if type(value) is float and not rules.strict_canonical_json and math.isfinite(value):
        return math.trunc(value)
    return None


def _creators(create: Event, rules: RoomVersion) -> frozenset[str]:
    """The room's creators: the create event's sender (v11+; also its
    additional_creators in v12) or ``content.creator`` (v1-v10)."""
    if not rules.implicit_room_creator:
        creator = create.content.get("creator")
        return frozenset((creator,)) if type(creator) is str else frozenset()
    extra = create.content.get("additional_creators") if rules.privileged_creators else None
    if isinstance(extra, list):
        return frozenset([create.sender, *(u for u in extra if type(u) is str)])
    return frozenset((create.sender,))


class _Levels:
    """Reads power levels from the state before an event, with the spec's
    defaults for a missing event or field."""

    __slots__ = ("rules", "creators", "content", "has_event")

    def __init__(self, state: RoomState, create: Event, rules: RoomVersion) -> None:
        event = state.lookup(_POWER_LEVELS)
        self.rules = rules
        self.creators = _creators(create, rules)
        self.has_event = event is not None
        self.content = event.content if event is not None else {}

    def field(self, name: str, default: int) -> int:
        level = _as_level(self.content.get(name), self.rules)
        return default if level is None else level

    def named(self, name: str) -> int:
        return self.field(name, _NAMED_LEVEL_DEFAULTS[name])

    def user(self, user_id: str) -> float:
        # Since v12, creators stand above every level.
        if self.rules.privileged_creators and user_id in self.creators:
            return math.inf
        if not self.has_event:
            return _CREATOR_LEVEL_WITHOUT_EVENT if user_id in self.creators else _USERS_DEFAULT
        users = self.content.get("users")
        if isinstance(users, dict) and user_id in users:
            level = _as_level(users[user_id], self.rules)
            if level is not None:
                return level
        return self.field("users_default", _USERS_DEFAULT)

    def required(self, event_type: str, is_state: bool) -> int:
        events = self.content.get("events")
        if isinstance(events, dict) and event_type in events:
            level = _as_level(events[event_type], self.rules)
            if level is not None:
                return level
        # Since r0.5.0 (MSC1304) state_default is 50 whether or not the room
        # has a power-levels event; the older 0 let any member take over a
        # room that had none (auth-decisions.rst, "Power-level defaults").
        if is_state:
            return self.field("state_default", _STATE_DEFAULT)
        return self.field("events_default", _EVENTS_DEFAULT)


# -- Auth events selection ------------------------------------------------------


def auth_event_keys(
    event_type: str,
    sender: str,
    state_key: str | None,
    content: Mapping[str, Any],
    room_version: RoomVersion,
) -> tuple[tuple[str, str], ...]:
    """The ``(type, state_key)`` entries of the room state an event must cite.

    The create event cites nothing. Before v12 every other event cites the
    create event; from v12 the room ID stands for it and it must not be cited.
    """
    if event_type == _CREATE:
        return ()
    keys = [(_CREATE, "")] if room_version.create_event_in_auth_events else []
    keys += [(_POWER_LEVELS, ""), (_MEMBER, sender)]
    if event_type == _MEMBER and isinstance(content, Mapping):
        membership = content.get("membership")
        if type(state_key) is str:
            keys.append((_MEMBER, state_key))
        if membership in ("join", "invite", "knock"):
            keys.append((_JOIN_RULES, ""))
        token = _third_party_token(content)
        if membership == "invite" and token is not None:
            keys.append((_THIRD_PARTY_INVITE, token))
        # Since v8, and only for joins (the only membership whose rules read
        # it): the authorising user's membership.
        authoriser = content.get("join_authorised_via_users_server")
        if room_version.restricted_join_rule and membership == "join" and type(authoriser) is str:
            keys.append((_MEMBER, authoriser))
    return tuple(dict.fromkeys(keys))


def _third_party_token(content: Mapping[str, Any]) -> str | None:
    invite = content.get("third_party_invite")
    signed = invite.get("signed") if isinstance(invite, dict) else None
    token = signed.get("token") if isinstance(signed, dict) else None
    return token if type(token) is str else None


# -- Checks on receipt ----------------------------------------------------------


def check_on_receipt(
    pdu: Mapping[str, Any], room_version: RoomVersion, verify_keys: KeyLookup
) -> tuple[Event | None, Verdict]:
    """Format, signatures and content hash, none of which needs room state.

    Returns ``(event, Allowed)`` with the event to authorize next (its
    redacted form when the content hash does not match), or
    ``(None, Rejected)`` when the PDU must be dropped.
    """
    try:
        event = Event.from_pdu(pdu, room_version)
    except MatrixError as exc:
        return None, _reject("receipt.format", exc.message, Errcode.M_BAD_JSON)
    received = check_received_event(pdu, room_version, verify_keys)
    if received.outcome == "drop":
        return None, _reject("receipt.signatures", received.reason)
    if received.outcome == "redacted":
        event = Event.from_pdu(received.pdu, room_version)
    return event, Allowed


def check_auth_events(
    event: Event,
    room_version: RoomVersion,
    create: Event,
    fetch_event: Callable[[str], Event | None],
    rejected: Container[str] = frozenset(),
) -> tuple[Event, ...] | Rejected:
    """The cited auth events, or the rule they break (independent of state).

    ``create`` is the room's create event; ``fetch_event`` resolves an event
    ID to a known event or None.
    """
    cited = []
    for event_id in event.auth_event_ids:
        found = fetch_event(event_id)
        if found is None:
            return _reject("auth_events.unknown", f"cited auth event {event_id} is not known")
        cited.append(found)
    expected = set(auth_event_keys(event.type, event.sender, event.state_key, event.content, room_version))
    seen = set()
    for found in cited:
        key = (found.type, found.state_key)
        # Since v1: no two cited events may share a (type, state_key).
        if key in seen:
            return _reject("auth_events.duplicate", f"{key} is cited twice")
        seen.add(key)
        # Since v12: the room ID implies the create event, so citing it is wrong.
        if found.type == _CREATE and not room_version.create_event_in_auth_events:
            return _reject("auth_events.create_cited")
        # Since v1: only the entries the selection algorithm asks for.
        if key not in expected:
            return _reject("auth_events.unexpected", f"{key} is not an auth event of this event")
        # Since v1: no cited event may itself have been rejected.
        if found.event_id in rejected:
            return _reject("auth_events.rejected", f"{found.event_id} was rejected")
        # Since v1 (spelled out from v12): all cited events belong to this room.
        if found.type != _CREATE and found.room_id != event.room_id:
            return _reject("auth_events.room_mismatch", f"{found.event_id} is in {found.room_id}")
    if room_version.create_event_in_auth_events:
        # v1-v11: the create event must be cited, and it must be the room's.
        cited_create = next((e for e in cited if e.type == _CREATE), None)
        if cited_create is None:
            return _reject("auth_events.missing_create")
        if cited_create.event_id != create.event_id:
            return _reject("auth_events.wrong_create")
    return tuple(cited)


# -- State-dependent rules -------------------------------------------------------


def _authorize_create(event: Event, rules: RoomVersion) -> Verdict:
    content = event.content
    # Since v1: the create event starts the room, so nothing precedes it.
    if event.prev_event_ids:
        return _reject("create.prev_events")
    # v1-v11: the room ID's domain must be the sender's. (v12 create events
    # carry no room ID at all; the event format check refuses one.)
    if not rules.room_id_from_create_event and _domain(event.room_id) != _domain(event.sender):
        return _reject("create.room_id_domain")
    # Since v1: a room_version in content must be one we know.
    if "room_version" in content:
        named = content["room_version"]
        if type(named) is not str or named not in ROOM_VERSIONS:
            return _reject("create.unknown_room_version", f"unknown room version {named!r}")
    # v1-v10: the creator is named in content.
    if not rules.implicit_room_creator and "creator" not in content:
        return _reject("create.creator_missing")
    # Since v12: additional_creators, when present, lists valid user IDs.
    if rules.privileged_creators and "additional_creators" in content:
        extra = content["additional_creators"]
        if not isinstance(extra, list) or not all(_is_user_id(u) for u in extra):
            return _reject("create.additional_creators_invalid")
    return Allowed


def _membership(state: RoomState, user_id: str) -> str:
    """A user's current membership; no member event counts as ``leave``."""
    member = state.lookup(_MEMBER, user_id)
    if member is None:
        return "leave"
    membership = member.content.get("membership")
    return membership if type(membership) is str else "leave"


def _join_rule(state: RoomState) -> Any:
    """The current join rule; a room without a join-rules event is invite-only."""
    event = state.lookup(_JOIN_RULES)
    return "invite" if event is None else event.content.get("join_rule", "invite")


def third_party_invite_keys(content: Mapping[str, Any]) -> Iterable[str]:
    """Base64 public keys of an m.room.third_party_invite: ``public_key`` and
    every ``public_keys[].public_key``."""
    if type(content.get("public_key")) is str:
        yield content["public_key"]
    listed = content.get("public_keys")
    if isinstance(listed, list):
        for entry in listed:
            if isinstance(entry, dict) and type(entry.get("public_key")) is str:
                yield entry["public_key"]


def signed_by_any(signed: Mapping[str, Any], public_keys: Iterable[str]) -> bool:
    """Whether any ed25519 signature in ``signed`` verifies with any key.

    Each signature is judged on its own, so a malformed entry elsewhere in
    ``signatures`` does not spoil a good one ("any signature" matches).
    """
    signatures = signed.get("signatures")
    if not isinstance(signatures, dict):
        return False
    decoded = []
    for text in public_keys:
        try:
            raw = decode_base64(text)
        except Base64Error:
            continue
        if len(raw) == 32:
            decoded.append(raw)
    try:
        message = signed_bytes(signed)
    except MatrixError:
        return False
    for server, by_key in signatures.items():
        if not isinstance(by_key, dict):
            continue
        for key_id, signature in by_key.items():
            if not isinstance(key_id, str) or not key_id.startswith(ED25519 + ":") or type(signature) is not str:
                continue
            for raw in decoded:
                one = {server: {key_id: signature}}
                if verify_signed_bytes(message, one, server, {key_id: VerifyKey(key_id, raw)}).ok:
                    return True
    return False


def _authorize_third_party_invite(event: Event, state: RoomState, invite: Any) -> Verdict:
    # Since v1: a banned user cannot be invited, not even through a third party.
    if _membership(state, event.state_key) == "ban":
        return _reject("member.third_party_invite.target_banned")
    signed = invite.get("signed") if isinstance(invite, dict) else None
    # Since v1: third_party_invite must carry the identity server's signed object.
    if not isinstance(signed, dict):
        return _reject("member.third_party_invite.no_signed")
    mxid, token = signed.get("mxid"), signed.get("token")
    # Since v1: signed names both the user (mxid) and the invite (token).
    if type(mxid) is not str or type(token) is not str:
        return _reject("member.third_party_invite.signed_incomplete")
    # Since v1: the signed mxid is the user being invited.
    if mxid != event.state_key:
        return _reject("member.third_party_invite.mxid_mismatch")
    invite_event = state.lookup(_THIRD_PARTY_INVITE, token)
    # Since v1: the token names a third-party invite event in the state.
    if invite_event is None:
        return _reject("member.third_party_invite.no_invite_event")
    # Since v1: only whoever sent that invite event can turn it into a membership.
    if invite_event.sender != event.sender:
        return _reject("member.third_party_invite.sender_mismatch")
    # Since v1: some signature in signed verifies with a key the invite lists.
    if signed_by_any(signed, third_party_invite_keys(invite_event.content)):
        return Allowed
    return _reject("member.third_party_invite.bad_signature")


def _authorize_join(event: Event, state: RoomState, create: Event, levels: _Levels, rules: RoomVersion) -> Verdict:
    sender = event.sender
    # Since v1: the creator's own first join straight after the create event.
    # (v11+: the creator is the create event's sender.)
    if event.prev_event_ids == (create.event_id,) and (
        event.state_key == create.sender if rules.implicit_room_creator
        else event.state_key == create.content.get("creator")
    ):
        return Allowed
    # Since v1: users only join themselves.
    if sender != event.state_key:
        return _reject("member.join.sender_mismatch")
    current = _membership(state, sender)
    # Since v1: banned users stay out.
    if current == "ban":
        return _reject("member.join.banned")
    join_rule = _join_rule(state)
    # Since v1 (knock since v7): invite-only rooms need an invite or an existing join.
    if join_rule == "invite" or (rules.knocking and join_rule == "knock"):
        if current in ("invite", "join"):
            return Allowed
        return _reject("member.join.not_invited")
    # Since v8 (knock_restricted since v10): restricted rooms need a member to vouch.
    if (rules.restricted_join_rule and join_rule == "restricted") or (
        rules.knock_restricted_join_rule and join_rule == "knock_restricted"
    ):
        if current in ("invite", "join"):
            return Allowed
        authoriser = event.content.get("join_authorised_via_users_server")
        if authoriser is None:
            return _reject("member.join.no_authoriser")
        if _membership(state, authoriser) != "join":
            return _reject("member.join.authoriser_not_joined")
        if levels.user(authoriser) < levels.named("invite"):
            return _reject("member.join.authoriser_power")
        return Allowed
    # Since v1: anyone may join a public room.
    if join_rule == "public":
        return Allowed
    return _reject("member.join.not_allowed", f"join rule {join_rule!r} does not admit {sender}")


def _authorize_member(event: Event, state: RoomState, create: Event, levels: _Levels, rules: RoomVersion) -> Verdict:
    content = event.content
    membership = content.get("membership")
    target = event.state_key
    # Since v1: a member event names its user and a membership.
    if type(target) is not str or "membership" not in content:
        return _reject("member.malformed")
    if rules.restricted_join_rule and "join_authorised_via_users_server" in content:
        # Since v8: the authorising user is a user ID...
        try:
            authoriser = parse_user_id(content["join_authorised_via_users_server"])
        except InvalidParam:
            return _reject("member.join_authorised_via.invalid")
        # ...whose server signed the event (verified on receipt).
        signatures = event.pdu.get("signatures")
        if not isinstance(signatures, dict) or not signatures.get(authoriser.server_name):
            return _reject("member.join_authorised_via.unsigned")
    sender = event.sender
    if membership == "join":
        return _authorize_join(event, state, create, levels, rules)
    if membership == "invite":
        # Since v1: an invite backed by a third-party invite has its own rules.
        if "third_party_invite" in content:
            return _authorize_third_party_invite(event, state, content["third_party_invite"])
        # Since v1: only joined users invite...
        if _membership(state, sender) != "join":
            return _reject("member.invite.sender_not_joined")
        # ...users who are neither joined nor banned...
        if _membership(state, target) in ("join", "ban"):
            return _reject("member.invite.target_joined_or_banned")
        # ...with at least the invite level.
        if levels.user(sender) >= levels.named("invite"):
            return Allowed
        return _reject("member.invite.insufficient_power")
    if membership == "leave":
        # Since v1 (knock since v7): leaving, rejecting an invite or withdrawing a knock.
        if sender == target:
            leavable = ("invite", "join", "knock") if rules.knocking else ("invite", "join")
            if _membership(state, sender) in leavable:
                return Allowed
            return _reject("member.leave.not_member")
        # Since v1: kicks and unbans come from joined users...
        if _membership(state, sender) != "join":
            return _reject("member.leave.sender_not_joined")
        sender_level = levels.user(sender)
        # ...an unban needs the ban level...
        if _membership(state, target) == "ban" and sender_level < levels.named("ban"):
            return _reject("member.leave.unban_insufficient_power")
        # ...and either needs the kick level and more power than the target.
        if sender_level >= levels.named("kick") and levels.user(target) < sender_level:
            return Allowed
        return _reject("member.leave.kick_insufficient_power")
    if membership == "ban":
        # Since v1: bans come from joined users...
        if _membership(state, sender) != "join":
            return _reject("member.ban.sender_not_joined")
        sender_level = levels.user(sender)
        # ...with the ban level and more power than the target.
        if sender_level >= levels.named("ban") and levels.user(target) < sender_level:
            return Allowed
        return _reject("member.ban.insufficient_power")
    if membership == "knock" and rules.knocking:
        join_rule = _join_rule(state)
        # Since v7 (knock_restricted since v10): only rooms that accept knocks.
        if not (join_rule == "knock" or (rules.knock_restricted_join_rule and join_rule == "knock_restricted")):
            return _reject("member.knock.join_rule")
        # Since v7: users only knock for themselves.
        if sender != target:
            return _reject("member.knock.sender_mismatch")
        # Since v7: not when already banned, invited or joined.
        if _membership(state, sender) in ("ban", "invite", "join"):
            return _reject("member.knock.already_present")
        return Allowed
    # Since v1: any other membership is unknown.
    return _reject("member.unknown_membership", f"unknown membership {membership!r}")


def _changes(old: Mapping[str, Any], new: Mapping[str, Any], keys: Iterable[str], rules: RoomVersion):
    """``(key, old_level, new_level)`` for every key whose level differs;
    a level that is absent (or not a level) is None."""
    for key in keys:
        before = _as_level(old.get(key), rules)
        after = _as_level(new.get(key), rules)
        if before != after:
            yield key, before, after


def _level_map(content: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    value = content.get(name)
    return value if isinstance(value, dict) else {}


def _authorize_power_levels(event: Event, levels: _Levels, rules: RoomVersion) -> Verdict:
    content = event.content
    if rules.integer_power_levels:
        # Since v10: the named levels are JSON integers.
        if any(f in content and type(content[f]) is not int for f in _LEVEL_FIELDS):
            return _reject("power_levels.not_integer")
        # Since v10: events and notifications map to JSON integers.
        for name in ("events", "notifications"):
            if name in content and not (
                isinstance(content[name], dict) and all(type(v) is int for v in content[name].values())
            ):
                return _reject("power_levels.bad_event_levels")
    users = content.get("users", {})
    # Since v1: users maps valid user IDs to integers (v1-v9: or integer
    # strings; v1-v5: or floats).
    if not isinstance(users, dict) or not all(
        _is_user_id(u) and _as_level(v, rules) is not None for u, v in users.items()
    ):
        return _reject("power_levels.bad_users")
    # Since v12: creators' power is fixed and cannot be listed.
    if rules.privileged_creators and not levels.creators.isdisjoint(users):
        return _reject("power_levels.creator_in_users")
    # Since v1: the first power-levels event may say anything.
    if not levels.has_event:
        return Allowed
    old = levels.content
    sender = event.sender
    sender_level = levels.user(sender)
    maps = [(old, content, _LEVEL_FIELDS)]
    # Since v1 the events map is checked; notifications since v6.
    for name in ("events", "notifications") if rules.limit_notifications_power_levels else ("events",):
        before, after = _level_map(old, name), _level_map(content, name)
        maps.append((before, after, before.keys() | after.keys()))
    for before_map, after_map, keys in maps:
        for key, before, after in _changes(before_map, after_map, keys, rules):
            # Since v1: no touching a level above your own...
            if before is not None and before > sender_level:
                return _reject("power_levels.change_from_above_own", f"{key} is {before}")
            # ...nor setting one above your own.
            if after is not None and after > sender_level:
                return _reject("power_levels.raise_above_own", f"{key} would be {after}")
    before_users, after_users = _level_map(old, "users"), _level_map(content, "users")
    for user, before, after in _changes(before_users, after_users, before_users.keys() | after_users.keys(), rules):
        # Since v1: other users at or above your level are out of reach.
        if user != sender and before is not None and before >= sender_level:
            return _reject("power_levels.change_peer", f"{user} is at {before}")
        # Since v1: nobody is raised above your level.
        if after is not None and after > sender_level:
            return _reject("power_levels.raise_above_own", f"{user} would be {after}")
    return Allowed


def _authorize_against(event: Event, state: RoomState, create: Event, rules: RoomVersion) -> Verdict:
    """Rules 4 onwards (numbering of v12; rule 3 onwards in v1-v11) against one state."""
    event_type = event.type
    sender = event.sender
    # Since v1: a room created with m.federate false stays on its server.
    if create.content.get("m.federate") is False and _domain(sender) != _domain(create.sender):
        return _reject("federate.disallowed")
    # v1-v5: aliases events belong to the server named in their state key.
    if rules.special_case_aliases_auth and event_type == _ALIASES:
        if event.state_key is None:
            return _reject("aliases.no_state_key")
        if event.state_key != _domain(sender):
            return _reject("aliases.domain_mismatch")
        return Allowed
    levels = _Levels(state, create, rules)
    if event_type == _MEMBER:
        return _authorize_member(event, state, create, levels, rules)
    # Since v1: everything else needs a joined sender.
    if _membership(state, sender) != "join":
        return _reject("sender.not_joined")
    sender_level = levels.user(sender)
    # Since v1: third-party invites need the invite level.
    if event_type == _THIRD_PARTY_INVITE:
        if sender_level >= levels.named("invite"):
            return Allowed
        return _reject("third_party_invite.insufficient_power")
    # Since v1: the event type's required level.
    if levels.required(event_type, event.state_key is not None) > sender_level:
        return _reject("event.insufficient_power", f"{event_type} needs more than {sender_level}")
    # Since v1: state keys that are user IDs belong to that user.
    if type(event.state_key) is str and event.state_key.startswith("@") and event.state_key != sender:
        return _reject("state_key.user_owned")
    if event_type == _POWER_LEVELS:
        return _authorize_power_levels(event, levels, rules)
    # v1-v2: redacting needs the redact level, or the same origin as the redacted event.
    if rules.redaction_auth_checks_event_domain and event_type == _REDACTION:
        if sender_level >= levels.named("redact"):
            return Allowed
        if _domain(event.redacts or "") == _domain(event.event_id):
            return Allowed
        return _reject("redaction.insufficient_power")
    return Allowed


def authorize(
    event: Event,
    state: RoomState,
    room_version: RoomVersion,
    *,
    fetch_event: Callable[[str], Event | None] | None = None,
    rejected: Container[str] = frozenset(),
) -> Verdict:
    """Whether ``event`` passes the authorization rules.

    Args:
        event: the candidate, already through :func:`check_on_receipt` when
            signatures matter.
        state: the room state before the event.
        room_version: the room's version; only its flags are consulted.
        fetch_event: when given, the cited auth events are resolved with it,
            checked (duplicates, kinds, rejection, create event) and the rules
            also run against the state they form.
        rejected: IDs of events known to be rejected.

    Returns:
        :data:`Allowed` or a :class:`Rejected` naming the first rule broken.
    """
    rules = room_version
    # Since v1: the create event is judged on its own.
    if event.type == _CREATE:
        return _authorize_create(event, rules)
    create = state.lookup(_CREATE)
    if create is None:
        return _reject("create.missing")
    # Since v1 (spelled out from v12, where the room ID is the create event's ID):
    # the event belongs to the room whose state this is.
    if event.room_id != create.room_id:
        return _reject("room_id.mismatch")
    # Since v12: ...and names an accepted create event. (Before v12 the cited
    # create event is checked with the other auth events.)
    if rules.room_id_from_create_event and create.event_id in rejected:
        return _reject("room_id.create_rejected")
    if fetch_event is not None:
        cited = check_auth_events(event, rules, create, fetch_event, rejected)
        if isinstance(cited, Rejected):
            return cited
        verdict = _authorize_against(event, RoomState((create, *cited)), create, rules)
        if not verdict:
            return verdict
    return _authorize_against(event, state, create, rules)


def authorize_history(
    events: Iterable[Event],
    room_version: RoomVersion,
    *,
    check_signatures: bool = False,
    verify_keys: KeyLookup | None = None,
) -> list[tuple[str, Verdict]]:
    """Authorize a linear history, each event against the state the accepted
    events before it built; rejected events change nothing.

    With ``check_signatures`` each event first goes through
    :func:`check_on_receipt` with ``verify_keys`` (required then).

    Raises:
        LocalProtocolError: ``check_signatures`` without ``verify_keys``.
    """
    if check_signatures and verify_keys is None:
        raise LocalProtocolError("check_signatures needs verify_keys")
    state = RoomState()
    verdicts = []
    for event in events:
        verdict: Verdict = Allowed
        if check_signatures:
            received, verdict = check_on_receipt(event.pdu, room_version, verify_keys)
            event = received or event
        if verdict:
            verdict = authorize(event, state, room_version)
        if verdict:
            state = state.apply(event)
        verdicts.append((event.event_id, verdict))
    return verdicts

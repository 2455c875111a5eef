"""Room factories: real, signed, hashed histories for any room version.

Theory of operation: a :class:`RoomFactory` plays every server of a room at
once. It keeps the history it has built and the state after it, and builds
each new event as that server would: ``auth_events`` chosen from the state by
:func:`refimpl.auth_rules.auth_event_keys`, ``prev_events`` pointing at the
last event, the content hash filled in and the sender's server signing with
its published test key (:mod:`refimpl.test_keys`). Every event is a real
:class:`~refimpl.events.Event` with a real event ID.

Builder methods append to the history by default; pass ``commit=False`` to
get the candidate event without appending it (how tests make events the
rules should refuse). The factory trusts its caller: it does not run the
auth rules itself, so it can build rejected events on purpose.

It serves the tests, the benchmarks and the generation of the
specification's example histories, so it does not depend on pytest.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Any, Iterable, Mapping

from .auth_rules import auth_event_keys
from .errors import LocalProtocolError
from .event_signing import sign_event
from .events import Event, build_pdu
from .identifiers import parse_user_id
from .keys import SigningKey
from .room_versions import RoomVersion, room_version as lookup_room_version
from .signing import sign_json
from .state import RoomState
from .test_keys import signing_key_for
from .unpadded_base64 import encode_base64

__all__ = [
    "ALICE",
    "BOB",
    "CAROL",
    "IDENTITY_SERVER",
    "RoomFactory",
    "signed_third_party_object",
]

ALICE = "@alice:example.org"
BOB = "@bob:remote.example.com"
CAROL = "@carol:third.example.net"
IDENTITY_SERVER = "id.example.org"

_START_TS = 1_700_000_000_000
_KEY_VALIDITY_URL = f"https://{IDENTITY_SERVER}/_matrix/identity/v2/pubkey/isvalid"

#: The power levels the presets start with: the creator at 100 (v1-v11; in
#: v12 creators stand above every level and are left out of ``users``).
_DEFAULT_POWER_LEVELS = MappingProxyType(
    {
        "ban": 50,
        "events": {"m.room.name": 50, "m.room.power_levels": 100},
        "events_default": 0,
        "invite": 0,
        "kick": 50,
        "redact": 50,
        "state_default": 50,
        "users_default": 0,
    }
)


def _as_room_version(version: RoomVersion | str) -> RoomVersion:
    return version if isinstance(version, RoomVersion) else lookup_room_version(version)


def signed_third_party_object(
    mxid: str,
    token: str,
    sender: str,
    *,
    signer: str = IDENTITY_SERVER,
    key: SigningKey | None = None,
) -> dict[str, Any]:
    """The ``signed`` object an identity server issues when ``mxid`` binds
    the third-party identifier invited under ``token`` by ``sender``."""
    unsigned = {"mxid": mxid, "sender": sender, "token": token}
    return sign_json(unsigned, signer, key or signing_key_for(signer))


class RoomFactory:
    """Builds one room's linear history, event by event."""

    def __init__(
        self,
        version: RoomVersion | str,
        *,
        creator: str = ALICE,
        create_content: Mapping[str, Any] | None = None,
        room_name: str = "room",
        signing_keys: Mapping[str, SigningKey] | None = None,
    ) -> None:
        """``signing_keys`` sign for servers that have no published test key
        (a live server's own key); every other server signs with its
        published one."""
        self.room_version = _as_room_version(version)
        self._signing_keys = MappingProxyType(dict(signing_keys or {}))
        self.events: list[Event] = []
        self._by_id: dict[str, Event] = {}
        self.state = RoomState()
        self.room_id: str | None = None
        self._room_name = room_name
        content = {"room_version": self.room_version.identifier}
        if not self.room_version.implicit_room_creator:
            content["creator"] = creator
        content.update(create_content or {})
        if not self.room_version.room_id_from_create_event:
            self.room_id = f"!{room_name}:{parse_user_id(creator).server_name}"
        create = self.build("m.room.create", creator, content, state_key="")
        self.room_id = create.room_id
        self.add(create)

    # -- Presets -----------------------------------------------------------

    @classmethod
    def _preset(cls, version, join_rule: Mapping[str, Any], *, members: Iterable[str] = ()) -> "RoomFactory":
        room = cls(version)
        room.join(ALICE)
        room.set_power_levels(ALICE, room.default_power_levels())
        room.send_state(ALICE, "m.room.join_rules", dict(join_rule))
        for user in members:
            if join_rule["join_rule"] != "public":
                room.invite(ALICE, user)
            room.join(user)
        return room

    @classmethod
    def public_chat(cls, version) -> "RoomFactory":
        """ALICE creates a public room, and BOB joins it."""
        return cls._preset(version, {"join_rule": "public"}, members=[BOB])

    @classmethod
    def private_chat(cls, version) -> "RoomFactory":
        """ALICE creates an invite-only room and invites BOB, who joins."""
        return cls._preset(version, {"join_rule": "invite"}, members=[BOB])

    @classmethod
    def invite_only(cls, version) -> "RoomFactory":
        """ALICE alone in an invite-only room."""
        return cls._preset(version, {"join_rule": "invite"})

    @classmethod
    def restricted(cls, version, *, allow_room: str = "!space:example.org") -> "RoomFactory":
        """ALICE alone in a room members of ``allow_room`` may join (v8+)."""
        if not _as_room_version(version).restricted_join_rule:
            raise LocalProtocolError(f"room version {version} has no restricted join rule")
        rule = {"join_rule": "restricted", "allow": [{"type": "m.room_membership", "room_id": allow_room}]}
        return cls._preset(version, rule)

    @classmethod
    def knock(cls, version) -> "RoomFactory":
        """ALICE alone in a room one may knock on (v7+)."""
        if not _as_room_version(version).knocking:
            raise LocalProtocolError(f"room version {version} has no knocking")
        return cls._preset(version, {"join_rule": "knock"})

    # -- Building ------------------------------------------------------------

    @property
    def creators(self) -> frozenset[str]:
        create = self.state.lookup("m.room.create")
        extra = create.content.get("additional_creators", []) if self.room_version.privileged_creators else []
        creator = create.sender if self.room_version.implicit_room_creator else create.content["creator"]
        return frozenset([creator, *extra])

    def default_power_levels(self, users: Mapping[str, int] | None = None) -> dict[str, Any]:
        """Preset power levels: creators at 100 (not listed from v12), plus ``users``."""
        listed = {} if self.room_version.privileged_creators else {c: 100 for c in self.creators}
        listed.update(users or {})
        return {**_DEFAULT_POWER_LEVELS, "events": dict(_DEFAULT_POWER_LEVELS["events"]), "users": listed}

    def build(
        self,
        event_type: str,
        sender: str,
        content: Mapping[str, Any],
        *,
        state_key: str | None = None,
        redacts: str | None = None,
        auth_events: Iterable[str] | None = None,
        prev_events: Iterable[str] | None = None,
        also_signed_by: Iterable[str] = (),
        state: RoomState | None = None,
    ) -> Event:
        """A signed, hashed event following the history so far (not appended).

        ``auth_events`` and ``prev_events`` override the computed ones;
        ``state`` replaces the state auth events are selected from;
        ``also_signed_by`` adds signatures of other servers.
        """
        state = self.state if state is None else state
        version = self.room_version
        if auth_events is None:
            keys = auth_event_keys(event_type, sender, state_key, content, version)
            auth_events = [e.event_id for e in state.lookup_all(keys)]
        if prev_events is None:
            prev_events = [self.events[-1].event_id] if self.events else []
        depth = self.events[-1].depth + 1 if self.events else 1
        origin = parse_user_id(sender).server_name
        by_id = None if version.event_ids_are_hashes else self._by_id
        pdu = build_pdu(
            version,
            type=event_type,
            sender=sender,
            content=dict(content),
            room_id=None if version.room_id_from_create_event and event_type == "m.room.create" else self.room_id,
            state_key=state_key,
            prev_events=self._references(prev_events, by_id),
            auth_events=self._references(auth_events, by_id),
            depth=depth,
            origin_server_ts=_START_TS + len(self.events),
            redacts=redacts,
            event_id=None if version.event_ids_are_hashes else f"${len(self.events)}-{self._room_name}:{origin}",
        )
        for server in dict.fromkeys([origin, *also_signed_by]):
            key = self._signing_keys.get(server) or signing_key_for(server)
            pdu = sign_event(pdu, version, server, key)
        return Event.from_pdu(pdu, version)

    @staticmethod
    def _references(event_ids: Iterable[str], by_id: Mapping[str, Event] | None) -> list:
        """Bare IDs (v3+), or for the v1-v2 pair form the events themselves
        (an ID the factory never built gets an empty hash)."""
        if by_id is None:
            return list(event_ids)
        return [by_id.get(i) or (i, "") for i in event_ids]

    def find(self, event_id: str) -> Event | None:
        """An event of this history by ID (the ``fetch_event`` the rules take)."""
        return self._by_id.get(event_id)

    def add(self, event: Event) -> Event:
        """Append ``event`` to the history and apply it to the state."""
        self.events.append(event)
        self._by_id[event.event_id] = event
        self.state = self.state.apply(event)
        return event

    def _emit(self, event: Event, commit: bool) -> Event:
        return self.add(event) if commit else event

    # -- Events ----------------------------------------------------------------

    def send_message(self, sender: str, body: str = "hello", *, commit: bool = True) -> Event:
        return self._emit(self.build("m.room.message", sender, {"msgtype": "m.text", "body": body}), commit)

    def send_state(
        self, sender: str, event_type: str, content: Mapping[str, Any], state_key: str = "", *, commit: bool = True
    ) -> Event:
        return self._emit(self.build(event_type, sender, content, state_key=state_key), commit)

    def set_power_levels(self, sender: str, content: Mapping[str, Any], *, commit: bool = True) -> Event:
        return self.send_state(sender, "m.room.power_levels", content, commit=commit)

    def set_join_rule(self, sender: str, join_rule: str, *, commit: bool = True, **extra: Any) -> Event:
        return self.send_state(sender, "m.room.join_rules", {"join_rule": join_rule, **extra}, commit=commit)

    def member(
        self,
        sender: str,
        target: str,
        membership: str,
        *,
        content: Mapping[str, Any] | None = None,
        also_signed_by: Iterable[str] = (),
        commit: bool = True,
    ) -> Event:
        """A member event ``sender`` sends about ``target``."""
        body = {"membership": membership, **(content or {})}
        event = self.build("m.room.member", sender, body, state_key=target, also_signed_by=also_signed_by)
        return self._emit(event, commit)

    def join(self, user: str, *, via: str | None = None, commit: bool = True) -> Event:
        """``user`` joins; ``via`` names the member vouching for a restricted join."""
        if via is None:
            return self.member(user, user, "join", commit=commit)
        return self.member(
            user,
            user,
            "join",
            content={"join_authorised_via_users_server": via},
            also_signed_by=[parse_user_id(via).server_name],
            commit=commit,
        )

    def invite(self, sender: str, target: str, *, commit: bool = True) -> Event:
        """An invite as it enters the room: a remote invitee's server has
        added its signature during the invite exchange."""
        return self.member(sender, target, "invite", also_signed_by=[parse_user_id(target).server_name], commit=commit)

    def leave(self, user: str, *, commit: bool = True) -> Event:
        return self.member(user, user, "leave", commit=commit)

    def kick(self, sender: str, target: str, *, commit: bool = True) -> Event:
        return self.member(sender, target, "leave", commit=commit)

    def unban(self, sender: str, target: str, *, commit: bool = True) -> Event:
        return self.member(sender, target, "leave", commit=commit)

    def ban(self, sender: str, target: str, *, commit: bool = True) -> Event:
        return self.member(sender, target, "ban", commit=commit)

    def knock_on(self, user: str, *, commit: bool = True) -> Event:
        return self.member(user, user, "knock", commit=commit)

    def redact(self, sender: str, event_id: str, *, commit: bool = True) -> Event:
        content = {"redacts": event_id} if self.room_version.redacts_in_content else {}
        return self._emit(self.build("m.room.redaction", sender, content, redacts=event_id), commit)

    def third_party_invite(
        self,
        sender: str,
        token: str = "token-1",
        *,
        keys: Iterable[SigningKey] | None = None,
        form: str = "both",
        urlsafe: bool = False,
        commit: bool = True,
    ) -> Event:
        """An ``m.room.third_party_invite`` listing the identity server's keys.

        ``form`` is ``"public_key"``, ``"public_keys"`` or ``"both"``;
        ``urlsafe`` picks the Base64 alphabet the keys are written in.
        """
        encoded = [
            encode_base64(k.verify_key.public_bytes, urlsafe=urlsafe)
            for k in (keys if keys is not None else [signing_key_for(IDENTITY_SERVER)])
        ]
        content: dict[str, Any] = {"display_name": "c...@t...", "key_validity_url": _KEY_VALIDITY_URL}
        if form in ("public_key", "both"):
            content["public_key"] = encoded[0]
        if form in ("public_keys", "both"):
            content["public_keys"] = [{"public_key": k, "key_validity_url": _KEY_VALIDITY_URL} for k in encoded]
        return self.send_state(sender, "m.room.third_party_invite", content, state_key=token, commit=commit)

    def redeem_third_party_invite(
        self,
        sender: str,
        target: str,
        token: str = "token-1",
        *,
        signed: Mapping[str, Any] | None = None,
        commit: bool = True,
    ) -> Event:
        """The invite member event the invitee's server builds once ``target``
        binds the invited identifier; ``signed`` defaults to the identity
        server's signature over ``(target, token, sender)``."""
        if signed is None:
            signed = signed_third_party_object(target, token, sender)
        content = {"third_party_invite": {"display_name": "c...@t...", "signed": dict(signed)}}
        return self.member(sender, target, "invite", content=content, commit=commit)

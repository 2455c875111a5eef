"""The aiohttp application of each role, over the pure handlers.

Every endpoint is a :class:`Route` in a role's route table: method, path
template, whether ``X-Matrix`` is required, and a handler that takes the
role's state and the parsed :class:`Incoming` request and returns
``(status, body)``. What the adapter itself does, once for every route:

* reads the body, at most ``max_body_bytes`` (413 ``M_TOO_LARGE``), as
  JSON with :func:`refimpl.canonical_json.parse_json`, the protocol's one
  reader (400 ``M_NOT_JSON``);
* for authenticated routes, fetches the origin's keys through the
  :class:`~refimpl.transport.keyring.KeyRing` and checks the header with
  :func:`refimpl.request_auth.verify_request` against the request target
  exactly as received (401 ``M_UNAUTHORIZED`` for anything wrong,
  including keys that cannot be had);
* turns every :class:`~refimpl.errors.MatrixError` into its status and
  ``{"errcode", "error"}`` body, an unknown path into 404 and a known path
  with another method into 405, both ``M_UNRECOGNIZED``.

Anything else escaping a handler is a bug: aiohttp answers 500 and logs it.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web

from ..canonical_json import parse_json
from ..errors import (
    Errcode,
    Forbidden,
    InvalidParam,
    MatrixError,
    NotFound,
    TooLarge,
    Unauthorized,
    UnknownToken,
)
from ..invites import (
    APIS,
    AcceptedInvite,
    CountersignedInvite,
    InviteApi,
    ReceivedInvite,
    handle_invite,
    handle_invite_response,
    plan_invite,
)
from ..joins import HostedRoom, handle_make_join, handle_send_join, next_event
from ..third_party_invites import (
    check_bound_invites,
    handle_exchange_third_party_invite,
    handle_onbind,
    identity_key_requests,
    key_validity_requests,
    make_exchange_third_party_invite,
    read_identity_key_answer,
    read_key_validity_answer,
)
from ..auth_rules import authorize
from ..event_signing import sign_event
from ..events import Event
from ..identifiers import parse_user_id
from ..identity_service import IDENTITY_KEY_ID, StoredInvite, onbind_payload, pubkey_is_valid, sign_ed25519, store_invite
from ..unpadded_base64 import encode_base64
from ..keys import key_lookup
from ..room_versions import ROOM_VERSIONS, V1, RoomVersion
from ..keys import SigningKey
from ..request_auth import parse_authorization, verify_request
from ..server_keys import (
    CachedServerKeys,
    KeyQuery,
    build_server_keys,
    handle_key_query,
    key_query_for_server,
    parse_key_query,
    servers_to_refresh,
)
from .http_client import Exchange, ExchangeObserver, HttpClient, Unreachable
from .keyring import KeyRing, fetch_server_keys
from .loopback import Clock, ServerTable

__all__ = [
    "Incoming",
    "Route",
    "Homeserver",
    "HOMESERVER_ROUTES",
    "homeserver_app",
    "IdentityServer",
    "IDENTITY_ROUTES",
    "identity_app",
    "build_app",
    "DEFAULT_MAX_BODY_BYTES",
    "KEY_LIFETIME_MS",
]

#: Bodies larger than this are refused before they are parsed.
DEFAULT_MAX_BODY_BYTES = 256 * 1024

#: How long a published key document says it is good for.
KEY_LIFETIME_MS = 24 * 60 * 60 * 1000

IMPLEMENTATION = {"name": "specgen-refimpl", "version": "0.1.0"}


@dataclass(frozen=True)
class Incoming:
    """A request as the handlers see it; ``origin`` is proven by X-Matrix
    on authenticated routes and None elsewhere."""

    method: str
    target: str
    path_params: Mapping[str, str]
    query_pairs: tuple[tuple[str, str], ...]
    body: Any
    origin: str | None = None
    request: Any = field(default=None, repr=False, compare=False)

    def param(self, name: str) -> str | None:
        """The first value of query parameter ``name``."""
        return next((value for key, value in self.query_pairs if key == name), None)

    def params(self, name: str) -> tuple[str, ...]:
        """Every value of a repeated query parameter, in order."""
        return tuple(value for key, value in self.query_pairs if key == name)


Handler = Callable[[Any, Incoming], Awaitable[tuple[int, Any]]]


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    handler: Handler
    authenticated: bool = False


async def _read_json(request: web.Request, limit: int) -> Any:
    if request.content_length is not None and request.content_length > limit:
        raise TooLarge(f"request body of {request.content_length} bytes exceeds {limit}")
    try:
        raw = await request.read()
    except web.HTTPRequestEntityTooLarge:
        raise TooLarge(f"request body exceeds {limit} bytes") from None
    return parse_json(raw) if raw else None


def _error(status: int, errcode: Errcode | str, message: str) -> web.Response:
    return web.json_response({"errcode": str(errcode), "error": message}, status=status)


@web.middleware
async def _errors(request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]):
    try:
        return await handler(request)
    except MatrixError as exc:
        return web.json_response(exc.to_body(), status=exc.http_status)
    except web.HTTPNotFound:
        return _error(404, Errcode.M_UNRECOGNIZED, f"no endpoint {request.path}")
    except web.HTTPMethodNotAllowed:
        return _error(405, Errcode.M_UNRECOGNIZED, f"{request.method} is not served at {request.path}")


async def _authenticate(server: "Homeserver", request: web.Request, body: Any) -> str:
    auth = parse_authorization(request.headers.get("Authorization"))
    try:
        key = await server.keyring.current_key(auth.origin, auth.key)
    except (Unreachable, MatrixError) as exc:
        raise Unauthorized(f"no usable keys of {auth.origin}: {exc}", origin=auth.origin) from None
    keys = {auth.origin: {auth.key: key}} if key is not None else {}
    verify_request(
        auth, method=request.method, uri=request.raw_path, our_server_name=server.server_name, keys=keys, content=body
    )
    return auth.origin


def build_app(server: Any, routes: tuple[Route, ...], *, max_body_bytes: int) -> web.Application:
    """An application serving ``routes`` over ``server``'s state."""
    app = web.Application(middlewares=[_errors], client_max_size=max_body_bytes)

    def endpoint(route: Route) -> Callable[[web.Request], Awaitable[web.Response]]:
        async def serve(request: web.Request) -> web.Response:
            body = await _read_json(request, max_body_bytes)
            origin = await _authenticate(server, request, body) if route.authenticated else None
            incoming = Incoming(
                request.method, request.raw_path, dict(request.match_info), tuple(request.query.items()), body, origin,
                request,
            )
            status, answer = await route.handler(server, incoming)
            return web.json_response(answer, status=status)

        return serve

    for route in routes:
        app.router.add_route(route.method, route.path, endpoint(route))
    return app


@dataclass
class Homeserver:
    """One homeserver's state: its name and key, its view of others' keys,
    and, as a notary, the key documents it fetched for others."""

    server_name: str
    signing_key: SigningKey
    table: ServerTable
    session: aiohttp.ClientSession
    clock: Clock
    notary: str | None = None
    observer: ExchangeObserver | None = None
    key_lifetime_ms: int = KEY_LIFETIME_MS
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    notary_cache: dict[str, CachedServerKeys] = field(default_factory=dict)
    rooms: dict[str, HostedRoom] = field(default_factory=dict)
    #: Invites this server's users received and it countersigned.
    invites: list[AcceptedInvite] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.client = HttpClient(
            self.session, self.table, origin=self.server_name, signing_key=self.signing_key, observer=self.observer
        )
        self.keyring = KeyRing(self.client, self.clock, notary=self.notary)
        self._document: dict[str, Any] | None = None

    @property
    def key_document(self) -> dict[str, Any]:
        """The published key document, signed again (with a later
        ``valid_until_ts``) once half its lifetime has passed."""
        now = self.clock()
        if self._document is None or now >= self._document["valid_until_ts"] - self.key_lifetime_ms // 2:
            self._document = build_server_keys(
                self.server_name, [self.signing_key], valid_until_ts=now + self.key_lifetime_ms
            )
        return self._document

    def room(self, room_id: str) -> HostedRoom:
        room = self.rooms.get(room_id)
        if room is None:
            raise NotFound(f"{self.server_name} is not in room {room_id}")
        return room

    def accept(self, pdu: Mapping[str, Any]) -> Event:
        """Put an event this server made or countersigned into its room,
        once the auth rules allow it against the room's state."""
        room = self.room(pdu["room_id"])
        event = Event.from_pdu(pdu, room.room_version)
        verdict = authorize(event, room.state, room.room_version, fetch_event={e.event_id: e for e in room.events}.get)
        if not verdict:
            raise Forbidden(f"the room refuses {event.type}: {verdict.rule}", rule=verdict.rule)
        self.rooms[room.room_id] = room.with_event(event)
        return event

    def make_event(
        self, room_id: str, event_type: str, sender: str, content: Mapping[str, Any], *, state_key: str | None = None
    ) -> dict[str, Any]:
        """A new event of this server's in one of its rooms, hashed and signed."""
        room = self.room(room_id)
        pdu = next_event(room, event_type, sender, content, state_key=state_key, now=self.clock())
        return sign_event(pdu, room.room_version, self.server_name, self.signing_key)

    async def send_invite(
        self,
        pdu: Mapping[str, Any],
        room_version: RoomVersion,
        *,
        invite_room_state: Sequence[Mapping[str, Any]] = (),
        create_event: Mapping[str, Any] | None = None,
        use_v3: bool = False,
    ) -> CountersignedInvite:
        """Send a signed invite to the invitee's server, trying the endpoint
        versions in the order :func:`~refimpl.invites.plan_invite` gives and
        falling back as :func:`~refimpl.invites.handle_invite_response` says.

        Raises:
            Unreachable: the invitee's server does not answer.
            MatrixError: it refused the invite or answered wrongly.
        """
        attempt = plan_invite(
            pdu, room_version, invite_room_state=invite_room_state, create_event=create_event, use_v3=use_v3
        )
        ours = {self.server_name: {self.signing_key.key_id: self.signing_key.verify_key}}
        while True:
            exchange = await self.client.request(
                attempt.invitee_server, attempt.method, attempt.path, body=attempt.body, sign=True
            )
            theirs = await self.keyring.for_servers([attempt.invitee_server], room_version, pdu["origin_server_ts"])
            outcome = handle_invite_response(
                attempt, exchange.status, exchange.response_body,
                lambda server, key_id: ours.get(server, {}).get(key_id) or theirs(server, key_id),
            )
            if isinstance(outcome, CountersignedInvite):
                return outcome
            attempt = outcome

    async def _refresh(self, server: str, now: int) -> None:
        """Fetch ``server``'s document for the notary cache; a server that
        fails to answer with keys valid now leaves the old copy in place."""
        try:
            document, _ = await fetch_server_keys(self.client, server, now=now, minimum_valid_until_ts=None)
        except (Unreachable, MatrixError):
            return
        self.notary_cache[server] = CachedServerKeys(document, now)

    async def answer_key_query(self, query: KeyQuery) -> dict[str, Any]:
        now = self.clock()
        self.notary_cache[self.server_name] = CachedServerKeys(self.key_document, now)
        stale = servers_to_refresh(query, self.notary_cache, now=now) - {self.server_name}
        await asyncio.gather(*(self._refresh(server, now) for server in sorted(stale)))
        return handle_key_query(
            query, self.notary_cache, notary_name=self.server_name, notary_key=self.signing_key
        )


def _minimum_valid_until_ts(incoming: Incoming) -> int | None:
    text = incoming.param("minimum_valid_until_ts")
    if text is None:
        return None
    if not text.isdigit():
        raise InvalidParam(f"minimum_valid_until_ts must be an integer, not {text!r}")
    return int(text)


async def _server_keys(server: Homeserver, incoming: Incoming) -> tuple[int, Any]:
    return 200, server.key_document


async def _query_one(server: Homeserver, incoming: Incoming) -> tuple[int, Any]:
    query = key_query_for_server(
        incoming.path_params["serverName"],
        key_id=incoming.path_params.get("keyId"),
        minimum_valid_until_ts=_minimum_valid_until_ts(incoming),
    )
    return 200, await server.answer_key_query(query)


async def _query_batch(server: Homeserver, incoming: Incoming) -> tuple[int, Any]:
    return 200, await server.answer_key_query(parse_key_query(incoming.body))


async def _version(server: Homeserver, incoming: Incoming) -> tuple[int, Any]:
    return 200, {"server": IMPLEMENTATION}


async def _make_join(server: Homeserver, incoming: Incoming) -> tuple[int, Any]:
    room = server.room(incoming.path_params["roomId"])
    return 200, handle_make_join(
        room, incoming.path_params["userId"], origin=incoming.origin,
        supported_versions=incoming.params("ver"), now=server.clock(),
    )


async def _send_join(server: Homeserver, incoming: Incoming) -> tuple[int, Any]:
    room = server.room(incoming.path_params["roomId"])
    keys = await server.keyring.for_event(incoming.body, room.room_version)
    joined, answer = handle_send_join(
        room, incoming.path_params["eventId"], incoming.body, origin=incoming.origin, verify_keys=keys
    )
    server.rooms[joined.room_id] = joined
    return 200, answer


def _claimed_room_version(form: Any, body: Any) -> RoomVersion | None:
    """The room version an invite request names, to choose the keys that
    may verify its event; None when it names none we know (the handler
    then refuses the request for that reason)."""
    if form.body_is_event:
        return V1
    if not isinstance(body, Mapping):
        return None
    if form.room_version_source == "body":
        return ROOM_VERSIONS.get(body.get("room_version"))
    creates = [e for e in body.get("state") or () if isinstance(e, Mapping) and e.get("type") == "m.room.create"]
    content = creates[0].get("content") if len(creates) == 1 else None
    return ROOM_VERSIONS.get(content.get("room_version", "1")) if isinstance(content, Mapping) else None


def _invite(api: InviteApi) -> Handler:
    form = APIS[api]

    async def handle(server: Homeserver, incoming: Incoming) -> tuple[int, Any]:
        body = incoming.body
        pdu = body if form.body_is_event else body.get("event") if isinstance(body, Mapping) else None
        version = _claimed_room_version(form, body)
        keys = (
            await server.keyring.for_event(pdu, version)
            if version is not None and isinstance(pdu, Mapping) else key_lookup({})
        )
        accepted = handle_invite(
            ReceivedInvite(api, incoming.origin, incoming.path_params["roomId"], incoming.path_params.get("eventId"),
                           body),
            our_server_name=server.server_name, signing_key=server.signing_key, verify_keys=keys,
        )
        server.invites.append(accepted)
        return 200, accepted.answer

    return handle


async def _onbind(server: Homeserver, incoming: Incoming) -> tuple[int, Any]:
    """H3's side: fetch the keys of the identity servers that signed, prove
    every invite with them, then send each to a server in its room (the
    inviter's), which issues the invite; answered once all were asked."""
    invites = handle_onbind(incoming.body, our_server_name=server.server_name)
    keys = {}
    for query in identity_key_requests(invites):
        try:
            answer = await server.client.request(query.server_name, "GET", query.request_target)
        except Unreachable:
            keys[query] = None
            continue
        keys[query] = read_identity_key_answer(answer.status, answer.response_body)
    check_bound_invites(invites, keys)
    for invite in invites:
        request_target, skeleton = make_exchange_third_party_invite(invite)
        await server.client.request(
            parse_user_id(invite.sender).server_name, "PUT", request_target, body=skeleton, sign=True
        )
    return 200, {}


async def _exchange_third_party_invite(server: Homeserver, incoming: Incoming) -> tuple[int, Any]:
    """The server in the room: ask the identity server about each key that
    verified, decide, then issue the invite and send it to the invitee."""
    room = server.room(incoming.path_params["roomId"])
    validity = {}
    for query in key_validity_requests(room.room_id, incoming.body, room.state):
        try:
            answer = await server.client.get_url(query.url)
        except Unreachable:
            continue
        validity[query.url] = read_key_validity_answer(answer.status, answer.response_body)
    fields = handle_exchange_third_party_invite(room.room_id, incoming.body, room.state, validity)
    pdu = server.make_event(room.room_id, fields["type"], fields["sender"], fields["content"],
                            state_key=fields["state_key"])
    countersigned = await server.send_invite(pdu, room.room_version)
    server.accept(countersigned.event.pdu)
    return 200, {}


def _invite_route(api: InviteApi) -> Route:
    form = APIS[api]
    path = form.path_prefix + "/{roomId}" + ("/{eventId}" if form.path_has_event_id else "")
    return Route("PUT", path, _invite(api), authenticated=True)


async def _send_join_v1(server: Homeserver, incoming: Incoming) -> tuple[int, Any]:
    status, answer = await _send_join(server, incoming)
    return status, [status, answer]


HOMESERVER_ROUTES: tuple[Route, ...] = (
    Route("GET", "/_matrix/key/v2/server", _server_keys),
    Route("GET", "/_matrix/key/v2/server/{keyId}", _server_keys),
    Route("GET", "/_matrix/key/v2/query/{serverName}", _query_one),
    Route("GET", "/_matrix/key/v2/query/{serverName}/{keyId}", _query_one),
    Route("POST", "/_matrix/key/v2/query", _query_batch),
    Route("GET", "/_matrix/federation/v1/version", _version),
    Route("GET", "/_matrix/federation/v1/make_join/{roomId}/{userId}", _make_join, authenticated=True),
    Route("PUT", "/_matrix/federation/v1/send_join/{roomId}/{eventId}", _send_join_v1, authenticated=True),
    Route("PUT", "/_matrix/federation/v2/send_join/{roomId}/{eventId}", _send_join, authenticated=True),
    *(_invite_route(api) for api in InviteApi),
    Route("PUT", "/_matrix/federation/v1/3pid/onbind", _onbind),
    Route("PUT", "/_matrix/federation/v1/exchange_third_party_invite/{roomId}", _exchange_third_party_invite,
          authenticated=True),
)


def homeserver_app(server: Homeserver, routes: tuple[Route, ...] = HOMESERVER_ROUTES) -> web.Application:
    return build_app(server, routes, max_body_bytes=server.max_body_bytes)


# -- the identity server -------------------------------------------------------


@dataclass
class IdentityServer:
    """An identity server's state: its long-term key, the tokens it issued
    to homeservers, the invites it stores with their ephemeral keys, the
    bindings it knows and the keys it no longer vouches for.

    Tokens and ephemeral keys are drawn from a counter over the server's
    name (:meth:`_draw`), so that runs are reproducible; a deployment would
    draw them at random.
    """

    server_name: str
    signing_key: SigningKey
    table: ServerTable
    session: aiohttp.ClientSession
    clock: Clock
    observer: ExchangeObserver | None = None
    access_tokens: frozenset[str] = frozenset()
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    invites: dict[str, StoredInvite] = field(default_factory=dict)
    ephemeral_keys: dict[str, SigningKey] = field(default_factory=dict)
    bindings: dict[tuple[str, str], str] = field(default_factory=dict)
    revoked: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        # Never signs (identity servers use no X-Matrix); the name labels its exchanges.
        self.client = HttpClient(self.session, self.table, origin=self.server_name, observer=self.observer)
        self._drawn = 0

    @property
    def base_url(self) -> str:
        return f"https://{self.server_name}"

    def _draw(self, what: str) -> bytes:
        self._drawn += 1
        return hashlib.sha256(f"{self.server_name} {what} {self._drawn}".encode()).digest()

    def require_token(self, request: web.Request) -> None:
        header = request.headers.get("Authorization", "")
        if not header.startswith("Bearer "):
            raise Unauthorized("missing access token")
        if header[len("Bearer "):] not in self.access_tokens:
            raise UnknownToken("unknown access token")

    def valid_keys(self, *, ephemeral: bool) -> set[str]:
        keys = (
            {k.verify_key.public_base64 for k in self.ephemeral_keys.values()}
            if ephemeral else {self.signing_key.verify_key.public_base64}
        )
        return keys - self.revoked

    async def bind(self, medium: str, address: str, mxid: str) -> Exchange | None:
        """Bind ``address`` to ``mxid`` and tell the user's server of the
        invites waiting for it (``PUT /3pid/onbind``); None when none wait."""
        self.bindings[(medium, address)] = mxid
        waiting = [i for i in self.invites.values() if (i.medium, i.address) == (medium, address)]
        if not waiting:
            return None
        payload = onbind_payload(
            medium, address, mxid, waiting, server_name=self.server_name, long_term_key=self.signing_key
        )
        return await self.client.request(
            parse_user_id(mxid).server_name, "PUT", "/_matrix/federation/v1/3pid/onbind", body=payload
        )


def _bearer(handler: Handler) -> Handler:
    async def checked(server: IdentityServer, incoming: Incoming) -> tuple[int, Any]:
        server.require_token(incoming.request)
        return await handler(server, incoming)

    return checked


async def _store_invite(server: IdentityServer, incoming: Incoming) -> tuple[int, Any]:
    token = encode_base64(server._draw("token"), urlsafe=True)
    ephemeral = SigningKey.from_seed(server._draw("ephemeral"), IDENTITY_KEY_ID.partition(":")[2])
    stored, answer = store_invite(
        incoming.body, base_url=server.base_url, long_term_key=server.signing_key, ephemeral_key=ephemeral,
        token=token, bound_mxid=lambda medium, address: server.bindings.get((medium, address)),
    )
    server.invites[token] = stored
    server.ephemeral_keys[token] = ephemeral
    return 200, answer


async def _sign(server: IdentityServer, incoming: Incoming) -> tuple[int, Any]:
    return 200, sign_ed25519(incoming.body, server_name=server.server_name, stored_invite=server.invites.get)


async def _pubkey(server: IdentityServer, incoming: Incoming) -> tuple[int, Any]:
    if incoming.path_params["keyId"] != server.signing_key.key_id:
        raise NotFound(f"no key {incoming.path_params['keyId']}")
    return 200, {"public_key": server.signing_key.verify_key.public_base64}


async def _is_valid(server: IdentityServer, incoming: Incoming) -> tuple[int, Any]:
    return 200, pubkey_is_valid(incoming.param("public_key"), server.valid_keys(ephemeral=False))


async def _is_valid_ephemeral(server: IdentityServer, incoming: Incoming) -> tuple[int, Any]:
    return 200, pubkey_is_valid(incoming.param("public_key"), server.valid_keys(ephemeral=True))


IDENTITY_ROUTES: tuple[Route, ...] = (
    Route("POST", "/_matrix/identity/v2/store-invite", _bearer(_store_invite)),
    Route("POST", "/_matrix/identity/v2/sign-ed25519", _bearer(_sign)),
    Route("GET", "/_matrix/identity/v2/pubkey/isvalid", _is_valid),
    Route("GET", "/_matrix/identity/v2/pubkey/ephemeral/isvalid", _is_valid_ephemeral),
    Route("GET", "/_matrix/identity/v2/pubkey/{keyId}", _pubkey),
)


def identity_app(server: IdentityServer) -> web.Application:
    return build_app(server, IDENTITY_ROUTES, max_body_bytes=server.max_body_bytes)

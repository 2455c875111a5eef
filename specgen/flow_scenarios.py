"""The scenarios ``specgen flows`` runs: real servers on loopback, one flow each.

Each scenario is an async function over a fresh
:class:`~specgen.flows.Federation`; its docstring is its narrative, told
before it runs, and every step is driven by a message and its answer
(time moves only when a scenario advances the shared clock). The servers
are ``example.org`` (H1), ``remote.example.com`` (H2),
``third.example.net`` (H3), all with the published test keys, and the
notary ``notary.example.com`` (N), whose key is derived from its name as
:mod:`refimpl.test_keys` derives them.

:data:`SCENARIOS` is the registry, in the order they are told.
"""

from __future__ import annotations

from refimpl.auth_rules import authorize, authorize_history
from refimpl.errors import Forbidden
from refimpl.factories import ALICE, BOB, CAROL, RoomFactory
from refimpl.invites import APIS, InviteApi, stripped_state
from refimpl.joins import HostedRoom, judge_send_join_answer, make_join_event
from refimpl.room_versions import ROOM_VERSIONS, room_version
from refimpl.third_party_invites import third_party_invite_content
from refimpl.server_keys import parse_server_keys, verify_key_query_response
from refimpl.transport.http_client import target
from refimpl.transport.http_server import HOMESERVER_ROUTES, Route

from .flows import Federation, Scenario, expect, server_signing_key

__all__ = ["SCENARIOS", "H1", "H2", "H3", "NOTARY"]

H1 = "example.org"
H2 = "remote.example.com"
H3 = "third.example.net"
NOTARY = "notary.example.com"

DAY_MS = 24 * 60 * 60 * 1000


def _expect_key_of(keys, server: str) -> None:
    key = server_signing_key(server)
    expect(keys.server_name == server, f"keys are of {keys.server_name}, not {server}")
    expect(
        keys.verify_keys.get(key.key_id) == key.verify_key,
        f"{server}'s {key.key_id} is not the key it signs with",
    )


async def keys_direct(fed: Federation) -> None:
    """H1 fetches H2's keys directly.

    H1 asks H2 for ``/_matrix/key/v2/server`` and accepts the document
    only because it is about H2 and signed by every key it lists. A second
    need before the document's validity ends is answered from H1's cache:
    no request crosses the network. The deprecated key-ID form of the
    endpoint answers with the same keys.
    """
    h1 = await fed.homeserver(H1)
    await fed.homeserver(H2)
    keys = await h1.keyring.server_keys(H2, needed_until=fed.clock())
    _expect_key_of(keys, H2)
    before = len(fed.exchanges)
    fed.clock.advance(60 * 60 * 1000)
    again = await h1.keyring.server_keys(H2, needed_until=fed.clock())
    expect(again is keys, "the second lookup did not come from the cache")
    expect(len(fed.exchanges) == before, "the cached keys were fetched again")
    answer = await fed.client().request(H2, "GET", target("/_matrix/key/v2/server/{keyId}", keyId="ed25519:1"))
    expect(answer.status == 200, f"the key-ID form answered {answer.status}")
    expect(answer.response_body["verify_keys"] == keys_document_keys(keys), "the key-ID form answered other keys")


def expect_exchanges(fed: Federation, expected: list[tuple[str | None, str, str]]) -> None:
    """The exchanges so far, as (origin, destination, path), in the order they completed."""
    seen = [(o.exchange.origin, o.exchange.destination, o.exchange.path) for o in fed.exchanges]
    expect(seen == expected, f"exchanges {seen}, expected {expected}")


def keys_document_keys(keys) -> dict:
    return {key_id: {"key": key.public_base64} for key_id, key in keys.verify_keys.items()}


async def keys_notary_get(fed: Federation) -> None:
    """H1 fetches H3's keys through the notary N (GET).

    H1 trusts N and asks it for H3's keys with ``GET
    /_matrix/key/v2/query/third.example.net?minimum_valid_until_ts=...``.
    N has nothing cached, so it fetches H3's own document first, checks
    it, adds its signature and answers. H1 fetches N's keys directly and
    accepts H3's document only with both H3's and N's signatures.
    """
    await fed.homeserver(NOTARY)
    await fed.homeserver(H3)
    h1 = await fed.homeserver(H1, notary=NOTARY)
    keys = await h1.keyring.server_keys(H3, needed_until=fed.clock() + 60 * 60 * 1000)
    _expect_key_of(keys, H3)
    # Completion order: N's answer to H1 ends after N's own fetch from H3.
    expect_exchanges(fed, [
        (H1, NOTARY, "/_matrix/key/v2/server"),
        (NOTARY, H3, "/_matrix/key/v2/server"),
        (H1, NOTARY, "/_matrix/key/v2/query/third.example.net"),
    ])


async def keys_notary_post(fed: Federation) -> None:
    """A server asks the notary N for H2's and H3's keys in one batch (POST).

    The body names H2 with the key ``ed25519:1`` needed for the next hour,
    and H3 with no key ID (all its keys). N fetches both servers' documents
    and answers one list; each entry carries its origin's signature and
    N's, and nothing about a server that was not asked for.
    """
    notary = await fed.homeserver(NOTARY)
    await fed.homeserver(H2)
    await fed.homeserver(H3)
    wanted = fed.clock() + 60 * 60 * 1000
    body = {"server_keys": {H2: {"ed25519:1": {"minimum_valid_until_ts": wanted}}, H3: {}}}
    answer = await fed.client().request(NOTARY, "POST", "/_matrix/key/v2/query", body=body)
    expect(answer.status == 200, f"the notary answered {answer.status}: {answer.response_body}")
    entries = verify_key_query_response(
        answer.response_body, notary_name=NOTARY, notary_keys={notary.signing_key.key_id: notary.signing_key.verify_key},
        now=fed.clock(), requested=[H2, H3],
    )
    expect(sorted(keys.server_name for keys in entries) == [H2, H3], f"answered for {[k.server_name for k in entries]}")
    for keys in entries:
        _expect_key_of(keys, keys.server_name)


async def keys_notary_cache(fed: Federation) -> None:
    """The notary N answers from its cache while H3 is down, and H1 refuses stale keys.

    N fetches H3's keys once. H3 goes down. Asked again for keys valid
    now, N answers from its cache without reaching H3. Two days later the
    copy has expired: N still cannot reach H3, so it answers with the
    expired copy (it may still verify old events), and H1, which needs
    keys valid now, refuses it; H1 then tries H3 itself, which is still
    down. When H3 is back, N refreshes its copy and H1 accepts the new
    document.
    """
    await fed.homeserver(NOTARY)
    await fed.homeserver(H3)
    h1 = await fed.homeserver(H1, notary=NOTARY)
    await h1.keyring.server_keys(H3, needed_until=fed.clock())
    await fed.stop(H3)
    h2 = await fed.homeserver(H2, notary=NOTARY)
    cached = await h2.keyring.server_keys(H3, needed_until=fed.clock())
    _expect_key_of(cached, H3)
    expect(fed.exchanges[-1].exchange.destination == NOTARY, "H2's answer did not come from the notary")
    fed.clock.advance(2 * DAY_MS)
    try:
        await h1.keyring.server_keys(H3, needed_until=fed.clock())
        refused = False
    except Forbidden:
        refused = True
    expect(refused, "H1 accepted keys that expired")
    answer = fed.exchanges[-1]
    expect(answer.exchange.status == 200, "the notary did not answer with its stale copy")
    stale = answer.exchange.response_body["server_keys"]
    expect(len(stale) == 1 and stale[0]["valid_until_ts"] < fed.clock(), "the notary's copy was not the stale one")
    await fed.restart(H3)
    fresh = await h1.keyring.server_keys(H3, needed_until=fed.clock())
    expect(fresh.valid_until_ts > fed.clock(), "H1 did not get H3's new document")


def alice_public_room(version: str) -> RoomFactory:
    """Alice alone in a public room of ``version``."""
    factory = RoomFactory(version)
    factory.join(ALICE)
    factory.set_power_levels(ALICE, factory.default_power_levels())
    factory.set_join_rule(ALICE, "public")
    return factory


def host_room(server, factory: RoomFactory) -> HostedRoom:
    """Put a room built by a factory on ``server``, as if it had lived there."""
    room = HostedRoom.from_events(factory.events, factory.room_version)
    server.rooms[room.room_id] = room
    return room


async def join_public_room(fed: Federation) -> None:
    """H2's user joins a public room on H1 through make_join and send_join.

    Alice created a public room (version 11) on H1. Bob, on H2, wants in:
    H2 asks H1 for a join template, naming the room versions it
    implements; H1 checks H2's X-Matrix signature (fetching H2's keys
    directly) and answers with a template built on the room's state. H2
    hashes and signs the event and submits it with ``PUT
    /_matrix/federation/v2/send_join``; H1 checks its signature and the
    auth rules, accepts it, and answers with the state before the join
    and its auth chain, which H2 can check with the same auth rules.
    """
    h1 = await fed.homeserver(H1)
    h2 = await fed.homeserver(H2)
    room = host_room(h1, alice_public_room("11"))
    template = await h2.client.request(
        H1, "GET",
        target("/_matrix/federation/v1/make_join/{roomId}/{userId}", {"ver": list(ROOM_VERSIONS)},
               roomId=room.room_id, userId=BOB),
        sign=True,
    )
    expect(template.status == 200, f"make_join answered {template.status}: {template.response_body}")
    version = room_version(template.response_body["room_version"])
    event_id, pdu = make_join_event(template.response_body, version, H2, h2.signing_key)
    joined = await h2.client.request(
        H1, "PUT", target("/_matrix/federation/v2/send_join/{roomId}/{eventId}", roomId=room.room_id, eventId=event_id),
        body=pdu, sign=True,
    )
    expect(joined.status == 200, f"send_join answered {joined.status}: {joined.response_body}")
    expect(h1.room(room.room_id).state.lookup("m.room.member", BOB).content["membership"] == "join",
           "H1 does not hold Bob's join")
    await judge_join_answer(h2, H1, pdu, joined.response_body, version)


async def judge_join_answer(joiner, resident: str, join: dict, answer: dict, version) -> None:
    """The joining server judges the ``send_join`` answer as refimpl does
    (:func:`refimpl.joins.judge_send_join_answer`), with the keys of the
    resident server (fetched) and its own."""
    now = joiner.clock()
    keys = {resident: await joiner.keyring.server_keys(resident, needed_until=now),
            joiner.server_name: parse_server_keys(joiner.key_document, received_ts=now)}
    judged, ours = judge_send_join_answer(join, answer, version, keys)
    refused = [j for j in judged if not j.ok]
    expect(not refused, f"{joiner.server_name} refuses events of {resident}'s send_join answer: {refused}")
    expect(ours.ok, f"{joiner.server_name} finds its join refused by the state {resident} answered: {ours.verdict}")


def routes_without(*apis: InviteApi) -> tuple[Route, ...]:
    """The homeserver routes, less the invite endpoints of ``apis`` (an
    older server, or one that does not implement a proposal)."""
    gone = {APIS[api].path_prefix for api in apis}
    return tuple(r for r in HOMESERVER_ROUTES if not any(r.path.startswith(p + "/") for p in gone))


async def _invite_bob(fed: Federation, version: str, *, use_v3: bool, h2_routes: tuple[Route, ...]) -> InviteApi:
    """Alice, alone in an invite-only room of ``version`` on H1, invites Bob
    of H2; the countersigned invite must enter the room under the auth
    rules, and the room's whole history must pass them. Returns the
    endpoint version that carried it."""
    h1 = fed.servers.get(H1) or await fed.homeserver(H1)
    h2 = fed.servers.get(H2) or await fed.homeserver(H2, routes=h2_routes)
    factory = RoomFactory.invite_only(version)
    room = host_room(h1, factory)
    invite = factory.member(ALICE, BOB, "invite", commit=False)
    shown = [stripped_state(e.pdu) for e in room.state.lookup_all([("m.room.join_rules", ""), ("m.room.member", ALICE)])]
    countersigned = await h1.send_invite(
        invite.pdu, room.room_version, invite_room_state=shown, create_event=room.events[0].pdu, use_v3=use_v3
    )
    expect(h2.invites and h2.invites[-1].event.event_id == invite.event_id, "H2 holds no record of the invite")
    expect(H2 in countersigned.event.pdu["signatures"], "the invite came back without H2's signature")
    verdict = authorize(countersigned.event, room.state, room.room_version, fetch_event=factory.find)
    expect(bool(verdict), f"the countersigned invite fails the auth rules at H1: {verdict}")
    h1.rooms[room.room_id] = invited = room.with_event(countersigned.event)
    refused = [(event_id, v) for event_id, v in authorize_history(invited.events, room.room_version) if not v]
    expect(not refused, f"the room's history fails the auth rules: {refused}")
    return countersigned.api


async def invite_v1(fed: Federation) -> None:
    """Remote invite, version 1, for rooms of versions 1 and 2.

    H2 is an older server that knows only ``PUT
    /_matrix/federation/v1/invite``. For a room of version 1, then one of
    version 2, H1 first tries version 2 of the endpoint, reads H2's ``404
    M_UNRECOGNIZED`` as "unknown endpoint", and sends the event itself to
    version 1, which answers ``[200, {"event": ...}]`` with H2's
    signature added. Each invite enters its room under the auth rules.
    """
    for version in ("1", "2"):
        api = await _invite_bob(fed, version, use_v3=False, h2_routes=routes_without(InviteApi.V2, InviteApi.V3))
        expect(api is InviteApi.V1, f"room version {version}: the invite went through {api.value}")


async def invite_v2(fed: Federation) -> None:
    """Remote invite, version 2.

    Alice on H1 invites Bob on H2 into an invite-only room of version 11.
    H1 signs the invite event and sends it with the room version and the
    stripped state Bob's clients will be shown; H2 checks H1's signature
    (fetching H1's keys), countersigns and answers; H1 checks H2's
    signature and puts the invite into the room.
    """
    api = await _invite_bob(fed, "11", use_v3=False, h2_routes=HOMESERVER_ROUTES)
    expect(api is InviteApi.V2, f"the invite went through {api.value}")


async def invite_v3(fed: Federation) -> None:
    """Remote invite, version 3 (proposal), in a version 12 room.

    The room's ID is derived from its create event's hash. H1 sends the
    invite to the proposal's unstable path with the room's create event in
    ``state``; H2 takes the room version from it, checks that the room ID
    derived from it is the path's and the event's, and countersigns.
    """
    api = await _invite_bob(fed, "12", use_v3=True, h2_routes=HOMESERVER_ROUTES)
    expect(api is InviteApi.V3, f"the invite went through {api.value}")


async def invite_v3_fallback(fed: Federation) -> None:
    """Remote invite, version 3 falling back to version 2.

    H2 does not implement the proposal: its answer to the unstable v3 path
    is ``404 M_UNRECOGNIZED``, so H1 sends the same invite (a version 12
    room) to version 2 of the endpoint, which H2 countersigns.
    """
    api = await _invite_bob(fed, "12", use_v3=True, h2_routes=routes_without(InviteApi.V3))
    expect(api is InviteApi.V2, f"the invite went through {api.value}")


IDENTITY = "id.example.org"
EMAIL = "carol@example.com"
#: The access token the identity server issued to H1 when H1 registered.
H1_TOKEN = "h1-access-token"


async def store_third_party_invite(fed: Federation, h1, room) -> str:
    """Alice's client asks H1 to invite an email address: H1 stores the
    invite at the identity server and puts what it answered into an
    ``m.room.third_party_invite`` event; returns the token."""
    stored = await h1.client.request(
        IDENTITY, "POST", "/_matrix/identity/v2/store-invite",
        body={"medium": "email", "address": EMAIL, "room_id": room.room_id, "sender": ALICE}, access_token=H1_TOKEN,
    )
    expect(stored.status == 200, f"store-invite answered {stored.status}: {stored.response_body}")
    answer = stored.response_body
    h1.accept(h1.make_event(room.room_id, "m.room.third_party_invite", ALICE, third_party_invite_content(answer),
                            state_key=answer["token"]))
    return answer["token"]


async def third_party_invite(fed: Federation) -> None:
    """Third-party invite: Alice on H1 invites an email address, Carol binds it on H3, and joins.

    H1 asks the identity server to store an invite for carol@example.com
    and turns its answer (token, public keys with their
    ``key_validity_url``, redacted address) into an
    ``m.room.third_party_invite`` event in Alice's room. Carol binds the
    address to @carol:third.example.net: the identity server tells H3
    (``PUT /3pid/onbind``) with a ``signed`` object per waiting invite. H3
    asks H1, which is in the room, to issue the invite
    (``exchange_third_party_invite``); H1 checks ``signed`` against the
    event's keys, asks the identity server whether the key that verified is
    still valid (``pubkey/isvalid``), builds and signs the invite member
    event and sends it to H3, which countersigns it. Carol then joins
    through ``make_join``/``send_join``. The room's history passes the auth
    rules at H1, and H3 checks Carol's join against the state H1 returned.
    """
    h1 = await fed.homeserver(H1)
    h3 = await fed.homeserver(H3)
    identity = await fed.identity_server(IDENTITY, access_tokens=frozenset({H1_TOKEN}))
    room = host_room(h1, RoomFactory.invite_only("11"))
    token = await store_third_party_invite(fed, h1, room)
    onbind = await identity.bind("email", EMAIL, CAROL)
    expect(onbind is not None and onbind.status == 200, f"onbind answered {onbind and onbind.status}")
    invited = h1.room(room.room_id).state.lookup("m.room.member", CAROL)
    expect(invited is not None and invited.content.get("membership") == "invite", "H1's room holds no invite of Carol")
    expect(invited.content["third_party_invite"]["signed"]["token"] == token, "the invite is not the third-party one")
    expect(h3.invites and h3.invites[-1].event.event_id == invited.event_id, "H3 did not countersign the invite")
    template = await h3.client.request(
        H1, "GET", target("/_matrix/federation/v1/make_join/{r}/{u}", {"ver": ["11"]}, r=room.room_id, u=CAROL),
        sign=True,
    )
    expect(template.status == 200, f"make_join answered {template.status}: {template.response_body}")
    version = room.room_version
    event_id, pdu = make_join_event(template.response_body, version, H3, h3.signing_key)
    joined = await h3.client.request(
        H1, "PUT", target("/_matrix/federation/v2/send_join/{r}/{e}", r=room.room_id, e=event_id), body=pdu, sign=True,
    )
    expect(joined.status == 200, f"send_join answered {joined.status}: {joined.response_body}")
    history = h1.room(room.room_id).events
    refused = [(event_id, v) for event_id, v in authorize_history(history, version) if not v]
    expect(not refused, f"the room's history fails the auth rules at H1: {refused}")
    await judge_join_answer(h3, H1, pdu, joined.response_body, version)


SCENARIOS: dict[str, Scenario] = {
    scenario.name: scenario
    for scenario in (
        Scenario("keys-direct", keys_direct),
        Scenario("keys-notary-get", keys_notary_get),
        Scenario("keys-notary-post", keys_notary_post),
        Scenario("keys-notary-cache", keys_notary_cache),
        Scenario("join-public-room", join_public_room),
        Scenario("invite-v1", invite_v1),
        Scenario("invite-v2", invite_v2),
        Scenario("invite-v3", invite_v3),
        Scenario("invite-v3-fallback", invite_v3_fallback),
        Scenario("third-party-invite", third_party_invite),
    )
}

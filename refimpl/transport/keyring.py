"""Other servers' verify keys, fetched when needed and kept while they hold.

A receiving server needs the origin's keys to check ``X-Matrix`` (and,
later, event signatures). The :class:`KeyRing` asks the pure core what a
document proves and keeps what it learnt:

* directly: ``GET /_matrix/key/v2/server`` on the server itself, accepted
  by :func:`refimpl.server_keys.verify_server_keys`;
* through a notary: ``POST /_matrix/key/v2/query`` naming the key ID
  when one is needed (:func:`refimpl.server_keys.key_query_body`), else
  ``GET /_matrix/key/v2/query/{serverName}``, each with
  ``minimum_valid_until_ts`` set to the time the keys are needed until,
  accepted by :func:`refimpl.server_keys.verify_key_query_response`; the
  notary's own keys are fetched directly. When the notary has nothing that
  serves (nothing cached, or a copy that expires too early because its
  refresh failed), the ring asks the origin itself; if that fails too, the
  notary's copy is refused.

A copy is reused while its trusted validity
(:attr:`~refimpl.server_keys.ServerKeys.trusted_until_ts`, the published
``valid_until_ts`` capped at 7 days after receipt) covers the time asked
for and it names the key asked for; otherwise it is fetched again.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from ..errors import Forbidden, MatrixError
from ..event_signing import required_signatures
from ..keys import KeyLookup, VerifyKey, key_lookup
from ..room_versions import RoomVersion
from ..server_keys import (
    ServerKeys,
    key_query_body,
    usable_notarised_keys,
    verify_key_query_response,
    verify_server_keys,
)
from .http_client import HttpClient, Unreachable, target
from .loopback import Clock

__all__ = ["KeyRing", "fetch_server_keys"]


async def fetch_server_keys(
    client: HttpClient, server: str, *, now: int, minimum_valid_until_ts: int | None
) -> tuple[Mapping[str, Any], ServerKeys]:
    """The key document ``server`` publishes itself, as sent and as verified.

    Raises:
        Unreachable: the server does not answer.
        MatrixError: the answer is not a good key document for ``server``
            valid until ``minimum_valid_until_ts`` (see ``verify_server_keys``).
    """
    exchange = await client.request(server, "GET", "/_matrix/key/v2/server")
    if exchange.status != 200:
        raise Unreachable(f"{server} answered {exchange.status} for its keys")
    document = exchange.response_body
    keys = verify_server_keys(document, server_name=server, now=now, minimum_valid_until_ts=minimum_valid_until_ts)
    return document, keys


class KeyRing:
    """Keys of other servers as one server has verified them."""

    def __init__(self, client: HttpClient, clock: Clock, *, notary: str | None = None) -> None:
        self.client = client
        self.clock = clock
        self.notary = notary
        self._cache: dict[str, ServerKeys] = {}

    def cached(self, server: str) -> ServerKeys | None:
        return self._cache.get(server)

    async def server_keys(self, server: str, *, needed_until: int, key_id: str | None = None) -> ServerKeys:
        """``server``'s keys, trusted until at least ``needed_until``.

        Raises:
            Unreachable: the server did not answer (and no notary is used).
            Forbidden: neither the notary nor the server itself had keys
                valid until ``needed_until``.
            MatrixError: what came back is not good enough (bad signatures,
                keys that expire before ``needed_until``, another server's).
        """
        cached = self._cache.get(server)
        if cached is not None and cached.trusted_until_ts >= needed_until and (
            key_id is None or key_id in cached.verify_keys
        ):
            return cached
        if self.notary is None or server == self.notary:
            keys = await self._directly(server, needed_until)
        else:
            keys = await self._through_notary(server, needed_until, key_id)
        self._cache[server] = keys
        return keys

    async def _directly(self, server: str, needed_until: int) -> ServerKeys:
        _, keys = await fetch_server_keys(self.client, server, now=self.clock(), minimum_valid_until_ts=needed_until)
        return keys

    async def _through_notary(self, server: str, needed_until: int, key_id: str | None) -> ServerKeys:
        try:
            keys = await self._ask_notary(server, needed_until, key_id)
        except Unreachable:
            keys = None
        if keys is not None:
            return keys
        try:
            return await self._directly(server, needed_until)
        except Unreachable:
            raise Forbidden(
                f"neither notary {self.notary} nor {server} itself has keys of {server} valid until {needed_until}",
                server_name=server,
            ) from None

    async def _ask_notary(self, server: str, needed_until: int, key_id: str | None) -> ServerKeys | None:
        """What the notary vouches for that serves the need, or None."""
        notary_keys = await self.server_keys(self.notary, needed_until=self.clock())
        if key_id is None:
            request_target = target(
                "/_matrix/key/v2/query/{serverName}", {"minimum_valid_until_ts": needed_until}, serverName=server
            )
            exchange = await self.client.request(self.notary, "GET", request_target)
        else:
            body = key_query_body(server, key_id, minimum_valid_until_ts=needed_until)
            exchange = await self.client.request(self.notary, "POST", "/_matrix/key/v2/query", body=body)
        if exchange.status != 200:
            return None
        entries = verify_key_query_response(
            exchange.response_body,
            notary_name=self.notary,
            notary_keys=notary_keys.verify_keys,
            now=self.clock(),
            requested=[server],
        )
        return usable_notarised_keys(entries, needed_until=needed_until, key_id=key_id)

    async def for_servers(self, servers: Iterable[str], room_version: RoomVersion, sent_at: int) -> KeyLookup:
        """The keys of ``servers`` that may verify an event sent at
        ``sent_at`` (the room version decides whether validity matters).
        Servers whose keys cannot be had are left out, so their signatures
        fail the check that uses the lookup."""
        fetched: dict[str, ServerKeys] = {}
        for server in sorted(set(servers)):
            try:
                fetched[server] = await self.server_keys(server, needed_until=min(sent_at, self.clock()))
            except (Unreachable, MatrixError):
                continue

        def lookup(server: str, key_id: str) -> VerifyKey | None:
            keys = fetched.get(server)
            return keys.key_for_event(key_id, room_version, sent_at) if keys is not None else None

        return lookup

    async def for_event(self, pdu: Any, room_version: RoomVersion) -> KeyLookup:
        """The keys that may verify ``pdu``: those of every server whose
        signature it needs (:func:`~refimpl.event_signing.required_signatures`)."""
        try:
            servers = required_signatures(pdu, room_version)
        except MatrixError:
            return key_lookup({})
        sent_at = pdu.get("origin_server_ts")
        sent_at = sent_at if isinstance(sent_at, int) and not isinstance(sent_at, bool) else self.clock()
        return await self.for_servers(servers, room_version, sent_at)

    async def current_key(self, server: str, key_id: str) -> VerifyKey | None:
        """The key ``key_id`` of ``server`` if it is valid now, else None."""
        keys = await self.server_keys(server, needed_until=self.clock(), key_id=key_id)
        return keys.verify_keys.get(key_id)

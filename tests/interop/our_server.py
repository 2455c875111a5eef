"""Our servers (refimpl's transport) on 127.0.0.1 over TLS, for Synapse to talk to.

refimpl's loopback harness serves plain HTTP under names it maps itself;
Synapse speaks only HTTPS and resolves names on its own. So here the same
applications (:func:`refimpl.transport.http_server.homeserver_app` and
:func:`~refimpl.transport.http_server.identity_app`) are served with the
test CA's certificate, under ``localhost:<port>`` (which Synapse resolves
to 127.0.0.1 and checks the certificate against), and our clients reach
servers through a table that hands out ``https`` addresses. Requests
Synapse makes to us are observed as well, so both directions are held to
``api/``.
"""

from __future__ import annotations

import json
import os
import socket
import ssl
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
from aiohttp import web

from refimpl.errors import MatrixError
from refimpl.identity_service import IDENTITY_KEY_ID
from refimpl.keys import SigningKey
from refimpl.request_auth import parse_authorization
from refimpl.transport.http_client import Exchange
from refimpl.transport.http_server import Homeserver, IdentityServer, homeserver_app, identity_app
from refimpl.transport.loopback import ServerTable, system_clock
from synapse_server import HOST, LOOPBACK, Tls

Observe = Callable[[Exchange], None]


class TlsServerTable(ServerTable):
    """The loopback table, every server reached over HTTPS."""

    def base_url(self, server_name: str) -> str | None:
        url = super().base_url(server_name)
        return None if url is None else "https://" + url.removeprefix("http://")


def client_session(tls: Tls) -> aiohttp.ClientSession:
    """A client session trusting the test CA only, checking names."""
    return aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=tls.client_context()))


def _origin(request: web.Request) -> str | None:
    try:
        return parse_authorization(request.headers.get("Authorization")).origin
    except MatrixError:
        return None


def _inbound_observer(server_name: str, observe: Observe):
    @web.middleware
    async def inbound(request: web.Request, handler):
        raw = await request.read()
        response = await handler(request)
        try:
            request_body = json.loads(raw) if raw else None
        except ValueError:
            request_body = None
        text = response.body.decode("utf-8", "replace") if isinstance(response.body, bytes) else ""
        try:
            response_body = json.loads(text) if text else None
        except ValueError:
            response_body = None
        observe(Exchange(_origin(request), server_name, request.method, request.raw_path, request_body,
                         response.status, response_body, text))
        return response

    return inbound


def _listening() -> tuple[socket.socket, str, int]:
    """A socket bound to a free loopback port, and the server name it gets."""
    sock = socket.socket()
    sock.bind((LOOPBACK, 0))
    port = sock.getsockname()[1]
    return sock, f"{HOST}:{port}", port


@asynccontextmanager
async def _serving(app: web.Application, listening: tuple[socket.socket, str, int], tls: Tls,
                   table: ServerTable, observe: Observe) -> AsyncIterator[None]:
    sock, name, port = listening
    app.middlewares.insert(0, _inbound_observer(name, observe))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(tls.cert_path, tls.key_path)
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    try:
        await web.SockSite(runner, sock, ssl_context=context).start()
        table.register(name, port)
        yield
    finally:
        await runner.cleanup()


@asynccontextmanager
async def our_homeserver(tls: Tls, table: ServerTable, session: aiohttp.ClientSession,
                         observe: Observe, **options: Any) -> AsyncIterator[Homeserver]:
    """Our homeserver, named ``localhost:<port>``, with a fresh signing key and key ID,
    serving over TLS until the block ends; ``options`` go to
    :class:`~refimpl.transport.http_server.Homeserver` (``notary=...``)."""
    listening = _listening()
    # A key ID of its own: Synapse caches keys by server name and key ID, and
    # a later server may get the same port (so the same name) in one run.
    key = SigningKey.from_seed(os.urandom(32), f"interop_{os.urandom(4).hex()}")
    server = Homeserver(listening[1], key, table, session,
                        system_clock, observer=observe, **options)
    async with _serving(homeserver_app(server), listening, tls, table, observe):
        yield server


@asynccontextmanager
async def our_identity_server(tls: Tls, table: ServerTable, session: aiohttp.ClientSession, observe: Observe,
                              *, access_tokens: Iterable[str]) -> AsyncIterator[IdentityServer]:
    """Our identity server, named ``localhost:<port>``, with a fresh
    long-term key, accepting ``access_tokens``, over TLS until the block ends."""
    listening = _listening()
    key = SigningKey.from_seed(os.urandom(32), IDENTITY_KEY_ID.partition(":")[2])
    server = IdentityServer(listening[1], key, table, session, system_clock, observer=observe,
                            access_tokens=frozenset(access_tokens))
    async with _serving(identity_app(server), listening, tls, table, observe):
        yield server

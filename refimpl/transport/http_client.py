"""Clients of each role: requests out, answers and observed exchanges back.

Every request leaves through :meth:`HttpClient.request`, which resolves the
destination in the :class:`~refimpl.transport.loopback.ServerTable`, signs
federation requests with ``X-Matrix`` (:func:`refimpl.request_auth.sign_request`),
and hands each completed :class:`Exchange` to the observer, if any, before
returning it. The observer (refimpl's only seam for outside checks) is
how ``specgen flows`` holds the traffic against the API definitions
without refimpl knowing about OpenAPI.

The request target is written here, once: path segments percent-encoded
(:func:`target`), the query string after them. That exact text is what is
signed and what is sent (aiohttp is told not to re-encode it).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

import aiohttp
from yarl import URL

from ..canonical_json import encode_canonical_json
from ..keys import SigningKey
from ..request_auth import sign_request
from .loopback import ServerTable

__all__ = ["Exchange", "ExchangeObserver", "Unreachable", "HttpClient", "target"]


@dataclass(frozen=True)
class Exchange:
    """One request and its response, as they crossed the socket.

    ``request_body`` and ``response_body`` are the parsed JSON (None when
    there was no body, or the response was not JSON; ``response_text``
    then keeps what came).
    """

    origin: str | None
    destination: str
    method: str
    target: str
    request_body: Any
    status: int
    response_body: Any
    response_text: str = ""
    #: When the request left and its answer was read (``time.perf_counter_ns``):
    #: the order of messages when requests nest.
    sent_ns: int = 0
    answered_ns: int = 0

    @property
    def path(self) -> str:
        return self.target.split("?", 1)[0]

    @property
    def query(self) -> str:
        return self.target.split("?", 1)[1] if "?" in self.target else ""

    @property
    def errcode(self) -> str | None:
        body = self.response_body
        return body.get("errcode") if isinstance(body, dict) else None


ExchangeObserver = Callable[[Exchange], None]


class Unreachable(Exception):
    """The destination has no address or refused the connection (I/O, not protocol)."""


def target(template: str, query: Mapping[str, Any] | None = None, **params: str) -> str:
    """The request target: ``template`` with each ``{name}`` filled by its
    percent-encoded value, and the query string (None values left out, a
    list repeats its parameter)."""
    path = template.format(**{name: quote(value, safe="") for name, value in params.items()})
    pairs = [
        (k, str(item))
        for k, v in (query or {}).items()
        if v is not None
        for item in (v if isinstance(v, (list, tuple)) else [v])
    ]
    return path + ("?" + urlencode(pairs) if pairs else "")


class HttpClient:
    """Sends requests as ``origin`` (None: anonymous, nothing signed)."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        table: ServerTable,
        *,
        origin: str | None = None,
        signing_key: SigningKey | None = None,
        observer: ExchangeObserver | None = None,
    ) -> None:
        self.session = session
        self.table = table
        self.origin = origin
        self.signing_key = signing_key
        self.observer = observer

    async def get_url(self, url: str) -> Exchange:
        """GET an absolute URL another server handed out (a ``key_validity_url``):
        its host and port are a server name, resolved through the table like
        any other (``id.example.org:8090`` is not ``id.example.org``)."""
        parts = urlsplit(url)
        server_name = parts.netloc.rpartition("@")[2]
        return await self.request(server_name, "GET", parts.path + (f"?{parts.query}" if parts.query else ""))

    async def request(
        self, destination: str, method: str, request_target: str, *, body: Any = None, sign: bool = False,
        access_token: str | None = None,
    ) -> Exchange:
        """Send one request and wait for its whole answer.

        ``sign`` adds the ``X-Matrix`` authorization of ``origin``;
        ``access_token`` a bearer token (identity server endpoints).

        Raises:
            Unreachable: no address for ``destination``, or nobody answers there.
        """
        base = self.table.base_url(destination)
        if base is None:
            raise Unreachable(f"no address for server {destination!r}")
        headers = {}
        data = None
        if body is not None:
            data = encode_canonical_json(body)
            headers["Content-Type"] = "application/json"
        if sign:
            auth = sign_request(
                method=method, uri=request_target, origin=self.origin, destination=destination,
                key=self.signing_key, content=body,
            )
            headers["Authorization"] = auth.to_header()
        elif access_token is not None:
            headers["Authorization"] = f"Bearer {access_token}"
        sent_ns = time.perf_counter_ns()
        try:
            async with self.session.request(
                method, URL(base + request_target, encoded=True), data=data, headers=headers
            ) as response:
                raw = await response.read()
        except aiohttp.ClientConnectionError as exc:
            raise Unreachable(f"{destination} did not answer: {exc}") from None
        text = raw.decode("utf-8", errors="replace")
        try:
            parsed = json.loads(text) if raw else None
        except ValueError:
            parsed = None
        exchange = Exchange(self.origin, destination, method, request_target, body, response.status, parsed, text,
                            sent_ns, time.perf_counter_ns())
        if self.observer is not None:
            self.observer(exchange)
        return exchange

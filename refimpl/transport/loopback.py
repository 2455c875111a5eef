"""Servers on 127.0.0.1, found by name through a table, never through DNS.

Each server listens on an ephemeral port of the loopback interface; the
:class:`ServerTable` maps its server name to that port, and every client
resolves destinations through the same table, so a name nobody registered
is unreachable rather than looked up. A server can be stopped while its
entry stays (the name then refuses connections, as a server that is down
does) and started again on a new port.

Time is a :data:`Clock` passed in: the protocol core has none, and tests
use a :class:`ManualClock` they advance explicitly instead of sleeping.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from aiohttp import web

__all__ = ["Clock", "system_clock", "ManualClock", "ServerTable", "Loopback", "HOST"]

HOST = "127.0.0.1"

#: Milliseconds since the Unix epoch, the protocol's unit of time.
Clock = Callable[[], int]


def system_clock() -> int:
    return time.time_ns() // 1_000_000


@dataclass
class ManualClock:
    """A clock that moves only when told to."""

    now_ms: int

    def __call__(self) -> int:
        return self.now_ms

    def advance(self, ms: int) -> None:
        self.now_ms += ms


class ServerTable:
    """Server name -> loopback port. An unknown name has no address."""

    def __init__(self) -> None:
        self._ports: dict[str, int] = {}

    def register(self, server_name: str, port: int) -> None:
        self._ports[server_name] = port

    def base_url(self, server_name: str) -> str | None:
        port = self._ports.get(server_name)
        return None if port is None else f"http://{HOST}:{port}"

    def names(self) -> tuple[str, ...]:
        return tuple(self._ports)


@dataclass
class Loopback:
    """Starts and stops role applications under their server names."""

    table: ServerTable = field(default_factory=ServerTable)
    _runners: dict[str, web.AppRunner] = field(default_factory=dict)

    async def start(self, server_name: str, app: web.Application) -> int:
        """Serve ``app`` as ``server_name`` on a fresh port; returns the port."""
        runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await runner.setup()
        await web.TCPSite(runner, HOST, 0).start()
        port = runner.addresses[0][1]
        self._runners[server_name] = runner
        self.table.register(server_name, port)
        return port

    async def stop(self, server_name: str) -> None:
        """Take ``server_name`` down; its name stays in the table, unanswered."""
        runner = self._runners.pop(server_name)
        await runner.cleanup()

    async def close(self) -> None:
        for name in list(self._runners):
            await self.stop(name)

    async def __aenter__(self) -> "Loopback":
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

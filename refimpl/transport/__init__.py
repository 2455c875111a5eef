"""refimpl.transport: the only part of refimpl that opens sockets.

Thin aiohttp adapters over the pure protocol modules, one per role, and
the loopback harness that runs them on 127.0.0.1. The adapters read a
request, call the pure function that owns the step, and write its answer;
:class:`~refimpl.errors.MatrixError` values become status lines and
``{"errcode", "error"}`` bodies here and nowhere else.

Module map:

- :mod:`refimpl.transport.loopback`     server names -> 127.0.0.1 ports (no DNS); the clock
- :mod:`refimpl.transport.http_client`  one HTTP client per role; every exchange goes to an observer
- :mod:`refimpl.transport.keyring`      other servers' keys, fetched directly or through a notary, cached
- :mod:`refimpl.transport.http_server`  the aiohttp application of each role (homeserver, identity server)
"""

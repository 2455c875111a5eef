"""``specgen serve``: a live-reload preview of the spec on localhost.

Theory of operation. A :class:`Preview` holds the latest :class:`~specgen.build.Site`
in memory (nothing is written to disk) and serves it over HTTP with aiohttp.
A watchfiles task watches the corpus; each batch of changes goes to
:meth:`SiteBuilder.rebuild <specgen.build.SiteBuilder.rebuild>` in a worker
thread, which re-renders only the prose files the change affects, and then
bumps a version number. Every served page carries a small script that
long-polls ``/__reload?since=<version>`` and reloads when the version moves.

A build that reports errors does not stop the server: the pages are still
served (they are rendered whatever the diagnostics), with a banner at the
top listing each error at its ``file:line``. Even an unexpected exception in
a rebuild becomes such a banner, so a typo never kills the preview.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import html
import mimetypes
import os
import signal
import threading
import traceback
from pathlib import Path
from typing import Iterable

from aiohttp import web

from .build import SiteBuilder, Site
from .corpus import Corpus
from .diagnostics import BUG_REPORT, Collector, Diagnostic, Severity

__all__ = ["Preview", "serve_command", "add_serve_arguments", "RELOAD_PATH"]

RELOAD_PATH = "/__reload"
#: How long a reload poll waits for a change before answering anyway.
POLL_SECONDS = 25.0


class Preview:
    """The served state: a site, its errors, a version; and the app."""

    def __init__(self, corpus: Corpus, *, check: bool = False) -> None:
        self.builder = SiteBuilder(corpus, check=check, live_reload=True)
        self.version = 0
        self.site = Site({}, ())
        self._lock = threading.Lock()
        self._changed: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._publish(self._guarded(self.builder.build))

    @property
    def errors(self) -> list[Diagnostic]:
        return sorted(d for d in self.site.diagnostics if d.severity >= Severity.ERROR)

    def _guarded(self, run) -> Site:
        try:
            return run()
        except Exception:  # the preview must outlive any bug a rebuild hits
            if os.environ.get("SPECGEN_DEBUG"):
                traceback.print_exc()
            return Site(self.site.files, (Diagnostic("", 0, 0, "build.internal", Severity.ERROR,
                                                     f"the rebuild failed: {BUG_REPORT}"),))

    def _publish(self, site: Site) -> None:
        self.site = site
        self.version += 1
        if self._loop is not None and self._changed is not None:
            self._loop.call_soon_threadsafe(self._changed.set)

    def rebuild(self, changed: Iterable[Path]) -> Site:
        """Rebuild after ``changed`` (thread-safe) and tell waiting pages."""
        with self._lock:
            self._publish(self._guarded(lambda: self.builder.rebuild(changed)))
        return self.site

    # -- HTTP ----------------------------------------------------------------

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get(RELOAD_PATH, self._reload)
        app.router.add_get("/{path:.*}", self._file)
        app.on_startup.append(self._started)
        return app

    async def _started(self, app: web.Application) -> None:
        self._loop = asyncio.get_running_loop()
        self._changed = asyncio.Event()

    async def _reload(self, request: web.Request) -> web.Response:
        since = request.query.get("since")
        if since == str(self.version):
            self._changed.clear()
            if since == str(self.version):  # a rebuild may have landed in between
                try:
                    await asyncio.wait_for(self._changed.wait(), POLL_SECONDS)
                except asyncio.TimeoutError:
                    pass
        return web.json_response({"version": str(self.version), "errors": [d.location + ": " + d.message
                                                                          for d in self.errors]},
                                 headers={"Cache-Control": "no-store"})

    async def _file(self, request: web.Request) -> web.Response:
        path = request.match_info["path"] or "index.html"
        if path.endswith("/"):
            path += "index.html"
        data = self.site.files.get(path)
        if data is None:
            return web.Response(status=404, text=f"{path} is not part of the built spec")
        content_type = mimetypes.guess_type(path)[0] or "application/octet-stream"
        if path.endswith(".html") and self.errors:
            data = _with_banner(data, self.errors)
        return web.Response(body=data, content_type=content_type,
                            charset="utf-8" if content_type.startswith(("text/", "application/javascript")) else None,
                            headers={"Cache-Control": "no-store"})


def _with_banner(page: bytes, errors: list[Diagnostic]) -> bytes:
    """The page with the build's errors listed at the top of its body."""
    items = "".join(f"<li><code>{html.escape(d.location)}</code> {html.escape(d.message)}"
                    f" <span class=\"code\">[{html.escape(d.code)}]</span></li>" for d in errors)
    banner = (f'<div class="build-errors" role="alert"><strong>The build has {len(errors)} '
              f'error{"s" if len(errors) != 1 else ""}:</strong><ul>{items}</ul></div>').encode("utf-8")
    head, marker, tail = page.partition(b"<main>")
    return head + marker + banner + tail if marker else banner + page


async def _watch(preview: Preview, roots: list[Path], stop: asyncio.Event) -> None:
    from watchfiles import awatch

    async for changes in awatch(*roots, stop_event=stop, debounce=100, step=20):
        paths = {Path(p) for _, p in changes}
        await asyncio.to_thread(preview.rebuild, paths)


def watched_roots(corpus: Corpus) -> list[Path]:
    """The corpus folders that exist, without ones nested in another."""
    folders = [corpus.spec_dir, corpus.schema_dir, corpus.example_dir, corpus.api_dir, corpus.template_dir]
    existing = sorted({f for f in folders if f.is_dir()})
    return [f for f in existing if not any(o in f.parents for o in existing)]


async def run(preview: Preview, host: str, port: int, stop: asyncio.Event,
              ready: "asyncio.Future[int] | None" = None) -> None:
    """Serve and watch until ``stop`` is set; ``ready`` gets the bound port."""
    runner = web.AppRunner(preview.app(), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    bound = site._server.sockets[0].getsockname()[1]
    if ready is not None:
        ready.set_result(bound)
    watcher = asyncio.create_task(_watch(preview, watched_roots(preview.builder.corpus), stop))
    try:
        await stop.wait()
    finally:
        stop.set()
        watcher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watcher
        if preview._changed is not None:
            preview._changed.set()  # answer waiting reload polls now, not in POLL_SECONDS
        await runner.cleanup()


def add_serve_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8000, help="port (default: 8000; 0 picks a free one)")
    parser.add_argument("--check", action="store_true", help="also run lint and example validation on each rebuild")


def serve_command(corpus: Corpus, args: argparse.Namespace, collector: Collector) -> int | None:
    """``specgen serve``: runs until one Ctrl-C (or SIGTERM), which stops
    the watcher, answers waiting pages and closes the server; build errors
    show in the pages, not in the exit status."""
    preview = Preview(corpus, check=args.check)

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        ready = loop.create_future()
        ready.add_done_callback(lambda f: print(f"specgen serve: http://{args.host}:{f.result()}/ "
                                                f"(watching {corpus.root}; Ctrl-C stops)", flush=True))
        await run(preview, args.host, args.port, stop, ready)

    asyncio.run(main())
    print("specgen serve: stopped", flush=True)
    return 0

"""``specgen serve`` over real HTTP on 127.0.0.1, with the real watcher:
a prose edit reloads the page, rebuilds only its own file, and a build error
shows in the page with its location while the server keeps serving."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import aiohttp

from specgen.corpus import Corpus
from specgen.serve import RELOAD_PATH, Preview, run

GOOD = Path(__file__).resolve().parents[1] / "corpora" / "build" / "good"
WAIT = 20  # seconds a change may take to arrive; the test never sleeps


async def scenario(root: Path) -> None:
    preview = Preview(Corpus(root))
    stop = asyncio.Event()
    ready = asyncio.get_running_loop().create_future()
    server = asyncio.create_task(run(preview, "127.0.0.1", 0, stop, ready))
    port = await asyncio.wait_for(ready, WAIT)
    base = f"http://127.0.0.1:{port}"
    try:
        async with aiohttp.ClientSession() as http:
            async def get(path: str) -> tuple[int, str]:
                async with http.get(base + path) as response:
                    return response.status, await response.text()

            status, page = await get("/rooms/v3.html")
            assert status == 200 and "static/livereload.js" in page and "build-errors" not in page
            assert (await get("/static/style.css"))[0] == 200
            assert (await get("/nothing.html"))[0] == 404
            async with http.get(base + RELOAD_PATH) as response:
                version = (await response.json())["version"]

            # Narrative: the author breaks a placeholder name; the open page
            # is told to reload, and shows the error at events.rst:12.
            events = root / "specification" / "events.rst"
            events.write_text(events.read_text().replace("{{m_room_message_event}}", "{{m_room_mesage_event}}"))
            async with http.get(base + RELOAD_PATH, params={"since": version}) as response:
                state = await asyncio.wait_for(response.json(), WAIT)
            assert state["version"] != version
            assert any(e.startswith("specification/events.rst:12:1: unknown placeholder") for e in state["errors"])
            assert preview.builder.rendered_last == ["specification/events.rst"]
            status, page = await get("/rooms/v3.html")
            assert status == 200 and 'class="build-errors"' in page and "specification/events.rst:12:1" in page

            # The author fixes it; the banner goes away.
            version = state["version"]
            events.write_text(events.read_text().replace("{{m_room_mesage_event}}", "{{m_room_message_event}}"))
            async with http.get(base + RELOAD_PATH, params={"since": version}) as response:
                state = await asyncio.wait_for(response.json(), WAIT)
            assert state["errors"] == []
            assert "build-errors" not in (await get("/server-server-api.html"))[1]
    finally:
        stop.set()
        await asyncio.wait_for(server, WAIT)


def test_live_reload_over_http(tmp_path):
    asyncio.run(scenario(shutil.copytree(GOOD, tmp_path / "c")))


def test_a_data_edit_rerenders_only_the_files_placing_it(tmp_path):
    root = shutil.copytree(GOOD, tmp_path / "c")
    preview = Preview(Corpus(root))
    schema = root / "event-schemas" / "schema" / "m.room.message.yaml"
    schema.write_text(schema.read_text().replace("The text of the message.", "The message text, edited."))
    site = preview.rebuild([schema])
    assert preview.builder.rendered_last == ["specification/events.rst"]
    assert "The message text, edited." in site.files["server-server-api.html"].decode()
    shared = root / "event-schemas" / "schema" / "core-event-schema" / "event.yaml"
    shared.write_text(shared.read_text().replace("The fields every event has.", "Shared, edited."))
    preview.rebuild([shared])
    assert sorted(preview.builder.rendered_last) == ["specification/events.rst", "specification/index.rst",
                                                      "specification/server-server-api.rst"]


def test_a_broken_template_is_a_located_error_and_the_last_good_pages_stay(tmp_path):
    root = shutil.copytree(GOOD, tmp_path / "c")
    preview = Preview(Corpus(root))
    pages = dict(preview.site.files)
    broken = root / "templates" / "page.html"
    broken.parent.mkdir()
    broken.write_text("<html>\n{% if %}")
    site = preview.rebuild([broken])
    assert [(d.code, d.location) for d in preview.errors] == [("build.template", "templates/page.html:2:1")]
    assert site.files == pages  # the last good pages are still served
    broken.unlink()
    preview.rebuild([broken])
    assert preview.errors == []


def test_an_exception_in_a_rebuild_becomes_an_error_banner(tmp_path, monkeypatch):
    root = shutil.copytree(GOOD, tmp_path / "c")
    preview = Preview(Corpus(root))
    pages = dict(preview.site.files)

    def bug(changed):
        raise RuntimeError("a bug in specgen")

    monkeypatch.setattr(preview.builder, "rebuild", bug)
    site = preview.rebuild([root / "specification" / "index.rst"])
    assert [d.code for d in preview.errors] == ["build.internal"]
    message = preview.errors[0].message
    assert "bug in specgen" in message and "report" in message and "RuntimeError" not in message
    assert site.files == pages  # the last good pages are still served

"""The built spec in a real browser: Debian's headless Chromium, driven by
Selenium, one session for every check.

Every page loads from disk without console errors; every link between pages
and every ``#anchor`` resolves as the browser resolves it; the client-side
search finds an event and an endpoint and takes the reader there. One
screenshot goes to docs/screenshot.png for the README when
SPECGEN_UPDATE_SCREENSHOT is set (so a test run leaves the tree clean).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from specgen.build import build_site, publish
from specgen.corpus import Corpus
from specgen.diagnostics import Collector

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parents[2]
FIXTURE = REPO / "tests" / "corpora" / "build" / "good"
#: A tree in matrix-doc's legacy layout (gendoc.py's targets and placeholders).
LEGACY = REPO / "tests" / "corpora" / "legacy"
CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
SCREENSHOT = REPO / "docs" / "screenshot.png"
INVITE = "PUT /_matrix/federation/v2/invite/{roomId}/{eventId}"


def built(root: Path, out: Path) -> Path | None:
    return out if publish(build_site(Corpus(root), check=False), out, Collector(), root) else None


@pytest.fixture(scope="module")
def sites(tmp_path_factory):
    """The fixture corpora, a corpus new from ``specgen init`` (the same
    HTML the installed wheel builds, tests/packaging checks), and the
    project's own spec when it builds cleanly (it is written alongside this
    code and may not yet)."""
    from specgen.cli import main

    base = tmp_path_factory.mktemp("sites")
    fixture = built(FIXTURE, base / "fixture")
    legacy = built(LEGACY, base / "legacy")
    assert fixture is not None and legacy is not None
    assert main(["init", str(base / "new-corpus")]) == 0
    found = {"fixture": fixture, "legacy": legacy, "init": built(base / "new-corpus", base / "init")}
    assert found["init"] is not None
    real = built(REPO, base / "real") if (REPO / "specification" / "targets.yaml").is_file() else None
    if real is not None:
        found["real"] = real
    return found


@pytest.fixture(scope="module")
def driver(tmp_path_factory):
    if not CHROMIUM.exists() or not CHROMEDRIVER.exists():
        pytest.skip("needs Debian's chromium and chromium-driver (/usr/bin/chromium, /usr/bin/chromedriver): make browser")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--window-size=1280,900", f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    browser = webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)), options=options)
    try:
        yield browser
    finally:
        browser.quit()


_PAGE_FACTS = """
return {
  ids: Array.from(document.querySelectorAll('[id]')).map(e => e.id),
  links: Array.from(document.querySelectorAll('a[href], link[href], script[src]'))
              .map(e => e.href || e.src),
  stylesheets: Array.from(document.styleSheets).map(s => s.href),
};
"""


def errors_in(log):
    return [entry for entry in log if entry["level"] in ("SEVERE", "ERROR")]


@pytest.mark.parametrize("which", ["fixture", "legacy", "init", "real"])
def test_every_page_loads_cleanly_and_every_link_resolves(driver, sites, which):
    if which not in sites:
        pytest.skip("the project's own spec does not build cleanly yet (see `specgen build`)")
    root = sites[which]
    pages = sorted(root.rglob("*.html"))
    facts = {}
    for page in pages:
        driver.get(page.as_uri())
        facts[page.as_uri()] = driver.execute_script(_PAGE_FACTS)
        assert not errors_in(driver.get_log("browser")), page
        assert facts[page.as_uri()]["stylesheets"] == [(root / "static" / "style.css").as_uri()]
    broken = []
    for page, seen in facts.items():
        for link in seen["links"]:
            if not link.startswith("file://"):
                continue
            target, _, anchor = link.partition("#")
            if target.endswith(".html"):
                if target not in facts or (anchor and anchor not in facts[target]["ids"]):
                    broken.append((page, link))
            elif not Path(target[len("file://"):]).is_file():
                broken.append((page, link))
    assert not broken


def search(driver, query):
    from selenium.webdriver.common.by import By

    box = driver.find_element(By.ID, "search-box")
    box.clear()
    box.send_keys(query)
    return driver.find_elements(By.CSS_SELECTOR, "#search-results li a")


@pytest.mark.parametrize(("query", "anchor"), [
    ("m.room.member", "m.room.member"),
    (INVITE, "put-_matrix-federation-v2-invite-roomid-eventid"),
])
def test_search_finds_and_takes_the_reader_there(driver, sites, query, anchor):
    start = sites["fixture"] / "rooms" / "v3.html"  # a page in a sub-folder: links must still resolve
    driver.get(start.as_uri())
    results = search(driver, query)
    assert results and results[0].text == query
    results[0].click()
    assert driver.execute_script("return location.hash") == f"#{anchor}"
    assert driver.execute_script("return document.getElementById(arguments[0]) !== null", anchor)
    assert not errors_in(driver.get_log("browser"))


def test_screenshot(driver, sites, tmp_path):
    site = sites.get("real", sites["fixture"])
    page = site / "server-server-api.html"
    driver.get(page.as_uri() + "#" + ("put-_matrix-federation-v2-invite-roomid-eventid"))
    shot = tmp_path / "screenshot.png"
    assert driver.save_screenshot(str(shot))
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    if os.environ.get("SPECGEN_UPDATE_SCREENSHOT"):
        SCREENSHOT.parent.mkdir(exist_ok=True)
        shutil.copyfile(shot, SCREENSHOT)

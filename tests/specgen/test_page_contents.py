"""A page's section numbers and its table of contents cover all of its
files, as gendoc.py's concatenated page did, although each file renders on
its own (tests/corpora/legacy: client_server_api.rst holds ``.. contents::``
and ``.. sectnum::``; modules.rst and the two module files follow it)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from specgen.build import build_site
from specgen.corpus import Corpus
from specgen.page_contents import number_and_list

CORPORA = Path(__file__).resolve().parents[1] / "corpora"

_SECTION = re.compile(r'<section\b[^>]*?\bid="([^"]+)"[^>]*>\s*(?:<span\b[^>]*></span>\s*)*<h[1-6][^>]*>(.*?)</h[1-6]>',
                      re.S)


@pytest.fixture(scope="module")
def site():
    return build_site(Corpus(CORPORA / "legacy"), check=False)


def headings(page: str) -> list[tuple[str, str, str]]:
    """(section id, its number or "", the id its title links back to or "")."""
    out = []
    for anchor, inner in _SECTION.findall(page):
        number = re.search(r'<span class="sectnum">([\d.]+) </span>', inner)
        back = re.search(r'<a class="toc-backref" href="#([^"]+)"', inner)
        out.append((anchor, number.group(1) if number else "", back.group(1) if back else ""))
    return out


def test_the_contents_of_the_first_file_list_every_file_of_the_page(site):
    page = site.files["client_server/unstable.html"].decode("utf-8")
    contents = re.search(r'<nav class="contents".*?</nav>', page, re.S).group(0)
    listed = re.findall(r'href="#([^"]+)" id="(toc-entry-\d+)"', contents)
    found = headings(page)
    # The page's one top section is its title: neither numbered nor listed.
    assert found[0][0] == "client-server-api" and found[0][1:] == ("", "")
    assert [anchor for anchor, _ in listed] == [anchor for anchor, _, _ in found[1:]]
    for anchor in ("modules", "greetings", "farewells"):
        assert anchor in dict(listed), anchor
    # Each listed title links back to its entry, and the entry ids are unique.
    assert [back for _, _, back in found[1:]] == [entry for _, entry in listed]
    assert len(set(re.findall(r'id="([^"]+)"', page))) == len(re.findall(r'id="([^"]+)"', page))


def test_sections_are_numbered_across_the_files_of_the_page(site):
    page = site.files["client_server/unstable.html"].decode("utf-8")
    numbers = [number for _, number, _ in headings(page)[1:]]
    assert all(numbers)
    tops = [n for n in numbers if "." not in n]
    assert tops == [str(i) for i in range(1, len(tops) + 1)] and len(tops) >= 3
    for before, after in zip(numbers, numbers[1:]):
        a, b = [int(x) for x in before.split(".")], [int(x) for x in after.split(".")]
        # Either one level deeper starting at 1, or the next at some level above.
        assert b == a + [1] or (len(b) <= len(a) and b[:-1] == a[:len(b) - 1] and b[-1] == a[len(b) - 1] + 1)
    modules = dict((anchor, number) for anchor, number, _ in headings(page))["modules"]
    assert dict((anchor, number) for anchor, number, _ in headings(page))["greetings"] == modules + ".1"


def test_the_search_index_carries_the_page_wide_numbers(site):
    page = site.files["client_server/unstable.html"].decode("utf-8")
    numbers = {anchor: number for anchor, number, _ in headings(page)}
    index = json.loads(site.files["search-index.js"].decode("utf-8").split("=", 1)[1].rstrip().rstrip(";"))
    titles = {e["u"].split("#")[1]: e["t"] for e in index if e["u"].startswith("client_server/unstable.html#")}
    assert titles["greetings"] == f"{numbers['greetings']} Greetings"
    assert titles["client-server-api"] == "Client-Server API"


def test_pages_without_contents_or_numbers_are_left_as_rendered():
    site = build_site(Corpus(CORPORA / "build" / "good"), check=False)
    assert not any(b'class="sectnum"' in body or b'class="contents' in body for body in site.files.values())


def test_nothing_to_number_returns_the_same_files(site):
    assert number_and_list(()) == ()

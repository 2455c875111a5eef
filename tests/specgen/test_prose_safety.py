"""Prose from an untrusted corpus: nothing in it reads another file or
publishes unreviewed markup, and a prose file that cannot be read or
decoded is a located error, never a traceback or an empty page."""

from __future__ import annotations

import html
import os
import re
import shutil
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from specgen.build import SiteBuilder
from specgen.corpus import Corpus
from specgen.placeholders import inline_text
from specgen.rst import render_file
from specgen.script_uris import runs_script, script_in_markup

GOOD = Path(__file__).resolve().parents[1] / "corpora" / "build" / "good"


def _render(text: str, **kwargs):
    return render_file(text, "x.rst", expand=lambda name: None, title_styles=("=", "-"), depth=0, **kwargs)


@pytest.mark.parametrize("text, line", [
    ("Title\n=====\n\n.. raw:: html\n\n   <script>alert(1)</script>\n", 4),
    # docutils places an inline role's messages at the line after its paragraph's start
    (".. role:: html(raw)\n   :format: html\n\nSome :html:`<script>alert(1)</script>` here.\n", 5),
    ("Intro.\n\n.. include:: /etc/passwd\n", 3),
    ("Intro.\n\n.. raw:: html\n   :file: /etc/passwd\n", 3),
    ("Intro.\n\n.. csv-table:: T\n   :file: /etc/passwd\n", 3),
    ("Intro.\n\n.. csv-table:: T\n   :url: file:///etc/passwd\n", 3),
])
def test_file_insertion_and_raw_markup_are_located_errors(text, line):
    rendered = _render(text)
    found = [(d.code, d.line, str(d.severity)) for d in rendered.diagnostics]
    assert ("rst.disabled", line, "error") in found, found
    assert "<script>" not in rendered.body and "root:" not in rendered.body


def test_a_trusted_corpus_may_allow_raw_html_but_never_file_insertion():
    allowed = _render(".. raw:: html\n\n   <b id=\"trusted\">hi</b>\n", allow_raw_html=True)
    assert '<b id="trusted">' in allowed.body and not allowed.diagnostics
    still = _render(".. raw:: html\n   :file: /etc/passwd\n", allow_raw_html=True)
    assert [d.code for d in still.diagnostics] == ["rst.disabled"]


@pytest.mark.parametrize("text, line", [
    ("Click `here <javascript:alert(1)>`_.\n", 1),
    ("Intro.\n\nClick `here <JaVaScRiPt:alert(1)>`__.\n", 3),
    # docutils drops the whitespace a URI is wrapped with; a browser drops tabs
    ("Click `here <java\nscript:alert(1)>`_.\n", 1),
    ("Click `here <vbscript:msgbox(1)>`_.\n", 1),
    ("Click `here <data:text/html;base64,PHNjcmlwdD4=>`_.\n", 1),
    ("Click javascript:alert(1) as text.\n", 1),
    ("See t_.\n\n.. _t: javascript:alert(1)\n", 1),
    ("Intro.\n\n.. image:: javascript:alert(1)\n", 3),
    ("Intro.\n\n.. image:: picture.png\n   :target: javascript:alert(1)\n", 3),
])
def test_links_a_browser_would_run_as_script_are_located_errors_and_not_written(text, line):
    rendered = _render(text)
    found = [(d.code, d.line, str(d.severity)) for d in rendered.diagnostics]
    assert ("rst.unsafe-link", line, "error") in found, found
    body = rendered.body.lower()
    assert "script:" not in body.replace("javascript:alert(1) as text", "") and "data:" not in body


def test_ordinary_links_are_written_as_they_are():
    rendered = _render("See `a <https://example.org/a>`_, `b <mailto:b@example.org>`_, `c <c.html#x>`_, "
                       "`d <#d>`_ and `e <mxc://example.org/e>`_.\n\n.. _d:\n\nThere.\n")
    assert not rendered.diagnostics
    for href in ("https://example.org/a", "mailto:b&#64;example.org", "c.html#x", "mxc://example.org/e"):
        assert f'href="{href}"' in rendered.body


@pytest.mark.parametrize("uri, runs", [
    ("javascript:alert(1)", True), (" \x01JAVASCRIPT:x", True), ("java\tscr\nipt:x", True), ("vbscript:x", True),
    ("data:text/html,x", True), ("https://example.org/javascript:x", False), ("#javascript:x", False),
    ("javascript", False), ("./javascript:x", False), ("mailto:a@b", False), ("", False),
])
def test_runs_script_reads_the_scheme_as_a_browser_does(uri, runs):
    assert runs_script(uri) is runs


_SCHEMES = st.sampled_from(["javascript", "vbscript", "data", "https", "mailto", "mxc"])


@st.composite
def _disguised_uri(draw) -> str:
    """A URI whose scheme is written in any case, with tabs or line breaks
    inside and spaces or controls before it, as a browser forgives."""
    scheme = "".join(c.upper() if draw(st.booleans()) else c for c in draw(_SCHEMES))
    cut = draw(st.integers(0, len(scheme)))
    scheme = scheme[:cut] + draw(st.sampled_from(["", "\t", "\n", "\r\n"])) + scheme[cut:]
    return draw(st.sampled_from(["", " ", "\x01"])) + scheme + ":" + draw(st.from_regex(r"[a-z0-9(),/]{0,12}", fullmatch=True))


@settings(max_examples=60, deadline=None)
@given(st.lists(_disguised_uri(), min_size=1, max_size=4), st.sampled_from(["link", "image", "description"]))
def test_no_written_link_or_image_runs_script(uris, form):
    """Whatever the case, whitespace or form of the link, nothing the
    prose or a description writes as href or src runs script."""
    if form == "description":
        written = str(inline_text(" ".join(f"[x{i}]({uri})" for i, uri in enumerate(uris))))
    else:
        rst = "".join(f"`x{i} <{uri}>`_ " if form == "link" else f"\n\n.. image:: {uri.strip() or 'x'}\n"
                      for i, uri in enumerate(uris))
        written = _render("Intro.\n\n" + rst + "\n").body
    for target in re.findall(r'(?:href|src)="([^"]*)"', written):
        assert not runs_script(html.unescape(target)), (target, written)


def test_description_links_that_run_script_are_written_as_text():
    html = str(inline_text("Read [the guide](javascript:alert(1)) or [the spec](https://spec.example/x)."))
    assert "javascript" not in html and "the guide" in html
    assert '<a href="https://spec.example/x">the spec</a>' in html


def test_prose_nested_beyond_what_docutils_parses_is_a_located_error(tmp_path):
    rendered = _render("Intro.\n\n" + "- " * 400 + "deep\n\nAfter.\n")
    assert [(d.code, d.line) for d in rendered.diagnostics] == [("rst.too-deep", 3)]
    assert rendered.body == ""
    root = _corpus(tmp_path)
    path = root / "specification" / "events.rst"
    path.write_text(path.read_text() + "\n\n" + "* " * 300 + "deep\n")
    site = SiteBuilder(Corpus(root), check=False).build()
    lines = path.read_text().count("\n")
    assert [(d.path, d.line) for d in site.diagnostics if d.code == "rst.too-deep"] == [
        ("specification/events.rst", lines)]


def _corpus(tmp_path: Path) -> Path:
    return shutil.copytree(GOOD, tmp_path / "c")


def test_prose_that_is_not_utf8_is_located(tmp_path):
    root = _corpus(tmp_path)
    path = root / "specification" / "events.rst"
    path.write_bytes(path.read_bytes().replace(b"Messages", b"Mess\xe4ges"))
    site = SiteBuilder(Corpus(root), check=False).build()
    found = [(d.path, d.line, d.column, d.code) for d in site.diagnostics if d.code == "rst.source"]
    assert found == [("specification/events.rst", 9, 5, "rst.source")]


def test_unreadable_outside_and_vanished_prose_are_located(tmp_path):
    root = _corpus(tmp_path)
    spec = root / "specification"
    secret = tmp_path / "secret.rst"
    secret.write_text("Secret\n======\n\nhunter2\n")
    (spec / "events.rst").unlink()
    os.mkfifo(spec / "events.rst")  # unreadable without blocking forever
    (spec / "index.rst").unlink()
    (spec / "index.rst").symlink_to(secret)
    builder = SiteBuilder(Corpus(root), check=False)
    site = builder.build()
    found = {(d.path, d.code) for d in site.diagnostics}
    assert {("specification/events.rst", "rst.source"), ("specification/index.rst", "ref.outside-corpus")} <= found
    assert not any(b"hunter2" in data for data in site.files.values())
    (spec / "rooms" / "v3.rst").unlink()
    rebuilt = builder.rebuild([spec / "rooms" / "v3.rst"])
    assert any(d.code == "build.targets" and "rooms/v3.rst" in d.message for d in rebuilt.diagnostics)


# -- templates: a corpus's own templates/ is untrusted too ---------------------------


def test_a_corpus_template_cannot_run_code(tmp_path):
    root = _corpus(tmp_path)
    marker = tmp_path / "ran"
    (root / "templates").mkdir()
    (root / "templates" / "page.html").write_text(
        "<main>{{ body }}</main>\n"
        f"{{{{ cycler.__init__.__globals__.os.system('touch {marker}') }}}}\n")
    site = SiteBuilder(Corpus(root), check=False).build()
    found = [(d.path, d.line, d.code) for d in site.diagnostics if d.code == "build.template"]
    assert ("templates/page.html", 2, "build.template") in found, site.diagnostics
    assert not marker.exists()


def test_a_corpus_template_linked_out_of_the_corpus_is_not_read(tmp_path):
    root = _corpus(tmp_path)
    secret = tmp_path / "secret.html"
    secret.write_text("hunter2 {{ body }}")
    (root / "templates").mkdir()
    (root / "templates" / "page.html").symlink_to(secret)
    site = SiteBuilder(Corpus(root), check=False).build()
    assert any(d.code == "build.template" for d in site.diagnostics)
    assert not any(b"hunter2" in data for data in site.files.values())


def _ours(src: str) -> bool:
    return src.replace("../", "") in ("search-index.js", "static/search.js")


@pytest.mark.parametrize("markup, finds", [
    ("<p>Hello <b>there</b></p>", False),
    ('<script src="../static/search.js"></script>\n<script src="search-index.js"></script>', False),
    ("<pre>&lt;script&gt;alert(1)&lt;/script&gt; onload=x</pre>", False),
    ('<p title="data: the bytes">x</p>', False),
    ('<script src="https://cdn.example/x.js"></script>', True),
    ('<script src="../static/search.js">alert(1)</script>', True),
    ("<svg/onload=alert(1)>", True),
    ('<img src="x.png" onerror="alert(1)">', True),
    ('<a href="java&#x09;script:alert(1)">x</a>', True),
    ('<a href="DATA:text/html,x">x</a>', True),
    ('<img srcset="a.png 1x, javascript:alert(1) 2x">', True),
    ('<iframe srcdoc="x"></iframe>', True),
    ('<meta http-equiv="Refresh" content="0; url=https://elsewhere.example">', True),
    ('<base href="https://elsewhere.example/">', True),
    ('<script src="../static/search.js"></script><scr<script>ipt>alert(1)</script>', True),
])
def test_script_in_markup_finds_what_a_browser_would_run(markup, finds):
    assert bool(script_in_markup(markup, _ours)) is finds

"""``specgen build`` on fixture corpora: structure of the output, stable
anchors, injected faults, and all-or-nothing writes."""

from __future__ import annotations

import gc
import json
import multiprocessing
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path

import pytest
import yaml

from specgen.build import SiteBuilder, build_site, check_links, load_targets, publish
from specgen.corpus import Corpus
from specgen.diagnostics import Collector, Severity

BUILD_CORPORA = Path(__file__).resolve().parents[1] / "corpora" / "build"
GOOD = BUILD_CORPORA / "good"
FAULTS = yaml.safe_load((BUILD_CORPORA / "faults.yaml").read_text("utf-8"))


class Tree(HTMLParser):
    """Just enough of the DOM for assertions: ids, elements by id with the
    text and tags inside them."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.ids: list[str] = []
        self.tags: list[tuple[str, dict]] = []
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.tags.append((tag, attrs))
        if attrs.get("id"):
            self.ids.append(attrs["id"])


def section(html: str, anchor: str) -> str:
    """The HTML of the generated section at ``anchor`` (up to the next one)."""
    start = html.index(f'id="{anchor}"')
    end = html.find('<section class="generated', start + 1)
    return html[start:end if end > 0 else len(html)]


@pytest.fixture(scope="module")
def site():
    return build_site(Corpus(GOOD))


@pytest.fixture(scope="module")
def pages(site):
    return {name: data.decode("utf-8") for name, data in site.files.items() if name.endswith(".html")}


def test_good_corpus_builds_without_errors(site):
    assert not [d for d in site.diagnostics if d.severity >= Severity.ERROR]
    assert sorted(n for n in site.files if n.endswith(".html")) == [
        "index.html", "rooms/index.html", "rooms/v3.html", "server-server-api.html"]


def test_event_section(pages):
    html = section(pages["server-server-api.html"], "m.room.member")
    assert "<h4>m.room.member" in html  # events.rst sits one level below the page's first file
    assert "State event" in html and "The user ID whose membership this event sets." in html
    assert "<caption>Content</caption>" in html
    for nested in ("Invite", "Signed"):
        assert f"<caption>{nested}</caption>" in html
    assert '<a href="#m.room.member-content-invite">Invite</a>' in html
    assert "{Server Name: {string: string}}" in html
    assert "string|null" in html
    assert 'One of: <code>invite</code>, <code>join</code>' in html
    assert '<tr class="deprecated">' in html
    assert html.count('<pre class="code json literal-block">') == 2  # plain example and the #third_party_invite variant
    assert "third_party_invite</code>" in html and '<span class="nt">' in html
    message = section(pages["server-server-api.html"], "m.room.message")
    assert "Message event" in message and "[string]" in message and "{string: integer}" in message
    assert "string|[<a" in message  # oneOf with a linked array of objects


def test_endpoint_section(pages):
    html = section(pages["server-server-api.html"], "put-_matrix-federation-v2-invite-roomid-eventid")
    assert "PUT /_matrix/federation/v2/invite/{roomId}/{eventId}" in html
    assert "<caption>Path parameters</caption>" in html
    assert "<caption>Request body</caption>" in html and "<caption>StrippedStateEvent</caption>" in html
    assert "Requires authentication:</th><td>Yes" in html and "Rate-limited:</th><td>No" in html
    assert "PUT /_matrix/federation/v2/invite/!room:example.org/$invite:example.org" in html
    assert "<code>200</code>" in html and "<code>400</code>" in html
    assert "M_INCOMPATIBLE_ROOM_VERSION" in html
    keys = section(pages["server-server-api.html"], "get-_matrix-key-v2-server-keyid")
    assert "Deprecated" in keys and "Rate-limited:</th><td>Yes" in keys
    assert "<caption>Query parameters</caption>" in keys and "{Key ID: <a" in keys
    assert "GET /_matrix/key/v2/server/ed25519:1?format=json" in keys


def test_definition_and_common_fields(pages):
    html = section(pages["server-server-api.html"], "definition-invite_event")
    assert "<h3>InviteEvent" in html and "<caption>Membership Event Content</caption>" in html
    index = pages["index.html"]
    for anchor in ("common-event-fields", "common-room-event-fields", "common-state-event-fields"):
        assert f'id="{anchor}"' in index
    assert "<caption>State event fields</caption>" in index
    # allOf chains are merged: the state event table has the room event's fields too
    assert "origin_server_ts" in index[index.index('id="common-state-event-fields"'):]


def test_unstable_endpoint_warns_and_names_its_unstable_path(pages):
    html = section(pages["server-server-api.html"], "put-_matrix-federation-v1-knock-roomid")
    assert '<p class="admonition-title">Unstable</p>' in html
    assert "<code>PUT /_matrix/federation/unstable/org.example.msc1/knock/{roomId}</code>" in html
    assert "Unstable" not in section(pages["server-server-api.html"], "put-_matrix-federation-v2-invite-roomid-eventid")


def test_every_definition_is_shown_somewhere(site):
    # membership_content is placed by no page, but invite_event shows it.
    assert not [d for d in site.diagnostics if d.code == "build.unplaced"]


def test_page_chrome(pages):
    for name, html in pages.items():
        tree = Tree(html)
        stylesheets = [a["href"] for t, a in tree.tags if t == "link" and a.get("rel") == "stylesheet"]
        assert stylesheets == ["../static/style.css" if "/" in name else "static/style.css"]
        assert "<style" not in html and "http://" not in html.replace("http://www.w3.org", "")
        hrefs = [a.get("href", "") for t, a in tree.tags if t == "a"] + [a.get("src", "") for t, a in tree.tags if t == "script"]
        assert not [h for h in hrefs if h.startswith(("/", "https://cdn", "//"))]
        assert len(tree.ids) == len(set(tree.ids)), "anchors are unique in every page"
        nav = [a["href"] for t, a in tree.tags if t == "a" and a.get("href", "").endswith(".html")]
        assert len([h for h in nav if "#" not in h]) >= 4  # every page in the sidebar
    assert "unstable-banner" in pages["rooms/v3.html"] and "unstable-banner" not in pages["index.html"]
    assert 'class="self-link"' in pages["index.html"]
    assert 'class="toc"' in pages["server-server-api.html"]


def test_search_index_lists_events_endpoints_definitions_and_sections(site):
    text = site.files["search-index.js"].decode("utf-8")
    entries = json.loads(text[text.index("["):text.rindex("]") + 1])
    found = {(e["t"], e["k"], e["u"]) for e in entries}
    assert ("m.room.member", "event", "server-server-api.html#m.room.member") in found
    assert ("PUT /_matrix/federation/v2/invite/{roomId}/{eventId}", "endpoint",
            "server-server-api.html#put-_matrix-federation-v2-invite-roomid-eventid") in found
    assert ("InviteEvent", "definition", "server-server-api.html#definition-invite_event") in found
    assert ("Room versions", "section", "rooms/index.html#room-versions") in found
    assert ("PUT /_matrix/federation/v1/knock/{roomId} (unstable)", "endpoint",
            "server-server-api.html#put-_matrix-federation-v1-knock-roomid") in found


def test_bundled_openapi_has_every_ref_inlined(site):
    bundled = json.loads(site.files["openapi/server-server/invites-v2.json"])
    assert "$ref" not in json.dumps(bundled)
    body = bundled["paths"]["/v2/invite/{roomId}/{eventId}"]["put"]["requestBody"]["content"]["application/json"]
    assert body["schema"]["properties"]["event"]["title"] == "InviteEvent"


def test_anchors_do_not_move_when_sections_do(tmp_path, site):
    corpus = shutil.copytree(GOOD, tmp_path / "c")
    events = corpus / "specification" / "events.rst"
    text = events.read_text()
    a, b = "{{m_room_member_event}}", "{{m_room_message_event}}"
    events.write_text(text.replace(a, "@@").replace(b, a).replace("@@", b)
                      + "\nAdded later\n-----------\n\nNew prose.\n")
    moved = build_site(Corpus(corpus))
    before = set(Tree(site.files["server-server-api.html"].decode()).ids)
    after = set(Tree(moved.files["server-server-api.html"].decode()).ids)
    assert before <= after and after - before == {"added-later"}


def test_publish_writes_everything_and_the_links_check_out(tmp_path, site):
    out = tmp_path / "html"
    collector = Collector()
    assert publish(site, out, collector, GOOD)
    assert not check_links(out, site.sources, GOOD)
    assert (out / "static" / "style.css").is_file() and (out / "rooms" / "v3.html").is_file()
    assert [p.name for p in tmp_path.iterdir()] == ["html"]  # no staging folders left behind


def apply_fault(root: Path, fault: dict) -> None:
    path = root / fault["file"]
    text = path.read_text("utf-8")
    assert fault["find"] in text, fault["description"]
    path.write_text(text.replace(fault["find"], fault["replace"], 1), "utf-8")


@pytest.mark.parametrize("fault", FAULTS, ids=[f["code"] + ":" + f["file"].rsplit("/", 1)[-1] for f in FAULTS])
def test_injected_fault_fails_the_build_at_its_line_and_keeps_the_previous_output(tmp_path, site, fault):
    out = tmp_path / "html"
    assert publish(site, out, Collector(), GOOD)
    previous = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}

    corpus = shutil.copytree(GOOD, tmp_path / "c")
    apply_fault(corpus, fault)
    collector = Collector()
    assert not publish(build_site(Corpus(corpus)), out, collector, corpus)
    assert collector.exit_code == 1
    errors = [(d.path, d.line, d.code) for d in collector if d.severity >= Severity.ERROR]
    assert (fault["file"], fault["line"], fault["code"]) in errors, errors
    assert {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()} == previous
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c", "html"]


def test_fail_on_decides_and_warnings_alone_do_not_fail(tmp_path, site):
    assert [d for d in site.diagnostics if d.severity == Severity.WARNING]
    assert not publish(site, tmp_path / "strict", Collector(fail_on=Severity.WARNING), GOOD)
    assert not (tmp_path / "strict").exists()


def test_targets_errors_are_located(tmp_path):
    corpus = shutil.copytree(GOOD, tmp_path / "c")
    (corpus / "specification" / "targets.yaml").write_text("pages:\n  - page: index\n  - 3\n")
    targets, diagnostics = load_targets(Corpus(corpus))
    assert [(d.line, d.code) for d in diagnostics] == [(2, "build.targets"), (3, "build.targets")]
    assert targets.pages == ()


def test_build_command_through_the_real_cli_arguments(tmp_path):
    import argparse

    from specgen.build_command import add_build_arguments, build_command

    parser = argparse.ArgumentParser()
    add_build_arguments(parser)
    args = parser.parse_args(["--out", str(tmp_path / "o")])
    collector = Collector()
    build_command(Corpus(GOOD), args, collector)
    assert collector.exit_code == 0 and (tmp_path / "o" / "index.html").is_file()


def test_real_corpus_smoke(tmp_path):
    """The project's own spec is being written as this runs: whatever state
    it is in, the build reports diagnostics and never raises."""
    root = Path(__file__).resolve().parents[2]
    if not (root / "specification" / "targets.yaml").is_file():
        pytest.skip("the project's specification has no targets.yaml yet")
    site = build_site(Corpus(root), check=False)
    assert all(re.fullmatch(r"[a-z][a-z0-9.-]*", d.code) for d in site.diagnostics)


TEMPLATE_FAULTS = [
    # (file under templates/, its text, expected line, words of the message)
    ("event.html", "<section>\n{{ section.no_such_field }}\n</section>", 2, "no_such_field"),
    ("page.html", "<html>\n<body>\n{% include 'missing.html' %}\n</body>", 3, "'missing.html'"),
    ("_tables.html", "{% macro field_table(x) %}\n{% endif %}", 2, "syntax"),
    ("endpoint.html", "{{ 1 // 0 }}", 1, "division"),
    # a template may not exhaust memory
    ("event.html", "<p>\n{{ 'x' * 100000000 }}\n</p>", 2, "more than a template may make"),
    ("event.html", "{{ [0] * 3 * 1000000 }}", 1, "more than a template may make"),
    ("definition.html", "{{ 9 ** 100000000 }}", 1, "exponent"),
    ("endpoint.html", "{% for a in range(99999) %}{{ 'x' * 999999 }}{% endfor %}", 0, "writes more than"),
    ("event.html", "<p>{{ section.title }}</p>\n" * 400000, 0, "larger than the limit"),
]


@pytest.mark.parametrize("name, text, line, words", TEMPLATE_FAULTS, ids=[f[0] for f in TEMPLATE_FAULTS])
def test_a_broken_template_is_one_located_error(tmp_path, name, text, line, words):
    corpus = shutil.copytree(GOOD, tmp_path / "c")
    (corpus / "templates").mkdir()
    (corpus / "templates" / name).write_text(text)
    found = [d for d in build_site(Corpus(corpus)).diagnostics if d.code == "build.template"]
    assert [(d.path, d.line, d.severity) for d in found] == [(f"templates/{name}", line, Severity.ERROR)]
    assert words in found[0].message


def test_a_corpus_template_overrides_its_namesake_only(tmp_path):
    from specgen.placeholders import DEFAULT_TEMPLATES

    corpus = shutil.copytree(GOOD, tmp_path / "c")
    (corpus / "templates").mkdir()
    own = '<p class="own-definition">{{ section.title }}</p>\n' + (DEFAULT_TEMPLATES / "definition.html").read_text()
    (corpus / "templates" / "definition.html").write_text(own)
    built = build_site(Corpus(corpus))
    assert not [d for d in built.diagnostics if d.severity >= Severity.ERROR]
    text = b"".join(data for name, data in built.files.items() if name.endswith(".html")).decode()
    assert 'class="own-definition"' in text
    assert 'class="event-summary"' in text  # event.html still comes from specgen


def test_a_template_missing_everywhere_is_located_in_the_corpus_templates(tmp_path):
    import jinja2

    from specgen.placeholders import render_template

    env = jinja2.Environment(loader=jinja2.FileSystemLoader([str(tmp_path / "templates")]))
    found = render_template(env, "nowhere.html", Corpus(GOOD))
    assert (found.code, found.line) == ("build.template", 0)
    assert found.path.endswith("templates/nowhere.html")


def test_the_cli_reports_a_broken_template_without_a_traceback(tmp_path):
    from conftest import run_cli

    corpus = shutil.copytree(GOOD, tmp_path / "c")
    (corpus / "templates").mkdir()
    (corpus / "templates" / "page.html").write_text("{{ nav.missing() }}")
    done = run_cli("build", "--out", str(tmp_path / "o"), cwd=corpus)
    assert done.returncode == 1, done.stderr
    assert "templates/page.html:1:1: error[build.template]" in done.stdout
    assert "Traceback" not in done.stderr


def test_checks_beside_the_render_report_as_in_one_process():
    """With more than one process the checks run in a forked child beside
    the render; the site and the diagnostics, in their order, are those of
    a build in one process, and the collector is left as it was."""
    threshold, frozen = gc.get_threshold(), gc.get_freeze_count()
    alone = build_site(Corpus(GOOD), check=True)
    beside = build_site(Corpus(GOOD), check=True, jobs=2)
    assert {d.code for d in alone.diagnostics} >= {"property.no-description"}
    assert beside.files == alone.files
    assert [repr(d) for d in beside.diagnostics] == [repr(d) for d in alone.diagnostics]
    assert (gc.get_threshold(), gc.get_freeze_count()) == (threshold, frozen)


def test_a_failure_in_the_checks_process_reaches_the_build(tmp_path):
    """A bug the checks hit in their process is raised by the build (the
    command reports it as an internal error), not lost."""
    root = shutil.copytree(GOOD, tmp_path / "c")
    corpus = Corpus(root)
    corpus.sources.failures = None  # check_sources calls it: a TypeError in the child
    with pytest.raises(RuntimeError, match="check_sources failed in its process"):
        build_site(corpus, check=True, jobs=2)


def test_a_render_that_fails_ends_the_checks_process(monkeypatch):
    """A bug the render hits while the checks run beside it propagates,
    and the checks' process does not outlive the build."""
    def broken(self, targets, diagnostics):
        raise RuntimeError("a bug in the render")

    monkeypatch.setattr(SiteBuilder, "_render_site", broken)
    with pytest.raises(RuntimeError, match="a bug in the render"):
        build_site(Corpus(GOOD), check=True, jobs=2)
    assert not multiprocessing.active_children()


def test_a_template_that_loops_for_ever_is_stopped_and_located(tmp_path, monkeypatch):
    """Loops that write nothing are bounded by CPU time, where a signal can
    interrupt them (this process's main thread)."""
    import specgen.placeholders

    monkeypatch.setattr(specgen.placeholders, "TEMPLATE_CPU_SECONDS", 0.3)
    corpus = shutil.copytree(GOOD, tmp_path / "c")
    (corpus / "templates").mkdir()
    (corpus / "templates" / "event.html").write_text(
        "<p>\n{% for a in range(99999) %}{% for b in range(99999) %}{% endfor %}{% endfor %}\n</p>")
    found = [d for d in build_site(Corpus(corpus)).diagnostics if d.code == "build.template"]
    assert [(d.path, d.line) for d in found] == [("templates/event.html", 2)]
    assert "more than 0.3 s of CPU" in found[0].message


@pytest.mark.parametrize("name, text", [
    ("event.html", '<p>{{ section.title }}</p><img src="x.png" onerror="alert(1)">'),
    ("definition.html", '<a href="JaVa&#x09;Script:alert(1)">{{ section.title }}</a>'),
    ("page.html", "<html><body>{{ body }}<script>alert(document.cookie)</script></body></html>"),
    ("page.html", '<html><body>{{ body }}<iframe srcdoc="&lt;script&gt;alert(1)&lt;/script&gt;"></iframe></body></html>'),
])
def test_a_corpus_template_may_not_script_the_page(tmp_path, name, text):
    """A corpus's templates lay out what they are given; what they write is
    refused where a browser would run it as script, unless the operator
    trusts the corpus's markup."""
    from specgen.corpus import load_config

    corpus = shutil.copytree(GOOD, tmp_path / "c")
    (corpus / "templates").mkdir()
    (corpus / "templates" / name).write_text(text)
    built = build_site(Corpus(corpus))
    found = [d for d in built.diagnostics if d.code == "build.template"]
    assert [(d.path, d.severity) for d in found] == [(f"templates/{name}", Severity.ERROR)]
    assert "would run as script" in found[0].message
    written = b"".join(data for path, data in built.files.items() if path.endswith(".html")).lower()
    assert b"alert(" not in written.replace(b"&lt;", b"<")
    (tmp_path / "trusted.toml").write_text("allow_raw_html = true\n")
    trusted = build_site(Corpus(corpus, load_config(corpus, tmp_path / "trusted.toml")))
    assert not [d for d in trusted.diagnostics if d.code == "build.template"]


def test_a_corpus_page_template_may_load_the_scripts_every_build_writes(tmp_path):
    from specgen.placeholders import DEFAULT_TEMPLATES

    corpus = shutil.copytree(GOOD, tmp_path / "c")
    (corpus / "templates").mkdir()
    own = (DEFAULT_TEMPLATES / "page.html").read_text().replace("</main>", '<p class="own-page">ours</p></main>', 1)
    (corpus / "templates" / "page.html").write_text(own)
    built = build_site(Corpus(corpus))
    assert not [d for d in built.diagnostics if d.severity >= Severity.ERROR]
    assert b'class="own-page"' in built.files["index.html"] and b"static/search.js" in built.files["index.html"]


def test_a_corpus_template_that_links_out_of_its_folder_is_refused_unread(tmp_path, monkeypatch):
    """The link is checked before the file is read: nothing outside the
    corpus is opened, and the refusal is located at the link."""
    import builtins

    outside = tmp_path / "outside.html"
    outside.write_text("<p>{{ section.title }} from outside</p>")
    corpus = shutil.copytree(GOOD, tmp_path / "c")
    (corpus / "templates").mkdir()
    (corpus / "templates" / "event.html").symlink_to(outside)
    opened = []
    real_open = builtins.open
    monkeypatch.setattr(builtins, "open", lambda file, *a, **k: opened.append(str(file)) or real_open(file, *a, **k))
    built = build_site(Corpus(corpus), check=False)
    monkeypatch.undo()
    found = [d for d in built.diagnostics if d.code == "build.template"]
    assert [(d.path, d.line) for d in found] == [("templates/event.html", 0)]
    assert "link out of its folder" in found[0].message
    assert str(outside) not in opened
    assert b"from outside" not in b"".join(built.files.values())

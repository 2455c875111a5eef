"""matrix-doc's legacy build, on a small tree of our own in its layout
(tests/corpora/legacy): the legacy targets file, its placeholders and
variables, repeated titles and the anchors gendoc.py gave."""

from __future__ import annotations

import re
import shutil
import sys
from pathlib import Path

import pytest

from specgen.build import SiteBuilder, build_site, publish
from specgen.corpus import Corpus
from specgen.diagnostics import Collector, Severity
from specgen.targets import load_targets

LEGACY = Path(__file__).resolve().parents[1] / "corpora" / "legacy"
GOOD = Path(__file__).resolve().parents[1] / "corpora" / "build" / "good"


def published(root: Path, out: Path, **releases: str) -> tuple[Path, list]:
    site = build_site(Corpus(root), check=False, releases=releases)
    collector = Collector()
    assert publish(site, out, collector, root), [d for d in collector.diagnostics if d.severity >= Severity.ERROR]
    return out, list(site.diagnostics)


@pytest.fixture(scope="module")
def unstable(tmp_path_factory):
    return published(LEGACY, tmp_path_factory.mktemp("legacy") / "html")


@pytest.fixture(scope="module")
def released(tmp_path_factory):
    return published(LEGACY, tmp_path_factory.mktemp("legacy") / "html", client_server="r0.2.0")


def text(path: Path) -> str:
    return path.read_text("utf-8")


def test_legacy_targets_read_into_the_one_model():
    targets, problems = load_targets(Corpus(LEGACY))
    assert problems == []
    pages = {p.name: p for p in targets.pages}
    assert list(pages) == ["index", "client_server/unstable", "rooms/v1"]
    assert pages["client_server/unstable"].files == (
        ("client_server_api.rst", 0), ("modules.rst", 1),
        ("modules/greetings.rst", 2), ("modules/farewells.rst", 2))
    assert pages["rooms/v1"].title == "Room Version 1"
    assert targets.relative_styles == {"<": 1, "/": 0, ">": -1}
    assert targets.variables == {"%CLIENT_RELEASE_LABEL%": "unstable", "%CLIENT_MAJOR_VERSION%": "r0"}
    released, _ = load_targets(Corpus(LEGACY), {"client_server": "r1.4"})
    assert [p.name for p in released.pages][1] == "client_server/r1.4"
    assert released.variables["%CLIENT_MAJOR_VERSION%"] == "r1"


def test_legacy_targets_problems_are_located(tmp_path):
    root = shutil.copytree(LEGACY, tmp_path / "c")
    path = root / "specification" / "targets.yaml"
    path.write_text(path.read_text().replace('"group:modules"', '"group:nothing"')
                    .replace("- index.rst", "- gone.rst").replace("rooms@v1:", "../../rooms@v1:"))
    _, problems = load_targets(Corpus(root), {"nothing": "r1"})
    found = {(d.line, d.message.split(",")[0]) for d in problems}
    assert (5, "page 'index' lists 'gone.rst'") in found
    assert any(line == 13 and "page name '../../rooms/v1'" in m for line, m in found)
    assert any(line == 10 and "is not a group" in m for line, m in found)
    assert any("--release nothing=..." in m for _, m in found)


def test_the_unstable_build_writes_every_page_with_no_error(unstable):
    out, diagnostics = unstable
    assert not [d for d in diagnostics if d.severity >= Severity.ERROR]
    assert {p.relative_to(out).as_posix() for p in out.rglob("*.html")} == {
        "index.html", "client_server/unstable.html", "rooms/v1.html"}
    page = text(out / "client_server" / "unstable.html")
    assert "This is the unstable Client-Server API" in page
    # The changelog comes from the news fragments, rendered by towncrier.
    assert "Farewells may be sent before leaving." in page and "issues/8" in page
    assert "Built from revision" in page and "tree/unknown" in page
    # %CLIENT_MAJOR_VERSION% comes from the newest release in changelogs/client_server.rst.
    assert "POST /_matrix/client/r0/greeting" in page and "%CLIENT" not in page
    assert '<a href="client_server/unstable.html">Client-Server API</a>' in text(out / "index.html")


def test_the_api_table_links_from_whichever_page_places_it(tmp_path):
    root = shutil.copytree(LEGACY, tmp_path / "c")
    nested = root / "specification" / "rooms" / "v1.rst"
    nested.write_text(nested.read_text() + "\n{{apis}}\n")
    out, diagnostics = published(root, tmp_path / "html")
    assert not [d for d in diagnostics if d.code == "build.broken-link"]
    assert '<a href="../client_server/unstable.html">Client-Server API</a>' in text(out / "rooms" / "v1.html")
    assert '<a href="client_server/unstable.html">Client-Server API</a>' in text(out / "index.html")


def test_a_release_build_takes_its_changelog_and_labels(released):
    out, _ = released
    page = text(out / "client_server" / "r0.2.0.html")
    assert "Greetings may carry words." in page and "Added" not in page
    assert "unstable" not in page.lower()
    assert "<td>r0.2.0</td>" in text(out / "index.html")


def test_repeated_titles_are_numbered_across_the_page_and_gendoc_anchors_resolve(unstable):
    out, _ = unstable
    page = text(out / "client_server" / "unstable.html")
    ids = re.findall(r'\sid="([^"]+)"', page)
    assert len(ids) == len(set(ids))
    assert {"client-behaviour", "client-behaviour-1", "client-behaviour-2", "events", "events-1"} <= set(ids)
    # gendoc's anchors for the endpoint and the events, beside ours.
    assert {"post-_matrix-client-r0-greeting", "post-matrix-client-r0-greeting",
            "m.greeting", "m-greeting", "m-text", "m-wave"} <= set(ids)
    # A deprecated endpoint: gendoc's id, and the one prose links to it by.
    assert {"deprecated-get-matrix-client-r0-greeting", "get-matrix-client-r0-greeting"} <= set(ids)
    # Substitutions and targets of another file of the page, and a
    # reference to an event another file places, resolve.
    assert page.count('href="#post-matrix-client-r0-greeting"') >= 3
    assert 'href="#m.greeting"' in page


def test_ids_held_by_targets_are_numbered_past_as_gendoc_numbered_them(tmp_path):
    """gendoc.py rendered a page as one document, where a link's own
    target (``Farewells <#farewells>``) holds its name's id before a later
    file's title of that name: the title became ``farewells-1``, and links
    into the old spec use that."""
    root = tmp_path / "tree"
    shutil.copytree(LEGACY, root)
    api = root / "specification" / "client_server_api.rst"
    api.write_text(api.read_text("utf-8").replace(
        "Every greeting carries an `m.greeting`_ event.",
        "Every greeting carries an `m.greeting`_ event, `m.greeting <#m-greeting>`_ for short;\n"
        "see `Farewells <#farewells>`_.", 1), "utf-8")
    site = build_site(Corpus(root), check=False)
    page = site.files["client_server/unstable.html"].decode()
    ids = re.findall(r'\sid="([^"]+)"', page)
    assert len(ids) == len(set(ids))
    assert re.search(r'<section id="farewells-1">\s*<h\d>.*?Farewells', page) and "farewells" not in ids
    # The event's gendoc id, held by the link's target there, numbered as
    # gendoc numbered it; the link keeps working.
    assert {"m.greeting", "m-greeting", "m-greeting-1"} <= set(ids)
    # A title of another file of the page is linked as docutils links its own.
    assert '<a class="reference internal" href="#m.greeting">m.greeting</a>' in page


def test_depths_and_relative_titles_follow_the_legacy_rules(unstable):
    out, _ = unstable
    page = text(out / "client_server" / "unstable.html")
    # greetings.rst at depth 2 starts with '=', farewells.rst with '-':
    # both first headings sit at depth 2; '<' is one below the '~' before it.
    heading = r"<h{}>(?:<a class=\"toc-backref\"[^>]*>)?(?:<span class=\"sectnum\">[\d.]+ </span>)?{}<"
    assert re.search(heading.format(3, "Greetings"), page) and re.search(heading.format(3, "Farewells"), page)
    assert re.search(heading.format(6, "Verification emoji"), page)
    assert "<td>🦁</td><td><code>U+1F981</code></td>" in page


def test_msgtype_events_are_titled_by_msgtype_and_show_their_examples(unstable):
    out, _ = unstable
    page = text(out / "client_server" / "unstable.html")
    assert re.search(r'<section class="generated event" id="m.room.message\$m.text">\s*<h\d>'
                     r'<a class="toc-backref"[^>]*><span class="sectnum">[\d.]+ </span>m.text<', page)
    assert page.index(">m.text<") < page.index(">m.wave<")
    assert "a wave" in page


def test_our_format_keeps_repeated_titles_an_error_unless_allowed(tmp_path):
    root = shutil.copytree(GOOD, tmp_path / "c")
    prose = root / "specification" / "index.rst"
    prose.write_text(prose.read_text() + "\nAgain\n-----\n\nOne.\n\nAgain\n-----\n\nTwo.\n")
    errors = [d for d in build_site(Corpus(root), check=False).diagnostics if d.code == "build.duplicate-anchor"]
    assert [(d.path, "'Again' repeats" in d.message) for d in errors] == [("specification/index.rst", True)]
    targets = root / "specification" / "targets.yaml"
    targets.write_text("duplicate_titles: true\n" + targets.read_text())
    site = build_site(Corpus(root), check=False)
    assert not [d for d in site.diagnostics if d.severity >= Severity.ERROR]
    assert b'id="again-1"' in site.files["index.html"]


def test_git_placeholders_read_a_checkout_without_running_git(tmp_path):
    from specgen.placeholders import git_rev, git_version

    assert (git_version(tmp_path), git_rev(tmp_path)) == ("unknown", "unknown")
    git = tmp_path / ".git"
    (git / "refs" / "heads").mkdir(parents=True)
    (git / "HEAD").write_text("ref: refs/heads/main\n")
    (git / "packed-refs").write_text("# pack-refs\n" + "ab" * 20 + " refs/heads/main\n")
    assert (git_version(tmp_path), git_rev(tmp_path)) == ("main,abababa", "abababa")


def test_corpus_changelog_templates_and_bad_emoji_are_diagnostics(tmp_path):
    root = shutil.copytree(LEGACY, tmp_path / "c")
    config = root / "changelogs" / "client_server" / "pyproject.toml"
    config.write_text(config.read_text().replace('title_format', 'template = "mine.rst"\n    title_format'))
    (root / "changelogs" / "client_server" / "mine.rst").write_text("{{ ''.__class__ }}")
    emoji = root / "data-definitions" / "sas-emoji.json"
    emoji.write_text(emoji.read_text().replace("U+1F981", "U+1F436"))
    found = {(d.code, d.path, d.line) for d in build_site(Corpus(root), check=False).diagnostics
             if d.severity >= Severity.ERROR}
    assert ("build.changelog", "changelogs/client_server/pyproject.toml", 0) in found
    assert ("build.sas-emoji", "data-definitions/sas-emoji.json", 4) in found


def _changelog_problems(root: Path) -> list[str]:
    site = build_site(Corpus(root), check=False)
    page = site.files["client_server/unstable.html"].decode("utf-8")
    return [d.message for d in site.diagnostics if d.code == "build.changelog"], page


def _towncrier_config(root: Path, extra: str) -> None:
    config = root / "changelogs" / "client_server" / "pyproject.toml"
    config.write_text(config.read_text().replace("    title_format", extra + "\n    title_format"))


def test_a_changelog_template_from_another_package_is_never_imported(tmp_path):
    """towncrier imports the package a ``package:resource`` template
    names, and an import runs code: such a template is refused before
    towncrier sees the configuration."""
    root = shutil.copytree(LEGACY, tmp_path / "c")
    _towncrier_config(root, '    template = "this:zen"')
    assert "this" not in sys.modules
    problems, page = _changelog_problems(root)
    assert "this" not in sys.modules
    assert problems == ["template 'this:zen' is not one of towncrier's own ('towncrier:<name>'): "
                        "a template from the corpus or from another package is not run"]
    assert "Farewells may be sent before leaving." not in page


def test_news_fragments_are_read_only_inside_the_corpus(tmp_path):
    root = shutil.copytree(LEGACY, tmp_path / "c")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "1.feature").write_text("A secret from outside the corpus.")
    _towncrier_config(root, '    [[tool.towncrier.section]]\n        name = ""\n        path = "../../../../outside"')
    problems, page = _changelog_problems(root)
    assert problems == ["news fragment folder '../../../../outside' (section '') is outside the corpus"]
    assert "A secret" not in page


def test_a_towncrier_configuration_of_the_wrong_types_is_a_located_problem(tmp_path):
    root = shutil.copytree(LEGACY, tmp_path / "c")
    _towncrier_config(root, "    underlines = 5")
    problems, _ = _changelog_problems(root)
    assert len(problems) == 1 and problems[0].startswith("towncrier cannot build the changelog")


def test_rendering_in_forked_processes_writes_the_same_site():
    alone = build_site(Corpus(LEGACY), check=False)
    builder = SiteBuilder(Corpus(LEGACY), check=False, jobs=2)
    forked = builder.build()
    assert forked.files == alone.files
    assert [repr(d) for d in forked.diagnostics] == [repr(d) for d in alone.diagnostics]
    # The changelog sits in a topic directive, where the scan does not look:
    # the child that rendered it built it, and this process took it over.
    assert "client_server_changelog" in builder.catalog.built()


def test_rebuilds_after_prose_edits_write_what_a_fresh_build_writes(tmp_path):
    """What a rebuild remembers of each page (its files' texts with the
    definitions other files make, the scan, the numbering of repeated
    titles) follows the edits: each rebuild writes what a fresh build of
    the edited tree writes."""
    root = shutil.copytree(LEGACY, tmp_path / "tree")
    spec = root / "specification"
    builder = SiteBuilder(Corpus(root), check=False)
    builder.build()
    edits = [
        # a substitution another file of the page uses
        ("client_server_api.rst", "replace:: ``/greeting``", "replace:: ``/greet``"),
        # a title repeated once more before the next file's repeat of it
        ("modules/greetings.rst", "Message types\n~~~~~~~~~~~~~", "Client behaviour\n~~~~~~~~~~~~~~~~"),
        # the first file's own repeat goes
        ("client_server_api.rst", "Client behaviour\n~~~~~~~~~~~~~~~~", "Client greetings\n~~~~~~~~~~~~~~~~"),
    ]
    for name, old, new in edits:
        path = spec / name
        text = path.read_text("utf-8")
        assert old in text
        path.write_text(text.replace(old, new, 1), "utf-8")
        rebuilt = builder.rebuild([path])
        fresh = build_site(Corpus(root), check=False)
        assert rebuilt.files == fresh.files, name
        assert [repr(d) for d in rebuilt.diagnostics] == [repr(d) for d in fresh.diagnostics]
    page = rebuilt.files["client_server/unstable.html"].decode("utf-8")
    assert '<span class="docutils literal">/greet</span></a> to answer' in page


def test_a_build_writes_the_same_bytes_whatever_the_hash_seed(tmp_path):
    """Sets iterate in an order Python's hash seed chooses: nothing the
    build writes or reports may depend on it."""
    import os
    import subprocess
    import sys

    runs = []
    for seed in ("1", "2", "3"):
        out = tmp_path / f"html-{seed}"
        done = subprocess.run([sys.executable, "-m", "specgen", "--root", str(LEGACY), "build", "--out", str(out)],
                              capture_output=True, text=True, timeout=120,
                              env={**os.environ, "PYTHONHASHSEED": seed, "XDG_CACHE_HOME": str(tmp_path / seed)})
        assert done.returncode == 0, done.stderr
        runs.append(({p.relative_to(out).as_posix(): p.read_bytes() for p in out.rglob("*") if p.is_file()},
                     done.stdout))
    assert runs[0][0] and all(run == runs[0] for run in runs[1:])

"""A prose file rendered in parts (specgen.file_parts) is the file rendered
whole: the same pages, search index and diagnostics, for generated files
full of what crosses a cut (references to titles and targets of other
parts, substitutions, URI targets, footnotes, repeated titles); and an
edit re-renders only the part it touched."""

from __future__ import annotations

import difflib
import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import specgen.build
import specgen.file_parts
from specgen.build import SiteBuilder
from specgen.corpus import Corpus
from specgen.file_parts import Part, split

STYLES = ["=", "-", "~", "+"]
TITLES = ["Overview", "Keys", "Server keys", "Rooms", "Events", "Keys"]


def heading(title: str, level: int) -> str:
    return f"{title}\n{STYLES[level] * max(len(title), 4)}\n"


def test_a_file_is_cut_before_each_top_heading():
    text = "\n".join(heading(t, 0) + "\nSome text.\n" for t in ("One", "Two", "Three"))
    parts = split(text, size=1)
    assert [p.text.splitlines()[0] for p in parts] == ["One", "Two", "Three"]
    assert [p.base for p in parts] == [0, 0, 0]
    assert "\n".join(p.text for p in parts) == text


def test_under_one_top_heading_it_is_cut_at_the_next_level():
    text = heading("Top", 0) + "\nIntro.\n\n" + heading("A", 1) + "\nText.\n\n" + heading("B", 1) + "\nMore.\n"
    parts = split(text, size=1)
    assert [(p.offset, p.base, p.text.splitlines()[0]) for p in parts] == [(0, 0, "Top"), (5, 1, "A"), (10, 1, "B")]


@pytest.mark.parametrize("label", ["two", "sect:two", "`the second`"])
def test_an_internal_target_goes_with_the_heading_below_it(label):
    text = heading("One", 0) + f"\nText.\n\n.. _{label}:\n\n" + heading("Two", 0) + "\nMore.\n"
    first, second = split(text, size=1)
    assert second.text.startswith(f".. _{label}:") and ".. _" not in first.text


@pytest.mark.parametrize("between", [
    "A note [#]_.\n\n",                 # a footnote reference here, its definition below
    "See `this`__.\n\n",                # an anonymous reference here, its target below
])
def test_what_docutils_numbers_or_pairs_stays_in_one_part(between):
    tail = ".. [#] The note.\n" if "#" in between else "__ https://example.org/\n"
    text = heading("One", 0) + "\n" + between + heading("Two", 0) + "\n" + tail + "\n" + heading("Three", 0) + "\nEnd.\n"
    parts = split(text, size=1)
    assert [p.text.splitlines()[0] for p in parts] == ["One", "Three"]


def test_no_part_ends_in_a_transition():
    text = heading("One", 0) + "\nText.\n\n----------\n\n" + heading("Two", 0) + "\nMore.\n"
    assert len(split(text, size=1)) == 1


def test_a_part_whose_title_styles_would_nest_otherwise_is_kept_with_the_one_before():
    # "Two" uses "+" straight under "-": inside the whole file "+" is the
    # fourth style (after "~" in "One"), alone it would be the third.
    text = (heading("One", 0) + "\n" + heading("A", 1) + "\n" + heading("B", 2) + "\n" + heading("C", 3) + "\nx\n\n"
            + heading("Two", 0) + "\n" + heading("D", 1) + "\n" + heading("E", 3) + "\ny\n\n"
            + heading("Three", 0) + "\nz\n")
    assert [p.text.splitlines()[0] for p in split(text, size=1)] == ["One", "Three"]


def test_short_sections_run_together():
    text = "\n".join(heading(t, 0) + "\n" + "Words. " * 40 + "\n" for t in "ABCDEFGH")
    parts = split(text, size=700)
    assert 1 < len(parts) < 8 and all(len(p.text) >= 690 for p in parts[:-1])
    assert "\n".join(p.text for p in parts) == text


# -- the parts rendered are the file rendered --------------------------------

@st.composite
def documents(draw):
    """An RST file of sections (one top heading or several), each holding
    what a cut may separate from what it refers to."""
    single_top = draw(st.booleans())
    count = draw(st.integers(2, 9))
    levels, level = [], 0
    for i in range(count):
        if single_top:
            level = 0 if i == 0 else draw(st.integers(1, min(level + 1, 3)))
        else:
            level = 0 if i == 0 else draw(st.integers(0, min(level + 1, 3)))
        levels.append(level)
    titles = [draw(st.sampled_from(TITLES)) for _ in levels]
    unique = [t for t in titles if titles.count(t) == 1]
    labels = [f"label-{i}" for i in range(count) if draw(st.booleans())]
    named = draw(st.sampled_from(["", "rooms", "keys"]))  # a target named as a title
    footnote = draw(st.integers(-1, count - 1))
    chunks = []
    for i, (title, level) in enumerate(zip(titles, levels)):
        if f"label-{i}" in labels:
            chunks.append(f".. _label-{i}:\n")
        if named and i == count // 2:
            chunks.append(f"Before, a target: _`{named}`.\n")
        chunks.append(heading(title, level))
        words = ["Text of section %d." % i]
        if unique and draw(st.booleans()):
            words.append(f"See `{draw(st.sampled_from(unique))}`_.")
        if labels and draw(st.booleans()):
            words.append(f"Also label-{draw(st.sampled_from(labels)).split('-')[1]}_.")
        if draw(st.booleans()):
            words.append("Uses |shared| and `home`_.")
        if draw(st.integers(0, 5)) == 0:  # a link whose own target holds a title's id
            title = draw(st.sampled_from(TITLES))
            words.append(f"Read `{title} <#{title.lower().replace(' ', '-')}>`_.")
        if i == footnote:
            words.append("Noted [#]_.")
        chunks.append(" ".join(words) + "\n")
        if i == footnote:
            chunks.append(".. [#] The note.\n")
        if draw(st.booleans()):
            chunks.append("::\n\n    literal block\n    ==============\n")
        if i == draw(st.integers(0, count - 1)):
            chunks.append(".. |shared| replace:: shared words\n\n.. _home: https://example.org/home\n")
    if draw(st.booleans()):  # an external target named as a title, at the end as legacy files keep them
        chunks.append(f".. _{draw(st.sampled_from(TITLES))}: https://example.org/elsewhere\n")
    return "\n".join(chunks)


def corpus(root: Path, text: str, duplicate_titles: bool) -> Corpus:
    spec = root / "specification"
    spec.mkdir(parents=True)
    (spec / "targets.yaml").write_text(
        f"title_styles: {STYLES!r}\nduplicate_titles: {str(duplicate_titles).lower()}\n"
        "pages:\n  - page: index\n    title: Index\n    files: [index.rst]\n", "utf-8")
    (spec / "index.rst").write_text(text, "utf-8")
    return Corpus(root)


def rendered(root: Path, monkeypatch, whole: bool):
    with monkeypatch.context() as patch:
        if whole:
            patch.setattr(specgen.build, "split", lambda text, repeats: (Part(0, 0, text),))
        else:
            patch.setattr(specgen.build, "split", lambda text, repeats: split(text, size=1, repeats=repeats))
        site = SiteBuilder(Corpus(root), check=False, in_parts=True).build()
    return site.files, sorted((d.path, d.line, d.code, d.message) for d in site.diagnostics)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=documents(), duplicate_titles=st.booleans())
def test_a_file_rendered_in_parts_is_the_file_rendered_whole(tmp_path_factory, monkeypatch, text, duplicate_titles):
    root = tmp_path_factory.mktemp("parts")
    corpus(root, text, duplicate_titles)
    whole = rendered(root, monkeypatch, whole=True)
    parts = rendered(root, monkeypatch, whole=False)
    assert parts[1] == whole[1]
    for name in whole[0]:
        if parts[0][name] != whole[0][name]:
            diff = difflib.unified_diff(whole[0][name].decode().replace("><", ">\n<").splitlines(),
                                        parts[0][name].decode().replace("><", ">\n<").splitlines(), lineterm="")
            raise AssertionError(f"{name} differs:\n" + "\n".join(list(diff)[:40]) + "\n\n" + text)
    shutil.rmtree(root)


def test_a_part_takes_its_own_files_definition_over_another_files(tmp_path, monkeypatch):
    """On a legacy page (one text for gendoc.py) a substitution another
    file defines too is the file's own in each of its parts."""
    spec = tmp_path / "specification"
    spec.mkdir()
    (spec / "targets.yaml").write_text("targets:\n  index:\n    files: [a.rst, b.rst]\ntitle_styles: ['=', '-']\n")
    (spec / "a.rst").write_text(heading("A", 0) + "\nUses |x|.\n\n.. |x| replace:: from a\n")
    (spec / "b.rst").write_text(heading("B one", 0) + "\n.. |x| replace:: from b\n\nUses |x|.\n\n"
                                + heading("B two", 0) + "\nAgain |x|.\n")
    whole, parts = (rendered(tmp_path, monkeypatch, whole=w) for w in (True, False))
    assert "Again from b." in whole[0]["index.html"].decode()
    assert parts == whole


def test_an_edit_re_renders_only_its_part(tmp_path, monkeypatch):
    text = "\n".join(heading(t, 0) + "\n" + "Words. " * 20 + "\n" for t in "ABCD")
    corpus(tmp_path, text, duplicate_titles=False)
    monkeypatch.setattr(specgen.file_parts, "PART_SIZE", 100)
    specgen.file_parts.split.cache_clear()
    builder = SiteBuilder(Corpus(tmp_path), check=False, live_reload=True)
    builder.build()
    before = dict(builder._rendered)
    assert len(before) == 4
    prose = tmp_path / "specification" / "index.rst"
    prose.write_text(text.replace("A\n====\n", "A\n====\n\nA new line.\n"), "utf-8")
    builder.rebuild([prose])
    after = builder._rendered
    fresh = [job for job in after if job not in before]
    assert len(fresh) == 1 and "A new line." in fresh[0].text
    assert sum(after[job] is before.get(job) for job in after) == 3
    specgen.file_parts.split.cache_clear()


def test_a_build_renders_each_file_whole_and_a_preview_in_parts(tmp_path, monkeypatch):
    """Parts pay where an edit re-renders one of them; a build that renders
    everything once renders each file whole: the same pages, for less."""
    text = "\n".join(heading(t, 0) + "\n" + "Words. " * 20 + "\n" for t in "ABCD")
    corpus(tmp_path, text, duplicate_titles=False)
    monkeypatch.setattr(specgen.file_parts, "PART_SIZE", 100)
    specgen.file_parts.split.cache_clear()
    once, in_parts = SiteBuilder(Corpus(tmp_path), check=False), SiteBuilder(Corpus(tmp_path), check=False,
                                                                              in_parts=True)
    assert once.build().files == in_parts.build().files
    assert (len(once._rendered), len(in_parts._rendered)) == (1, 4)
    assert SiteBuilder(Corpus(tmp_path), check=False, live_reload=True).in_parts
    specgen.file_parts.split.cache_clear()

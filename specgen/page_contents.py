"""Section numbers and the table of contents across all files of a page.

Each prose file renders on its own (see :mod:`specgen.rst`), so docutils'
``.. sectnum::`` and ``.. contents::`` only see the file that holds them. A
legacy page is one document made of several files (gendoc.py concatenated
them), and those directives in its first file number and list the whole
page: the client-server page's contents list every module. This module
redoes both over the page's outline once its files are assembled, as
docutils would over the concatenation: a page whose outline has a single
top section takes it as the document's title (unnumbered, not listed), and
numbering starts below it.
"""

from __future__ import annotations

import html
import re
from dataclasses import replace
from typing import Sequence

from .rst import OutlineEntry, RenderedFile

__all__ = ["number_and_list"]

_SECTNUM = re.compile(r'<span class="sectnum">([^<]*)</span>')
_CONTENTS = re.compile(r'(<nav class="contents"[^>]*>\s*(?:<p class="topic-title">.*?</p>)?\s*)<ul\b.*?</nav>', re.S)
#: A section's heading: the section's id, the heading's tags and what is between them.
_HEADING = re.compile(r'(<section\b[^>]*?\bid="([^"]+)"[^>]*>\s*(?:<span\b[^>]*></span>\s*)*<h([1-6])\b[^>]*>)'
                      r'(.*?)(</h\3>)', re.S)
_BACKREF = re.compile(r'<a class="toc-backref"[^>]*>')
_SELF_LINK = '<a class="self-link"'
_TOC_ENTRY = re.compile(r"toc-entry-\d+")


def number_and_list(files: Sequence[RenderedFile]) -> tuple[RenderedFile, ...]:
    """``files`` with page-wide section numbers (when any file asked for
    them) and the first table of contents listing the whole page (when any
    file holds one). Other pages come back unchanged."""
    files = tuple(files)
    facts = [_facts(f) for f in files]
    numbered = any(has_numbers for has_numbers, _, _ in facts)
    listed = next((i for i, (_, has_contents, _) in enumerate(facts) if has_contents), None)
    if not numbered and listed is None:
        return files
    old_numbers = {anchor: number for _, _, found in facts for anchor, number in found.items()}
    entries = [_retitled(e, {}, old_numbers) for f in files for e in f.outline]
    tops = [e for e in entries if e.level == 0]
    title = tops[0].anchor if len(tops) == 1 else None
    shown = [e for e in entries if e.anchor != title]
    numbers = _numbers(shown, 1 if title else 0) if numbered else {}
    entry_ids = {e.anchor: f"toc-entry-{i}" for i, e in enumerate(shown, 1)} if listed is not None else {}
    contents = _contents(shown, numbers, entry_ids, title) if listed is not None else None
    out = []
    for i, rendered in enumerate(files):
        mine = tuple((e.anchor, numbers.get(e.anchor), entry_ids.get(e.anchor)) for e in rendered.outline)
        key = ("file", mine, contents if i == listed else None, listed is not None)
        memo = _memo(rendered)
        if key not in memo:
            memo[key] = _one_file(rendered, numbers, entry_ids, old_numbers,
                                  contents if i == listed else None, listed is not None)
        out.append(memo[key])
    return tuple(out)


def _facts(rendered: RenderedFile) -> tuple[bool, bool, dict[str, str]]:
    """Whether the file numbers its sections, whether it holds a contents
    topic, and the numbers docutils gave its headings."""
    memo = _memo(rendered)
    if "facts" not in memo:
        memo["facts"] = ('class="sectnum"' in rendered.body, bool(_CONTENTS.search(rendered.body)),
                         {m.group(2): old.group(1) for m in _HEADING.finditer(rendered.body)
                          if (old := _SECTNUM.search(_title_area(m.group(4))))})
    return memo["facts"]


def _one_file(rendered: RenderedFile, numbers: dict[str, str], entry_ids: dict[str, str],
              old_numbers: dict[str, str], contents: str | None, listing: bool) -> RenderedFile:
    body = _HEADING.sub(lambda m: _heading(m, numbers, entry_ids), rendered.body)
    anchors = rendered.anchors
    if contents is not None:
        body = _CONTENTS.sub(lambda m: m.group(1) + contents + "</nav>", body, count=1)
        line = next((n for a, n in anchors if _TOC_ENTRY.fullmatch(a)), 0)
        anchors = (*(a for a in anchors if not _TOC_ENTRY.fullmatch(a[0])),
                   *((entry, line) for entry in entry_ids.values()))
    elif listing:
        anchors = tuple(a for a in anchors if not _TOC_ENTRY.fullmatch(a[0]))
    outline = tuple(_retitled(e, numbers, old_numbers) for e in rendered.outline)
    return replace(rendered, body=body, anchors=anchors, outline=outline)


#: Per rendered file (by identity, the file kept alive beside its entry):
#: what :func:`number_and_list` found in it and made of it. A rebuild under
#: ``serve`` renders only the edited file anew, so every other file's work
#: is found here; the memo is emptied when it outgrows a few sites' files.
_MEMO: dict[int, tuple[RenderedFile, dict]] = {}
_MEMO_LIMIT = 512


def _memo(rendered: RenderedFile) -> dict:
    entry = _MEMO.get(id(rendered))
    if entry is None or entry[0] is not rendered:
        if len(_MEMO) >= _MEMO_LIMIT:
            _MEMO.clear()
        entry = _MEMO[id(rendered)] = (rendered, {})
    return entry[1]


def _numbers(entries: Sequence[OutlineEntry], shift: int) -> dict[str, str]:
    counters: list[int] = []
    numbers = {}
    for e in entries:
        depth = max(e.level - shift, 0)
        counters = (counters + [0] * (depth + 1))[:depth + 1]
        counters[depth] += 1
        numbers[e.anchor] = ".".join(map(str, counters))
    return numbers


def _title_area(inner: str) -> str:
    """A heading's content before its self-link, out of any backlink."""
    cut = inner.find(_SELF_LINK)
    text = inner if cut < 0 else inner[:cut]
    backref = _BACKREF.match(text)
    return text[backref.end():-len("</a>")] if backref and text.endswith("</a>") else text


def _heading(m: re.Match, numbers: dict[str, str], entry_ids: dict[str, str]) -> str:
    opening, anchor, _, inner, closing = m.groups()
    cut = inner.find(_SELF_LINK)
    tail = "" if cut < 0 else inner[cut:]
    text = _title_area(inner)
    old = _SECTNUM.match(text)
    if old:
        text = text[old.end():]
    if anchor in numbers:
        text = f'<span class="sectnum">{numbers[anchor]} </span>{text}'
    if anchor in entry_ids:
        text = f'<a class="toc-backref" href="#{entry_ids[anchor]}" role="doc-backlink">{text}</a>'
    return opening + text + tail + closing


def _contents(entries: Sequence[OutlineEntry], numbers: dict[str, str], entry_ids: dict[str, str],
              title: str | None) -> str:
    """Nested lists of every entry, as docutils writes a contents topic."""
    if not entries:
        return ""
    base = min(e.level for e in entries)
    css = "auto-toc" if numbers else ""
    parts: list[str] = []
    depth = -1
    for e in entries:
        level = e.level - base
        if level > depth:
            for d in range(depth + 1, level + 1):
                simple = " simple" if d == 0 else ""
                parts.append(f'<ul class="{(css + simple).strip()}">\n' if css or simple else "<ul>\n")
        else:
            parts.append("</li>\n")
            for _ in range(depth - level):
                parts.append("</ul>\n</li>\n")
        depth = level
        number = f'<span class="sectnum">{numbers[e.anchor]} </span>' if e.anchor in numbers else ""
        parts.append(f'<li><p><a class="reference internal" href="#{html.escape(e.anchor)}" '
                     f'id="{entry_ids[e.anchor]}">{number}{html.escape(e.title)}</a></p>')
    parts.append("</li>\n")
    for _ in range(depth):
        parts.append("</ul>\n</li>\n")
    parts.append("</ul>\n")
    return "".join(parts)


def _retitled(entry: OutlineEntry, numbers: dict[str, str], old_numbers: dict[str, str]) -> OutlineEntry:
    title = entry.title
    old = old_numbers.get(entry.anchor, "").strip()
    if old:
        # docutils puts the number in the title's text with its own spacing.
        title = re.sub(rf"^{re.escape(old)}[\s\xa0]+", "", title, count=1)
    if entry.anchor in numbers:
        title = f"{numbers[entry.anchor]} {title}"
    return replace(entry, title=title) if title != entry.title else entry

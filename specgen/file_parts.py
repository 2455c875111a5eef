"""A prose file rendered in parts, cut before its section headings.

docutils renders a file as one document, so a page's largest file is a
build's longest job, and under ``specgen serve`` an edit anywhere in it
re-renders all of it. A file is therefore cut before each heading of the
outermost level that repeats (the second level when one title heads the
whole file), wherever the part renders as it would inside the whole:

- its title styles appear in the file's order from its own level, so
  docutils nests its sections as in the whole;
- footnotes, citations and anonymous hyperlinks, which docutils numbers
  or pairs across a document, stay in one part, as do the definitions
  of a name defined twice, once explicitly at least;
- no part ends with a transition, and an internal target just above a
  heading goes with it.

What the parts lose, the build supplies: the file's substitution
definitions and URI targets are appended to each part that lacks them,
and a reference to a title or target of another part is resolved by the
build's lookup (:class:`specgen.build._TitleIndex`). :func:`join` puts the
rendered parts back together: lines shifted to the file's, repeated
anchors numbered as docutils numbers them, and the enclosing section
closed after the last part.
"""

from __future__ import annotations

import bisect
import functools
import re
from dataclasses import dataclass, replace
from typing import Sequence

from docutils.nodes import make_id

from .diagnostics import Diagnostic, Severity
from .rst import RenderedFile

__all__ = ["Part", "split", "join", "numbered"]

#: Characters a part holds at least, but for a file's last.
PART_SIZE = 6000
_ADORNMENT = re.compile(r"([!-/:-@\[-`{-~])\1+\s*")
#: Footnotes and citations (references and definitions) and anonymous
#: hyperlinks: what docutils numbers or pairs across the whole document
#: (a ``__`` is one when :func:`_document_wide` says so).
_DOCUMENT_WIDE = re.compile(r"\]_|^\.\. \[|__", re.M)
_NEWLINE = re.compile("\n")
#: A substitution definition or an explicit target, and the name it defines.
_DEFINITION = re.compile(r"^\.\. (?:\|([^|\n]+)\| |_(?:`([^`\n]+)`|([^`\s][^:\n]*)):)", re.M)
_INLINE_TARGET = re.compile(r"_`([^`\n]+)`")
_REFERENCE = re.compile(r"`([^`<\n]+?)\s*(?:<[^`\n]*>)?`_|\b([\w.-]+)_\b")
_INTERNAL_TARGET = re.compile(r"\.\. _(?:`[^`]+`|[^`\s][^:]*):\s*")


@dataclass(frozen=True)
class Part:
    #: Lines of the file before the part.
    offset: int
    #: Sections of the file that enclose the part (1 when it was cut below
    #: the file's one top heading).
    base: int
    text: str


@functools.lru_cache(maxsize=256)
def split(text: str, size: int | None = None) -> tuple[Part, ...]:
    """The file's parts, in order, each of at least ``size`` characters
    (:data:`PART_SIZE`) but the last; one part when it cannot be cut."""
    size = PART_SIZE if size is None else size
    if len(text) < 2 * size:
        return (Part(0, 0, text),)
    lines = text.split("\n")
    headings = list(_headings(lines))
    order = list(dict.fromkeys(style for _, style, _ in headings))
    level = {style: i for i, style in enumerate(order)}
    tops = [h for h in headings if level[h[1]] == 0]
    if len(tops) > 1:
        base, cuts = 0, [start for _, style, start in headings[1:] if level[style] == 0]
    elif tops and headings[0] is tops[0]:
        base, cuts = 1, [start for _, style, start in headings if level[style] == 1]
    else:
        return (Part(0, 0, text),)
    together = _kept_together(text, lines, headings)
    cuts = [c for c in cuts if c > 0 and not _ends_in_transition(lines, c)
            and not any(first < c <= last for first, last in together)]
    while True:
        bounds = [0, *cuts, len(lines)]
        bad = next((i for i in range(1, len(bounds) - 1)
                    if not _keeps_order(headings, order, base, bounds[i], bounds[i + 1])), None)
        if bad is None:
            break
        del cuts[bad - 1]
    if not cuts or not _keeps_order(headings, order, 0, 0, cuts[0]):
        return (Part(0, 0, text),)
    bounds = _coalesced(lines, [0, *cuts, len(lines)], size)
    return tuple(Part(start, base if start else 0, "\n".join(lines[start:end]))
                 for start, end in zip(bounds, bounds[1:]))


def _kept_together(text: str, lines: list[str], headings) -> list[tuple[int, int]]:
    """Line ranges no cut may fall in: from the first to the last line
    docutils numbers or pairs across the document, and from the first to
    the last definition of or reference to a name defined more than once,
    explicitly at least once (docutils reports the repeat, or lets the
    explicit one win over a title). Titles repeated alone are numbered by
    :func:`join`."""
    starts = [0, *(m.end() for m in _NEWLINE.finditer(text))]

    def line_of(match: re.Match) -> int:
        return bisect.bisect_right(starts, match.start()) - 1

    wide = [line_of(m) for m in _DOCUMENT_WIDE.finditer(text) if _document_wide(text, m)]
    ranges = [(wide[0], wide[-1])] if wide else []
    defined: dict[str, list[int]] = {}
    explicit: set[str] = set()
    for found in _DEFINITION.finditer(text):
        key = ("|" if found.group(1) else "_") + _normal(found.group(1) or found.group(2) or found.group(3))
        defined.setdefault(key, []).append(line_of(found))
        explicit.add(key)
    for inline in _INLINE_TARGET.finditer(text):
        defined.setdefault("_" + _normal(inline.group(1)), []).append(line_of(inline))
        explicit.add("_" + _normal(inline.group(1)))
    for i, _, _ in headings:
        defined.setdefault("_" + _normal(lines[i]), []).append(i)
    doubled = {key: at for key, at in defined.items() if len(at) > 1 and key in explicit}
    if doubled:
        for found in _REFERENCE.finditer(text):
            at = doubled.get("_" + _normal(found.group(1) or found.group(2)))
            if at is not None:
                at.append(line_of(found))
    ranges.extend((min(at), max(at)) for at in doubled.values())
    return ranges


def _document_wide(text: str, match: re.Match) -> bool:
    """A ``__`` starts an anonymous target (``.. __:`` or ``__ uri`` at
    the start of a line) or ends an anonymous reference (after a backquote
    or a letter or digit, before no word character)."""
    if match.group() != "__":
        return True
    at, end = match.start(), match.end()
    after = text[end:end + 1]
    prefix = text[text.rfind("\n", 0, at) + 1:at]
    if prefix in ("", ".. "):
        return after in (" ", ":")
    before = prefix[-1]
    return (before == "`" or (before.isalnum() and before != "_")) and not (after.isalnum() or after == "_")


def _normal(name: str) -> str:
    return " ".join(name.lower().split())


def _coalesced(lines: list[str], bounds: list[int], least: int) -> list[int]:
    """``bounds`` with parts shorter than ``least`` characters run
    together: each docutils document costs a few milliseconds however
    short, so small sections are not worth a part of their own."""
    sizes = [sum(len(line) + 1 for line in lines[a:b]) for a, b in zip(bounds, bounds[1:])]
    kept, size = [0], 0
    for bound, part in zip(bounds[1:], sizes):
        size += part
        if size >= least:
            kept.append(bound)
            size = 0
    if kept[-1] != len(lines):
        if len(kept) > 1:
            kept.pop()
        kept.append(len(lines))
    return kept


def _headings(lines: list[str]):
    """``(title line, style, first line)`` of each heading that starts a
    line after a blank one; the style tells an overlined title from one
    only underlined, and the first line takes in internal targets above."""
    for i in range(len(lines) - 1):
        title, under = lines[i], lines[i + 1]
        if not title.strip() or title[0].isspace() or _ADORNMENT.fullmatch(title) \
                or not _ADORNMENT.fullmatch(under):
            continue
        if len(under.rstrip()) < len(title.rstrip()) and len(under.rstrip()) < 4:
            continue
        over = i > 0 and lines[i - 1].rstrip() == under.rstrip()
        start = i - 1 if over else i
        if start > 0 and lines[start - 1].strip():
            continue
        first = start
        while first > 0 and (not lines[first - 1].strip() or _INTERNAL_TARGET.fullmatch(lines[first - 1])):
            first -= 1
        while first < start and not lines[first].strip():
            first += 1
        yield i, (under[0], over), first


def _ends_in_transition(lines: list[str], cut: int) -> bool:
    last = cut - 1
    while last >= 0 and not lines[last].strip():
        last -= 1
    return last >= 0 and len(lines[last].strip()) >= 4 and bool(_ADORNMENT.fullmatch(lines[last])) \
        and (last == 0 or not lines[last - 1].strip())


def _keeps_order(headings, order: list, base: int, start: int, end: int) -> bool:
    """Whether the part's title styles, in order of first use, are the
    file's from level ``base``: docutils then gives each the same level."""
    seen = list(dict.fromkeys(style for line, style, _ in headings if start <= line < end))
    return seen == order[base:base + len(seen)]


def join(parts: Sequence[tuple[Part, RenderedFile]], *, number_titles: bool) -> RenderedFile:
    """One file's rendering from its parts' (each rendered on its own).

    Anchors a part repeats from an earlier one are numbered, as docutils
    numbers them within one document, and are errors too where the corpus
    does not allow repeated titles."""
    if len(parts) == 1 and parts[0][0].offset == 0:
        return parts[0][1]
    taken: set[str] = set()
    first_line: dict[str, int] = {}
    title_anchors: set[str] = set()
    joined: list[RenderedFile] = []
    problems: list[Diagnostic] = []
    for part, rendered in parts:
        rendered = _shifted(rendered, part.offset, part.base)
        if joined:
            if not number_titles:
                problems.extend(_repeats(rendered, first_line, title_anchors))
            rendered = numbered(rendered, taken)
        taken |= {anchor for anchor, _ in rendered.anchors} | set(rendered.reserved)
        title_anchors |= {e.anchor for e in rendered.outline if e.kind == "section"}
        for anchor, line in rendered.anchors:
            first_line.setdefault(anchor, line)
        joined.append(rendered)
    bodies = [r.body for r in joined]
    closing = "</section>\n"
    if any(part.base for part, _ in parts) and bodies[0].endswith(closing):
        bodies[0] = bodies[0][:-len(closing)]
        bodies.append(closing)
    lookups: dict = {}
    for r in joined:
        lookups.update(r.lookups)
    return RenderedFile(
        joined[0].display, "".join(bodies),
        tuple(e for r in joined for e in r.outline), tuple(h for r in joined for h in r.headings),
        tuple(p for r in joined for p in r.placements), tuple(a for r in joined for a in r.anchors),
        tuple(d for r in joined for d in r.diagnostics) + tuple(problems), tuple(lookups.items()),
        tuple(a for r in joined for a in r.reserved))


def _shifted(rendered: RenderedFile, lines: int, base: int) -> RenderedFile:
    """A part's rendering with the file's line numbers and nesting."""
    if not lines and not base:
        return rendered

    def line(n: int) -> int:
        return n + lines if n else n

    return replace(
        rendered,
        outline=tuple(replace(e, line=line(e.line)) for e in rendered.outline),
        headings=tuple(replace(h, line=line(h.line), depth=h.depth + base) for h in rendered.headings),
        placements=tuple(replace(p, line=line(p.line)) for p in rendered.placements),
        anchors=tuple((a, line(n)) for a, n in rendered.anchors),
        diagnostics=tuple(replace(d, line=line(d.line)) if d.path == rendered.display else d
                          for d in rendered.diagnostics))


def _repeats(rendered: RenderedFile, first_line: dict[str, int], title_anchors: set[str]):
    """A title or anchor of an earlier part met again: the error docutils'
    document would have given (see :class:`specgen.rst.NumberTitles`).
    A title repeated within the part was reported by docutils itself, and
    one whose id an earlier target (not a title) holds is no repeat."""
    titles = {e.anchor: e.title for e in rendered.outline if e.kind == "section"}
    for anchor, line in rendered.anchors:
        title = titles.get(anchor)
        if title is not None:
            if anchor != make_id(title) or anchor not in title_anchors:
                continue
            message = (f"title {title!r} repeats one earlier on the page (anchor #{anchor}); "
                       "retitle it, or set duplicate_titles: true in targets.yaml to number such anchors")
            line += 1  # docutils places a title at its underline
        elif anchor in first_line:
            message = f"duplicate anchor #{anchor} (first defined at line {first_line[anchor]})"
        else:
            continue
        yield Diagnostic(rendered.display, line, 1 if line else 0, "build.duplicate-anchor", Severity.ERROR, message)


_ID_OR_HREF = re.compile(r'(\sid="|href="#)([^"]+)"')


def numbered(rendered: RenderedFile, taken: set[str]) -> RenderedFile:
    """A file (or part) numbered after earlier ones that define ``taken``,
    as docutils numbers repeats within one document: each title's anchor
    is its natural id when that is free, else the first free
    ``<id>-<n>`` in order (``client-behaviour``, ``client-behaviour-1``,
    ...), and any other id an earlier one holds is numbered alike; in the
    body (its own links to it too), the outline, the anchors and the
    placements."""
    own = [anchor for anchor, _ in rendered.anchors]
    titles = {e.anchor: make_id(e.title) for e in rendered.outline
              if e.kind == "section" and _numbering_of(e.anchor, make_id(e.title))}
    if not taken.intersection(own) and not any(natural in taken for natural in titles.values()):
        return rendered
    used = set(taken) | {a for a in own if a not in titles} | set(rendered.reserved)
    renames: dict[str, str] = {}
    for anchor in own:
        natural = titles.get(anchor)
        if natural is not None:
            new = natural if natural not in used else _first_free(natural, used)
        elif anchor in taken:
            new = _first_free(anchor, used)
        else:
            continue
        used.add(new)
        if new != anchor:
            renames[anchor] = new
    if not renames:
        return rendered
    body = _ID_OR_HREF.sub(lambda m: m.group(1) + renames.get(m.group(2), m.group(2)) + '"', rendered.body)
    return replace(
        rendered, body=body,
        outline=tuple(replace(e, anchor=renames.get(e.anchor, e.anchor)) for e in rendered.outline),
        anchors=tuple((renames.get(a, a), line) for a, line in rendered.anchors),
        placements=tuple(replace(p, anchors=tuple(renames.get(a, a) for a in p.anchors))
                         for p in rendered.placements))


def _numbering_of(anchor: str, natural: str) -> bool:
    """Whether ``anchor`` is ``natural`` or docutils' numbering of it."""
    return anchor == natural or (anchor.startswith(natural + "-") and anchor[len(natural) + 1:].isdigit())


def _first_free(anchor: str, used: set[str]) -> str:
    number = 1
    while f"{anchor}-{number}" in used:
        number += 1
    return f"{anchor}-{number}"

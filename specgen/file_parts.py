"""A prose file rendered in parts, cut before its section headings.

docutils renders a file as one document, so under ``specgen serve`` an
edit anywhere in a large file re-renders all of it. A preview therefore
cuts such a file before each heading of the outermost level that repeats
(the second level when one title heads the whole file), wherever the part
renders as it would inside the whole. (A build that renders everything
once keeps each file whole: the parts cost more in all than the file.)
The cuts are made only where:

- its title styles appear in the file's order from its own level, so
  docutils nests its sections as in the whole;
- footnotes, citations and anonymous hyperlinks, which docutils numbers
  or pairs across a document, stay in one part, as does a name defined
  twice where docutils would report it or let an explicit target win
  (:func:`_kept_together`);
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

from .diagnostics import Diagnostic, Severity
from .rst import RenderedFile, alias_span, numbers
from .targets import ADORNMENT

__all__ = ["Part", "inline_names", "join", "numbered", "split"]

#: About how many characters a part holds (:func:`_coalesced`); a file
#: under twice this is never cut.
PART_SIZE = 6000
#: Footnotes and citations (references and definitions) and anonymous
#: hyperlinks: what docutils numbers or pairs across the whole document
#: (a ``__`` is one when :func:`_document_wide` says so).
_DOCUMENT_WIDE = re.compile(r"\]_|^\.\. \[|__", re.M)
_NEWLINE = re.compile("\n")
#: A substitution definition or an explicit target (group 4: what an
#: external or indirect one points to), and the name it defines.
_DEFINITION = re.compile(r"^\.\. (?:\|([^|\n]+)\| |_(?:`([^`\n]+)`|([^`\s](?:[^:\n]|:(?=\S))*)):)[ \t]*(\S.*)?$", re.M)
#: A target defined inline: ``_`name``` or a link's embedded URI (not an
#: anonymous one's).
_NAMED_INLINE = re.compile(r"(?<!^\.\. )_`([^`\n]+)`|`([^`<\n]+?)\s*<[^`>\n]*>`_(?!_)", re.M)
#: A reference by name (a link with an embedded URI names no target).
_REFERENCE = re.compile(r"`([^`<\n]+?)`_|\b([\w.-]+)_\b")
_INTERNAL_TARGET = re.compile(r"\.\. _(?:`[^`]+`|[^`\s](?:[^:\n]|:(?=\S))*):\s*")


@dataclass(frozen=True)
class Part:
    #: Lines of the file before the part.
    offset: int
    #: Sections of the file that enclose the part (1 when it was cut below
    #: the file's one top heading).
    base: int
    text: str


@functools.lru_cache(maxsize=256)
def split(text: str, size: int | None = None, *, repeats: bool = True) -> tuple[Part, ...]:
    """The file's parts, in order, of about ``size`` characters
    (:data:`PART_SIZE`) or more (:func:`_coalesced`); one part when it
    cannot be cut. Where the corpus does not allow a title to repeat
    (``repeats`` false), a repeated title stays in one part with the
    first, for docutils to report as it would in the whole."""
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
    held = _merged(_kept_together(text, lines, headings, repeats))
    firsts = [first for first, _ in held]

    def held_together(cut: int) -> bool:
        i = bisect.bisect_left(firsts, cut) - 1
        return i >= 0 and cut <= held[i][1]

    cuts = [c for c in cuts if c > 0 and not _ends_in_transition(lines, c) and not held_together(c)]
    cuts = _in_order(headings, order, base, cuts, len(lines))
    if not cuts:
        return (Part(0, 0, text),)
    bounds = _coalesced(lines, [0, *cuts, len(lines)], size)
    return tuple(Part(start, base if start else 0, "\n".join(lines[start:end]))
                 for start, end in zip(bounds, bounds[1:]))


def _kept_together(text: str, lines: list[str], headings, repeats: bool = True) -> list[tuple[int, int]]:
    """Line ranges no cut may fall in: from the first to the last line
    docutils numbers or pairs across the document, and from the first to
    the last definition of or reference to a name docutils would find
    defined twice (and report, or let the explicit definition win over a
    title): twice explicitly, or twice at all where titles may not repeat
    (``repeats`` false: docutils' own report of the repeat stays exact), or,
    where a reference names it, by an explicit target other than an
    external one (those are added to every part) and a title. Otherwise
    the two only share an id, which :func:`join` numbers as docutils did."""
    starts = [0, *(m.end() for m in _NEWLINE.finditer(text))]

    def line_of(match: re.Match) -> int:
        return bisect.bisect_right(starts, match.start()) - 1

    wide = [line_of(m) for m in _DOCUMENT_WIDE.finditer(text) if _document_wide(text, m)]
    ranges = [(wide[0], wide[-1])] if wide else []
    # name -> [(line, kind)]: "|" a substitution, "_" an explicit target
    # that only this part has, "uri" an external or indirect one, "title"
    defined: dict[str, list[tuple[int, str]]] = {}
    # A target right above a heading of its name labels that heading.
    labelling = {(_normal(lines[i]), line) for i, _, first in headings for line in range(first, i)}
    for found in _DEFINITION.finditer(text):
        name = _normal(found.group(1) or found.group(2) or found.group(3))
        if found.group(1):
            defined.setdefault("|" + name, []).append((line_of(found), "|"))
        elif (name, line_of(found)) not in labelling:
            defined.setdefault(name, []).append((line_of(found), "uri" if found.group(4) else "_"))
    for inline in _NAMED_INLINE.finditer(text):
        defined.setdefault(_normal(inline.group(1) or inline.group(2)), []).append((line_of(inline), "_"))
    for i, _, _ in headings:
        defined.setdefault(_normal(lines[i]), []).append((i, "title"))
    doubled, referred = {}, {}
    for name, found in defined.items():
        kinds = [kind for _, kind in found]
        if len(kinds) > 1 and (not repeats or len(kinds) - kinds.count("title") > 1):
            doubled[name] = [line for line, _ in found]
        elif "_" in kinds and "title" in kinds:
            referred[name] = [line for line, _ in found]
    if doubled or referred:
        for found in _REFERENCE.finditer(text):
            name = _normal(found.group(1) or found.group(2))
            at = doubled.get(name)
            if at is None and name in referred:
                at = doubled[name] = referred.pop(name)
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


def inline_names(text: str) -> set[str]:
    """The names of the targets ``text`` defines inline (normalised)."""
    return {_normal(found.group(1) or found.group(2)) for found in _NAMED_INLINE.finditer(text)}


def _normal(name: str) -> str:
    return " ".join(name.lower().split())


def _coalesced(lines: list[str], bounds: list[int], least: int) -> list[int]:
    """``bounds`` with short parts run together: each docutils document
    costs a few milliseconds however short, so a part is closed once it
    holds ``least`` characters, or a quarter of that when the next section
    would make it more than twice as long; a short tail joins the part
    before it."""
    sizes = [sum(len(line) + 1 for line in lines[a:b]) for a, b in zip(bounds, bounds[1:])]
    kept, size = [0], 0
    for bound, part in zip(bounds, sizes):
        if size and (size >= least or (size >= least // 4 and size + part > 2 * least)):
            kept.append(bound)
            size = 0
        size += part
    if len(kept) > 1 and size < least // 4:
        kept.pop()
    return [*kept, len(lines)]


def _headings(lines: list[str]):
    """``(title line, style, first line)`` of each heading that starts a
    line after a blank one; the style tells an overlined title from one
    only underlined, and the first line takes in internal targets above."""
    for i in range(len(lines) - 1):
        title, under = lines[i], lines[i + 1]
        if not title.strip() or title[0].isspace() or ADORNMENT.fullmatch(title) \
                or not ADORNMENT.fullmatch(under):
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
    return last >= 0 and len(lines[last].strip()) >= 4 and bool(ADORNMENT.fullmatch(lines[last])) \
        and (last == 0 or not lines[last - 1].strip())


def _in_order(headings, order: list, base: int, cuts: list[int], end: int) -> list[int]:
    """``cuts`` less those before a part whose title styles, in order of
    first use, are not the file's from level ``base`` (the first part's:
    from the top), so docutils gives every title the level it has in the
    whole; none when the first part cannot be made so. Each such part joins
    the one before it, which is checked again."""
    bounds = [0, *cuts, end]
    styles: list[list] = [[] for _ in cuts] + [[]]
    for line, style, _ in headings:
        styles[bisect.bisect_right(bounds, line) - 1].append(style)
    kept: list[tuple[int, list]] = []
    for start, found in zip(bounds, styles):
        seen = list(dict.fromkeys(found))
        while kept and not _is_order(seen, order, base if start else 0):
            start, before = kept.pop()
            seen = list(dict.fromkeys([*before, *seen]))
        kept.append((start, seen))
    if not _is_order(kept[0][1], order, 0):
        return []
    return [start for start, _ in kept[1:]]


def _is_order(seen: list, order: list, base: int) -> bool:
    return seen == order[base:base + len(seen)]


def _merged(ranges: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Line ranges joined where they overlap or touch, in order."""
    out: list[tuple[int, int]] = []
    for first, last in sorted(ranges):
        if out and first <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], last))
        else:
            out.append((first, last))
    return out


def join(parts: Sequence[tuple[Part, RenderedFile]], *, number_titles: bool) -> RenderedFile:
    """One file's rendering from its parts' (each rendered on its own).

    Anchors a part repeats from an earlier one are numbered, as docutils
    numbers them within one document; where the corpus does not allow
    repeated titles, :func:`split` kept those in one part, and any other
    anchor repeated is an error."""
    if len(parts) == 1 and parts[0][0].offset == 0:
        return parts[0][1]
    shown: set[str] = set()
    held: set[str] = set()
    first_line: dict[str, int] = {}
    joined: list[RenderedFile] = []
    problems: list[Diagnostic] = []
    for part, rendered in parts:
        rendered = _shifted(rendered, part.offset, part.base)
        if joined:
            if not number_titles:
                problems.extend(_repeats(rendered, first_line))
            rendered = numbered(rendered, shown, held)
        shown |= {anchor for anchor, _ in rendered.anchors}
        held |= {anchor for anchor, _, _ in rendered.reserved}
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
        tuple(a for r in joined for a in r.reserved), tuple(n for r in joined for n in r.naturals))


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
        reserved=tuple((a, natural, line(n)) for a, natural, n in rendered.reserved),
        diagnostics=tuple(replace(d, line=line(d.line)) if d.path == rendered.display else d
                          for d in rendered.diagnostics))


def _repeats(rendered: RenderedFile, first_line: dict[str, int]):
    """An anchor of an earlier part met again that no name made (a
    generated section's; named ones stay in one part, :func:`split`): the
    error docutils' document would have given (see
    :class:`specgen.rst.ExpandPlaceholder`)."""
    named = {anchor for anchor, _ in rendered.naturals}
    for anchor, line in rendered.anchors:
        if anchor in first_line and anchor not in named:
            yield Diagnostic(rendered.display, line, 1 if line else 0, "build.duplicate-anchor", Severity.ERROR,
                             f"duplicate anchor #{anchor} (first defined at line {first_line[anchor]})")


#: An id, or a link to one of the document's own (not a URI the author
#: wrote, which docutils marks external even when it starts with ``#``).
_ID_OR_HREF = re.compile(r'(\sid="|(?<!class="reference external" )href="#)([^"]+)"')


def numbered(rendered: RenderedFile, shown: set[str], held: set[str] = frozenset()) -> RenderedFile:
    """A file (or part) numbered after earlier ones whose elements have
    the ids ``shown`` and whose targets ``held`` ids while writing no
    element, as docutils numbers repeats within one document: in order of
    lines, each title's anchor (and each held id) is its natural id when
    that is free, else the first free ``<id>-<n>`` (``client-behaviour``,
    ``client-behaviour-1``, ...), and any other id an earlier one has is
    numbered alike, in the body (its own links to it too), the outline,
    the anchors and the placements. An alias only held before keeps its
    id and gains the numbered one, as :class:`specgen.rst.ExpandPlaceholder`
    gives it within a document."""
    taken = shown | held
    named = dict(rendered.naturals)
    # (line, id, the natural id it numbers or None, whether an element has it)
    order = sorted([(line, anchor, named.get(anchor), True) for anchor, line in rendered.anchors]
                   + [(line, anchor, natural if numbers(anchor, natural) else None, False)
                      for anchor, natural, line in rendered.reserved], key=lambda item: item[0])
    if all(anchor not in taken and natural not in taken for _, anchor, natural, _ in order):
        return rendered
    used = set(taken) | {anchor for _, anchor, natural, _ in order if natural is None}
    renames: dict[str, str] = {}
    kept: dict[str, str] = {}
    start: dict[str, int] = {}
    body, anchors = rendered.body, list(rendered.anchors)
    for line, anchor, natural, element in order:
        if natural is not None:
            new = natural if natural not in used else _first_free(natural, used, start)
        elif anchor in taken:
            new = _first_free(anchor, used, start)
        else:
            continue
        used.add(new)
        span = alias_span(anchor)
        if element and anchor not in shown and anchor in held and natural is None and span in body:
            body = body.replace(span, span + alias_span(new), 1)
            anchors.append((new, line))
        elif new != anchor:
            (renames if element else kept)[anchor] = new
    reserved = tuple((kept.get(a, a), natural, line) for a, natural, line in rendered.reserved)
    body = _ID_OR_HREF.sub(lambda m: m.group(1) + renames.get(m.group(2), m.group(2)) + '"', body) if renames else body
    return replace(
        rendered, body=body, reserved=reserved,
        naturals=tuple((renames.get(a, a), natural) for a, natural in rendered.naturals),
        outline=tuple(replace(e, anchor=renames.get(e.anchor, e.anchor)) for e in rendered.outline),
        anchors=tuple((renames.get(a, a), line) for a, line in anchors),
        placements=tuple(replace(p, anchors=tuple(renames.get(a, a) for a in p.anchors))
                         for p in rendered.placements))


def _first_free(anchor: str, used: set[str], start: dict[str, int]) -> str:
    """The first ``<anchor>-<n>`` not in ``used``, searched from where the
    last search for ``anchor`` ended (``used`` only grows)."""
    number = start.get(anchor, 1)
    while f"{anchor}-{number}" in used:
        number += 1
    start[anchor] = number + 1
    return f"{anchor}-{number}"

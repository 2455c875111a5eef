"""Prose files through docutils: parse, expand placeholders, write HTML.

Theory of operation. Each prose file is parsed on its own, with its own
source path, so every docutils message (bad markup, broken reference,
duplicate target) carries that file's true line. A placeholder is a
paragraph holding nothing but ``{{name}}``; the :class:`FindPlaceholders`
transform swaps each one for a ``pending`` node, and :class:`ExpandPlaceholder`
later replaces the pending node with the generated sections, before
docutils resolves references, so prose can link to a generated section by
its title. The text of the prose is never run through a template engine:
``{{`` inside a literal block, inline code, or a sentence is left alone.

Prose is untrusted: ``raw`` (unless the operator's config allows raw
HTML), ``include`` and ``csv-table :file:``/``:url:`` are ``rst.disabled``
errors at their line, nothing of another file is ever read, and a link or
image whose URI a browser would run as script
(:func:`specgen.script_uris.runs_script`) is an
``rst.unsafe-link`` error and is written as its text alone.

The Reporter is silenced (nothing is printed) and observed: every message
of level WARNING and above (docutils' own default) becomes a :class:`~specgen.diagnostics.Diagnostic`
at the file's line, with ``rst.markup`` as its code unless the raiser gave
a more specific one (placeholder errors do). The build decides what fails.

Title levels follow a fixed order of adornment characters (``title_styles``
in ``targets.yaml``) so that a file included at depth *d* of a page has all
its headings shifted down by *d*; :func:`check_title_levels` reports a
heading that skips a level.
"""

from __future__ import annotations

import copy
import html
import re
from dataclasses import dataclass, replace
from typing import Callable, Iterable, Mapping, Sequence

import docutils.core
import docutils.frontend
import docutils.io
import docutils.parsers.rst
import docutils.readers.doctree
import docutils.readers.standalone
import docutils.utils
import docutils.writers.html5_polyglot
from docutils import nodes
from docutils.transforms import Transform

from .diagnostics import Diagnostic, Severity
from .script_uris import runs_script

__all__ = [
    "Generated",
    "Placement",
    "Heading",
    "OutlineEntry",
    "RenderedFile",
    "PLACEHOLDER",
    "render_file",
    "check_title_levels",
]

#: A placeholder paragraph: ``{{name}}`` alone (surrounding spaces allowed).
PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z0-9_.-]+)\s*\}\}")

_SEVERITY = {2: Severity.WARNING, 3: Severity.ERROR, 4: Severity.ERROR}
#: docutils' own default report level: its INFO messages ("target is not
#: referenced") are chatter about deliberate cross-page targets.
_LOWEST_LEVEL = 2


@dataclass(frozen=True)
class Generated:
    """One generated block, as a placeholder expands to it."""

    anchor: str
    #: Its heading, or ``""`` for a block without one (common field tables).
    title: str
    #: ``event``, ``endpoint``, ``definition`` or ``common``: what the search
    #: index and the outline call it.
    kind: str
    html: str
    #: Every other ``id`` the HTML defines (nested tables), for the page's
    #: uniqueness check.
    inner_anchors: tuple[str, ...] = ()
    #: Further ids for the block (the anchors an older build gave it), each
    #: kept only while the document has no other use for it.
    aliases: tuple[str, ...] = ()
    #: The ``href`` values the HTML writes relative to the site root: the
    #: page that places the block makes them relative to itself.
    site_links: tuple[str, ...] = ()


@dataclass(frozen=True)
class Placement:
    """A placeholder as found in a prose file, and what it became."""

    name: str
    line: int
    anchors: tuple[str, ...]


@dataclass(frozen=True)
class Heading:
    line: int
    #: The adornment character under (and maybe over) the title.
    style: str
    #: Nesting depth within its file, as docutils parsed it (0 = top).
    depth: int
    title: str


@dataclass(frozen=True)
class OutlineEntry:
    #: 0 for the page's top headings.
    level: int
    title: str
    anchor: str
    #: ``section`` for prose, else the :attr:`Generated.kind`.
    kind: str
    line: int


@dataclass(frozen=True)
class RenderedFile:
    display: str
    body: str
    outline: tuple[OutlineEntry, ...]
    headings: tuple[Heading, ...]
    placements: tuple[Placement, ...]
    #: Every ``id`` in the body with the line that defines it.
    anchors: tuple[tuple[str, int], ...]
    diagnostics: tuple[Diagnostic, ...]
    #: The names this file asked the site about, with the answers: the
    #: file is current while the site gives the same answers.
    lookups: tuple[tuple[str, "str | None"], ...] = ()
    #: The ids docutils gave targets that write no element (an indirect or
    #: external target), each with the id its name makes and its line:
    #: held, they push a later title's id to ``-1``.
    reserved: tuple[tuple[str, str, int], ...] = ()
    #: Each id of a named element (a title, a target) with the id its name
    #: makes, which the id is or numbers.
    naturals: tuple[tuple[str, str], ...] = ()


Expand = Callable[[str], "Sequence[Generated] | None"]
#: A reference name (normalised) -> the URI of what it names, or ``None``.
Lookup = Callable[[str], "str | None"]


def _nowhere(name: str) -> None:
    return None


class FindPlaceholders(Transform):
    """Paragraphs that are exactly ``{{name}}`` become pending nodes."""

    default_priority = 100

    def apply(self) -> None:
        for paragraph in list(self.document.findall(nodes.paragraph)):
            match = PLACEHOLDER.fullmatch(paragraph.rawsource.strip())
            if match is None or len(paragraph.children) != 1 or not isinstance(paragraph[0], nodes.Text):
                continue
            pending = nodes.pending(ExpandPlaceholder, {"name": match.group(1)})
            pending.source, pending.line = paragraph.source, paragraph.line
            paragraph.replace_self(pending)
            self.document.note_pending(pending)


class ExpandPlaceholder(Transform):
    """Replaces one pending placeholder with what its builder generated.

    Runs before docutils resolves references, so the generated sections'
    titles are targets like any prose title.
    """

    default_priority = 200

    def apply(self) -> None:
        pending = self.startnode
        name = pending.details["name"]
        settings = self.document.settings
        generated = settings.specgen_expand(name)
        reporter = self.document.reporter
        if generated is None:
            reporter.error(f"unknown placeholder {{{{{name}}}}}", base_node=pending,
                           code="build.unknown-placeholder")
            pending.parent.remove(pending)
            return
        produced: list[nodes.Element] = []
        anchors: list[str] = []
        placed = settings.specgen_placed
        if name in placed and settings.specgen_number_titles:
            # gendoc.py wrote the section again, docutils numbering its id.
            again = tuple(f"{a}-1" for block in generated for a in block.aliases
                          if f"{a}-1" not in self.document.ids)
            paragraph = self._see_above(generated, pending)
            paragraph["ids"] = list(again)
            for anchor in again:
                self.document.ids[anchor] = paragraph
            pending.replace_self(paragraph)
            settings.specgen_placements.append(Placement(name, pending.line or 0, again))
            return
        placed.add(name)
        for block in generated:
            taken = [a for a in (block.anchor, *block.inner_anchors) if a in self.document.ids]
            if taken and settings.specgen_number_titles:
                block = self._renumbered(block)
                taken = []
            if taken:
                reporter.error(f"duplicate anchor #{taken[0]} (placeholder {{{{{name}}}}})",
                               base_node=pending, code="build.duplicate-anchor")
                continue
            ids = self.document.ids
            aliases = tuple(a for a in dict.fromkeys(block.aliases)
                            if a != block.anchor and (a not in ids or _invisible(ids[a])) and a not in block.inner_anchors)
            # Where a target of the same name came first, gendoc.py's
            # section took the next number (``m-dummy-1``): that id too.
            aliases += tuple(_next_free(a, ids) for a in aliases if a in ids)
            produced.append(self._node(block, pending, aliases))
            anchors.extend((block.anchor, *aliases, *block.inner_anchors))
            for inner in (*aliases, *block.inner_anchors):
                self.document.ids[inner] = produced[-1]
        settings.specgen_placements.append(Placement(name, pending.line or 0, tuple(anchors)))
        pending.replace_self(produced)

    def _renumbered(self, block: Generated) -> Generated:
        """The same block under ``<anchor>-1`` (or the next free number),
        its inner anchors, links and aliases renamed alike: two sources
        generating one section (one endpoint in two API files) on a page."""
        ids = self.document.ids
        number = 1
        while any(a.replace(block.anchor, f"{block.anchor}-{number}", 1) in ids
                  for a in (block.anchor, *block.inner_anchors)):
            number += 1
        new = f"{block.anchor}-{number}"
        pattern = re.compile(r'((?:id|href)="#?)' + re.escape(block.anchor) + r'(?=[-"])')
        return replace(block, anchor=new, html=pattern.sub(lambda m: m.group(1) + new, block.html),
                       inner_anchors=tuple(a.replace(block.anchor, new, 1) for a in block.inner_anchors),
                       aliases=tuple(f"{a}-{number}" for a in block.aliases))

    @staticmethod
    def _see_above(generated: Sequence[Generated], pending: nodes.pending) -> nodes.Element:
        """A placeholder placed a second time on a page (where repeated
        titles are allowed, as in gendoc.py's trees) links to where it was
        first placed instead of repeating its anchors."""
        paragraph = nodes.paragraph(classes=["placed-above"])
        paragraph += nodes.Text("See ")
        for i, block in enumerate(generated):
            if i:
                paragraph += nodes.Text(", ")
            text = block.title or block.anchor
            paragraph += nodes.reference(text, text, refuri=f"#{block.anchor}")
        paragraph += nodes.Text(" above.")
        paragraph.source, paragraph.line = pending.source, pending.line
        return paragraph

    def _node(self, block: Generated, pending: nodes.pending, aliases: tuple[str, ...]) -> nodes.Element:
        # Aliases are empty elements at the top of the block: the block's own
        # anchor stays the one its heading links to.
        spans = "".join(alias_span(a) for a in aliases)
        html = block.html
        root = self.document.settings.specgen_site_root
        if root:
            for link in block.site_links:
                html = html.replace(f'href="{link}"', f'href="{root}{link}"')
        raw = nodes.raw("", spans + html, format="html")
        if block.title:
            node = nodes.section("", nodes.title(block.title, block.title), raw,
                                 ids=[block.anchor], names=[nodes.fully_normalize_name(block.title)],
                                 classes=["generated", block.kind])
        else:
            node = nodes.container("", raw, ids=[block.anchor], classes=["generated", block.kind])
        node.source, node.line = pending.source, pending.line
        node["specgen_kind"] = block.kind
        if block.title:
            self.document.note_implicit_target(node, node)
        else:
            self.document.set_id(node)
        return node


def alias_span(anchor: str) -> str:
    """An empty element that gives a generated block one more id."""
    return f'<span class="alias" id="{html.escape(anchor, quote=True)}"></span>'


def _next_free(anchor: str, ids: Mapping[str, object]) -> str:
    number = 1
    while f"{anchor}-{number}" in ids:
        number += 1
    return f"{anchor}-{number}"


class NumberTitles(Transform):
    """Anchors of titles repeated in a file: the first ``client-behaviour``,
    the next ``client-behaviour-1`` and so on (docutils' own numbering), so
    an anchor depends on the titles before it and not on docutils' running
    ``idN`` counter (the build numbers repeats across a page's files the
    same way). When the corpus does not allow repeated titles
    (``settings.specgen_number_titles`` false), a repeat is an error.

    Runs before docutils moves explicit targets onto sections, so a
    section's first id is still its title's."""

    default_priority = 255

    def apply(self) -> None:
        settings = self.document.settings
        ids = self.document.ids
        #: natural id -> the number to try first (a title repeated n times
        #: costs n steps, not n squared).
        start: dict[str, int] = {}
        for section in list(self.document.findall(nodes.section)):
            if "generated" in section["classes"] or not section["ids"] or not len(section) \
                    or not isinstance(section[0], nodes.title):
                continue
            natural = nodes.make_id(section[0].astext())
            current = section["ids"][0]
            # A title is repeated when an earlier section holds its id; an
            # explicit target of that name is moved onto it later.
            if not natural or current == natural or not isinstance(ids.get(natural), nodes.section):
                continue
            if not settings.specgen_number_titles:
                self.document.reporter.error(
                    f"title {section[0].astext()!r} repeats one earlier on the page (anchor #{natural}); "
                    "retitle it, or set duplicate_titles: true in targets.yaml to number such anchors",
                    base_node=section[0], code="build.duplicate-anchor")
                continue
            number = start.get(natural, 1)
            while ids.get(f"{natural}-{number}", section) is not section:
                number += 1
            start[natural] = number + 1
            if ids.get(current) is section:
                del ids[current]
            section["ids"][0] = f"{natural}-{number}"
            ids[section["ids"][0]] = section


class ResolveElsewhere(Transform):
    """A reference name this file does not define may be the title of a
    generated section another file of the site places; ask the build
    (``settings.specgen_lookup``) just before docutils reports it dangling."""

    default_priority = 845

    def apply(self) -> None:
        lookup = self.document.settings.specgen_lookup
        for node in self.document.findall(nodes.reference):
            name = node.get("refname")
            if not name or name in self.document.nameids:
                continue
            uri = lookup(name)
            if uri is not None:
                # On this page, it is an internal reference, as docutils
                # writes one to a title of its own document.
                node["refid" if uri.startswith("#") else "refuri"] = uri.removeprefix("#")
                del node["refname"]
                node.resolved = True


class UnsafeLinks(Transform):
    """Links and images whose URI :func:`~specgen.script_uris.runs_script` are located errors,
    and are written as their text alone (an image not at all)."""

    default_priority = 840

    def apply(self) -> None:
        for node in list(self.document.findall(lambda n: isinstance(n, (nodes.reference, nodes.image)))):
            uri = node.get("refuri" if isinstance(node, nodes.reference) else "uri") or ""
            if not runs_script(uri):
                continue
            what = "link to" if isinstance(node, nodes.reference) else "image from"
            # An image's :target: link has no line of its own; its image has.
            line = next((n.line for n in node.findall() if n.line), None) or _line_of(node)
            self.document.reporter.error(f"{what} {uri[:60]!r} is not published: a browser would run it as "
                                         "script", base_node=node, line=line, code="rst.unsafe-link")
            if isinstance(node, nodes.reference):
                node.replace_self(node.children or [nodes.Text(node.astext())])
            else:
                node.parent.remove(node)


class ResolveIndirectElsewhere(Transform):
    """An indirect target (``.. _Presence: module:presence_``) naming a
    target another file of the site defines points at that file's URI,
    before docutils resolves indirect targets."""

    default_priority = 450

    def apply(self) -> None:
        lookup = self.document.settings.specgen_lookup
        for target in self.document.findall(nodes.target):
            name = target.get("refname")
            if not name or name in self.document.nameids:
                continue
            uri = lookup(name)
            if uri is not None:
                target["refid" if uri.startswith("#") else "refuri"] = uri.removeprefix("#")
                del target["refname"]
                target.resolved = True


class _Reader(docutils.readers.standalone.Reader):
    """The standalone reader plus placeholders, cross-file references and
    an observing reporter."""

    def __init__(self, sink: list[Diagnostic], markup_errors: Severity = Severity.ERROR) -> None:
        super().__init__()
        self.sink = sink
        self.markup_errors = markup_errors

    def get_transforms(self):
        return [*super().get_transforms(), FindPlaceholders, NumberTitles, ResolveIndirectElsewhere,
                ResolveElsewhere, UnsafeLinks]

    def new_document(self):
        document = super().new_document()
        document.reporter.attach_observer(self._observe)
        return document

    def _observe(self, message: nodes.system_message) -> None:
        if message["level"] >= _LOWEST_LEVEL:
            found = _diagnostic(message)
            if found.code == "rst.markup" and message["level"] == 3:
                found = replace(found, severity=self.markup_errors)
            self.sink.append(found)


#: docutils' warnings for the directives and roles a corpus may not use:
#: they would read files (``include``, ``csv-table :file:``/``:url:``,
#: ``raw :file:``) or publish markup nobody reviewed (``raw``). Each becomes
#: an ``rst.disabled`` error with a hint instead of a warning.
_DISABLED = (
    (re.compile(r'"(include)" directive disabled'), "inserts another file"),
    (re.compile(r'"(raw)" directive disabled'), "publishes unreviewed markup (allow_raw_html = true in "
                                                "an operator's --config file enables it)"),
    (re.compile(r'(raw) \(and derived\) roles disabled'), "publishes unreviewed markup (allow_raw_html = true "
                                                         "in an operator's --config file enables it)"),
    (re.compile(r'access deactivated; ignoring "(csv-table)" directive'), "reads a file or URL with :file: or :url:"),
)


def _diagnostic(message: nodes.system_message) -> Diagnostic:
    text = message[0].astext() if len(message) and isinstance(message[0], nodes.paragraph) else message.astext()
    code = message.get("code") or "rst.markup"
    severity = _SEVERITY.get(message["level"], Severity.ERROR)
    for pattern, why in _DISABLED:
        found = pattern.search(text)
        if found:
            code, severity = "rst.disabled", Severity.ERROR
            text = f"{found.group(1)!r} is disabled: it {why}"
            break
    return Diagnostic(
        path=str(message.get("source") or ""),
        line=int(message.get("line") or 0),
        column=1 if message.get("line") else 0,
        code=code,
        severity=severity,
        message=text,
    )


_COMMON = {
    "report_level": 5,          # print nothing; the observer sees everything
    "halt_level": 5,
    "warning_stream": False,
    "doctitle_xform": False,    # a file's lone top heading stays a section
    "sectsubtitle_xform": False,
    "file_insertion_enabled": False,
    "raw_enabled": False,
    "syntax_highlight": "short",
    "input_encoding": "utf-8",
    "_disable_config": True,
    "traceback": True,
}
_PARSE_SETTINGS = docutils.frontend.get_default_settings(docutils.parsers.rst.Parser, docutils.readers.standalone.Reader)
_WRITE_SETTINGS = docutils.frontend.get_default_settings(docutils.writers.html5_polyglot.Writer, docutils.readers.doctree.Reader)
for _settings in (_PARSE_SETTINGS, _WRITE_SETTINGS):
    _settings._update(_COMMON, "loose")
# toc_backlinks off in the writer: a contents topic's title would link to
# "#top", an id no page of ours has.
_WRITE_SETTINGS._update({"toc_backlinks": False, "section_self_link": True, "embed_stylesheet": False, "stylesheet_path": "",
                         "stylesheet": "", "math_output": "HTML"}, "loose")


def render_file(text: str, display: str, *, expand: Expand, title_styles: Sequence[str], depth: int,
                lookup: Lookup = _nowhere, allow_raw_html: bool = False, number_titles: bool = False,
                markup_errors: Severity = Severity.ERROR, placed_before: frozenset[str] = frozenset(),
                top_style: str | None = None, base: int = 0, own_lines: int = 0, site_root: str = "") -> RenderedFile:
    """Parse one prose file, expand its placeholders and write its HTML body.

    Args:
        text: the file's contents.
        display: its corpus-relative path (diagnostics and docutils' source).
        expand: maps a placeholder name to its generated blocks, or ``None``
            when no placeholder has that name.
        title_styles: adornment characters, outermost first.
        depth: how many levels this file's headings sit below the page's top.
        lookup: resolves reference names this file does not define (the
            titles of generated sections placed by other files).
        allow_raw_html: whether ``raw`` may publish HTML (a trusted corpus);
            file insertion stays off whatever this says.
        number_titles: whether a repeated title is numbered (else an error).
        markup_errors: the severity docutils' own errors are reported with.
        placed_before: placeholders the page's earlier files place; placed
            again here, they link there.
        top_style, base: when ``text`` is a part of a file
            (:mod:`specgen.file_parts`), the style of the file's first
            heading and how many of the file's sections enclose the part.
        own_lines: how many of ``text``'s lines are the file's own (the
            rest, definitions added from elsewhere, reserve no ids); 0: all.
        site_root: the way from the file's page up to the site root
            (``"../"`` per folder), for generated links written from there.
    """
    sink: list[Diagnostic] = []
    settings = copy.copy(_PARSE_SETTINGS)
    settings.raw_enabled = allow_raw_html
    settings.specgen_expand = expand
    settings.specgen_placements = []
    asked: dict[str, str | None] = {}

    def recorded(name: str) -> str | None:
        asked[name] = lookup(name)
        return asked[name]

    settings.specgen_lookup = recorded
    settings.specgen_placed = set(placed_before)
    settings.specgen_number_titles = number_titles
    settings.specgen_site_root = site_root
    try:
        document = docutils.core.publish_doctree(
            text, source_path=display, reader=_Reader(sink, markup_errors), parser=docutils.parsers.rst.Parser(),
            settings=settings,
        )
        headings = tuple(_headings(document, text.splitlines()))
        if top_style is None:
            top_style = headings[0].style if headings else (title_styles[0] if title_styles else "=")
        first_level = depth + (title_styles.index(top_style) if top_style in title_styles else 0) + base
        outline = tuple(_outline(document, first_level))
        anchors = tuple((anchor, _line_of(node)) for anchor, node in document.ids.items()
                        if not isinstance(node, (nodes.system_message, nodes.problematic)) and not _invisible(node))
        reserved = tuple((anchor, _natural(anchor, node) or anchor, _line_of(node))
                         for anchor, node in document.ids.items()
                         if _invisible(node) and (not own_lines or _line_of(node) <= own_lines))
        shown = {anchor for anchor, _ in anchors}
        # (not a generated block's alias: the id of an element of its own)
        naturals = tuple((anchor, natural) for anchor, node in document.ids.items()
                         if anchor in shown and anchor in node.get("ids", ())
                         for natural in [_natural(anchor, node)] if natural)
        body = _write_body(document, header_level=min(first_level + 1, 6))
        return RenderedFile(display, body, outline, headings, tuple(settings.specgen_placements), anchors,
                            tuple(sink), tuple(asked.items()), reserved, naturals)
    except RecursionError:
        # docutils parses nested blocks by recursion: a few hundred levels
        # of lists or quotes inside each other exhaust Python's stack.
        return RenderedFile(display, "", (), (), (), (), (*sink, _too_deep(display, text)), tuple(asked.items()))


def _too_deep(display: str, text: str) -> Diagnostic:
    """The error for prose nested beyond what docutils can parse, at the
    line that looks most deeply nested (indentation plus leading list and
    quote markers)."""
    def nesting(line: str) -> int:
        stripped = line.expandtabs().lstrip(" ")
        depth = len(line.expandtabs()) - len(stripped)
        markers = re.match(r"(?:(?:[-*+|>]|#\.|\d+[.)])\s+)*", stripped)
        return depth + len(markers.group(0))

    lines = text.splitlines() or [""]
    line = max(range(len(lines)), key=lambda i: nesting(lines[i])) + 1
    return Diagnostic(display, line, 1, "rst.too-deep", Severity.ERROR,
                      "the prose nests blocks (lists, quotes, directives) inside each other more deeply than "
                      "docutils can parse; nothing of this file is written")


def numbers(anchor: str, natural: str) -> bool:
    """Whether ``anchor`` is ``natural`` or docutils' numbering of it."""
    return anchor == natural or (anchor.startswith(natural + "-") and anchor[len(natural) + 1:].isdigit())


def _natural(anchor: str, node: nodes.Element) -> str:
    """The id of the node's name that ``anchor`` is or numbers, if any."""
    for name in (*node.get("names", ()), *node.get("dupnames", ())):
        if numbers(anchor, nodes.make_id(name)):
            return nodes.make_id(name)
    return ""


def _invisible(node: nodes.Node) -> bool:
    """A target that points elsewhere writes no element, so its id is no anchor."""
    return isinstance(node, nodes.target) and any(k in node for k in ("refuri", "refid", "refname"))


def _line_of(node: nodes.Node) -> int:
    """A prose section's line is its title's (docutils puts a title at its
    underline); anything else's is its own or its nearest ancestor's."""
    if isinstance(node, nodes.section) and len(node) and isinstance(node[0], nodes.title) and node[0].line:
        return max(node[0].line - 1, 1)
    return node.line or docutils.utils.get_source_line(node)[1] or 0


#: An underline or overline beside a title docutils has already found, so
#: one character is enough (a one-letter title may have one); a scan of raw
#: text needs more to tell one apart (:data:`specgen.targets.ADORNMENT`).
_ADORNMENT = re.compile(r"([!-/:-@\[-`{-~])\1*\s*")


def _headings(document: nodes.document, lines: list[str]) -> Iterable[Heading]:
    for section in document.findall(nodes.section):
        if "generated" in section["classes"] or not len(section) or not isinstance(section[0], nodes.title):
            continue
        line = section[0].line or 0
        style = ""
        for candidate in (line - 1, line, line - 2):
            if 0 <= candidate < len(lines) and _ADORNMENT.fullmatch(lines[candidate]):
                style = lines[candidate][0]
                break
        depth = sum(1 for a in _ancestors(section) if isinstance(a, nodes.section))
        yield Heading(line=_line_of(section), style=style, depth=depth, title=section[0].astext())


def _ancestors(node: nodes.Node) -> Iterable[nodes.Node]:
    parent = node.parent
    while parent is not None:
        yield parent
        parent = parent.parent


def _outline(document: nodes.document, first_level: int) -> Iterable[OutlineEntry]:
    for section in document.findall(nodes.section):
        if not section["ids"] or not len(section) or not isinstance(section[0], nodes.title):
            continue
        depth = sum(1 for a in _ancestors(section) if isinstance(a, nodes.section))
        yield OutlineEntry(
            level=first_level + depth,
            title=section[0].astext(),
            anchor=section["ids"][0],
            kind=section.get("specgen_kind", "section"),
            line=_line_of(section),
        )


def _write_body(document: nodes.document, *, header_level: int) -> str:
    settings = copy.copy(_WRITE_SETTINGS)
    settings.initial_header_level = header_level
    writer = docutils.writers.html5_polyglot.Writer()
    publisher = docutils.core.Publisher(
        reader=docutils.readers.doctree.Reader(), writer=writer,
        source=docutils.io.DocTreeInput(document), destination=docutils.io.StringOutput(encoding="unicode"),
        settings=settings,
    )
    publisher.publish()
    return writer.parts["body"]


def check_title_levels(files: Sequence[tuple[str, int, Sequence[Heading]]], title_styles: Sequence[str]) -> list[Diagnostic]:
    """Headings of one page, file by file: each must use a known style and
    sit at most one level below the heading before it.

    Args:
        files: ``(display, depth, headings)`` for each file, in page order.
        title_styles: adornment characters, outermost first.

    Returns:
        A ``build.title-level`` error for each offending heading.
    """
    out: list[Diagnostic] = []
    previous = -1
    for display, depth, headings in files:
        first_index = None
        for heading in headings:
            if heading.style not in title_styles:
                out.append(_level_error(display, heading, f"title adornment {heading.style!r} is not one of "
                                        f"the title styles {''.join(title_styles)!r}"))
                continue
            index = title_styles.index(heading.style)
            first_index = index if first_index is None else first_index
            level = depth + index
            if level > previous + 1 or index - first_index != heading.depth:
                expected = title_styles[previous + 1 - depth] if 0 <= previous + 1 - depth < len(title_styles) else "?"
                out.append(_level_error(display, heading, f"title level jump: {heading.title!r} uses {heading.style!r} "
                                        f"(level {level + 1}) after a level-{previous + 1} heading; "
                                        f"use {expected!r} or a shallower style"))
            previous = level
    return out


def _level_error(display: str, heading: Heading, message: str) -> Diagnostic:
    return Diagnostic(display, heading.line, 1, "build.title-level", Severity.ERROR, message)

"""``specgen build``: the HTML specification, as an explicit pipeline.

Stages, each a function over values (docutils' reader, transforms, writer;
mkdocs' gather-then-write):

1. **load** the corpus and ``specification/targets.yaml`` (which prose files
   form which page, at which depth);
2. **resolve, lint, validate**: ``$ref``s, the lint rules, the examples;
3. **build table models and render** each prose file
   (:func:`specgen.rst.render_file`, placeholders expanded from a
   :class:`specgen.placeholders.Catalog`);
4. **assemble pages**: title levels checked, anchors unique per page, the
   outline, the sidebar and the search index;
5. **write** everything (HTML, one stylesheet, scripts, the search index, one
   bundled OpenAPI JSON per API) into a temporary folder, check every
   internal link and anchor there, and only then swap it in place of the
   previous output. A failed build leaves the previous output untouched.

:func:`build_site` is stages 1-4 and returns a :class:`Site` (file name to
bytes); :func:`publish` is stage 5. ``specgen serve`` reuses both through
:class:`SiteBuilder`, which remembers rendered files between rebuilds.
"""

from __future__ import annotations

import ctypes
import errno
import functools
import gc
import json
import os
import posixpath
import re
import secrets
import shutil
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
import html
from importlib import resources
from pathlib import Path
from typing import Callable, Iterable, Mapping, Sequence
from urllib.parse import unquote, urlsplit

import jinja2
from docutils.nodes import fully_normalize_name, make_id
from pygments.formatters import HtmlFormatter

from .build_command import DEFAULT_OUT, check_sources
from .corpus import Corpus
from .diagnostics import Collector, Diagnostic, Severity
from .file_parts import Part, inline_names, join, numbered, split
from .forked import Forked
from .page_contents import number_and_list
from .placeholders import DEFAULT_TEMPLATES, INLINE, Catalog, render_template, template_environment
from .refs import Resolver
from .rst import PLACEHOLDER, OutlineEntry, RenderedFile, check_title_levels, render_file
from .sources import read_bounded
from .targets import TARGETS_FILE, PageTarget, Targets, heading_lines, load_targets, substitute

__all__ = [
    "PageTarget",
    "Targets",
    "Page",
    "Site",
    "SiteBuilder",
    "load_targets",
    "build_site",
    "publish",
    "check_links",
    "STATIC",
    "DEFAULT_OUT",
]

#: The stylesheet and scripts every build writes (package data).
STATIC = Path(resources.files(__package__)) / "static"


def _error(path: str, line: int, code: str, message: str, severity: Severity = Severity.ERROR) -> Diagnostic:
    return Diagnostic(path, line, 1 if line else 0, code, severity, message)


# -- 3/4. pages --------------------------------------------------------------

@dataclass(frozen=True)
class Page:
    target: PageTarget
    files: tuple[RenderedFile, ...]

    @property
    def outline(self) -> tuple[OutlineEntry, ...]:
        return tuple(e for f in self.files for e in f.outline)

    @property
    def body(self) -> str:
        return "\n".join(f.body for f in self.files)


def page_diagnostics(page: Page, title_styles: Sequence[str], depths: Sequence[int] | None = None) -> list[Diagnostic]:
    """Title levels across the page's files, and anchors unique in it.
    ``depths`` are the files' effective depths (their listed ones unless
    given)."""
    depths = [depth for _, depth in page.target.files] if depths is None else depths
    out = check_title_levels([(f.display, depth, f.headings) for f, depth in zip(page.files, depths)],
                             title_styles)
    first: dict[str, tuple[str, int]] = {}
    for rendered in page.files:
        for anchor, line in rendered.anchors:
            if anchor in first and first[anchor][0] != rendered.display:
                where = "%s:%d" % first[anchor]
                out.append(_error(rendered.display, line, "build.duplicate-anchor",
                                  f"duplicate anchor #{anchor} on page {page.target.url} (first defined at {where})"))
            first.setdefault(anchor, (rendered.display, line))
    return out


@dataclass(frozen=True)
class Site:
    """Everything to write, by output-relative path, and what was found."""

    files: Mapping[str, bytes]
    diagnostics: tuple[Diagnostic, ...]
    #: Output path -> the prose files it came from (to locate link errors).
    sources: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    #: The targets' variables (``%CLIENT_MAJOR_VERSION%`` -> ``r0``): a link
    #: written with them is found in the prose as they expand.
    variables: Mapping[str, str] = field(default_factory=dict)


def _relative(from_page: str, to: str) -> str:
    """``to`` (relative to the site root) as seen from ``from_page``."""
    return "../" * from_page.count("/") + to


def _stylesheet() -> bytes:
    """Our stylesheet plus Pygments' colours, light and dark, in one file."""
    light = HtmlFormatter(style="default").get_style_defs(".code")
    dark = HtmlFormatter(style="monokai").get_style_defs(".code")
    own = (STATIC / "style.css").read_text("utf-8")
    return (f"{own}\n/* Pygments, light */\n{light}\n"
            f"@media (prefers-color-scheme: dark) {{\n{dark}\n}}\n").encode("utf-8")


def search_entries(pages: Sequence[Page], unstable: frozenset[str] = frozenset()) -> list[dict[str, str]]:
    """Section titles, events, endpoints and definitions, with their URLs
    relative to the site root; the generated sections whose anchors are in
    ``unstable`` say so, so a search never passes a proposal off as
    released."""
    return [
        {"t": e.title + (" (unstable)" if e.kind != "section" and e.anchor in unstable else ""),
         "k": e.kind, "u": f"{p.target.url}#{e.anchor}", "p": p.target.title}
        for p in pages for e in p.outline
    ]


def render_page(page: Page, targets: Targets, env, corpus: Corpus, *, live_reload: bool = False) -> bytes | Diagnostic:
    """One page through ``page.html``: the sidebar lists every page, and the
    sections of this one, so a page depends only on its own files and the
    list of pages. A template that fails is a located diagnostic."""
    url = page.target.url
    rendered = render_template(
        env, "page.html", corpus,
        page=page.target, body=page.body, toc=[e for e in page.outline if e.level <= 2],
        nav=targets.pages, sections=[e for e in page.outline if e.level == 1],
        here=url, root="../" * url.count("/"), rel=lambda target: _relative(url, target),
        live_reload=live_reload,
    )
    return rendered if isinstance(rendered, Diagnostic) else rendered.encode("utf-8")


def bundled_openapi(corpus: Corpus, resolver: Resolver) -> tuple[dict[str, bytes], list[Diagnostic]]:
    """One JSON file per API file, every ``$ref`` inlined, for code generators."""
    files, diagnostics = {}, []
    for path in corpus.api_files:
        inlined = resolver.inline(path)
        diagnostics.extend(inlined.diagnostics)
        if inlined.data is None:
            continue
        rel = path.relative_to(corpus.api_dir).with_suffix(".json").as_posix()
        files[f"openapi/{rel}"] = json.dumps(inlined.data, ensure_ascii=False).encode("utf-8")
    return files, diagnostics


class SiteBuilder:
    """Stages 1-4 over one corpus, remembering each rendered prose file so a
    rebuild only re-renders what a change touched.

    ``rebuild(changed)`` is what ``specgen serve`` calls; a fresh builder's
    ``build()`` is what ``specgen build`` calls.
    """

    def __init__(self, corpus: Corpus, *, check: bool = True, live_reload: bool = False,
                 releases: Mapping[str, str] | None = None, jobs: int = 1, in_parts: bool | None = None) -> None:
        self.check = check
        #: Processes to render prose files in (1: this one).
        self.jobs = jobs
        self.live_reload = live_reload
        #: Whether a large prose file renders in parts (:mod:`specgen.file_parts`):
        #: a preview's, so an edit re-renders one part. A build that renders
        #: everything once renders each file whole: every part is a docutils
        #: document of its own, and costs more in all than the whole file.
        self.in_parts = live_reload if in_parts is None else in_parts
        self.releases = dict(releases or {})
        self._rendered: dict[_Job, RenderedFile] = {}
        self._pages: dict[str, tuple[tuple, bytes]] = {}
        self._targets: Targets | None = None
        self._reset(corpus)

    def _reset(self, corpus: Corpus) -> None:
        self.corpus = corpus
        self.resolver = Resolver(self.corpus)
        self.env = template_environment(self.corpus)
        self.catalog = Catalog(self.corpus, self.resolver, self.env, self._targets)
        self.inline = {name: value(self.corpus.root) for name, value in INLINE.items()}
        self._bundled: tuple[dict[str, bytes], list[Diagnostic]] | None = None
        self._rendered.clear()
        #: Prose text as read -> as parsed (and its relative title problems).
        self._prepared: dict[str, tuple[str, list[tuple[int, str]]]] = {}
        #: Page URL -> per file: as rendered, the ids before it, numbered.
        self._numbered: dict[str, list[tuple[RenderedFile, tuple, RenderedFile]]] = {}
        #: Page URL -> (its definitions, per file: its text and its parts
        #: as the page renders them).
        self._texts_of_page: dict[str, tuple["_Definitions", dict[str, tuple[str, tuple]]]] = {}
        #: Page URL -> (its files' texts, what :func:`_scan_page` found in them).
        self._scanned: dict[str, tuple[tuple, tuple]] = {}
        self._listed: dict[str, tuple[tuple[RenderedFile, ...], tuple[RenderedFile, ...]]] = {}

    def build(self, checks: Forked | None = None) -> Site:
        """The site; ``checks``, when given, are this build's checks already
        running beside it (:func:`specgen.build_command.build_command`
        starts them before this module is imported)."""
        with _few_collections():
            return self._build(checks)

    def _build(self, checks: Forked | None) -> Site:
        #: The prose files this build rendered (the others came from cache).
        self.rendered_last: list[str] = []
        diagnostics: list[Diagnostic] = []
        targets, found = load_targets(self.corpus, self.releases)
        diagnostics.extend(found)
        if targets is None:
            if checks is not None:
                checks.stop()
            return Site({}, tuple(diagnostics))
        if targets != self._targets:
            self._targets = targets
            self._reset(self.corpus)
        if self.check and (checks is not None or self.jobs > 1):
            checks = checks or Forked(check_sources, self.corpus, self.resolver)
            try:
                site = self._render_site(targets, [])
            except BaseException:
                checks.stop()
                raise
            return replace(site, diagnostics=(*diagnostics, *checks.result(), *site.diagnostics))
        if self.check:
            diagnostics.extend(check_sources(self.corpus, self.resolver))
        return self._render_site(targets, diagnostics)

    def _render_site(self, targets: Targets, diagnostics: list[Diagnostic]) -> Site:
        """Stages 3 and 4 after ``diagnostics``."""
        pages = []
        texts = self._read_prose(targets, diagnostics)
        placed_on, headings, placed_before = self._scan(targets, texts)
        page_texts = self._page_texts(targets, texts)
        jobs, parts = [], {}
        for target in targets.pages:
            for name, depth in target.files:
                if name not in texts:
                    continue
                before = placed_before.get((target.url, name), frozenset())
                depth = self._depth(texts[name], depth, targets)
                top = next((style for _, style in heading_lines(texts[name])), None)
                parts[(target.url, name)] = []
                for part, text in page_texts[target.url][name]:
                    jobs.append(_Job(target.url, name, depth, text, before, top if part.offset else None, part.base,
                                     part.text.count("\n") + 1))
                    parts[(target.url, name)].append((part, jobs[-1]))
                    before = before | set(_prose_facts(part.text)[0])
        lookup = _TitleIndex(self.catalog, placed_on, headings,
                             {key: _local_titles([part.text for part, _ in found])
                              for key, found in parts.items() if len(found) > 1})
        done = self._render_all(jobs, targets, lookup, meanwhile=self._bundled_openapi)
        for target in targets.pages:
            files = tuple(join([(part, done[job]) for part, job in parts[(target.url, name)]],
                               number_titles=targets.duplicate_titles)
                          for name, _ in target.files if name in texts)
            if targets.duplicate_titles:
                files = self._number_repeats(target.url, files)
            files = self._number_and_list(target.url, files)
            page = Page(target, files)
            pages.append(page)
            diagnostics.extend(d for f in files for d in f.diagnostics)
            diagnostics.extend(page_diagnostics(page, targets.title_styles, self._depths(page, targets, texts)))
        files = {page.target.url: self._page_html(page, targets) for page in pages}
        diagnostics.extend(self.catalog.diagnostics())
        placed = {p.name for page in pages for f in page.files for p in f.placements}
        diagnostics.extend(self.catalog.unplaced(placed))
        diagnostics.extend(self._unlisted_prose(targets))
        files["static/style.css"] = _stylesheet()
        for name in ("search.js", "livereload.js"):
            files[f"static/{name}"] = (STATIC / name).read_bytes()
        unstable = self.catalog.unstable_anchors(placed)
        files["search-index.js"] = ("window.SPECGEN_SEARCH = "
                                    + json.dumps(search_entries(pages, unstable), ensure_ascii=False)
                                    + ";\n").encode("utf-8")
        bundled, found = self._bundled_openapi()
        files.update(bundled)
        diagnostics.extend(found)
        sources = {p.target.url: tuple(f.display for f in p.files) for p in pages}
        return Site(files, tuple(diagnostics), sources, dict(targets.variables))

    def _page_html(self, page: Page, targets: Targets) -> bytes:
        """The page, or when ``page.html`` fails, its last good rendering
        (so the preview keeps serving it) and the failure in the catalog's
        diagnostics (so the build fails)."""
        key = (self._page_template(), targets, page.files)
        cached = self._pages.get(page.target.url)
        if cached is not None and cached[0] == key:
            return cached[1]
        html_bytes = render_page(page, targets, self.env, self.corpus, live_reload=self.live_reload)
        if isinstance(html_bytes, Diagnostic):
            self.catalog.template_failure(html_bytes)
            return cached[1] if cached is not None else b""
        self._pages[page.target.url] = (key, html_bytes)
        return html_bytes

    def _page_template(self):
        """The compiled ``page.html`` (a new object once it is edited), or
        ``None`` when it cannot be loaded (:func:`render_page` says why)."""
        try:
            return self.env.get_template("page.html")
        except jinja2.TemplateError:
            return None

    def _read_prose(self, targets: Targets, diagnostics: list[Diagnostic]) -> dict[str, str]:
        """The text of every listed prose file that exists, read once per
        build for both the scan and the render; a file outside the corpus,
        unreadable, too large or not UTF-8 is a located error instead. The
        legacy relative titles are made absolute and the variables and
        inline placeholders replaced, line for line, so every position
        stays true."""
        texts: dict[str, str] = {}
        sources = self.corpus.sources
        for target in targets.pages:
            for name, _ in target.files:
                path = self.corpus.spec_dir / name
                if name in texts:
                    continue
                display = self.corpus.display(path)
                if not sources.inside(path):
                    diagnostics.append(_error(display, 0, "ref.outside-corpus", f"prose file {name!r} "
                                              + sources.outside_message(path)))
                    continue
                raw = read_bounded(path, sources.max_size)
                if isinstance(raw, tuple):
                    diagnostics.append(_error(display, 0, raw[0] if raw[0] != "syntax" else "rst.source", raw[1]))
                    continue
                try:
                    text = raw.decode("utf-8")
                except UnicodeDecodeError as exc:
                    line = raw.count(b"\n", 0, exc.start) + 1
                    column = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
                    diagnostics.append(Diagnostic(display, line, column, "rst.source", Severity.ERROR,
                                                  f"prose file is not valid UTF-8: {exc.reason}"))
                    continue
                prepared = self._prepared.get(text)
                if prepared is None:
                    prepared = self._prepared[text] = self._prepare(text)
                texts[name] = prepared[0]
                diagnostics.extend(_error(display, line, "build.title-level", message) for line, message in prepared[1])
        return texts

    def _prepare(self, text: str) -> tuple[str, list[tuple[int, str]]]:
        """A prose text as the parse sees it, and the relative titles that
        cannot be made absolute."""
        targets = self._targets
        problems: list[tuple[int, str]] = []
        if targets.relative_styles:
            text, problems = targets.absolute_titles(text)
        text = targets.substitute(text)
        for inline, value in self.inline.items():
            text = text.replace("{{%s}}" % inline, value)
        return _DIRECTIVE_CONTENT.sub(r"\1\n    \2", text), problems

    def _scan(self, targets: Targets, texts: Mapping[str, str]):
        """A quick look at the prose before the parse proper: which page
        places each placeholder (unindented ``{{name}}`` lines; indented ones
        sit in literal blocks), where each heading's title lands, so a file
        can refer to a title another file defines, and which placeholders
        the page's earlier files place."""
        placed: dict[str, str] = {}
        headings: dict[str, tuple[str, str]] = {}
        placed_before: dict[tuple[str, str], frozenset[str]] = {}
        for target in targets.pages:
            key = tuple(texts.get(name) for name, _ in target.files)
            cached = self._scanned.get(target.url)
            if cached is None or cached[0] != key:
                cached = self._scanned[target.url] = (key, _scan_page(target, texts))
            on_page, titles, before = cached[1]
            for placeholder in on_page:
                placed.setdefault(placeholder, target.url)
            for title, anchor in titles:
                headings.setdefault(title, (target.url, anchor))
            placed_before.update(before)
        return placed, headings, placed_before

    def _depths(self, page: Page, targets: Targets, texts: Mapping[str, str]) -> list[int]:
        return [self._depth(texts[name], depth, targets) for name, depth in page.target.files if name in texts]

    @staticmethod
    def _depth(text: str, depth: int, targets: Targets) -> int:
        """The depth of the file's headings as the page's title styles
        count it: under the legacy rule a file's first heading sits at the
        file's depth, so a file starting with ``-`` counts one shallower."""
        if not targets.first_heading_at_depth:
            return depth
        first = next((style for _, style in heading_lines(text)), "")
        return depth - targets.title_styles.index(first) if first in targets.title_styles else depth

    def _number_and_list(self, url: str, files: tuple[RenderedFile, ...]) -> tuple[RenderedFile, ...]:
        """:func:`~specgen.page_contents.number_and_list`, remembered while
        the page's files are the same objects."""
        cached = self._listed.get(url)
        if cached is None or cached[0] != files:
            cached = self._listed[url] = (files, number_and_list(files))
        return cached[1]

    def _page_texts(self, targets: Targets, texts: Mapping[str, str]
                    ) -> dict[str, dict[str, tuple[tuple[Part, str], ...]]]:
        """Page URL -> each of its files' parts (:func:`~specgen.file_parts.split`),
        each with its text as the page renders it: with the definitions the
        page's other files make, for a legacy page (:func:`_page_definitions`),
        and those the file's other parts make. A file's are remembered while
        its text and the page's definitions are the same."""
        out = {}
        for target in targets.pages:
            shared = _page_definitions(target, texts, targets.first_heading_at_depth)
            before, done = self._texts_of_page.get(target.url, (None, {}))
            known = done if before == shared else {}
            page: dict[str, tuple[str, tuple[tuple[Part, str], ...]]] = {}
            for name, _ in target.files:
                if name in texts:
                    text = texts[name]
                    found = known.get(name)
                    page[name] = found if found is not None and found[0] == text else (
                        text, _with_definitions(split(text, repeats=targets.duplicate_titles) if self.in_parts
                                                else (Part(0, 0, text),), text, shared))
            self._texts_of_page[target.url] = (shared, page)
            out[target.url] = {name: full for name, (_, full) in page.items()}
        return out

    def _number_repeats(self, url: str, files: tuple[RenderedFile, ...]) -> tuple[RenderedFile, ...]:
        """The page's files numbered where they repeat an earlier file's ids
        (:func:`~specgen.file_parts.numbered`); a file's numbering is remembered while it is the
        same object (held here, so none is freed and its id reused) after
        the same anchors."""
        cached = self._numbered.get(url, ())
        shown: set[str] = set()
        held: set[str] = set()
        memo, out = [], []
        for i, rendered in enumerate(files):
            before = (frozenset(shown), frozenset(held))
            if i < len(cached) and cached[i][0] is rendered and cached[i][1] == before:
                renamed = cached[i][2]
            else:
                renamed = numbered(rendered, shown, held)
            memo.append((rendered, before, renamed))
            shown |= {anchor for anchor, _ in renamed.anchors}
            held |= {anchor for anchor, _, _ in renamed.reserved}
            out.append(renamed)
        self._numbered[url] = memo
        return tuple(out)

    def _bundled_openapi(self) -> tuple[dict[str, bytes], list[Diagnostic]]:
        """:func:`bundled_openapi`, remembered until the corpus is read afresh."""
        if self._bundled is None:
            self._bundled = bundled_openapi(self.corpus, self.resolver)
        return self._bundled

    def _render_all(self, jobs: Sequence["_Job"], targets: Targets, lookup: "_TitleIndex",
                    meanwhile: Callable[[], object] = lambda: None
                    ) -> dict["_Job", RenderedFile]:
        """Every job's rendered file, from the cache when its inputs are
        unchanged and the site answers its lookups as before, else rendered
        afresh: in ``self.jobs`` forked processes when there is more than
        one file to render, the generated sections' titles found once
        beforehand and shared, each child rendering the sections its files
        place.
        ``meanwhile`` runs while the children render (or after the render
        in this process): work of this process's that needs no rendered
        file."""
        out: dict[_Job, RenderedFile] = {}
        stale: dict[_Job, None] = {}  # two parts alike render once
        for job in jobs:
            cached = self._rendered.get(job)
            if cached is not None and all(lookup.for_file(job.url, job.name)(name) == uri
                                          for name, uri in cached.lookups):
                out[job] = cached
            else:
                stale[job] = None
        todo = list(stale)
        if self.jobs > 1 and len(todo) > 1:
            lookup.find("")  # the titles every child may ask about, found once
            results = _render_forked(self, todo, targets, lookup, self.jobs, meanwhile)
        else:
            results = [self._render_one(job, targets, lookup) for job in todo]
            meanwhile()
        for job, rendered in zip(todo, results):
            out[job] = rendered
            if rendered.display not in self.rendered_last:
                self.rendered_last.append(rendered.display)
        self._rendered = out
        return out

    def _render_one(self, job: "_Job", targets: Targets, lookup: "_TitleIndex") -> RenderedFile:
        return render_file(job.text, self.corpus.display(self.corpus.spec_dir / job.name), expand=self.catalog.expand,
                           title_styles=targets.title_styles, depth=job.depth,
                           lookup=lookup.for_file(job.url, job.name), allow_raw_html=self.corpus.config.allow_raw_html,
                           number_titles=targets.duplicate_titles, markup_errors=targets.markup_errors,
                           placed_before=job.placed_before, top_style=job.top_style, base=job.base,
                           own_lines=job.own_lines, site_root="../" * job.url.count("/"))

    def _unlisted_prose(self, targets: Targets) -> Iterable[Diagnostic]:
        listed = {self.corpus.spec_dir / name for page in targets.pages for name, _ in page.files}
        for path in self.corpus.prose:
            if path not in listed:
                yield _error(self.corpus.display(path), 0, "build.unplaced",
                             "no page in targets.yaml includes this prose file", Severity.WARNING)

    def _stale_after(self, data: set[Path]):
        """Which rendered files an edit to the data files ``data`` outdates."""
        # Event schemas and API files are what other files refer to least;
        # definitions and core schemas are shared by design.
        sources = {path.resolve(): name for name, (kind, path) in self.catalog.names.items()
                   if kind in ("event", "endpoint")}
        templates = (self.corpus.template_dir, DEFAULT_TEMPLATES, STATIC)
        if any(t in p.parents for p in data for t in templates):
            return lambda rendered: True
        if all(p in sources or p.name == TARGETS_FILE for p in data):
            names = {sources[p] for p in data if p in sources}
            return lambda rendered: any(placement.name in names for placement in rendered.placements)
        return lambda rendered: bool(rendered.placements)

    def rebuild(self, changed: Iterable[Path]) -> Site:
        """A build after ``changed`` files were edited, re-rendering only
        the prose files the edit can affect.

        A prose edit re-renders that file. A data edit starts the corpus
        afresh (its parse cache and the catalog) and re-renders the files
        that place what the edited file is the source of; an edit to a
        shared file (a definition, a core schema, a partial example) re-renders
        every file that places anything, and a template edit re-renders all.
        A file whose references to other files' titles and targets would now
        resolve differently is re-rendered too; after a data edit, files
        that reported warnings or errors are re-rendered too, since the
        cause may have been in the data.
        """
        changed = {Path(p).resolve() for p in changed}
        data = {p for p in changed if not (p.suffix == ".rst" and self.corpus.spec_dir in p.parents)}
        if data:
            stale = self._stale_after(data)
            kept = {k: r for k, r in self._rendered.items()
                    if not stale(r) and not any(d.severity >= Severity.WARNING for d in r.diagnostics)}
            self._reset(Corpus(self.corpus.root, self.corpus.config))
            self._rendered.update(kept)
        return self.build()

_SUBSTITUTION_DEF = re.compile(r"\.\. \|([^|]+)\| ")
#: The names of the substitutions a text defines.
_SUBSTITUTION_NAMES = re.compile(r"^\.\. \|([^|]+)\| ", re.M)
_URI_TARGET = re.compile(r"\.\. _(?:`([^`]+)`|([^`\s][^:]*)): +\S.*")


@dataclass(frozen=True)
class _Definitions:
    """A page's substitution definitions and link targets with URIs, each
    as written (with its continuation lines)."""

    substitutions: Mapping[str, str]
    targets: Mapping[str, str]
    #: URI targets added wherever the text does not define them: a file's
    #: own, for its parts.
    links: Mapping[str, str] = field(default_factory=dict)

    def missing_from(self, text: str) -> str:
        """The definitions ``text`` uses but leaves to another file of the
        page (one text for gendoc.py) or another part of its file: appended
        after its last line, so its own lines keep their numbers."""
        out = []
        own = set(_SUBSTITUTION_NAMES.findall(text))
        for name, block in self.substitutions.items():
            if f"|{name}|" in text and name not in own:
                out.append(block)
                target = self.targets.get(fully_normalize_name(name))
                if target and target not in text:
                    out.append(target)
        if self.links:
            defined = {key for key, _ in _definitions_in(text)[1]} | inline_names(text)
            out.extend(block for key, block in self.links.items() if key not in defined and block not in out)
        return "\n\n" + "\n\n".join(out) + "\n" if out else ""


def _with_definitions(parts: tuple[Part, ...], text: str, shared: _Definitions) -> tuple[tuple[Part, str], ...]:
    """Each part of a file with the definitions it leaves to the page's
    other files or to the file's other parts."""
    if len(parts) == 1:
        return ((parts[0], text + shared.missing_from(text)),)
    made, links = _definitions_in(text)
    # The file's own definitions win over the page's others, as in the whole file.
    own = _Definitions({**shared.substitutions, **dict(made)}, {**shared.targets, **dict(links)}, dict(links))
    return tuple((part, part.text + own.missing_from(part.text)) for part in parts)


def _local_titles(texts: Sequence[str]) -> dict[str, str]:
    """The titles and internal targets of a file's parts (normalised name
    -> anchor, the first of a name winning, as docutils resolves within one
    document), anchored as the joined file numbers repeats."""
    found: dict[str, str] = {}
    facts = [_prose_facts(text) for text in texts]
    # A target's id is taken before a title's: docutils numbers the title.
    anchors = {make_id(name) for _, labels, _, others in facts for name in (*labels, *others)}
    for _, labels, titles, _ in facts:
        for label in labels:
            found.setdefault(fully_normalize_name(label), make_id(label))
        for title in titles:
            natural = make_id(title)
            anchor, number = natural, 1
            while anchor in anchors:
                anchor, number = f"{natural}-{number}", number + 1
            anchors.add(anchor)
            found.setdefault(fully_normalize_name(title), anchor)
    return found


def _page_definitions(page: PageTarget, texts: Mapping[str, str], legacy: bool) -> _Definitions:
    """When the page's files were one text for gendoc.py (``legacy``
    targets): the definitions any file of it makes, for the others."""
    substitutions: dict[str, str] = {}
    links: dict[str, str] = {}
    if legacy:
        for name, _ in page.files:
            made, targets = _definitions_in(texts.get(name, ""))
            for key, block in made:
                substitutions.setdefault(key, block)
            for key, block in targets:
                links.setdefault(key, block)
    return _Definitions(substitutions, links)


@functools.lru_cache(maxsize=1024)
def _definitions_in(text: str) -> tuple[tuple[tuple[str, str], ...], tuple[tuple[str, str], ...]]:
    """The substitution definitions and URI targets of one text, each with
    its block, in order (remembered: most files are unchanged between
    rebuilds)."""
    substitutions, links = [], []
    lines = text.splitlines()
    for i, line in enumerate(lines):
        found = _SUBSTITUTION_DEF.match(line) or _URI_TARGET.fullmatch(line.rstrip())
        if not found:
            continue
        end = i + 1
        while end < len(lines) and lines[end].startswith((" ", "\t")) and lines[end].strip():
            end += 1
        block = "\n".join(lines[i:end])
        if found.re is _SUBSTITUTION_DEF:
            substitutions.append((found.group(1), block))
        else:
            links.append((fully_normalize_name(found.group(1) or found.group(2)), block))
    return tuple(substitutions), tuple(links)


@dataclass(frozen=True)
class _Job:
    """One prose file (or part of one, :mod:`specgen.file_parts`) to render
    for one page, with everything that decides its result besides the
    catalog and the site's answers to its lookups (so it is also the cache
    key). Not its place in the file: a part moved down by an edit above it
    is still current."""

    url: str
    name: str
    #: The file's depth as the page's title styles count it.
    depth: int
    text: str
    placed_before: frozenset[str]
    #: For a part after the first, the style of the file's first heading.
    top_style: str | None = None
    base: int = 0
    #: Lines of ``text`` that are the file's (the rest are definitions
    #: added from its other parts or the page's other files).
    own_lines: int = 0


@contextmanager
def _few_collections():
    """Cyclic garbage collection kept off what outlives a build. docutils'
    trees are cycles (each node links its parent), so a build triggers the
    collector often, and every full pass used to walk all the objects the
    corpus and earlier builds hold: a fifth of a build's time. Those are
    frozen (out of the collector's sight) while the build runs, and thawed
    after it, so what a rebuild frees is still collected."""
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


#: What a forked renderer works with: set in the parent just before the
#: fork, inherited by the children.
_FORK_STATE: tuple | None = None


def _render_in_child(job: _Job) -> tuple[RenderedFile, dict[str, tuple]]:
    builder, targets, lookup = _FORK_STATE
    before = set(builder.catalog.built())
    rendered = builder._render_one(job, targets, lookup)
    return rendered, {n: entry for n, entry in builder.catalog.built().items() if n not in before}


def _render_forked(builder: "SiteBuilder", jobs: Sequence[_Job], targets: Targets, lookup: "_TitleIndex",
                   processes: int, meanwhile: Callable[[], object] = lambda: None) -> list[RenderedFile]:
    """``jobs`` rendered in forked children, largest first so the long
    files start early, ``meanwhile`` run here while they work; results in
    the order of ``jobs``. What the children built on the way (sections
    placed where the scan does not look, such as a directive's content) is
    taken into the builder's catalog in the order of ``jobs``, so it is not
    built again."""
    import multiprocessing

    global _FORK_STATE
    order = sorted(range(len(jobs)), key=lambda i: -len(jobs[i].text))
    _FORK_STATE = (builder, targets, lookup)
    gc.freeze()  # what the children inherit stays out of their collections
    try:
        with multiprocessing.get_context("fork").Pool(min(processes, len(jobs))) as pool:
            pending = pool.map_async(_render_in_child, [jobs[i] for i in order], chunksize=1)
            meanwhile()
            results = pending.get()
    finally:
        _FORK_STATE = None
    out: list = [None] * len(jobs)
    for i, result in zip(order, results):
        out[i] = result
    for _, built in out:
        builder.catalog.adopt(built)
    return [rendered for rendered, _ in out]


class _TitleIndex:
    """Titles across files, for references a file cannot resolve itself:
    prose headings (from the scan) and generated sections (their titles
    found on first use, without rendering them)."""

    def __init__(self, catalog: Catalog, placed_on: Mapping[str, str], headings: Mapping[str, tuple[str, str]],
                 local: Mapping[tuple[str, str], Mapping[str, str]] | None = None) -> None:
        self.catalog = catalog
        self.placed_on = placed_on
        self.headings = headings
        self._index: dict[str, tuple[str, str]] | None = None
        #: (page URL, file) -> the titles of the file's parts (a file
        #: rendered in parts), asked before the site's.
        self.local = local or {}

    def find(self, refname: str) -> tuple[str, str] | None:
        if self._index is None:
            self._index = dict(self.headings)
            for name, url in self.placed_on.items():
                for title, anchor in self.catalog.titles(name):
                    if title:
                        self._index.setdefault(fully_normalize_name(title), (url, anchor))
        return self._index.get(refname)

    def for_file(self, url: str, name: str):
        local = self.local.get((url, name), {})

        def lookup(refname: str) -> str | None:
            if refname in local:
                return f"#{local[refname]}"
            found = self.find(refname)
            if found is None:
                return None
            target, anchor = found
            return f"#{anchor}" if target == url else f"{_relative(url, target)}#{anchor}"
        return lookup


def build_site(corpus: Corpus, *, check: bool = True, releases: Mapping[str, str] | None = None,
               jobs: int = 1, checks: Forked | None = None) -> Site:
    """Stages 1-4: what to write and what was found, writing nothing;
    prose files rendered in ``jobs`` processes (and ``checks``, when given,
    the checks already running beside)."""
    return SiteBuilder(corpus, check=check, releases=releases, jobs=jobs).build(checks)


def _scan_page(target: PageTarget, texts: Mapping[str, str]):
    """One page's part of :meth:`SiteBuilder._scan`: the placeholders it
    places, its titles and targets (normalised name, anchor) in order, and
    per file the placeholders the page's earlier files place."""
    taken: set[str] = set()
    on_page: dict[str, None] = {}
    titles_found: list[tuple[str, str]] = []
    placed_before: dict[tuple[str, str], frozenset[str]] = {}
    for name, _ in target.files:
        if name not in texts:
            continue
        placed_before[(target.url, name)] = frozenset(on_page)
        placeholders, labels, file_titles, others = _prose_facts(texts[name])
        on_page.update(dict.fromkeys(placeholders))
        own: set[str] = {make_id(name) for name in others}
        for label in labels:
            titles_found.append((fully_normalize_name(label), make_id(label)))
            own.add(make_id(label))
        titles: set[str] = set()
        for title in file_titles:
            natural = make_id(title)
            anchor, number = natural, 1
            while anchor in taken or anchor in titles:
                anchor, number = f"{natural}-{number}", number + 1
            titles.add(anchor)
            titles_found.append((fully_normalize_name(title), anchor))
        taken |= own | titles
    return tuple(on_page), tuple(titles_found), placed_before


@functools.lru_cache(maxsize=1024)
def _prose_facts(text: str) -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
    """A prose text's placeholders, internal target names, heading titles
    and the names of its other explicit targets (external or indirect,
    whose ids docutils holds though they write no element), by a line scan
    (remembered: most files are unchanged between rebuilds)."""
    placeholders, labels, others = [], [], []
    for line in text.splitlines():
        line = line.rstrip()
        match = PLACEHOLDER.fullmatch(line)
        if match:
            placeholders.append(match.group(1))
            continue
        explicit = _EXPLICIT_TARGET.fullmatch(line)
        if explicit:
            labels.append(explicit.group(1) or explicit.group(2))
            continue
        pointing = _URI_TARGET.fullmatch(line)
        if pointing:
            others.append(pointing.group(1) or pointing.group(2))
    return (tuple(placeholders), tuple(labels), tuple(title for title, _ in heading_lines(text)), tuple(others))


#: A placeholder on the line right under a directive (no blank line
#: between): legacy templating pasted the generated text there indented, as
#: the directive's content. The directive moves up into the blank line
#: before it and the placeholder becomes its indented content, so every
#: other line keeps its number.
_DIRECTIVE_CONTENT = re.compile(r"^\n(\.\. [A-Za-z][\w-]*::.*\n)(\{\{[A-Za-z0-9_.-]+\}\}[ \t]*)$", re.M)

#: ``.. _name:`` or ``.. _`name`:`` alone on its line (an internal target).
_EXPLICIT_TARGET = re.compile(r"\.\. _(?:`([^`]+)`|([^`\s].*)):")


# -- 5. write, check, swap -----------------------------------------------------

#: Our HTML is written by docutils and by our templates, both of which quote
#: attributes with ``"``; a regular expression reads it far faster than a parser.
_ID = re.compile(r'<[a-zA-Z][^>]*?\sid="([^"]*)"')
_LINK = re.compile(r'<(?:a|link|script|img)\s[^>]*?(?:href|src)="([^"]*)"')


def _ids_and_links(text: str) -> tuple[set[str], list[str]]:
    return ({html.unescape(i) for i in _ID.findall(text)}, [html.unescape(u) for u in _LINK.findall(text)])


def check_links(folder: Path, sources: Mapping[str, Sequence[str]], corpus_root: Path,
                variables: Mapping[str, str] | None = None) -> list[Diagnostic]:
    """Every relative link and ``#anchor`` in the written HTML must resolve
    to a written file and an ``id`` in it. A broken link is located in the
    prose file that wrote it when its text can be found there, with
    ``variables`` expanded as the build expanded them."""
    written = {path.relative_to(folder).as_posix() for path in folder.rglob("*") if path.is_file()}
    parsed = {name: _ids_and_links((folder / name).read_text("utf-8")) for name in sorted(written)
              if name.endswith(".html")}
    out = []
    for page, (_, links) in parsed.items():
        here = posixpath.dirname(page)
        for href in dict.fromkeys(links):
            if href.startswith(("http:", "https:", "mailto:", "//")):
                continue
            parts = urlsplit(href)
            if parts.scheme:
                continue
            target = posixpath.normpath(posixpath.join(here, unquote(parts.path))) if parts.path else page
            problem = ""
            if target not in written:
                problem = f"link {href!r} on {page} points to {target}, which the build does not write"
            elif parts.fragment and target in parsed and unquote(parts.fragment) not in parsed[target][0]:
                problem = f"link {href!r} on {page} names #{parts.fragment}, which {target} does not define"
            if problem:
                out.append(_locate_link(href, sources.get(page, ()), corpus_root, problem, variables or {}))
    return out


def _locate_link(href: str, sources: Sequence[str], root: Path, message: str,
                 variables: Mapping[str, str]) -> Diagnostic:
    needle = href.split("#", 1)[1] if href.startswith("#") else href
    for display in sources:
        try:
            lines = (root / display).read_text("utf-8", errors="replace").splitlines()
        except OSError:
            continue
        for number, text in enumerate(lines, 1):
            if needle in substitute(text, variables):
                return _error(display, number, "build.broken-link", message)
    return _error(sources[0] if sources else "", 0, "build.broken-link", message)


def publish(site: Site, out: Path, collector: Collector, corpus_root: Path) -> bool:
    """Write ``site`` into a fresh folder beside ``out``, check its links,
    and swap it into place if nothing in ``collector`` fails the build.

    The new folder gets the mode the umask gives (a web server can read
    it). Staging folders are named ``.<out>.specgen-staging-<pid>-<random>``,
    so a later build removes those a killed build left behind; the swap
    exchanges the two folders in one step where the system can
    (``renameat2(RENAME_EXCHANGE)``), so ``out`` holds the complete old or
    the complete new build at every instant. Elsewhere it takes two renames,
    and a build that dies between them is undone by the next one
    (:func:`_recover`).

    Returns whether ``out`` now holds the new build; when it does not, the
    previous contents of ``out`` are untouched.
    """
    out = out.resolve()
    collector.extend(site.diagnostics)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        _recover(out)
        if collector.failed:
            return False
        if out.exists() and not out.is_dir():
            collector.add(_error(str(out), 0, "build.output", "the output path exists and is not a folder"))
            return False
        staging = _fresh(out, "staging")
        try:
            for rel, data in site.files.items():
                target = staging / rel
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(data)
            collector.extend(check_links(staging, site.sources, corpus_root, site.variables))
            if collector.failed:
                return False
            _swap(staging, out)
            staging = None
            return True
        finally:
            if staging is not None:
                shutil.rmtree(staging, ignore_errors=True)
    except OSError as exc:
        collector.add(_error(str(out), 0, "build.output", f"cannot write the output: {exc.strerror or exc}"))
        return False


def _leftover_name(out: Path, kind: str) -> str:
    return f".{out.name}.specgen-{kind}-"


def _fresh(out: Path, kind: str) -> Path:
    """A new empty folder beside ``out``, mode from the umask, named for
    its kind and this process."""
    while True:
        path = out.parent / f"{_leftover_name(out, kind)}{os.getpid()}-{secrets.token_hex(4)}"
        try:
            path.mkdir(mode=0o777)
            return path
        except FileExistsError:
            continue


def _recover(out: Path) -> None:
    """Undo what a killed build left beside ``out``: put a previous output
    renamed aside back if ``out`` is missing, and remove the staging and
    old folders of builds that are no longer running."""
    for kind in ("old", "staging"):
        for path in sorted(out.parent.glob(_leftover_name(out, kind) + "*")):
            pid = path.name[len(_leftover_name(out, kind)):].split("-", 1)[0]
            if pid.isdigit() and _running(int(pid)):
                continue
            if kind == "old" and not out.exists():
                os.rename(path, out)
            else:
                shutil.rmtree(path, ignore_errors=True)


def _running(pid: int) -> bool:
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True


def _swap(staging: Path, out: Path) -> None:
    """Put ``staging`` at ``out`` and remove what was there before."""
    if not out.exists():
        os.rename(staging, out)
        return
    if _exchange(staging, out):
        shutil.rmtree(staging, ignore_errors=True)
        return
    old = out.parent / staging.name.replace(_leftover_name(out, "staging"), _leftover_name(out, "old"), 1)
    os.rename(out, old)
    os.rename(staging, out)
    shutil.rmtree(old, ignore_errors=True)


_AT_FDCWD = -100
_RENAME_EXCHANGE = 2


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths atomically (Linux ``renameat2``); ``False`` where the
    C library, the kernel or the file system cannot."""
    try:
        renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
    except (AttributeError, OSError):
        return False
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    if renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    error = ctypes.get_errno()
    if error in (errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP):
        return False
    raise OSError(error, os.strerror(error), str(b))

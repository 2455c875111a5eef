"""The placeholder registry: which ``{{name}}`` stands for what, built how,
rendered by which template.

:data:`PLACEHOLDERS` maps each kind to three things, nothing found by
reflection:

- ``discover(corpus)``: every placeholder name of that kind the corpus
  offers, mapped to the source file it stands for (so a name is known, and
  an unplaced source can be warned about, without building anything);
- ``build(catalog, path)``: the section models for that source, with
  the diagnostics met on the way;
- ``template``: the Jinja2 template each model is rendered with, from the
  corpus's ``templates/`` or else specgen's own (``specgen/templates/``).

Names follow the corpus layout: ``m.room.member`` gives
``{{m_room_member_event}}``; ``api/server-server/invites-v2.yaml`` gives
``{{invites_v2_ss_http_api}}``; ``api/server-server/definitions/pdu.yaml``
gives ``{{definition_ss_pdu}}``; the core event schemas give
``{{common_event_fields}}``, ``{{common_room_event_fields}}`` and
``{{common_state_event_fields}}``.

A :class:`Catalog` is one build's view: it builds on first use, remembers
what it built, and renders through one Jinja2 environment.
"""

from __future__ import annotations

import functools
import html
import re
import traceback
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Sequence

import jinja2
from markupsafe import Markup
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import JsonLexer

from .corpus import Corpus, data_stem, underscored
from .diagnostics import Diagnostic, Severity
from .layouts import API_SUFFIXES
from .event_schemas import event_section
from .openapi import load_api
from .refs import Resolver
from .rst import Generated
from .sequence_diagrams import FLOWS_FOLDER, flow_section
from .tables import definition_section, endpoint_section

__all__ = ["PlaceholderKind", "PLACEHOLDERS", "API_SUFFIXES", "COMMON_FIELDS", "Catalog",
           "DEFAULT_TEMPLATES", "template_environment", "render_template", "Unstable", "unstable_path"]

#: specgen's own templates (package data), used for whatever a corpus's
#: ``templates/`` does not override, file by file. An installed wheel is a
#: folder on disk, which is what Jinja2's loader and the preview's watcher need.
DEFAULT_TEMPLATES = Path(resources.files(__package__)) / "templates"

#: Core event schema file stem -> (placeholder name, anchor, title).
COMMON_FIELDS: Mapping[str, tuple[str, str, str]] = {
    "event": ("common_event_fields", "common-event-fields", "Event fields"),
    "room_event": ("common_room_event_fields", "common-room-event-fields", "Room event fields"),
    "state_event": ("common_state_event_fields", "common-state-event-fields", "State event fields"),
}


@dataclass(frozen=True)
class Built:
    """What one source builds into: models to render, and its findings."""

    models: tuple[Any, ...]
    diagnostics: tuple[Diagnostic, ...]
    #: Extra template variables per model, beside ``section``; models
    #: without an entry get none.
    extras: tuple[Mapping[str, Any], ...] = ()


@dataclass(frozen=True)
class PlaceholderKind:
    discover: Callable[[Corpus], Mapping[str, Path]]
    build: Callable[["Catalog", Path], Built]
    template: str


def _api_suffix(corpus: Corpus, path: Path) -> str:
    parts = path.relative_to(corpus.api_dir).parts
    folder = parts[0] if len(parts) > 1 else ""
    return API_SUFFIXES.get(folder, underscored(folder))


# -- events ----------------------------------------------------------------

def _discover_events(corpus: Corpus) -> Mapping[str, Path]:
    return {f"{underscored(event_type)}_event": path for event_type, path in corpus.schemas.items()}


def _build_event(catalog: "Catalog", path: Path) -> Built:
    event_type = data_stem(path)
    schema = catalog.resolver.inline(path)
    diagnostics = list(schema.diagnostics)
    examples = []
    for example in sorted(catalog.corpus.examples.get(event_type, []), key=lambda e: (e.variant != "", e.variant)):
        inlined = catalog.resolver.inline(example.path)
        diagnostics.extend(inlined.diagnostics)
        if inlined.data is not None:
            examples.append((example.variant, inlined.data))
    return Built((event_section(event_type, schema.data, examples),), tuple(diagnostics))


# -- APIs ------------------------------------------------------------------

def _discover_apis(corpus: Corpus) -> Mapping[str, Path]:
    return {f"{underscored(data_stem(p))}_{_api_suffix(corpus, p)}_http_api": p for p in corpus.api_files}


@dataclass(frozen=True)
class Unstable:
    """How an endpoint of an unreleased API file (``x-unstable: true``) is
    served until it is released: under ``prefix`` (the file's
    ``info.x-unstable-prefix``, possibly empty), at ``path`` when the
    stable path shows which version segment the prefix replaces."""

    prefix: str
    path: str


_VERSION_SEGMENT = re.compile(r"v\d+|r\d+")


def unstable_path(stable: str, prefix: str) -> str:
    """The path an unstable endpoint is served at: the prefix stands in
    for the stable path's version segment, as proposals do
    (``/_matrix/federation/v3/invite/{roomId}`` under
    ``/_matrix/federation/unstable/org.example.msc1`` is
    ``/_matrix/federation/unstable/org.example.msc1/invite/{roomId}``).
    ``""`` when the two do not line up that way."""
    ours, theirs = prefix.rstrip("/").split("/"), stable.split("/")
    if "unstable" not in ours:
        return ""
    at = ours.index("unstable")
    if ours[:at] != theirs[:at] or len(theirs) <= at + 1 or not _VERSION_SEGMENT.fullmatch(theirs[at]):
        return ""
    return "/".join([*ours, *theirs[at + 1:]])


def _unstable(data: Any) -> tuple[bool, str]:
    """Whether an API document is marked unstable, and its prefix."""
    if not isinstance(data, Mapping) or data.get("x-unstable") is not True:
        return False, ""
    info = data.get("info")
    prefix = info.get("x-unstable-prefix") if isinstance(info, Mapping) else None
    return True, prefix if isinstance(prefix, str) else ""


def _build_api(catalog: "Catalog", path: Path) -> Built:
    document, diagnostics = load_api(catalog.corpus, catalog.resolver, path)
    if document is None:
        return Built((), tuple(diagnostics))
    loaded = catalog.corpus.load(path)
    marked, prefix = _unstable(None if isinstance(loaded, Diagnostic) else loaded.data)
    extras = tuple({"unstable": Unstable(prefix, unstable_path(e.path, prefix)) if marked else None}
                   for e in document.endpoints)
    return Built(tuple(endpoint_section(e) for e in document.endpoints), tuple(diagnostics), extras)


# -- shared definitions ----------------------------------------------------

def _discover_definitions(corpus: Corpus) -> Mapping[str, Path]:
    found = {}
    for p in corpus.api_definitions:
        parts = p.relative_to(corpus.api_dir).parts
        if len(parts) >= 3 and parts[-2] == "definitions":
            found[f"definition_{_api_suffix(corpus, p)}_{underscored(data_stem(p))}"] = p
    return found


def _build_definition(catalog: "Catalog", path: Path) -> Built:
    inlined = catalog.resolver.inline(path)
    return Built((definition_section(data_stem(path), inlined.data),), inlined.diagnostics)


# -- common event fields ---------------------------------------------------

def _discover_common(corpus: Corpus) -> Mapping[str, Path]:
    return {COMMON_FIELDS[data_stem(p)][0]: p for p in corpus.schema_definitions if data_stem(p) in COMMON_FIELDS}


def _build_common(catalog: "Catalog", path: Path) -> Built:
    _, anchor, title = COMMON_FIELDS[data_stem(path)]
    inlined = catalog.resolver.inline(path)
    return Built((definition_section(data_stem(path), inlined.data, anchor=anchor, title=title),), inlined.diagnostics)


# -- flow diagrams (recorded by specgen flows --record) ----------------------

def _discover_flows(corpus: Corpus) -> Mapping[str, Path]:
    folder = corpus.spec_dir / FLOWS_FOLDER
    return {f"flow_{underscored(data_stem(p))}": p for p in sorted(folder.glob("*.json"))} if folder.is_dir() else {}


def _build_flow(catalog: "Catalog", path: Path) -> Built:
    loaded = catalog.corpus.load(path)
    if isinstance(loaded, Diagnostic):
        return Built((), (loaded,))
    try:
        return Built((flow_section(loaded.data, path),), ())
    except ValueError as exc:
        return Built((), (catalog.corpus.diagnostic(path, "", "build.flow", Severity.ERROR, str(exc)),))


PLACEHOLDERS: Mapping[str, PlaceholderKind] = {
    "event": PlaceholderKind(_discover_events, _build_event, "event.html"),
    "endpoint": PlaceholderKind(_discover_apis, _build_api, "endpoint.html"),
    "definition": PlaceholderKind(_discover_definitions, _build_definition, "definition.html"),
    "common": PlaceholderKind(_discover_common, _build_common, "common_fields.html"),
    "flow": PlaceholderKind(_discover_flows, _build_flow, "flow.html"),
}


# -- rendering -------------------------------------------------------------

_FORMATTER = HtmlFormatter(nowrap=True)
_LEXER = JsonLexer()
_CODE = re.compile(r"``(.+?)``|`([^`]+?)`")
_LINK = re.compile(r"\[([^\]]+)\]\(([^)\s]+)\)")


def highlight_json(text: str) -> Markup:
    """The same markup docutils' ``code`` directive writes, so one
    stylesheet colours both."""
    return Markup('<pre class="code json literal-block"><code>') + Markup(highlight(text, _LEXER, _FORMATTER)) + Markup("</code></pre>")


def inline_text(text: str) -> Markup:
    """Schema descriptions: paragraphs on blank lines, ``code`` in
    backticks and ``[text](link)`` links; everything else escaped."""
    paragraphs = [p.strip() for p in re.split(r"\n\s*\n", text or "") if p.strip()]
    out = []
    for paragraph in paragraphs:
        escaped = html.escape(" ".join(paragraph.split()), quote=True)
        escaped = _CODE.sub(lambda m: f"<code>{m.group(1) or m.group(2)}</code>", escaped)
        escaped = _LINK.sub(lambda m: f'<a href="{m.group(2)}">{m.group(1)}</a>', escaped)
        out.append(f"<p>{escaped}</p>")
    return Markup("".join(out))


def template_environment(corpus: Corpus) -> jinja2.Environment:
    """The corpus's own ``templates/`` first, then the project's.

    One environment per set of folders and process, so templates compile
    once; Jinja2 still notices a template edited since (``auto_reload``).
    """
    folders = [str(corpus.template_dir)] if corpus.template_dir.is_dir() else []
    if DEFAULT_TEMPLATES not in (Path(f) for f in folders):
        folders.append(str(DEFAULT_TEMPLATES))
    return _environment(tuple(folders))


def render_template(env: jinja2.Environment, name: str, corpus: Corpus, **context: Any) -> str | Diagnostic:
    """``name`` rendered with ``context``, or a ``build.template`` error at
    the template line that failed.

    A corpus's templates are its own code: a syntax error, a missing
    template (or one a template includes), an undefined variable or a
    failing expression is the writer's to fix, so it is located in the
    template file, never a traceback. An exception raised outside any
    template frame is a bug in specgen and propagates.
    """
    try:
        return env.get_template(name).render(**context)
    except jinja2.TemplateSyntaxError as exc:
        return _template_error(corpus, exc.filename, exc.lineno, f"template syntax: {exc.message}")
    except Exception as exc:
        folders = [Path(f) for f in getattr(env.loader, "searchpath", ())]
        frames = [f for f in traceback.extract_tb(exc.__traceback__)
                  if f.filename and any(folder in Path(f.filename).parents for folder in folders)]
        if isinstance(exc, jinja2.TemplateNotFound):
            message = f"template {exc.name!r} is in neither the corpus's templates/ nor specgen's own"
        else:
            message = f"template {name!r} failed: {exc}"
        if frames:
            return _template_error(corpus, frames[-1].filename, frames[-1].lineno, message)
        if isinstance(exc, jinja2.TemplateNotFound):
            return _template_error(corpus, str(corpus.template_dir / name), 0, message)
        raise


def _template_error(corpus: Corpus, filename: str | None, line: int | None, message: str) -> Diagnostic:
    display = corpus.display(Path(filename)) if filename else corpus.display(corpus.template_dir)
    return Diagnostic(display, line or 0, 1 if line else 0, "build.template", Severity.ERROR, message)


@functools.lru_cache(maxsize=8)
def _environment(folders: tuple[str, ...]) -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(folders), autoescape=True,
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters["json"] = highlight_json
    env.filters["prose"] = inline_text
    return env


class Catalog:
    """Every placeholder a corpus offers; builds and renders on demand."""

    def __init__(self, corpus: Corpus, resolver: Resolver | None = None,
                 environment: jinja2.Environment | None = None) -> None:
        self.corpus = corpus
        self.resolver = resolver or Resolver(corpus)
        self.env = environment or template_environment(corpus)
        #: placeholder name -> (kind, source path)
        self.names: dict[str, tuple[str, Path]] = {}
        for kind, entry in PLACEHOLDERS.items():
            for name, path in entry.discover(corpus).items():
                self.names.setdefault(name, (kind, path))
        self._built: dict[str, tuple[tuple[Generated, ...], tuple[Diagnostic, ...], frozenset[str]]] = {}
        self._template_failures: list[Diagnostic] = []

    def expand(self, name: str) -> Sequence[Generated] | None:
        """The rendered blocks for ``name``; ``None`` if no such placeholder."""
        found = self.names.get(name)
        if found is None:
            return None
        if name not in self._built:
            kind, path = found
            entry = PLACEHOLDERS[kind]
            built = entry.build(self, path)
            extras = (*built.extras, *({} for _ in built.models[len(built.extras):]))
            blocks = []
            for m, extra in zip(built.models, extras):
                rendered = render_template(self.env, entry.template, self.corpus, section=m, **extra)
                if isinstance(rendered, Diagnostic):
                    self.template_failure(rendered)
                    continue
                blocks.append(Generated(anchor=m.anchor, title="" if kind == "common" else m.title, kind=kind,
                                        html=rendered, inner_anchors=m.inner_anchors))
            unstable = frozenset(m.anchor for m, extra in zip(built.models, extras) if extra.get("unstable"))
            self._built[name] = (tuple(blocks), built.diagnostics, unstable)
        return self._built[name][0]

    def unstable_anchors(self, names: Iterable[str]) -> frozenset[str]:
        """The anchors of the unstable endpoints among ``names``' blocks."""
        out: set[str] = set()
        for name in names:
            if self.expand(name) is not None:
                out |= self._built[name][2]
        return frozenset(out)

    def template_failure(self, diagnostic: Diagnostic) -> None:
        """Keep a template's failure once, however many sections it broke."""
        if not any(d.location == diagnostic.location and d.message == diagnostic.message
                   for d in self._template_failures):
            self._template_failures.append(diagnostic)

    def diagnostics(self) -> Iterable[Diagnostic]:
        for _, found, _ in self._built.values():
            yield from found
        yield from self._template_failures

    def unplaced(self, placed: Iterable[str]) -> list[Diagnostic]:
        """A warning for each source no page shows.

        An event schema or API file is shown only where a page places it. A
        shared definition is also shown inside whatever refers to it, so it
        is unplaced only when nothing placed reaches it through ``$ref``,
        however indirectly.
        """
        placed = set(placed)
        shown = self._referred_to(self.names[name][1] for name in placed if name in self.names)
        canonical = self.corpus.sources.canonical
        out = []
        for name, (kind, path) in sorted(self.names.items()):
            if name in placed or kind == "common" or (kind == "definition" and canonical(path) in shown):
                continue
            out.append(Diagnostic(self.corpus.display(path), 0, 0, "build.unplaced", Severity.WARNING,
                                  f"no page places this {kind} ({{{{{name}}}}})"))
        return out

    def _referred_to(self, roots: Iterable[Path]) -> set[Path]:
        """Every file reached from ``roots`` through ``$ref`` (roots
        excluded unless a reference leads back to them)."""
        seen: set[Path] = set()
        stack = [self.corpus.sources.canonical(p) for p in roots]
        while stack:
            for _, _, target in self.resolver.references(stack.pop()):
                if not isinstance(target, Diagnostic) and target.path not in seen:
                    seen.add(target.path)
                    stack.append(target.path)
        return seen

"""The placeholder registry: which ``{{name}}`` stands for what, built how,
rendered by which template.

:data:`PLACEHOLDERS` maps each kind to three things, nothing found by
reflection:

- ``discover(catalog)``: every placeholder name of that kind the corpus
  offers, mapped to the source it stands for (a file for events, APIs and
  definitions, so a name is known, and an unplaced source can be warned
  about, without building anything);
- ``build(catalog, source)``: the section models for that source, with
  the diagnostics met on the way;
- ``template``: the Jinja2 template each model is rendered with, from the
  corpus's ``templates/`` or else specgen's own (``specgen/templates/``).

Names follow the corpus layout: ``m.room.member`` gives
``{{m_room_member_event}}``; ``api/server-server/invites-v2.yaml`` gives
``{{invites_v2_ss_http_api}}``; ``api/server-server/definitions/pdu.yaml``
gives ``{{definition_ss_pdu}}`` (a sub-folder joins the name:
``definitions/event-schemas/m.typing.yaml`` gives
``{{definition_ss_event_schemas_m_typing}}``); the core event schemas give
``{{common_event_fields}}``, ``{{common_room_event_fields}}`` and
``{{common_state_event_fields}}``.

The kinds matrix-doc's legacy tree uses, with their legacy names:
``{{apis}}`` (the APIs and their release labels), ``{{<api>_changelog}}``
(:mod:`specgen.changelogs`), ``{{unstable_warning_block_<STEM>_RELEASE_LABEL}}``
(a warning while that API is unstable, nothing once released),
``{{sas_emoji_table}}`` (``data-definitions/sas-emoji.json``) and the grouped
event lists of :data:`EVENT_GROUPS` (``{{msgtype_events}}``, ...). Two
placeholders are inline text rather than blocks, :data:`INLINE`:
``{{git_version}}`` and ``{{git_rev}}``.

A :class:`Catalog` is one build's view: it builds on first use, remembers
what it built, and renders through one Jinja2 environment.
"""

from __future__ import annotations

import functools
import html
import os
import re
import signal
import threading
import traceback
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Sequence

import jinja2
from jinja2.loaders import split_template_path
from jinja2.sandbox import SandboxedEnvironment, SecurityError
from markupsafe import Markup, escape
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import JsonLexer

from docutils.nodes import make_id

from .changelogs import FOLDER, changelog_apis, changelog_rst
from .corpus import Corpus, data_stem, underscored
from .diagnostics import Diagnostic, Severity
from .layouts import API_SUFFIXES
from .event_schemas import event_section
from .openapi import load_api
from .refs import Resolver
from .rst import Generated, render_file
from .script_uris import DESCRIPTION_LINK, runs_script, script_in_markup
from .sequence_diagrams import FLOWS_FOLDER, flow_section
from .sources import DEFAULT_MAX_FILE_SIZE, join_pointer
from .tables import definition_section, endpoint_section, slug as _slug
from .targets import UNSTABLE, Release, Targets

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
    discover: Callable[["Catalog"], Mapping[str, Any]]
    build: Callable[["Catalog", Any], Built]
    template: str


#: The kinds whose sources are files a page is expected to show.
SOURCE_KINDS = ("event", "endpoint", "definition", "flow")


def _api_suffix(corpus: Corpus, path: Path) -> str:
    parts = path.relative_to(corpus.api_dir).parts
    folder = parts[0] if len(parts) > 1 else ""
    return API_SUFFIXES.get(folder, underscored(folder))


# -- events ----------------------------------------------------------------

def _discover_events(catalog: "Catalog") -> Mapping[str, Path]:
    return {f"{underscored(event_type)}_event": path for event_type, path in catalog.corpus.schemas.items()}


def _event(catalog: "Catalog", path: Path) -> tuple[Any, list[Diagnostic]]:
    event_type = data_stem(path)
    schema = catalog.resolver.inline(path)
    diagnostics = list(schema.diagnostics)
    examples = []
    # A legacy variant schema (``m.room.message$m.text``) shows the example
    # of the same name, which the corpus files under its base type.
    base, _, variant = event_type.partition("$")
    own = [e for e in catalog.corpus.examples.get(base, []) if e.variant == variant] if variant else []
    for example in own or sorted(catalog.corpus.examples.get(event_type, []), key=lambda e: (e.variant != "", e.variant)):
        inlined = catalog.resolver.inline(example.path)
        diagnostics.extend(inlined.diagnostics)
        if inlined.data is not None:
            examples.append((example.variant, inlined.data))
    return event_section(event_type, schema.data, examples), diagnostics


def _legacy_event_id(title: str) -> str:
    """The id matrix-doc's gendoc gave a section titled ``title``."""
    return make_id(title)


def _build_event(catalog: "Catalog", path: Path) -> Built:
    """One event; a legacy variant schema (``m.room.message$m.notice``) is
    titled as the legacy templates titled it, ``m.room.message (m.notice)``."""
    section, diagnostics = _event(catalog, path)
    base, _, variant = section.event_type.partition("$")
    title = f"{base} ({variant})" if variant else section.event_type
    return Built((section,), tuple(diagnostics), ({"title": title, "aliases": (_legacy_event_id(title),)},))


#: Legacy grouped event lists: name -> (which event types, which first).
#: ``msgtype_events`` titles each section by its msgtype, as the legacy
#: templates did.
EVENT_GROUPS: Mapping[str, tuple[Callable[[str], bool], tuple[str, ...]]] = {
    "room_events": (lambda t: t.startswith("m.room") and not t.startswith("m.room.message$m."), ()),
    "msgtype_events": (lambda t: t.startswith("m.room.message$m.") and t != "m.room.message$m.server_notice",
                       tuple(f"m.room.message$m.{m}" for m in ("text", "emote", "notice", "image", "file"))),
    "voip_events": (lambda t: t.startswith("m.call"),
                    ("m.call.invite", "m.call.candidates", "m.call.answer", "m.call.hangup")),
    "presence_events": (lambda t: t.startswith("m.presence"), ()),
}


def _discover_event_groups(catalog: "Catalog") -> Mapping[str, tuple[Path, ...]]:
    found = {}
    schemas = catalog.corpus.schemas
    for name, (member, first) in EVENT_GROUPS.items():
        types = [t for t in first if t in schemas] + sorted(t for t in schemas if member(t) and t not in first)
        if types:
            found[name] = tuple(schemas[t] for t in types)
    return found


def _build_event_group(catalog: "Catalog", paths: tuple[Path, ...]) -> Built:
    models, extras, diagnostics = [], [], []
    for path in paths:
        section, found = _event(catalog, path)
        diagnostics.extend(found)
        models.append(section)
        msgtype = section.event_type.partition("$")[2]
        title = msgtype if section.event_type.startswith("m.room.message$") else section.event_type
        extras.append({"title": title, "aliases": (_legacy_event_id(title),)})
    return Built(tuple(models), tuple(diagnostics), tuple(extras))


# -- APIs ------------------------------------------------------------------

def _discover_apis(catalog: "Catalog") -> Mapping[str, Path]:
    corpus = catalog.corpus
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


def _legacy_endpoint_ids(endpoint) -> tuple[str, ...]:
    """The ids gendoc.py gave an endpoint's section (its title was
    ``Deprecated: METHOD path`` for a deprecated one), and the id the prose
    links to a deprecated one by, as if it were not."""
    title = f"{endpoint.method} {endpoint.path}"
    return (make_id(f"Deprecated: {title}"), make_id(title)) if endpoint.deprecated else (make_id(title),)


def _build_api(catalog: "Catalog", path: Path) -> Built:
    document, diagnostics = load_api(catalog.corpus, catalog.resolver, path)
    if document is None:
        return Built((), tuple(diagnostics))
    loaded = catalog.corpus.load(path)
    marked, prefix = _unstable(None if isinstance(loaded, Diagnostic) else loaded.data)
    substitute = catalog.targets.substitute
    endpoints = [replace(e, path=substitute(e.path), template=substitute(e.template)) for e in document.endpoints]
    extras = tuple({"unstable": Unstable(prefix, unstable_path(e.path, prefix)) if marked else None,
                    "aliases": _legacy_endpoint_ids(e)}
                   for e in endpoints)
    return Built(tuple(endpoint_section(e) for e in endpoints), tuple(diagnostics), extras)


# -- shared definitions ----------------------------------------------------

def _discover_definitions(catalog: "Catalog") -> Mapping[str, Path]:
    corpus = catalog.corpus
    found = {}
    for p in corpus.api_definitions:
        parts = p.relative_to(corpus.api_dir).parts
        if len(parts) >= 3 and parts[-2] == "definitions":
            found[f"definition_{_api_suffix(corpus, p)}_{underscored(data_stem(p))}"] = p
        elif len(parts) >= 4 and parts[-3] == "definitions":
            found[f"definition_{_api_suffix(corpus, p)}_{underscored(parts[-2])}_{underscored(data_stem(p))}"] = p
    return found


def _build_definition(catalog: "Catalog", path: Path) -> Built:
    """A shared definition; gendoc.py titled its section ``<title> schema``."""
    inlined = catalog.resolver.inline(path)
    section = definition_section(data_stem(path), inlined.data)
    return Built((section,), inlined.diagnostics, ({"aliases": (make_id(f"{section.title} schema"),)},))


# -- common event fields ---------------------------------------------------

def _discover_common(catalog: "Catalog") -> Mapping[str, Path]:
    return {COMMON_FIELDS[data_stem(p)][0]: p for p in catalog.corpus.schema_definitions
            if data_stem(p) in COMMON_FIELDS}


def _build_common(catalog: "Catalog", path: Path) -> Built:
    """A core event schema's fields; gendoc.py titled them by the schema's
    own title, ``<title> Fields``."""
    _, anchor, title = COMMON_FIELDS[data_stem(path)]
    inlined = catalog.resolver.inline(path)
    own = inlined.data.get("title") if isinstance(inlined.data, dict) else None
    aliases = (make_id(f"{own} Fields"),) if isinstance(own, str) else ()
    return Built((definition_section(data_stem(path), inlined.data, anchor=anchor, title=title),), inlined.diagnostics,
                 ({"aliases": aliases},))


# -- flow diagrams (recorded by specgen flows --record) ----------------------

def _discover_flows(catalog: "Catalog") -> Mapping[str, Path]:
    folder = catalog.corpus.spec_dir / FLOWS_FOLDER
    return {f"flow_{underscored(data_stem(p))}": p for p in sorted(folder.glob("*.json"))} if folder.is_dir() else {}


def _build_flow(catalog: "Catalog", path: Path) -> Built:
    loaded = catalog.corpus.load(path)
    if isinstance(loaded, Diagnostic):
        return Built((), (loaded,))
    try:
        return Built((flow_section(loaded.data, path),), ())
    except ValueError as exc:
        return Built((), (catalog.corpus.diagnostic(path, "", "build.flow", Severity.ERROR, str(exc)),))


# -- releases (legacy) -----------------------------------------------------

@dataclass(frozen=True)
class Block:
    """A generated block without a heading of its own."""

    anchor: str
    title: str = ""
    inner_anchors: tuple[str, ...] = ()


@dataclass(frozen=True)
class ApiTable(Block):
    releases: tuple[Release, ...] = ()


def _discover_api_table(catalog: "Catalog") -> Mapping[str, tuple[Release, ...]]:
    return {"apis": catalog.targets.releases} if catalog.targets.releases else {}


def _build_api_table(catalog: "Catalog", releases: tuple[Release, ...]) -> Built:
    # Its links are written from the site root, for any page to place it.
    return Built((ApiTable("api-versions", releases=releases),), (),
                 ({"site_links": tuple(str(escape(r.url)) for r in releases)},))


@dataclass(frozen=True)
class ReleaseWarning(Block):
    release: Release | None = None


def _discover_release_warnings(catalog: "Catalog") -> Mapping[str, Release]:
    return {f"unstable_warning_block_{r.stem}_RELEASE_LABEL": r for r in catalog.targets.releases}


def _build_release_warning(catalog: "Catalog", release: Release) -> Built:
    if release.label != UNSTABLE:
        return Built((), ())
    return Built((ReleaseWarning(f"unstable-{_slug(release.api)}", release=release),), ())


@dataclass(frozen=True)
class Changelog(Block):
    api: str = ""
    label: str = ""
    html: Markup = Markup("")


def _discover_changelogs(catalog: "Catalog") -> Mapping[str, str]:
    return {f"{api}_changelog": api for api in changelog_apis(catalog.corpus)}


def _build_changelog(catalog: "Catalog", api: str) -> Built:
    label = next((r.label for r in catalog.targets.releases if r.api == api), UNSTABLE)
    text, problems = changelog_rst(catalog.corpus, api, label)
    rendered = render_file(text, f"{FOLDER}/{api}", expand=lambda name: None, title_styles=("=",), depth=0)
    return Built((Changelog(f"changelog-{_slug(api)}", api=api, label=label, html=Markup(rendered.body)),),
                 (*problems, *rendered.diagnostics))


# -- SAS emoji (legacy) ----------------------------------------------------

SAS_EMOJI = "data-definitions/sas-emoji.json"


@dataclass(frozen=True)
class EmojiRow:
    number: int
    emoji: str
    unicode: str
    description: str


@dataclass(frozen=True)
class EmojiTable(Block):
    rows: tuple[EmojiRow, ...] = ()


def _discover_sas_emoji(catalog: "Catalog") -> Mapping[str, Path]:
    path = catalog.corpus.root / SAS_EMOJI
    return {"sas_emoji_table": path} if path.is_file() else {}


def _build_sas_emoji(catalog: "Catalog", path: Path) -> Built:
    """The emoji table; each row's emoji must be the code point it names."""
    corpus = catalog.corpus
    loaded = corpus.load(path)
    if isinstance(loaded, Diagnostic):
        return Built((), (loaded,))
    rows, problems = [], []
    data = loaded.data if isinstance(loaded.data, list) else []
    if not isinstance(loaded.data, list):
        problems.append(loaded.diagnostic("", "build.sas-emoji", Severity.ERROR, "the SAS emoji file must be a list"))
    for i, item in enumerate(data):
        pointer = f"/{i}"
        fields = (item.get("number"), item.get("emoji"), item.get("unicode"), item.get("description")) \
            if isinstance(item, dict) else ()
        if len(fields) != 4 or not isinstance(fields[0], int) or not all(isinstance(f, str) for f in fields[1:]):
            problems.append(loaded.diagnostic(pointer, "build.sas-emoji", Severity.ERROR,
                                              "an emoji needs number (integer), emoji, unicode and description"))
            continue
        spelled = re.sub(r"U\+([0-9A-Fa-f]{1,6})", lambda m: chr(int(m.group(1), 16)), fields[2])
        if spelled != fields[1]:
            problems.append(loaded.diagnostic(join_pointer(pointer, "unicode"), "build.sas-emoji", Severity.ERROR,
                                              f"{fields[2]} is not the emoji {fields[1]!r} ({fields[3]})"))
        rows.append(EmojiRow(*fields))
    return Built((EmojiTable("sas-emoji-table", rows=tuple(rows)),), tuple(problems))


# -- the differences record (make compat) -------------------------------------

#: The reviewed record of differences from the public specification.
DIFFERENCES = "differences.yaml"


@dataclass(frozen=True)
class DifferencesTable(Block):
    entries: tuple[Any, ...] = ()
    #: ``(resolution, because) -> count`` of entries, for the summary line.
    counts: tuple[tuple[str, str, int], ...] = ()
    because: Mapping[str, str] = field(default_factory=dict)


def _discover_differences(catalog: "Catalog") -> Mapping[str, Path]:
    path = catalog.corpus.spec_dir / DIFFERENCES
    return {"differences_table": path} if path.is_file() else {}


def _build_differences(catalog: "Catalog", path: Path) -> Built:
    """The record as a table: fixed entries first, then kept ones by reason."""
    from .differences import BECAUSE, load_record

    loaded = catalog.corpus.load(path)
    if isinstance(loaded, Diagnostic):
        return Built((), (loaded,))
    entries, problems = load_record(loaded)
    order = {"fixed": 0, "kept": 1}
    ordered = sorted(entries, key=lambda e: (order[e.resolution], e.because))
    counts: dict[tuple[str, str], int] = {}
    for entry in ordered:
        counts[(entry.resolution, entry.because)] = counts.get((entry.resolution, entry.because), 0) + 1
    table = DifferencesTable("differences-table", entries=tuple(ordered),
                             counts=tuple((r, b, n) for (r, b), n in counts.items()), because=BECAUSE)
    return Built((table,), tuple(problems))


PLACEHOLDERS: Mapping[str, PlaceholderKind] = {
    "event": PlaceholderKind(_discover_events, _build_event, "event.html"),
    "endpoint": PlaceholderKind(_discover_apis, _build_api, "endpoint.html"),
    "definition": PlaceholderKind(_discover_definitions, _build_definition, "definition.html"),
    "common": PlaceholderKind(_discover_common, _build_common, "common_fields.html"),
    "flow": PlaceholderKind(_discover_flows, _build_flow, "flow.html"),
    "event_group": PlaceholderKind(_discover_event_groups, _build_event_group, "event.html"),
    "apis": PlaceholderKind(_discover_api_table, _build_api_table, "apis.html"),
    "release_warning": PlaceholderKind(_discover_release_warnings, _build_release_warning, "release_warning.html"),
    "changelog": PlaceholderKind(_discover_changelogs, _build_changelog, "changelog.html"),
    "sas_emoji": PlaceholderKind(_discover_sas_emoji, _build_sas_emoji, "sas_emoji.html"),
    "differences": PlaceholderKind(_discover_differences, _build_differences, "differences.html"),
}

#: What each kind is called in the outline and the search index.
_SHOWN_AS = {"event_group": "event"}


# -- inline placeholders -----------------------------------------------------

def _git_head(root: Path) -> tuple[str, str]:
    """``(branch, commit)`` of the checkout at ``root``, read from its
    ``.git`` folder (git itself is not run in a corpus: its config could
    name commands); ``("", "")`` when it is not a checkout we can read."""
    git = root / ".git"
    real = root.resolve()

    def read(path: Path) -> str:
        if real not in path.resolve().parents:
            raise OSError("outside the corpus")
        return path.read_text("ascii")

    try:
        if not git.is_dir():
            return "", ""
        head = read(git / "HEAD").strip()
        if not head.startswith("ref: "):
            return "", head if re.fullmatch(r"[0-9a-f]{40,64}", head) else ""
        ref = head[5:]
        if ".." in ref.split("/"):
            return "", ""
        branch = ref.removeprefix("refs/heads/")
        loose = git / ref
        if loose.is_file():
            return branch, read(loose).strip()
        packed = git / "packed-refs"
        if packed.is_file():
            for line in read(packed).splitlines():
                commit, _, name = line.partition(" ")
                if name == ref:
                    return branch, commit
        return branch, ""
    except (OSError, UnicodeDecodeError):
        return "", ""


def git_rev(root: Path) -> str:
    commit = _git_head(root)[1]
    return commit[:7] if commit else "unknown"


def git_version(root: Path) -> str:
    branch, commit = _git_head(root)
    return ",".join(p for p in (branch, commit[:7]) if p) or "unknown"


#: Inline placeholder -> its text, replaced wherever it stands in the prose.
INLINE: Mapping[str, Callable[[Path], str]] = {"git_version": git_version, "git_rev": git_rev}


# -- rendering -------------------------------------------------------------

_FORMATTER = HtmlFormatter(nowrap=True)
_LEXER = JsonLexer()
_CODE = re.compile(r"``(.+?)``|`([^`]+?)`")


def highlight_json(text: str) -> Markup:
    """The same markup docutils' ``code`` directive writes, so one
    stylesheet colours both."""
    return Markup('<pre class="code json literal-block"><code>') + Markup(highlight(text, _LEXER, _FORMATTER)) + Markup("</code></pre>")


def inline_text(text: str) -> Markup:
    """Schema descriptions: paragraphs on blank lines, ``code`` in
    backticks and ``[text](link)`` links; everything else escaped, and a
    link a browser would run as script written as its text alone (the
    lint rule ``description.unsafe-link`` reports it)."""
    paragraphs = [p.strip() for p in re.split(r"\n\s*\n", text or "") if p.strip()]
    out = []
    for paragraph in paragraphs:
        escaped = html.escape(" ".join(paragraph.split()), quote=True)
        escaped = _CODE.sub(lambda m: f"<code>{m.group(1) or m.group(2)}</code>", escaped)
        escaped = DESCRIPTION_LINK.sub(lambda m: m.group(1) if runs_script(html.unescape(m.group(2)))
                            else f'<a href="{m.group(2)}">{m.group(1)}</a>', escaped)
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
    template file, never a traceback. So is a template that would exhaust
    memory: one larger than a source may be, one writing more than
    :data:`TEMPLATE_OUTPUT_LIMIT` for a section, or a ``*`` or ``**``
    making a value larger than :data:`_LARGEST_PRODUCT`; and one that
    loops for more than :data:`TEMPLATE_CPU_SECONDS` of CPU (where a
    signal can say so: in a process's main thread). Where the corpus has
    templates of its own, what a template writes may not script the page
    (:func:`~specgen.script_uris.script_in_markup`), unless the operator
    trusts the corpus's markup. An exception raised outside any template
    frame is a bug in specgen and propagates.
    """
    try:
        template = env.get_template(name)
        written, size = [], 0
        with _cpu_budget(TEMPLATE_CPU_SECONDS):
            for chunk in template.generate(**context):
                size += len(chunk)
                if size > TEMPLATE_OUTPUT_LIMIT:
                    raise _Refused(template.filename, f"template {name!r} writes more than "
                                                        f"{TEMPLATE_OUTPUT_LIMIT} characters for one section")
                written.append(chunk)
        markup = "".join(written)
        found = script_in_markup(markup, _our_script) if _scripts_to_look_for(corpus) else []
        if found:
            own = corpus.template_dir / name
            return _template_error(corpus, str(own if own.is_file() else corpus.template_dir), 0,
                                   f"template {name!r} writes what a browser would run as script ({found[0]}): "
                                   "a corpus's templates may lay out what they are given, never script it "
                                   "(allow_raw_html = true in an operator's --config trusts them)")
        return markup
    except _Refused as exc:
        return _template_error(corpus, exc.filename, 0, exc.message)
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


#: The most a template may write for one generated section.
TEMPLATE_OUTPUT_LIMIT = 16 * 1024 * 1024
#: The longest string or list a template's ``*`` may make, and the largest
#: exponent its ``**`` may take.
_LARGEST_PRODUCT = 1_000_000
_LARGEST_EXPONENT = 1024


#: The scripts a page may load: the ones every build writes.
_OUR_SCRIPTS = frozenset({"search-index.js", "static/search.js", "static/livereload.js"})


def _our_script(src: str) -> bool:
    while src.startswith("../"):
        src = src[3:]
    return src in _OUR_SCRIPTS


def _scripts_to_look_for(corpus: Corpus) -> bool:
    """Whether a template's output may hold script the corpus wrote: it has
    templates of its own, and the operator does not trust its markup."""
    folder = corpus.template_dir
    return not corpus.config.allow_raw_html and folder.is_dir() and any(folder.iterdir())


#: The CPU time one template may take for one section (ours take
#: milliseconds): a corpus's template may loop, but not for ever.
TEMPLATE_CPU_SECONDS = 20.0


class _TooSlow(Exception):
    pass


@contextmanager
def _cpu_budget(seconds: float):
    """Raise :class:`_TooSlow` in the code below once it has used
    ``seconds`` of CPU time; nothing where no signal can interrupt it (a
    thread other than the main one, a system without ``setitimer``)."""
    if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "setitimer"):
        yield
        return

    def expired(signum: int, frame: Any) -> None:
        raise _TooSlow(f"it ran for more than {seconds:g} s of CPU")

    previous = signal.signal(signal.SIGVTALRM, expired)
    signal.setitimer(signal.ITIMER_VIRTUAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_VIRTUAL, 0)
        signal.signal(signal.SIGVTALRM, previous)


class _Refused(jinja2.TemplateError):
    """A template the build will not use (a link out of its folder, or
    one that would exhaust memory), located in its file; a template error,
    so whoever only loads a template treats it as one that cannot load."""

    def __init__(self, filename: str | None, message: str) -> None:
        super().__init__(message)
        self.filename = filename


class _ConfinedLoader(jinja2.FileSystemLoader):
    """Templates by name from their folders, never through a link that
    leads out of them, and no larger than a source may be: both checked
    before the file is read (a corpus's ``templates/`` is untrusted input)."""

    def get_source(self, environment: jinja2.Environment, template: str):
        # The file FileSystemLoader would read, checked before it reads it.
        pieces = split_template_path(template)
        for folder in self.searchpath:
            path = os.path.join(folder, *pieces)
            if not os.path.isfile(path):
                continue
            real = Path(os.path.realpath(path))
            if not any(Path(os.path.realpath(f)) in real.parents for f in self.searchpath):
                raise _Refused(path, f"template {template!r} is a link out of its folder, which is not followed")
            if real.stat().st_size > DEFAULT_MAX_FILE_SIZE:
                raise _Refused(path, f"template {template!r} is larger than the limit of "
                                       f"{DEFAULT_MAX_FILE_SIZE} bytes")
            break
        return super().get_source(environment, template)


class _Sandbox(SandboxedEnvironment):
    """Jinja2's sandbox, its verdict on an attribute remembered by the
    object's type and the attribute's name, the only things it depends on:
    templates ask it for every field of every table row."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._verdicts: dict[tuple[type, str], bool] = {}

    intercepted_binops = frozenset({"*", "**"})

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        """``*`` and ``**`` as Python has them, unless the value would be
        too large to hold (``"x" * 10**9``, ``9 ** 10**9``)."""
        if operator == "*":
            for sequence, times in ((left, right), (right, left)):
                if isinstance(sequence, (str, list, tuple)) and isinstance(times, int) \
                        and len(sequence) * times > _LARGEST_PRODUCT:
                    raise SecurityError(f"a value of {len(sequence) * times} items is more than a template may make")
        elif isinstance(right, int) and abs(right) > _LARGEST_EXPONENT and left not in (0, 1, -1):
            raise SecurityError(f"an exponent of {right} is more than a template may use")
        return super().call_binop(context, operator, left, right)

    def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
        key = (type(obj), attr)
        verdict = self._verdicts.get(key)
        if verdict is None:
            verdict = self._verdicts[key] = super().is_safe_attribute(obj, attr, value)
        return verdict


@functools.lru_cache(maxsize=8)
def _environment(folders: tuple[str, ...]) -> jinja2.Environment:
    """A sandboxed environment: a corpus's templates may format what they
    are given, but never reach Python's internals (``__class__``,
    ``__globals__``...) to run code of their own."""
    env = _Sandbox(loader=_ConfinedLoader(folders), autoescape=True,
                   undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters["json"] = highlight_json
    env.filters["prose"] = inline_text
    return env


class Catalog:
    """Every placeholder a corpus offers; builds and renders on demand.

    ``targets`` brings what the pages say about releases: the legacy
    ``%VARIABLE%`` values (applied to every generated section) and the
    releases the legacy kinds show."""

    def __init__(self, corpus: Corpus, resolver: Resolver | None = None,
                 environment: jinja2.Environment | None = None, targets: Targets | None = None) -> None:
        self.corpus = corpus
        self.resolver = resolver or Resolver(corpus)
        self.env = environment or template_environment(corpus)
        self.targets = targets or Targets("", (), ())
        #: placeholder name -> (kind, source)
        self.names: dict[str, tuple[str, Any]] = {}
        for kind, entry in PLACEHOLDERS.items():
            for name, source in entry.discover(self).items():
                self.names.setdefault(name, (kind, source))
        #: name -> (blocks, findings, unstable anchors, template failures met)
        self._built: dict[str, tuple[tuple[Generated, ...], tuple[Diagnostic, ...], frozenset[str],
                                     tuple[Diagnostic, ...]]] = {}
        self._template_failures: list[Diagnostic] = []
        self._made: dict[str, tuple[Any, tuple]] = {}

    def _models(self, name: str):
        """What the placeholder's builder made of its source, and each
        model's extras (built once: both :meth:`titles` and :meth:`expand`
        start from it)."""
        found = self._made.get(name)
        if found is None:
            kind, source = self.names[name]
            built = PLACEHOLDERS[kind].build(self, source)
            extras = (*built.extras, *({} for _ in built.models[len(built.extras):]))
            found = self._made[name] = (built, extras)
        return found

    def titles(self, name: str) -> tuple[tuple[str, str], ...]:
        """``(title, anchor)`` of each titled section ``name`` generates,
        without rendering them."""
        if name not in self.names or self.names[name][0] == "common":
            return ()
        built, extras = self._models(name)
        return tuple((self.targets.substitute(extra.get("title", m.title)), m.anchor)
                     for m, extra in zip(built.models, extras))

    def expand(self, name: str) -> Sequence[Generated] | None:
        """The rendered blocks for ``name``; ``None`` if no such placeholder."""
        found = self.names.get(name)
        if found is None:
            return None
        if name not in self._built:
            kind, _ = found
            entry = PLACEHOLDERS[kind]
            built, extras = self._models(name)
            substitute = self.targets.substitute
            blocks, failures = [], []
            for m, extra in zip(built.models, extras):
                variables = {k: v for k, v in extra.items() if k not in ("title", "aliases", "site_links")}
                rendered = render_template(self.env, entry.template, self.corpus, section=m, **variables)
                if isinstance(rendered, Diagnostic):
                    failures.append(rendered)
                    self.template_failure(rendered)
                    continue
                blocks.append(Generated(anchor=m.anchor,
                                        title="" if kind == "common" else substitute(extra.get("title", m.title)),
                                        kind=_SHOWN_AS.get(kind, kind), html=substitute(rendered),
                                        inner_anchors=m.inner_anchors, aliases=extra.get("aliases", ()),
                                        site_links=extra.get("site_links", ())))
            unstable = frozenset(m.anchor for m, extra in zip(built.models, extras) if extra.get("unstable"))
            self._built[name] = (tuple(blocks), built.diagnostics, unstable, tuple(failures))
        return self._built[name][0]

    def built(self) -> dict[str, tuple]:
        """What this catalog has built, by name in the order it was built:
        what a catalog in another process adopts (:meth:`adopt`)."""
        return dict(self._built)

    def adopt(self, built: Mapping[str, tuple]) -> None:
        """Take what another process's copy of this catalog built (its
        :meth:`built`) as if built here, in that order: the names this one
        has not built yet, with their findings and template failures."""
        for name, entry in built.items():
            if name not in self._built:
                self._built[name] = entry
                for failure in entry[3]:
                    self.template_failure(failure)

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
        for _, found, _, _ in self._built.values():
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
        sources: set[Path] = set()
        for name in placed & set(self.names):
            kind, source = self.names[name]
            if kind == "event_group":
                sources.update(source)
            elif kind in SOURCE_KINDS:
                sources.add(source)
        shown = self._referred_to(sources)
        canonical = self.corpus.sources.canonical
        out = []
        for name, (kind, path) in sorted(self.names.items()):
            if (name in placed or kind not in SOURCE_KINDS or path in sources
                    or (kind == "definition" and canonical(path) in shown)):
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

"""Where a spec corpus keeps its sources, found by convention or by config.

The layout is found by :func:`specgen.layouts.detect` (this repository's,
matrix-spec's ``data/`` tree, matrix-doc's legacy tree), this repository's
when none matches. A tree overrides any of it with a ``[tool.specgen]``
table in its ``pyproject.toml`` or a top-level table in ``specgen.toml``,
and a config file given by path (``--config``) overrides both::

    [tool.specgen]
    layout = "matrix-spec"
    schemas = "data/event-schemas/schema"
    examples = "data/event-schemas/examples"
    api = "data/api"
    severity = { "schema.no-example" = "info" }
    ignore = ["property.no-description"]
    read_roots = ["../shared-schemas"]   # read-only folders outside the root
    max_file_size = 5242880              # bytes per file (the default)
    allow_raw_html = false               # true only for a trusted corpus
    strict_build = true                  # findings fail `specgen build` (the layout's default)
    declared_histories = false           # true in this project's own spec: its walk-through stories

Nothing outside the root (and ``read_roots``) is read, whatever a
reference, a symlink or a folder setting says. The settings that widen what
a corpus may do (``read_roots``, ``allow_raw_html = true``, a
``max_file_size`` above the default) are taken only from a file outside the
corpus given with ``--config``: a corpus from a pull request cannot grant
them to itself.

Discovery only lists paths; files are parsed on first use through the one
:class:`~specgen.sources.Sources` cache the corpus owns.

Event schemas are the files directly in the schema folder; files in its
sub-folders are shared definitions that schemas refer to. Examples are named
``<type>``, ``<type>#<variant>`` or ``<type>$<variant>``, with or without a
``.json``/``.yaml`` suffix; examples in sub-folders are partials that other
examples ``$ref``. An API file is a YAML or JSON file under the API folder
whose top level has ``openapi`` or ``swagger``; other files there are
shared definitions.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Mapping

from .diagnostics import Diagnostic, Severity
from .layouts import API_SUFFIXES, DIR_KEYS, HUGO_SHORTCODE, LAYOUTS, PLACEHOLDER, Layout, by_name, detect
from .layouts import ours as _ours
from .sources import (DEFAULT_MAX_FILE_SIZE, JSON_SUFFIXES, YAML_SUFFIXES, Document, Sources, iter_mappings,
                      read_bounded)

__all__ = ["Config", "ConfigError", "Corpus", "ExampleFile", "load_config", "example_type", "data_stem", "underscored",
           "VARIANT_SEPARATORS"]

VARIANT_SEPARATORS = ("#", "$")
DATA_SUFFIXES = YAML_SUFFIXES | JSON_SUFFIXES

class ConfigError(Exception):
    """The corpus configuration is unusable (a usage error: exit 2)."""


@dataclass(frozen=True)
class Config:
    root: Path
    dirs: Mapping[str, Path]
    severity: Mapping[str, Severity] = field(default_factory=dict)
    ignore: frozenset[str] = frozenset()
    layout: Layout = _ours.LAYOUT
    #: How the layout was chosen, for ``-v``: "detected", "default" or the config file.
    layout_source: str = "default"
    #: Folders outside the root that the corpus may read (never write).
    read_roots: tuple[Path, ...] = ()
    max_file_size: int = DEFAULT_MAX_FILE_SIZE
    #: Whether ``.. raw:: html`` is allowed in the prose (a trusted corpus).
    allow_raw_html: bool = False
    #: Whether a finding fails ``specgen build`` (the layout's default).
    strict_build: bool = True
    #: Whether ``examples --sign`` writes (and ``--check`` expects) the
    #: example room histories :mod:`specgen.histories` declares: the
    #: walk-through stories of this project's own spec, not of any corpus.
    declared_histories: bool = False

    def dir(self, name: str) -> Path:
        return self.dirs[name]


def load_config(root: Path, config_file: Path | None = None) -> Config:
    """The layout :func:`~specgen.layouts.detect` finds under ``root``, with
    the overrides of ``config_file`` (when given) or else of ``root``'s
    ``specgen.toml`` or ``pyproject.toml``'s ``[tool.specgen]``. Folders are
    relative to ``root`` wherever the file lives.

    Raises:
        ConfigError: the file is missing, not valid TOML, or a value has the
            wrong type.
    """
    root = root.resolve()
    table, origin = _config_table(root, config_file)
    if not (config_file is not None and root not in config_file.resolve().parents):
        _refuse_widening(table, origin)
    layout, layout_source = detect(root), "detected"
    if layout is None:
        layout, layout_source = _ours.LAYOUT, "default"
    if "layout" in table:
        named = by_name(table["layout"]) if isinstance(table["layout"], str) else None
        if named is None:
            raise ConfigError(f"{origin}: layout must be one of "
                              f"{', '.join(repr(l.name) for l in LAYOUTS)}")
        layout, layout_source = named, str(origin)
    read_roots = table.get("read_roots", [])
    if not isinstance(read_roots, list) or not all(isinstance(r, str) for r in read_roots):
        raise ConfigError(f"{origin}: read_roots must be a list of folder paths")
    readable = (root, *((root / r).resolve() for r in read_roots))
    dirs = {}
    for key in DIR_KEYS:
        value = table.get(key, layout.dirs[key])
        if not isinstance(value, str):
            raise ConfigError(f"{origin}: {key} must be a string path")
        dirs[key] = (root / value).resolve()
        if not any(dirs[key] == r or r in dirs[key].parents for r in readable):
            raise ConfigError(f"{origin}: {key} = {value!r} is outside the corpus root "
                              "(list the folder in read_roots to allow it)")
    max_file_size = table.get("max_file_size", DEFAULT_MAX_FILE_SIZE)
    if not isinstance(max_file_size, int) or isinstance(max_file_size, bool) or max_file_size < 1:
        raise ConfigError(f"{origin}: max_file_size must be a positive number of bytes")
    allow_raw_html = _switch(table, "allow_raw_html", False, origin)
    strict_build = _switch(table, "strict_build", layout.strict_build, origin)
    declared_histories = _switch(table, "declared_histories", False, origin)
    severity_table = table.get("severity", {})
    if not isinstance(severity_table, dict):
        raise ConfigError(f"{origin}: severity must be a table of code = level")
    try:
        severity = {str(code): Severity.parse(str(level)) for code, level in severity_table.items()}
    except ValueError as exc:
        raise ConfigError(f"{origin}: severity: {exc}") from None
    ignore = table.get("ignore", [])
    if not isinstance(ignore, list) or not all(isinstance(i, str) for i in ignore):
        raise ConfigError(f"{origin}: ignore must be a list of codes")
    return Config(root=root, dirs=dirs, severity=severity, ignore=frozenset(ignore), layout=layout,
                  layout_source=layout_source, read_roots=readable[1:], max_file_size=max_file_size,
                  allow_raw_html=allow_raw_html, strict_build=strict_build,
                  declared_histories=declared_histories)


def _refuse_widening(table: dict[str, Any], origin: Path) -> None:
    """A settings file the corpus holds may narrow what the corpus may do,
    never widen it: the file may come from the same pull request."""
    widening = [key for key, widens in (("read_roots", lambda v: isinstance(v, list) and bool(v)),
                                        ("allow_raw_html", lambda v: v is True),
                                        ("max_file_size", lambda v: isinstance(v, int) and v > DEFAULT_MAX_FILE_SIZE))
                if key in table and widens(table[key])]
    if widening:
        raise ConfigError(f"{origin}: {widening[0]} widens what the corpus may do, which the corpus's own settings "
                          "cannot grant: set it in a file outside the corpus and give that with --config FILE")


def _switch(table: dict[str, Any], key: str, default: bool, origin: Path) -> bool:
    value = table.get(key, default)
    if not isinstance(value, bool):
        raise ConfigError(f"{origin}: {key} must be true or false")
    return value


def _config_table(root: Path, config_file: Path | None) -> tuple[dict[str, Any], Path]:
    """The settings table and the file it came from (``root`` for none)."""
    if config_file is not None:
        if not config_file.is_file():
            raise ConfigError(f"{config_file}: no such config file")
        candidates = [(config_file, _whole_or_tool_table)]
    else:
        candidates = [(root / "specgen.toml", lambda d: d),
                      (root / "pyproject.toml", _tool_table)]
    for path, pick in candidates:
        if path.is_file():
            raw = read_bounded(path)
            if isinstance(raw, tuple):
                raise ConfigError(f"{path}: {raw[1]}")
            try:
                table = pick(tomllib.loads(raw.decode("utf-8")))
            except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
                raise ConfigError(f"{path}: {exc}") from None
            if not isinstance(table, dict):
                raise ConfigError(f"{path}: the specgen table must be a table")
            if table or config_file is not None:
                return table, path
    return {}, root


def _tool_table(data: dict[str, Any]) -> Any:
    tool = data.get("tool")
    return tool.get("specgen", {}) if isinstance(tool, dict) else {}


def _whole_or_tool_table(data: dict[str, Any]) -> Any:
    """A config file given by path: its ``[tool.specgen]`` table if it has
    one (a ``pyproject.toml``), else the whole file (a ``specgen.toml``)."""
    tool = data.get("tool")
    return tool["specgen"] if isinstance(tool, dict) and "specgen" in tool else data


def example_type(name: str) -> str:
    """The event type an example file name belongs to.

    >>> example_type("m.room.member#invite.yaml")
    'm.room.member'
    >>> example_type("m.room.member$invite")
    'm.room.member'
    """
    for suffix in DATA_SUFFIXES:
        if name.endswith(suffix):
            name = name[: -len(suffix)]
            break
    cut = min((i for i in (name.find(s) for s in VARIANT_SEPARATORS) if i >= 0), default=len(name))
    return name[:cut]


@dataclass(frozen=True)
class ExampleFile:
    path: Path
    #: The event type (schema name) this example belongs to.
    event_type: str
    #: ``""`` for the plain example, else the text after the separator.
    variant: str


_NOT_DATA = frozenset({".md", ".rst", ".txt", ".py", ".toml", ".orig", ".swp"})


def _is_data_file(path: Path, *, allow_bare: bool = False) -> bool:
    """YAML/JSON by suffix; with ``allow_bare`` (example folders) any file
    whose suffix is not a known non-data one, since ``m.room.member`` has
    no real suffix at all."""
    if path.name.startswith(".") or not path.is_file():
        return False
    suffix = path.suffix.lower()
    return suffix in DATA_SUFFIXES or (allow_bare and suffix not in _NOT_DATA)


def _files(directory: Path, *, recursive: bool, allow_bare: bool = False,
           ignored: frozenset[str] = frozenset()) -> list[Path]:
    if not directory.is_dir():
        return []
    pattern = directory.rglob("*") if recursive else directory.iterdir()
    return sorted(p for p in pattern if p.name not in ignored and _is_data_file(p, allow_bare=allow_bare))


class Corpus:
    """A spec tree: its config, its discovered files, and its parse cache."""

    def __init__(self, root: Path, config: Config | None = None) -> None:
        self.root = root.resolve()
        self.config = config or load_config(self.root)
        self.sources = Sources(self.root, max_size=self.config.max_file_size, read_roots=self.config.read_roots)
        d = self.config.dirs
        self.layout = self.config.layout
        bare = self.layout.bare_schemas
        self.schema_dir = d["schemas"]
        self.example_dir = d["examples"]
        self.history_dir = d["histories"]
        self.api_dir = d["api"]
        self.spec_dir = d["specification"]
        self.template_dir = d["templates"]

        #: Event schemas by event type (file name without suffix).
        self.schemas: dict[str, Path] = {
            data_stem(p): p for p in _files(self.schema_dir, recursive=False, allow_bare=bare)
        }
        #: Shared schema definitions (sub-folders of the schema folder).
        self.schema_definitions: list[Path] = [
            p for p in _files(self.schema_dir, recursive=True, allow_bare=bare) if p.parent != self.schema_dir
        ]
        #: The layout's folders of stand-alone schemas (inside the root only);
        #: their files are shared schema definitions too.
        self.definition_dirs: tuple[Path, ...] = tuple(
            d for d in ((self.root / name).resolve() for name in self.layout.definition_dirs)
            if d == self.root or self.root in d.parents)
        for folder in self.definition_dirs:
            self.schema_definitions.extend(_files(folder, recursive=True))
        top_examples = _files(self.example_dir, recursive=False, allow_bare=True)
        #: Partial examples that other examples ``$ref``: those in sub-folders,
        #: and those beside the examples that have no schema of their name
        #: but are named by another example (``invite_room_state.json``).
        self.example_partials: list[Path] = sorted([
            *(p for p in _files(self.example_dir, recursive=True, allow_bare=True) if p.parent != self.example_dir),
            *self._referenced_orphans(top_examples),
        ])
        partials = set(self.example_partials)
        #: Examples grouped by the event type they belong to.
        self.examples: dict[str, list[ExampleFile]] = {}
        for p in top_examples:
            if p not in partials:
                t = example_type(p.name)
                variant = data_stem(p)[len(t) + 1:]
                self.examples.setdefault(t, []).append(ExampleFile(p, t, variant))
        self.histories: list[Path] = _files(self.history_dir, recursive=True)
        self.api_files: list[Path] = []
        self.api_definitions: list[Path] = []
        for p in _files(self.api_dir, recursive=True, ignored=self.layout.ignored_files):
            (self.api_files if self._is_api_document(p) else self.api_definitions).append(p)
        self.prose: list[Path] = (
            sorted(self.spec_dir.rglob(self.layout.prose)) if self.spec_dir.is_dir() else []
        )

    @property
    def found(self) -> bool:
        """Whether the tree holds any source at all where its layout looks."""
        return bool(self.schemas or self.examples or self.api_files or self.prose)

    def summary(self) -> list[str]:
        """What was found where, one line each (``specgen -v``)."""
        config = self.config
        examples = sum(len(group) for group in self.examples.values())
        shared = sum(1 for p in self.schema_definitions if self.schema_dir in p.parents)
        rows = [
            f"layout: {self.layout.name} ({self.layout.description}; {config.layout_source})",
            f"root: {self.root}",
            f"event schemas: {len(self.schemas)} (+{shared} shared) in {self.display(self.schema_dir)}",
            f"event examples: {examples} (+{len(self.example_partials)} partials) in {self.display(self.example_dir)}",
            f"API files: {len(self.api_files)} (+{len(self.api_definitions)} shared) in {self.display(self.api_dir)}",
            *(f"stand-alone schemas: {sum(1 for p in self.schema_definitions if d in p.parents)} in {self.display(d)}"
              for d in self.definition_dirs),
            f"prose: {len(self.prose)} {self.layout.prose} files in {self.display(self.spec_dir)}",
        ]
        if self.histories:
            rows.append(f"histories: {len(self.histories)} in {self.display(self.history_dir)}")
        return rows

    def _referenced_orphans(self, examples: list[Path]) -> list[Path]:
        """Examples whose name no schema has and that another example
        ``$ref``s: partials kept beside the examples."""
        orphans = {self.sources.canonical(p): p for p in examples if self._schema_name(p) is None}
        if not orphans:
            return []
        named: set[Path] = set()
        for p in examples:
            document = self.document(p)
            for mapping in iter_mappings(document.data if document is not None else None):
                ref = mapping.get("$ref")
                if isinstance(ref, str) and ref and not ref.startswith("#"):
                    named.add(self.sources.canonical(p.parent / ref.split("#", 1)[0]))
        return [orphans[c] for c in orphans if c in named]

    def _schema_name(self, example: Path) -> str | None:
        """The schema an example file is for: the one of its full name
        (``m.room.message$m.text``) if there is one, else its event type's."""
        for name in (data_stem(example), example_type(example.name)):
            if name in self.schemas:
                return name
        return None

    def schema_for(self, example: ExampleFile) -> Path | None:
        """The event schema ``example`` is validated against (see :meth:`_schema_name`)."""
        name = self._schema_name(example.path)
        return self.schemas[name] if name is not None else None

    def definitions_in_prose(self) -> set[Path]:
        """The shared definitions the prose places, in the syntaxes
        its layout uses (:data:`specgen.layouts.PLACEHOLDER`,
        :data:`specgen.layouts.HUGO_SHORTCODE`); a definition placed there
        is used even if no ``$ref`` names it."""
        by_name: dict[str, Path] = {}
        by_path: dict[str, Path] = {}
        for p in self.api_definitions:
            parts = p.relative_to(self.api_dir).parts
            if "definitions" in parts[1:-1]:
                below = parts[parts.index("definitions", 1) + 1:-1]
                suffix = API_SUFFIXES.get(parts[0], underscored(parts[0]))
                for folders in ((), below):
                    by_name["_".join(["definition", suffix, *map(underscored, folders), underscored(data_stem(p))])] = p
            by_path[(Path(self.api_dir.name, *parts[:-1]) / data_stem(p)).as_posix()] = p
        for folder in self.definition_dirs:
            for p in self.schema_definitions:
                if folder in p.parents and self.api_dir.parent in p.parents:
                    by_path[(p.parent.relative_to(self.api_dir.parent) / data_stem(p)).as_posix()] = p
        patterns = {PLACEHOLDER: (_PLACEHOLDER, by_name), HUGO_SHORTCODE: (_SHORTCODE, by_path)}
        used: set[Path] = set()
        for p in self.prose:
            try:
                text = p.read_text("utf-8", errors="replace")
            except OSError:
                continue
            for syntax in self.layout.definition_syntaxes:
                pattern, table = patterns[syntax]
                used.update(table[name] for name in pattern.findall(text) if name in table)
        return used

    def _is_api_document(self, path: Path) -> bool:
        doc = self.sources.document(path)
        return doc is not None and isinstance(doc.data, dict) and ("openapi" in doc.data or "swagger" in doc.data)

    def load(self, path: Path) -> Document | Diagnostic:
        return self.sources.load(path)

    def document(self, path: Path) -> Document | None:
        return self.sources.document(path)

    def display(self, path: Path) -> str:
        return self.sources.display(path)

    def diagnostic(self, path: Path, pointer: str, code: str, severity: Severity, message: str, *,
                   key: bool = False, related: tuple[Diagnostic, ...] = ()) -> Diagnostic:
        """:meth:`Document.diagnostic` for a file of this corpus; a file that
        does not load still gets the finding, without a position."""
        document = self.document(path)
        if document is None:
            return Diagnostic(self.display(path), 0, 0, code, severity, message, pointer, related)
        return document.diagnostic(pointer, code, severity, message, key=key, related=related)

    def all_example_files(self) -> Iterator[ExampleFile]:
        for group in self.examples.values():
            yield from group

    def data_files(self) -> Iterator[Path]:
        """Every YAML/JSON source of the corpus, each once."""
        seen: set[Path] = set()
        groups = (
            self.schemas.values(), self.schema_definitions,
            (e.path for e in self.all_example_files()), self.example_partials,
            self.histories, self.api_files, self.api_definitions,
        )
        for group in groups:
            for p in group:
                if p not in seen:
                    seen.add(p)
                    yield p


_PLACEHOLDER = re.compile(r"\{\{(definition_[A-Za-z0-9_]+)\}\}")
_SHORTCODE = re.compile(r"\{\{%\s*definition\s+path=\"([^\"]+)\"")


def underscored(text: str) -> str:
    """A name as placeholders spell it: anything but ``[A-Za-z0-9_]`` becomes ``_``."""
    return re.sub(r"[^A-Za-z0-9_]", "_", text)


def data_stem(path: Path) -> str:
    """A data file's name without its YAML/JSON suffix: the name it is
    known by (an event type, an API file's placeholder)."""
    name = path.name
    for suffix in DATA_SUFFIXES:
        if name.lower().endswith(suffix):
            return name[: -len(suffix)]
    return name

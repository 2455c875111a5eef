"""Where a spec corpus keeps its sources, found by convention or by config.

The default layout is this repository's (``event-schemas/schema/``,
``event-schemas/examples/``, ``api/``, ``specification/``, ``templates/``).
A third party's tree overrides any of it with a ``[tool.specgen]`` table in
its ``pyproject.toml`` or a top-level table in ``specgen.toml``::

    [tool.specgen]
    schemas = "data/event-schemas/schema"
    examples = "data/event-schemas/examples"
    api = "data/api"
    severity = { "schema.no-example" = "info" }
    ignore = ["property.no-description"]

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

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Mapping

from .diagnostics import Diagnostic, Severity
from .sources import JSON_SUFFIXES, YAML_SUFFIXES, Document, Sources

__all__ = ["Config", "ConfigError", "Corpus", "ExampleFile", "load_config", "example_type", "data_stem",
           "VARIANT_SEPARATORS"]

VARIANT_SEPARATORS = ("#", "$")
DATA_SUFFIXES = YAML_SUFFIXES | JSON_SUFFIXES

_DEFAULT_DIRS = {
    "schemas": "event-schemas/schema",
    "examples": "event-schemas/examples",
    "histories": "event-schemas/histories",
    "api": "api",
    "specification": "specification",
    "templates": "templates",
}


class ConfigError(Exception):
    """The corpus configuration is unusable (a usage error: exit 2)."""


@dataclass(frozen=True)
class Config:
    root: Path
    dirs: Mapping[str, Path]
    severity: Mapping[str, Severity] = field(default_factory=dict)
    ignore: frozenset[str] = frozenset()

    def dir(self, name: str) -> Path:
        return self.dirs[name]


def load_config(root: Path) -> Config:
    """Read ``specgen.toml`` or ``pyproject.toml``'s ``[tool.specgen]``.

    Raises:
        ConfigError: the file is not valid TOML or a value has the wrong type.
    """
    root = root.resolve()
    table: dict[str, Any] = {}
    for name, pick in (("specgen.toml", lambda d: d), ("pyproject.toml", lambda d: d.get("tool", {}).get("specgen", {}))):
        path = root / name
        if path.is_file():
            try:
                table = pick(tomllib.loads(path.read_text("utf-8")))
            except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
                raise ConfigError(f"{path}: {exc}") from None
            if table:
                break
    if not isinstance(table, dict):
        raise ConfigError(f"{root}: the specgen table must be a table")
    dirs = {}
    for key, default in _DEFAULT_DIRS.items():
        value = table.get(key, default)
        if not isinstance(value, str):
            raise ConfigError(f"{root}: [tool.specgen] {key} must be a string path")
        dirs[key] = (root / value).resolve()
    severity_table = table.get("severity", {})
    if not isinstance(severity_table, dict):
        raise ConfigError(f"{root}: [tool.specgen] severity must be a table of code = level")
    try:
        severity = {str(code): Severity.parse(str(level)) for code, level in severity_table.items()}
    except ValueError as exc:
        raise ConfigError(f"{root}: [tool.specgen] severity: {exc}") from None
    ignore = table.get("ignore", [])
    if not isinstance(ignore, list) or not all(isinstance(i, str) for i in ignore):
        raise ConfigError(f"{root}: [tool.specgen] ignore must be a list of codes")
    return Config(root=root, dirs=dirs, severity=severity, ignore=frozenset(ignore))


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


def _files(directory: Path, *, recursive: bool, allow_bare: bool = False) -> list[Path]:
    if not directory.is_dir():
        return []
    pattern = directory.rglob("*") if recursive else directory.iterdir()
    return sorted(p for p in pattern if _is_data_file(p, allow_bare=allow_bare))


class Corpus:
    """A spec tree: its config, its discovered files, and its parse cache."""

    def __init__(self, root: Path, config: Config | None = None) -> None:
        self.root = root.resolve()
        self.config = config or load_config(self.root)
        self.sources = Sources(self.root)
        d = self.config.dirs
        self.schema_dir = d["schemas"]
        self.example_dir = d["examples"]
        self.history_dir = d["histories"]
        self.api_dir = d["api"]
        self.spec_dir = d["specification"]
        self.template_dir = d["templates"]

        #: Event schemas by event type (file name without suffix).
        self.schemas: dict[str, Path] = {
            data_stem(p): p for p in _files(self.schema_dir, recursive=False)
        }
        #: Shared schema definitions (sub-folders of the schema folder).
        self.schema_definitions: list[Path] = [
            p for p in _files(self.schema_dir, recursive=True) if p.parent != self.schema_dir
        ]
        top_examples = _files(self.example_dir, recursive=False, allow_bare=True)
        #: Examples grouped by the event type they belong to.
        self.examples: dict[str, list[ExampleFile]] = {}
        for p in top_examples:
            t = example_type(p.name)
            variant = data_stem(p)[len(t) + 1:]
            self.examples.setdefault(t, []).append(ExampleFile(p, t, variant))
        #: Partial examples (sub-folders) that other examples ``$ref``.
        self.example_partials: list[Path] = [
            p for p in _files(self.example_dir, recursive=True, allow_bare=True) if p.parent != self.example_dir
        ]
        self.histories: list[Path] = _files(self.history_dir, recursive=True)
        self.api_files: list[Path] = []
        self.api_definitions: list[Path] = []
        for p in _files(self.api_dir, recursive=True):
            (self.api_files if self._is_api_document(p) else self.api_definitions).append(p)
        self.prose: list[Path] = (
            sorted(self.spec_dir.rglob("*.rst")) if self.spec_dir.is_dir() else []
        )

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


def data_stem(path: Path) -> str:
    """A data file's name without its YAML/JSON suffix: the name it is
    known by (an event type, an API file's placeholder)."""
    name = path.name
    for suffix in DATA_SUFFIXES:
        if name.lower().endswith(suffix):
            return name[: -len(suffix)]
    return name

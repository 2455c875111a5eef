"""Every example against its schema: ``specgen validate``.

Theory of operation: an example is first inlined through the resolver (a
``$ref`` with sibling overrides becomes one merged value), then validated
with ``jsonschema``'s ``iter_errors`` against a validator that refers to the
schema by its ``file://`` URI in the resolver's registry. Referring by URI,
rather than copying the schema, keeps two facts intact: relative ``$ref``
resolve against the file that holds them, and every subschema jsonschema
reports in an error *is* the node parsed from its file. The second lets a
failing keyword be located by object identity, wherever ``$ref`` led.

Each error becomes one ``example.invalid`` diagnostic at the failing value
(mapped back through ``$ref`` to the file that wrote it) with a related
note on the schema keyword. Validators are compiled once per
``(file, pointer, dialect)``.

Clean verdicts are remembered across runs (:class:`~specgen._cache.VerdictCache`):
an example that passed is not validated again while the instance (after
inlining), the schema's location and dialect, the bytes of every file the
schema reaches through ``$ref`` and the validator versions stay the same.
Only clean verdicts are stored, so a failing example is always validated
afresh and reported exactly as before. A schema whose meaning could depend
on anything else (``$id``, ``$anchor``, dynamic references, a reference
that does not resolve) is never cached.

Sources of examples:

- event examples, grouped by :attr:`Corpus.examples`, against
  ``schemas/<type>``;
- OpenAPI 3.x: parameter ``example``/``examples``, and ``example``/
  ``examples`` of request-body, response and header media types;
- Swagger 2.0: parameter ``x-example`` (against the parameter itself, or
  a body parameter's ``schema``) and response ``examples`` keyed by media
  type. An ``example`` written inside a schema is lint's concern
  (``example.invalid`` in :mod:`specgen.lint.example_rules`).
"""

from __future__ import annotations

import hashlib
import json
import warnings
from urllib.parse import quote
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping

import jsonschema
import jsonschema.exceptions
import jsonschema.validators

from ._cache import VerdictCache, package_version
from ._fast_validation import DIALECT, DRAFT4, compile_validator, is_clean, judged_alike, make_registry
from .corpus import Corpus
from .diagnostics import Diagnostic, Severity
from .openapi import HTTP_METHODS
from .refs import Resolver
from .sources import iter_mappings, join_pointer

__all__ = ["validate", "validate_with", "ExampleValidator", "Site", "api_dialect", "schema_dialect"]

_SCHEMA_REF_CODES = frozenset({"ref.unresolved", "ref.remote"})


def _nullable_type(validator, types, instance, schema):
    """OpenAPI 3.0's ``nullable: true`` admits ``null`` whatever ``type`` says."""
    if instance is None and schema.get("nullable") is True:
        return
    yield from jsonschema.Draft4Validator.VALIDATORS["type"](validator, types, instance, schema)


_OpenAPI30Validator = jsonschema.validators.extend(jsonschema.Draft4Validator, {"type": _nullable_type})


@dataclass(frozen=True)
class Site:
    """A value in a file: ``(path, pointer)``, with the node itself."""

    path: Path
    pointer: str
    node: Any


class ExampleValidator:
    """Validates examples of one corpus; caches compiled validators."""

    def __init__(self, corpus: Corpus, resolver: Resolver, cache: VerdictCache | None = None) -> None:
        """``cache`` remembers clean verdicts (none are kept without one);
        the caller flushes it."""
        self.corpus = corpus
        self.resolver = resolver
        self.cache = cache
        self._closures: dict[Path, bytes | None] = {}
        self._edges: dict[Path, tuple[Path, ...] | None] = {}
        self._validators: dict[tuple[Path, str, type], Any] = {}
        self._reached: dict[Path, tuple[Path, ...] | None] = {}
        self._fast: dict[tuple[Path, str, str], Any] = {}
        self._fast_registries: dict[tuple[tuple[Path, ...], str], Any] = {}
        self._alike: dict[tuple[Path, str], bool] = {}
        self._bases: dict[type, Any] = {}
        self._registry: Any = None
        self._inlined_schemas: dict[Path, tuple[Diagnostic, ...]] = {}
        self._where: dict[int, tuple[Path, str]] = {}
        self._indexed: set[int] = set()
        self._seen: set[tuple[Path, str, Path, str]] = set()
        self._malformed_reported: set[tuple[Path, str]] = set()
        #: Examples validated so far, by where they are written: ``event``
        #: (example files), ``api`` (API examples), ``schema`` (an example
        #: value beside a schema, lint's share).
        self.counts: dict[str, int] = {"event": 0, "api": 0, "schema": 0}

    # -- what to validate --------------------------------------------------

    def event_examples(self, selected: "_Selection") -> Iterator[Diagnostic]:
        for event_type, group in sorted(self.corpus.examples.items()):
            for example in group:
                schema_path = self.corpus.schema_for(example)
                if not selected(example.path, schema_path):
                    continue
                loaded = self.corpus.load(example.path)
                if isinstance(loaded, Diagnostic):
                    yield loaded
                    continue
                if schema_path is None:
                    continue  # lint's example.no-schema reports it
                schema_doc = self.corpus.load(schema_path)
                if isinstance(schema_doc, Diagnostic):
                    yield schema_doc
                    continue
                yield from self.check(Site(schema_path, "", schema_doc.data),
                                      Site(example.path, "", loaded.data), schema_dialect(schema_doc.data), "event")

    def api_examples(self, selected: "_Selection") -> Iterator[Diagnostic]:
        for api_path in self.corpus.api_files:
            if not selected(api_path, None):
                continue
            doc = self.corpus.document(api_path)
            if doc is None or not isinstance(doc.data, dict):
                continue
            cls = api_dialect(doc.data)
            for schema, example in _api_pairs(self._follow, Site(api_path, "", doc.data)):
                yield from self.check(schema, example, cls, "api")

    # -- one pair ------------------------------------------------------------

    def check(self, schema: Site, example: Site, cls: type, kind: str = "schema") -> Iterator[Diagnostic]:
        """Every error of one example against one schema, as diagnostics.
        A pair already checked in this run (a shared parameter that many
        operations name) is not checked, counted or reported again."""
        canonical = self.corpus.sources.canonical
        seen = (canonical(example.path), example.pointer, canonical(schema.path), schema.pointer)
        if seen in self._seen:
            return
        self._seen.add(seen)
        self.counts[kind] += 1
        yield from self._schema_ref_problems(schema.path)
        inlined = self.resolver.inline(example.path, example.node, example.pointer)
        yield from inlined.diagnostics
        instance = inlined.data
        if self.corpus.layout.example_all_of:
            instance = merge_example_all_of(instance)
        key = self._verdict_key(schema, cls, instance) if self.cache is not None else None
        if key is not None and self.cache.get(key) == []:
            return
        if is_clean(self._fast_validator(schema, cls), instance):
            if key is not None:
                self.cache.put(key, [])
            return
        yield from self._python_check(schema, example, cls, instance, key)

    def _python_check(self, schema: Site, example: Site, cls: type, instance: Any,
                      key: str | None) -> Iterator[Diagnostic]:
        """jsonschema's judgement, the source of every diagnostic."""
        validator = self._validator(schema, cls)
        try:
            errors = list(validator.iter_errors(instance))
        except RecursionError:
            yield self._diagnostic(schema.path, schema.pointer, "example.unchecked", Severity.ERROR,
                                   "schema recursion without end (a $ref cycle?): examples against it were not checked")
            return
        except Exception as exc:  # noqa: BLE001 - a malformed schema must not abort the run
            if not self._schema_ref_problems(schema.path):
                path, pointer, reason = self._malformed(schema, cls, exc)
                if (path, pointer) not in self._malformed_reported:
                    self._malformed_reported.add((path, pointer))
                    yield self._diagnostic(path, pointer, "example.unchecked", Severity.ERROR,
                                           f"malformed schema: {reason}; no example is checked against it")
            return
        if key is not None and not errors:
            self.cache.put(key, [])
        for error in sorted(errors, key=lambda e: (list(map(str, e.absolute_path)), str(e.validator))):
            yield self._error(error, example)

    def _malformed(self, schema: Site, cls: type, exc: Exception) -> tuple[Path, str, str]:
        """Where and why a schema the validator could not use is malformed:
        the first finding of its dialect's metaschema, placed in the file
        that writes the node (a shared definition is reported there, once)."""
        inlined = self.resolver.inline(schema.path, schema.node, schema.pointer).data
        try:
            error = jsonschema.exceptions.best_match(cls(cls.META_SCHEMA).iter_errors(inlined))
        except Exception:  # noqa: BLE001 - the metaschema check is a best effort
            error = None
        if error is None:
            reason = (f"unknown type {exc.type!r}" if isinstance(exc, jsonschema.exceptions.UnknownType)
                      else "a keyword's value has the wrong shape")
            return schema.path, schema.pointer, reason
        path, pointer = self.resolver.source_of(schema.path, join_pointer("", *error.absolute_path), schema.pointer)
        message = " ".join(error.message.split())
        if message[:1] in "[{" and " is not " in message:
            message = ("a list" if message[0] == "[" else "an object") + message[message.rfind(" is not "):]
        return path, pointer, message

    def _fast_validator(self, schema: Site, cls: type) -> Any:
        """The compiled clean verdict for a 2020-12 or draft 4 schema
        (OpenAPI 3.0 and Swagger 2.0 schemas are draft 4) that inlines
        without a problem (no cycle) and whose every reachable file is
        certain and read alike by both validators; ``None`` otherwise (see
        :mod:`specgen._fast_validation`)."""
        dialect = _COMPILED_DIALECTS.get(cls)
        if dialect is None or self._inline_problems(schema.path):
            return None
        key = (schema.path, schema.pointer, dialect)
        if key not in self._fast:
            registry = self._fast_registry(schema.path, dialect)
            self._fast[key] = (compile_validator({"$ref": self._uri(schema)}, registry, dialect=dialect)
                               if registry is not None else None)
        return self._fast[key]

    def _fast_registry(self, path: Path, dialect: str) -> Any:
        """The files ``path`` reaches, for jsonschema-rs, when all are
        certain and read as ``dialect`` alike (:func:`_read_alike`); one
        registry serves every file set alike."""
        files = self._reach(path)
        if files is None:
            return None
        if (files, dialect) not in self._fast_registries:
            registry = None
            if all(self._compiled_alike(current, dialect) for current in files):
                resources = [(self.corpus.sources.canonical(current).as_uri(), self.corpus.document(current).data)
                             for current in files]
                registry = make_registry(resources, dialect, checked=True)
            self._fast_registries[files, dialect] = registry
        return self._fast_registries[files, dialect]

    def _compiled_alike(self, path: Path, dialect: str) -> bool:
        """Whether one reached file reads alike to jsonschema-rs as
        ``dialect`` and to the Python class (asked once per file)."""
        key = (path, dialect)
        if key not in self._alike:
            data = self.corpus.document(path).data
            self._alike[key] = _read_alike(data, dialect) and judged_alike(data)
        return self._alike[key]

    def _uri(self, schema: Site) -> str:
        return self.corpus.sources.canonical(schema.path).as_uri() + "#" + _quote_pointer(schema.pointer)

    def _verdict_key(self, schema: Site, cls: type, instance: Any) -> str | None:
        """Everything a verdict depends on, hashed; ``None`` when that
        cannot be stated (see the module docstring)."""
        closure = self._closure(schema.path)
        if closure is None:
            return None
        try:
            encoded = json.dumps(instance, sort_keys=True, separators=(",", ":"), allow_nan=False)
        except (TypeError, ValueError, RecursionError):
            return None
        return VerdictCache.key(closure + encoded.encode("utf-8"), _VERDICT_VERSION, cls.__module__, cls.__qualname__,
                                schema.pointer, package_version("jsonschema"), package_version("referencing"))

    def _closure(self, path: Path) -> bytes | None:
        """Digest of ``path`` and every file it reaches through ``$ref``
        (names and bytes), or ``None`` if that set is not certain."""
        if path not in self._closures:
            files = self._reach(path)
            digest = None
            if files is not None:
                hasher = hashlib.sha256()
                for current in files:
                    hasher.update(str(current).encode("utf-8") + b"\0" + self.corpus.document(current).digest())
                digest = hasher.digest()
            self._closures[path] = digest
        return self._closures[path]

    def _reach(self, path: Path) -> tuple[Path, ...] | None:
        """``path`` and every file it reaches through ``$ref``, sorted, or
        ``None`` if that set is not certain."""
        if path not in self._reached:
            seen: dict[Path, None] = {}
            pending = [self.corpus.sources.canonical(path)]
            while pending:
                current = pending.pop()
                if current not in seen:
                    seen[current] = None
                    targets = self._targets(current)
                    if targets is None:
                        self._reached[path] = None
                        return None
                    pending.extend(targets)
            self._reached[path] = tuple(sorted(seen))
        return self._reached[path]

    def _targets(self, path: Path) -> tuple[Path, ...] | None:
        """The files one file's ``$ref`` name, or ``None`` when the file
        does not parse, a reference does not resolve, or an identifier
        keyword could redirect references."""
        if path not in self._edges:
            doc = self.corpus.document(path)
            targets: tuple[Path, ...] | None = None
            if doc is not None and not _has_identifiers(doc.data):
                found = [target for _, _, target in self.resolver.references(path)]
                if not any(isinstance(t, Diagnostic) for t in found):
                    targets = tuple(dict.fromkeys(t.path for t in found))
            self._edges[path] = targets
        return self._edges[path]

    def _schema_ref_problems(self, path: Path) -> tuple[Diagnostic, ...]:
        return tuple(d for d in self._inline_problems(path) if d.code in _SCHEMA_REF_CODES)

    def _inline_problems(self, path: Path) -> tuple[Diagnostic, ...]:
        """What inlining a schema file met: unresolved or remote references,
        cycles (through which the two validators may judge differently)."""
        found = self._inlined_schemas.get(path)
        if found is None:
            found = self._inlined_schemas[path] = tuple(self.resolver.inline(path).diagnostics)
        return found

    def _validator(self, schema: Site, cls: type) -> Any:
        key = (schema.path, schema.pointer, cls)
        validator = self._validators.get(key)
        if validator is None:
            validator = self._base(cls).evolve(schema={"$ref": self._uri(schema)})
            self._validators[key] = validator
        return validator

    def _base(self, cls: type) -> Any:
        """One validator per dialect owns the registry (crawled once for
        all dialects, :func:`_crawled`); per-schema validators are evolved
        from it, so the registry is combined with jsonschema's metaschemas
        once rather than once per schema."""
        base = self._bases.get(cls)
        if base is None:
            if self._registry is None:
                self._registry = _crawled(self.resolver.registry())
            base = self._bases[cls] = cls({}, registry=self._registry)
        return base

    def _error(self, error: jsonschema.ValidationError, example: Site) -> Diagnostic:
        relative = join_pointer("", *error.absolute_path)
        path, pointer = self.resolver.source_of(example.path, relative, example.pointer)
        keyword = error.validator if isinstance(error.validator, str) else "schema"
        expected = _short(error.validator_value)
        message = f"{relative or '/'}: {error.message} (keyword {keyword!r} expects {expected})"
        related = ()
        where = self._schema_site(error.schema)
        if where is not None:
            at = join_pointer(where[1], keyword) if isinstance(error.validator, str) else where[1]
            related = (self._diagnostic(where[0], at, "example.schema", Severity.INFO,
                                        f"schema keyword {keyword!r} is here", key=True),)
        return self._diagnostic(path, pointer, "example.invalid", Severity.ERROR, message, related)

    def _schema_site(self, schema: Any) -> tuple[Path, str] | None:
        """The file and pointer of a subschema, by identity with parsed nodes."""
        if not isinstance(schema, (dict, list)):
            return None
        found = self._where.get(id(schema))
        if found is None:
            for doc in self.corpus.sources.documents():
                if id(doc) not in self._indexed:
                    self._indexed.add(id(doc))
                    _index_nodes(doc.path, doc.data, self._where)
                    found = self._where.get(id(schema))
                    if found is not None:
                        break  # a node lives in one document: the rest can wait
        return found

    def _follow(self, site: Site) -> Site:
        """Follow a Reference Object chain to the node it names (siblings of
        ``$ref`` are descriptive in OpenAPI, so they are dropped)."""
        for _ in range(32):
            ref = site.node.get("$ref") if isinstance(site.node, dict) else None
            if not isinstance(ref, str):
                return site
            found = self.resolver.resolve(site.path, ref, at=site.pointer)
            if isinstance(found, Diagnostic):
                return site
            site = Site(found.path, found.pointer, found.data)
        return site

    def _diagnostic(self, path: Path, pointer: str, code: str, severity: Severity, message: str,
                    related: tuple[Diagnostic, ...] = (), *, key: bool = False) -> Diagnostic:
        return self.corpus.diagnostic(path, pointer, code, severity, message, key=key, related=related)


class _Selection:
    """``PATH...`` arguments: files, or folders that contain them."""

    def __init__(self, paths: Iterable[Path]) -> None:
        self.paths = tuple(p.resolve() for p in paths)

    def __call__(self, path: Path, also: Path | None) -> bool:
        if not self.paths:
            return True
        return any(_within(c.resolve(), p) for c in (path, also) if c is not None for p in self.paths)


def _crawled(registry: Any) -> Any:
    """``registry`` crawled once, up front, where that changes no answer.

    A lookup that misses an uncrawled registry (a file reached but not
    registered, retrieved on demand) crawls every resource again, on every
    such lookup: most of a cold run's example checks over draft 4 schemas.
    Crawling first adds only what that lookup's own crawl would add, unless
    an identifier re-registers a URI already held, which a direct hit would
    not see: then the registry stays as it was.
    """
    crawled = registry.crawl()
    return crawled if all(crawled[uri] is registry[uri] for uri in registry) else registry


def _within(candidate: Path, selected: Path) -> bool:
    return candidate == selected or selected in candidate.parents


def validate(corpus: Corpus, resolver: Resolver, paths: Iterable[Path] = ()) -> list[Diagnostic]:
    """Validate every example of ``corpus`` (or those ``paths`` select).

    Args:
        paths: example, schema or API files, or folders; an example is
            selected when it or its schema is named or lies in a named folder.

    Returns:
        The diagnostics, in discovery order; empty when every example fits.
    """
    return validate_with(ExampleValidator(corpus, resolver, VerdictCache.open()), paths)


def validate_with(checker: ExampleValidator, paths: Iterable[Path] = (), *,
                  write_cache: bool = True) -> list[Diagnostic]:
    """:func:`validate` with a validator the caller made (``specgen check``
    shares lint's, so nothing is compiled or validated twice). A caller
    that writes the verdict cache itself passes ``write_cache=False``."""
    selected = _Selection(paths)
    try:
        return [*checker.event_examples(selected), *checker.api_examples(selected)]
    finally:
        if checker.cache is not None and write_cache:
            checker.cache.flush()


#: Bump when this module changes what a validation run means (a dialect
#: class, an extension keyword), so old verdicts are not read.
_VERDICT_VERSION = "example-verdict-2"
#: Keywords that make a schema's meaning depend on more than the files its
#: ``$ref`` reach.
_IDENTIFIERS = frozenset({"$id", "id", "$anchor", "$dynamicAnchor", "$dynamicRef", "$recursiveRef",
                          "$recursiveAnchor"})


#: The dialect jsonschema-rs compiles for each validator class: OpenAPI
#: 3.0's is draft 4 but for ``nullable``, which :func:`_read_alike` rules out.
_COMPILED_DIALECTS = {jsonschema.Draft202012Validator: DIALECT, jsonschema.Draft4Validator: DRAFT4,
                      _OpenAPI30Validator: DRAFT4}


def _read_alike(data: Any, dialect: str) -> bool:
    """Whether a schema file means the same to jsonschema-rs's ``dialect``
    as to the validator class that asked: a 2020-12 file names no other
    ``$schema``; a draft 4 file holds no ``nullable: true`` (which only the
    OpenAPI 3.0 class reads) and names no other ``$schema`` anywhere
    (``jsonschema`` changes class at a subschema that names one)."""
    if dialect == DIALECT:
        return _schema_dialect_uri(data) == DIALECT
    return all(node.get("nullable") is not True and node.get("$schema", DRAFT4) == DRAFT4
               for node in iter_mappings(data))


def _has_identifiers(data: Any) -> bool:
    return any(not _IDENTIFIERS.isdisjoint(mapping) for mapping in iter_mappings(data))


def _schema_dialect_uri(data: Any) -> str:
    """The ``$schema`` a document names, 2020-12 when it names none."""
    named = data.get("$schema", DIALECT) if isinstance(data, dict) else DIALECT
    return named if isinstance(named, str) else ""


def schema_dialect(schema: Any) -> type:
    """The validator class ``$schema`` names; 2020-12 when absent or unknown."""
    if not isinstance(schema, dict) or not isinstance(schema.get("$schema"), str):
        return jsonschema.Draft202012Validator
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)


def api_dialect(document: Mapping) -> type:
    """The validator class for schemas inside an API document: OpenAPI 3.0
    and Swagger 2.0 schemas are draft 4 with ``nullable``; 3.1 is 2020-12."""
    if "swagger" in document:
        return _OpenAPI30Validator
    version = str(document.get("openapi", ""))
    if version.startswith("3.0"):
        return _OpenAPI30Validator
    return jsonschema.Draft202012Validator


def _api_pairs(follow, root: Site) -> Iterator[tuple[Site, Site]]:
    """``(schema, example)`` sites of one API document, in document order."""
    swagger = isinstance(root.node, dict) and "swagger" in root.node
    for path_item in _children(root, "paths"):
        path_item = follow(path_item)
        shared = list(_items(follow, _child(path_item, "parameters")))
        for method in HTTP_METHODS:
            operation = _child(path_item, method)
            if not isinstance(operation.node, dict):
                continue
            for parameter in [*shared, *_items(follow, _child(operation, "parameters"))]:
                yield from _parameter_pairs(follow, parameter, swagger)
            body = follow(_child(operation, "requestBody"))
            yield from _content_pairs(follow, body)
            for response in _children(operation, "responses"):
                response = follow(response)
                if swagger:
                    schema = _child(response, "schema")
                    if isinstance(schema.node, dict):
                        for example in _children(response, "examples"):
                            yield schema, example
                else:
                    yield from _content_pairs(follow, response)
                for header in _children(response, "headers"):
                    yield from _parameter_pairs(follow, follow(header), swagger)


def _parameter_pairs(follow, parameter: Site, swagger: bool) -> Iterator[tuple[Site, Site]]:
    if not isinstance(parameter.node, dict):
        return
    if swagger:
        if "x-example" in parameter.node:
            # A body parameter's value is described by its schema; any other
            # parameter is its own (draft 4 style) schema.
            body = parameter.node.get("in") == "body"
            schema = _child(parameter, "schema") if body else parameter
            if isinstance(schema.node, dict):
                example = _child(parameter, "x-example")
                yield schema, example if body else _url_text(example, schema.node.get("type"))
        return
    yield from _media_pairs(follow, parameter)


def _url_text(example: Site, declared: Any) -> Site:
    """A Swagger query, path, header or form parameter's ``x-example`` as
    the text it stands for in a request (writers quote ``"3"`` for an
    integer, or leave ``1234`` bare for a string), read as its declared
    type; a text that is no such value is left for the validator to reject."""
    value = example.node
    if declared == "string" and isinstance(value, (int, float)) and not isinstance(value, bool):
        value = str(value)
    elif isinstance(value, str) and declared in ("integer", "number", "boolean"):
        try:
            parsed = json.loads(value)
        except ValueError:
            parsed = value
        if declared == "boolean" and isinstance(parsed, bool) or declared != "boolean" and isinstance(
                parsed, (int, float)) and not isinstance(parsed, bool):
            value = parsed
    return example if value is example.node else Site(example.path, example.pointer, value)


def _content_pairs(follow, holder: Site) -> Iterator[tuple[Site, Site]]:
    for media in _children(holder, "content"):
        yield from _media_pairs(follow, media)


def _media_pairs(follow, holder: Site) -> Iterator[tuple[Site, Site]]:
    """``example`` and named ``examples`` (Example Objects) beside a ``schema``."""
    schema = _child(holder, "schema")
    if not isinstance(schema.node, (dict, bool)) or schema.node is None:
        return
    if isinstance(holder.node, dict) and "example" in holder.node:
        yield schema, _child(holder, "example")
    for named in _children(holder, "examples"):
        named = follow(named)
        if isinstance(named.node, dict) and "value" in named.node:
            yield schema, _child(named, "value")


_MISSING = object()


def _child(site: Site, key: str) -> Site:
    node = site.node.get(key, _MISSING) if isinstance(site.node, dict) else _MISSING
    return Site(site.path, join_pointer(site.pointer, key), None if node is _MISSING else node)


def _children(site: Site, key: str) -> Iterator[Site]:
    holder = _child(site, key)
    if isinstance(holder.node, dict):
        for name, value in holder.node.items():
            yield Site(site.path, join_pointer(holder.pointer, name), value)


def _items(follow, site: Site) -> Iterator[Site]:
    if isinstance(site.node, list):
        for i, value in enumerate(site.node):
            yield follow(Site(site.path, join_pointer(site.pointer, i), value))


def _index_nodes(path: Path, data: Any, where: dict[int, tuple[Path, str]]) -> None:
    stack: list[tuple[str, Any]] = [("", data)]
    while stack:
        pointer, node = stack.pop()
        if isinstance(node, dict):
            where.setdefault(id(node), (path, pointer))
            stack.extend((join_pointer(pointer, k), v) for k, v in node.items() if isinstance(v, (dict, list)))
        elif isinstance(node, list):
            where.setdefault(id(node), (path, pointer))
            stack.extend((join_pointer(pointer, i), v) for i, v in enumerate(node) if isinstance(v, (dict, list)))


def merge_example_all_of(value: Any) -> Any:
    """``value`` with every ``{"allOf": [object, ...]}`` replaced by its
    objects merged in order (nested objects merged too, later parts win);
    anything else as it is. Used where the layout says examples are
    written so (:attr:`specgen.layouts.Layout.example_all_of`). An
    example without ``allOf`` (nearly all) is returned itself, uncopied."""
    if not any("allOf" in mapping for mapping in iter_mappings(value)):
        return value
    return _merged_all_of(value)


def _merged_all_of(value: Any) -> Any:
    if isinstance(value, list):
        return [_merged_all_of(item) for item in value]
    if not isinstance(value, dict):
        return value
    parts = value.get("allOf")
    if len(value) == 1 and isinstance(parts, list) and all(isinstance(p, dict) for p in parts):
        merged: dict = {}
        for part in parts:
            merged = _deep_merge(merged, _merged_all_of(part))
        return merged
    return {key: _merged_all_of(item) for key, item in value.items()}


def _deep_merge(base: dict, over: dict) -> dict:
    out = dict(base)
    for key, value in over.items():
        old = out.get(key)
        out[key] = _deep_merge(old, value) if isinstance(old, dict) and isinstance(value, dict) else value
    return out


def _quote_pointer(pointer: str) -> str:
    return quote(pointer, safe="/~!$&'()*+,;=:@")


def _short(value: Any) -> str:
    try:
        text = json.dumps(value, sort_keys=True)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."

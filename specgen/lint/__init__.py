"""Lint rules: an explicit registry and the walker that runs them.

A rule is a generator ``rule(node, ctx) -> Iterator[Finding]`` that reports
problems relative to the node it was handed. The walker here knows where
that node sits (file and JSON pointer), prepends the pointer, and turns each
finding into a located :class:`~specgen.diagnostics.Diagnostic` through the
file's position index. Nothing is located unless something was found, so a
clean corpus never builds a position index.

Rules come in four kinds, by what they are handed:

- ``CORPUS``: the whole corpus, once (cross-file questions: unused
  definitions, duplicate endpoints, schemas without examples);
- ``SCHEMA_FILE``: the root of each event schema and shared schema file;
- ``SCHEMA``: every sub-schema of every schema tree, including the schemas
  embedded in API files, with :class:`SchemaContext` saying how it was
  reached (for "nested object needs a title");
- ``API``: each API file's :class:`specgen.openapi.ApiDocument`.

Modules: :mod:`.ref_rules` (syntax, ``$ref``, unused definitions),
:mod:`.schema_rules`, :mod:`.api_rules`, :mod:`.naming_rules`,
:mod:`.example_rules`. Verdicts of the structural validators are kept
across runs by content hash (:class:`specgen._cache.VerdictCache`); a new
one is answered by a compiled clean verdict when it can be
(:mod:`specgen._fast_validation`), by the Python validators otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Mapping

from ..diagnostics import Diagnostic, Severity
from ..openapi import ApiDocument, load_api, version_kind
from ..refs import merge_all_of
from ..sources import Document, join_pointer
from .._cache import VerdictCache

__all__ = [
    "RULES",
    "Rule",
    "Finding",
    "RuleContext",
    "SchemaContext",
    "check",
    "described",
    "fail_fast",
    "CORPUS",
    "SCHEMA_FILE",
    "SCHEMA",
    "API",
]

CORPUS = "corpus"
SCHEMA_FILE = "schema-file"
SCHEMA = "schema"
API = "api"


@dataclass(frozen=True)
class Finding:
    """A problem at ``pointer`` below the node the rule was handed.

    ``key`` locates the mapping key rather than its value (for "this
    property lacks ..."); ``path`` names another file when a corpus-wide
    rule reports about a particular file.
    """

    message: str
    pointer: str = ""
    key: bool = False
    path: Path | None = None


@dataclass(frozen=True)
class Rule:
    id: str
    default_severity: Severity
    description: str
    function: Callable[..., Iterator[Finding | Diagnostic]]
    kind: str


class RuleContext:
    """What every rule may ask about the run: the corpus, the resolver,
    the verdict cache, and per-run memos shared between rules."""

    def __init__(self, corpus, resolver, cache: VerdictCache | None = None) -> None:
        self.corpus = corpus
        self.resolver = resolver
        self.cache = cache if cache is not None else VerdictCache.open()
        self._apis: dict[Path, tuple[ApiDocument | None, list[Diagnostic]]] = {}
        self._references: dict[Path, tuple[tuple[str, str, Any], ...]] | None = None
        self._examples = None
        self._inherited: dict[tuple[Path, str], dict[str, Any]] | None = None
        self._reported: set = set()

    def first_report(self, key: Any) -> bool:
        """True the first time ``key`` is asked in this run: a finding about
        a shared file, met from every file that reaches it, is made once."""
        if key in self._reported:
            return False
        self._reported.add(key)
        return True

    def api(self, path: Path) -> tuple[ApiDocument | None, list[Diagnostic]]:
        if path not in self._apis:
            self._apis[path] = load_api(self.corpus, self.resolver, path)
        return self._apis[path]

    def examples(self):
        """One example validator per run: it compiles each schema once."""
        if self._examples is None:
            from ..examples import ExampleValidator

            self._examples = ExampleValidator(self.corpus, self.resolver, self.cache)
        return self._examples

    def references(self) -> dict[Path, tuple[tuple[str, str, Any], ...]]:
        """:meth:`Resolver.references <specgen.refs.Resolver.references>` of
        every loadable file of the corpus."""
        if self._references is None:
            self._references = {path: self.resolver.references(path) for path in self.corpus.data_files()
                                if self.corpus.document(path) is not None}
        return self._references

    def inherited(self, path: Path, pointer: str) -> Mapping[str, Any]:
        """Properties the schema at ``path#pointer`` is given from outside
        itself through ``allOf``: those of the other members of every
        ``allOf`` that lists it (in place or by ``$ref``), and of that
        ``allOf``'s owner. A base schema may require a property a sibling
        defines, and a member may leave a property's description to the base
        that describes it."""
        if self._inherited is None:
            self._inherited = {}
            for file in (*self.corpus.schemas.values(), *self.corpus.schema_definitions,
                         *self.corpus.api_files, *self.corpus.api_definitions):
                self._collect_all_of(file)
        return self._inherited.get((self.corpus.sources.canonical(path), pointer), {})

    def _collect_all_of(self, path: Path) -> None:
        document = self.corpus.document(path)
        if document is None:
            return
        resolver, canonical = self.resolver, self.corpus.sources.canonical(path)
        for pointer, node in _all_of_owners(document.data):
            members = node["allOf"]
            parts: list[tuple[tuple[Path, str] | None, dict]] = []
            for i, member in enumerate(members):
                at = join_pointer(pointer, "allOf", i)
                key: tuple[Path, str] | None = (canonical, at)
                if isinstance(member, dict) and isinstance(member.get("$ref"), str):
                    target = resolver.resolve(path, member["$ref"], at=at)
                    if isinstance(target, Diagnostic):
                        continue
                    key = (self.corpus.sources.canonical(target.path), target.pointer)
                    member = resolver.inline(target.path, None, target.pointer).data
                else:
                    member = resolver.inline(path, member, at).data
                parts.append((key, _properties(merge_all_of(member))))
            own = _properties(resolver.inline(path, {"properties": node.get("properties")},
                                              pointer).data)
            for key, _ in parts:
                given = self._inherited.setdefault(key, {})
                for other_key, properties in (*parts, (None, own)):
                    if other_key != key:
                        for name, schema in properties.items():
                            if not described(given.get(name)):
                                given[name] = schema

    def referenced_files(self, path: Path) -> list[Path]:
        """``path`` and every file it reaches through ``$ref``, sorted."""
        table = self.references()
        seen, stack = {path}, [path]
        while stack:
            for _, _, target in table.get(stack.pop(), ()):
                if not isinstance(target, Diagnostic) and target.path not in seen:
                    seen.add(target.path)
                    stack.append(target.path)
        return sorted(seen)


@dataclass(frozen=True)
class SchemaContext:
    """Where a sub-schema sits: its file, and how the walk reached it.

    ``nested`` is true below an object's ``properties`` (or an array's
    ``items``), where the renderer gives an object its own table;
    ``branch`` is true for a direct member of ``allOf``/``anyOf``/``oneOf``,
    whose properties merge into the parent's table instead.
    """

    run: RuleContext
    path: Path
    document: Document
    dialect: str
    nested: bool = False
    branch: bool = False
    #: Where the node sits in its file, for rules that hand the node on to
    #: another module (their own findings stay relative).
    pointer: str = ""


def described(schema: Any) -> bool:
    """Whether a property schema carries a description of its own."""
    return isinstance(schema, dict) and isinstance(schema.get("description"), str) and bool(schema["description"].strip())


from . import api_rules, example_rules, link_rules, naming_rules, ref_rules, schema_rules  # noqa: E402

_E, _W = Severity.ERROR, Severity.WARNING

RULES: dict[str, Rule] = {rule.id: rule for rule in (
    Rule("syntax", _E, "a file does not parse as YAML or JSON", ref_rules.syntax, CORPUS),
    Rule("ref.unresolved", _E, "a $ref names a file or pointer that does not exist", ref_rules.unresolved, CORPUS),
    Rule("ref.remote", _E, "a $ref points outside the corpus (http, https)", ref_rules.remote, CORPUS),
    Rule("ref.outside-corpus", _E, "a $ref or a corpus file leads outside the corpus root (absolute path, "
         "'..', file: URI or symlink); nothing of it is read", ref_rules.outside_corpus, CORPUS),
    Rule("ref.cycle", _E, "a $ref chain leads back to itself", ref_rules.cycle, CORPUS),
    Rule("definition.unused", _W, "a shared definition or example partial that nothing refers to",
         ref_rules.unused_definition, CORPUS),
    Rule("schema.metaschema", _E, "a schema is not valid against its JSON Schema metaschema",
         schema_rules.metaschema, SCHEMA_FILE),
    Rule("schema.state-key", _W, "a state event schema does not describe its state_key",
         schema_rules.state_key, SCHEMA_FILE),
    Rule("schema.no-example", _W, "an event schema has no example", example_rules.no_example, CORPUS),
    Rule("example.no-schema", _W, "an example has no event schema", example_rules.no_schema, CORPUS),
    Rule("example.invalid", _E, "an example does not match its schema (lint: example values written inside "
         "a schema; validate: example files and API examples)", example_rules.invalid_schema_example, SCHEMA),
    Rule("property.no-description", _W, "an object property has no description",
         schema_rules.property_description, SCHEMA),
    Rule("object.no-title", _W, "a nested object that gets its own table has no title",
         schema_rules.object_title, SCHEMA),
    Rule("schema.enum-type", _E, "an enum value contradicts the schema's declared type",
         schema_rules.enum_type, SCHEMA),
    Rule("schema.required-undefined", _E, "required names a property the object does not define",
         schema_rules.required_undefined, SCHEMA),
    Rule("api.openapi", _E, "an API file is not a structurally valid OpenAPI/Swagger document",
         api_rules.structure, API),
    Rule("api.path-parameters", _E, "path parameters declared and used in the path template differ",
         api_rules.path_parameters, API),
    Rule("api.no-responses", _E, "an operation declares no responses", api_rules.no_responses, API),
    Rule("api.duplicate-endpoint", _E, "two operations share a method and full path",
         api_rules.duplicate_endpoint, CORPUS),
    Rule("description.unsafe-link", _E, "a description links to a URI a browser would run as script "
         "(javascript:, vbscript:, data:); it is written as its text alone", link_rules.script_link, CORPUS),
    Rule("naming.event-type", _W, "an event type is not namespaced (lower-case dotted, two segments or more)",
         naming_rules.event_type, CORPUS),
)}


def check(corpus, resolver, rules: Iterable[str] | None = None, *,
          context: RuleContext | None = None) -> Iterator[Diagnostic]:
    """Every finding of every rule (or of the named ``rules``), lazily.

    Severities are the rules' defaults; the driver applies overrides and
    ``--ignore`` (see :class:`specgen.diagnostics.Collector`). A caller
    that goes on to validate passes its own ``context``, to share its
    example validator.

    Raises:
        KeyError: a name in ``rules`` is not in :data:`RULES` (a caller bug;
            the CLI validates names first).
    """
    selected = list(RULES.values()) if rules is None else [RULES[r] for r in rules]
    run = context if context is not None else RuleContext(corpus, resolver)
    try:
        yield from _run(run, selected)
    finally:
        run.cache.flush()


def fail_fast(corpus, resolver, rules: Iterable[str] | None = None) -> Diagnostic | None:
    """The first finding, or ``None`` for a clean corpus."""
    return next(check(corpus, resolver, rules), None)


def _schema_files(run: RuleContext) -> Iterator[tuple[Document, SchemaContext]]:
    """Every loadable event schema and shared schema file, in its context."""
    for path in (*run.corpus.schemas.values(), *run.corpus.schema_definitions):
        document = run.corpus.document(path)
        if document is not None:
            yield document, SchemaContext(run, path, document, _dialect(document.data))


def _api_models(run: RuleContext) -> Iterator[tuple[Document, ApiDocument | None, list[Diagnostic],
                                                    SchemaContext]]:
    """Every loadable API file with its endpoint model (``None`` when it
    has none), the problems met building it, and its context."""
    for path in run.corpus.api_files:
        document = run.corpus.document(path)
        if document is None:
            continue
        model, problems = run.api(path)
        kind = model.version_kind if model is not None else version_kind(document.data) or ""
        yield document, model, problems, SchemaContext(run, path, document, kind)


def _run(run: RuleContext, rules: list[Rule]) -> Iterator[Diagnostic]:
    by_kind: dict[str, list[Rule]] = {}
    for rule in rules:
        by_kind.setdefault(rule.kind, []).append(rule)
    corpus = run.corpus
    for rule in by_kind.get(CORPUS, ()):
        yield from _emit(run, rule, rule.function(corpus, run), None, "")
    file_rules, node_rules = by_kind.get(SCHEMA_FILE, []), by_kind.get(SCHEMA, [])
    if file_rules or node_rules:
        for document, ctx in _schema_files(run):
            for rule in file_rules:
                yield from _emit(run, rule, rule.function(document.data, ctx), document, "")
            yield from _walk_schema(run, node_rules, document.data, "", ctx)
    api_rules_ = by_kind.get(API, [])
    if node_rules or api_rules_:
        for document, model, problems, ctx in _api_models(run):
            if node_rules:
                for pointer, schema in _api_schemas(document.data, ""):
                    yield from _walk_schema(run, node_rules, schema, pointer, ctx)
            for rule in api_rules_:
                # Problems met building the model (an unknown version, a
                # node of the wrong shape) belong to the rule of that code.
                yield from (d for d in problems if d.code == rule.id)
                if model is not None:
                    yield from _emit(run, rule, rule.function(model, ctx), document, "")
    if node_rules:
        for path in corpus.api_definitions:
            document = corpus.document(path)
            if document is None or not isinstance(document.data, dict):
                continue
            ctx = SchemaContext(run, path, document, "")
            roots = _api_schemas(document.data, "") if _is_api_fragment(document.data) else [("", document.data)]
            for pointer, schema in roots:
                yield from _walk_schema(run, node_rules, schema, pointer, ctx)


def _emit(run: RuleContext, rule: Rule, findings: Iterable[Finding | Diagnostic],
          document: Document | None, prefix: str) -> Iterator[Diagnostic]:
    for finding in findings:
        if isinstance(finding, Diagnostic):
            yield finding
        elif finding.path is not None:
            yield run.corpus.diagnostic(finding.path, finding.pointer, rule.id, rule.default_severity,
                                        finding.message, key=finding.key)
        elif document is not None:
            yield document.diagnostic(prefix + finding.pointer, rule.id, rule.default_severity, finding.message,
                                      key=finding.key)
        else:
            yield Diagnostic("", 0, 0, rule.id, rule.default_severity, finding.message, prefix + finding.pointer)


def _dialect(data: Any) -> str:
    if isinstance(data, dict) and isinstance(data.get("$schema"), str):
        return data["$schema"]
    return ""


#: Keywords whose value is one sub-schema, and whether passing through them
#: puts the sub-schema in a nested table.
_ONE = {"additionalProperties": True, "items": True, "additionalItems": True, "contains": True,
        "unevaluatedProperties": True, "unevaluatedItems": True, "propertyNames": False,
        "not": False, "if": False, "then": False, "else": False}
#: Keywords whose value maps names to sub-schemas.
_MAP = {"properties": True, "patternProperties": True, "$defs": False, "definitions": False,
        "dependentSchemas": False}
#: Keywords whose value is a list of sub-schemas.
_LIST = {"allOf": False, "anyOf": False, "oneOf": False, "prefixItems": True, "items": True}


def _walk_schema(run: RuleContext, rules: list[Rule], schema: Any, pointer: str,
                 ctx: SchemaContext) -> Iterator[Diagnostic]:
    """Apply node rules to ``schema`` and every sub-schema below it."""
    stack = [(schema, pointer, ctx)]
    while stack:
        node, node_pointer, node_ctx = stack.pop()
        if not isinstance(node, dict):
            continue
        node_ctx = SchemaContext(node_ctx.run, node_ctx.path, node_ctx.document, node_ctx.dialect,
                                 node_ctx.nested, node_ctx.branch, node_pointer)
        for rule in rules:
            yield from _emit(run, rule, rule.function(node, node_ctx), node_ctx.document, node_pointer)
        children = []
        for key, value in node.items():
            if key in _ONE and isinstance(value, dict):
                children.append((value, join_pointer(node_pointer, key), _nest(node_ctx, _ONE[key], False)))
            elif key in _MAP and isinstance(value, dict):
                child_ctx = _nest(node_ctx, _MAP[key], False)
                children.extend((sub, join_pointer(node_pointer, key, name), child_ctx)
                                for name, sub in value.items())
            elif key in _LIST and isinstance(value, list):
                branch = key in ("allOf", "anyOf", "oneOf")
                child_ctx = _nest(node_ctx, _LIST[key], branch)
                children.extend((sub, join_pointer(node_pointer, key, i), child_ctx)
                                for i, sub in enumerate(value))
        stack.extend(reversed(children))


def _all_of_owners(data: Any) -> Iterator[tuple[str, dict]]:
    """Every mapping of a document that holds an ``allOf`` list, with its
    pointer. A document has thousands of nodes and a few such owners, so a
    pointer is made for those only, from the chain of parents."""
    stack: list[tuple[Any, Any, Any]] = [(None, "", data)]
    while stack:
        record = stack.pop()
        node = record[2]
        if isinstance(node, dict):
            if isinstance(node.get("allOf"), list):
                yield _pointer_of(record), node
            stack.extend((record, k, v) for k, v in node.items() if isinstance(v, (dict, list)))
        elif isinstance(node, list):
            stack.extend((record, i, v) for i, v in enumerate(node) if isinstance(v, (dict, list)))


def _pointer_of(record: tuple[Any, Any, Any]) -> str:
    tokens = []
    while record[0] is not None:
        tokens.append(record[1])
        record = record[0]
    return join_pointer("", *reversed(tokens))


def _properties(schema: Any) -> dict[str, Any]:
    properties = schema.get("properties") if isinstance(schema, dict) else None
    return properties if isinstance(properties, dict) else {}


def _nest(ctx: SchemaContext, nested: bool, branch: bool) -> SchemaContext:
    nested = ctx.nested or nested
    if nested == ctx.nested and branch == ctx.branch:
        return ctx
    return SchemaContext(ctx.run, ctx.path, ctx.document, ctx.dialect, nested, branch)


#: API keys whose values are example data, never to be searched for schemas.
_EXAMPLE_KEYS = frozenset({"example", "examples", "x-example"})


def _is_api_fragment(data: dict) -> bool:
    """A shared API definition that is a parameter, body or response
    rather than a bare schema."""
    return any(k in data for k in ("in", "content", "schema"))


def _api_schemas(node: Any, pointer: str) -> list[tuple[str, Any]]:
    """The schema roots of an API document: every ``schema`` value, plus
    ``components/schemas`` and Swagger's ``definitions``."""
    found: list[tuple[str, Any]] = []
    stack = [(node, pointer)]
    while stack:
        current, current_pointer = stack.pop()
        if isinstance(current, dict):
            for key, value in current.items():
                child = join_pointer(current_pointer, key)
                if key in _EXAMPLE_KEYS:
                    continue
                if key == "schema" and isinstance(value, dict):
                    found.append((child, value))
                elif child in ("/components/schemas", "/definitions") and isinstance(value, dict):
                    found.extend((join_pointer(child, name), sub) for name, sub in value.items())
                else:
                    stack.append((value, child))
        elif isinstance(current, list):
            stack.extend((item, join_pointer(current_pointer, i)) for i, item in enumerate(current))
    return found

"""Rules about OpenAPI/Swagger files, over the :mod:`specgen.openapi` model.

Pointers in the model are pointers into the API file, so findings here are
already absolute (the walker's prefix for API rules is the root).
"""

from __future__ import annotations

import ast
import hashlib
import importlib.util
import json
import re
import string
from collections import deque
from functools import lru_cache, partial
from pathlib import Path
from typing import Iterator

from ..openapi import ApiDocument
from ..sources import iter_mappings, join_pointer, split_pointer
from .._cache import package_version
from .._fast_validation import DIALECT, DRAFT4, compile_validator, is_clean, make_registry
from .schema_rules import crawled_validator
from . import Finding, RuleContext, SchemaContext

_PLACEHOLDER = re.compile(r"\{([^{}]+)\}")
#: The library's words for keys a Swagger/OpenAPI object does not define.
_NOT_EXTENSION = re.compile(r"(.+?) (?:does|do) not match any of the regexes: '\^x-'")
#: Longest validator message kept: some quote the whole offending node.
_MESSAGE_LIMIT = 240


@lru_cache(maxsize=None)
def _validator_class(kind: str):
    """The library's validator for ``kind``, with its document schema
    checked over a crawled registry.

    The OpenAPI 3.x document schemas reach the schema dialect through
    ``$dynamicRef``; the library's own validator holds an uncrawled
    registry, so every dynamic reference re-crawls every resource (about
    half of this check's time on a cold run). Crawling once, here, gives
    the same verdicts. Imported on a cache miss only: the package costs a
    noticeable part of a warm run's start-up. A reference the resolver
    left in the document (outside the corpus, or remote) is not followed:
    the library would open files and URLs itself.
    """
    import openapi_spec_validator as osv

    library = {"swagger2": osv.OpenAPIV2SpecValidator, "openapi3.0": osv.OpenAPIV30SpecValidator,
               "openapi3.1": osv.OpenAPIV31SpecValidator}[kind]
    document_schema = library.schema_validator.schema
    if kind == "swagger2":
        python = crawled_validator(document_schema, {"$ref": _fast_own_ref(document_schema, DRAFT4)})
        attributes = {"schema_validator": _FastFirst(compile_validator(document_schema, dialect=DRAFT4), python)}
    else:
        attributes = {"schema_validator": _FastFirst(compile_validator(document_schema),
                                                     crawled_validator(document_schema))}
    attributes["resolver_handlers"] = _NotRetrieved()
    if kind in ("openapi3.1", "swagger2"):
        attributes["keyword_validators"] = {**library.keyword_validators, "schema": _fast_schema_keyword(kind)}
    return type(library.__name__, (library,), attributes)


class _NotRetrieved(dict):
    """openapi-spec-validator's retrieval handlers by URI scheme: one for
    every scheme, which retrieves nothing (the ``ref.*`` rules report such
    references with their place)."""

    def __contains__(self, scheme) -> bool:
        return True

    def __missing__(self, scheme):
        return _not_retrieved


class _NotFollowed(ValueError):
    """A reference the library was kept from following (the resolver's
    wrappers around it say only the URI)."""


def _not_retrieved(uri: str):
    raise _NotFollowed(f"reference {uri!r} is not followed (only the corpus is read)")


def _causes(exc: BaseException) -> Iterator[BaseException]:
    """``exc`` and the exceptions it was raised from, outermost first."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        yield exc
        exc = exc.__cause__ or exc.__context__


class _FastFirst:
    """A document-schema validator that answers a clean document from the
    compiled verdict and asks the Python validator for everything else."""

    def __init__(self, fast, python) -> None:
        self.schema = python.schema
        self._fast, self._python = fast, python

    def iter_errors(self, instance):
        if not is_clean(self._fast, instance):
            yield from self._python.iter_errors(instance)


def _fast_own_ref(schema: dict, dialect: str):
    """jsonschema's ``$ref`` for a failing document, with each reference
    into ``schema``'s own definitions first asked of its compiled verdict:
    a part found clean yields no error in Python either, so only the
    failing parts are walked in Python. For a draft 4 document schema only
    (no dynamic scope, which a reference compiled on its own could read
    differently)."""
    import jsonschema

    base = (schema.get("id") or "urn:specgen:document-schema").rstrip("#")
    registry = make_registry([(base, schema)], dialect)
    own = {id(node) for node in iter_mappings(schema)}
    verdicts: dict[str, object] = {}
    python_ref = jsonschema.validators.validator_for(schema).VALIDATORS["$ref"]

    def ref(validator, ref, instance, subschema):
        if registry is not None and id(subschema) in own and isinstance(ref, str) and ref.startswith("#"):
            if ref not in verdicts:
                verdicts[ref] = compile_validator({"$ref": base + ref}, registry, dialect=dialect)
            if is_clean(verdicts[ref], instance):
                return
        yield from python_ref(validator, ref, instance, subschema)

    return ref


def _fast_schema_keyword(kind: str, compiled: bool = True):
    """openapi-spec-validator's check of each schema in a ``kind``
    document, with the compiled verdict asked first (unless ``compiled`` is
    false: the Python path alone, which the tests hold this one to): the
    metaschema's findings are looked for only when that verdict is not
    "valid". A 3.1
    schema is judged by its dialect's metaschema, a Swagger 2.0 one by the
    draft 4 metaschema, whatever ``$schema`` says.

    Where the library raises the metaschema's first finding for a schema,
    every finding is reported, in the schema's own order: jsonschema meets
    a node's extra keys in set order, so the one finding the library gave
    changed from run to run, and the others were never reported."""
    from jsonschema.exceptions import SchemaError
    from openapi_spec_validator.validation.exceptions import OpenAPIValidationError
    from openapi_spec_validator.validation.keywords import OpenAPIV30SchemaValidator, OpenAPIV31SchemaValidator

    class FastSchemaValidator(OpenAPIV31SchemaValidator if kind == "openapi3.1" else OpenAPIV30SchemaValidator):
        def _validate_schema_meta(self, schema, schema_value):
            try:
                checker = self._get_schema_checker(schema, schema_value)
            except ValueError as exc:
                return OpenAPIValidationError(str(exc))
            if compiled:
                if kind == "openapi3.1":
                    fast = _dialect_validator(self._get_schema_dialect_id(schema, schema_value),
                                              self.schema_validator_format_checker)
                else:
                    fast = _draft4_metaschema_validator()
                if is_clean(fast, schema_value):
                    return None
            found = []
            for error in _metaschema_findings(checker, schema_value):
                located = OpenAPIValidationError.create_from(SchemaError.create_from(error))
                # Placed by the schema's own path in the document, so a
                # finding about a node written alike elsewhere lands here.
                located.path = deque([*schema.parts, *error.absolute_path])
                found.append(located)
            self._more.extend(found[1:])
            return found[0] if found else None

        def __call__(self, schema, require_properties=True, meta_checked=False):
            # The library yields a schema's first finding and returns before
            # any nested schema is checked: the rest follow it here.
            more = self._more = []
            yield from super().__call__(schema, require_properties=require_properties, meta_checked=meta_checked)
            yield from more

    return FastSchemaValidator


def _metaschema_findings(checker, value) -> list:
    """Every finding of the metaschema the library's ``checker`` (jsonschema's
    ``check_schema``, bound to a validator class) checks ``value`` against,
    in ``value``'s own order."""
    from jsonschema.validators import validator_for
    from openapi_schema_validator.validators import OPENAPI_SPECIFICATIONS, check_openapi_schema

    func = checker.func if isinstance(checker, partial) else checker
    cls = func.__self__
    validator = validator_for(cls.META_SCHEMA, default=cls)
    if getattr(func, "__func__", None) is check_openapi_schema:
        # openapi-schema-validator's own check: its metaschemas held locally.
        options = {"format_checker": cls.FORMAT_CHECKER, "registry": OPENAPI_SPECIFICATIONS}
    else:
        options = {"format_checker": validator.FORMAT_CHECKER}
    if isinstance(checker, partial):
        options.update(checker.keywords)
    metaschema = validator(schema=cls.META_SCHEMA, **options)
    return sorted(metaschema.iter_errors(value), key=lambda e: _document_order(value, e.absolute_path))


#: Where the metaschemas of the OpenAPI 3.1 dialects live.
_DIALECT_PREFIXES = ("https://json-schema.org/draft/2020-12/", "https://spec.openapis.org/oas/3.1/")


@lru_cache(maxsize=None)
def _dialect_validator(dialect_id: str, format_checker):
    """The compiled verdict for a schema in a 3.1 document under
    ``dialect_id``: its metaschema over the locally held OpenAPI and
    2020-12 metaschemas, asserting formats with ``format_checker``'s own
    functions (the library checks schemas with format assertions on)."""
    import jsonschema.validators
    from openapi_schema_validator._dialects import OPENAPI_SPECIFICATIONS

    cls = jsonschema.validators.validator_for({"$schema": dialect_id}, default=None)
    if cls is None:
        return None
    resources = [(uri, OPENAPI_SPECIFICATIONS.contents(uri)) for uri in OPENAPI_SPECIFICATIONS
                 if uri.startswith(_DIALECT_PREFIXES)]
    names = set(_formats_named(cls.META_SCHEMA))
    for _, contents in resources:
        names.update(_formats_named(contents))
    formats = {name: partial(format_checker.conforms, format=name) for name in sorted(names)}
    registry = make_registry(resources)
    return compile_validator(cls.META_SCHEMA, registry, formats) if registry is not None else None


def _formats_named(schema) -> Iterator[str]:
    return (node["format"] for node in iter_mappings(schema) if isinstance(node.get("format"), str))


#: The operations of a path item that openapi-spec-validator checks.
_OPERATIONS = frozenset({"get", "put", "post", "delete", "options", "head", "patch", "trace"})
#: Keys whose meaning reaches beyond the node that holds them: the library
#: resolves them by itself, so a document holding one goes to it.
_REFERENCING = frozenset({"$ref", "$id", "$anchor", "$dynamicRef", "$dynamicAnchor", "$recursiveRef",
                          "$recursiveAnchor"})
_OAS31_DIALECT = "https://spec.openapis.org/oas/3.1/dialect/base"


#: The document schema of each kind the pre-walk proves, and its dialect.
_DOCUMENT_SCHEMAS = {"openapi3.1": ("3.1", DIALECT), "swagger2": ("2.0", DRAFT4)}


def _surely_clean(data, kind: str) -> bool:
    """Whether openapi-spec-validator is sure to find nothing in the
    inlined OpenAPI 3.1 or Swagger 2.0 document ``data``, proven without
    importing it (the import alone costs more than a cold run's structure
    checks).

    Every check the library makes is made here over the plain data, each
    as strictly or more: the document schema and each schema's metaschema
    by their compiled verdicts, the rest (a required property that no
    ``allOf`` member defines, ``default`` values, duplicate parameters,
    operation IDs and tag names, path templates it could not parse) as the
    library words them. Only its path-parameter findings are not mirrored,
    since :func:`_structural_problems` drops them. ``False`` means "ask
    the library", whose findings are then the only ones reported; the
    differential tests (tests/specgen/test_fast_validation.py, one section
    per version) hold the two together.
    """
    if kind not in _DOCUMENT_SCHEMAS or not isinstance(data, dict):
        return False
    try:
        if _holds_referencing_key(data):
            return False
        if kind == "openapi3.1" and data.get("jsonSchemaDialect", _OAS31_DIALECT) != _OAS31_DIALECT:
            return False
        if not is_clean(_document_validator(*_DOCUMENT_SCHEMAS[kind]), data):
            return False
        entries = _schema_entries(data, swagger=kind == "swagger2")
        if entries is None:
            return False
        schemas, parameters = entries
        seen: set[int] = set()
        return (all(_swagger2_default_valid(parameter) for parameter in parameters)
                and all(_schema_surely_clean(schema, seen, kind) for schema in schemas))
    except (TypeError, ValueError, KeyError, AttributeError, RecursionError):
        return False


def _holds_referencing_key(data) -> bool:
    """Whether any mapping in ``data`` holds a key of :data:`_REFERENCING`
    (one plain loop: every API document is scanned whole)."""
    stack = [data]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if not _REFERENCING.isdisjoint(node):
                return True
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return False


def _schema_entries(data: dict, swagger: bool) -> tuple[list, list] | None:
    """The schemas the library checks one by one (parameters', responses'
    or their media types', ``components/schemas``) and, in Swagger 2.0,
    the parameters whose ``default`` it checks; ``None`` when the document
    holds something the library would report on its own."""
    names = [tag["name"] for tag in data.get("tags") or ()]
    if len(set(names)) != len(names):
        return None
    entries: list = []
    parameters: list = []
    operation_ids: set = set()
    for url, item in (data.get("paths") or {}).items():
        list(string.Formatter().parse(url))  # the library parses every template: ValueError goes to it
        if not isinstance(item, dict) or not _parameter_schemas(item, entries, parameters, swagger):
            return None
        for name, operation in item.items():
            if name not in _OPERATIONS:
                continue
            if not isinstance(operation, dict) or not _parameter_schemas(operation, entries, parameters, swagger):
                return None
            operation_id = operation.get("operationId")
            if operation_id is not None:
                if operation_id in operation_ids:
                    return None
                operation_ids.add(operation_id)
            for response in (operation.get("responses") or {}).values():
                holders = [response] if swagger else (response.get("content") or {}).values()
                for holder in holders:
                    if not isinstance(holder, dict):
                        return None
                    if "schema" in holder:
                        entries.append(holder["schema"])
    entries.extend(((data.get("components") or {}).get("schemas") or {}).values())
    return entries, parameters


def _parameter_schemas(holder: dict, entries: list, defaults: list, swagger: bool) -> bool:
    """Add the schemas of ``holder``'s parameters to ``entries`` and, in
    Swagger 2.0, the parameters holding a ``default`` to ``defaults``;
    ``False`` when a parameter repeats (by name and location) or is
    malformed."""
    seen: set = set()
    for parameter in holder.get("parameters") or ():
        if not isinstance(parameter, dict) or "name" not in parameter or "in" not in parameter:
            return False
        key = (parameter["name"], parameter["in"])
        if key in seen:
            return False
        seen.add(key)
        if "schema" in parameter:
            entries.append(parameter["schema"])
        if swagger and "default" in parameter:
            defaults.append(parameter)
    return True


def _schema_surely_clean(schema, seen: set[int], kind: str) -> bool:
    """One schema the library checks on its own: its metaschema (in
    Swagger 2.0 always draft 4's, whatever ``$schema`` says), the
    ``required`` names of an ``allOf`` owner, and the ``default`` of it and
    of every sub-schema the library walks to. ``seen`` holds the
    sub-schemas whose defaults are already proven."""
    if not isinstance(schema, dict):
        return False
    swagger = kind == "swagger2"
    metaschema = _draft4_metaschema_validator() if swagger else _metaschema_validator(
        schema.get("$schema", _OAS31_DIALECT))
    default_valid = _swagger2_default_valid if swagger else _default_valid
    if not is_clean(metaschema, schema):
        return False
    if "allOf" in schema:
        defined = set(schema.get("properties") or ())
        for member in schema["allOf"]:
            defined |= _collected_properties(member)
        if set(schema.get("required") or ()) - defined:
            return False
    stack = [schema]
    while stack:
        node = stack.pop()
        if not isinstance(node, dict):
            return False
        if id(node) in seen:
            continue
        seen.add(id(node))
        if "default" in node and (node["default"] is not None or node.get("nullable", False) is not True):
            if not default_valid(node):
                return False
        for keyword in ("allOf", "anyOf", "oneOf"):
            if keyword in node:
                stack.extend(node[keyword])
        stack.extend(node[keyword] for keyword in ("not", "items") if keyword in node)
        if "properties" in node:
            stack.extend(node["properties"].values())
    return True


def _collected_properties(schema) -> set[str]:
    """The property names the library gathers below an ``allOf`` member."""
    names: set[str] = set()
    stack = [schema]
    while stack:
        node = stack.pop()
        if not isinstance(node, dict):
            raise TypeError("not a schema object")
        names.update(node.get("properties") or ())
        for keyword in ("allOf", "anyOf", "oneOf"):
            if keyword in node:
                stack.extend(node[keyword])
        stack.extend(node[keyword] for keyword in ("items", "not") if keyword in node)
    return names


def _default_valid(schema: dict) -> bool:
    """The library's check of a ``default`` value: by its OpenAPI 3.1
    validator, which is JSON Schema 2020-12 with formats asserted and a
    few annotation keywords more (the value is small: Python judges it)."""
    import jsonschema

    formats = _oas31_formats()
    return formats is not None and jsonschema.Draft202012Validator(schema, format_checker=formats).is_valid(
        schema["default"])


def _swagger2_default_valid(holder: dict) -> bool:
    """The library's check of a ``default`` in a Swagger 2.0 document: by
    openapi-schema-validator's OpenAPI 3.0 validator over the node holding
    it (a schema, or a whole parameter), formats asserted. That validator
    itself judges, imported only for a document holding a default; any
    failure of it means "ask the library"."""
    from openapi_schema_validator import OAS30Validator, oas30_format_checker

    try:
        return OAS30Validator(holder, format_checker=oas30_format_checker).is_valid(holder["default"])
    except Exception:  # noqa: BLE001 - whatever it raises, the library meets it too and reports it
        return False


@lru_cache(maxsize=None)
def _draft4_metaschema_validator():
    """The compiled check of a schema in a Swagger 2.0 document: the draft 4
    metaschema openapi-schema-validator checks it against, with the one
    format it names (``regex``) asserted as that library asserts it."""
    import jsonschema

    formats = _oas31_formats()
    if formats is None:
        return None
    metaschema = jsonschema.Draft4Validator.META_SCHEMA
    checks = {name: partial(formats.conforms, format=name) for name in sorted(set(_formats_named(metaschema)))}
    return compile_validator(metaschema, None, checks, dialect=DRAFT4)


@lru_cache(maxsize=None)
def _oas31_formats():
    """The format checks openapi-schema-validator makes in 3.1 schemas,
    without its import: jsonschema's checks, which its checker starts from,
    with the integer sizes of the OpenAPI format registry (``float``,
    ``double`` and ``password`` accept every JSON value, as unknown formats
    do). Its ``regex`` is also OpenAPI 3.0's, which checks Swagger 2.0
    schemas. With the optional ``regress`` package installed, the library
    reads ``pattern`` and ``regex`` as ECMA-262: ``None`` then, and the
    library judges."""
    if importlib.util.find_spec("regress") is not None:
        return None
    import jsonschema

    checker = jsonschema.FormatChecker()
    checker.checks("int32")(partial(_fits_signed, bits=32))
    checker.checks("int64")(partial(_fits_signed, bits=64))
    return checker


def _fits_signed(value, bits: int) -> bool:
    """An integer (not a boolean) of ``bits`` bits, two's complement;
    anything else is not this format's concern."""
    if not isinstance(value, int) or isinstance(value, bool):
        return True
    return -(1 << (bits - 1)) <= value < 1 << (bits - 1)


@lru_cache(maxsize=None)
def _metaschema_validator(dialect: str):
    """The compiled check of a schema in a 3.1 document against its
    dialect's metaschema (the OpenAPI base dialect or JSON Schema
    2020-12), from the metaschema files the library holds, read without
    importing it; ``None`` for any other dialect."""
    resources = _metaschema_resources()
    formats = _oas31_formats()
    if dialect not in resources or formats is None:
        return None
    named = {node["format"] for _, contents in resources.items() for node in iter_mappings(contents)
             if isinstance(node.get("format"), str)}
    registry = make_registry(resources.items())
    checks = {name: partial(formats.conforms, format=name) for name in sorted(named)}
    return compile_validator(resources[dialect], registry, checks) if registry is not None else None


@lru_cache(maxsize=None)
def _metaschema_resources() -> dict:
    """URI -> contents of the JSON Schema 2020-12 metaschemas and the
    OpenAPI 3.1 ones (openapi-schema-validator's files, read as it reads
    them)."""
    import jsonschema_specifications

    resources = {uri: jsonschema_specifications.REGISTRY.contents(uri) for uri in jsonschema_specifications.REGISTRY
                 if uri.startswith(_DIALECT_PREFIXES[0])}
    spec = importlib.util.find_spec("openapi_schema_validator")
    if spec is None or not spec.submodule_search_locations:
        return {}
    folder = Path(next(iter(spec.submodule_search_locations))) / "schemas" / "oas3.1"
    try:
        for file in sorted(folder.rglob("*")):
            if file.is_file() and not file.name.startswith("."):
                contents = json.loads(file.read_text("utf-8"))
                resources[contents["$id"]] = contents
    except (OSError, ValueError, KeyError, TypeError):
        return {}
    return resources


@lru_cache(maxsize=None)
def _document_validator(version: str, dialect: str = DIALECT):
    """The compiled OpenAPI document schema of ``version``, written in ``dialect``."""
    schema = _document_schema(version)
    return compile_validator(schema, dialect=dialect) if schema is not None else None


def _document_schema(version: str):
    """The document schema openapi-spec-validator holds for ``version``,
    read from its files rather than through its import."""
    spec = importlib.util.find_spec("openapi_spec_validator")
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(next(iter(spec.submodule_search_locations)))
    try:
        return json.loads((folder / f"resources/schemas/v{version}/schema.json").read_text("utf-8"))
    except (OSError, ValueError):
        return None


def _structural_problems(data, kind: str) -> list[tuple[str, str]]:
    """``(pointer into the inlined document, reason)`` for each finding of
    openapi-spec-validator, the reason first and on one line; nothing,
    without asking it, for a document :func:`_surely_clean` proves clean."""
    return [] if _surely_clean(data, kind) else _library_problems(data, kind)


def _library_problems(data, kind: str) -> list[tuple[str, str]]:
    """The findings of openapi-spec-validator itself (see :func:`_structural_problems`)."""
    import jsonschema.exceptions
    import referencing.exceptions
    from openapi_spec_validator.validation.exceptions import UnresolvableParameterError

    problems = []
    places: list[tuple[str, object]] | None = None
    taken: set[str] = set()
    unplaced: list[str] = []
    try:
        for error in _validator_class(kind)(data).iter_errors():
            if isinstance(error, UnresolvableParameterError):
                continue  # api.path-parameters says the same, with a location
            if kind == "swagger2" and _swagger_file_type(error):
                continue
            pointer = join_pointer("", *getattr(error, "absolute_path", ()))
            if not pointer or not _exists(data, pointer):
                # A schema checked on its own reports paths from that schema:
                # find its node in the document instead.
                if places is None:
                    places = _places(data)
                instance = _instance(error)
                pointer = _operation_id_place(error) or _place_of(instance, places, taken)
                if not pointer and instance is not data:
                    unplaced.append(_reason(error)[1])
                    continue
                taken.add(pointer)
            below, reason = _reason(error)
            problems.append((pointer + below, reason))
    except (referencing.exceptions.Unresolvable, jsonschema.exceptions.UnknownType, ValueError, KeyError, TypeError,
            re.error, AssertionError) as exc:
        # The library's ways of giving up on a malformed document: its own
        # sanity checks (assertions) included.
        reason = next((cause for cause in _causes(exc) if isinstance(cause, _NotFollowed)), exc)
        text = f"unknown type {exc.type!r}" if isinstance(exc, jsonschema.exceptions.UnknownType) else str(reason)
        problems.append(("", f"validation stopped: {_one_line(text) or 'the validator could not go on'}"))
    # A schema the library checks on its own is usually met again at its
    # place in the document; only a reason met nowhere else stays, at the root.
    placed = {reason for _, reason in problems}
    problems.extend(("", reason) for reason in dict.fromkeys(unplaced) if reason not in placed)
    return problems


def _swagger_file_type(error) -> bool:
    """Swagger 2.0 allows ``type: file`` for a response's schema and a form
    parameter; the library checks schemas by the JSON Schema subset, which
    does not (a known false verdict)."""
    return getattr(error, "instance", None) == "file" and list(getattr(error, "path", ()))[-1:] == ["type"]


def _places(data) -> list[tuple[str, object]]:
    """Every container of ``data`` with its pointer, in document order."""
    found: list[tuple[str, object]] = []
    stack = [("", data)]
    while stack:
        pointer, node = stack.pop()
        if isinstance(node, (dict, list)):
            found.append((pointer, node))
            items = list(node.items() if isinstance(node, dict) else enumerate(node))
            stack.extend((join_pointer(pointer, k), v) for k, v in reversed(items))
    return found


def _operation_id_place(error) -> str:
    """The library names a repeated operationId's operation in words only."""
    found = _OPERATION_ID.fullmatch(_one_line(str(getattr(error, "message", ""))))
    return join_pointer("/paths", found.group(2), found.group(1), "operationId") if found else ""


_OPERATION_ID = re.compile(r"Operation ID '.*' for '(\w+)' in '(.*)' is not unique")


def _exists(data, pointer: str) -> bool:
    node = data
    for token in split_pointer(pointer):
        if isinstance(node, dict) and token in node:
            node = node[token]
        elif isinstance(node, list) and token.isdigit() and int(token) < len(node):
            node = node[int(token)]
        else:
            return False
    return True


def _instance(error):
    """The node an error is about; some of the library's errors carry it
    only in their message (``[...] is not of type ...``)."""
    instance = getattr(error, "instance", None)
    if isinstance(instance, (dict, list)):
        return instance
    message = str(getattr(error, "message", ""))
    tail = _tail(message)
    if message[:1] in "[{" and tail > 0:
        try:
            return ast.literal_eval(message[:tail])
        except (ValueError, SyntaxError, MemoryError, RecursionError):
            return None
    return None


def _tail(message: str) -> int:
    """Where the reason starts after a dumped node: the last verb."""
    return max(message.rfind(verb) for verb in (" is not ", " does not ", " is too ", " has ", " should "))


def _place_of(instance, places: list[tuple[str, object]], taken: set[str]) -> str:
    """The pointer of ``instance`` (the library may hand back a copy, so
    by identity first, then by equality): the first such node not ``taken``
    by an earlier finding, so two findings about one shared node, or about
    equal nodes, land on both places whichever order the library met them
    in; ``""`` when not found."""
    if instance is None:
        return ""
    # An inlined definition is one object wherever the document refers to it.
    found = [pointer for pointer, node in places if node is instance] \
        or [pointer for pointer, node in places if pointer and node == instance]
    return next((pointer for pointer in found if pointer not in taken), found[0] if found else "")


def _reason(error) -> tuple[str, str]:
    """What is wrong, without the offending node dumped into the text, and
    where below the error's node. For a node that fits none of its allowed
    forms, the form it comes closest to says why (the deepest of the
    alternatives' findings)."""
    path: list = []
    while getattr(error, "validator", None) in ("oneOf", "anyOf"):
        context = [e for e in getattr(error, "context", None) or () if getattr(e, "message", None)]
        if not context:
            break
        branches: dict = {}
        for e in context:
            branches.setdefault(e.relative_schema_path[0] if e.relative_schema_path else None, []).append(e)
        # Ties go to the first alternative, then to the finding first in the
        # document: jsonschema meets a node's extra keys in set order, so the
        # order it reports them in changes from run to run.
        closest = min(branches.items(), key=lambda item: (
            any(_names_another_form(e) for e in item[1]),
            -max((len(e.relative_path) for e in item[1] if e.validator != "enum"), default=-1), len(item[1]),
            item[0] if isinstance(item[0], int) else -1))[1]
        node = error.instance
        error = min(closest, key=lambda e: (-len(e.relative_path), -_FORM_RANK.get(e.validator, 2),
                                            _document_order(node, e.relative_path)))
        path.extend(error.relative_path)
    return join_pointer("", *path), _short_message(error)


def _document_order(node, path) -> tuple[int, ...]:
    """Where ``path`` below ``node`` comes in the document: the position of
    each key or index on the way."""
    order = []
    for step in path:
        if isinstance(node, dict):
            keys = list(node)
            order.append(keys.index(step) if step in node else len(keys))
            node = node.get(step)
        elif isinstance(node, list) and isinstance(step, int) and 0 <= step < len(node):
            order.append(step)
            node = node[step]
        else:
            order.append(0)
            node = None
    return tuple(order)


def _names_another_form(error) -> bool:
    """A finding that says the node is another kind of thing altogether: a
    parameter's ``in`` not among those this alternative describes."""
    return error.validator == "enum" and list(error.relative_path) == ["in"]


#: The closest alternative is the one whose findings go deepest, and of
#: those the one with the fewest; within it, a finding that names a
#: concrete fault explains best ("not one of these 'in' values" only says
#: which alternative was not meant).
_FORM_RANK = {"oneOf": 1, "anyOf": 1, "enum": 0, "required": 0}


def _short_message(error) -> str:
    message = _one_line(str(getattr(error, "message", error)))
    tail = _tail(message)
    if message[:1] in "[{" and tail > 0:
        message = ("a list" if message[0] == "[" else "an object") + message[tail:]
    extra = _NOT_EXTENSION.fullmatch(message)
    if extra:
        message = f"{extra.group(1)} not allowed here (only x- extension keys may be added)"
    return message if len(message) <= _MESSAGE_LIMIT else message[:_MESSAGE_LIMIT] + "..."


def _one_line(text: str) -> str:
    return " ".join(text.split())


def structure(model: ApiDocument, ctx: SchemaContext) -> Iterator[Finding]:
    """openapi-spec-validator over the inlined document (so it never goes
    looking for files itself), each finding placed where its node is
    written (a shared definition's file, reported once however many API
    files reach it). The verdict is keyed by the content of the file and of
    every file it reaches through ``$ref``."""
    digest = hashlib.sha256()
    for path in ctx.run.referenced_files(ctx.path):
        document = ctx.run.corpus.document(path)
        digest.update(str(path).encode("utf-8") + b"\0" + (document.digest() if document else b""))
    key = ctx.run.cache.key(digest.digest(), "openapi-8", model.version_kind,
                            package_version("openapi-spec-validator"))

    def compute():
        return _structural_problems(ctx.run.resolver.inline(ctx.path).data, model.version_kind)

    for pointer, message in ctx.run.cache.verdict(key, compute):
        path, at = ctx.run.resolver.source_of(ctx.path, pointer)
        if ctx.run.first_report((path, at, message)):
            yield Finding(f"{message} (invalid {model.version_kind} document)", at, path=path)


def path_parameters(model: ApiDocument, ctx: SchemaContext) -> Iterator[Finding]:
    for endpoint in model.endpoints:
        used = _PLACEHOLDER.findall(endpoint.template)
        declared = {p.name: p for p in endpoint.parameters if p.location == "path"}
        for name in dict.fromkeys(used):
            if name not in declared:
                yield Finding(f"{endpoint.method} {endpoint.path}: path parameter {{{name}}} is not declared",
                              endpoint.pointer, key=True)
        for name, parameter in declared.items():
            if name not in used:
                yield Finding(f"{endpoint.method} {endpoint.path}: path parameter {name!r} "
                              "does not appear in the path", parameter.pointer)


def no_responses(model: ApiDocument, ctx: SchemaContext) -> Iterator[Finding]:
    for endpoint in model.endpoints:
        if not endpoint.responses:
            yield Finding(f"{endpoint.method} {endpoint.path} declares no responses", endpoint.pointer, key=True)


def duplicate_endpoint(corpus, ctx: RuleContext) -> Iterator[Finding]:
    first: dict[tuple[str, str], tuple[ApiDocument, str]] = {}
    for path in corpus.api_files:
        model, _ = ctx.api(path)
        if model is None:
            continue
        for endpoint in model.endpoints:
            seen = first.setdefault(endpoint.key, (model, endpoint.pointer))
            if seen[0] is model and seen[1] == endpoint.pointer:
                continue
            line, _ = corpus.document(seen[0].path).locate_key(seen[1])
            yield Finding(f"{endpoint.method} {endpoint.path} is already defined at {seen[0].display}:{line}",
                          endpoint.pointer, key=True, path=path)

"""Rules about OpenAPI/Swagger files, over the :mod:`specgen.openapi` model.

Pointers in the model are pointers into the API file, so findings here are
already absolute (the walker's prefix for API rules is the root).
"""

from __future__ import annotations

import hashlib
import re
from functools import lru_cache, partial
from typing import Iterator

from ..openapi import ApiDocument
from ..sources import iter_mappings, join_pointer
from .._cache import package_version
from .._fast_validation import compile_validator, is_clean, make_registry
from .schema_rules import crawled_validator
from . import Finding, RuleContext, SchemaContext

_PLACEHOLDER = re.compile(r"\{([^{}]+)\}")
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
    noticeable part of a warm run's start-up.
    """
    import openapi_spec_validator as osv

    library = {"swagger2": osv.OpenAPIV2SpecValidator, "openapi3.0": osv.OpenAPIV30SpecValidator,
               "openapi3.1": osv.OpenAPIV31SpecValidator}[kind]
    document_schema = library.schema_validator.schema
    attributes = {"schema_validator": _FastFirst(compile_validator(document_schema),
                                                 crawled_validator(document_schema))}
    if kind == "openapi3.1":
        attributes["keyword_validators"] = {**library.keyword_validators, "schema": _fast_schema_keyword()}
    return type(library.__name__, (library,), attributes)


class _FastFirst:
    """A document-schema validator that answers a clean document from the
    compiled verdict and asks the Python validator for everything else."""

    def __init__(self, fast, python) -> None:
        self.schema = python.schema
        self._fast, self._python = fast, python

    def iter_errors(self, instance):
        if not is_clean(self._fast, instance):
            yield from self._python.iter_errors(instance)


def _fast_schema_keyword():
    """openapi-spec-validator's check of each schema in a 3.1 document,
    with the compiled verdict asked first: the library's own checker (and
    its error) runs only when that verdict is not "valid"."""
    from openapi_spec_validator.validation.keywords import OpenAPIV31SchemaValidator

    class FastSchemaValidator(OpenAPIV31SchemaValidator):
        def _get_schema_checker(self, schema, schema_value):
            checker = super()._get_schema_checker(schema, schema_value)
            fast = _dialect_validator(self._get_schema_dialect_id(schema, schema_value),
                                      self.schema_validator_format_checker)

            def check(value):
                if not is_clean(fast, value):
                    checker(value)
            return check

    return FastSchemaValidator


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


def _structural_problems(data, kind: str) -> list[tuple[str, str]]:
    import referencing.exceptions
    from openapi_spec_validator.validation.exceptions import UnresolvableParameterError

    problems = []
    try:
        for error in _validator_class(kind)(data).iter_errors():
            if isinstance(error, UnresolvableParameterError):
                continue  # api.path-parameters says the same, with a location
            path = getattr(error, "absolute_path", ())
            pointer = join_pointer("", *path)
            message = str(getattr(error, "message", error))
            if len(message) > _MESSAGE_LIMIT:
                message = message[:_MESSAGE_LIMIT] + "..."
            problems.append((pointer, message))
    except (referencing.exceptions.Unresolvable, ValueError, KeyError, TypeError) as exc:
        problems.append(("", f"validation stopped: {str(exc).strip() or 'the validator could not go on'}"))
    return problems


def structure(model: ApiDocument, ctx: SchemaContext) -> Iterator[Finding]:
    """openapi-spec-validator over the inlined document (so it never goes
    looking for files itself). The verdict is keyed by the content of the
    file and of every file it reaches through ``$ref``."""
    digest = hashlib.sha256()
    for path in ctx.run.referenced_files(ctx.path):
        document = ctx.run.corpus.document(path)
        digest.update(str(path).encode("utf-8") + b"\0" + (document.text.encode("utf-8") if document else b""))
    key = ctx.run.cache.key(digest.digest(), "openapi", model.version_kind, package_version("openapi-spec-validator"))

    def compute():
        return _structural_problems(ctx.run.resolver.inline(ctx.path).data, model.version_kind)

    for pointer, message in ctx.run.cache.verdict(key, compute):
        yield Finding(f"invalid {model.version_kind} document: {message}", pointer)


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

"""Rules about examples: which schemas have them, and whether the example
values written inside schemas and API files match their schema.

Example *files* are validated by ``specgen validate``; here we check the
``example``/``examples``/``x-example`` values written next to a schema, in
the dialect the file is written in (JSON Schema 2020-12 or the ``$schema``
named, Draft 4 for Swagger 2.0 and OpenAPI 3.0 schema objects).
"""

from __future__ import annotations

from typing import Any, Iterator

import jsonschema.validators
import referencing.exceptions
from jsonschema import Draft4Validator, Draft202012Validator
from jsonschema.exceptions import best_match

from ..openapi import ApiDocument
from ..sources import join_pointer
from . import Finding, RuleContext, SchemaContext


def no_example(corpus, ctx: RuleContext) -> Iterator[Finding]:
    for event_type, path in corpus.schemas.items():
        if not corpus.examples.get(event_type):
            yield Finding(f"event schema {event_type} has no example in {corpus.display(corpus.example_dir)}",
                          path=path)


def no_schema(corpus, ctx: RuleContext) -> Iterator[Finding]:
    for event_type, examples in corpus.examples.items():
        if event_type in corpus.schemas:
            continue
        for example in examples:
            yield Finding(f"example {example.path.name} has no event schema {event_type}", path=example.path)


def _validator_class(dialect: str):
    if dialect in ("swagger2", "openapi3.0"):
        return Draft4Validator
    if dialect in ("", "openapi3.1"):
        return Draft202012Validator
    return jsonschema.validators.validator_for({"$schema": dialect}, default=Draft202012Validator)


def _mismatch(schema: Any, value: Any, dialect: str) -> tuple[str, str] | None:
    """``(pointer into the value, message)`` of the most relevant error, or
    ``None`` when the value matches (or the schema cannot be used because a
    ``$ref`` in it does not resolve: the ref rules report that)."""
    if not isinstance(schema, (dict, bool)):
        return None
    try:
        error = best_match(_validator_class(dialect)(schema).iter_errors(value))
    except (referencing.exceptions.Unresolvable, jsonschema.exceptions.SchemaError):
        return None
    if error is None:
        return None
    return join_pointer("", *error.absolute_path), error.message


def invalid_schema_example(node: Any, ctx: SchemaContext) -> Iterator[Finding]:
    values: list[tuple[str, Any]] = []
    if "example" in node:
        values.append(("/example", node["example"]))
    if "x-example" in node:
        values.append(("/x-example", node["x-example"]))
    if isinstance(node.get("examples"), list):
        values.extend((join_pointer("/examples", i), v) for i, v in enumerate(node["examples"]))
    if not values:
        return
    schema = ctx.run.resolver.inline(ctx.path, node).data
    for pointer, value in values:
        problem = _mismatch(schema, value, ctx.dialect)
        if problem is not None:
            yield Finding(f"example does not match its schema: {problem[1]}", pointer + problem[0])


def invalid_api_example(model: ApiDocument, ctx: SchemaContext) -> Iterator[Finding]:
    dialect = model.version_kind
    for endpoint in model.endpoints:
        checks: list[tuple[str, Any, Any, str]] = [
            (f"parameter {p.name!r}", p.schema, p.example, p.example_pointer)
            for p in endpoint.parameters if p.has_example
        ]
        if endpoint.request_body is not None:
            body = endpoint.request_body
            checks.extend(("request body", body.schema, e.value, e.pointer) for e in body.examples)
        for response in endpoint.responses:
            checks.extend((f"response {response.status}", response.schema, e.value, e.pointer)
                          for e in response.examples)
        for what, schema, value, pointer in checks:
            problem = _mismatch(schema, value, dialect)
            if problem is not None:
                yield Finding(f"{endpoint.method} {endpoint.path}: {what} example does not match "
                              f"its schema: {problem[1]}", pointer + problem[0])


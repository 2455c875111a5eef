"""Rules about JSON schemas: the files themselves and every sub-schema.

File rules receive a schema file's root; node rules receive each sub-schema
with a :class:`~specgen.lint.SchemaContext`, and report pointers relative
to it.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any, Iterator, Mapping

import jsonschema.validators
from jsonschema import Draft202012Validator

from ..diagnostics import Diagnostic
from ..refs import merge_all_of
from ..sources import join_pointer, split_pointer
from ..tables import has_own_table
from .._cache import package_version
from .._fast_validation import DIALECT, compile_validator, is_clean
from . import Finding, SchemaContext, described


def crawled_validator(schema: Mapping, keywords: Mapping[str, Any] | None = None):
    """A validator for ``schema`` whose registry (jsonschema's metaschemas
    plus ``schema`` itself) is crawled up front; ``keywords`` replace the
    dialect's own implementations of those keywords.

    A registry answers an anchor lookup (every ``$dynamicRef``) by crawling
    whatever it has not crawled yet, and a validator's registry stays as it
    was built, so an uncrawled one pays that crawl on every lookup.
    """
    from jsonschema_specifications import REGISTRY
    from ..refs import make_resource

    resource = make_resource(schema)
    cls = jsonschema.validators.validator_for(schema, default=Draft202012Validator)
    if keywords:
        cls = jsonschema.validators.extend(cls, keywords)
    return cls(schema, registry=REGISTRY.with_resource(resource.id() or "", resource).crawl())


def _metaschema(dialect: str) -> Mapping:
    """The metaschema of ``dialect`` (``""``, or one jsonschema does not
    know, is 2020-12)."""
    return jsonschema.validators.validator_for({"$schema": dialect} if dialect else {},
                                               default=Draft202012Validator).META_SCHEMA


def _metaschema_uri(dialect: str) -> str:
    meta = _metaschema(dialect)
    return meta.get("$id") or meta.get("id", "")


@lru_cache(maxsize=None)
def _metaschema_validator(dialect: str):
    """One validator per dialect, built once: constructing it is most of a
    small schema's check."""
    return crawled_validator(_metaschema(dialect))


@lru_cache(maxsize=None)
def _fast_metaschema_validator(dialect: str):
    """The compiled clean verdict for ``dialect``'s metaschema, where one
    is exact (2020-12; see :mod:`specgen._fast_validation`)."""
    if _metaschema_uri(dialect) != DIALECT:
        return None
    return compile_validator(_metaschema(dialect))


def _metaschema_problems(dialect: str, node: Any) -> list[tuple[str, str]]:
    if is_clean(_fast_metaschema_validator(dialect), node):
        return []
    return [(join_pointer("", *error.absolute_path), error.message)
            for error in _metaschema_validator(dialect).iter_errors(node)]


def metaschema(node: Any, ctx: SchemaContext) -> Iterator[Finding]:
    key = ctx.run.cache.key(ctx.document.text.encode("utf-8"), "metaschema", _metaschema_uri(ctx.dialect),
                            package_version("jsonschema"))
    for pointer, message in ctx.run.cache.verdict(key, lambda: _metaschema_problems(ctx.dialect, node)):
        yield Finding(f"not a valid schema under {_metaschema_uri(ctx.dialect)}: {message}", pointer)


def _is_state_schema(node: Mapping, ctx: SchemaContext) -> bool:
    """A state event's schema: it builds on a core state-event schema, or
    it declares ``state_key`` itself."""
    if isinstance(node.get("properties"), Mapping) and "state_key" in node["properties"]:
        return True
    for member in node.get("allOf", ()) if isinstance(node.get("allOf"), list) else ():
        if isinstance(member, Mapping) and isinstance(member.get("$ref"), str):
            target = ctx.run.resolver.resolve(ctx.path, member["$ref"])
            if not isinstance(target, Diagnostic) and _declares_state_key(target.data):
                return True
    return False


def _declares_state_key(schema: Any) -> bool:
    if not isinstance(schema, Mapping):
        return False
    properties = schema.get("properties")
    required = schema.get("required")
    return ((isinstance(properties, Mapping) and "state_key" in properties)
            or (isinstance(required, list) and "state_key" in required))


def state_key(node: Any, ctx: SchemaContext) -> Iterator[Finding]:
    """An event schema (not a shared core schema) of a state event says
    what its own ``state_key`` holds; the core's generic text does not."""
    if not isinstance(node, Mapping) or ctx.path.parent != ctx.run.corpus.schema_dir:
        return
    if not _is_state_schema(node, ctx):
        return
    properties = node.get("properties")
    if not isinstance(properties, Mapping) or not isinstance(properties.get("state_key"), Mapping):
        yield Finding(f"state event {ctx.path.stem} does not describe its state_key "
                      "(add properties.state_key with a description)",
                      "/properties" if isinstance(properties, Mapping) else "", key=True)
        return
    description = properties["state_key"].get("description")
    if not isinstance(description, str) or not description.strip():
        yield Finding(f"state event {ctx.path.stem}: state_key has no description", "/properties/state_key", key=True)


def _resolved(node: Any, ctx: SchemaContext) -> tuple[Any, Path]:
    if isinstance(node, Mapping) and "$ref" in node:
        return ctx.run.resolver.deref(ctx.path, node)
    return node, ctx.path


def property_description(node: Any, ctx: SchemaContext) -> Iterator[Finding]:
    """A property may take its description from an ``allOf`` member that
    describes it, or from a sibling member where the node is itself one;
    a constant (``enum`` of one value, ``const``) is described by its value."""
    properties = node.get("properties")
    if not isinstance(properties, Mapping):
        return
    merged: Mapping | None = None
    for name, prop in properties.items():
        value, _ = _resolved(prop, ctx)
        if not isinstance(value, Mapping) or described(value) or _constant(value):
            continue
        if described(ctx.run.inherited(ctx.path, ctx.pointer).get(name)):
            continue
        if merged is None:
            merged = _merged_members(node, ctx)
        if described(merged.get(name)):
            continue
        yield Finding(f"property {name!r} has no description", join_pointer("/properties", name), key=True)


def _constant(schema: Mapping) -> bool:
    return "const" in schema or (isinstance(schema.get("enum"), list) and len(schema["enum"]) == 1)


def _merged_members(node: Mapping, ctx: SchemaContext) -> Mapping:
    """The properties ``node``'s own ``allOf`` members define, merged."""
    if not isinstance(node.get("allOf"), list):
        return {}
    inlined = ctx.run.resolver.inline(ctx.path, {"allOf": node["allOf"]}, ctx.pointer).data
    properties = merge_all_of(inlined).get("properties") if isinstance(inlined, Mapping) else None
    return properties if isinstance(properties, Mapping) else {}


def object_title(node: Any, ctx: SchemaContext) -> Iterator[Finding]:
    """Nested objects with properties get their own table, headed by the
    title; a ``$ref`` to such an object is judged at its definition. An
    event's ``content`` table is headed by the event's own section."""
    if not ctx.nested or ctx.branch or _event_content(ctx):
        return
    if "$ref" in node:
        value, path = _resolved(node, ctx)
        if has_own_table(value) and not value.get("title"):
            target = ctx.run.resolver.resolve(ctx.path, node["$ref"])
            if not isinstance(target, Diagnostic):
                yield Finding(f"object schema {ctx.run.corpus.display(path)} is rendered as its own table "
                              "and needs a title", target.pointer, path=path)
        return
    if has_own_table(node) and not node.get("title"):
        yield Finding("nested object with properties is rendered as its own table and needs a title")


def _event_content(ctx: SchemaContext) -> bool:
    """``properties/content`` at the top of an event schema (or of one of
    its top-level ``allOf`` members)."""
    tokens = split_pointer(ctx.pointer)
    at_content = tokens == ["properties", "content"] or (
        len(tokens) == 4 and tokens[0] == "allOf" and tokens[2:] == ["properties", "content"])
    return at_content and ctx.path in ctx.run.corpus.schemas.values()


_TYPE_CHECKS = {
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
    "array": lambda v: isinstance(v, list),
    "object": lambda v: isinstance(v, dict),
}


def enum_type(node: Any, ctx: SchemaContext) -> Iterator[Finding]:
    enum, declared = node.get("enum"), node.get("type")
    if not isinstance(enum, list):
        return
    types = [declared] if isinstance(declared, str) else declared
    if not isinstance(types, list) or not all(t in _TYPE_CHECKS for t in types):
        return
    if node.get("nullable") is True:
        types = [*types, "null"]
    for i, value in enumerate(enum):
        if not any(_TYPE_CHECKS[t](value) for t in types):
            yield Finding(f"enum value {value!r} is not of the declared type {' or '.join(types)}",
                          join_pointer("/enum", i))


def required_undefined(node: Any, ctx: SchemaContext) -> Iterator[Finding]:
    """Only where the names are knowable: the object lists its properties
    (its own and those its ``allOf`` members bring) and nothing else
    (``additionalProperties``, ``patternProperties``, a ``$ref``) could
    define more."""
    required = node.get("required")
    if not isinstance(required, list) or not isinstance(node.get("properties"), Mapping):
        return
    if "allOf" in node:
        inlined = ctx.run.resolver.inline(ctx.path, node).data
        members = inlined.get("allOf") if isinstance(inlined, Mapping) else None
        if not isinstance(members, list) or any(not isinstance(m, Mapping) or "$ref" in m for m in members):
            return
        merged = merge_all_of(inlined)
    else:
        merged = node
    if any(k in merged for k in ("patternProperties", "$ref", "anyOf", "oneOf")):
        return
    if merged.get("additionalProperties", False) not in (False, None):
        return
    defined = merged.get("properties") if isinstance(merged.get("properties"), Mapping) else {}
    given = ctx.run.inherited(ctx.path, ctx.pointer)
    for i, name in enumerate(required):
        if isinstance(name, str) and name not in defined and name not in given:
            yield Finding(f"required property {name!r} is not defined in properties", join_pointer("/required", i))

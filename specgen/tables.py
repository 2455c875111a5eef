"""Table models for generated sections: a schema becomes rows of
(key, type, description), one table per object.

Everything here is pure: schemas come in with every ``$ref`` already inlined
(by :mod:`specgen.refs`), and frozen tables come out, ready for a template.
The type column is a tuple of :class:`TypePart` so that a nested object's
name can link to its own table's anchor while the punctuation around it
(``[...]``, ``{string: ...}``, ``|``) stays plain text.

Rules for the type column, one function each below:

- a scalar is its JSON Schema type name; a type list is ``A|B``;
- an array is ``[T]`` with ``T`` its ``items``;
- an object with ``properties`` is a nested table, shown by its title and
  linked to that table; ``additionalProperties: T`` is ``{string: T}``;
  ``patternProperties`` keys show as their display name (see
  :data:`PATTERN_DISPLAY_NAMES`), ``{User ID: T}``;
- ``oneOf``/``anyOf`` join their branches with ``|``;
- ``allOf`` is merged into one schema (:func:`specgen.refs.merge_all_of`)
  before anything else looks at it.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Iterator, Mapping

from .refs import merge_all_of

__all__ = [
    "TypePart",
    "Row",
    "Table",
    "Example",
    "ParameterGroup",
    "ResponseModel",
    "EndpointSection",
    "DefinitionSection",
    "PATTERN_DISPLAY_NAMES",
    "PARAMETER_LOCATIONS",
    "describe",
    "object_tables",
    "endpoint_section",
    "definition_section",
    "endpoint_anchor",
    "definition_anchor",
    "example_json",
    "slug",
    "has_own_table",
    "merged_object",
    "schema_text",
]

#: ``x-pattern-format`` values and the names readers know them by.
PATTERN_DISPLAY_NAMES: Mapping[str, str] = {
    "mx-user-id": "User ID",
    "mx-room-id": "Room ID",
    "mx-event-id": "Event ID",
    "mx-room-alias": "Room Alias",
    "mx-server-name": "Server Name",
    "mx-key-id": "Key ID",
    "mx-signing-key-id": "Key ID",
    "mx-event-type": "Event Type",
}


@dataclass(frozen=True)
class TypePart:
    text: str
    #: Anchor of the table that describes this part, if it has one.
    anchor: str = ""


@dataclass(frozen=True)
class Row:
    key: str
    type: tuple[TypePart, ...]
    description: str
    required: bool = False
    #: Allowed values, shown as "One of: ..." (empty when unrestricted).
    enum: tuple[str, ...] = ()
    deprecated: bool = False

    @property
    def type_text(self) -> str:
        return "".join(p.text for p in self.type)


@dataclass(frozen=True)
class Table:
    title: str
    anchor: str
    description: str
    rows: tuple[Row, ...]


def slug(text: str) -> str:
    """Lower-case, runs of anything but ``[a-z0-9._]`` become one ``-``."""
    return re.sub(r"[^a-z0-9._]+", "-", text.lower()).strip("-")


def has_own_table(schema: Any) -> bool:
    """An object with properties is rendered as a table of its own (lint's
    ``object.no-title`` asks the same question)."""
    return isinstance(schema, dict) and isinstance(schema.get("properties"), dict) and bool(schema["properties"])


def schema_text(schema: dict, key: str) -> str:
    """A text keyword (``description``, ``title``), ``""`` when absent or
    not a string."""
    value = schema.get(key)
    return value if isinstance(value, str) else ""


def merged_object(schema: Any) -> dict:
    """``schema`` with ``allOf`` merged; ``{}`` when that is no object, so a
    section model can always read keys from it."""
    merged = merge_all_of(schema)
    return merged if isinstance(merged, dict) else {}


def _title(schema: dict, fallback: str) -> str:
    return schema_text(schema, "title") or fallback


class _Tables:
    """Collects the tables of one schema, depth first, each object once."""

    def __init__(self, anchor_prefix: str) -> None:
        self.prefix = anchor_prefix
        self.tables: list[Table] = []
        self._anchors: dict[str, Any] = {}

    def anchor_for(self, schema: dict, title: str, path: str) -> tuple[str, bool]:
        """A stable anchor (from the title, or the key path when two
        different objects share a title) and whether it is new."""
        for candidate in (f"{self.prefix}-{slug(title)}", f"{self.prefix}-{slug(path)}"):
            seen = self._anchors.get(candidate)
            if seen is None:
                self._anchors[candidate] = schema
                return candidate, True
            if seen == schema:
                return candidate, False
        n = 2
        while f"{self.prefix}-{slug(path)}-{n}" in self._anchors:
            n += 1
        anchor = f"{self.prefix}-{slug(path)}-{n}"
        self._anchors[anchor] = schema
        return anchor, True

    def add(self, schema: dict, title: str, anchor: str, path: str) -> None:
        index = len(self.tables)
        self.tables.append(Table(title, anchor, "", ()))
        required = schema.get("required") if isinstance(schema.get("required"), list) else []
        rows = tuple(
            self.row(key, merge_all_of(prop), key in required, f"{path}.{key}" if path else key)
            for key, prop in schema["properties"].items()
        )
        self.tables[index] = Table(title, anchor, schema_text(schema, "description"), rows)

    def row(self, key: str, schema: Any, required: bool, path: str) -> Row:
        if not isinstance(schema, dict):
            return Row(key, (TypePart("any"),), "", required)
        return Row(
            key=key,
            type=self.type_of(schema, key, path),
            description=schema_text(schema, "description"),
            required=required,
            enum=_enum(schema),
            deprecated=schema.get("deprecated") is True,
        )

    def type_of(self, schema: Any, name: str, path: str) -> tuple[TypePart, ...]:
        schema = merge_all_of(schema)
        if not isinstance(schema, dict):
            return (TypePart("any"),)
        for keyword in ("oneOf", "anyOf"):
            if isinstance(schema.get(keyword), list) and schema[keyword]:
                return _joined(self.type_of(b, name, f"{path}.{keyword}{i}") for i, b in enumerate(schema[keyword]))
        declared = schema.get("type")
        if isinstance(declared, list):
            return _joined(self.type_of({**schema, "type": t}, name, path) for t in declared)
        if declared == "array" or (declared is None and "items" in schema):
            items = schema.get("items")
            inner = self.type_of(items, name, path) if isinstance(items, dict) else (TypePart("any"),)
            return (TypePart("["), *inner, TypePart("]"))
        if has_own_table(schema):
            title = _title(schema, name)
            anchor, new = self.anchor_for(schema, title, path)
            if new:
                self.add(schema, title, anchor, path)
            return (TypePart(title, anchor),)
        if isinstance(schema.get("patternProperties"), dict) and schema["patternProperties"]:
            return self._map(schema["patternProperties"].values(), name, path, pattern=True)
        if isinstance(schema.get("additionalProperties"), dict):
            return self._map([schema["additionalProperties"]], name, path, pattern=False)
        if isinstance(declared, str):
            return (TypePart(declared),)
        if "const" in schema or "enum" in schema:
            values = schema.get("enum", [schema.get("const")])
            return (TypePart(_json_type(values[0]) if values else "any"),)
        return (TypePart("any"),)

    def _map(self, values, name: str, path: str, *, pattern: bool) -> tuple[TypePart, ...]:
        parts: list[tuple[TypePart, ...]] = []
        for value in values:
            key_name = _pattern_display(value) if pattern else "string"
            inner = self.type_of(value, name, f"{path}.{{}}")
            parts.append((TypePart("{" + key_name + ": "), *inner, TypePart("}")))
        return _joined(iter(parts))


def _joined(alternatives: Iterator[tuple[TypePart, ...]]) -> tuple[TypePart, ...]:
    out: list[TypePart] = []
    seen: set[tuple[TypePart, ...]] = set()
    for alternative in alternatives:
        if alternative in seen:
            continue
        seen.add(alternative)
        if out:
            out.append(TypePart("|"))
        out.extend(alternative)
    return tuple(out)


def _pattern_display(value: Any) -> str:
    fmt = value.get("x-pattern-format") if isinstance(value, dict) else None
    if isinstance(fmt, str):
        return PATTERN_DISPLAY_NAMES.get(fmt, fmt)
    return "string"


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if value is None:
        return "null"
    return "array" if isinstance(value, list) else "object"


def _enum(schema: dict) -> tuple[str, ...]:
    if isinstance(schema.get("enum"), list):
        values = schema["enum"]
    elif "const" in schema:
        values = [schema["const"]]
    else:
        return ()
    return tuple(v if isinstance(v, str) else _scalar_text(v) for v in values)


def _scalar_text(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def describe(schema: Any, title: str, anchor: str) -> tuple[tuple[TypePart, ...], tuple[Table, ...]]:
    """The type column for ``schema`` and every table it needs, in order of
    first mention.

    An object with properties gets its own table, titled ``title`` at
    ``anchor``, followed by one table per nested object; anything else (an
    array of objects, a map, a scalar) gets a type column whose nested
    objects' tables are anchored under ``anchor``.
    """
    schema = merge_all_of(schema)
    tables = _Tables(anchor)
    if has_own_table(schema):
        tables._anchors[anchor] = schema
        tables.add(schema, title, anchor, "")
        return (TypePart(title, anchor),), tuple(tables.tables)
    return tables.type_of(schema, title, ""), tuple(tables.tables)


def object_tables(schema: Any, title: str, anchor: str) -> tuple[Table, ...]:
    """Just the tables of :func:`describe`."""
    return describe(schema, title, anchor)[1]


# -- endpoints and definitions ---------------------------------------------

#: Request parameter tables, in the order a reader meets them.
PARAMETER_LOCATIONS = ("path", "query", "header", "cookie")


@dataclass(frozen=True)
class ParameterGroup:
    location: str
    rows: tuple[Row, ...]


@dataclass(frozen=True)
class Example:
    name: str
    json: str


@dataclass(frozen=True)
class ResponseModel:
    status: str
    description: str
    type: tuple[TypePart, ...]
    tables: tuple[Table, ...]
    examples: tuple[Example, ...]


@dataclass(frozen=True)
class EndpointSection:
    anchor: str
    method: str
    path: str
    summary: str
    description: str
    deprecated: bool
    rate_limited: bool
    requires_auth: bool
    parameters: tuple[ParameterGroup, ...]
    body_description: str
    body_type: tuple[TypePart, ...]
    body_tables: tuple[Table, ...]
    example_request: str
    responses: tuple[ResponseModel, ...]

    @property
    def title(self) -> str:
        return f"{self.method} {self.path}"

    @property
    def inner_anchors(self) -> tuple[str, ...]:
        tables = (*self.body_tables, *(t for r in self.responses for t in r.tables))
        return tuple(dict.fromkeys(t.anchor for t in tables if t.anchor != self.anchor))


@dataclass(frozen=True)
class DefinitionSection:
    anchor: str
    name: str
    title: str
    description: str
    type: tuple[TypePart, ...]
    tables: tuple[Table, ...]
    examples: tuple[Example, ...]

    @property
    def inner_anchors(self) -> tuple[str, ...]:
        return tuple(t.anchor for t in self.tables if t.anchor != self.anchor)


def endpoint_anchor(method: str, path: str) -> str:
    """``PUT /_matrix/federation/v2/invite/{roomId}/{eventId}`` gives
    ``put-_matrix-federation-v2-invite-roomid-eventid``: what the endpoint
    is, so it survives reordering."""
    return slug(f"{method} {path.replace('{', '').replace('}', '')}")


def definition_anchor(name: str) -> str:
    return f"definition-{slug(name)}"


def example_json(value: Any) -> str:
    """Examples are shown as readers would write them: indented, key order
    kept, non-ASCII left as is."""
    return json.dumps(value, indent=2, ensure_ascii=False)


def _parameter_groups(parameters) -> tuple[ParameterGroup, ...]:
    groups = []
    known = [*PARAMETER_LOCATIONS, *sorted({p.location for p in parameters} - set(PARAMETER_LOCATIONS))]
    for location in known:
        rows = tuple(
            Row(key=p.name, type=describe(p.schema, p.name, "")[0], description=p.description,
                required=p.required or location == "path", enum=_enum(p.schema) if isinstance(p.schema, dict) else ())
            for p in parameters if p.location == location
        )
        if rows:
            groups.append(ParameterGroup(location, rows))
    return tuple(groups)


def _example_request(endpoint) -> str:
    path = endpoint.path
    query = []
    for p in endpoint.parameters:
        if not p.has_example:
            continue
        if p.location == "path":
            path = path.replace("{" + p.name + "}", str(p.example))
        elif p.location == "query":
            query.append(f"{p.name}={p.example}")
    line = f"{endpoint.method} {path}" + (f"?{'&'.join(query)}" if query else "")
    body = endpoint.request_body
    if body is not None and body.examples:
        return f"{line}\nContent-Type: {body.media_type or 'application/json'}\n\n{example_json(body.examples[0].value)}"
    return line


def endpoint_section(endpoint) -> EndpointSection:
    """The section model of one :class:`specgen.openapi.Endpoint`."""
    anchor = endpoint_anchor(endpoint.method, endpoint.path)
    body = endpoint.request_body
    body_type, body_tables = describe(body.schema, "Request body", f"{anchor}-request") if body and body.schema else ((), ())
    responses = []
    for response in endpoint.responses:
        r_anchor = f"{anchor}-response-{slug(response.status)}"
        r_type, r_tables = describe(response.schema, f"{response.status} response", r_anchor) if response.schema else ((), ())
        responses.append(ResponseModel(
            status=response.status, description=response.description, type=r_type, tables=r_tables,
            examples=tuple(Example(e.name, example_json(e.value)) for e in response.examples),
        ))
    return EndpointSection(
        anchor=anchor, method=endpoint.method, path=endpoint.path, summary=endpoint.summary,
        description=endpoint.description, deprecated=endpoint.deprecated,
        rate_limited=endpoint.rate_limited, requires_auth=endpoint.requires_auth,
        parameters=_parameter_groups(endpoint.parameters),
        body_description=body.description if body else "", body_type=body_type, body_tables=body_tables,
        example_request=_example_request(endpoint), responses=tuple(responses),
    )


def definition_section(name: str, schema: Any, *, anchor: str = "", title: str = "") -> DefinitionSection:
    """The section model of a shared definition (an inlined schema); the
    anchor defaults to :func:`definition_anchor` and the title to the
    schema's own."""
    merged = merged_object(schema)
    anchor = anchor or definition_anchor(name)
    title = title or _title(merged, name)
    column, tables = describe(merged, title, anchor)
    examples = ()
    if "example" in merged:
        examples = (Example("", example_json(merged["example"])),)
    elif isinstance(merged.get("examples"), list):
        examples = tuple(Example("", example_json(e)) for e in merged["examples"])
    return DefinitionSection(anchor, name, title, schema_text(merged, "description"), column, tables, examples)

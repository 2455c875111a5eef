"""Type column and table models: one case per rule of the type column."""

from __future__ import annotations

import pytest

from specgen.tables import describe, endpoint_anchor, definition_anchor, object_tables


def column(schema, name="field"):
    parts, tables = describe(schema, name, "t")
    return "".join(p.text for p in parts), tables


@pytest.mark.parametrize(
    ("schema", "expected"),
    [
        ({"type": "string"}, "string"),
        ({"type": "integer"}, "integer"),
        ({"type": ["string", "null"]}, "string|null"),
        ({"type": "array", "items": {"type": "string"}}, "[string]"),
        ({"type": "array", "items": {"type": "array", "items": {"type": "integer"}}}, "[[integer]]"),
        ({"type": "object", "additionalProperties": {"type": "integer"}}, "{string: integer}"),
        ({"type": "object", "patternProperties": {"^@": {"x-pattern-format": "mx-user-id", "type": "string"}}},
         "{User ID: string}"),
        ({"type": "object", "patternProperties": {"^x": {"type": "boolean"}}}, "{string: boolean}"),
        ({"oneOf": [{"type": "string"}, {"type": "integer"}]}, "string|integer"),
        ({"anyOf": [{"type": "string"}, {"type": "string"}]}, "string"),
        ({"enum": ["a", "b"]}, "string"),
        ({"const": 3}, "integer"),
        ({"type": "object"}, "object"),
        ({}, "any"),
        ({"type": "object", "additionalProperties": {"type": "object", "additionalProperties": {"type": "string"}}},
         "{string: {string: string}}"),
    ],
)
def test_type_column(schema, expected):
    text, tables = column(schema)
    assert text == expected
    assert tables == ()


def test_nested_objects_get_their_own_linked_tables_in_first_mention_order():
    schema = {
        "type": "object",
        "properties": {
            "invite": {"type": "object", "title": "Invite", "properties": {
                "signed": {"type": "object", "title": "Signed", "properties": {"mxid": {"type": "string"}}},
            }},
            "parts": {"type": "array", "items": {"type": "object", "title": "Part", "properties": {"n": {"type": "integer"}}}},
            "by_server": {"type": "object", "patternProperties": {
                ".*": {"x-pattern-format": "mx-server-name", "type": "object", "title": "Entry",
                       "properties": {"k": {"type": "string"}}}}},
        },
    }
    tables = object_tables(schema, "Content", "ev-content")
    assert [t.title for t in tables] == ["Content", "Invite", "Signed", "Part", "Entry"]
    assert [t.anchor for t in tables] == ["ev-content", "ev-content-invite", "ev-content-signed",
                                          "ev-content-part", "ev-content-entry"]
    rows = {r.key: r for r in tables[0].rows}
    assert [(p.text, p.anchor) for p in rows["invite"].type] == [("Invite", "ev-content-invite")]
    assert rows["parts"].type_text == "[Part]"
    assert rows["parts"].type[1].anchor == "ev-content-part"
    assert rows["by_server"].type_text == "{Server Name: Entry}"


def test_required_enum_and_deprecated_are_marked():
    schema = {"type": "object", "required": ["membership"], "properties": {
        "membership": {"type": "string", "enum": ["join", "leave"], "description": "State."},
        "old": {"type": "string", "deprecated": True},
        "flag": {"const": True},
    }}
    (table,) = object_tables(schema, "Content", "c")
    membership, old, flag = table.rows
    assert membership.required and membership.enum == ("join", "leave") and membership.description == "State."
    assert not old.required and old.deprecated
    assert flag.enum == ("true",) and flag.type_text == "boolean"


def test_all_of_is_merged_before_anything_looks_at_it():
    schema = {"allOf": [
        {"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"]},
        {"type": "object", "properties": {"b": {"type": "integer"}}, "required": ["b"]},
    ], "properties": {"c": {"allOf": [{"type": "array"}, {"items": {"type": "string"}}]}}}
    (table,) = object_tables(schema, "Merged", "m")
    assert [(r.key, r.type_text, r.required) for r in table.rows] == [
        ("a", "string", True), ("b", "integer", True), ("c", "[string]", False)]


def test_same_title_different_shape_gets_a_path_anchor_and_same_shape_is_shared():
    shared = {"type": "object", "title": "Thing", "properties": {"x": {"type": "string"}}}
    other = {"type": "object", "title": "Thing", "properties": {"y": {"type": "string"}}}
    tables = object_tables({"type": "object", "properties": {"a": shared, "b": dict(shared), "c": other}}, "T", "t")
    assert [t.anchor for t in tables] == ["t", "t-thing", "t-c"]


def test_anchors_derive_from_what_a_section_is():
    assert endpoint_anchor("PUT", "/_matrix/federation/v2/invite/{roomId}/{eventId}") == \
        "put-_matrix-federation-v2-invite-roomid-eventid"
    assert definition_anchor("invite_event") == "definition-invite_event"


def test_describing_never_mutates_the_schema():
    schema = {"type": "object", "allOf": [{"properties": {"a": {"type": "string"}}}],
              "properties": {"b": {"type": "object", "title": "B", "properties": {"c": {"type": "string"}}}}}
    before = repr(schema)
    object_tables(schema, "T", "t")
    assert repr(schema) == before

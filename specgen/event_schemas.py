"""An event schema as the model its section is rendered from.

The input is the schema with every ``$ref`` inlined (the core event schemas
it extends arrive through ``allOf``) and the event's examples, already
loaded. Whether an event is a state event is read from the schema itself:
it is one when the merged schema has a ``state_key`` property, which is
what extending the core state event schema gives it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable

from .refs import merge_all_of
from .tables import Example, Table, describe, example_json, merged_object, schema_text

__all__ = ["EventSection", "event_section"]


@dataclass(frozen=True)
class EventSection:
    event_type: str
    anchor: str
    #: ``"state"`` or ``"message"``.
    kind: str
    state_key: str
    description: str
    tables: tuple[Table, ...]
    #: Named by variant (``""`` for the plain example).
    examples: tuple[Example, ...]
    deprecated: bool = False

    @property
    def title(self) -> str:
        return self.event_type

    @property
    def inner_anchors(self) -> tuple[str, ...]:
        return tuple(t.anchor for t in self.tables)


def event_section(event_type: str, schema: Any, examples: Iterable[tuple[str, Any]]) -> EventSection:
    """Build the section model of one event.

    Args:
        event_type: the event type (the schema's file name), also its anchor.
        schema: the inlined schema.
        examples: ``(variant, value)`` pairs, in the order to show them.
    """
    merged = merged_object(schema)
    properties = merged.get("properties") if isinstance(merged.get("properties"), dict) else {}
    state_key = merge_all_of(properties.get("state_key"))
    content = properties.get("content", {})
    _, tables = describe(content, "Content", f"{event_type}-content")
    return EventSection(
        event_type=event_type,
        anchor=event_type,
        kind="state" if isinstance(state_key, dict) else "message",
        state_key=schema_text(state_key, "description") if isinstance(state_key, dict) else "",
        description=schema_text(merged, "description"),
        tables=tables,
        examples=tuple(Example(variant, example_json(value)) for variant, value in examples),
        deprecated=merged.get("deprecated") is True,
    )

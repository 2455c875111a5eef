"""Rules about names the specification publishes."""

from __future__ import annotations

import re
from typing import Iterator

from ..corpus import example_type
from . import Finding, RuleContext

#: Lower-case dotted segments, two or more: ``m.room.member``,
#: ``com.example.foo_bar``. Segments may hold digits, ``_`` and ``-``.
EVENT_TYPE = re.compile(r"[a-z][a-z0-9_-]*(?:\.[a-z0-9][a-z0-9_-]*)+")


def event_type(corpus, ctx: RuleContext) -> Iterator[Finding]:
    """Schema names (the event type, before any variant separator), and
    the names of examples that have no schema (an example of a schema is
    named after it, so is reported with it)."""
    for name, path in corpus.schemas.items():
        if not EVENT_TYPE.fullmatch(example_type(name)):
            yield Finding(f"event type {name!r} is not namespaced (expected lower-case dotted "
                          "segments such as m.room.member or com.example.thing)", path=path)
    for name, examples in corpus.examples.items():
        if EVENT_TYPE.fullmatch(name):
            continue
        for example in examples:
            if corpus.schema_for(example) is None:
                yield Finding(f"example event type {name!r} is not namespaced (expected lower-case "
                              "dotted segments such as m.room.member)", path=example.path)

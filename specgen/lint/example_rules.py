"""Rules about examples: which schemas have them, and whether the example
values written inside schemas match their schema.

Example files and API examples are validated by ``specgen validate``
(:mod:`specgen.examples`); lint adds the ``example``/``examples``/
``x-example`` values written inside a schema, which that module leaves to
lint, and validates them with the same machinery.
"""

from __future__ import annotations

from typing import Any, Iterator

from ..diagnostics import Diagnostic
from ..examples import Site, api_dialect, schema_dialect
from ..sources import join_pointer
from . import Finding, RuleContext, SchemaContext


def no_example(corpus, ctx: RuleContext) -> Iterator[Finding]:
    """A variant schema (``m.room.message$m.text``) is exemplified by the
    example of its own name, a plain one by any example of its type."""
    exemplified = {corpus.schema_for(example) for example in corpus.all_example_files()}
    for name, path in corpus.schemas.items():
        if path not in exemplified and not corpus.examples.get(name):
            yield Finding(f"event schema {name} has no example in {corpus.display(corpus.example_dir)}",
                          path=path)


def no_schema(corpus, ctx: RuleContext) -> Iterator[Finding]:
    for example in corpus.all_example_files():
        if corpus.schema_for(example) is None:
            yield Finding(f"example {example.path.name} has no event schema {example.event_type}",
                          path=example.path)


#: What the example validator says about the example itself; reference
#: problems it also passes on are the ref rules' to report.
_EXAMPLE_CODES = frozenset({"example.invalid", "example.unchecked"})


def _validator_class(ctx: SchemaContext):
    if ctx.dialect in ("swagger2", "openapi3.0", "openapi3.1"):
        return api_dialect(ctx.document.data)
    return schema_dialect(ctx.document.data)


def invalid_schema_example(node: Any, ctx: SchemaContext) -> Iterator[Diagnostic]:
    """Example values written beside a schema, validated by
    :mod:`specgen.examples` exactly as ``specgen validate`` validates
    example files (same messages, same mapping back through ``$ref``)."""
    values = [Site(ctx.path, join_pointer(ctx.pointer, key), node[key]) for key in ("example", "x-example")
              if key in node]
    if isinstance(node.get("examples"), list):
        values.extend(Site(ctx.path, join_pointer(ctx.pointer, "examples", i), value)
                      for i, value in enumerate(node["examples"]))
    if not values:
        return
    checker = ctx.run.examples()
    schema = Site(ctx.path, ctx.pointer, node)
    cls = _validator_class(ctx)
    for example in values:
        for diagnostic in checker.check(schema, example, cls):
            if diagnostic.code in _EXAMPLE_CODES:
                yield diagnostic

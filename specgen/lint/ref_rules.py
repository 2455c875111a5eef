"""Rules about files and the references between them.

Parsing and resolution belong to :mod:`specgen.sources` and
:class:`specgen.refs.Resolver`; these rules only ask them and pass their
diagnostics on, so that ``specgen rules`` lists the codes and a corpus can
change their severity like any other rule's.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

from ..diagnostics import Diagnostic
from . import Finding, RuleContext


def syntax(corpus, ctx: RuleContext) -> Iterator[Diagnostic]:
    for path in corpus.data_files():
        loaded = corpus.load(path)
        if isinstance(loaded, Diagnostic):
            yield loaded


def _reference_failures(ctx: RuleContext, code: str) -> Iterator[Diagnostic]:
    for references in ctx.references().values():
        for _, _, target in references:
            if isinstance(target, Diagnostic) and target.code == code:
                yield target


def unresolved(corpus, ctx: RuleContext) -> Iterator[Diagnostic]:
    yield from _reference_failures(ctx, "ref.unresolved")


def remote(corpus, ctx: RuleContext) -> Iterator[Diagnostic]:
    yield from _reference_failures(ctx, "ref.remote")


def cycle(corpus, ctx: RuleContext) -> Iterator[Diagnostic]:
    """Inlining every file is what would loop forever on a cycle, so the
    resolver's inliner is the judge. A cycle is met from every file that
    reaches it, and reported once."""
    found: dict[Diagnostic, None] = {}
    for path in corpus.data_files():
        if corpus.document(path) is not None:
            found.update((d, None) for d in ctx.resolver.inline(path).diagnostics if d.code == "ref.cycle")
    yield from found


def unused_definition(corpus, ctx: RuleContext) -> Iterator[Finding]:
    used: set[Path] = set()
    for path, references in ctx.references().items():
        for _, _, target in references:
            if not isinstance(target, Diagnostic) and target.path != path:
                used.add(target.path)
    kinds = (
        (corpus.schema_definitions, "schema definition"),
        (corpus.api_definitions, "API definition"),
        (corpus.example_partials, "example partial"),
    )
    for paths, what in kinds:
        for path in paths:
            if path.resolve() not in used:
                yield Finding(f"{what} {corpus.display(path)} is not referred to by any $ref", path=path)

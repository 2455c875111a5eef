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


def outside_corpus(corpus, ctx: RuleContext) -> Iterator[Diagnostic]:
    yield from _reference_failures(ctx, "ref.outside-corpus")


def cycle(corpus, ctx: RuleContext) -> Iterator[Diagnostic]:
    """Inlining is what would loop forever on a cycle, so the resolver's
    inliner is the judge. It is only asked about files that lie on a cycle
    of the file-level reference graph (a file referring into itself
    included): no other file can reach a node cycle. A cycle is met from
    every file on it, and reported once."""
    found: dict[Diagnostic, None] = {}
    for path in _files_on_cycles(ctx):
        found.update((d, None) for d in ctx.resolver.inline(path).diagnostics if d.code == "ref.cycle")
    yield from found


def _files_on_cycles(ctx: RuleContext) -> list[Path]:
    """Files in a strongly connected component with an edge inside it
    (Tarjan's algorithm, iterative so deep chains cannot overflow)."""
    graph = {path: sorted({t.path for _, _, t in rows if not isinstance(t, Diagnostic)})
             for path, rows in ctx.references().items()}
    index: dict[Path, int] = {}
    low: dict[Path, int] = {}
    on_stack: set[Path] = set()
    stack: list[Path] = []
    result: list[Path] = []
    for start in graph:
        if start in index:
            continue
        work = [(start, 0)]
        while work:
            node, i = work.pop()
            if i == 0:
                index[node] = low[node] = len(index)
                stack.append(node)
                on_stack.add(node)
            edges = graph.get(node, [])
            if i < len(edges):
                work.append((node, i + 1))
                nxt = edges[i]
                if nxt not in index:
                    work.append((nxt, 0))
                elif nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
                continue
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1 or node in graph.get(node, ()):
                    result.extend(component)
    return sorted(result)


def unused_definition(corpus, ctx: RuleContext) -> Iterator[Finding]:
    """Used means named by a ``$ref`` from another file, or placed by the prose."""
    used: set[Path] = {corpus.sources.canonical(p) for p in corpus.definitions_in_prose()}
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
            if corpus.sources.canonical(path) not in used:
                yield Finding(f"{what} {corpus.display(path)} is not referred to by any $ref", path=path)

"""Rules about the links a corpus publishes."""

from __future__ import annotations

from typing import Any, Iterator

from ..script_uris import script_links
from ..sources import join_pointer
from . import Finding, RuleContext


def script_link(corpus, ctx: RuleContext) -> Iterator[Finding]:
    """Every text of every data file: a description is rendered as prose,
    and a link in it that runs script is written as its text alone."""
    for path in corpus.data_files():
        document = corpus.document(path)
        if document is None:
            continue
        for tokens, target in _script_links(document.data, []):
            yield Finding(f"link to {target[:60]!r} is not published: a browser would run it as script",
                          pointer=join_pointer("", *tokens), path=path)


def _script_links(node: Any, tokens: list) -> Iterator[tuple[tuple, str]]:
    """``(pointer tokens, target)`` of each link that runs script; the
    pointer is made only for those (most texts hold none)."""
    if isinstance(node, str):
        for target in script_links(node):
            yield tuple(tokens), target
        return
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for key, value in items:
        if isinstance(value, (str, dict, list)):
            tokens.append(key)
            yield from _script_links(value, tokens)
            tokens.pop()

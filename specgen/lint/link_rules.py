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
        for pointer, text in _texts(document.data, ""):
            for target in script_links(text):
                yield Finding(f"link to {target[:60]!r} is not published: a browser would run it as script",
                              pointer=pointer, path=path)


def _texts(node: Any, pointer: str) -> Iterator[tuple[str, str]]:
    stack = [(node, pointer)]
    while stack:
        node, pointer = stack.pop()
        if isinstance(node, str):
            yield pointer, node
        elif isinstance(node, dict):
            stack.extend((value, join_pointer(pointer, key)) for key, value in node.items())
        elif isinstance(node, list):
            stack.extend((value, join_pointer(pointer, i)) for i, value in enumerate(node))

"""Compiler-style text: the location, the source line and a caret.

::

    path:line:col: error[CODE] message
       4 |     origin_server_ts: "soon"
         |                       ^
      note: path:line:col: schema keyword 'type' is here

A diagnostic without a line shows no snippet. :func:`summary` is the
count line the CLI prints on stderr after a non-empty report.

Source lines and messages come from untrusted files, so control characters
(terminal escapes, carriage returns, bidirectional overrides) are shown
escaped (``\x1b``), never sent to the reader's terminal; tabs stay tabs.
"""

from __future__ import annotations

import re
from typing import Sequence

from ..diagnostics import Diagnostic, Severity

__all__ = ["render", "summary"]


def render(diagnostics: Sequence[Diagnostic], context) -> str:
    return "".join(_one(d, context) + "\n" for d in diagnostics)


#: C0 and C1 controls but tab and newline, DEL, and the bidirectional
#: embeddings, overrides and isolates (a line that reads differently than it is).
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def _escaped(text: str) -> str:
    return _UNSAFE.sub(lambda m: f"\\x{ord(m.group()):02x}" if ord(m.group()) < 0x100
                       else f"\\u{ord(m.group()):04x}", text)


def _one(diagnostic: Diagnostic, context) -> str:
    first, *rest = _escaped(diagnostic.message.replace("\r\n", "\n")).split("\n")
    lines = [f"{_escaped(diagnostic.location)}: {diagnostic.severity}[{diagnostic.code}] {first}"]
    lines.extend(f"    {more}" for more in rest)
    source = context.source_line(diagnostic.path, diagnostic.line) if diagnostic.line else ""
    if source:
        number = str(diagnostic.line)
        gutter = " " * len(number)
        shown, before = _window(source, max(diagnostic.column, 1) - 1)
        # Keep tabs so the caret lines up in the reader's terminal; an
        # escaped character is as wide as its escape.
        pad = "".join(c if c == "\t" else " " * len(_escaped(c)) for c in before)
        lines.append(f"  {number} | {_escaped(shown)}")
        lines.append(f"  {gutter} | {pad}^")
    for note in diagnostic.related:
        lines.append(f"  note: {_escaped(note.location)}: {_escaped(note.message)}")
    return "\n".join(lines)


#: The most of a source line a snippet shows: a minified JSON file is one
#: line, and a report quoting it whole for every finding would be huge.
SNIPPET_WIDTH = 160


def _window(source: str, offset: int) -> tuple[str, str]:
    """The part of ``source`` shown around ``offset`` (``…`` where cut),
    and what of it comes before the caret."""
    offset = min(offset, len(source))
    if len(source) <= SNIPPET_WIDTH:
        return source, source[:offset]
    start = max(0, min(offset - SNIPPET_WIDTH // 2, len(source) - SNIPPET_WIDTH))
    end = start + SNIPPET_WIDTH
    cut = "…" if start else ""
    return cut + source[start:end] + ("…" if end < len(source) else ""), cut + source[start:offset]


def summary(diagnostics: Sequence[Diagnostic]) -> str:
    """``"2 errors, 1 warning"`` (infos appended only when present)."""
    counts = {s: sum(1 for d in diagnostics if d.severity == s) for s in Severity}
    parts = [_plural(counts[Severity.ERROR], "error"), _plural(counts[Severity.WARNING], "warning")]
    if counts[Severity.INFO]:
        parts.append(f"{counts[Severity.INFO]} info")
    return ", ".join(parts)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"

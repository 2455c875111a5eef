"""Compiler-style text: the location, the source line and a caret.

::

    path:line:col: error[CODE] message
       4 |     origin_server_ts: "soon"
         |                       ^
      note: path:line:col: schema keyword 'type' is here

A diagnostic without a line shows no snippet. :func:`summary` is the
count line the CLI prints on stderr after a non-empty report.
"""

from __future__ import annotations

from typing import Sequence

from ..diagnostics import Diagnostic, Severity

__all__ = ["render", "summary"]


def render(diagnostics: Sequence[Diagnostic], context) -> str:
    return "".join(_one(d, context) + "\n" for d in diagnostics)


def _one(diagnostic: Diagnostic, context) -> str:
    first, *rest = diagnostic.message.splitlines() or [""]
    lines = [f"{diagnostic.location}: {diagnostic.severity}[{diagnostic.code}] {first}"]
    lines.extend(f"    {more}" for more in rest)
    source = context.source_line(diagnostic.path, diagnostic.line) if diagnostic.line else ""
    if source:
        number = str(diagnostic.line)
        gutter = " " * len(number)
        column = max(diagnostic.column, 1)
        # Keep tabs so the caret lines up in the reader's terminal.
        pad = "".join(c if c == "\t" else " " for c in source[: column - 1])
        lines.append(f"  {number} | {source}")
        lines.append(f"  {gutter} | {pad}^")
    for note in diagnostic.related:
        lines.append(f"  note: {note.location}: {note.message}")
    return "\n".join(lines)


def summary(diagnostics: Sequence[Diagnostic]) -> str:
    """``"2 errors, 1 warning"`` (infos appended only when present)."""
    counts = {s: sum(1 for d in diagnostics if d.severity == s) for s in Severity}
    parts = [_plural(counts[Severity.ERROR], "error"), _plural(counts[Severity.WARNING], "warning")]
    if counts[Severity.INFO]:
        parts.append(f"{counts[Severity.INFO]} info")
    return ", ".join(parts)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"

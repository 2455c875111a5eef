"""One diagnostic list, four renderers (one module per format).

Each renderer is a pure function ``render(diagnostics, context) -> str``;
the CLI decides where the text goes and what the exit code is. A clean run
renders as the empty string in ``text`` and ``github`` (nothing to print),
as ``[]`` in ``json`` and as a log with no results in ``sarif`` (machine
formats stay parseable).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Mapping, Sequence

from ..diagnostics import Diagnostic, Severity

__all__ = ["RENDERERS", "RenderContext", "Renderer"]


def _no_source(path: str, line: int) -> str:
    return ""


@dataclass(frozen=True)
class RenderContext:
    """What renderers may ask beyond the diagnostics themselves.

    ``source_line(path, line)`` gives a line of a file (``""`` when
    unknown); ``rules`` maps a code to its default severity and one-line
    description (SARIF's rule table).
    """

    source_line: Callable[[str, int], str] = _no_source
    rules: Mapping[str, tuple[Severity, str]] = field(default_factory=dict)
    tool_version: str = "0.1.0"


Renderer = Callable[[Sequence[Diagnostic], RenderContext], str]

from . import github, json, sarif, text  # noqa: E402

RENDERERS: dict[str, Renderer] = {
    "text": text.render,
    "json": json.render,
    "github": github.render,
    "sarif": sarif.render,
}

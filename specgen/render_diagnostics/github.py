"""GitHub Actions workflow commands, one per diagnostic::

    ::error file=path,line=3,col=7,title=CODE::message

GitHub reads ``%``, CR and LF as escapes in the message, and additionally
``:`` and ``,`` in property values, so those are percent-encoded; related
notes follow the message on their own (encoded) lines.
"""

from __future__ import annotations

from typing import Sequence

from ..diagnostics import Diagnostic, Severity

__all__ = ["render", "escape_data", "escape_property"]

_COMMAND = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "notice"}


def escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def render(diagnostics: Sequence[Diagnostic], context) -> str:
    return "".join(_one(d) + "\n" for d in diagnostics)


def _one(diagnostic: Diagnostic) -> str:
    props = [f"file={escape_property(diagnostic.path)}"]
    if diagnostic.line:
        props.append(f"line={diagnostic.line}")
        props.append(f"col={diagnostic.column or 1}")
    props.append(f"title={escape_property(diagnostic.code)}")
    message = "\n".join([diagnostic.message, *(f"note: {r.location}: {r.message}" for r in diagnostic.related)])
    return f"::{_COMMAND[diagnostic.severity]} {','.join(props)}::{escape_data(message)}"

"""A stable JSON array: one object per diagnostic, keys sorted, in the
collector's order (path, line, column, code)."""

from __future__ import annotations

import json as _json
from typing import Any, Sequence

from ..diagnostics import Diagnostic

__all__ = ["render", "as_dict"]


def as_dict(diagnostic: Diagnostic) -> dict[str, Any]:
    return {
        "path": diagnostic.path,
        "line": diagnostic.line,
        "column": diagnostic.column,
        "code": diagnostic.code,
        "severity": str(diagnostic.severity),
        "message": diagnostic.message,
        "pointer": diagnostic.pointer,
        "related": [as_dict(r) for r in diagnostic.related],
    }


def render(diagnostics: Sequence[Diagnostic], context) -> str:
    return _json.dumps([as_dict(d) for d in diagnostics], indent=2, sort_keys=True, ensure_ascii=False) + "\n"

"""SARIF 2.1.0, the format code-scanning tools ingest.

The driver's ``rules`` lists every rule the context knows (the lint
registry plus specgen's own codes) and any other code that occurs, so each
result's ``ruleIndex`` is valid. Paths stay relative to the corpus root
under the ``%SRCROOT%`` base.
"""

from __future__ import annotations

import json as _json
from typing import Any, Sequence

from ..diagnostics import Diagnostic, Severity

__all__ = ["render", "SCHEMA_URI"]

SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"
_LEVEL = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "note"}


def render(diagnostics: Sequence[Diagnostic], context) -> str:
    rules = dict(context.rules)
    for d in diagnostics:
        rules.setdefault(d.code, (d.severity, ""))
    ids = sorted(rules)
    index = {rule_id: i for i, rule_id in enumerate(ids)}
    log = {
        "$schema": SCHEMA_URI,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "specgen",
                "version": context.tool_version,
                "rules": [_rule(rule_id, *rules[rule_id]) for rule_id in ids],
            }},
            "columnKind": "unicodeCodePoints",
            "results": [_result(d, index[d.code]) for d in diagnostics],
        }],
    }
    return _json.dumps(log, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def _rule(rule_id: str, severity: Severity, description: str) -> dict[str, Any]:
    rule: dict[str, Any] = {"id": rule_id, "defaultConfiguration": {"level": _LEVEL[severity]}}
    if description:
        rule["shortDescription"] = {"text": description}
    return rule


def _location(diagnostic: Diagnostic) -> dict[str, Any]:
    physical: dict[str, Any] = {"artifactLocation": {"uri": diagnostic.path, "uriBaseId": "%SRCROOT%"}}
    if diagnostic.line:
        physical["region"] = {"startLine": diagnostic.line, "startColumn": diagnostic.column or 1}
    location: dict[str, Any] = {"physicalLocation": physical}
    if diagnostic.pointer:
        location["logicalLocations"] = [{"fullyQualifiedName": diagnostic.pointer, "kind": "member"}]
    return location


def _result(diagnostic: Diagnostic, rule_index: int) -> dict[str, Any]:
    result: dict[str, Any] = {
        "ruleId": diagnostic.code,
        "ruleIndex": rule_index,
        "level": _LEVEL[diagnostic.severity],
        "message": {"text": diagnostic.message},
        "locations": [_location(diagnostic)],
    }
    if diagnostic.related:
        result["relatedLocations"] = [
            {**_location(r), "id": i, "message": {"text": r.message}} for i, r in enumerate(diagnostic.related)
        ]
    return result

"""All four renderers on one fixture list, compared with snapshots.

Refresh the snapshots after an intended change with
``SPECGEN_UPDATE_SNAPSHOTS=1 .venv/bin/python -m pytest tests/specgen/test_render_diagnostics.py``
and review the diff.
"""

import json
import os
from pathlib import Path

import pytest

from specgen.diagnostics import Diagnostic, Severity
from specgen.render_diagnostics import RENDERERS, RenderContext
from specgen.render_diagnostics.github import escape_data, escape_property
from specgen.render_diagnostics.text import SNIPPET_WIDTH, summary

SNAPSHOTS = Path(__file__).parent / "snapshots"
SUFFIX = {"text": "txt", "json": "json", "github": "txt", "sarif": "sarif"}

SOURCE = {
    "event-schemas/examples/m.room.member": ['{', '  "content": {', '\t"membership": 5', '  }', '}'],
    "event-schemas/schema/m.room.member.yaml": ["properties:", "  membership:", "    type: string"],
}

FIXTURE = [
    Diagnostic(
        path="event-schemas/examples/m.room.member", line=3, column=16, code="example.invalid",
        severity=Severity.ERROR, message="/content/membership: 5 is not of type 'string' (keyword 'type' expects \"string\")",
        pointer="/content/membership",
        related=(Diagnostic(path="event-schemas/schema/m.room.member.yaml", line=3, column=5, code="example.schema",
                            severity=Severity.INFO, message="schema keyword 'type' is here",
                            pointer="/properties/membership/type"),),
    ),
    Diagnostic(path="api/server-server/invites-v2.yaml", line=0, column=0, code="syntax", severity=Severity.ERROR,
               message="cannot read file: Permission denied"),
    Diagnostic(path="event-schemas/schema/m.room.member.yaml", line=2, column=3, code="property.no-description",
               severity=Severity.WARNING, message="property 'membership' has no description, 100% sure:\nsee rules",
               pointer="/properties/membership"),
    Diagnostic(path="dir,with:odd%chars.yaml", line=1, column=1, code="schema.no-example", severity=Severity.INFO,
               message="no example\r\nyet"),
]

CONTEXT = RenderContext(
    source_line=lambda path, line: SOURCE.get(path, [""] * line)[line - 1] if line <= len(SOURCE.get(path, [])) else "",
    rules={"example.invalid": (Severity.ERROR, "an example does not match its schema"),
           "syntax": (Severity.ERROR, "a file does not parse as YAML or JSON")},
)


@pytest.mark.parametrize("name", sorted(RENDERERS))
def test_snapshot(name):
    rendered = RENDERERS[name](FIXTURE, CONTEXT)
    snapshot = SNAPSHOTS / f"{name}.{SUFFIX[name]}"
    if os.environ.get("SPECGEN_UPDATE_SNAPSHOTS"):
        snapshot.write_text(rendered, encoding="utf-8", newline="")
    with snapshot.open(encoding="utf-8", newline="") as stored:
        assert rendered == stored.read()


def test_clean_runs():
    assert RENDERERS["text"]([], CONTEXT) == ""
    assert RENDERERS["github"]([], CONTEXT) == ""
    assert json.loads(RENDERERS["json"]([], CONTEXT)) == []
    assert json.loads(RENDERERS["sarif"]([], CONTEXT))["runs"][0]["results"] == []


def test_json_round_trips_every_field():
    data = json.loads(RENDERERS["json"](FIXTURE, CONTEXT))
    assert [d["code"] for d in data] == [d.code for d in FIXTURE]
    assert data[0]["related"][0]["line"] == 3
    assert data[0]["severity"] == "error"


def test_sarif_rule_indexes_point_at_their_rules():
    run = json.loads(RENDERERS["sarif"](FIXTURE, CONTEXT))["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    for result in run["results"]:
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"]
    region = run["results"][0]["locations"][0]["physicalLocation"]["region"]
    assert region == {"startLine": 3, "startColumn": 16}


def test_github_escaping():
    assert escape_data("50%\r\nnext") == "50%25%0D%0Anext"
    assert escape_property("a:b,c%") == "a%3Ab%2Cc%25"


def test_summary_counts():
    assert summary(FIXTURE) == "2 errors, 1 warning, 1 info"
    assert summary(FIXTURE[:1]) == "1 error, 0 warnings"


def test_text_escapes_control_characters_from_untrusted_sources():
    """A source line (or a message quoting one) may hold terminal escapes,
    a carriage return or a bidirectional override: the reader sees them
    escaped, and the caret still points at the column."""
    line = 'a: "\x1b]0;owned\x07\x1b[2J\u202e" \r x'
    context = RenderContext(source_line=lambda path, number: line)
    column = line.index("x") + 1
    found = Diagnostic("f.yaml", 1, column, "syntax", Severity.ERROR, "key '\x1b[31m' here\x9b")
    text = RENDERERS["text"]([found], context)
    assert not any(c in text for c in "\x1b\x07\r\u202e\x9b")
    assert "\\x1b]0;owned\\x07\\x1b[2J\\u202e" in text and "\\x9b" in text
    source, caret = text.splitlines()[1:3]
    assert source.index("x", source.index("\\x0d") + 4) == caret.index("^")


@pytest.mark.parametrize("column", [1, 80, 5000, 9999, 10001])
def test_text_shows_a_window_of_a_long_line_with_the_caret_in_it(column):
    """A minified file is one line: the snippet shows a window of it around
    the column, so a report is not the whole file again per finding."""
    line = "".join(chr(ord("a") + i % 26) for i in range(10000))
    context = RenderContext(source_line=lambda path, number: line)
    text = RENDERERS["text"]([Diagnostic("f.json", 1, column, "syntax", Severity.ERROR, "here")], context)
    source, caret = (row.split(" | ", 1)[1] for row in text.splitlines()[1:3])
    assert len(source) <= SNIPPET_WIDTH + 2
    at = caret.index("^")
    if column <= len(line):
        assert source[at] == line[column - 1]
    else:
        assert at == len(source) - (1 if source.endswith("…") else 0)

"""The real ``specgen`` command, run as a subprocess on the test corpora."""

import json
import re
import shutil
import subprocess
import sys

import pytest

from conftest import CORPORA, REPO, run_cli, write_tree
from specgen.cli import COMMANDS, chosen_command

FAULTS = str(CORPORA / "faults")
SCHEMA = "event-schemas/schema/"
EXAMPLES = "event-schemas/examples/"

#: (command, code, file, line): each injected fault, reported exactly once.
FAULT_TABLE = [
    ("validate", "example.invalid", EXAMPLES + "m.example.note", 5),
    ("lint", "ref.unresolved", SCHEMA + "m.example.broken.yaml", 8),
    ("validate", "ref.unresolved", SCHEMA + "m.example.broken.yaml", 8),
    ("lint", "syntax", SCHEMA + "m.example.syntax.yaml", 3),
    ("validate", "syntax", SCHEMA + "m.example.syntax.yaml", 3),
    ("lint", "schema.no-example", SCHEMA + "m.example.lonely.yaml", 1),
    ("lint", "ref.cycle", SCHEMA + "core/loop_b.yaml", 1),
    ("validate", "example.unchecked", SCHEMA + "m.example.loop.yaml", 1),
    ("lint", "syntax", EXAMPLES + "m.example.note#garbled", 3),
    ("validate", "syntax", EXAMPLES + "m.example.note#garbled", 3),
]


@pytest.fixture(scope="module")
def fault_reports():
    reports = {}
    for command in ("lint", "validate"):
        done = run_cli("--root", FAULTS, "--format", "json", command)
        assert done.returncode == 1, done.stderr
        assert "Traceback" not in done.stdout + done.stderr
        reports[command] = json.loads(done.stdout)
    return reports


@pytest.mark.parametrize("command, code, path, line", FAULT_TABLE)
def test_each_fault_is_reported_once_with_its_position(fault_reports, command, code, path, line):
    hits = [d for d in fault_reports[command] if (d["code"], d["path"]) == (code, path)]
    assert [(d["line"], d["column"] > 0) for d in hits] == [(line, True)]


def test_faults_in_text_format_show_source_and_summary():
    done = run_cli("--root", FAULTS, "validate")
    assert done.returncode == 1
    assert f"{EXAMPLES}m.example.note:5:13: error[example.invalid]" in done.stdout
    assert '    "body": 42,' in done.stdout
    assert "note: event-schemas/schema/m.example.note.yaml:17:9" in done.stdout
    assert done.stderr.strip().endswith("5 errors, 0 warnings")
    assert "Traceback" not in done.stdout + done.stderr


@pytest.mark.parametrize("corpus", ["clean", "third_party"])
@pytest.mark.parametrize("command", ["lint", "validate"])
def test_clean_corpora_print_nothing(corpus, command):
    done = run_cli("--root", str(CORPORA / corpus), command)
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")


def test_ignore_and_fail_on():
    errors_only = ["--ignore", "syntax", "--ignore", "ref.unresolved", "--ignore", "ref.cycle"]
    lint = run_cli("--root", FAULTS, "lint", *errors_only)
    assert lint.returncode == 0 and "warning[schema.no-example]" in lint.stdout
    assert "error[" not in lint.stdout
    strict = run_cli("--root", FAULTS, "--fail-on", "warning", "lint", *errors_only)
    assert strict.returncode == 1


def test_config_severity_and_ignore_apply(tmp_path):
    shutil.copytree(FAULTS, tmp_path / "c")
    (tmp_path / "c" / "specgen.toml").write_text('ignore = ["syntax"]\n[severity]\n"example.invalid" = "warning"\n')
    done = run_cli("--root", str(tmp_path / "c"), "--format", "json", "validate",
                   str(tmp_path / "c" / EXAMPLES / "m.example.note"))
    found = json.loads(done.stdout)
    assert [(d["code"], d["severity"]) for d in found] == [("example.invalid", "warning")]
    assert done.returncode == 0


def test_path_arguments_are_relative_to_the_working_folder(tmp_path):
    done = run_cli("--root", FAULTS, "--format", "json", "validate", f"{FAULTS}/{EXAMPLES}m.example.note")
    assert {d["code"] for d in json.loads(done.stdout)} == {"example.invalid"}


@pytest.mark.parametrize("args", [
    ["--root", "/nonexistent/corpus", "lint"],
    ["--format", "xml", "lint"],
    ["--fail-on", "fatal", "lint"],
    ["frobnicate"],
    ["--root", FAULTS, "validate", "no/such/file.json"],
])
def test_usage_errors_exit_2(args):
    done = run_cli(*args)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr


def test_bad_config_exits_2(tmp_path):
    write_tree(tmp_path, {"specgen.toml": "schemas = [\n"})
    done = run_cli("--root", str(tmp_path), "lint")
    assert done.returncode == 2 and "bad configuration" in done.stderr


def test_sarif_output_is_a_sarif_log():
    done = run_cli("--root", FAULTS, "--format", "sarif", "validate")
    log = json.loads(done.stdout)
    assert log["version"] == "2.1.0"
    ids = {r["id"] for r in log["runs"][0]["tool"]["driver"]["rules"]}
    assert {"syntax", "example.invalid"} <= ids
    assert all(r["locations"][0]["physicalLocation"]["region"]["startLine"] > 0 for r in log["runs"][0]["results"])


def test_rules_lists_ids_severities_and_descriptions():
    done = run_cli("rules")
    assert done.returncode == 0
    rows = {line.split()[0]: line.split()[1] for line in done.stdout.splitlines()}
    assert rows["syntax"] == "error"
    assert rows["example.invalid"] == "error"


# -- the command registry ---------------------------------------------------------

#: Each command registered lazily, with an option only it accepts.
LAZY_COMMANDS = [("build", "--out"), ("serve", "--port"), ("verify", "--root"), ("examples", "--sign")]


def test_help_lists_every_command():
    done = run_cli("--help")
    assert done.returncode == 0
    listed = {m.group(1) for m in re.finditer(r"^ {4}([a-z]+)\b", done.stdout, re.M)}
    assert listed == set(COMMANDS) >= {"lint", "validate", "rules", "build", "serve", "verify", "examples"}


@pytest.mark.parametrize("command, option", LAZY_COMMANDS)
def test_lazy_commands_show_their_own_help(command, option):
    done = run_cli(command, "--help")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"usage: specgen {command}") and option in done.stdout


def test_a_command_does_not_accept_another_commands_options():
    done = run_cli("--root", str(CORPORA / "clean"), "lint", "--out", "site")
    assert done.returncode == 2 and "unrecognized arguments: --out site" in done.stderr


_IMPORTED = """
import sys
from specgen.cli import main
status = main(sys.argv[1:])
heavy = ("docutils", "jinja2", "refimpl", "openapi_spec_validator", "jsonschema", "specgen.lint")
print(sorted({m for m in sys.modules for h in heavy if m == h or m.startswith(h + ".")}))
print(sorted(m for m in sys.modules if m in ("specgen.build", "specgen.serve", "specgen.verify", "specgen.example_signing")))
"""


def _imported_by(*args: str) -> tuple[list[str], list[str]]:
    done = subprocess.run([sys.executable, "-c", _IMPORTED, *args], capture_output=True, text=True,
                          timeout=120, cwd=REPO)
    heavy, commands = done.stdout.strip().splitlines()[-2:]
    return eval(heavy), eval(commands)  # noqa: S307 - our own printed lists


def test_lint_imports_no_renderer_and_no_other_command():
    heavy, commands = _imported_by("--root", str(CORPORA / "clean"), "lint")
    assert commands == []
    assert not [m for m in heavy if m.split(".")[0] in ("docutils", "jinja2", "refimpl")]


def test_help_imports_neither_validators_nor_rules():
    assert _imported_by("--help") == ([], [])


@pytest.mark.parametrize("argv, command", [
    (["lint"], "lint"),
    (["--root", "x", "build", "--out", "y"], "build"),
    (["--ignore", "lint", "validate"], "validate"),
    (["--root=lint", "--format", "json", "examples", "--check"], "examples"),
    (["--help"], None),
    (["frobnicate"], None),
    (["--format", "bogus", "lint"], None),
])
def test_chosen_command_finds_the_command_name(argv, command):
    assert chosen_command(argv) == command


def test_every_code_specgen_reports_is_listed_by_rules():
    """A code written anywhere in specgen's source is in ``specgen rules``,
    so it can be looked up, ignored and given a severity in config."""
    import re

    from specgen.cli import rule_table

    known = rule_table()
    pattern = re.compile(r'"((?:api|build|definition|diff|example|examples|flows|naming|object|property|ref|rst|schema|syntax|verify)\.[a-z-]+)"')
    written = {code for path in (REPO / "specgen").rglob("*.py") for code in pattern.findall(path.read_text("utf-8"))}
    written -= {"example.org", "definition.html"}  # a host name and a template, not codes
    assert written, "the pattern found no codes at all"
    assert sorted(written - set(known)) == []

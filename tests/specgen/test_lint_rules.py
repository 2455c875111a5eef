"""Every lint rule against its fixture pair.

tests/corpora/lint/<rule-id>/fail/ is a tiny corpus that must produce
exactly the findings listed in its expected.json (file, line, column,
pointer); .../pass/ must produce none of that rule's code.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from specgen.cli import CORE_RULES
from specgen.corpus import Corpus
from specgen.diagnostics import Diagnostic, Severity
from specgen.lint import RULES, Rule, check, fail_fast
from specgen._cache import VerdictCache
from specgen.refs import Resolver

FIXTURES = Path(__file__).resolve().parent.parent / "corpora" / "lint"


@pytest.fixture(autouse=True)
def _private_cache(tmp_path, monkeypatch):
    """Each test gets its own cache directory: verdicts never leak between
    tests or into the developer's ~/.cache."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("SPECGEN_NO_CACHE", raising=False)


def _run(root: Path, rule_id: str) -> list[Diagnostic]:
    corpus = Corpus(root)
    return sorted(d for d in check(corpus, Resolver(corpus), [rule_id]) if d.code == rule_id)


def _as_rows(found: list[Diagnostic]) -> list[dict]:
    return [{"path": d.path, "line": d.line, "column": d.column, "pointer": d.pointer} for d in found]


@pytest.mark.parametrize("rule_id", sorted(RULES))
def test_fail_fixture_yields_expected_findings(rule_id):
    folder = FIXTURES / rule_id / "fail"
    expected = json.loads((folder / "expected.json").read_text("utf-8"))
    assert expected, "a fail fixture must expect at least one finding"
    found = _run(folder, rule_id)
    assert _as_rows(found) == expected
    rule = RULES[rule_id]
    assert all(d.severity == rule.default_severity and d.message for d in found)


@pytest.mark.parametrize("rule_id", sorted(RULES))
def test_pass_fixture_is_clean(rule_id):
    assert _run(FIXTURES / rule_id / "pass", rule_id) == []


@pytest.mark.parametrize("rule_id", sorted(RULES))
def test_registry_entry_is_complete(rule_id):
    rule = RULES[rule_id]
    assert isinstance(rule, Rule) and rule.id == rule_id
    assert isinstance(rule.default_severity, Severity)
    assert rule.description and "\n" not in rule.description
    assert callable(rule.function)
    assert (FIXTURES / rule_id / "pass").is_dir() and (FIXTURES / rule_id / "fail" / "expected.json").is_file()


def test_every_fixture_folder_names_a_rule():
    assert sorted(p.name for p in FIXTURES.iterdir() if p.is_dir()) == sorted(RULES)


def test_each_code_has_one_description():
    """The registry describes its codes; CORE_RULES only what it lacks."""
    assert not set(CORE_RULES) & set(RULES)


def test_codes_raised_by_the_loader_and_resolver_are_registered():
    """``specgen rules`` must list what the core reports on its own."""
    assert {"syntax", "ref.unresolved", "ref.remote", "ref.cycle"} <= set(RULES)


def test_check_is_lazy_and_fail_fast_stops_at_the_first_finding():
    corpus = Corpus(FIXTURES / "schema.enum-type" / "fail")
    findings = check(corpus, Resolver(corpus))
    first = next(findings)
    assert isinstance(first, Diagnostic)
    findings.close()
    assert fail_fast(corpus, Resolver(corpus), ["schema.enum-type"]).code == "schema.enum-type"
    clean = Corpus(FIXTURES / "schema.enum-type" / "pass")
    assert fail_fast(clean, Resolver(clean), ["schema.enum-type"]) is None


def test_unknown_rule_name_is_a_caller_error():
    corpus = Corpus(FIXTURES / "syntax" / "pass")
    with pytest.raises(KeyError):
        list(check(corpus, Resolver(corpus), ["no.such-rule"]))


def test_whole_registry_runs_over_every_fixture_without_raising():
    for folder in sorted(FIXTURES.glob("*/*")):
        corpus = Corpus(folder)
        for diagnostic in check(corpus, Resolver(corpus)):
            assert diagnostic.code in RULES or diagnostic.code in CORE_RULES, diagnostic


# -- the verdict cache ---------------------------------------------------------


def _metaschema_findings(root: Path) -> list[Diagnostic]:
    return _run(root, "schema.metaschema")


def test_verdicts_are_cached_by_content_and_reused(tmp_path):
    fail = FIXTURES / "schema.metaschema" / "fail"
    cold = _metaschema_findings(fail)
    cache_file = tmp_path / "cache" / "specgen" / "lint-verdicts-v1.json"
    stored = json.loads(cache_file.read_text("utf-8"))
    assert stored and all(len(k) == 64 for k in stored)
    assert _metaschema_findings(fail) == cold
    # A verdict is keyed by content: poisoning the entries shows they are read.
    cache_file.write_text(json.dumps({k: [["", "from the cache"]] for k in stored}), "utf-8")
    warm = _metaschema_findings(fail)
    assert warm and all("from the cache" in d.message for d in warm)


def test_corrupt_cache_is_ignored(tmp_path):
    cache_file = tmp_path / "cache" / "specgen" / "lint-verdicts-v1.json"
    cache_file.parent.mkdir(parents=True)
    cache_file.write_text("{not json", "utf-8")
    fail = FIXTURES / "schema.metaschema" / "fail"
    assert _as_rows(_metaschema_findings(fail)) == json.loads((fail / "expected.json").read_text("utf-8"))
    assert json.loads(cache_file.read_text("utf-8"))


def test_unwritable_cache_is_ignored(tmp_path, monkeypatch):
    blocker = tmp_path / "blocked"
    blocker.write_text("a file where the cache directory should be", "utf-8")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))
    fail = FIXTURES / "schema.metaschema" / "fail"
    assert _as_rows(_metaschema_findings(fail)) == json.loads((fail / "expected.json").read_text("utf-8"))


def test_cache_key_depends_on_content_and_context():
    key = VerdictCache.key
    assert key(b"a", "x") != key(b"b", "x") != key(b"a", "y")
    assert key(b"a", "x") == key(b"a", "x")


def test_cache_leaves_no_temporary_files(tmp_path):
    _metaschema_findings(FIXTURES / "schema.metaschema" / "fail")
    cache = tmp_path / "cache" / "specgen"
    assert sorted(os.listdir(cache)) == ["lint-verdicts-v1.json", "parsed"]
    assert not [p for p in cache.rglob("*") if p.name.startswith(".")]


def test_api_findings_are_the_same_whatever_the_hash_seed(tmp_path):
    """jsonschema meets a node's extra keys in set order, which Python's
    hash seed changes: where two schemas of one response were wrong alike,
    which one was reported changed from run to run. Every finding is now
    reported, in document order, the same in every run."""
    import subprocess
    import sys

    pdu = {"type": "object", "properties": [], "description": "An event."}
    document = {"swagger": "2.0", "info": {"title": "t", "version": "1"}, "paths": {"/state": {"get": {
        "responses": {"200": {"description": "ok", "schema": {"type": "object", "properties": {
            "auth_chain": {"type": "array", "items": dict(pdu)},
            "pdus": {"type": "array", "items": dict(pdu)},
            "more": {"type": "array", "items": dict(pdu)}}}}}}}}}
    (tmp_path / "api" / "server-server").mkdir(parents=True)
    (tmp_path / "api" / "server-server" / "state.json").write_text(json.dumps(document, indent=1))
    outputs = set()
    for seed in range(1, 7):
        done = subprocess.run([sys.executable, "-m", "specgen", "--root", str(tmp_path), "lint", "--format", "json",
                               "--ignore", "property.no-description"], capture_output=True, text=True, timeout=120,
                              env={**os.environ, "PYTHONHASHSEED": str(seed),
                                   "XDG_CACHE_HOME": str(tmp_path / f"cache-{seed}")})
        outputs.add(done.stdout)
    assert len(outputs) == 1
    found = [d["pointer"] for d in json.loads(outputs.pop()) if d["code"] == "api.openapi"]
    assert found == [f"/paths/~1state/get/responses/200/schema/properties/{name}/items/properties"
                     for name in ("auth_chain", "pdus", "more")]

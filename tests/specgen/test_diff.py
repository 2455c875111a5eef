"""``specgen diff``: every rule on the fixture pair tests/corpora/diff/{old,new},
located in both sources; folders and git revisions; the renderers."""

import json
import subprocess

import pytest

from conftest import CORPORA, REPO, run_cli, write_tree
from specgen.corpus import Corpus
from specgen.diff import RULES, compare

DIFF = CORPORA / "diff"
ROOMS = "PUT /_matrix/test/v1/rooms/{room}"

#: rule -> (subject, where, detail): one instance of each rule in the fixtures.
EXPECTED = {
    "diff.endpoint-removed": ("GET /_matrix/test/v1/rooms/{roomId}/old", "", ""),
    "diff.endpoint-added": ("GET /_matrix/test/v1/ping", "", ""),
    "diff.event-removed": ("event m.test.gone", "", ""),
    "diff.event-added": ("event m.test.new", "", ""),
    "diff.definition-removed": ("definition definitions/gone", "", ""),
    "diff.definition-added": ("definition definitions/fresh", "", ""),
    "diff.parameter-added": (ROOMS, "query parameter order", "new parameter"),
    "diff.parameter-removed": (ROOMS, "query parameter since", "parameter is gone"),
    "diff.body-added": ("POST /_matrix/test/v1/submit request", "", "body is new"),
    "diff.body-removed": ("POST /_matrix/test/v1/echo request", "", "body is gone"),
    "diff.required-added": (ROOMS + " request", "/version", "new required field"),
    "diff.required-removed": (ROOMS + " response 200", "/members", "field is gone (it was required)"),
    "diff.property-added": (ROOMS + " response 200", "/topic", "new field"),
    "diff.property-removed": (ROOMS + " response 200", "/note", "field is gone"),
    "diff.type-narrowed": (ROOMS + " request", "/count", "type integer/null is now integer"),
    "diff.type-widened": (ROOMS + " request", "/size", "type integer is now integer/string"),
    "diff.type-changed": ("event m.test.state", "/content/level", "type number is now boolean"),
    "diff.enum-narrowed": ("event m.test.state", "/content/mode", 'values ["a", "b", "c"] are now ["a", "b", "d"]'),
    "diff.enum-widened": (ROOMS + " response 200", "/visibility",
                          'values ["private", "public"] are now ["knock", "private", "public"]'),
    "diff.constraint-narrowed": (ROOMS + " request", "/tags/*", "minLength none is now 1"),
    "diff.constraint-widened": (ROOMS + " request", "/name", "maxLength 255 is now none"),
    "diff.alternatives-changed": ("event m.test.state", "/content/target", "oneOf had 2 alternatives, now 1"),
    "diff.status-added": (ROOMS, "status 404", "status is new"),
    "diff.status-removed": (ROOMS, "status 429", "status is gone"),
    "diff.errcode-added": (ROOMS + " response 403", "M_USER_BANNED", "errcode M_USER_BANNED is new"),
    "diff.errcode-removed": (ROOMS + " response 403", "M_LIMIT_EXCEEDED",
                             "errcode M_LIMIT_EXCEEDED is no longer listed"),
    "diff.default-changed": (ROOMS + " request", "/join_rule", "default 'invite' is now 'public'"),
    "diff.deprecated": ("event m.test.state", "/content/label", "deprecated"),
}


@pytest.fixture(scope="module")
def changes():
    return compare(Corpus(DIFF / "old"), Corpus(DIFF / "new"))


def test_every_rule_has_a_fixture():
    assert set(EXPECTED) == set(RULES)


@pytest.mark.parametrize("rule", sorted(EXPECTED))
def test_rule_fires_on_its_fixture(rule, changes):
    subject, where, detail = EXPECTED[rule]
    found = [c for c in changes if (c.rule, c.subject, c.where) == (rule, subject, where or c.where)]
    assert found, [c for c in changes if c.rule == rule]
    assert not detail or detail in {c.detail for c in found}


def test_changes_are_located_in_both_sources(changes):
    """A field written in a shared definition is located there, in each
    corpus, and the server prefix of OLD is applied before matching."""
    (change,) = [c for c in changes if c.key == ("diff.constraint-widened", ROOMS + " request", "/name")]
    assert change.old.path == (DIFF / "old/api/definitions/room.yaml").resolve()
    assert change.new.path == (DIFF / "new/api/definitions/room.yaml").resolve()
    assert (change.old.pointer, change.new.pointer) == ("/properties/name/maxLength", "/properties/name")
    inherited = [c for c in changes if c.subject == "event m.test.state" and c.where == "/sender"]
    assert [c.old.path.name for c in inherited] == ["state_event.yaml"]


def test_a_shared_part_is_reported_once(changes):
    """m.test.gone and m.test.new share core/state_event.yaml; only
    m.test.state is compared, and its sender's format change is listed once."""
    assert sum(c.where == "/sender" for c in changes) == 1


def test_identical_corpora_have_no_changes():
    assert compare(Corpus(DIFF / "new"), Corpus(DIFF / "new")) == []


def test_common_only_leaves_out_what_one_side_lacks():
    rules = {c.rule for c in compare(Corpus(DIFF / "old"), Corpus(DIFF / "new"), common_only=True)}
    assert not rules & {"diff.endpoint-added", "diff.endpoint-removed", "diff.event-added", "diff.event-removed",
                        "diff.definition-added", "diff.definition-removed"}
    assert "diff.required-added" in rules


def test_cli_json_and_fail_on_breaking():
    done = run_cli("--format", "json", "diff", str(DIFF / "old"), str(DIFF / "new"))
    assert done.returncode == 1, done.stderr
    report = json.loads(done.stdout)
    removed = next(d for d in report if d["code"] == "diff.endpoint-removed")
    assert removed["path"].endswith("tests/corpora/diff/old/api/rooms.yaml") and removed["line"] == 44
    widened = next(d for d in report if d["code"] == "diff.constraint-widened" and "/name" in d["message"])
    assert widened["severity"] == "error" and "breaks receivers" in widened["message"]
    assert widened["related"][0]["path"].endswith("old/api/definitions/room.yaml")
    # Only review and compatible changes: nothing reaches --fail-on breaking.
    quiet = run_cli("--fail-on", "breaking", "diff", str(DIFF / "new"), str(DIFF / "new"))
    assert (quiet.returncode, quiet.stdout) == (0, "")


def test_cli_git_revisions(tmp_path):
    """Two commits of one tree: the second adds a required field."""
    field = "properties:\n  content:\n    type: object\n    properties:\n      body: {type: string}\n"
    write_tree(tmp_path, {"event-schemas/schema/m.note.yaml": "type: object\n" + field})
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.org", "-C", str(tmp_path)]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-qm", "one"], check=True)
    write_tree(tmp_path, {"event-schemas/schema/m.note.yaml": "type: object\n" + field + "    required: [body]\n"})
    subprocess.run([*git, "commit", "-qam", "two"], check=True)
    done = run_cli("--root", str(tmp_path), "diff", "HEAD~1", "HEAD", cwd=tmp_path)
    assert done.returncode == 1, done.stderr
    assert done.stdout.startswith("HEAD:event-schemas/schema/m.note.yaml:7:16: error[diff.required-added] "
                                  "event m.note /content/body: now required (breaks senders)")
    assert "note: HEAD~1:event-schemas/schema/m.note.yaml:" in done.stdout
    bad = run_cli("--root", str(tmp_path), "diff", "HEAD~1", "no-such-rev", cwd=tmp_path)
    assert bad.returncode == 2 and "neither a folder nor a git revision" in bad.stderr


RECORD = """
differences:
  - rule: diff.constraint-*
    detail: "*Length*"
    resolution: kept
    because: editorial
    reason: Lengths are stated in prose.
  - rule: diff.status-removed
    subject: ["GET /nowhere", "GET /elsewhere"]
    resolution: kept
    because: seed
    reason: Matches nothing any more.
  - rule: diff.required-added
    resolution: fixed
    reason: Fixed entries cover nothing.
  - {rule: diff.type-widened, resolution: kept, because: whim, reason: x}
"""


def test_record_hides_kept_changes_and_reports_stale_and_bad_entries(tmp_path):
    record = write_tree(tmp_path, {"differences.yaml": RECORD}) / "differences.yaml"
    done = run_cli("--root", str(tmp_path), "--format", "json", "diff", "--record", str(record),
                   str(DIFF / "old"), str(DIFF / "new"))
    report = json.loads(done.stdout)
    messages = [d["message"] for d in report]
    assert not any("maxLength" in m or "minLength" in m for m in messages)
    assert any("maximum 100 is now 50" in m for m in messages)
    assert sum(d["code"] == "diff.required-added" for d in report) == 4
    own = {(d["code"], d["line"]) for d in report if d["path"] == "differences.yaml"}
    assert own == {("diff.record-stale", 8), ("diff.record", 16)}


def test_recursive_schemas_end(make_corpus, tmp_path):
    """A schema that refers to itself twice is compared once per pair of
    parts, not unfolded (2**depth) times."""
    tree = {"type": "object", "properties": {"a": {"$ref": "#"}, "b": {"$ref": "#"}, "c": {"type": "string"}}}
    old = Corpus(write_tree(tmp_path / "old", {"event-schemas/schema/m.tree.yaml": json.dumps(tree)}))
    tree["properties"]["c"] = {"type": "integer"}
    new = Corpus(write_tree(tmp_path / "new", {"event-schemas/schema/m.tree.yaml": json.dumps(tree)}))
    assert [(c.rule, c.where) for c in compare(old, new)] == [("diff.type-changed", "/c")]


def test_a_side_without_a_corpus_is_a_usage_error(tmp_path):
    done = run_cli("diff", str(tmp_path), str(DIFF / "new"))
    assert done.returncode == 2 and "no event schemas" in done.stderr


def test_alternatives_are_folded_against_one_form(tmp_path):
    """OLD writes one object, NEW an anyOf of two forms: a field every form
    requires is required, a field some form describes is described."""
    one = {"type": "object", "properties": {"a": {"type": "string"}, "b": {"type": "string"}}, "required": ["a", "b"]}
    forms = {"anyOf": [
        {"type": "object", "properties": {"a": {"type": "string"}, "c": {"type": "string"}}, "required": ["a", "c"]},
        {"type": "object", "properties": {"a": {"type": "string"}, "b": {"type": "string"}}, "required": ["a"]},
    ]}
    old = Corpus(write_tree(tmp_path / "old", {"event-schemas/schema/m.x.yaml": json.dumps(one)}))
    new = Corpus(write_tree(tmp_path / "new", {"event-schemas/schema/m.x.yaml": json.dumps(forms)}))
    found = {(c.rule, c.where) for c in compare(old, new)}
    assert found == {("diff.alternatives-changed", "/"), ("diff.required-removed", "/b"),
                     ("diff.property-added", "/c")}


def test_our_record_is_well_formed_and_names_known_rules():
    from fnmatch import fnmatchcase

    from specgen.differences import load_record

    entries, problems = load_record(Corpus(REPO).document(REPO / "specification/differences.yaml"))
    assert problems == [] and entries
    for entry in entries:
        assert all(any(fnmatchcase(rule, pattern) for rule in RULES) for pattern in entry.rule), entry


def test_the_record_renders_as_a_page_and_a_bad_entry_is_located(tmp_path):
    import shutil

    from specgen.build import build_site

    root = shutil.copytree(CORPORA / "build" / "good", tmp_path / "c")
    spec = root / "specification"
    (spec / "differences.rst").write_text("Differences\n===========\n\n{{differences_table}}\n")
    (spec / "targets.yaml").write_text((spec / "targets.yaml").read_text()
                                       + "  - {page: differences, title: Differences, files: [differences.rst]}\n")
    (spec / "differences.yaml").write_text(RECORD)
    site = build_site(Corpus(root), check=False)
    page = site.files["differences.html"].decode()
    assert "<code>diff.constraint-*</code>" in page and "Lengths are stated in prose." in page
    assert "1 fixed, 1 kept (editorial), 1 kept (seed)" in page
    assert [(d.code, d.line) for d in site.diagnostics if d.path.endswith("differences.yaml")] == [("diff.record", 16)]


def test_a_limit_stated_in_words_counts_as_the_keyword(changes):
    """``At most 8 tags`` in OLD's description and ``maxItems: 8`` in NEW are
    the same rule; "up to 5 aliases" against ``maxItems: 8`` narrows."""
    assert not [c for c in changes if c.where == "/tags" and "maxItems" in c.detail]
    (aliases,) = [c for c in changes if c.where == "/aliases"]
    assert (aliases.rule, aliases.detail) == ("diff.constraint-narrowed", "maxItems 8 is now 5 (stated)")

"""Layout detection: a tree is found from its root, whichever known layout
it has, and a config file given by path overrides what was detected."""

import pytest

from specgen.corpus import ConfigError, Corpus, load_config
from specgen.layouts import LAYOUTS, detect

from conftest import CORPORA, REPO, run_cli, write_tree

LAYOUT_CORPORA = CORPORA / "layouts"


@pytest.mark.parametrize("root, name", [
    (LAYOUT_CORPORA / "matrix-spec", "matrix-spec"),
    (LAYOUT_CORPORA / "matrix-doc", "matrix-doc-legacy"),
    (REPO, "specgen"),
])
def test_each_layout_is_detected_from_its_root(root, name):
    assert detect(root).name == name
    corpus = Corpus(root)
    assert corpus.layout.name == name
    assert "org.example.note" in corpus.schemas or root == REPO


def test_legacy_schemas_and_examples_need_no_suffix():
    corpus = Corpus(LAYOUT_CORPORA / "matrix-doc")
    assert [p.name for p in corpus.schemas.values()] == ["org.example.note"]
    assert [e.path.name for e in corpus.examples["org.example.note"]] == ["org.example.note"]
    assert [p.name for p in corpus.prose] == ["notes.rst"]


def test_matrix_spec_prose_is_markdown_under_content():
    corpus = Corpus(LAYOUT_CORPORA / "matrix-spec")
    assert [p.name for p in corpus.prose] == ["definitions.md", "notes.md"]
    assert [corpus.display(p) for p in corpus.api_files] == ["data/api/archive/notes.yaml", "data/api/notes/notes.yaml"]


def test_layout_names_are_unique():
    assert len({layout.name for layout in LAYOUTS}) == len(LAYOUTS)


def test_verbose_says_what_was_found():
    result = run_cli("--root", str(LAYOUT_CORPORA / "matrix-spec"), "-v", "lint")
    assert result.returncode == 0, result.stderr
    assert "layout: matrix-spec" in result.stderr
    assert "event schemas: 2 (+0 shared) in data/event-schemas/schema" in result.stderr
    assert "API files: 2 (+5 shared) in data/api" in result.stderr


def test_no_corpus_exits_2_saying_where_it_looked(tmp_path):
    result = run_cli("--root", str(tmp_path), "lint")
    assert result.returncode == 2
    assert "no spec corpus" in result.stderr and "event-schemas/schema/" in result.stderr
    assert "matrix-spec (data/event-schemas/schema, data/api)" in result.stderr
    assert run_cli("--root", str(tmp_path), "rules").returncode == 0


def test_config_file_outside_the_tree_overrides_detection(tmp_path):
    tree = write_tree(tmp_path / "tree", {"defs/x.yaml": "type: object\n", "specgen.toml": 'schemas = "nowhere"\n'})
    config = write_tree(tmp_path, {"elsewhere.toml": 'layout = "matrix-spec"\nschemas = "defs"\n'}) / "elsewhere.toml"
    loaded = load_config(tree, config)
    assert loaded.layout.name == "matrix-spec"
    assert loaded.dir("schemas") == (tree / "defs").resolve()
    assert loaded.dir("api") == (tree / "data/api").resolve()
    result = run_cli("--root", str(tree), "--config", str(config), "-v", "lint")
    assert "event schemas: 1 (+0 shared) in defs" in result.stderr


@pytest.mark.parametrize("text", ['layout = "hugo"\n', "layout = 3\n"])
def test_unknown_layout_is_a_config_error(tmp_path, text):
    write_tree(tmp_path, {"specgen.toml": text})
    with pytest.raises(ConfigError):
        load_config(tmp_path)


def test_missing_config_file_exits_2(tmp_path):
    result = run_cli("--root", str(LAYOUT_CORPORA / "matrix-spec"), "--config", str(tmp_path / "none.toml"), "lint")
    assert result.returncode == 2 and "no such config file" in result.stderr


# -- the conventions of both trees, each from a fixture of our own writing --

def _findings(root):
    from specgen import lint
    from specgen.examples import validate
    from specgen.refs import Resolver

    corpus = Corpus(root)
    resolver = Resolver(corpus)
    return corpus, [*lint.check(corpus, resolver), *validate(corpus, resolver)]


@pytest.mark.parametrize("name", ["matrix-spec", "matrix-doc"])
def test_layout_fixtures_are_clean(name):
    """Every convention in them is one the spec writers use on purpose:
    servers variables, allOf examples, inherited descriptions and required
    names, $ variants, partials beside the examples, definitions placed by
    prose, examples-relative $refs, quoted x-example URL values, a malformed
    definition that no example reaches, package.json in the API folder."""
    _, found = _findings(LAYOUT_CORPORA / name)
    assert [f"{d.path}:{d.line}: {d.code} {d.message}" for d in found] == []


def test_servers_variables_give_the_path_prefix():
    from specgen.openapi import load_api
    from specgen.refs import Resolver

    corpus = Corpus(LAYOUT_CORPORA / "matrix-spec")
    paths = sorted(e.path for p in corpus.api_files for e in load_api(corpus, Resolver(corpus), p)[0].endpoints)
    assert paths == ["/_example/archive/v1/notes", "/_example/notes/v1/notes"]


def test_variants_partials_and_tooling_files_are_told_apart():
    corpus = Corpus(LAYOUT_CORPORA / "matrix-spec")
    by_name = {e.path.name: corpus.schema_for(e).name for e in corpus.all_example_files()}
    assert by_name == {"org.example.note.yaml": "org.example.note.yaml",
                       "org.example.note$pinned.yaml": "org.example.note$pinned.yaml"}
    assert [p.name for p in corpus.example_partials] == ["note_parts.json"]
    assert "package.json" not in {p.name for p in corpus.api_definitions}


@pytest.mark.parametrize("name, placed", [
    ("matrix-spec", {"placed.yaml", "reader-metadata.yaml"}),
    ("matrix-doc", {"note.yaml", "short.yaml", "broken.yaml"}),
])
def test_definitions_placed_by_prose_in_each_syntax(name, placed):
    assert {p.name for p in Corpus(LAYOUT_CORPORA / name).definitions_in_prose()} == placed


def _copy(tmp_path, name):
    import shutil

    shutil.copytree(LAYOUT_CORPORA / name, tmp_path / name)
    return tmp_path / name


def test_conventions_still_catch_real_faults(tmp_path):
    """The same shapes, broken: a merged allOf example part of the wrong
    type, a required name nothing defines, a quoted x-example that is no
    integer, an examples-relative $ref to a missing file."""
    spec = _copy(tmp_path, "matrix-spec")
    (spec / "data/api/examples/parts/note_body.json").write_text('{"body": 42}\n')
    base = spec / "data/api/notes/definitions/note_base.yaml"
    base.write_text(base.read_text().replace("required: [body, id]", "required: [body, id, colour]"))
    _, found = _findings(spec)
    assert {d.code for d in found} == {"example.invalid", "schema.required-undefined"}
    assert any("42 is not of type 'string'" in d.message for d in found if d.code == "example.invalid")
    legacy = _copy(tmp_path, "matrix-doc")
    api = legacy / "api/server-server/notes.yaml"
    api.write_text(api.read_text().replace('x-example: "3"', 'x-example: "three"').replace("note.json", "gone.json"))
    _, found = _findings(legacy)
    assert sorted({d.code for d in found}) == ["definition.unused", "example.invalid", "ref.unresolved"]
    assert not any(d.code == "example.unchecked" for d in found)


def test_check_validates_every_example_once_and_says_how_many():
    """Both operations of notes.yaml share a path-level parameter and its
    x-example; check counts (and would report) it once."""
    result = run_cli("--root", str(LAYOUT_CORPORA / "matrix-doc"), "-v", "check")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "examples validated: 1 event examples, 3 API examples" in result.stderr
    spec = run_cli("--root", str(LAYOUT_CORPORA / "matrix-spec"), "-v", "check")
    assert "examples validated: 2 event examples, 1 API examples, 2 examples written in schemas" in spec.stderr


def test_stand_alone_schemas_are_found_and_checked(tmp_path):
    """matrix-spec's data/schemas: placed by the prose, linted, their
    examples validated; one placed nowhere is unused."""
    spec = _copy(tmp_path, "matrix-spec")
    listed = run_cli("--root", str(spec), "-v", "check")
    assert listed.returncode == 0, listed.stdout + listed.stderr
    assert "stand-alone schemas: 1 in data/schemas" in listed.stderr
    schema = spec / "data/schemas/reader-metadata.yaml"
    schema.write_text(schema.read_text().replace('reader_name: "Margin Notes"', "reader_name: 7"))
    (spec / "data/schemas/forgotten.yaml").write_text("title: Forgotten\ntype: object\n"
                                                      "description: Placed by no page.\n")
    found = run_cli("--root", str(spec), "check").stdout
    assert "data/schemas/reader-metadata.yaml:16:" in found and "error[example.invalid]" in found
    assert "data/schemas/forgotten.yaml:1:1: warning[definition.unused]" in found


def test_check_reports_what_lint_and_validate_report(tmp_path):
    tree = _copy(tmp_path, "matrix-doc")
    api = tree / "api/server-server/notes.yaml"
    api.write_text(api.read_text().replace('x-example: "3"', 'x-example: "three"'))
    (tree / "event-schemas/examples/org.example.note").write_text('{"type": "org.example.note", "content": {}}\n')
    codes = [line.split("[")[1].split("]")[0] for line in run_cli("--root", str(tree), "check").stdout.splitlines()
             if ": error[" in line]
    assert sorted(codes) == ["example.invalid", "example.invalid"]


def test_malformed_schema_is_reported_in_its_own_file_reason_first(tmp_path):
    """An API response reaches the malformed definition: its example is not
    checked, and both findings name broken.yaml's own node, with the reason
    and no Python exception text or dumped node."""
    legacy = _copy(tmp_path, "matrix-doc")
    api = legacy / "api/server-server/notes.yaml"
    api.write_text(api.read_text().replace("definitions/notes/note.yaml", "definitions/broken.yaml"))
    _, found = _findings(legacy)
    located = sorted((d.code, d.path, d.line, d.message) for d in found)
    assert [(code, path, line) for code, path, line, _ in located] == [
        ("api.openapi", "api/server-server/definitions/broken.yaml", 5),
        ("example.unchecked", "api/server-server/definitions/broken.yaml", 5),
    ]
    assert located[0][3].startswith("a list is not of type 'object'")
    assert located[1][3].startswith("malformed schema: a list is not of type 'object'")
    assert not any("Error" in message or "attribute" in message or "[" in message for *_, message in located)


def test_swagger_structure_findings_name_the_fault_at_its_node(tmp_path):
    """Shapes matrix-doc's tree has: a path parameter with required: false,
    a body parameter carrying type, a tuple-style items list, a repeated
    operationId. Each finding is at the offending node, reason first."""
    legacy = _copy(tmp_path, "matrix-doc")
    api = legacy / "api/server-server/notes.yaml"
    api.write_text(api.read_text() + '''  "/notes/{noteId}":
    put:
      operationId: listNotes
      parameters:
        - in: path
          name: noteId
          type: string
          required: false
          description: The note.
        - in: body
          name: body
          type: object
          description: The note.
          schema:
            type: object
      responses:
        200:
          description: A pair.
          schema:
            type: array
            items:
              - type: integer
              - type: object
''')
    api.write_text(api.read_text().replace("      summary: List the notes.", "      summary: List the notes.\n"
                                           "      operationId: listNotes", 1))
    _, found = _findings(legacy)
    structural = sorted((d.pointer, d.message.split(" (invalid")[0]) for d in found if d.code == "api.openapi")
    put = "/paths/~1notes~1{noteId}/put"
    assert structural == [
        (f"{put}/operationId", "Operation ID 'listNotes' for 'put' in '/notes/{noteId}' is not unique"),
        (f"{put}/parameters/0/required", "False is not one of [True]"),
        (f"{put}/parameters/1", "'type' not allowed here (only x- extension keys may be added)"),
        (f"{put}/responses/200/schema/items", "a list is not of type 'object', 'boolean'"),
    ]

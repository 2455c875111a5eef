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
    assert [p.name for p in corpus.prose] == ["notes.md"]
    assert [p.name for p in corpus.api_files] == ["notes.yaml"]


def test_layout_names_are_unique():
    assert len({layout.name for layout in LAYOUTS}) == len(LAYOUTS)


def test_verbose_says_what_was_found():
    result = run_cli("--root", str(LAYOUT_CORPORA / "matrix-spec"), "-v", "lint")
    assert result.returncode == 0, result.stderr
    assert "layout: matrix-spec" in result.stderr
    assert "event schemas: 1 (+0 shared) in data/event-schemas/schema" in result.stderr
    assert "API files: 1 (+0 shared) in data/api" in result.stderr


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

import pytest

from specgen.corpus import ConfigError, Corpus, example_type, load_config
from specgen.diagnostics import Severity

from conftest import CORPORA, write_tree


@pytest.mark.parametrize("name, event_type", [
    ("m.room.member", "m.room.member"),
    ("m.room.member#invite", "m.room.member"),
    ("m.room.member$invite.json", "m.room.member"),
    ("org.example.poll.yaml", "org.example.poll"),
])
def test_example_type(name, event_type):
    assert example_type(name) == event_type


def test_third_party_layout_from_specgen_toml():
    corpus = Corpus(CORPORA / "third_party")
    assert set(corpus.schemas) == {"org.example.poll"}
    assert {e.variant for e in corpus.examples["org.example.poll"]} == {"", "three_way"}
    assert [p.name for p in corpus.example_partials] == ["sender.yaml"]
    assert [p.name for p in corpus.api_files] == ["polls_swagger.yaml", "polls_v3.json"]
    assert corpus.config.severity == {"schema.no-example": Severity.INFO}
    assert "property.no-description" in corpus.config.ignore


def test_pyproject_table_is_read(tmp_path):
    write_tree(tmp_path, {"pyproject.toml": '[tool.specgen]\nschemas = "s"\n'})
    assert load_config(tmp_path).dir("schemas") == (tmp_path / "s").resolve()


@pytest.mark.parametrize("text", ["schemas = 3\n", "severity = { x = \"loud\" }\n", "ignore = \"x\"\n", "= broken",
                                  'schemas = "/etc"\n', 'api = "../.."\n', 'read_roots = "/"\n',
                                  "max_file_size = -1\n", 'allow_raw_html = "yes"\n'])
def test_bad_config_is_a_config_error(tmp_path, text):
    write_tree(tmp_path, {"specgen.toml": text})
    with pytest.raises(ConfigError):
        load_config(tmp_path)


def test_only_read_roots_widen_what_a_corpus_may_read(tmp_path):
    shared = tmp_path / "shared"
    shared.mkdir()
    write_tree(tmp_path / "corpus", {"specgen.toml": 'read_roots = ["../shared"]\napi = "../shared"\nmax_file_size = 10\n'})
    config = load_config(tmp_path / "corpus")
    assert config.read_roots == (shared.resolve(),) and config.dir("api") == shared.resolve()
    assert config.max_file_size == 10 and config.allow_raw_html is False

import pytest

from specgen.corpus import ConfigError, Corpus, example_type, load_config
from specgen.diagnostics import Severity
from specgen.sources import DEFAULT_MAX_FILE_SIZE

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
    write_tree(tmp_path, {"trust.toml": 'read_roots = ["../shared"]\napi = "../shared"\nmax_file_size = 10\n'})
    (tmp_path / "corpus").mkdir()
    config = load_config(tmp_path / "corpus", tmp_path / "trust.toml")
    assert config.read_roots == (shared.resolve(),) and config.dir("api") == shared.resolve()
    assert config.max_file_size == 10 and config.allow_raw_html is False


@pytest.mark.parametrize("setting", ['read_roots = ["../shared"]', "allow_raw_html = true",
                                     f"max_file_size = {DEFAULT_MAX_FILE_SIZE + 1}"])
def test_a_corpus_cannot_widen_what_it_may_do_by_its_own_settings(tmp_path, setting):
    """The settings file may come in the same pull request as the rest of
    the corpus: only a file outside it, given with --config, widens."""
    key = setting.split(" ")[0]
    corpus = tmp_path / "corpus"
    for name, text in (("specgen.toml", setting), ("pyproject.toml", f"[tool.specgen]\n{setting}")):
        write_tree(corpus, {name: text + "\n"})
        with pytest.raises(ConfigError, match=f"{key} widens what the corpus may do"):
            load_config(corpus)
        with pytest.raises(ConfigError, match=f"{key} widens"):
            load_config(corpus, corpus / name)
        (corpus / name).unlink()
    write_tree(tmp_path, {"outside.toml": setting + "\n"})
    assert load_config(corpus, tmp_path / "outside.toml").root == corpus.resolve()


def test_a_corpus_may_narrow_what_it_may_do_by_its_own_settings(tmp_path):
    write_tree(tmp_path, {"specgen.toml": "read_roots = []\nallow_raw_html = false\nmax_file_size = 1000\n"})
    config = load_config(tmp_path)
    assert (config.read_roots, config.allow_raw_html, config.max_file_size) == ((), False, 1000)

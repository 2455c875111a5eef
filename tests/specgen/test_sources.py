from pathlib import Path

from specgen.diagnostics import Diagnostic
from specgen.sources import Document, Sources, join_pointer, load_document, split_pointer


def test_pointer_escaping_round_trips():
    pointer = join_pointer("", "paths", "/v1/x~y", 0)
    assert pointer == "/paths/~1v1~1x~0y/0"
    assert split_pointer(pointer) == ["paths", "/v1/x~y", "0"]


def test_yaml_positions_of_values_and_keys(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text("a:\n  b: [1, {c: 2}]\n  date: 2020-01-01\n")
    doc = load_document(path)
    assert isinstance(doc, Document)
    assert doc.data["a"]["date"] == "2020-01-01"
    assert doc.locate("/a/b/1/c") == (2, 14)
    assert doc.locate_key("/a/b") == (2, 3)
    assert doc.locate("/a/missing/deeper") == doc.locate("/a")


def test_json_positions_come_on_demand(tmp_path):
    path = tmp_path / "e.json"
    path.write_text('{\n  "content": {"body": 5}\n}\n')
    doc = load_document(path)
    assert doc._index is None
    assert doc.locate("/content/body") == (2, 23)


def test_syntax_errors_carry_the_parser_position(tmp_path):
    bad_yaml = tmp_path / "b.yaml"
    bad_yaml.write_text("a: 1\nb: : c\n")
    bad_json = tmp_path / "b.json"
    bad_json.write_text('{"a": }')
    bad_utf8 = tmp_path / "c.yaml"
    bad_utf8.write_bytes(b"a: 1\nb: \xff\n")
    for path, line in ((bad_yaml, 2), (bad_json, 1), (bad_utf8, 2)):
        result = load_document(path)
        assert isinstance(result, Diagnostic) and result.code == "syntax" and result.line == line


def test_sources_parse_each_file_once(tmp_path):
    path = tmp_path / "x.yaml"
    path.write_text("a: 1\n")
    sources = Sources(tmp_path)
    first = sources.load(path)
    assert sources.load(tmp_path / "." / "x.yaml") is first
    assert first.display == "x.yaml"
    assert list(sources.documents()) == [first]

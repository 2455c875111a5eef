import marshal
from pathlib import Path

from specgen.diagnostics import Diagnostic
from specgen.sources import MISSING, Document, ParseCache, Sources, join_pointer, load_document, split_pointer


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


# -- JSON without a suffix -------------------------------------------------------


def test_suffixless_json_is_decoded_as_json(tmp_path):
    """JSON and YAML 1.1 disagree on some scalars: ``1e3`` is a number in
    JSON and a string in YAML 1.1, so the decoder in use shows."""
    path = tmp_path / "m.room.member#invite"
    path.write_text('\n  {"n": 1e3, "body": "a\\/b"}\n')
    doc = load_document(path)
    assert doc.data == {"n": 1000.0, "body": "a/b"}
    assert doc._index is None
    assert doc.locate("/body") == (2, 22)


def test_suffixless_yaml_that_starts_like_json_falls_back_to_yaml(tmp_path):
    path = tmp_path / "m.room.topic"
    path.write_text("{topic: hello, n: 1e3}\n")
    assert load_document(path).data == {"topic": "hello", "n": "1e3"}


def test_suffixless_file_that_is_neither_reports_yaml_position(tmp_path):
    path = tmp_path / "m.room.topic"
    path.write_text('{"a": 1,\n  "b": [}\n')
    found = load_document(path)
    assert isinstance(found, Diagnostic) and found.code == "syntax" and found.line == 2


# -- the parse cache -------------------------------------------------------------


def _cache_files(directory: Path) -> list[Path]:
    return sorted(directory.glob("*.marshal"))


def _pack(directory: Path) -> dict:
    (pack,) = _cache_files(directory)
    return marshal.loads(pack.read_bytes())


def test_yaml_data_is_cached_by_content_and_reused(tmp_path):
    cache = ParseCache(tmp_path / "cache", "corpus")
    path = tmp_path / "s.yaml"
    path.write_text("a: [1, 2]\n")
    first = load_document(path, cache=cache)
    cache.flush()
    # Poisoning the entry shows a later run reads it rather than parsing.
    (key,) = _pack(tmp_path / "cache")
    _cache_files(tmp_path / "cache")[0].write_bytes(marshal.dumps({key: marshal.dumps({"a": "from the cache"})}))
    cache = ParseCache(tmp_path / "cache", "corpus")
    again = load_document(path, cache=cache)
    assert first.data == {"a": [1, 2]} and again.data == {"a": "from the cache"}
    # Positions never come from the cache: they are composed from the text.
    assert again.locate("/a/1") == (1, 8)
    path.write_text("a: [1, 3]\n")
    assert load_document(path, cache=cache).data == {"a": [1, 3]}
    del cache  # let go: the pack is written
    assert len(_pack(tmp_path / "cache")) == 2


def test_one_pack_per_corpus_written_once(tmp_path):
    for name in ("a", "b"):
        (tmp_path / f"{name}.yaml").write_text(f"{name}: 1\n")
    cache = ParseCache(tmp_path / "cache", "one corpus")
    for name in ("a", "b"):
        load_document(tmp_path / f"{name}.yaml", cache=cache)
    assert _cache_files(tmp_path / "cache") == []
    cache.flush()
    assert len(_pack(tmp_path / "cache")) == 2
    other = ParseCache(tmp_path / "cache", "another corpus")
    assert other.get((tmp_path / "a.yaml").read_bytes()) is MISSING
    load_document(tmp_path / "a.yaml", cache=other)
    other.flush()
    assert len(_cache_files(tmp_path / "cache")) == 2


def test_corrupt_or_unwritable_parse_cache_is_ignored(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text("a: 1\n")
    cache = ParseCache(tmp_path / "cache")
    load_document(path, cache=cache)
    cache.flush()
    (stored,) = _cache_files(tmp_path / "cache")
    stored.write_bytes(b"\xff\x00 not marshal")
    assert load_document(path, cache=ParseCache(tmp_path / "cache")).data == {"a": 1}
    stored.write_bytes(marshal.dumps({"key": "not bytes"}))
    assert load_document(path, cache=ParseCache(tmp_path / "cache")).data == {"a": 1}
    blocker = tmp_path / "blocked"
    blocker.write_text("a file where the cache directory should be")
    unwritable = ParseCache(blocker / "parsed")
    assert load_document(path, cache=unwritable).data == {"a": 1}
    unwritable.flush()


def test_syntax_errors_and_json_are_not_cached(tmp_path):
    cache = ParseCache(tmp_path / "cache")
    bad = tmp_path / "b.yaml"
    bad.write_text("a: 1\nb: : c\n")
    example = tmp_path / "m.room.topic"
    example.write_text('{"topic": "x"}')
    assert isinstance(load_document(bad, cache=cache), Diagnostic)
    assert isinstance(load_document(example, cache=cache), Document)
    cache.flush()
    assert _cache_files(tmp_path / "cache") == []


def test_no_cache_environment_turns_the_parse_cache_off(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.setenv("SPECGEN_NO_CACHE", "1")
    assert ParseCache.open().directory is None
    monkeypatch.delenv("SPECGEN_NO_CACHE")
    assert ParseCache.open().directory == tmp_path / "specgen" / "parsed"


def test_sources_resolve_a_given_path_once(tmp_path, monkeypatch):
    path = tmp_path / "x.yaml"
    path.write_text("a: 1\n")
    sources = Sources(tmp_path, ParseCache(None))
    first = sources.load(path)
    calls = []
    real = Path.resolve
    monkeypatch.setattr(Path, "resolve", lambda self, *a, **k: calls.append(self) or real(self, *a, **k))
    assert all(sources.load(path) is first for _ in range(5))
    assert calls == [] and path in sources


# -- untrusted input: bounded loading and duplicate keys ---------------------------

from specgen.sources import MAX_ALIAS_NODES, MAX_DEPTH  # noqa: E402

_BOMB = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 9)}]\n" for i in range(8))


def _problem(tmp_path, name: str, text: str, **kwargs):
    path = tmp_path / name
    path.write_text(text)
    found = load_document(path, **kwargs)
    assert isinstance(found, Diagnostic), found
    return found.code, found.line, found.column


def test_alias_bomb_is_refused_where_the_budget_runs_out(tmp_path):
    assert MAX_ALIAS_NODES < 9 ** 5
    code, line, _ = _problem(tmp_path, "bomb.yaml", _BOMB)
    assert (code, line) == ("syntax.alias", 5)


def test_an_alias_may_not_point_into_itself(tmp_path):
    assert _problem(tmp_path, "loop.yaml", "a: &a [1, *a]\n")[0] == "syntax"


def test_a_few_aliases_and_merge_keys_still_load(tmp_path):
    """The Matrix spec itself uses an anchor and an alias (m.receipt)."""
    path = tmp_path / "ok.yaml"
    path.write_text("x: &x {a: 1}\ny: *x\nz:\n  <<: *x\n  a: 2\n")
    assert load_document(path).data == {"x": {"a": 1}, "y": {"a": 1}, "z": {"a": 2}}


def test_deep_nesting_stops_at_the_line_that_crosses_the_limit(tmp_path):
    """10^5 levels would overflow libyaml's C composer (SIGSEGV) and
    Python's recursion; here each form ends in a located error."""
    deep = 100_000
    assert _problem(tmp_path, "flow.yaml", "a: 1\nb: " + "[" * deep + "]" * deep + "\n") == \
        ("syntax.too-deep", 2, 3 + MAX_DEPTH)
    assert _problem(tmp_path, "block.yaml", "a:\n" + "- " * deep + "x\n")[:2] == ("syntax.too-deep", 2)
    assert _problem(tmp_path, "deep.json", '{"a":\n' + "[" * deep + "]" * deep + "}")[:2] == ("syntax.too-deep", 2)
    just_over = '{"a":\n' + "[" * MAX_DEPTH + "]" * MAX_DEPTH + "}"
    assert _problem(tmp_path, "m.x", just_over)[:2] == ("syntax.too-deep", 2)
    ok = tmp_path / "ok.json"
    ok.write_text("[" * MAX_DEPTH + "]" * MAX_DEPTH)
    assert isinstance(load_document(ok), Document)


def test_alias_expansion_counts_towards_the_depth(tmp_path):
    half = MAX_DEPTH // 2 + 1
    text = "a: &a " + "[" * half + "]" * half + "\nb: " + "[" * half + "*a" + "]" * half + "\n"
    assert _problem(tmp_path, "deep.yaml", text)[0] == "syntax.too-deep"


def test_duplicate_keys_are_located_in_yaml_and_json(tmp_path):
    assert _problem(tmp_path, "d.yaml", "a: 1\nb:\n  c: 1\n  c: 2\n") == ("syntax.duplicate-key", 4, 3)
    assert _problem(tmp_path, "d.json", '{"a": 1,\n "b": {"c": 1,\n   "c": 2}}') == ("syntax.duplicate-key", 3, 4)
    assert _problem(tmp_path, "m.room.topic", '{"a": 1,\n "a": 2}\n') == ("syntax.duplicate-key", 2, 2)
    assert _problem(tmp_path, "n.yaml", "1: a\n'1': b\n")[0] == "syntax.duplicate-key"


def test_duplicate_keys_are_found_with_the_parse_cache_too(tmp_path):
    cache = ParseCache(tmp_path / "cache")
    for _ in range(2):
        assert _problem(tmp_path, "d.yaml", "a: 1\na: 2\n", cache=cache)[0] == "syntax.duplicate-key"


def test_files_over_the_size_limit_are_not_parsed(tmp_path):
    assert _problem(tmp_path, "big.yaml", "a: " + "x" * 2000 + "\n", max_size=1000)[0] == "syntax.too-large"
    assert _problem(tmp_path, "n.json", "[" + "1" * 10_000 + "]")[0] == "syntax"


def test_files_outside_the_root_are_never_read(tmp_path):
    root = tmp_path / "corpus"
    root.mkdir()
    secret = tmp_path / "secret.yaml"
    secret.write_text("password: hunter2\n")
    (root / "link.yaml").symlink_to(secret)
    sources = Sources(root)
    for path in (root / "link.yaml", secret, root / ".." / "secret.yaml"):
        found = sources.load(path)
        assert isinstance(found, Diagnostic) and found.code == "ref.outside-corpus"
        assert "hunter2" not in found.message
    assert isinstance(Sources(root, read_roots=(tmp_path,)).load(root / "link.yaml"), Document)

from pathlib import Path

import pytest
import referencing.exceptions

from specgen.refs import MAX_DEPTH, Resolved, merge_all_of

SCHEMA = "event-schemas/schema/"

BASE = {
    SCHEMA + "core/event.yaml": "type: object\nproperties:\n  type: {type: string}\nrequired: [type]\n",
    SCHEMA + "m.a.yaml": (
        "allOf:\n"
        "  - $ref: core/event.yaml\n"
        "  - properties:\n"
        "      content:\n"
        "        $ref: '#/definitions/c'\n"
        "definitions:\n"
        "  c:\n"
        "    type: object\n"
        "    description: inner\n"
    ),
}


def test_resolve_relative_file_and_pointer(make_corpus):
    corpus, resolver = make_corpus(BASE)
    base = corpus.schemas["m.a"]
    found = resolver.resolve(base, "core/event.yaml#/properties/type")
    assert isinstance(found, Resolved)
    assert found.data == {"type": "string"}
    assert found.path == (base.parent / "core/event.yaml").resolve()
    assert found.pointer == "/properties/type"
    assert resolver.resolve(base, "#/definitions/c").data["description"] == "inner"


def test_missing_file_and_pointer_are_located_at_the_ref(make_corpus):
    corpus, resolver = make_corpus({SCHEMA + "m.b.yaml": "properties:\n  x:\n    $ref: nope.yaml\n  y:\n    $ref: '#/nothing/here'\n"})
    base = corpus.schemas["m.b"]
    missing = resolver.resolve(base, "nope.yaml")
    assert (missing.code, missing.line, missing.column) == ("ref.unresolved", 3, 11)
    assert "no file" in missing.message
    pointer = resolver.resolve(base, "#/nothing/here")
    assert (pointer.code, pointer.line) == ("ref.unresolved", 5)
    assert "/nothing" in pointer.message
    assert {d.code for d in resolver.problems()} == {"ref.unresolved"}
    assert len(resolver.problems()) == 2


@pytest.mark.parametrize("ref", ["a%00b.yaml", "a\u0000b.yaml#/x", "file:///tmp/a%00b"])
def test_a_nul_in_a_referenced_file_name_is_a_diagnostic(make_corpus, ref):
    corpus, resolver = make_corpus({SCHEMA + "m.n.yaml": "properties:\n  x:\n    $ref: 'a%00b.yaml'\n"})
    found = resolver.resolve(corpus.schemas["m.n"], ref)
    assert found.code == "ref.unresolved" and "NUL" in found.message


def test_remote_refs_are_diagnostics_not_fetches(make_corpus):
    corpus, resolver = make_corpus({SCHEMA + "m.c.yaml": "$ref: https://example.com/schema.json\n"})
    found = resolver.resolve(corpus.schemas["m.c"], "https://example.com/schema.json")
    assert found.code == "ref.remote" and found.line == 1


def test_iter_refs_in_document_order(make_corpus):
    corpus, resolver = make_corpus(BASE)
    refs = list(resolver.iter_refs(corpus.document(corpus.schemas["m.a"])))
    assert refs == [("/allOf/0", "core/event.yaml"), ("/allOf/1/properties/content", "#/definitions/c")]


def test_deref_follows_a_chain_and_siblings_override(make_corpus):
    corpus, resolver = make_corpus({
        "event-schemas/examples/core/base.json": '{"type": "x", "sender": "@a:b", "depth": 0}',
        "event-schemas/examples/core/mid.json": '{"$ref": "base.json", "depth": 1}',
        "event-schemas/examples/m.d": '{"$ref": "core/mid.json", "type": "m.d"}',
    })
    example = corpus.examples["m.d"][0].path
    value, origin = resolver.deref(example, corpus.document(example).data)
    assert value == {"type": "m.d", "sender": "@a:b", "depth": 1}
    assert origin.name == "base.json"


def test_inline_replaces_every_ref_and_memoises(make_corpus):
    corpus, resolver = make_corpus(BASE)
    path = corpus.schemas["m.a"]
    first = resolver.inline(path)
    assert first.diagnostics == ()
    assert first.data["allOf"][0]["required"] == ["type"]
    assert first.data["allOf"][1]["properties"]["content"]["description"] == "inner"
    assert resolver.inline(path).data is first.data


def test_inline_cycle_is_a_diagnostic_and_keeps_the_ref(make_corpus):
    corpus, resolver = make_corpus({
        SCHEMA + "m.loop.yaml": "properties:\n  content:\n    $ref: core/a.yaml\n",
        SCHEMA + "core/a.yaml": "$ref: b.yaml\n",
        SCHEMA + "core/b.yaml": "properties:\n  back:\n    $ref: a.yaml\n",
    })
    result = resolver.inline(corpus.schemas["m.loop"])
    assert [d.code for d in result.diagnostics] == ["ref.cycle"]
    cycle = result.diagnostics[0]
    assert (cycle.path, cycle.line, cycle.column) == (SCHEMA + "core/b.yaml", 3, 11)
    assert result.data["properties"]["content"]["properties"]["back"] == {"$ref": "a.yaml"}


def _nested(levels: int, ref: str) -> str:
    return "".join("  " * i + "a:\n" for i in range(levels)) + "  " * levels + f"$ref: '{ref}'\n"


def test_self_reference_and_deep_nesting_never_recurse_forever(make_corpus):
    """Each file nests within the loader's limit; their chain nests deeper
    than inlining goes."""
    files = {SCHEMA + "m.self.yaml": "$ref: '#'\n", SCHEMA + "m.deep.yaml": _nested(90, "core/d1.yaml")}
    for i in range(1, MAX_DEPTH // 90 + 2):
        files[SCHEMA + f"core/d{i}.yaml"] = _nested(90, f"d{i + 1}.yaml")
    corpus, resolver = make_corpus(files)
    assert [d.code for d in resolver.inline(corpus.schemas["m.self"]).diagnostics] == ["ref.cycle"]
    assert "ref.too-deep" in {d.code for d in resolver.inline(corpus.schemas["m.deep"]).diagnostics}


def test_unresolved_ref_inside_inline_stays_and_is_reported(make_corpus):
    corpus, resolver = make_corpus({SCHEMA + "m.e.yaml": "properties:\n  x:\n    description: kept\n    $ref: gone.yaml\n"})
    result = resolver.inline(corpus.schemas["m.e"])
    assert result.data["properties"]["x"] == {"description": "kept", "$ref": "gone.yaml"}
    assert [(d.code, d.line) for d in result.diagnostics] == [("ref.unresolved", 4)]


def test_source_of_maps_merged_values_back_to_their_file(make_corpus):
    corpus, resolver = make_corpus({
        "event-schemas/examples/core/base.json": '{\n  "sender": "@a:b"\n}',
        "event-schemas/examples/m.f": '{"$ref": "core/base.json", "content": {"x": 1}}',
    })
    example = corpus.examples["m.f"][0].path
    assert resolver.source_of(example, "/sender") == ((example.parent / "core/base.json").resolve(), "/sender")
    assert resolver.source_of(example, "/content/x") == (example, "/content/x")


def test_merge_all_of_merges_properties_and_required():
    schema = {
        "title": "Outer",
        "allOf": [
            {"type": "object", "title": "Inner", "properties": {"a": {"type": "string"}}, "required": ["a"]},
            {"allOf": [{"properties": {"a": {"description": "A"}, "b": {"type": "integer"}}, "required": ["b", "a"]}]},
        ],
    }
    merged = merge_all_of(schema)
    assert merged == {
        "type": "object",
        "title": "Outer",
        "properties": {"a": {"type": "string", "description": "A"}, "b": {"type": "integer"}},
        "required": ["a", "b"],
    }
    assert "allOf" in schema


def test_registry_serves_corpus_files_and_refuses_the_network(make_corpus):
    corpus, resolver = make_corpus(BASE)
    registry = resolver.registry()
    uri = corpus.schemas["m.a"].as_uri()
    resolved = registry.resolver().lookup(uri + "#/definitions/c")
    assert resolved.contents["description"] == "inner"
    try:
        registry.resolver().lookup("https://example.com/x.json")
    except referencing.exceptions.Unresolvable:
        pass
    else:
        raise AssertionError("a remote URI must not resolve")
    outside = Path(corpus.root, "elsewhere.json")
    outside.write_text('{"const": 1}')
    assert registry.resolver().lookup(outside.as_uri()).contents == {"const": 1}


def test_references_out_of_the_corpus_read_nothing(make_corpus, tmp_path):
    """Absolute paths, ``..``, ``file:`` URIs and symlinks (to a file or a
    folder) that leave the corpus are located errors; the target's text
    appears nowhere, not even in what inlining returns."""
    outside = tmp_path.parent / (tmp_path.name + "-outside")
    outside.mkdir()
    (outside / "secret.yaml").write_text("secret: hunter2\n")
    refs = {"abs": str(outside / "secret.yaml"), "up": "../" * 12 + str(outside / "secret.yaml").lstrip("/"),
            "uri": (outside / "secret.yaml").as_uri(), "link": "core/link.yaml", "dir": "shared/secret.yaml"}
    schema = "properties:\n" + "".join(f"  {k}:\n    $ref: '{v}'\n" for k, v in refs.items())
    corpus, resolver = make_corpus({SCHEMA + "m.leak.yaml": schema, SCHEMA + "core/ok.yaml": "type: string\n"})
    (tmp_path / SCHEMA / "core/link.yaml").symlink_to(outside / "secret.yaml")
    (tmp_path / SCHEMA / "shared").symlink_to(outside, target_is_directory=True)
    inlined = resolver.inline(corpus.schemas["m.leak"])
    found = {d.pointer: d.code for d in inlined.diagnostics}
    assert found == {f"/properties/{k}/$ref": "ref.outside-corpus" for k in refs}
    assert "hunter2" not in repr(inlined)
    assert all(not isinstance(resolver.resolve(corpus.schemas["m.leak"], ref), Resolved) for ref in refs.values())
    with pytest.raises(referencing.exceptions.Unresolvable):
        resolver.registry().resolver().lookup((outside / "secret.yaml").as_uri())

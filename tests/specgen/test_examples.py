import pytest

from specgen.examples import ExampleValidator, _Selection, validate

SCHEMA = "event-schemas/schema/"
EXAMPLES = "event-schemas/examples/"

EVENT = {
    SCHEMA + "core/event.yaml": (
        "type: object\n"
        "properties:\n"
        "  sender: {type: string}\n"
        "  origin_server_ts: {type: integer}\n"
        "required: [sender]\n"
    ),
    SCHEMA + "m.note.yaml": (
        "allOf:\n"
        "  - $ref: core/event.yaml\n"
        "properties:\n"
        "  content:\n"
        "    type: object\n"
        "    properties:\n"
        "      body: {type: string}\n"
        "      count: {type: integer, minimum: 0}\n"
        "    required: [body]\n"
    ),
    EXAMPLES + "core/event.json": '{\n  "sender": "@alice:example.org",\n  "origin_server_ts": "soon"\n}\n',
}


def codes(diagnostics):
    return sorted((d.code, d.path, d.line) for d in diagnostics)


def test_every_error_of_one_example_is_reported(make_corpus):
    corpus, resolver = make_corpus({
        **EVENT,
        EXAMPLES + "m.note": '{\n  "$ref": "core/event.json",\n  "content": {\n    "count": -1\n  }\n}\n',
    })
    found = validate(corpus, resolver)
    assert codes(found) == [
        ("example.invalid", EXAMPLES + "core/event.json", 3),
        ("example.invalid", EXAMPLES + "m.note", 3),
        ("example.invalid", EXAMPLES + "m.note", 4),
    ]
    by_pointer = {d.pointer: d for d in found}
    minimum = by_pointer["/content/count"]
    assert "minimum" in minimum.message and "0" in minimum.message
    assert (minimum.line, minimum.column) == (4, 14)
    note = minimum.related[0]
    assert (note.path, note.line) == (SCHEMA + "m.note.yaml", 8)
    ts = by_pointer["/origin_server_ts"]
    assert ts.related[0].path == SCHEMA + "core/event.yaml"
    assert ts.related[0].line == 4
    assert "required" in by_pointer["/content"].message


def test_sibling_overrides_are_applied_before_validation(make_corpus):
    corpus, resolver = make_corpus({
        **EVENT,
        EXAMPLES + "m.note#fixed": '{"$ref": "core/event.json", "origin_server_ts": 5, "content": {"body": "hi"}}',
        EXAMPLES + "m.note$also": '{"$ref": "core/event.json", "origin_server_ts": 6, "content": {"body": "yo"}}',
    })
    assert validate(corpus, resolver) == []
    assert {e.variant for e in corpus.examples["m.note"]} == {"fixed", "also"}


def test_path_arguments_select_examples(make_corpus, tmp_path):
    corpus, resolver = make_corpus({
        **EVENT,
        SCHEMA + "m.other.yaml": "type: object\nrequired: [content]\n",
        EXAMPLES + "m.note": '{"sender": "@a:b", "content": {"body": 1}}',
        EXAMPLES + "m.other": '{}',
    })
    assert {d.path for d in validate(corpus, resolver)} == {EXAMPLES + "m.note", EXAMPLES + "m.other"}
    only = validate(corpus, resolver, [tmp_path / SCHEMA / "m.other.yaml"])
    assert {d.path for d in only} == {EXAMPLES + "m.other"}
    assert validate(corpus, resolver, [tmp_path / "api"]) == []


API_31 = """openapi: 3.1.0
info: {title: t, version: "1"}
paths:
  /v1/things/{id}:
    parameters:
      - name: id
        in: path
        required: true
        schema: {type: string, pattern: "^t"}
        example: x1
    put:
      requestBody:
        content:
          application/json:
            schema: {$ref: "definitions/thing.yaml"}
            examples:
              good: {value: {size: 1}}
              shared: {$ref: "#/components/examples/Bad"}
      responses:
        "200":
          description: ok
          headers:
            X-Count:
              schema: {type: integer}
              example: many
          content:
            application/json:
              schema: {type: object, properties: {ok: {type: boolean}}}
              example: {ok: "yes"}
components:
  examples:
    Bad:
      value: {size: "big"}
"""


def test_openapi_31_examples(make_corpus):
    corpus, resolver = make_corpus({
        "api/server-server/things.yaml": API_31,
        "api/server-server/definitions/thing.yaml": "type: object\nproperties:\n  size: {type: integer}\n",
    })
    found = validate(corpus, resolver)
    assert [(d.pointer, d.line) for d in found] == [
        ("/paths/~1v1~1things~1{id}/parameters/0/example", 10),
        ("/components/examples/Bad/value/size", 33),
        ("/paths/~1v1~1things~1{id}/put/responses/200/content/application~1json/example/ok", 29),
        ("/paths/~1v1~1things~1{id}/put/responses/200/headers/X-Count/example", 25),
    ]
    size = found[1]
    assert size.related[0].path == "api/server-server/definitions/thing.yaml"
    assert size.related[0].line == 3


def test_swagger_and_openapi_30_dialects(make_corpus):
    corpus, resolver = make_corpus({
        "api/legacy.yaml": (
            "swagger: '2.0'\n"
            "info: {title: t, version: '1'}\n"
            "paths:\n"
            "  /v1/x:\n"
            "    get:\n"
            "      parameters:\n"
            "        - {name: limit, in: query, type: integer, minimum: 1, x-example: 0}\n"
            "      responses:\n"
            "        200:\n"
            "          description: ok\n"
            "          schema: {$ref: '#/definitions/X'}\n"
            "          examples:\n"
            "            application/json: {n: 'one'}\n"
            "definitions:\n"
            "  X: {type: object, properties: {n: {type: integer}}}\n"
        ),
        "api/modern.json": (
            '{"openapi": "3.0.3", "info": {"title": "t", "version": "1"}, "paths": {"/v1/y": {"get": {'
            '"responses": {"200": {"description": "ok", "content": {"application/json": {'
            '"schema": {"type": "object", "properties": {"n": {"type": "integer", "nullable": true}}},'
            '"example": {"n": null}}}}}}}}}'
        ),
    })
    found = validate(corpus, resolver)
    assert [(d.path, d.line) for d in found] == [("api/legacy.yaml", 7), ("api/legacy.yaml", 13)]
    assert "minimum" in found[0].message


def test_swagger_body_parameter_x_example_is_validated_against_its_schema(make_corpus):
    corpus, resolver = make_corpus({
        "api/legacy.yaml": (
            "swagger: '2.0'\n"
            "info: {title: t, version: '1'}\n"
            "paths:\n"
            "  /v1/x:\n"
            "    put:\n"
            "      parameters:\n"
            "        - name: body\n"
            "          in: body\n"
            "          schema: {$ref: '#/definitions/X'}\n"
            "          x-example: {n: 'one'}\n"
            "        - {name: good, in: body, schema: {type: object}, x-example: {n: 1}}\n"
            "      responses: {200: {description: ok}}\n"
            "definitions:\n"
            "  X: {type: object, properties: {n: {type: integer}}, required: [n]}\n"
        ),
    })
    (found,) = validate(corpus, resolver)
    assert (found.code, found.path, found.line, found.column, found.pointer) == (
        "example.invalid", "api/legacy.yaml", 10, 26, "/paths/~1v1~1x/put/parameters/0/x-example/n")
    assert found.related[0].line == 14


def test_unusable_schema_is_reported_not_raised(make_corpus):
    corpus, resolver = make_corpus({
        SCHEMA + "m.bad.yaml": "type: object\nproperties: 5\n",
        EXAMPLES + "m.bad": '{"a": 1}',
    })
    found = validate(corpus, resolver)
    assert [d.code for d in found] == ["example.unchecked"]


def test_validators_are_compiled_once_per_schema(make_corpus):
    corpus, resolver = make_corpus({
        **EVENT,
        EXAMPLES + "m.note#a": '{"sender": "@a:b", "content": {"body": "1"}}',
        EXAMPLES + "m.note#b": '{"sender": "@a:b", "content": {"body": "2"}}',
        EXAMPLES + "m.note#c": '{"sender": "@a:b", "content": {"body": 3}}',
        EXAMPLES + "m.note#d": '{"sender": "@a:b", "content": {"body": 4}}',
    })
    checker = ExampleValidator(corpus, resolver)
    assert [d.code for d in checker.event_examples(_Selection(()))] == ["example.invalid"] * 2
    # Clean examples are judged by the compiled verdict, failing ones by
    # jsonschema: each validator is built once for the schema.
    assert len(checker._fast) == 1 and len(checker._validators) == 1


@pytest.mark.parametrize("text", ["[1, 2", "{\"a\": \n", "\t- x: : y"])
def test_unparsable_example_is_one_syntax_diagnostic(make_corpus, text):
    corpus, resolver = make_corpus({**EVENT, EXAMPLES + "m.note": text})
    found = validate(corpus, resolver)
    assert [d.code for d in found] == ["syntax"]
    assert found[0].line >= 1


# -- clean verdicts remembered across runs ----------------------------------------

CACHED = {
    SCHEMA + "core/event.yaml": "type: object\nproperties:\n  sender: {type: string}\nrequired: [sender]\n",
    SCHEMA + "m.note.yaml": "allOf:\n  - $ref: core/event.yaml\n",
    EXAMPLES + "m.note": '{"sender": "@alice:example.org"}',
}


@pytest.fixture
def private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv("SPECGEN_NO_CACHE", raising=False)
    return tmp_path / "xdg" / "specgen"


def _fresh_run(root):
    from specgen.corpus import Corpus
    from specgen.refs import Resolver

    corpus = Corpus(root)
    return validate(corpus, Resolver(corpus))


def test_a_clean_verdict_is_reused_until_a_referenced_file_changes(make_corpus, private_cache, monkeypatch):
    corpus, resolver = make_corpus(CACHED)
    assert validate(corpus, resolver) == []
    # An unchanged corpus is not validated again: compiling a validator fails the test.
    with monkeypatch.context() as patch:
        patch.setattr(ExampleValidator, "_validator", lambda *a: pytest.fail("validated again"))
        assert _fresh_run(corpus.root) == []
    # A change two files away (the definition the schema's allOf reaches) is seen.
    (corpus.root / SCHEMA / "core/event.yaml").write_text(
        "type: object\nproperties:\n  sender: {type: integer}\nrequired: [sender]\n")
    assert [d.code for d in _fresh_run(corpus.root)] == ["example.invalid"]
    # So is a change to the example itself.
    (corpus.root / SCHEMA / "core/event.yaml").write_text(CACHED[SCHEMA + "core/event.yaml"])
    assert _fresh_run(corpus.root) == []
    (corpus.root / EXAMPLES / "m.note").write_text('{"sender": 5}')
    assert [d.code for d in _fresh_run(corpus.root)] == ["example.invalid"]


def test_failing_examples_and_identifier_schemas_are_never_cached(make_corpus, private_cache):
    import json

    corpus, resolver = make_corpus({
        **CACHED,
        EXAMPLES + "m.note": '{"sender": 5}',
        SCHEMA + "m.tagged.yaml": "$id: https://example.org/tagged\ntype: object\n",
        EXAMPLES + "m.tagged": "{}",
    })
    assert [d.code for d in validate(corpus, resolver)] == ["example.invalid"]
    assert not (private_cache / "lint-verdicts-v1.json").exists()
    for _ in range(2):
        assert [d.code for d in _fresh_run(corpus.root)] == ["example.invalid"]
    (corpus.root / EXAMPLES / "m.note").write_text('{"sender": "@a:b"}')
    assert _fresh_run(corpus.root) == []
    assert len(json.loads((private_cache / "lint-verdicts-v1.json").read_text())) == 1


def test_example_all_of_merges_parts_and_leaves_other_examples_uncopied():
    from specgen.examples import merge_example_all_of

    plain = {"content": {"body": "hi", "list": [1, {"a": 2}]}}
    assert merge_example_all_of(plain) is plain
    parts = {"allOf": [{"a": 1, "n": {"x": 1}}, {"b": 2, "n": {"y": 2}}]}
    assert merge_example_all_of({"e": [parts]}) == {"e": [{"a": 1, "b": 2, "n": {"x": 1, "y": 2}}]}

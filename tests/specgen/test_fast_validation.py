"""The compiled clean verdict (jsonschema-rs) and Python jsonschema agree.

A differential test: wherever specgen asks jsonschema-rs first, its
``is_valid`` must equal the Python validator's, over the real schemas and
API documents (this repository's corpus, the lint fixtures, the synthetic
benchmark corpus) and over instances Hypothesis generates or mutates from
them. Disagreement in either direction fails: a wrong "valid" would lose a
diagnostic, and a wrong "invalid" would mean the fast path is not the one
we think we are using.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

import jsonschema
import pytest
from hypothesis import HealthCheck, assume, given, settings, strategies as st

from bench.synthetic_corpus import write_corpus
from specgen._fast_validation import DIALECT, DRAFT4, compile_validator, is_clean, make_registry
from specgen.corpus import Corpus
from specgen.examples import ExampleValidator, Site, _api_pairs, api_dialect, schema_dialect
from specgen.lint import api_rules, schema_rules
from specgen.refs import Resolver

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "corpora" / "lint"
SETTINGS = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# -- generated JSON and schema-like documents ---------------------------------

_SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(-3, 3), st.sampled_from([1.0, 0.5, -2.5, 2**40]),
    st.sampled_from(["", "a", "x-y", "@a:b", "2020-01-01", "[", "^a+$", "#/$defs/x", "object"]),
)
_JSON = st.recursive(_SCALARS, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(st.sampled_from(["a", "b", "body", "type", "$ref"]), inner,
                                                 max_size=3)), max_leaves=8)
_TYPES = st.sampled_from(["string", "integer", "number", "object", "array", "boolean", "null", "strin", 5])
#: Regular expressions where the ECMA dialect of jsonschema-rs and Python's
#: ``re`` differ, or either refuses.
_PATTERNS = st.sampled_from(["^[a-z]+$", "[", "(?P<name>x)", "\\p{L}", "a{2,1}", "\\d+", "(?<=a)b", "\\Z", "",
                             "^\\s$", "^\\S$", "^\\D$", "^\\W$", "^[^\\d]$", "\\bx", "^\\w+$", "^a$"])


def _schema_like(depth: int = 2):
    leaf = st.one_of(st.booleans(), st.fixed_dictionaries({}, optional={
        "type": st.one_of(_TYPES, st.lists(_TYPES, max_size=2)),
        "enum": st.lists(_SCALARS, max_size=3),
        "minLength": st.one_of(st.integers(-1, 3), st.just(1.5)),
        "required": st.one_of(st.lists(st.sampled_from(["a", "b", 1]), max_size=3, unique_by=str), st.just("a")),
        "pattern": _PATTERNS,
        "format": st.sampled_from(["uri", "date-time", "regex", "int32"]),
        "$ref": st.sampled_from(["#", "#/$defs/x", "::bad", 5]),
        "description": st.one_of(st.text(max_size=5), st.integers()),
        "nullable": st.booleans(),
        "default": _SCALARS,
        "example": _SCALARS,
    }))
    if depth == 0:
        return leaf
    inner = _schema_like(depth - 1)
    return st.one_of(leaf, st.fixed_dictionaries({}, optional={
        "type": _TYPES,
        "properties": st.one_of(st.dictionaries(st.sampled_from(["a", "b", "c"]), inner, max_size=3), _SCALARS),
        "patternProperties": st.dictionaries(_PATTERNS, inner, max_size=2),
        "items": st.one_of(inner, st.lists(inner, max_size=2)),
        "allOf": st.one_of(st.lists(inner, max_size=2), st.just([])),
        "additionalProperties": inner,
        "$defs": st.dictionaries(st.just("x"), inner, max_size=1),
        "discriminator": st.one_of(st.fixed_dictionaries({"propertyName": st.just("kind")}), _SCALARS),
    }))


# -- the metaschema of event schemas ------------------------------------------


def _real_schema_files() -> list[Path]:
    roots = [REPO / "event-schemas" / "schema", FIXTURES, _synthetic() / "event-schemas" / "schema"]
    return sorted(p for root in roots for p in root.rglob("*.yaml") if "/api/" not in p.as_posix())


@lru_cache(maxsize=None)
def _synthetic() -> Path:
    import tempfile

    root = Path(tempfile.mkdtemp(prefix="specgen-synthetic-")) / "corpus"
    write_corpus(root)
    return root


def _yaml(path: Path):
    import yaml

    try:
        return yaml.safe_load(path.read_text("utf-8"))
    except yaml.YAMLError:
        return None


def _metaschema_agree(document) -> None:
    fast = schema_rules._fast_metaschema_validator("")
    assert fast is not None
    assert is_clean(fast, document) == schema_rules._metaschema_validator("").is_valid(document), document


def test_metaschema_verdicts_agree_on_every_real_schema():
    documents = [_yaml(p) for p in _real_schema_files()]
    assert len(documents) > 100
    for document in documents:
        _metaschema_agree(document)


@SETTINGS
@given(_schema_like())
def test_metaschema_verdicts_agree_on_generated_schemas(document):
    _metaschema_agree(document)


def test_another_dialect_has_no_compiled_metaschema():
    assert schema_rules._fast_metaschema_validator("http://json-schema.org/draft-04/schema#") is None
    assert compile_validator({"$schema": "http://json-schema.org/draft-07/schema#"}) is None


# -- OpenAPI 3.1: the document schema and each schema's dialect ----------------


def _oas31_schema_checker():
    from openapi_schema_validator import OAS31_BASE_DIALECT_ID
    from openapi_spec_validator.validation.keywords import OpenAPIV31SchemaValidator

    fast = api_rules._dialect_validator(OAS31_BASE_DIALECT_ID, OpenAPIV31SchemaValidator.schema_validator_format_checker)
    python = jsonschema.validators.validator_for({"$schema": OAS31_BASE_DIALECT_ID}, default=None)
    return fast, python, OpenAPIV31SchemaValidator.schema_validator_format_checker


def _python_schema_check(python, format_checker, schema) -> bool:
    try:
        python.check_schema(schema, format_checker=format_checker)
    except jsonschema.SchemaError:
        return False
    return True


@SETTINGS
@given(_schema_like())
def test_openapi_schema_checks_agree_with_format_assertions(schema):
    fast, python, formats = _oas31_schema_checker()
    assert fast is not None
    assert is_clean(fast, schema) == _python_schema_check(python, formats, schema), schema


def test_a_pattern_python_cannot_compile_is_never_clean():
    fast, python, formats = _oas31_schema_checker()
    for pattern in ("\\p{L}", "(?<name>x)", "["):
        schema = {"type": "string", "pattern": pattern}
        assert is_clean(fast, schema) == _python_schema_check(python, formats, schema)


def _api_documents() -> list[dict]:
    found = []
    for root in (REPO, FIXTURES / "api.openapi" / "pass", FIXTURES / "api.openapi" / "fail", _synthetic()):
        corpus = Corpus(root)
        resolver = Resolver(corpus)
        for path in corpus.api_files:
            data = resolver.inline(path).data
            if isinstance(data, dict) and str(data.get("openapi", "")).startswith("3.1"):
                found.append(data)
    return found


@lru_cache(maxsize=None)
def _document_validators():
    cls = api_rules._validator_class("openapi3.1")
    document_schema = cls.schema_validator.schema
    return compile_validator(document_schema), schema_rules.crawled_validator(document_schema)


def _document_agree(document) -> None:
    fast, python = _document_validators()
    assert fast is not None
    assert is_clean(fast, document) == python.is_valid(document)


def test_openapi_document_verdicts_agree_on_every_real_api_file():
    documents = _api_documents()
    assert len(documents) > 40
    for document in documents:
        _document_agree(document)


@lru_cache(maxsize=None)
def _small_api_documents() -> list[dict]:
    """The twenty smallest: Python's verdict on a large document is slow."""
    return sorted(_api_documents(), key=lambda d: len(json.dumps(d)))[:20]


@settings(SETTINGS, max_examples=40)
@given(st.data())
def test_openapi_document_verdicts_agree_on_mutated_documents(data):
    document = data.draw(st.sampled_from(_small_api_documents()))
    _document_agree(_mutate(data, document))


def test_openapi_check_reports_exactly_what_the_python_path_reports():
    """The library's validator over the crawled Python document validator
    (the path before the compiled verdicts), against ours: the same errors
    on every API document, clean or failing."""
    import openapi_spec_validator as osv

    library = osv.OpenAPIV31SpecValidator
    python = _python_path(library, "openapi3.1")
    ours = api_rules._validator_class("openapi3.1")
    failing = 0
    for document in _api_documents():
        expected = [(list(e.absolute_path), e.message) for e in python(document).iter_errors()]
        assert [(list(e.absolute_path), e.message) for e in ours(document).iter_errors()] == expected
        failing += bool(expected)
    assert failing


# -- the clean pre-walk in front of openapi-spec-validator ----------------------


def _prewalk_agrees(document) -> bool:
    """Whether the pre-walk called ``document`` clean; when it did, the
    library must find nothing in it that specgen reports."""
    clean = api_rules._surely_clean(document, "openapi3.1")
    if clean:
        assert api_rules._library_problems(document, "openapi3.1") == [], document
    return clean


def test_the_prewalk_finds_real_clean_documents_clean_and_only_those():
    documents = [*_api_documents(), *(d for d in _layout_api_documents())]
    verdicts = [_prewalk_agrees(d) for d in documents]
    assert sum(verdicts) > 40
    failing = [d for d in documents if api_rules._library_problems(d, "openapi3.1")]
    assert failing and not any(api_rules._surely_clean(d, "openapi3.1") for d in failing)


def _layout_api_documents() -> list[dict]:
    corpus = Corpus(REPO / "tests" / "corpora" / "layouts" / "matrix-spec")
    resolver = Resolver(corpus)
    return [resolver.inline(path).data for path in corpus.api_files]


#: Keys the library looks at beyond the document schema, and nodes to set them on.
_PREWALK_KEYS = st.sampled_from(["default", "required", "allOf", "anyOf", "items", "not", "properties",
                                 "nullable", "operationId", "parameters", "tags", "name", "in", "schema",
                                 "$schema", "type", "format", "pattern", "jsonSchemaDialect"])


@settings(SETTINGS, max_examples=60)
@given(st.data())
def test_the_prewalk_never_calls_clean_what_the_library_reports(data):
    _prewalk_agrees(_drawn_and_changed(data, _small_api_documents(), _PREWALK_KEYS))


def _drawn_and_changed(data, documents, keys):
    """One of ``documents``, copied, then mutated or given one of ``keys``
    somewhere with an arbitrary value."""
    document = json.loads(json.dumps(data.draw(st.sampled_from(documents))))
    if data.draw(st.booleans()):
        return _mutate(data, document)
    node = data.draw(st.sampled_from([n for n in _nodes(document) if isinstance(n, dict)]))
    node[data.draw(keys)] = data.draw(st.one_of(_JSON, _schema_like(1)))
    return document


def _nodes(value):
    yield value
    if isinstance(value, dict):
        for child in value.values():
            yield from _nodes(child)
    elif isinstance(value, list):
        for child in value:
            yield from _nodes(child)


def _clean_document() -> dict:
    return {"openapi": "3.1.0", "info": {"title": "t", "version": "1"}, "tags": [{"name": "a"}],
            "paths": {"/rooms/{roomId}": {"get": {
                "operationId": "getRoom",
                "parameters": [{"name": "roomId", "in": "path", "required": True, "schema": {"type": "string"}}],
                "responses": {"200": {"description": "ok", "content": {"application/json": {"schema": {
                    "type": "object", "allOf": [{"properties": {"a": {"type": "string"}}}],
                    "properties": {"limit": {"type": "integer", "format": "int32", "default": 10}},
                    "required": ["a", "limit"]}}}}}}}},
            "components": {"schemas": {"Event": {"type": "object", "properties": {
                "depth": {"type": "integer", "default": 1}}}}}}


def _broken(change) -> dict:
    document = _clean_document()
    change(document)
    return document


_OPERATION = ("paths", "/rooms/{roomId}", "get")


def _at(document, *path):
    for token in path:
        document = document[token]
    return document


@pytest.mark.parametrize("change", [
    lambda d: _at(d, *_OPERATION, "parameters").append(dict(_at(d, *_OPERATION, "parameters", 0))),
    lambda d: _at(d, "paths").update({"/other": {"get": {**_at(d, *_OPERATION)}}}),
    lambda d: _at(d, "tags").append({"name": "a"}),
    lambda d: _at(d, "paths").update({"/broken/{x": {"get": {"responses": {"200": {"description": "ok"}}}}}),
    lambda d: _at(d, *_OPERATION, "responses", "200", "content", "application/json", "schema",
                  "required").append("undefined"),
    lambda d: _at(d, "components", "schemas", "Event", "properties", "depth").update(default="one"),
    lambda d: _at(d, *_OPERATION, "responses", "200", "content", "application/json", "schema", "properties",
                  "limit").update(default=2**40),
    lambda d: _at(d, "components", "schemas").update(Bad={"type": "strin"}),
    lambda d: _at(d, "components", "schemas").update(Bad={"$schema": 5}),
], ids=["duplicate parameter", "duplicate operationId", "duplicate tag", "unparsable path template",
        "required through allOf", "default of the wrong type", "default outside int32", "bad metaschema",
        "unknown dialect"])
def test_each_check_the_library_makes_is_mirrored(change):
    assert api_rules._surely_clean(_clean_document(), "openapi3.1")
    assert api_rules._library_problems(_clean_document(), "openapi3.1") == []
    document = _broken(change)
    assert not api_rules._surely_clean(document, "openapi3.1")
    assert api_rules._library_problems(document, "openapi3.1")


def test_the_prewalk_reads_the_library_document_schema():
    from openapi_spec_validator.schemas import schema_v31

    schema = api_rules._document_schema("3.1")
    assert schema == dict(schema_v31)


def test_the_prewalk_reads_the_library_metaschemas():
    from openapi_schema_validator._dialects import OPENAPI_SPECIFICATIONS

    library = {uri: OPENAPI_SPECIFICATIONS.contents(uri) for uri in OPENAPI_SPECIFICATIONS
               if uri.startswith(api_rules._DIALECT_PREFIXES)}
    assert api_rules._metaschema_resources() == library


_FORMAT_VALUES = st.one_of(_SCALARS, st.integers(), st.text(max_size=6), st.sampled_from([
    2**31 - 1, 2**31, -2**31, -2**31 - 1, 2**63 - 1, 2**63, -2**63, -2**63 - 1, True, 1.5, float("inf"),
    "(?<n>x)", "\\p{L}", "[", "http://a b", "a:b", "//x", "QUJD", "x@y"]))


@SETTINGS
@given(st.sampled_from(["int32", "int64", "float", "double", "password", "regex", "iri", "uri", "uri-reference",
                        "email", "date-time", "byte", "binary", "mx-user-id"]), _FORMAT_VALUES)
def test_the_prewalk_asserts_formats_as_the_library_does(name, value):
    from openapi_schema_validator import oas31_format_checker

    assert api_rules._oas31_formats().conforms(value, name) == oas31_format_checker.conforms(value, name)


@SETTINGS
@given(_schema_like(), st.sampled_from(["https://spec.openapis.org/oas/3.1/dialect/base",
                                        "https://json-schema.org/draft/2020-12/schema"]))
def test_the_prewalk_metaschema_verdicts_agree_with_the_library(schema, dialect):
    _, _, formats = _oas31_schema_checker()
    python = jsonschema.validators.validator_for({"$schema": dialect}, default=None)
    fast = api_rules._metaschema_validator(dialect)
    assert fast is not None
    assert is_clean(fast, schema) == _python_schema_check(python, formats, schema), schema


def test_the_prewalk_leaves_other_versions_and_references_to_the_library():
    assert not api_rules._surely_clean({**_clean_document(), "openapi": "3.0.3"}, "openapi3.0")
    document = _clean_document()
    document["components"]["schemas"]["Ref"] = {"$ref": "#/components/schemas/Event"}
    assert not api_rules._surely_clean(document, "openapi3.1")


# -- Swagger 2.0: the pre-walk, the document schema and the draft 4 metaschema --


def _swagger2_clean() -> dict:
    """A small Swagger 2.0 document of our own that meets every check the
    library makes: each fixture below breaks exactly one of them."""
    return {"swagger": "2.0", "info": {"title": "t", "version": "1"}, "tags": [{"name": "a"}, {"name": "b"}],
            "paths": {"/rooms/{roomId}": {
                "parameters": [{"name": "roomId", "in": "path", "required": True, "type": "string"}],
                "get": {"operationId": "getRoom", "tags": ["a"],
                        "parameters": [{"name": "limit", "in": "query", "type": "integer", "format": "int32",
                                        "default": 10}],
                        "responses": {"200": {"description": "ok", "schema": {
                            "type": "object", "allOf": [{"properties": {"a": {"type": "string"}}}],
                            "properties": {"depth": {"type": "integer", "default": 1},
                                           "tags": {"type": "array", "items": {"type": "string",
                                                                               "default": "x"}}},
                            "required": ["a", "depth"]}}}},
                "put": {"operationId": "putRoom",
                        "parameters": [{"name": "body", "in": "body", "required": True, "schema": {
                            "type": "object", "properties": {"name": {"type": "string", "pattern": "^[a-z]+$"}}}}],
                        "responses": {"200": {"description": "ok"}}}}},
            "definitions": {"Event": {"type": "object", "properties": {"kind": {"type": "string"}}}}}


_GET = ("paths", "/rooms/{roomId}", "get")
_PUT = ("paths", "/rooms/{roomId}", "put")
_GET_SCHEMA = (*_GET, "responses", "200", "schema")
_BODY_SCHEMA = (*_PUT, "parameters", 0, "schema")


def _swagger2_broken(change) -> dict:
    document = _swagger2_clean()
    change(document)
    return document


#: One fixture per check of the library's Swagger 2.0 validator that the
#: pre-walk mirrors; dropping any one mirror makes its case fail.
_SWAGGER2_FAULTS = {
    "document schema": lambda d: _at(d, *_GET).update(example=1),
    "duplicate path-level parameter": lambda d: _at(d, "paths", "/rooms/{roomId}", "parameters").append(
        dict(_at(d, "paths", "/rooms/{roomId}", "parameters", 0))),
    "duplicate operation parameter": lambda d: _at(d, *_GET, "parameters").append(dict(_at(d, *_GET, "parameters", 0))),
    "duplicate operationId": lambda d: _at(d, *_PUT).update(operationId="getRoom"),
    "duplicate tag": lambda d: _at(d, "tags").append({"name": "a"}),
    "unparsable path template": lambda d: _at(d, "paths").update(
        {"/broken/{x": {"get": {"responses": {"200": {"description": "ok"}}}}}),
    "required through allOf": lambda d: _at(d, *_GET_SCHEMA, "required").append("undefined"),
    "schema default of the wrong type": lambda d: _at(d, *_GET_SCHEMA, "properties", "depth").update(default="one"),
    "nested default of the wrong type": lambda d: _at(d, *_GET_SCHEMA, "properties", "tags", "items").update(default=2),
    "parameter default of the wrong type": lambda d: _at(d, *_GET, "parameters", 0).update(default="ten"),
    "parameter default outside int32": lambda d: _at(d, *_GET, "parameters", 0).update(default=2**40),
    "metaschema of a response schema": lambda d: _at(d, *_GET_SCHEMA, "properties", "depth").update(type="strin"),
    "metaschema of a body schema": lambda d: _at(d, *_BODY_SCHEMA).update(minProperties=-1),
    "pattern that is no regex": lambda d: _at(d, *_BODY_SCHEMA, "properties", "name").update(pattern="(a"),
    "items as a list": lambda d: _at(d, *_GET_SCHEMA, "properties", "tags").update(items=[{"type": "string"}]),
}


@pytest.mark.parametrize("change", _SWAGGER2_FAULTS.values(), ids=_SWAGGER2_FAULTS.keys())
def test_each_swagger2_check_the_library_makes_is_mirrored(change):
    assert api_rules._surely_clean(_swagger2_clean(), "swagger2")
    assert api_rules._library_problems(_swagger2_clean(), "swagger2") == []
    document = _swagger2_broken(change)
    assert api_rules._library_problems(document, "swagger2")
    assert not api_rules._surely_clean(document, "swagger2")


def test_swagger2_what_the_prewalk_cannot_prove_goes_to_the_library():
    """``type: file`` fails the metaschema the library checks by, and
    specgen drops that finding: the library is asked, and reports nothing.
    A ``$ref`` left in the document is the library's to resolve."""
    document = _swagger2_broken(lambda d: _at(d, *_GET, "responses", "200").update(schema={"type": "file"}))
    assert not api_rules._surely_clean(document, "swagger2")
    assert api_rules._library_problems(document, "swagger2") == []
    document = _swagger2_broken(lambda d: _at(d, *_GET_SCHEMA, "properties").update(
        event={"$ref": "#/definitions/Event"}))
    assert not api_rules._surely_clean(document, "swagger2")
    assert not api_rules._surely_clean(_swagger2_clean(), "openapi3.0")


@pytest.mark.parametrize("change, reason", [
    (lambda d: _at(d, *_GET, "parameters", 0).update(type="string", pattern="[", default="x"),
     "validation stopped: unterminated character set"),
    (lambda d: _at(d, *_GET, "parameters", 0).update(type="x", default="x"), "validation stopped: unknown type 'x'"),
    (lambda d: d.update(paths=[1]), "validation stopped: the validator could not go on"),
], ids=["pattern of a default", "type of a default", "paths as a list"])
def test_where_the_library_gives_up_is_a_finding_not_a_crash(change, reason):
    """A document the library cannot finish checking (it raises, or one
    of its own assertions fails) is reported where the document starts."""
    document = _swagger2_broken(change)
    assert not api_rules._surely_clean(document, "swagger2")
    assert ("", reason) in [(pointer, text[:len(reason)]) for pointer, text in
                            api_rules._library_problems(document, "swagger2")]


@pytest.mark.parametrize("kind", ["swagger2", "openapi3.1"])
def test_a_reference_left_in_the_document_is_not_followed_by_the_library(tmp_path, kind):
    """A reference outside the corpus stays in the inlined document (the
    ref rules report it); the library must not open it itself."""
    outside = tmp_path / "outside.json"
    outside.write_text('{"type": "object"}', "utf-8")
    for uri in (outside.as_uri(), "http://127.0.0.1:9/schema.json"):
        if kind == "swagger2":
            document = _swagger2_broken(lambda d: _at(d, *_GET, "responses", "200").update(schema={"$ref": uri}))
        else:
            document = _broken(lambda d: _at(d, "components", "schemas").update(Outside={"$ref": uri}))
        assert not api_rules._surely_clean(document, kind)
        assert api_rules._library_problems(document, kind) == [
            ("", f"validation stopped: reference {uri!r} is not followed (only the corpus is read)")]


@lru_cache(maxsize=None)
def _swagger2_documents() -> tuple:
    """Our own Swagger 2.0 documents: the fixture above, its faulty forms,
    and every one in the fixture corpora."""
    found = [_swagger2_clean(), *(_swagger2_broken(change) for change in _SWAGGER2_FAULTS.values())]
    for root in (REPO / "tests" / "corpora" / "legacy", REPO / "tests" / "corpora" / "layouts" / "matrix-doc",
                 FIXTURES / "api.openapi" / "pass", FIXTURES / "api.openapi" / "fail",
                 FIXTURES / "api.duplicate-endpoint" / "fail"):
        corpus = Corpus(root)
        resolver = Resolver(corpus)
        for path in corpus.api_files:
            data = resolver.inline(path).data
            if isinstance(data, dict) and data.get("swagger") == "2.0":
                found.append(data)
    return tuple(found)


@lru_cache(maxsize=None)
def _swagger2_document_validators():
    from openapi_spec_validator.schemas import schema_v2

    return (api_rules._document_validator("2.0", api_rules.DRAFT4),
            schema_rules.crawled_validator(dict(schema_v2)))


def _swagger2_document_agree(document) -> None:
    fast, python = _swagger2_document_validators()
    assert fast is not None
    assert is_clean(fast, document) == python.is_valid(document), document


def test_swagger2_document_verdicts_agree_on_our_documents():
    documents = _swagger2_documents()
    assert len(documents) > 20
    for document in documents:
        _swagger2_document_agree(document)


def test_the_prewalk_reads_the_library_swagger2_document_schema():
    from openapi_spec_validator.schemas import schema_v2

    assert api_rules._document_schema("2.0") == dict(schema_v2)


@settings(SETTINGS, max_examples=60)
@given(st.data())
def test_swagger2_document_verdicts_agree_on_mutated_documents(data):
    _swagger2_document_agree(_mutate(data, data.draw(st.sampled_from(_swagger2_documents()))))


def _draft4_schema_check(schema) -> bool:
    """The library's check of a schema in a Swagger 2.0 document."""
    from openapi_schema_validator import OAS30Validator

    try:
        OAS30Validator.check_schema(schema)
    except jsonschema.SchemaError:
        return False
    return True


def test_the_draft4_metaschema_is_the_library_one():
    from openapi_schema_validator import OAS30Validator

    assert jsonschema.Draft4Validator.META_SCHEMA == OAS30Validator.META_SCHEMA


@SETTINGS
@given(st.one_of(_schema_like(), st.fixed_dictionaries({}, optional={
    "type": st.sampled_from(["file", "integer", ["string", "null"], []]),
    "minimum": st.sampled_from([0, 1.5, "1"]), "exclusiveMinimum": st.booleans(),
    "maxLength": st.sampled_from([1, 1.0, -1, 2**70]), "uniqueItems": st.sampled_from([True, 1]),
    "required": st.sampled_from([[], ["a", "a"], ["a"]]), "enum": st.sampled_from([[], [1, True], [1, 1.0]]),
    "id": st.sampled_from(["x", 5]), "$schema": st.sampled_from(["x", 5])})))
def test_swagger2_metaschema_verdicts_agree_with_the_library(schema):
    fast = api_rules._draft4_metaschema_validator()
    assert fast is not None
    assert is_clean(fast, schema) == _draft4_schema_check(schema), schema


@SETTINGS
@given(_FORMAT_VALUES)
def test_the_swagger2_regex_format_is_the_library_one(value):
    from openapi_schema_validator import oas30_format_checker

    assert api_rules._oas31_formats().conforms(value, "regex") == oas30_format_checker.conforms(value, "regex")


_SWAGGER2_KEYS = st.sampled_from(["default", "required", "allOf", "items", "properties", "operationId",
                                  "parameters", "tags", "name", "in", "schema", "type", "format", "pattern",
                                  "nullable", "minimum", "enum"])


@settings(SETTINGS, max_examples=80)
@given(st.data())
def test_the_swagger2_prewalk_never_calls_clean_what_the_library_reports(data):
    document = _drawn_and_changed(data, _swagger2_documents()[:1 + len(_SWAGGER2_FAULTS)], _SWAGGER2_KEYS)
    if api_rules._surely_clean(document, "swagger2"):
        assert api_rules._library_problems(document, "swagger2") == [], document


def test_swagger2_check_reports_exactly_what_the_python_path_reports():
    """The library's Swagger 2.0 validator with Python verdicts only,
    against ours (compiled verdicts first): the same errors, clean or not."""
    import openapi_spec_validator as osv

    library = osv.OpenAPIV2SpecValidator
    python = _python_path(library, "swagger2")
    ours = api_rules._validator_class("swagger2")
    failing = 0
    for document in _swagger2_documents():
        expected = _outcome(python, document)
        assert _outcome(ours, document) == expected
        failing += bool(expected)
    assert failing > 10


@settings(SETTINGS, max_examples=40)
@given(st.data())
def test_swagger2_check_reports_what_the_python_path_reports_on_mutated_documents(data):
    """Each ``$ref`` of the document schema is asked of its compiled
    verdict first: over mutated documents, the errors stay the Python
    path's, message for message."""
    import openapi_spec_validator as osv

    library = osv.OpenAPIV2SpecValidator
    python = _python_path(library, "swagger2")
    document = _mutate(data, data.draw(st.sampled_from(_swagger2_documents())))
    assume(not api_rules._holds_referencing_key(document))  # the library would go looking for it
    assert _outcome(api_rules._validator_class("swagger2"), document) == _outcome(python, document)


def _python_path(library, kind: str):
    """The library's validator over the Python path alone: its document
    schema crawled, and every schema's metaschema findings reported in
    document order (as ours does) without the compiled verdict first."""
    return type("Python", (library,), {
        "schema_validator": schema_rules.crawled_validator(dict(library.schema_validator.schema)),
        "keyword_validators": {**library.keyword_validators,
                               "schema": api_rules._fast_schema_keyword(kind, compiled=False)}})


def _outcome(validator_class, document) -> list:
    """Each error as (path, message), or the exception that stopped it."""
    try:
        return [(list(e.absolute_path), e.message) for e in validator_class(document).iter_errors()]
    except Exception as exc:  # noqa: BLE001 - the library stops on malformed documents; both must stop alike
        return [("raised", repr(exc))]


# -- examples against their schemas --------------------------------------------


def _example_pairs(root: Path):
    corpus = Corpus(root)
    checker = ExampleValidator(corpus, Resolver(corpus))
    for event_type, group in sorted(corpus.examples.items()):
        schema_path = corpus.schemas.get(event_type)
        if schema_path is None or corpus.document(schema_path) is None:
            continue
        schema = corpus.document(schema_path).data
        for example in group:
            loaded = corpus.document(example.path)
            if loaded is not None:
                inlined = checker.resolver.inline(example.path, loaded.data, "").data
                yield checker, Site(schema_path, "", schema), inlined, schema_dialect(schema)


def _api_example_pairs(root: Path):
    """The API examples of ``root`` with their schemas: OpenAPI 3.1's are
    2020-12, Swagger 2.0's and OpenAPI 3.0's draft 4."""
    corpus = Corpus(root)
    checker = ExampleValidator(corpus, Resolver(corpus))
    for path in corpus.api_files:
        document = corpus.document(path)
        if document is None or not isinstance(document.data, dict):
            continue
        cls = api_dialect(document.data)
        for schema, example in _api_pairs(checker._follow, Site(path, "", document.data)):
            inlined = checker.resolver.inline(example.path, example.node, example.pointer).data
            yield checker, schema, inlined, cls


#: Our corpora with Swagger 2.0 documents and their examples.
_SWAGGER_ROOTS = (REPO / "tests" / "corpora" / "legacy", REPO / "tests" / "corpora" / "layouts" / "matrix-doc")


@lru_cache(maxsize=None)
def _pairs():
    pairs = [*_example_pairs(REPO), *_example_pairs(FIXTURES / "example.invalid" / "fail"),
             *_example_pairs(FIXTURES / "example.invalid" / "pass"), *list(_api_example_pairs(REPO))[::4],
             *(pair for root in _SWAGGER_ROOTS for pair in _api_example_pairs(root))]
    synthetic = list(_example_pairs(_synthetic()))
    return pairs + synthetic[::20]


def _example_agree(checker, schema, instance, cls) -> bool:
    fast = checker._fast_validator(schema, cls)
    if fast is None:
        return False
    assert is_clean(fast, instance) == checker._validator(schema, cls).is_valid(instance), (schema.path, instance)
    return True


def test_example_verdicts_agree_on_every_real_example():
    compared = sum(_example_agree(*pair) for pair in _pairs())
    assert compared > 50
    draft4 = [pair for pair in _pairs() if pair[3] is not jsonschema.Draft202012Validator]
    assert sum(_example_agree(*pair) for pair in draft4) > 5


#: Keywords whose judgement could differ between the two implementations.
_KEYWORD_SCHEMAS = st.fixed_dictionaries({}, optional={
    "type": _TYPES, "multipleOf": st.sampled_from([0.1, 0.01, 3, 0.5, 2.0]),
    "maximum": st.sampled_from([5, 5.5, 2**63, 2**70]), "exclusiveMaximum": st.sampled_from([True, False, 5]),
    "minimum": st.sampled_from([0, -1.5, -2**63]), "exclusiveMinimum": st.sampled_from([True, False, 0]),
    "maxLength": st.sampled_from([0, 1, 2]), "minItems": st.sampled_from([1, 2]), "uniqueItems": st.booleans(),
    "enum": st.lists(_SCALARS, max_size=3), "pattern": _PATTERNS, "format": st.sampled_from(["email", "int32"]),
    "nullable": st.booleans(), "dependencies": st.just({"a": ["b"]}), "additionalItems": st.booleans(),
    "items": st.sampled_from([{"type": "string"}, [{"type": "string"}]]), "required": st.just(["a"]),
    "properties": st.just({"a": {"$ref": "#/definitions/d", "type": "integer"}}),
    "definitions": st.just({"d": {"type": "string"}}), "$defs": st.just({"d": {"type": "string"}})})
_KEYWORD_INSTANCES = st.one_of(_JSON, st.sampled_from([
    0.3, 0.07, 9.0000001, 1.0, 5, 5.0, 2**63, 2**63 + 1, 2**70, -2**63 - 1, "a\n", "\U0001F600", "ab", [1, True],
    "\ufeff", "\x1c", "\x85", "\u0663", "\u00e9", "\u00e9x", "x",
    [1, 1.0], ["a", 1], {"a": 1}, {"a": "s"}, {"a": 1, "b": 2}, None]))


@SETTINGS
@given(_KEYWORD_SCHEMAS, _KEYWORD_INSTANCES, st.sampled_from([
    (jsonschema.Draft202012Validator, DIALECT), (jsonschema.Draft4Validator, DRAFT4)]))
def test_compiled_verdicts_agree_keyword_by_keyword(schema, instance, dialect):
    """Wherever a schema compiles, what jsonschema-rs calls clean
    jsonschema finds valid, keyword by keyword (a fractional
    ``multipleOf``, a pattern ``re`` refuses, do not compile). The other
    way round only costs time: ``re`` matches more than ECMA-262 in places
    (``$`` before a final newline)."""
    cls, uri = dialect
    fast = compile_validator(schema, dialect=uri)
    try:
        expected = cls(schema).is_valid(instance)
    except Exception:  # noqa: BLE001 - a schema Python cannot use is never called clean
        expected = False
    if is_clean(fast, instance):
        assert expected, (schema, instance)


def test_a_pattern_python_refuses_is_left_to_jsonschema():
    for pattern in ("(?P<name>x", "\\p{L}", "^\\s$", "^\\W$", "^[^a\\d]$"):
        assert compile_validator({"pattern": pattern}) is None
        assert compile_validator({"patternProperties": {pattern: {}}}, dialect=DRAFT4) is None
    assert compile_validator({"pattern": 5}) is None
    assert compile_validator({"pattern": "^[a-z]+$", "properties": {"pattern": {}}}, dialect=DRAFT4) is not None


def test_a_fractional_multiple_is_left_to_jsonschema():
    assert compile_validator({"multipleOf": 0.1}) is None
    assert compile_validator({"properties": {"a": {"multipleOf": 0.5}}}, dialect=DRAFT4) is None
    assert make_registry([("file:///a.yaml", {"multipleOf": 0.1})]) is None
    assert compile_validator({"multipleOf": 3}) is not None


def test_a_draft4_schema_read_differently_is_left_to_jsonschema(make_corpus):
    """OpenAPI 3.0's ``nullable``, and another ``$schema`` anywhere, keep
    a draft 4 schema on the Python path; a plain one compiles."""
    corpus, resolver = make_corpus({
        "event-schemas/schema/m.plain.yaml": "$schema: 'http://json-schema.org/draft-04/schema#'\ntype: object\n"
                                             "properties:\n  content: {$ref: core/c.yaml}\n",
        "event-schemas/schema/m.nullable.yaml": "type: object\nproperties:\n  a: {type: string, nullable: true}\n",
        "event-schemas/schema/m.mixed.yaml": "type: object\nproperties:\n  a: {$schema: 'https://json-schema.org/"
                                             "draft/2020-12/schema', type: string}\n",
        "event-schemas/schema/core/c.yaml": "type: object\n",
    })
    checker = ExampleValidator(corpus, resolver)
    from specgen.examples import _OpenAPI30Validator

    def fast(name, cls):
        path = corpus.schemas[name]
        return checker._fast_validator(Site(path, "", corpus.document(path).data), cls)

    assert fast("m.plain", jsonschema.Draft4Validator) is not None
    assert fast("m.plain", _OpenAPI30Validator) is not None
    assert fast("m.nullable", _OpenAPI30Validator) is None
    assert fast("m.mixed", jsonschema.Draft4Validator) is None


@SETTINGS
@given(st.data())
def test_example_verdicts_agree_on_mutated_examples(data):
    checker, schema, instance, cls = data.draw(st.sampled_from(_pairs()))
    _example_agree(checker, schema, _mutate(data, instance), cls)


def test_the_registry_is_crawled_up_front_only_where_that_changes_no_answer():
    import referencing
    from referencing.jsonschema import DRAFT202012
    from specgen.examples import _crawled

    plain = referencing.Registry().with_resources([
        ("file:///a.yaml", DRAFT202012.create_resource({"properties": {"x": {"$ref": "b.yaml"}}})),
        ("file:///b.yaml", DRAFT202012.create_resource({"$defs": {"y": {"$anchor": "y"}}}))])
    crawled = _crawled(plain)
    assert crawled is not plain and all(crawled[uri] is plain[uri] for uri in plain)
    assert crawled.anchor("file:///b.yaml", "y").value.name == "y"
    hijacked = plain.with_resource("file:///c.yaml", DRAFT202012.create_resource(
        {"$defs": {"x": {"$id": "file:///a.yaml"}}}))
    assert _crawled(hijacked) is hijacked


def test_a_reference_cycle_is_left_to_jsonschema(make_corpus):
    corpus, resolver = make_corpus({
        "event-schemas/schema/m.loop.yaml": "type: object\nproperties:\n  content: {$ref: core/a.yaml}\n",
        "event-schemas/schema/core/a.yaml": "$ref: b.yaml\n",
        "event-schemas/schema/core/b.yaml": "$ref: a.yaml\n",
    })
    checker = ExampleValidator(corpus, resolver)
    path = corpus.schemas["m.loop"]
    assert checker._fast_validator(Site(path, "", corpus.document(path).data), jsonschema.Draft202012Validator) is None


def test_nothing_is_fetched():
    assert compile_validator({"$ref": "https://example.org/schema.json"}) is None
    registry = make_registry([("file:///a.yaml", {"$ref": "file:///missing.yaml"})])
    assert compile_validator({"$ref": "file:///a.yaml"}, registry) is None


def test_an_instance_it_cannot_convert_is_not_clean():
    validator = compile_validator({"type": "object"})
    assert is_clean(validator, {"a": 1}) and not is_clean(validator, {1: object()})
    assert not is_clean(None, {})


# -- mutation ----------------------------------------------------------------


def _mutate(data, value):
    """``value`` with one node replaced, dropped or retyped (a copy)."""
    value = json.loads(json.dumps(value))
    paths = list(_paths(value, ()))
    path = data.draw(st.sampled_from(paths))
    replacement = data.draw(_JSON)
    if not path:
        return replacement
    parent = value
    for token in path[:-1]:
        parent = parent[token]
    if isinstance(parent, dict) and data.draw(st.booleans()):
        del parent[path[-1]]
    else:
        parent[path[-1]] = replacement
    return value


def _paths(node, prefix):
    yield prefix
    if isinstance(node, dict):
        for key, child in node.items():
            yield from _paths(child, (*prefix, key))
    elif isinstance(node, list):
        for i, child in enumerate(node):
            yield from _paths(child, (*prefix, i))


pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

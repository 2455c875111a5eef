"""Invariant: any bytes, and any generated JSON/YAML document, given as a
schema, example or API file, produce diagnostics or success, never an
exception."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings, strategies as st

from specgen.corpus import Corpus
from specgen.examples import validate
from specgen.refs import Resolver
from specgen.diagnostics import Diagnostic
from specgen.sources import MAX_ALIAS_NODES, MAX_DEPTH, iter_mappings, load_document

_KEYS = st.sampled_from(["type", "properties", "items", "$ref", "allOf", "required", "enum",
                         "example", "examples", "paths", "openapi", "swagger", "content", "schema", "x"])
_REFS = st.sampled_from(["#", "#/properties", "core/x.yaml", "m.b.yaml#/a", "../nope.json",
                         "https://example.com/s.json", "#/definitions/~1x", "%zz", "file:///etc/hostname"])
_SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-10**20, 10**20), st.floats(allow_nan=False),
                     st.text(max_size=8), _REFS, st.sampled_from(["object", "string", "integer", "array"]))
_DOCS = st.recursive(
    _SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(_KEYS, inner, max_size=5)),
    max_leaves=25,
)
_ROLES = ["event-schemas/schema/m.a.yaml", "event-schemas/schema/core/x.yaml",
          "event-schemas/examples/m.a", "event-schemas/examples/m.a#v.json", "api/server-server/a.yaml"]
_SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.fixture(autouse=True, scope="module")
def _module_cache(tmp_path_factory):
    """The parse cache of thousands of generated files goes to a directory
    of this run, not the developer's ~/.cache."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("xdg-cache")))
        yield


def _run(files: dict[str, bytes]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "event-schemas/schema/m.b.yaml").parent.mkdir(parents=True)
        (root / "event-schemas/schema/m.b.yaml").write_text("a: {type: string}\n")
        for name, raw in files.items():
            path = root / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(raw)
        corpus = Corpus(root)
        resolver = Resolver(corpus)
        found = validate(corpus, resolver)
        for path in corpus.data_files():
            loaded = corpus.load(path)
            if not isinstance(loaded, Diagnostic):
                found.extend(resolver.inline(path).diagnostics)
                for pointer, ref in resolver.iter_refs(loaded):
                    resolver.resolve(path, ref, at=pointer)
        assert all(isinstance(d, Diagnostic) and d.line >= 0 for d in [*found, *resolver.problems()])


@_SETTINGS
@given(raw=st.binary(max_size=200), role=st.sampled_from(_ROLES))
def test_any_bytes_in_any_role(raw, role):
    _run({role: raw, "event-schemas/examples/m.b": b'{"a": 1}'})


@_SETTINGS
@given(doc=_DOCS, other=_DOCS, as_json=st.booleans(), role=st.sampled_from(_ROLES))
def test_any_document_in_any_role(doc, other, as_json, role):
    text = json.dumps(doc) if as_json else yaml.safe_dump(doc)
    _run({role: text.encode(), "event-schemas/schema/core/x.yaml": yaml.safe_dump(other).encode(),
          "event-schemas/examples/m.b": json.dumps(other).encode()})


@_SETTINGS
@given(raw=st.binary(max_size=300), suffix=st.sampled_from([".yaml", ".json", ""]))
def test_load_document_never_raises(raw, suffix):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"f{suffix}"
        path.write_bytes(raw)
        result = load_document(path)
        if not isinstance(result, Diagnostic):
            result.locate("/a/0")


def _nesting(depth: int, form: str) -> str:
    if form == "flow":
        return "a: " + "[" * depth + "]" * depth + "\n"
    if form == "block":
        return "a:\n" + "- " * depth + "x\n"
    if form == "mapping":  # indentation grows with depth: a few hundred levels say enough
        depth = min(depth, 300)
        return "".join("  " * i + "k:\n" for i in range(depth)) + "  " * depth + "v\n"
    return '{"a": ' + "[" * depth + "]" * depth + "}"


def _aliases(levels: int, fan: int) -> str:
    names = [f"n{i}" for i in range(levels + 1)]
    return f"{names[0]}: &{names[0]} [x]\n" + "".join(
        f"{names[i + 1]}: &{names[i + 1]} [{', '.join(['*' + names[i]] * fan)}]\n" for i in range(levels))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(depth=st.integers(1, 200_000), form=st.sampled_from(["flow", "block", "mapping", "json"]),
       levels=st.integers(0, 12), fan=st.integers(1, 12), duplicate=st.booleans())
def test_nesting_aliases_and_duplicates_end_in_a_document_or_a_located_error(depth, form, levels, fan, duplicate):
    """Any depth, any alias fan-out, any repeated key: a document within the
    bounds, or a located ``syntax`` diagnostic; never an exception, a crash
    of the C parser, or a data structure bigger than the budget."""
    text = _nesting(depth, form) if form == "json" else _nesting(depth, form) + _aliases(levels, fan)
    if duplicate:
        text = text.replace('{"a": ', '{"a": 1, "a": ', 1) if form == "json" else text + text.split(":", 1)[0] + ": again\n"
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / ("f.json" if form == "json" else "f.yaml")
        path.write_text(text)
        result = load_document(path)
    if isinstance(result, Diagnostic):
        assert result.code.startswith("syntax") and result.line >= 1
        if duplicate:
            assert result.code in ("syntax.duplicate-key", "syntax.too-deep", "syntax.alias")
    else:
        assert not duplicate and min(depth, 300) < MAX_DEPTH and sum(1 for _ in iter_mappings(result.data)) <= MAX_ALIAS_NODES

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
from specgen.sources import load_document

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

"""The data built straight from libyaml's events equals the composed path's.

:meth:`specgen.sources._Loader.plain_data` builds a file's data without
composing nodes, for plain YAML, and gives up (``MISSING``) on anything
else. A differential test: over generated texts full of the scalars and
keys YAML 1.1 reads in surprising ways (booleans, nulls, octal, sexagesimal,
merge keys, tags, anchors, duplicates, flow collections), whenever it
answers, the composed path must succeed with exactly the same data, types
and key order included; and the spec files it is made for must not fall
back.
"""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, given, settings, strategies as st

from specgen import sources

REPO = Path(__file__).resolve().parents[2]

_SCALARS = st.sampled_from([
    "a", "a b", "yes", "No", "on", "OFF", "~", "null", "Null", "", "0x1F", "0o17", "017", "0b101", "1_000",
    "190:20:30", "-1.5e3", "1e3", "6.8523015e+5", ".inf", "-.Inf", ".NaN", "2020-01-01", "2001-12-14t21:59:43.10-05:00",
    "12:30:45", "'q'", "''", '"d\\n"', '"\\u00e9"', "=", "<<", "!!str 5", "!!int '7'", "!!binary aGk=", "&a x", "*a",
    "[1, {b: c}]", "{x: 1, x: 2}", "{}", "[]", "true", "False", "- x", "? y", "|\n  lit", ">\n  folded", "'it''s'",
    "@a:b", "#c", "x #c", "9" * 30, "-0", "+5", "1.", "0.", "._", "!x y",
])
_KEYS = st.sampled_from(["a", "b", "200", "'200'", "1", "1.0", "true", "yes", "~", "null", "<<", "=", "'a'",
                         "\"b\"", "[k]", "{k: v}", "? c", "$ref", "a b", "x-y", "!!str k", "&k a", "*a", ""])


def _tree():
    return st.recursive(_SCALARS, lambda inner: st.one_of(
        st.lists(inner, min_size=1, max_size=3).map(lambda items: ("seq", items)),
        st.lists(st.tuples(_KEYS, inner), min_size=1, max_size=3).map(lambda pairs: ("map", pairs)),
    ), max_leaves=10)


def _render(node, indent: int = 0) -> str:
    pad = " " * indent
    if isinstance(node, str):
        return node
    kind, items = node
    lines = []
    if kind == "seq":
        for item in items:
            text = _render(item, indent + 2)
            lines.append(f"{pad}-" + ("\n" + text if isinstance(item, tuple) else " " + text))
    else:
        for key, value in items:
            text = _render(value, indent + 2)
            lines.append(f"{pad}{key}:" + ("\n" + text if isinstance(value, tuple) else " " + text))
    return "\n".join(lines)


def _composed(text: str):
    """The data of the node-composing path, or ``None`` when it fails."""
    try:
        loader = sources._Loader(text)
        try:
            node = loader.get_single_node()
            return (loader.construct_document(node) if node is not None else None,)
        finally:
            loader.dispose()
    except Exception:  # noqa: BLE001 - any failure means the fast path must not have answered
        return None


def _agree(text: str) -> bool:
    fast = sources._plain_data(text)
    if fast is sources.MISSING:
        return False
    composed = _composed(text)
    assert composed is not None, text
    assert repr(fast) == repr(composed[0]), text  # repr: types and order count, and NaN is itself
    return True


def _index_agrees(text: str) -> bool:
    """The positions read from the events equal those of the composed nodes."""
    fast = sources._plain_index(text)
    if fast is None:
        return False
    composed = sources._compose(text)
    assert isinstance(composed, sources.yaml.Node), text
    assert fast == sources._index(composed), text
    return True


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_tree(), st.booleans())
def test_plain_data_equals_the_composed_data_or_gives_way(tree, flow):
    text = _render(tree)
    if flow and isinstance(tree, tuple):
        text = "top: " + text.replace("\n", " ") if tree[0] == "map" and "\n" not in text else text
    _agree(text + "\n")
    _index_agrees(text + "\n")


def test_spec_files_take_the_plain_path():
    files = sorted((REPO / "event-schemas").rglob("*.yaml")) + sorted((REPO / "api").rglob("*.yaml"))
    assert len(files) > 50
    assert all(_agree(path.read_text("utf-8")) for path in files)
    assert all(_index_agrees(path.read_text("utf-8")) for path in files)
    assert _index_agrees('{"a": [1, {"b": 2}],\n "c/d": {"~": null}}')


def test_what_it_leaves_to_the_composed_path():
    for text in ("a: &x 1\nb: *x\n", "a: !!str 5\n", "<<: {a: 1}\n", "a: 1\na: 2\n", "? [k]\n: v\n",
                 "a: 1\n---\nb: 2\n", "a: =\n", "[" * (sources.MAX_DEPTH + 1) + "]" * (sources.MAX_DEPTH + 1),
                 "a: [\n", "a: " + "9" * 5000 + "\n"):
        assert sources._plain_data(text) is sources.MISSING, text


def test_keys_become_text_as_on_the_composed_path():
    assert _agree("200: ok\nyes: 1\n~: 2\n1.5: 3\n'x': [a, 'b', 1_0]\n")
    assert sources._plain_data("200: ok\nyes: 1\n~: 2\n") == {"200": "ok", "true": 1, "null": 2}
    assert sources._plain_data("") is None

"""Canonical JSON: escapes, ordering, number rules, error pointers, and agreement with canonicaljson."""

from __future__ import annotations

import json
from types import MappingProxyType

import canonicaljson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from refimpl.canonical_json import CANONICAL_INT_MAX, CANONICAL_INT_MIN, MAX_DEPTH, CanonicalJsonError, encode_canonical_json, parse_json
from refimpl.errors import BadJson, Errcode, NotJson

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**53) + 1, max_value=2**53 - 1)
    | st.text()
)
json_values = st.recursive(
    json_scalars,
    lambda children: st.lists(children, max_size=5)
    | st.dictionaries(st.text(max_size=8), children, max_size=5),
    max_leaves=30,
)


@settings(max_examples=150, deadline=None)
@given(json_values)
def test_matches_canonicaljson_library(value):
    """Any JSON value within the strict number range encodes as canonicaljson does, in both modes."""
    expected = canonicaljson.encode_canonical_json(value)
    assert encode_canonical_json(value) == expected
    assert encode_canonical_json(value, strict=True) == expected


@settings(max_examples=100, deadline=None)
@given(json_values)
def test_round_trips_through_json(value):
    """Decoding the canonical bytes gives back an equal value."""
    assert json.loads(encode_canonical_json(value).decode("utf-8")) == value


def test_every_control_character_escape():
    text = "".join(chr(c) for c in range(0x20)) + '"\\/\x7f\u2028é😀'
    encoded = encode_canonical_json(text).decode("utf-8")
    assert encoded == (
        '"\\u0000\\u0001\\u0002\\u0003\\u0004\\u0005\\u0006\\u0007\\b\\t\\n\\u000b\\f\\r'
        "\\u000e\\u000f\\u0010\\u0011\\u0012\\u0013\\u0014\\u0015\\u0016\\u0017\\u0018"
        '\\u0019\\u001a\\u001b\\u001c\\u001d\\u001e\\u001f\\"\\\\/\x7f\u2028é😀"'
    )


def test_keys_sort_by_code_point_not_utf16():
    value = {"\uffff": 1, "😀": 2, "a": 3, "B": 4}
    assert encode_canonical_json(value).decode() == '{"B":4,"a":3,"\uffff":1,"😀":2}'


def test_mappings_and_tuples_are_accepted_and_not_mutated():
    inner = {"z": 1, "a": (True, None)}
    value = MappingProxyType({"k": inner})
    assert encode_canonical_json(value) == b'{"k":{"a":[true,null],"z":1}}'
    assert inner == {"z": 1, "a": (True, None)}


def test_lenient_floats_use_shortest_repr():
    assert encode_canonical_json([1.0, 0.1, 1e100, -0.0]) == b"[1,0.1,1e+100,0]"
    assert encode_canonical_json(2**64) == b"18446744073709551616"


@pytest.mark.parametrize(
    ("text", "value"),
    [("-0", 0), ("1e10", 10**10), ("1.0", 1), ("-2.500e1", -25), ("1e400", 10**400), ("1e-400", 0.0),
     ("0.1", 0.1), ("1e999999999", None), ("1.5e999999999", None), ("123456789012345678901234567890.0", 123456789012345678901234567890)],
)
def test_parse_json_reads_numbers_by_value(text, value):
    """Integral values become exact integers (no float on the way), other
    values floats; a number too large for a float is not JSON we can read."""
    if value is None:
        with pytest.raises(NotJson):
            parse_json(text)
        return
    parsed = parse_json(text)
    assert parsed == value and type(parsed) is type(value)


@given(st.integers(min_value=CANONICAL_INT_MIN, max_value=CANONICAL_INT_MAX))
def test_integral_spellings_encode_alike(n):
    """Library and parser agree: n, n.0 and n's float all encode as n in both modes."""
    for strict in (True, False):
        expected = encode_canonical_json(n, strict=strict)
        assert encode_canonical_json(parse_json(f"{n}.0"), strict=strict) == expected
        if abs(n) < 2**53:
            assert encode_canonical_json(float(n), strict=strict) == expected


@pytest.mark.parametrize("text", ["NaN", "[Infinity]", b"\xff", "[" * 100000, "{", ""])
def test_parse_json_refuses_non_json(text):
    with pytest.raises(NotJson):
        parse_json(text)


@pytest.mark.parametrize(
    ("value", "strict", "pointer", "fragment"),
    [
        ({"a": [1, {1: 2}]}, False, "/a/1", "key 1 is not a string"),
        ({"a": [1, {None: 2}]}, False, "/a/1", "is not a string"),
        ({"a~b/c": float("nan")}, False, "/a~0b~1c", "not a JSON number"),
        ({"a": float("inf")}, False, "/a", "not a JSON number"),
        ({"x": 1.5}, True, "/x", "floats are not allowed"),
        ({"x": [2**53]}, True, "/x/0", "outside"),
        ({"x": [-(2**53)]}, True, "/x/0", "outside"),
        ({"s": "ok\ud800"}, False, "/s", "lone surrogate"),
        ({"\udfff": 1}, False, "", "lone surrogate"),
        ({"b": b"bytes"}, False, "/b", "type bytes"),
        ({"s": {1, 2}}, False, "/s", "type set"),
        (object(), False, "", "type object"),
    ],
)
def test_errors_carry_pointer_and_errcode(value, strict, pointer, fragment):
    with pytest.raises(CanonicalJsonError) as info:
        encode_canonical_json(value, strict=strict)
    assert info.value.pointer == pointer
    assert fragment in info.value.message
    assert isinstance(info.value, BadJson)
    assert info.value.errcode is Errcode.M_BAD_JSON


def test_strict_bounds_are_inclusive():
    assert encode_canonical_json([2**53 - 1, -(2**53) + 1], strict=True) == (
        b"[9007199254740991,-9007199254740991]"
    )


@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 100_000])
def test_deep_nesting_is_an_error_not_a_recursion_error(depth):
    value: object = []
    for _ in range(depth):
        value = {"a": value}
    with pytest.raises(CanonicalJsonError, match="nesting deeper"):
        encode_canonical_json(value)


def test_cycles_are_an_error():
    value: dict = {}
    value["self"] = value
    with pytest.raises(CanonicalJsonError):
        encode_canonical_json(value)


def test_maximum_depth_is_allowed():
    value: object = 1
    for _ in range(MAX_DEPTH):
        value = [value]
    assert encode_canonical_json(value) == b"[" * MAX_DEPTH + b"1" + b"]" * MAX_DEPTH


@pytest.mark.parametrize("make", [lambda v: [v], lambda v: {"k": v}, lambda v: MappingProxyType({"k": v}), lambda v: (v,)])
def test_depth_limit_is_the_same_on_fast_and_slow_paths(make):
    """Exactly MAX_DEPTH nested containers encode and one more is refused, whatever the container types."""
    for depth, ok in ((MAX_DEPTH, True), (MAX_DEPTH + 1, False)):
        value: object = 0
        for _ in range(depth):
            value = make(value)
        if ok:
            assert json.loads(encode_canonical_json(value)) is not None
        else:
            with pytest.raises(CanonicalJsonError):
                encode_canonical_json(value)


anything = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text() | st.binary(max_size=3),
    lambda children: st.lists(children, max_size=4)
    | st.tuples(children)
    | st.dictionaries(st.text(max_size=3) | st.integers() | st.none(), children, max_size=4),
    max_leaves=20,
)


@settings(max_examples=200, deadline=None)
@given(anything, st.booleans())
def test_any_value_encodes_or_gives_a_canonical_json_error(value, strict):
    """Any Python value either encodes to JSON that decodes back equal, or raises CanonicalJsonError."""
    try:
        encoded = encode_canonical_json(value, strict=strict)
    except CanonicalJsonError as exc:
        assert exc.pointer == "" or exc.pointer.startswith("/")
    else:
        assert json.loads(encoded) == json.loads(json.dumps(value))

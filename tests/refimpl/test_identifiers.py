"""Identifier grammar, driven by tests/vectors/identifiers.json."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from refimpl import identifiers
from refimpl.errors import InvalidParam
from refimpl.room_versions import room_version

VECTORS = json.loads((Path(__file__).parents[1] / "vectors" / "identifiers.json").read_text("utf-8"))["cases"]


def _parse(case):
    kind = case["kind"]
    text = case["input"]
    if kind == "server_name":
        return identifiers.parse_server_name(text)
    if kind == "user_id":
        return identifiers.parse_user_id(text, allow_historical=case.get("allow_historical", True))
    if kind == "room_id":
        version = room_version(case["room_version"]) if "room_version" in case else None
        return identifiers.parse_room_id(text, version)
    if kind == "event_id":
        return identifiers.parse_event_id(text, room_version(case["room_version"]))
    return identifiers.parse_key_id(text)


def _fields(value):
    out = dataclasses.asdict(value)
    if "kind" in out:
        out["kind"] = out["kind"].value
    return out


@pytest.mark.parametrize("case", VECTORS, ids=[c["description"] for c in VECTORS])
def test_vector(case):
    if case["valid"]:
        value = _parse(case)
        assert _fields(value) == case["expected"]
        assert str(value) == case["input"]
    else:
        with pytest.raises(InvalidParam) as caught:
            _parse(case)
        assert caught.value.errcode.value == case["errcode"]


def test_vectors_cover_every_kind_both_ways():
    kinds = {(c["kind"], c["valid"]) for c in VECTORS}
    for kind in ("server_name", "user_id", "room_id", "event_id", "key_id"):
        assert (kind, True) in kinds and (kind, False) in kinds


_PARSERS = [
    identifiers.parse_server_name,
    identifiers.parse_user_id,
    identifiers.parse_room_id,
    identifiers.parse_key_id,
    lambda text: identifiers.parse_event_id(text, room_version("1")),
    lambda text: identifiers.parse_event_id(text, room_version("3")),
    lambda text: identifiers.parse_event_id(text, room_version("10")),
]


@settings(max_examples=150, deadline=None)
@given(text=st.one_of(st.text(), st.from_regex(r"[@!$]?[a-z:.\[\]0-9]{0,20}", fullmatch=True)), which=st.sampled_from(range(len(_PARSERS))))
def test_any_string_parses_or_raises_invalid_param(text, which):
    """Any string given to a parser yields a value that prints back as the input, or InvalidParam."""
    try:
        value = _PARSERS[which](text)
    except InvalidParam:
        return
    assert str(value) == text


@settings(max_examples=100, deadline=None)
@given(
    localpart=st.from_regex(r"[a-z0-9._=\-/+]{1,30}", fullmatch=True),
    host=st.from_regex(r"[a-z0-9\-]{1,20}(\.[a-z0-9\-]{1,10}){0,3}", fullmatch=True),
    port=st.one_of(st.none(), st.integers(1, 65535)),
)
def test_built_user_ids_round_trip(localpart, host, port):
    """A user ID assembled from grammar parts parses back into those parts, not historical."""
    server = host if port is None else f"{host}:{port}"
    parsed = identifiers.parse_user_id(f"@{localpart}:{server}")
    assert (parsed.localpart, parsed.server_name, parsed.historical) == (localpart, server, False)
    assert identifiers.parse_server_name(server).port == port


def test_errors_name_the_identifier():
    with pytest.raises(InvalidParam) as caught:
        identifiers.parse_user_id("@alice")
    assert caught.value.fields["identifier"] == "@alice"
    assert "server name" in caught.value.message



def test_remembered_user_ids_still_honour_allow_historical():
    """Parsed user IDs are remembered per (text, allow_historical), and refusals are never remembered."""
    historical = "@Alice:example.org"
    assert identifiers.parse_user_id(historical).historical
    with pytest.raises(InvalidParam):
        identifiers.parse_user_id(historical, allow_historical=False)
    assert identifiers.parse_user_id(historical) == identifiers.UserId("Alice", "example.org", historical=True)
    for _ in range(2):
        with pytest.raises(InvalidParam):
            identifiers.parse_user_id("@:example.org")

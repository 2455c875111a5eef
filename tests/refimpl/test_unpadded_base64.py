"""Unpadded base64: both alphabets, padding tolerance, trailing bits, and clean errors."""

from __future__ import annotations

import base64

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from refimpl.errors import BadJson
from refimpl.unpadded_base64 import Base64Error, decode_base64, encode_base64


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=80), st.booleans())
def test_round_trip_in_both_alphabets(data, urlsafe):
    """Whatever we encode decodes back, with or without re-added padding."""
    text = encode_base64(data, urlsafe=urlsafe)
    assert "=" not in text
    assert decode_base64(text) == data
    assert decode_base64(text + "=" * (-len(text) % 4)) == data
    reference = base64.urlsafe_b64encode(data) if urlsafe else base64.b64encode(data)
    assert text == reference.decode().rstrip("=")


def test_known_values():
    assert encode_base64(b"") == ""
    assert encode_base64(b"\xfb\xff") == "+/8"
    assert encode_base64(b"\xfb\xff", urlsafe=True) == "-_8"
    assert decode_base64("-_8") == decode_base64("+/8") == b"\xfb\xff"


def test_tolerates_non_zero_trailing_bits():
    # The appendix's published seed has them: its last character is "1", not "0".
    seed = decode_base64("YJDBA9Xnr2sVqXD9Vj7XVUnmFZcZrlw8Md7kMW+3XA1")
    assert len(seed) == 32
    assert seed == decode_base64("YJDBA9Xnr2sVqXD9Vj7XVUnmFZcZrlw8Md7kMW+3XA0")


@pytest.mark.parametrize("text", ["a", "abcde", "ab=c", "ab c", "ab!", "a===", "abc==", "é", None, 12])
def test_bad_input_is_an_error_value(text):
    with pytest.raises(Base64Error) as info:
        decode_base64(text)
    assert isinstance(info.value, BadJson)


def _reference_decode(text: str) -> bytes | None:
    """The decoding rules written out plainly, to check the fast path against."""
    body = text.rstrip("=")
    padding = len(text) - len(body)
    if padding > 2 or len(body) % 4 == 1 or (padding and len(text) % 4):
        return None
    if any(c not in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/-_" for c in body):
        return None
    standard = body.replace("-", "+").replace("_", "/")
    return base64.b64decode(standard + "=" * (-len(body) % 4) + "==")[: len(body) * 3 // 4]


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="AQgw+/-_=\n é0", max_size=12))
def test_decoding_matches_the_plain_rules(text):
    """Every string decodes exactly as the plain rules say, or is a Base64Error when they refuse it."""
    expected = _reference_decode(text)
    if expected is None:
        with pytest.raises(Base64Error):
            decode_base64(text)
    else:
        assert decode_base64(text) == expected

"""X-Matrix request authentication, driven by tests/vectors/x_matrix.json."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import signedjson.key
import signedjson.sign
from hypothesis import given, settings
from hypothesis import strategies as st

from refimpl.errors import Unauthorized
from refimpl.request_auth import (
    XMatrixAuthorization,
    parse_authorization,
    request_object,
    sign_request,
    verify_request,
)
from refimpl.test_keys import PUBLISHED_KEYS, signing_key_for
from refimpl.unpadded_base64 import encode_base64

VECTORS = json.loads((Path(__file__).parents[1] / "vectors" / "x_matrix.json").read_text("utf-8"))
KEYS = {server: {key.key_id: key.verify_key} for server, key in PUBLISHED_KEYS.items()}


def _ids(cases):
    return [c["description"] for c in cases]


@pytest.mark.parametrize("case", VECTORS["sign"], ids=_ids(VECTORS["sign"]))
def test_sign_vector(case):
    auth = sign_request(
        method=case["method"],
        uri=case["uri"],
        origin=case["origin"],
        destination=case["destination"],
        key=signing_key_for(case["origin"]),
        content=case.get("content"),
    )
    assert (auth.key, auth.sig, auth.to_header()) == (case["key_id"], case["sig"], case["header"])
    verified = verify_request(
        case["header"],
        method=case["method"],
        uri=case["uri"],
        our_server_name=case["destination"],
        keys=KEYS,
        content=case.get("content"),
    )
    assert verified == auth


@pytest.mark.parametrize("case", VECTORS["sign"], ids=_ids(VECTORS["sign"]))
def test_sign_vector_agrees_with_signedjson(case):
    """An independent signer (signedjson) produces the same signature."""
    ours = signing_key_for(case["origin"])
    theirs = signedjson.key.decode_signing_key_base64("ed25519", ours.version, encode_base64(ours.seed))
    obj = request_object(case["method"], case["uri"], case["origin"], case["destination"], case.get("content"))
    signed = signedjson.sign.sign_json(obj, case["origin"], theirs)
    assert signed["signatures"][case["origin"]][case["key_id"]] == case["sig"]


@pytest.mark.parametrize("case", VECTORS["parse"], ids=_ids(VECTORS["parse"]))
def test_parse_vector(case):
    if "expected" in case:
        assert parse_authorization(case["header"]) == XMatrixAuthorization(**case["expected"])
    else:
        with pytest.raises(Unauthorized) as caught:
            parse_authorization(case["header"])
        assert caught.value.errcode.value == case["errcode"] and caught.value.http_status == 401


@pytest.mark.parametrize("case", VECTORS["verify"], ids=_ids(VECTORS["verify"]))
def test_verify_vector(case):
    def attempt(keys):
        return verify_request(
            case["header"],
            method=case["method"],
            uri=case["uri"],
            our_server_name=case["our_server_name"],
            keys=keys,
            content=case.get("content"),
        )

    lookup = lambda server, key_id: KEYS.get(server, {}).get(key_id)  # noqa: E731
    for keys in (KEYS, lookup):
        if case.get("ok"):
            assert attempt(keys).origin == parse_authorization(case["header"]).origin
        else:
            with pytest.raises(Unauthorized) as caught:
                attempt(keys)
            assert caught.value.errcode.value == case["errcode"]


def test_missing_header_is_unauthorized():
    with pytest.raises(Unauthorized):
        verify_request(None, method="GET", uri="/", our_server_name="example.org", keys=KEYS)


_HEADERISH = st.text(
    alphabet=st.sampled_from(list('X-Matrix origin=destination,key="sig\\ :\t,=ed25519:1aYWJj') + ["\x00", "é", "☃"]),
    max_size=80,
)


@settings(max_examples=200, deadline=None)
@given(header=st.one_of(st.text(max_size=80), _HEADERISH, _HEADERISH.map(lambda s: "X-Matrix " + s)))
def test_any_string_parses_or_is_unauthorized(header):
    """Any string given to the X-Matrix header parser yields a parsed value or Unauthorized, never another exception."""
    try:
        parsed = parse_authorization(header)
    except Unauthorized:
        return
    assert parse_authorization(parsed.to_header()) == parsed


_SERVERS = st.sampled_from(sorted(PUBLISHED_KEYS))
_JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53) + 1, 2**53 - 1) | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=10,
)


@settings(max_examples=60, deadline=None)
@given(
    origin=_SERVERS,
    destination=_SERVERS,
    method=st.sampled_from(["GET", "PUT", "POST", "DELETE"]),
    uri=st.from_regex(r"/_matrix/[a-z0-9/%!$:._\-]{0,40}(\?[a-z_=&%0-9]{0,20})?", fullmatch=True),
    content=st.one_of(st.none(), st.dictionaries(st.text(max_size=8), _JSON, max_size=4)),
)
def test_build_then_parse_then_verify_round_trips(origin, destination, method, uri, content):
    """A signed request's header parses back to the same value and authenticates the same request."""
    auth = sign_request(
        method=method, uri=uri, origin=origin, destination=destination, key=signing_key_for(origin), content=content
    )
    assert parse_authorization(auth.to_header()) == auth
    assert verify_request(
        auth.to_header(), method=method, uri=uri, our_server_name=destination, keys=KEYS, content=content
    ) == auth
    with pytest.raises(Unauthorized):
        verify_request(auth.to_header(), method=method, uri=uri + "x", our_server_name=destination, keys=KEYS, content=content)

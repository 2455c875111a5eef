"""Server keys and notaries, driven by tests/vectors/server_keys.json."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from refimpl.errors import InvalidSignature, MatrixError
from refimpl.keys import VerifyKey
from refimpl.room_versions import room_version
from refimpl.server_keys import (
    CachedServerKeys,
    OldVerifyKey,
    build_server_keys,
    handle_key_query,
    key_query_body,
    key_query_for_server,
    key_valid_for_event,
    parse_key_query,
    servers_to_refresh,
    trusted_valid_until_ts,
    usable_notarised_keys,
    verify_key_query_response,
    verify_server_keys,
)
from refimpl.test_keys import signing_key_for

VECTORS = json.loads((Path(__file__).parents[1] / "vectors" / "server_keys.json").read_text("utf-8"))
NOTARY = VECTORS["notary_name"]
NOTARY_KEYS = {"ed25519:1": signing_key_for(NOTARY).verify_key}


def _ids(cases):
    return [c["description"] for c in cases]


def _old_keys(spec):
    return {
        key_id: OldVerifyKey(
            VerifyKey(key_id, signing_key_for(v["from_published_key_of"]).verify_key.public_bytes), v["expired_ts"]
        )
        for key_id, v in (spec or {}).items()
    }


@pytest.mark.parametrize("case", VECTORS["publish"], ids=_ids(VECTORS["publish"]))
def test_publish_vector(case):
    built = build_server_keys(
        case["server_name"],
        [signing_key_for(s) for s in case["signing_keys_of"]],
        valid_until_ts=case["valid_until_ts"],
        old_verify_keys=_old_keys(case.get("old_verify_keys")),
    )
    assert built == case["expected"]
    keys = verify_server_keys(built, server_name=case["server_name"], now=case["valid_until_ts"] - 1)
    assert set(keys.verify_keys) == {signing_key_for(s).key_id for s in case["signing_keys_of"]}
    assert set(keys.old_verify_keys) == set(case.get("old_verify_keys", {}))


@pytest.mark.parametrize("case", VECTORS["verify"], ids=_ids(VECTORS["verify"]))
def test_verify_vector(case):
    def attempt():
        return verify_server_keys(
            case["document"],
            server_name=case["server_name"],
            now=case["now"],
            minimum_valid_until_ts=case.get("minimum_valid_until_ts"),
        )

    if case.get("ok"):
        assert attempt().server_name == case["server_name"]
    else:
        with pytest.raises(MatrixError) as caught:
            attempt()
        assert caught.value.errcode.value == case["errcode"]


@pytest.mark.parametrize("case", VECTORS["key_validity"], ids=_ids(VECTORS["key_validity"]))
def test_key_validity_vector(case):
    usable = key_valid_for_event(
        room_version(case["room_version"]),
        origin_server_ts=case["origin_server_ts"],
        valid_until_ts=case.get("valid_until_ts"),
        expired_ts=case.get("expired_ts"),
    )
    assert usable is case["usable"]


@pytest.mark.parametrize("case", VECTORS["trust_horizon"], ids=_ids(VECTORS["trust_horizon"]))
def test_trust_horizon_vector(case):
    assert trusted_valid_until_ts(case["valid_until_ts"], case["received_ts"]) == case["trusted_until_ts"]


def _cache():
    return {s: CachedServerKeys(v["document"], v["fetched_ts"]) for s, v in VECTORS["notary_cache"].items()}


def _query(spec):
    if "get" in spec:
        return key_query_for_server(
            spec["get"], key_id=spec.get("key_id"), minimum_valid_until_ts=spec.get("minimum_valid_until_ts")
        )
    return parse_key_query(spec["post"])


@pytest.mark.parametrize("case", VECTORS["notary"], ids=_ids(VECTORS["notary"]))
def test_notary_vector(case):
    query = _query(case["query"])
    assert sorted(servers_to_refresh(query, _cache(), now=case["now"])) == case["refresh"]
    answer = handle_key_query(query, _cache(), notary_name=NOTARY, notary_key=signing_key_for(NOTARY))
    assert answer == case["answer"]
    verified = verify_key_query_response(
        answer, notary_name=NOTARY, notary_keys=NOTARY_KEYS, now=case["now"], requested=list(query.servers)
    )
    assert [k.server_name for k in verified] == [e["server_name"] for e in case["answer"]["server_keys"]]


@pytest.mark.parametrize("case", VECTORS["bad_queries"], ids=_ids(VECTORS["bad_queries"]))
def test_bad_query_vector(case):
    with pytest.raises(MatrixError) as caught:
        parse_key_query(case["body"])
    assert caught.value.errcode.value == case["errcode"]


def _answer():
    return VECTORS["notary"][5]["answer"]


def test_notary_answer_without_notary_signature_fails():
    answer = copy.deepcopy(_answer())
    del answer["server_keys"][0]["signatures"][NOTARY]
    with pytest.raises(InvalidSignature):
        verify_key_query_response(answer, notary_name=NOTARY, notary_keys=NOTARY_KEYS, now=0)


def test_notary_answer_with_forged_origin_fails():
    answer = copy.deepcopy(_answer())
    entry = answer["server_keys"][0]
    entry["verify_keys"]["ed25519:1"]["key"] = signing_key_for(NOTARY).verify_key.public_base64
    with pytest.raises(InvalidSignature):
        verify_key_query_response(answer, notary_name=NOTARY, notary_keys=NOTARY_KEYS, now=0)


def test_notary_answer_about_unasked_server_fails():
    with pytest.raises(MatrixError) as caught:
        verify_key_query_response(
            _answer(), notary_name=NOTARY, notary_keys=NOTARY_KEYS, now=0, requested=["example.org"]
        )
    assert caught.value.errcode.value == "M_INVALID_PARAM"


def test_key_for_event_uses_capped_validity_and_old_keys():
    doc = VECTORS["publish"][1]["expected"]
    received = doc["valid_until_ts"] - 30 * 24 * 3600 * 1000
    keys = verify_server_keys(doc, server_name="remote.example.com", now=received)
    v10 = room_version("10")
    horizon = received + 7 * 24 * 3600 * 1000
    assert keys.trusted_until_ts == horizon < doc["valid_until_ts"]
    assert keys.key_for_event("ed25519:1", v10, horizon) is keys.verify_keys["ed25519:1"]
    assert keys.key_for_event("ed25519:1", v10, horizon + 1) is None
    assert keys.key_for_event("ed25519:1", room_version("4"), horizon + 1) is not None
    expired = keys.old_verify_keys["ed25519:0ld"].expired_ts
    assert keys.key_for_event("ed25519:0ld", v10, expired - 1) is not None
    assert keys.key_for_event("ed25519:0ld", v10, expired) is None
    assert keys.key_for_event("ed25519:nope", v10, 0) is None


def test_key_query_body_names_the_key_and_its_minimum_and_parses_back():
    body = key_query_body("remote.example.com", "ed25519:1", minimum_valid_until_ts=1234)
    assert parse_key_query(body).servers == {"remote.example.com": {"ed25519:1": 1234}}


def test_usable_notarised_keys_wants_the_key_valid_long_enough():
    doc = VECTORS["publish"][1]["expected"]
    keys = verify_server_keys(doc, server_name="remote.example.com", now=0)
    until = keys.valid_until_ts
    assert usable_notarised_keys([keys], needed_until=until, key_id="ed25519:1") is keys
    assert usable_notarised_keys([keys], needed_until=until) is keys
    assert usable_notarised_keys([keys], needed_until=until + 1) is None
    assert usable_notarised_keys([keys], needed_until=0, key_id="ed25519:0ld") is None
    assert usable_notarised_keys([], needed_until=0) is None


_DOC = VECTORS["publish"][1]["expected"]


def _paths(value, prefix=()):
    if isinstance(value, dict):
        for k, v in value.items():
            if prefix == () and k == "signatures":
                continue
            yield from _paths(v, prefix + (k,))
    else:
        yield prefix


_LEAVES = sorted(_paths(_DOC))


@settings(max_examples=100, deadline=None)
@given(path=st.sampled_from(_LEAVES), replacement=st.one_of(st.integers(0, 2**40), st.text(max_size=50)))
def test_any_mutated_field_fails_verification(path, replacement):
    """Sign-then-verify of server keys succeeds, and changing any signed field makes verification fail."""
    now = _DOC["valid_until_ts"] - 1
    assert verify_server_keys(_DOC, server_name="remote.example.com", now=now, minimum_valid_until_ts=0)
    mutated = copy.deepcopy(_DOC)
    target = mutated
    for key in path[:-1]:
        target = target[key]
    if target[path[-1]] == replacement:
        return
    target[path[-1]] = replacement
    with pytest.raises(MatrixError):
        verify_server_keys(mutated, server_name="remote.example.com", now=now, minimum_valid_until_ts=0)

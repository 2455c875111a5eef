"""The observer holds each exchange against api/: shown to fail when a
definition is mutated, and on each kind of departure it names."""

from __future__ import annotations

import shutil

import pytest

from refimpl.transport.http_client import Exchange
from specgen.corpus import Corpus
from specgen.flows import ApiObserver, closed_schema, run_scenarios
from specgen.flow_scenarios import SCENARIOS

from flowkit import REPO


def mutated_corpus(tmp_path, path: str, old: str, new: str) -> Corpus:
    """A copy of the repository's api/ with one text replacement in one file."""
    shutil.copytree(REPO / "api", tmp_path / "api")
    target = tmp_path / "api" / path
    text = target.read_text(encoding="utf-8")
    assert old in text
    target.write_text(text.replace(old, new, 1), encoding="utf-8")
    return Corpus(tmp_path)


def findings_of(corpus: Corpus, scenario: str):
    (result,) = run_scenarios(corpus, {scenario: SCENARIOS[scenario]}, ApiObserver(corpus))
    assert result.failure is None
    return [d for o in result.exchanges for d in o.findings]


def test_a_field_the_definition_drops_fails_the_scenario(tmp_path):
    corpus = mutated_corpus(tmp_path, "server-server/definitions/server_keys.yaml", "  old_verify_keys:", "  retired_keys:")
    findings = findings_of(corpus, "keys-direct")
    assert findings and {d.code for d in findings} == {"flows.response"}
    first = findings[0]
    assert first.path == "api/server-server/keys_server.yaml" and first.line > 0
    assert "old_verify_keys" in first.message and "GET /_matrix/key/v2/server" in first.message


def test_a_status_the_definition_does_not_list_fails(tmp_path):
    corpus = mutated_corpus(tmp_path, "server-server/keys_query.yaml", '"200":\n          description: |-\n            The key objects found', '"201":\n          description: |-\n            The key objects found')
    findings = findings_of(corpus, "keys-notary-post")
    assert [d.code for d in findings] == ["flows.status"]
    assert "status 200 is not declared (declared: 201, 400)" in findings[0].message


def test_an_undeclared_endpoint_fails(tmp_path):
    shutil.copytree(REPO / "api", tmp_path / "api")
    (tmp_path / "api" / "server-server" / "keys_query.yaml").unlink()
    findings = findings_of(Corpus(tmp_path), "keys-notary-get")
    assert [d.code for d in findings] == ["flows.endpoint"]


KEYS = {"server_name": "x", "verify_keys": {}, "valid_until_ts": 1, "signatures": {}}


def exchange(method, target, status, response=None, request=None, origin="example.org"):
    return Exchange(origin, "remote.example.com", method, target, request, status, response)


@pytest.mark.parametrize(
    ("exchange", "code", "words"),
    [
        (exchange("GET", "/_matrix/key/v2/server?verbose=1", 200, KEYS),
         "flows.request", "query parameter 'verbose' is not declared"),
        (exchange("GET", "/_matrix/key/v2/server", 200, KEYS, request={"a": 1}),
         "flows.request", "a body the operation does not declare"),
        (exchange("POST", "/_matrix/key/v2/query", 200, {"server_keys": []}),
         "flows.request", "required request body is missing"),
        (exchange("GET", "/_matrix/key/v2/query/x?minimum_valid_until_ts=soon", 200, {"server_keys": []}),
         "flows.request", "minimum_valid_until_ts"),
        (exchange("GET", "/_matrix/key/v2/server", 200, {**KEYS, "server_name": 7}),
         "flows.response", "at /server_name: 7 is not of type 'string'"),
        (exchange("GET", "/_matrix/identity/v2/pubkey/ed25519%3A0", 404, {"errcode": "M_FORBIDDEN", "error": "no"}),
         "flows.errcode", "errcode M_FORBIDDEN is not declared for status 404 (declared: M_NOT_FOUND)"),
        (exchange("DELETE", "/_matrix/key/v2/server", 200, {}), "flows.endpoint", "no API definition declares"),
    ],
)
def test_each_kind_of_departure(observer, exchange, code, words):
    findings = observer.check(exchange)
    assert [d.code for d in findings] == [code]
    assert words in findings[0].message


def test_conforming_exchanges_pass(observer):
    ok = exchange("GET", "/_matrix/identity/v2/pubkey/ed25519%3A0", 404, {"errcode": "M_NOT_FOUND", "error": "no"})
    assert observer.check(ok) == []


def test_closed_schema_keeps_combinator_branches_open_and_the_whole_closed():
    schema = {"allOf": [{"properties": {"a": {}}}, {"properties": {"b": {"type": "object", "properties": {"c": {}}}}}]}
    closed = closed_schema(schema)
    assert closed["unevaluatedProperties"] is False
    assert "unevaluatedProperties" not in closed["allOf"][0]
    assert closed["allOf"][1]["properties"]["b"]["unevaluatedProperties"] is False
    free = {"type": "object", "additionalProperties": {"type": "string"}}
    assert closed_schema(free) == free


@pytest.mark.parametrize(("value", "reported"), [("true", False), ("false", False), ("yes", True), ("1", True)])
def test_a_boolean_query_parameter_is_read_as_the_form_style_spells_it(observer, value, reported):
    # Synapse sends omit_members=true; only true and false spell a boolean.
    sent = exchange("PUT", f"/_matrix/federation/v2/send_join/%21r%3Ax/%24e?omit_members={value}", 200, {})
    messages = [d.message for d in observer.check(sent)]
    assert any("'omit_members'" in m for m in messages) is reported, messages

"""The oracle, through a real ``python -m refimpl`` subprocess and in-process."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from refimpl.oracle import OPERATIONS, run_line
from refimpl.test_keys import APPENDIX_SEED, signing_key_for
from refimpl.unpadded_base64 import encode_base64

ROOT = Path(__file__).parents[2]
VECTORS = ROOT / "tests" / "vectors"


def _oracle(args, lines):
    data = b"".join((line if isinstance(line, bytes) else line.encode("utf-8")) + b"\n" for line in lines)
    proc = subprocess.run(
        [sys.executable, "-m", "refimpl", *args], input=data, capture_output=True, cwd=ROOT, timeout=60
    )
    return proc, proc.stdout.decode("utf-8").splitlines()


def _key(server):
    key = signing_key_for(server)
    return {"seed": encode_base64(key.seed), "key_id": key.key_id}


def _verify_keys(*servers):
    return {s: {signing_key_for(s).key_id: signing_key_for(s).verify_key.public_base64} for s in servers}


EVENT = {
    "type": "m.room.message",
    "room_id": "!room:example.org",
    "sender": "@alice:example.org",
    "origin_server_ts": 1_700_000_000_000,
    "depth": 3,
    "prev_events": ["$acR1l0raoZnm60CBwAVgqbZqoO_mYU81xysh1u7XcJk"],
    "auth_events": ["$acR1l0raoZnm60CBwAVgqbZqoO_mYU81xysh1u7XcJk"],
    "content": {"body": "hello", "msgtype": "m.text"},
}


def test_one_line_out_per_line_in_for_every_op_and_bad_line():
    lines = [json.dumps({"op": name}) for name in OPERATIONS]
    lines += ["", "not json", "[]", "{\"op\": 1}", b"\xff\xfe", "{\"op\": \"nope\"}", "[" * 100_000, "{\"a\": NaN}"]
    proc, out = _oracle([], lines)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == b""
    assert len(out) == len(lines)
    answers = [json.loads(line) for line in out]
    assert all("error" in a for a in answers)
    assert {a["error"]["errcode"] for a in answers[len(OPERATIONS):]} >= {"M_NOT_JSON", "M_BAD_JSON", "M_UNRECOGNIZED"}
    assert not any(a["error"]["message"].startswith("internal error") for a in answers)


def test_x_matrix_vectors_through_the_oracle():
    vectors = json.loads((VECTORS / "x_matrix.json").read_text("utf-8"))
    sign = [
        {k: v for k, v in c.items() if k in ("method", "uri", "origin", "destination", "content")} | {"key": _key(c["origin"])}
        for c in vectors["sign"]
    ]
    proc, out = _oracle(["x-matrix-sign"], [json.dumps(c) for c in sign])
    assert proc.returncode == 0
    assert [json.loads(line)["header"] for line in out] == [c["header"] for c in vectors["sign"]]

    proc, out = _oracle(["x-matrix-parse"], [json.dumps({"header": c["header"]}) for c in vectors["parse"]])
    for case, line in zip(vectors["parse"], out, strict=True):
        answer = json.loads(line)
        assert answer == case["expected"] if "expected" in case else answer["error"]["errcode"] == case["errcode"]

    keys = _verify_keys("example.org", "remote.example.com", "third.example.net", "domain")
    verify = [{k: v for k, v in c.items() if k != "description"} | {"verify_keys": keys} for c in vectors["verify"]]
    proc, out = _oracle(["x-matrix-verify"], [json.dumps({k: v for k, v in c.items() if k not in ("ok", "errcode")}) for c in verify])
    for case, line in zip(vectors["verify"], out, strict=True):
        answer = json.loads(line)
        assert answer.get("ok") is True if case.get("ok") else answer["error"]["errcode"] == case["errcode"]


def test_server_keys_and_notary_through_the_oracle():
    vectors = json.loads((VECTORS / "server_keys.json").read_text("utf-8"))
    case = vectors["publish"][0]
    publish = {
        "server_name": case["server_name"],
        "keys": [_key(s) for s in case["signing_keys_of"]],
        "valid_until_ts": case["valid_until_ts"],
    }
    notary = vectors["notary"][5]
    requests = [
        {"op": "server-keys-publish", **publish},
        {"op": "server-keys-verify", "document": case["expected"], "server_name": case["server_name"], "now": case["valid_until_ts"] - 1},
        {"op": "server-keys-verify", "document": case["expected"], "server_name": case["server_name"], "now": case["valid_until_ts"] + 1},
        {"op": "notary-sign", "body": notary["query"]["post"], "cache": vectors["notary_cache"], "notary_name": vectors["notary_name"], "key": _key(vectors["notary_name"]), "now": notary["now"]},
        {"op": "notary-verify", "answer": notary["answer"], "notary_name": vectors["notary_name"], "notary_keys": _verify_keys(vectors["notary_name"])[vectors["notary_name"]], "now": notary["now"]},
    ]
    proc, out = _oracle([], [json.dumps(r) for r in requests])
    published, verified, expired, signed, checked = map(json.loads, out)
    assert published == {"document": case["expected"]}
    assert verified["ok"] is True and verified["trusted_until_ts"] == case["valid_until_ts"]
    assert expired["error"]["errcode"] == "M_FORBIDDEN"
    assert signed == {"refresh": notary["refresh"], "answer": notary["answer"]}
    assert [k["server_name"] for k in checked["server_keys"]] == ["example.org", "remote.example.com"]


def test_event_operations_agree_with_each_other():
    appendix_key = {"seed": APPENDIX_SEED, "key_id": "ed25519:1"}
    sign = {"op": "sign-event", "event": EVENT, "room_version": "10", "server_name": "example.org", "key": _key("example.org")}
    proc, out = _oracle([], [json.dumps(sign)])
    signed = json.loads(out[0])["signed"]
    requests = [
        {"op": "check-event-signatures", "event": signed, "room_version": "10", "verify_keys": _verify_keys("example.org")},
        {"op": "check-event-signatures", "event": signed, "room_version": "10", "verify_keys": _verify_keys("remote.example.com")},
        {"op": "content-hash", "event": signed, "room_version": "10"},
        {"op": "event-id", "event": signed, "room_version": "10"},
        {"op": "reference-hash", "event": signed, "room_version": "10"},
        {"op": "redact", "event": signed, "room_version": "10"},
        {"op": "sign-json", "object": {"a": 1}, "server_name": "domain", "key": appendix_key},
        {"op": "verify-json", "object": {"a": 1, "signatures": {}}, "server_name": "domain", "verify_keys": _verify_keys("domain")},
        {"op": "canonical-json", "value": {"b": [1, {"d": 0, "c": None}], "a": "\u00e9"}},
        {"op": "canonical-json", "value": 1.5, "room_version": "6"},
    ]
    proc, out = _oracle([], [json.dumps(r) for r in requests])
    accept, drop, chash, event_id, ref, redacted, signed_json, unsigned, canonical, strict = map(json.loads, out)
    assert accept["outcome"] == "accept" and drop["outcome"] == "drop"
    assert chash["sha256"] == signed["hashes"]["sha256"]
    assert event_id["event_id"][1:] == ref["sha256"].replace("+", "-").replace("/", "_")
    assert redacted["redacted"]["content"] == {}
    assert signed_json["signed"]["signatures"]["domain"]["ed25519:1"]
    assert unsigned == {"ok": False, "key_id": None, "reason": "no_signatures"}
    assert canonical == {"canonical": '{"a":"\u00e9","b":[1,{"c":null,"d":0}]}'}
    assert strict["error"]["errcode"] == "M_BAD_JSON"


def test_list_and_usage():
    proc, out = _oracle(["--list"], [])
    assert proc.returncode == 0
    assert [line.split()[0] for line in out] == list(OPERATIONS)
    proc, out = _oracle(["no-such-op"], ["{}"])
    assert proc.returncode == 2 and out == [] and b"usage" in proc.stderr


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=20,
)
_REQUEST = st.fixed_dictionaries(
    {"op": st.sampled_from(list(OPERATIONS))},
    optional={
        name: _JSON
        for name in ("event", "room_version", "object", "server_name", "key", "verify_keys", "header", "method",
                     "uri", "document", "now", "answer", "body", "cache", "value", "keys", "valid_until_ts",
                     "api", "origin", "destination", "room_id", "event_id", "hex", "base64", "signed", "invite",
                     "key_validity_url", "public_key", "status", "validity", "stored", "base_url", "ephemeral_key",
                     "token", "bound", "valid_keys", "medium", "address", "mxid", "origin_server_ts", "received_ts",
                     "expired_ts", "answers", "create_event", "use_v3", "invite_room_state", "events", "state")
    },
)


@settings(max_examples=150, deadline=None)
@given(line=st.one_of(_JSON.map(json.dumps), _REQUEST.map(json.dumps), st.binary(max_size=40)))
def test_any_line_yields_exactly_one_json_line(line):
    """Any line fed to the oracle yields exactly one line of JSON, and never an internal error."""
    out = run_line(None, line)
    assert "\n" not in out
    answer = json.loads(out)
    assert isinstance(answer, dict)
    if "error" in answer:
        assert not answer["error"]["message"].startswith("internal error"), answer


def test_event_with_non_string_type_redacts_instead_of_an_internal_error():
    """Redaction is total over JSON objects: a non-string type simply keeps no content keys."""
    event = {"type": {}, "content": {"membership": "join"}}
    out = json.loads(run_line("redact", json.dumps({"room_version": "10", "event": event})))
    assert out == {"redacted": {"type": {}, "content": {}}}


def test_request_numbers_follow_the_numbers_rule():
    """The oracle reads requests with the library's reader: 1e10, -0 and 1.0
    are integers in both modes, and only true fractions differ by mode."""
    def canonical(value_text, strict):
        return json.loads(run_line("canonical-json", f'{{"value": {value_text}, "strict": {strict}}}'))

    assert canonical("[1e10, -0, 1.0]", "false") == {"canonical": "[10000000000,0,1]"}
    assert canonical("[1e10, -0, 1.0]", "true") == {"canonical": "[10000000000,0,1]"}
    assert canonical("[1.5]", "false") == {"canonical": "[1.5]"}
    assert canonical("[1.5]", "true")["error"]["errcode"] == "M_BAD_JSON"
    assert canonical("[1.5e999999]", "false")["error"]["errcode"] == "M_NOT_JSON"


def test_reader_leaving_early_ends_quietly():
    """``python -m refimpl OP < many | head -1``: exit 0, no traceback."""
    lines = b'{"value": 1}\n' * 20000
    proc = subprocess.run(
        f"{sys.executable} -m refimpl canonical-json | head -1",
        shell=True, input=lines, capture_output=True, cwd=ROOT, timeout=60,
        executable="/bin/bash", env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)},
    )
    assert proc.stdout == b'{"canonical": "1"}\n'
    assert proc.stderr == b""
    status = subprocess.run(
        ["bash", "-c", f"set -o pipefail; {sys.executable} -m refimpl canonical-json | head -1 >/dev/null"],
        input=lines, capture_output=True, cwd=ROOT, timeout=60,
    )
    assert status.returncode == 0 and status.stderr == b""


def test_identifiers_in_requests_are_checked_by_their_grammar():
    """Issue 10 item 8: a malformed server name or key ID in any request is
    answered M_INVALID_PARAM, not signed over or looked up as is."""
    key = _key("example.org")
    bad = [
        ("sign-json", {"object": {}, "server_name": "exa mple.org", "key": key}),
        ("verify-json", {"object": {}, "server_name": "example.org", "verify_keys": {"bad host!": {}}}),
        ("verify-json", {"object": {}, "server_name": "example.org", "verify_keys": {"example.org": {"ed25519:a b": "x"}}}),
        ("sign-json", {"object": {}, "server_name": "example.org", "key": {**key, "key_id": "ed25519"}}),
        ("x-matrix-sign", {"method": "GET", "uri": "/", "origin": "example.org", "destination": "[::1", "key": key}),
        ("server-keys-verify", {"document": {}, "server_name": "a b", "now": 0}),
        ("is-sign", {"body": {}, "server_name": "a:b:c", "stored": []}),
    ]
    for op, request in bad:
        answer = json.loads(run_line(op, json.dumps(request)))
        assert answer["error"]["errcode"] == "M_INVALID_PARAM", (op, answer)

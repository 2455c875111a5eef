"""``specgen verify`` on the real corpus and on tampered copies of it."""

from __future__ import annotations

import json
from pathlib import Path


from refimpl.factories import BOB, RoomFactory
from specgen import cli
from specgen.corpus import Corpus
from specgen.histories import History, history_json
from specgen.verify import verify_corpus

from conftest import REPO


def _replace_once(path: Path, old: str, new: str) -> int:
    """Replace ``old`` once and return the 1-based line it was on."""
    text = path.read_text("utf-8")
    at = text.index(old)
    path.write_text(text[:at] + new + text[at + len(old):], "utf-8")
    return text.count("\n", 0, at) + 1


def _findings(root: Path) -> list:
    return list(verify_corpus(Corpus(root)))


def test_the_real_corpus_verifies_clean(capsys):
    assert cli.main(["--root", str(REPO), "verify"]) == 0
    assert capsys.readouterr().out == ""


def _one_byte_changed(value: str) -> str:
    return ("A" if value[0] != "A" else "B") + value[1:]


def test_a_changed_byte_in_a_signature_is_reported_at_its_line(corpus_copy, capsys):
    path = corpus_copy / "api/server-server/examples/v11_join_bob.json"
    signature = json.loads(path.read_text())["signatures"]["remote.example.com"]["ed25519:1"]
    line = _replace_once(path, signature, _one_byte_changed(signature))
    assert cli.main(["--root", str(corpus_copy), "--format", "json", "verify"]) == 1
    reported = json.loads(capsys.readouterr().out)
    (finding,) = reported if isinstance(reported, list) else reported["diagnostics"]
    assert finding["code"] == "verify.signature"
    assert finding["path"] == "api/server-server/examples/v11_join_bob.json"
    assert finding["line"] == line


def test_an_empty_signature_is_a_failure(corpus_copy):
    path = corpus_copy / "api/server-server/definitions/server_keys.yaml"
    text = path.read_text()
    signature = text.split("ed25519:1: ", 2)[-1].split("\n")[0]
    line = _replace_once(path, "ed25519:1: " + signature, 'ed25519:1: ""')
    findings = _findings(corpus_copy)
    assert [(d.code, d.path, d.line) for d in findings] == [
        ("verify.signature", "api/server-server/definitions/server_keys.yaml", line)
    ]


def test_a_changed_signed_field_in_an_api_pdu_breaks_its_hash_and_signatures(corpus_copy):
    path = corpus_copy / "api/server-server/examples/v11_power_levels.json"
    line = _replace_once(path, '"kick": 50', '"kick": 51')
    codes = {d.code for d in _findings(corpus_copy) if d.path.endswith("v11_power_levels.json")}
    assert codes == {"verify.hash", "verify.signature"}
    assert line > 0


def test_an_event_example_must_match_its_history_event(corpus_copy):
    path = corpus_copy / "event-schemas/examples/m.room.topic"
    line = _replace_once(path, "Planning", "Plotting")
    findings = _findings(corpus_copy)
    assert [(d.code, d.path, d.pointer) for d in findings] == [
        ("verify.hash", "event-schemas/examples/m.room.topic", "/content")
    ]
    assert findings[0].line == line - 1  # the /content object opens on the line above


def test_an_event_example_with_a_made_up_id_is_reported(corpus_copy):
    path = corpus_copy / "event-schemas/examples/m.room.name"
    event_id = json.loads(path.read_text())["event_id"]
    line = _replace_once(path, event_id, "$madeup")
    (finding,) = _findings(corpus_copy)
    assert (finding.code, finding.line, finding.pointer) == ("verify.event-id", line, "/event_id")


def test_a_history_event_with_a_forged_power_level_is_rejected_by_rule(corpus_copy):
    room = RoomFactory.public_chat("10")
    # Bob, at level 0, hands himself 100: properly signed, but not allowed.
    room.set_power_levels(BOB, room.default_power_levels({BOB: 100}))
    history = History("forged-v10", "Bob forges his own power level.", room.room_version, tuple(room.events))
    path = corpus_copy / "event-schemas/histories/forged-v10.json"
    path.write_text(json.dumps(history_json(history), indent=2) + "\n")
    findings = [d for d in _findings(corpus_copy) if d.path.endswith("forged-v10.json")]
    forged = len(room.events) - 1
    assert [(d.code, d.pointer) for d in findings] == [("verify.auth", f"/events/{forged}")]
    assert "event.insufficient_power" in findings[0].message
    assert findings[0].line > 1


def test_a_tampered_history_event_fails_its_hash(corpus_copy):
    path = corpus_copy / "event-schemas/histories/remote-invite-v3.json"
    line = _replace_once(path, '"displayname": "Bob"', '"displayname": "Rob"')
    findings = _findings(corpus_copy)
    first, *later = [d for d in findings if d.path.endswith("remote-invite-v3.json")]
    assert (first.code, first.pointer) == ("verify.hash", "/events/4/hashes/sha256")
    # Bob's join cites the refused invite, so it is refused in turn.
    assert [(d.code, d.pointer) for d in later] == [("verify.auth", "/events/5")]
    assert line > 0


def test_a_history_listing_an_unpublished_key_is_reported(corpus_copy):
    path = corpus_copy / "event-schemas/histories/remote-invite-v10.json"
    data = json.loads(path.read_text())
    data["keys"]["example.org"]["ed25519:1"] = data["keys"]["remote.example.com"]["ed25519:1"]
    path.write_text(json.dumps(data, indent=2) + "\n")
    codes = {d.code for d in _findings(corpus_copy) if d.path.endswith("remote-invite-v10.json")}
    assert "verify.signature" in codes

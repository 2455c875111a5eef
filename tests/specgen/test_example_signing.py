"""``specgen examples --sign|--check`` on copies of the real corpus."""

from __future__ import annotations

import json
from pathlib import Path


from conftest import REPO
from specgen import cli
from specgen.corpus import Corpus
from specgen.example_signing import sign_corpus
from specgen.verify import verify_corpus


def _snapshot(root: Path) -> dict[Path, tuple[int, bytes]]:
    return {p: (p.stat().st_mtime_ns, p.read_bytes()) for p in sorted(root.rglob("*")) if p.is_file()}


def test_the_real_corpus_is_up_to_date(capsys):
    assert cli.main(["--root", str(REPO), "examples", "--check"]) == 0
    assert capsys.readouterr().out == ""


def test_signing_an_up_to_date_corpus_touches_no_file(corpus_copy):
    before = _snapshot(corpus_copy)
    assert cli.main(["--root", str(corpus_copy), "examples", "--sign"]) == 0
    assert _snapshot(corpus_copy) == before


def test_a_blanked_yaml_signature_is_stale_then_restored_byte_for_byte(corpus_copy, capsys):
    path = corpus_copy / "api/server-server/definitions/server_keys.yaml"
    original = path.read_text()
    signature = original.split("ed25519:1: ", 2)[-1].split("\n")[0]
    at = original.index("ed25519:1: " + signature)
    path.write_text(original[:at] + 'ed25519:1: ""' + original[at + len("ed25519:1: " + signature):])
    line = original.count("\n", 0, at) + 1
    assert cli.main(["--root", str(corpus_copy), "--format", "json", "examples", "--check"]) == 1
    reported = json.loads(capsys.readouterr().out)
    findings = reported if isinstance(reported, list) else reported["diagnostics"]
    assert [(f["code"], f["line"]) for f in findings] == [("examples.stale", line)]
    assert cli.main(["--root", str(corpus_copy), "examples", "--sign"]) == 0
    assert path.read_text() == original


def test_a_blanked_json_example_is_restored_byte_for_byte(corpus_copy):
    path = corpus_copy / "api/server-server/examples/v11_invite_carol_countersigned.json"
    original = path.read_text()
    data = json.loads(original)
    data["hashes"]["sha256"] = ""
    data["signatures"]["third.example.net"]["ed25519:1"] = ""
    path.write_text(json.dumps(data, indent=2) + "\n")
    assert cli.main(["--root", str(corpus_copy), "examples", "--sign"]) == 0
    assert path.read_text() == original


def test_an_edited_event_changes_its_id_and_every_reference_follows(corpus_copy):
    message = corpus_copy / "event-schemas/examples/m.room.message"
    redaction = corpus_copy / "event-schemas/examples/m.room.redaction"
    old_id = json.loads(message.read_text())["event_id"]
    message.write_text(message.read_text().replace("need staking", "need water"))
    assert cli.main(["--root", str(corpus_copy), "examples", "--sign"]) == 0
    new_id = json.loads(message.read_text())["event_id"]
    assert new_id != old_id
    assert json.loads(redaction.read_text())["redacts"] == new_id
    history = json.loads((corpus_copy / "event-schemas/histories/example-room-v10.json").read_text())
    assert new_id in json.dumps(history["events"])
    assert list(verify_corpus(Corpus(corpus_copy))) == []
    assert cli.main(["--root", str(corpus_copy), "examples", "--check"]) == 0


def test_signing_is_deterministic():
    first, second = sign_corpus(Corpus(REPO)), sign_corpus(Corpus(REPO))
    assert first.values == second.values
    assert [h.events for h in first.histories] == [h.events for h in second.histories]


def test_a_missing_history_is_stale_and_sign_writes_it(corpus_copy, capsys):
    path = corpus_copy / "event-schemas/histories/third-party-invite-v12.json"
    original = path.read_text()
    path.unlink()
    assert cli.main(["--root", str(corpus_copy), "examples", "--check"]) == 1
    assert "examples.stale" in capsys.readouterr().out
    assert cli.main(["--root", str(corpus_copy), "examples", "--sign"]) == 0
    assert path.read_text() == original


def test_a_signer_without_a_test_key_is_reported(corpus_copy, capsys):
    path = corpus_copy / "api/server-server/examples/carol_signed.json"
    data = json.loads(path.read_text())
    data["signatures"]["unknown.example"] = {"ed25519:1": ""}
    path.write_text(json.dumps(data, indent=2) + "\n")
    assert cli.main(["--root", str(corpus_copy), "examples", "--check"]) == 1
    assert "unknown.example" in capsys.readouterr().out


def test_a_history_linked_out_of_the_corpus_is_neither_read_nor_written_through(corpus_copy, tmp_path):
    secret = tmp_path / "secret.json"
    secret.write_text("hunter2\n")
    path = corpus_copy / "event-schemas/histories/example-room-v10.json"
    path.unlink()
    path.symlink_to(secret)
    assert cli.main(["--root", str(corpus_copy), "examples", "--check"]) == 1
    assert cli.main(["--root", str(corpus_copy), "examples", "--sign"]) == 0
    assert secret.read_text() == "hunter2\n"
    assert not path.is_symlink() and json.loads(path.read_text())["room_version"] == "10"

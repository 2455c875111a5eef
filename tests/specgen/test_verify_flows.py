"""``specgen verify`` runs the invite and third-party-invite examples through
refimpl's flow handlers: the real corpus passes, and a tampered copy is
reported at the example, naming the handler's rule and errcode."""

from __future__ import annotations

from pathlib import Path

from specgen.corpus import Corpus
from specgen.verify import verify_corpus


def _flow_findings(root: Path) -> list:
    return [d for d in verify_corpus(Corpus(root)) if d.code == "verify.flow"]


def _replace(path: Path, old: str, new: str, count: int = 1) -> None:
    text = path.read_text("utf-8")
    assert text.count(old) >= count, old
    path.write_text(text.replace(old, new, count), "utf-8")


def test_an_unsupported_room_version_in_an_invite_request_is_refused(corpus_copy):
    _replace(corpus_copy / "api/server-server/invites-v2.yaml", 'room_version: "11"', 'room_version: "99"')
    finding, answer = _flow_findings(corpus_copy)
    # The request is refused, so no request example produces the 200 example.
    assert answer.pointer.endswith("/responses/200/content/application~1json/examples/countersigned/value")
    assert finding.path == "api/server-server/invites-v2.yaml"
    assert finding.pointer.endswith("/requestBody/content/application~1json/examples/invite/value")
    assert "M_INCOMPATIBLE_ROOM_VERSION" in finding.message and "invite.room_version.unsupported" in finding.message


def test_a_countersigned_answer_must_be_the_invitee_handlers(corpus_copy):
    path = corpus_copy / "api/server-server/invites-v1.yaml"
    _replace(path, "value:\n                    - 200\n", "value:\n                    - 201\n")
    findings = _flow_findings(corpus_copy)
    assert [(d.path, d.pointer.rsplit("/", 3)[-2]) for d in findings] == [
        ("api/server-server/invites-v1.yaml", "countersigned")
    ]


def test_an_exchange_from_someone_other_than_the_inviter_is_refused(corpus_copy):
    _replace(corpus_copy / "api/server-server/third_party_invite.yaml",
             '                  sender: "@alice:example.org"\n                  state_key',
             '                  sender: "@bob:remote.example.com"\n                  state_key')
    (finding,) = _flow_findings(corpus_copy)
    assert "exchange.sender_mismatch" in finding.message and finding.path.endswith("third_party_invite.yaml")


def test_an_onbind_proof_for_an_unknown_token_is_reported(corpus_copy):
    path = corpus_copy / "api/server-server/third_party_invite.yaml"
    _replace(path, "                      signed:\n                        $ref: examples/carol_signed.json",
             "                      signed:\n                        mxid: \"@carol:third.example.net\"\n"
             "                        token: nope\n                        signatures: {}")
    findings = _flow_findings(corpus_copy)
    assert [d.pointer.endswith("/invites/0/signed") for d in findings] == [True]


def test_an_incompatible_room_version_example_must_name_the_requests_version(corpus_copy):
    path = corpus_copy / "api/server-server/invites-v2.yaml"
    _replace(path, '                    room_version: "11"\n', '                    room_version: "10"\n')
    (finding,) = _flow_findings(corpus_copy)
    assert finding.pointer.endswith("/responses/400/content/application~1json/examples/incompatible/value")


def test_a_store_invite_answer_must_obscure_the_address_as_the_identity_server_does(corpus_copy):
    _replace(corpus_copy / "api/identity/store_invite.yaml",
             "                    display_name: car...@thi...", "                    display_name: carol@t...")
    (finding,) = _flow_findings(corpus_copy)
    assert "display name" in finding.message and finding.path.endswith("store_invite.yaml")

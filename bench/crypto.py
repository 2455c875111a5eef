"""Signing, verification and canonical JSON against their raw baselines.

Each refimpl path is timed next to the primitive it wraps, on the same
input in the same run: event signing and receipt checks against raw
PyNaCl (libsodium) sign/verify of the same canonical bytes, and canonical
JSON against ``json.dumps`` with sorted keys and compact separators.
Targets: receipt check within 1.5x of raw verify, encoding within 3x of
``json.dumps``.
"""

from __future__ import annotations

import json
import timeit

import nacl.signing

from refimpl.canonical_json import encode_canonical_json
from refimpl.event_signing import check_received_event, sign_event
from refimpl.events import build_pdu
from refimpl.redaction import redact
from refimpl.room_versions import V11
from refimpl.signing import signed_bytes
from refimpl.test_keys import signing_key_for

SERVER = "example.org"
KEY = signing_key_for(SERVER)


def typical_pdu() -> dict:
    """A join with a profile, a few references and unsigned data: about 1 KB signed."""
    refs = [f"$ref{i:02d}abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMN"[:44] for i in range(4)]
    return build_pdu(
        V11,
        type="m.room.member",
        sender="@alice:example.org",
        state_key="@alice:example.org",
        room_id="!hdbwKqsQjRHuPLNNgy:example.org",
        content={
            "membership": "join",
            "displayname": "Alice Liddell (she/her) 🐇",
            "avatar_url": "mxc://example.org/SEsfnsuifSDFSSEFsdfsdfsdf",
            "reason": "Curiouser and curiouser! " * 4,
        },
        origin_server_ts=1_700_000_000_000,
        depth=4242,
        prev_events=refs[:2],
        auth_events=refs,
        unsigned={"age": 1234, "replaces_state": refs[0]},
    )


def _compare(label: str, ours, base, number: int, target: float | None) -> None:
    """Time both sides in alternation (best of 7 each), so load drift hits both alike."""
    ours_times, base_times = [], []
    for _ in range(7):
        ours_times.append(timeit.timeit(ours, number=number) / number)
        base_times.append(timeit.timeit(base, number=number) / number)
    best_ours, best_base = min(ours_times), min(base_times)
    ratio = best_ours / best_base
    verdict = "" if target is None else ("  ok" if ratio <= target else f"  OVER target {target}x")
    print(f"  {label:<44} {best_ours * 1e6:8.1f} us  baseline {best_base * 1e6:8.1f} us  ratio {ratio:5.2f}x{verdict}")


def main() -> None:
    pdu = typical_pdu()
    signed = sign_event(pdu, V11, SERVER, KEY)
    message = signed_bytes(redact(signed, V11), strict=True)
    raw_key = nacl.signing.SigningKey(KEY.seed)
    raw_verify = raw_key.verify_key
    signature = raw_key.sign(message).signature
    verify_key = KEY.verify_key

    def lookup(server: str, key_id: str):
        return verify_key if (server, key_id) == (SERVER, KEY.key_id) else None

    assert check_received_event(signed, V11, lookup).outcome == "accept"
    size = len(encode_canonical_json(signed))
    print(f"  typical PDU: {size} bytes of canonical JSON once signed")

    def dumps():
        return json.dumps(signed, sort_keys=True, separators=(",", ":"), ensure_ascii=False)

    _compare("sign_event vs raw ed25519 sign",
             lambda: sign_event(pdu, V11, SERVER, KEY), lambda: raw_key.sign(message), 1000, None)
    _compare("check_received_event vs raw ed25519 verify",
             lambda: check_received_event(signed, V11, lookup), lambda: raw_verify.verify(message, signature),
             1000, 1.5)
    _compare("encode_canonical_json vs json.dumps", lambda: encode_canonical_json(signed), dumps, 5000, 3.0)
    _compare("encode_canonical_json(strict) vs json.dumps",
             lambda: encode_canonical_json(signed, strict=True), dumps, 5000, 3.0)

if __name__ == "__main__":
    main()

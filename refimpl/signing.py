"""Signing JSON objects and checking their signatures.

Theory of operation (``specification/appendices.rst``, "Signing JSON"): the
signed bytes of an object are the canonical JSON of the object without its
``signatures`` and ``unsigned`` members. A signature is stored as
``signatures[<signing name>][<key ID>] = <unpadded base64>``, where the
signing name is normally a server name. Adding a signature never disturbs
the signatures of other names or keys, and ``unsigned`` travels along
untouched because it is not covered.

Verification is a value, not an exception: :func:`verify_json` returns a
:class:`SignatureVerdict` naming the key and the reason, and
:func:`require_valid_signature` is the raising form for callers that only
go on when everything is in order. Keys are passed in as data; fetching them
is the caller's business.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from .canonical_json import OBJECT_TYPES, CanonicalJsonError, encode_canonical_json
from .errors import BadJson, InvalidSignature
from .keys import SigningKey, VerifyKey
from .unpadded_base64 import Base64Error, decode_base64, encode_base64

__all__ = [
    "SignatureVerdict",
    "signed_bytes",
    "sign_json",
    "verify_json",
    "verify_signed_bytes",
    "require_valid_signature",
    "OK",
    "NO_SIGNATURES",
    "NO_KNOWN_KEY",
    "UNDECODABLE_SIGNATURE",
    "BAD_SIGNATURE",
    "NOT_CANONICAL",
]

_UNCOVERED = ("signatures", "unsigned")

#: Reasons a :class:`SignatureVerdict` can carry; tests compare these.
OK = "ok"
NO_SIGNATURES = "no_signatures"
NO_KNOWN_KEY = "no_known_key"
UNDECODABLE_SIGNATURE = "undecodable_signature"
BAD_SIGNATURE = "bad_signature"
NOT_CANONICAL = "not_canonical"


@dataclass(frozen=True)
class SignatureVerdict:
    """The outcome of checking one signing name's signatures on an object.

    ``key_id`` is the key whose signature decided the verdict (the one that
    verified, or the first one that failed), or None when no key was tried.
    ``reason`` is one of the module's reason constants and ``detail`` says
    the same for humans.
    """

    ok: bool
    key_id: str | None
    reason: str
    detail: str = ""

    def __bool__(self) -> bool:
        return self.ok


def _require_object(obj: Any) -> Mapping[str, Any]:
    if not isinstance(obj, OBJECT_TYPES):
        raise BadJson(f"only JSON objects can be signed, not {type(obj).__name__}")
    return obj


def signed_bytes(obj: Mapping[str, Any], *, strict: bool = False) -> bytes:
    """The bytes a signature of ``obj`` covers.

    Raises:
        BadJson: ``obj`` is not an object.
        CanonicalJsonError: ``obj`` cannot be encoded (see ``strict``).
    """
    obj = _require_object(obj)
    return encode_canonical_json(
        {k: v for k, v in obj.items() if k not in _UNCOVERED}, strict=strict
    )


def _signature_map(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    return _checked_signature_map(obj.get("signatures", {}))


def _checked_signature_map(signatures: Any) -> Mapping[str, Any]:
    if not isinstance(signatures, OBJECT_TYPES) or not all(
        isinstance(v, OBJECT_TYPES) for v in signatures.values()
    ):
        raise BadJson("'signatures' must be an object of objects")
    return signatures


def sign_json(
    obj: Mapping[str, Any], signing_name: str, key: SigningKey, *, strict: bool = False
) -> dict[str, Any]:
    """A copy of ``obj`` with ``key``'s signature added under ``signing_name``.

    ``obj`` is not modified; other names' and keys' signatures and
    ``unsigned`` are kept. An existing signature by the same key is replaced.

    Raises:
        BadJson: ``obj`` is not an object or its ``signatures`` is malformed.
        CanonicalJsonError: ``obj`` cannot be encoded.
    """
    existing = _signature_map(_require_object(obj))
    signature = encode_base64(key.sign(signed_bytes(obj, strict=strict)))
    signatures = {name: dict(sigs) for name, sigs in existing.items()}
    signatures.setdefault(signing_name, {})[key.key_id] = signature
    result = dict(obj)
    result["signatures"] = signatures
    return result


def verify_json(
    obj: Mapping[str, Any],
    signing_name: str,
    verify_keys: Mapping[str, VerifyKey],
    *,
    strict: bool = False,
) -> SignatureVerdict:
    """Check ``signing_name``'s signatures on ``obj`` against ``verify_keys``.

    Every signature made with a key in ``verify_keys`` (key ID -> key) must
    verify, and there must be at least one; signatures by keys the caller
    does not know are ignored. This follows "Checking a signature" in
    ``specification/appendices.rst`` (ignore unsupported key IDs, accept
    only if at least one signature verifies) and goes one step further: a
    bad signature by a key the caller trusts is never outvoted by a good
    one, since it means the object was altered or the key is misused.

    Raises:
        BadJson: ``obj`` is not an object or its ``signatures`` is malformed.
    """
    signatures = _signature_map(_require_object(obj))
    return _verdict(signatures, signing_name, verify_keys, lambda: signed_bytes(obj, strict=strict))


def verify_signed_bytes(
    message: bytes,
    signatures: Any,
    signing_name: str,
    verify_keys: Mapping[str, VerifyKey],
) -> SignatureVerdict:
    """:func:`verify_json` for a caller that already holds the signed bytes.

    ``message`` must be :func:`signed_bytes` of the object whose
    ``signatures`` member is given, as :func:`refimpl.hashing.encode_event`
    computes for an event; it saves encoding the object a second time.

    Raises:
        BadJson: ``signatures`` is not an object of objects.
    """
    return _verdict(_checked_signature_map(signatures), signing_name, verify_keys, lambda: message)


def _verdict(
    signatures: Mapping[str, Any],
    signing_name: str,
    verify_keys: Mapping[str, VerifyKey],
    message: Callable[[], bytes],
) -> SignatureVerdict:
    """The verdict on ``signing_name``'s signatures; ``message`` is only
    asked for once a signature is there to check."""
    by_name = signatures.get(signing_name)
    if not by_name:
        return SignatureVerdict(False, None, NO_SIGNATURES, f"no signatures from {signing_name}")
    known = sorted(k for k in by_name if k in verify_keys)
    if not known:
        return SignatureVerdict(
            False,
            None,
            NO_KNOWN_KEY,
            f"none of {signing_name}'s keys {sorted(by_name)} is among the known keys",
        )
    try:
        signed = message()
    except CanonicalJsonError as exc:
        return SignatureVerdict(False, None, NOT_CANONICAL, exc.message)
    for key_id in known:
        try:
            signature = decode_base64(by_name[key_id])
        except Base64Error:
            signature = b""
        if len(signature) != 64:
            return SignatureVerdict(
                False,
                key_id,
                UNDECODABLE_SIGNATURE,
                f"{signing_name} {key_id}: not the base64 of a 64-byte ed25519 signature",
            )
        if not verify_keys[key_id].verify(signed, signature):
            return SignatureVerdict(
                False, key_id, BAD_SIGNATURE, f"{signing_name} {key_id}: signature does not verify"
            )
    return SignatureVerdict(True, known[0], OK, f"{signing_name} {known[0]}: verified")


def require_valid_signature(
    obj: Mapping[str, Any],
    signing_name: str,
    verify_keys: Mapping[str, VerifyKey],
    *,
    strict: bool = False,
) -> None:
    """:func:`verify_json`, raising when the verdict is not ok.

    Raises:
        InvalidSignature: with ``reason`` and ``key_id`` fields from the verdict.
        BadJson: ``obj`` is not an object or its ``signatures`` is malformed.
    """
    verdict = verify_json(obj, signing_name, verify_keys, strict=strict)
    if not verdict.ok:
        raise InvalidSignature(verdict.detail, reason=verdict.reason, key_id=verdict.key_id)

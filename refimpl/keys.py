"""Signing and verify keys: ed25519 key pairs named by key IDs.

Theory of operation (``specification/appendices.rst``, "Signing Keys";
``specification/server-server-api.rst``, "Retrieving server keys"): a server
signs with a private key named ``<algorithm>:<version>``, for example
``ed25519:1``, and publishes the matching public key under the same key ID.
Only ``ed25519`` is defined. A :class:`SigningKey` is built from the 32-byte
seed (the form servers store keys in); the public half is a
:class:`VerifyKey`. Both are frozen values; the PyNaCl signing key a
:class:`SigningKey` wraps is private and derived once, and a
:class:`VerifyKey` holds only its bytes (verification calls libsodium
directly).

Verification never raises on a bad signature: it answers False, so the
caller decides whose fault it is (:mod:`refimpl.signing` turns the answer
into a verdict).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import nacl.bindings
import nacl.exceptions
import nacl.signing

from .errors import InvalidParam
from .unpadded_base64 import decode_base64, encode_base64

__all__ = ["ED25519", "SigningKey", "VerifyKey", "KeyLookup", "parse_key_id", "key_lookup"]

ED25519 = "ed25519"

_KEY_ID = re.compile(r"([a-z0-9_]+):([a-zA-Z0-9_]+)")


def parse_key_id(key_id: str) -> tuple[str, str]:
    """Split a key ID into ``(algorithm, version)``.

    Raises:
        InvalidParam: ``key_id`` is not ``algorithm ":" version`` with a
            version of ``[a-zA-Z0-9_]`` characters.
    """
    match = _KEY_ID.fullmatch(key_id) if isinstance(key_id, str) else None
    if match is None:
        raise InvalidParam(f"malformed key ID {key_id!r}: expected algorithm:version")
    return match.group(1), match.group(2)


def _require_ed25519(algorithm: str, key_id: str) -> None:
    if algorithm != ED25519:
        raise InvalidParam(f"unsupported key algorithm in {key_id!r}: only ed25519 is defined")


@dataclass(frozen=True)
class VerifyKey:
    """A public key and the key ID it is published under."""

    key_id: str
    public_bytes: bytes

    def __post_init__(self) -> None:
        _require_ed25519(parse_key_id(self.key_id)[0], self.key_id)
        if len(self.public_bytes) != 32:
            raise InvalidParam(
                f"ed25519 public key {self.key_id} must be 32 bytes, got {len(self.public_bytes)}"
            )
        object.__setattr__(self, "public_bytes", bytes(self.public_bytes))

    @classmethod
    def from_base64(cls, key_id: str, text: str) -> VerifyKey:
        """Build from the unpadded Base64 form used in key documents.

        Raises:
            Base64Error: ``text`` is not Base64.
            InvalidParam: bad key ID, unsupported algorithm, or wrong length.
        """
        return cls(key_id, decode_base64(text))

    @property
    def public_base64(self) -> str:
        return encode_base64(self.public_bytes)

    def verify(self, message: bytes, signature: bytes) -> bool:
        """Whether ``signature`` is this key's ed25519 signature of ``message``.

        Calls libsodium's binding directly rather than through
        ``nacl.signing.VerifyKey.verify``, whose argument handling costs a
        few per cent of a verification; the key was checked at construction.
        """
        if len(signature) != 64:
            return False
        try:
            nacl.bindings.crypto_sign_open(bytes(signature) + bytes(message), self.public_bytes)
        except (nacl.exceptions.CryptoError, ValueError, TypeError):
            return False
        return True


@dataclass(frozen=True)
class SigningKey:
    """A private ed25519 key (its seed) and the version naming it."""

    version: str
    seed: bytes = field(repr=False)
    algorithm: str = ED25519
    _nacl: nacl.signing.SigningKey = field(init=False, repr=False, compare=False)
    verify_key: VerifyKey = field(init=False, compare=False)

    def __post_init__(self) -> None:
        _require_ed25519(self.algorithm, self.key_id)
        parse_key_id(self.key_id)
        if len(self.seed) != 32:
            raise InvalidParam(f"ed25519 seed must be 32 bytes, got {len(self.seed)}")
        private = nacl.signing.SigningKey(bytes(self.seed))
        object.__setattr__(self, "_nacl", private)
        object.__setattr__(self, "verify_key", VerifyKey(self.key_id, bytes(private.verify_key)))

    @classmethod
    def from_seed(cls, seed: bytes, version: str) -> SigningKey:
        """Raises InvalidParam for a seed that is not 32 bytes or a bad version."""
        return cls(version=version, seed=bytes(seed))

    @classmethod
    def from_base64_seed(cls, text: str, version: str) -> SigningKey:
        """Raises Base64Error or InvalidParam for a bad seed or version."""
        return cls.from_seed(decode_base64(text), version)

    @property
    def key_id(self) -> str:
        return f"{self.algorithm}:{self.version}"

    def sign(self, message: bytes) -> bytes:
        """The 64-byte detached ed25519 signature of ``message``."""
        return self._nacl.sign(message).signature


#: How checks that need other servers' keys ask for them: ``(server_name,
#: key_id) -> VerifyKey | None``. The caller fetches and vouches; None means
#: the key is unknown (or not to be trusted for this use).
KeyLookup = Callable[[str, str], "VerifyKey | None"]


def key_lookup(keys: Mapping[str, Mapping[str, VerifyKey]]) -> KeyLookup:
    """The :data:`KeyLookup` answering from ``{server: {key_id: VerifyKey}}``."""
    return lambda server, key_id: keys.get(server, {}).get(key_id)

"""Published test keys, so that other implementations can reproduce our vectors.

These keys are public on purpose: never use them outside tests and examples.

- ``domain`` signs with ``ed25519:1`` from the seed the specification's
  appendix publishes, ``YJDBA9Xnr2sVqXD9Vj7XVUnmFZcZrlw8Md7kMW+3XA1``
  (unpadded base64; its last character carries non-zero trailing bits).
- Each example server's seed is the SHA-256 digest of the ASCII label
  ``b"specgen published test key " + server_name``; for example the seed of
  ``example.org`` is ``sha256(b"specgen published test key example.org")``.
  ``example.org``, ``remote.example.com`` and ``third.example.net`` sign with
  ``ed25519:1``; the identity server ``id.example.org`` with ``ed25519:0``.
"""

from __future__ import annotations

import hashlib
from types import MappingProxyType
from typing import Mapping

from .errors import LocalProtocolError
from .keys import SigningKey

__all__ = ["APPENDIX_SEED", "PUBLISHED_KEYS", "signing_key_for", "seed_for_label"]

APPENDIX_SEED = "YJDBA9Xnr2sVqXD9Vj7XVUnmFZcZrlw8Md7kMW+3XA1"

_LABEL_PREFIX = b"specgen published test key "


def seed_for_label(server_name: str) -> bytes:
    """The fixed seed of an example server, as the module docstring derives it."""
    return hashlib.sha256(_LABEL_PREFIX + server_name.encode("ascii")).digest()


PUBLISHED_KEYS: Mapping[str, SigningKey] = MappingProxyType(
    {
        "domain": SigningKey.from_base64_seed(APPENDIX_SEED, "1"),
        "example.org": SigningKey.from_seed(seed_for_label("example.org"), "1"),
        "remote.example.com": SigningKey.from_seed(seed_for_label("remote.example.com"), "1"),
        "third.example.net": SigningKey.from_seed(seed_for_label("third.example.net"), "1"),
        "id.example.org": SigningKey.from_seed(seed_for_label("id.example.org"), "0"),
    }
)


def signing_key_for(server_name: str) -> SigningKey:
    """The published key of an example server.

    Raises:
        LocalProtocolError: ``server_name`` has no published test key.
    """
    try:
        return PUBLISHED_KEYS[server_name]
    except (KeyError, TypeError):
        raise LocalProtocolError(
            f"no published test key for {server_name!r}; known: {sorted(PUBLISHED_KEYS)}"
        ) from None

"""Unpadded Base64, the protocol's encoding for keys, signatures and hashes.

Theory of operation (``specification/appendices.rst``, "Unpadded Base64"):
the RFC 4648 encoding with the trailing ``=`` padding left off. Encoders
emit the standard alphabet unless a format calls for the URL-safe one (event
IDs from room version 4, room IDs in room version 12). Decoders are liberal
in what they accept: either alphabet, padded or not, and non-zero bits in
the unused tail of the last character, which some published keys contain
(the appendix's test seed ends in ``1``).
"""

from __future__ import annotations

import binascii
import re

from .errors import BadJson

__all__ = ["Base64Error", "encode_base64", "decode_base64"]


class Base64Error(BadJson):
    """Text is not unpadded (or padded) Base64 in either alphabet."""


_BODY = re.compile(r"[A-Za-z0-9+/\-_]*")


def encode_base64(data: bytes, *, urlsafe: bool = False) -> str:
    """Encode bytes as unpadded Base64 (standard alphabet unless ``urlsafe``)."""
    text = binascii.b2a_base64(bytes(data), newline=False).decode("ascii").rstrip("=")
    if urlsafe:
        return text.replace("+", "-").replace("/", "_")
    return text


def decode_base64(text: str) -> bytes:
    """Decode Base64 in either alphabet, with or without padding.

    Raises:
        Base64Error: ``text`` is not a string, holds characters outside both
            alphabets, mixes padding into the middle, or has a length no
            Base64 encoding can have (1 mod 4).
    """
    if not isinstance(text, str):
        raise Base64Error(f"base64 must be a string, not {type(text).__name__}")
    if text[-1:] != "=":
        # The common case, unpadded standard alphabet, in one C call. Strict
        # mode refuses every character outside the alphabet and any '=' in
        # the middle, but (like us) not non-zero tail bits; anything it
        # refuses gets the full treatment below, for the verdict and message.
        try:
            return binascii.a2b_base64(text + "=" * (-len(text) % 4), strict_mode=True)
        except ValueError:
            pass
    body = text.rstrip("=")
    padding = len(text) - len(body)
    if padding > 2 or len(body) % 4 == 1 or (padding and len(text) % 4):
        raise Base64Error(f"base64 of impossible length or padding: {text!r}")
    if not _BODY.fullmatch(body):
        raise Base64Error(f"not unpadded base64: {text!r}")
    # binascii ignores non-zero trailing bits, which is what we want here.
    standard = body.replace("-", "+").replace("_", "/")
    return binascii.a2b_base64(standard + "=" * (-len(body) % 4))

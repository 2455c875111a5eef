"""Errors of the protocol core, each carrying the protocol's code.

Every :class:`MatrixError` subclass declares ``errcode`` and ``http_status``
as class attributes. Protocol code raises these domain errors and nothing
else; only the HTTP adapters in :mod:`refimpl.transport` turn them into
status lines and ``{"errcode": ..., "error": ...}`` bodies.

Two branches say whose fault an error is (h11's split):
:class:`LocalProtocolError` means our caller misused the API (a bug here),
:class:`RemoteProtocolError` means a peer sent something the protocol does
not allow. Auth-rule verdicts are values (:mod:`refimpl.auth_rules`), not
exceptions.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Any

__all__ = [
    "Errcode",
    "MatrixError",
    "Refusals",
    "refusal",
    "LocalProtocolError",
    "RemoteProtocolError",
    "BadJson",
    "NotJson",
    "InvalidParam",
    "MissingParam",
    "Forbidden",
    "Unauthorized",
    "UnknownToken",
    "NotFound",
    "UnsupportedRoomVersion",
    "IncompatibleRoomVersion",
    "InvalidSignature",
    "TooLarge",
    "Unrecognized",
    "ThreepidInUse",
]


class Errcode(str, enum.Enum):
    """The ``M_*`` error codes of the specification's common error list."""

    M_FORBIDDEN = "M_FORBIDDEN"
    M_UNKNOWN_TOKEN = "M_UNKNOWN_TOKEN"
    M_MISSING_TOKEN = "M_MISSING_TOKEN"
    M_UNAUTHORIZED = "M_UNAUTHORIZED"
    M_BAD_JSON = "M_BAD_JSON"
    M_NOT_JSON = "M_NOT_JSON"
    M_NOT_FOUND = "M_NOT_FOUND"
    M_LIMIT_EXCEEDED = "M_LIMIT_EXCEEDED"
    M_UNRECOGNIZED = "M_UNRECOGNIZED"
    M_UNKNOWN = "M_UNKNOWN"
    M_MISSING_PARAM = "M_MISSING_PARAM"
    M_INVALID_PARAM = "M_INVALID_PARAM"
    M_TOO_LARGE = "M_TOO_LARGE"
    M_UNSUPPORTED_ROOM_VERSION = "M_UNSUPPORTED_ROOM_VERSION"
    M_INCOMPATIBLE_ROOM_VERSION = "M_INCOMPATIBLE_ROOM_VERSION"
    M_BAD_STATE = "M_BAD_STATE"
    M_INVALID_ROOM_STATE = "M_INVALID_ROOM_STATE"
    M_THREEPID_NOT_FOUND = "M_THREEPID_NOT_FOUND"
    M_THREEPID_IN_USE = "M_THREEPID_IN_USE"
    M_SERVER_NOT_TRUSTED = "M_SERVER_NOT_TRUSTED"
    M_TERMS_NOT_SIGNED = "M_TERMS_NOT_SIGNED"

    def __str__(self) -> str:
        return self.value


class MatrixError(Exception):
    """Base of every refimpl error.

    Equality and hashing are defined once here, by class and fields, so
    tests can compare errors as values.
    """

    errcode: Errcode = Errcode.M_UNKNOWN
    http_status: int = 500

    def __init__(self, message: str, **fields: Any) -> None:
        super().__init__(message)
        self.message = message
        self.fields = fields

    def __eq__(self, other: object) -> bool:
        return (
            type(self) is type(other)
            and self.message == other.message  # type: ignore[attr-defined]
            and self.fields == other.fields  # type: ignore[attr-defined]
        )

    def __hash__(self) -> int:
        return hash((type(self), self.message))

    def __repr__(self) -> str:
        extra = "".join(f", {k}={v!r}" for k, v in self.fields.items())
        return f"{type(self).__name__}({self.message!r}{extra})"

    def to_body(self) -> dict[str, Any]:
        """The protocol's error body (used by adapters and the oracle), with
        the fields the protocol adds for some codes."""
        body: dict[str, Any] = {"errcode": self.errcode.value, "error": self.message}
        if self.errcode is Errcode.M_INCOMPATIBLE_ROOM_VERSION and "room_version" in self.fields:
            body["room_version"] = self.fields["room_version"]
        return body


class LocalProtocolError(MatrixError):
    """We were asked to do something the protocol forbids (a caller's bug)."""

    errcode = Errcode.M_UNKNOWN
    http_status = 500


class RemoteProtocolError(MatrixError):
    """A peer sent something the protocol does not allow."""

    errcode = Errcode.M_BAD_JSON
    http_status = 400


class BadJson(RemoteProtocolError):
    errcode = Errcode.M_BAD_JSON
    http_status = 400


class NotJson(RemoteProtocolError):
    errcode = Errcode.M_NOT_JSON
    http_status = 400


class InvalidParam(RemoteProtocolError):
    errcode = Errcode.M_INVALID_PARAM
    http_status = 400


class MissingParam(RemoteProtocolError):
    errcode = Errcode.M_MISSING_PARAM
    http_status = 400


class TooLarge(RemoteProtocolError):
    errcode = Errcode.M_TOO_LARGE
    http_status = 413


class Forbidden(RemoteProtocolError):
    errcode = Errcode.M_FORBIDDEN
    http_status = 403


class Unauthorized(RemoteProtocolError):
    errcode = Errcode.M_UNAUTHORIZED
    http_status = 401


class UnknownToken(RemoteProtocolError):
    """An access token the server never issued (or revoked)."""

    errcode = Errcode.M_UNKNOWN_TOKEN
    http_status = 401


class NotFound(RemoteProtocolError):
    errcode = Errcode.M_NOT_FOUND
    http_status = 404


class InvalidSignature(RemoteProtocolError):
    """A signature is missing, malformed or does not verify."""

    errcode = Errcode.M_FORBIDDEN
    http_status = 401


class UnsupportedRoomVersion(RemoteProtocolError):
    errcode = Errcode.M_UNSUPPORTED_ROOM_VERSION
    http_status = 400


class IncompatibleRoomVersion(RemoteProtocolError):
    errcode = Errcode.M_INCOMPATIBLE_ROOM_VERSION
    http_status = 400


class Unrecognized(RemoteProtocolError):
    """The request names something the server does not implement."""

    errcode = Errcode.M_UNRECOGNIZED
    http_status = 400


class ThreepidInUse(RemoteProtocolError):
    """A third-party identifier is already bound to a Matrix user."""

    errcode = Errcode.M_THREEPID_IN_USE
    http_status = 400


#: A handler's refusal table: rule ID -> (error class, what the rule means).
Refusals = Mapping[str, tuple[type[MatrixError], str]]


def refusal(rules: Refusals, rule: str, detail: str = "", **fields: Any) -> MatrixError:
    """The error a handler raises for one rule of its table, naming the rule
    (``fields`` go into the error body where the protocol defines them, such
    as ``room_version`` of ``M_INCOMPATIBLE_ROOM_VERSION``).

    Raises:
        KeyError: ``rule`` is not in ``rules`` (a bug in the handler).
    """
    error_class, meaning = rules[rule]
    return error_class(f"{meaning}: {detail}" if detail else meaning, rule=rule, **fields)

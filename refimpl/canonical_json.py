"""Canonical JSON: the one byte encoding every signature and hash is taken over.

Theory of operation (``specification/appendices.rst``, "Canonical JSON"):
object keys are sorted by Unicode code point, there is no insignificant
whitespace, the output is UTF-8, and strings are escaped as little as the
JSON grammar allows: ``"`` and ``\\``, the short forms ``\\b \\f \\n \\r \\t``,
and every other character below U+0020 as ``\\u00xx`` with lower-case hex.
Nothing else is escaped, so non-ASCII text appears as its UTF-8 bytes.

The encoding is done in two passes. :func:`_find_problem` walks the value
once without recursion, checking what the standard library encoder would let
through or get wrong (non-string keys, out-of-range integers, floats in
strict mode, NaN, lone surrogates, excessive depth, unknown types); then
:func:`json.dumps` with ``sort_keys`` and ``ensure_ascii=False`` does the
writing in C. Its escaping is exactly the escaping described above, which the
vectors in ``tests/vectors/canonical_json.json`` pin down.

Numbers (``specification/appendices.rst``, "Numbers"). A number's value
decides, never its spelling: a JSON number whose value is an integer is that
integer, so ``-0`` is 0, ``1e10`` is 10000000000 and ``1.0`` is 1, in both
modes. :func:`parse_json` reads JSON text by this rule (exactly, through
:class:`decimal.Decimal`, never through a binary float), and the encoder
applies it to Python floats: an integral float within the integer range is
written as that integer. In strict mode (room versions with
``strict_canonical_json``, v6 onwards) every other number is refused: only
integers in [-(2**53)+1, 2**53-1] are allowed. In lenient mode (older room
versions and non-event documents) any integer is written in decimal, and
any other finite float as Python's shortest round-trip ``repr`` (``0.1``,
``1e+100``): deterministic, though other implementations may render such
floats differently, which is why the protocol forbids them where it matters.
"""

from __future__ import annotations

import json
import math
from decimal import Decimal
from json.encoder import c_make_encoder, encode_basestring
from collections.abc import Mapping
from typing import Any

from .errors import BadJson, NotJson

__all__ = [
    "CanonicalJsonError",
    "encode_canonical_json",
    "CANONICAL_INT_MIN",
    "CANONICAL_INT_MAX",
    "MAX_DEPTH",
    "OBJECT_TYPES",
    "as_plain",
    "require_object",
    "parse_json",
    "MAX_INTEGER_DIGITS",
]

CANONICAL_INT_MAX = 2**53 - 1
CANONICAL_INT_MIN = -(2**53) + 1

#: At most this many arrays and objects may be nested in one another; deeper
#: input is refused, so hostile input produces an error value instead of
#: exhausting the interpreter's stack in the C encoder.
MAX_DEPTH = 128

#: ``isinstance(value, OBJECT_TYPES)`` asks "is this a JSON object?". Naming
#: ``dict`` first answers the common case without the ABC machinery behind
#: ``Mapping``, which costs several times more on hot paths such as
#: receiving an event.
OBJECT_TYPES = (dict, Mapping)


#: An integral number written with an exponent is read as an integer only
#: up to this many digits (Python's own limit for decimal integers), so
#: ``1e999999999`` cannot make the reader build a billion-digit integer; a
#: larger one is read as a float, and refused if that is infinite.
MAX_INTEGER_DIGITS = 4300


def _in_integer_range(value: float) -> bool:
    return value.is_integer() and CANONICAL_INT_MIN <= value <= CANONICAL_INT_MAX


def _read_number(token: str) -> int | float:
    """A JSON number token with a fraction or an exponent, read by value."""
    exact = Decimal(token)
    if exact.adjusted() < MAX_INTEGER_DIGITS and exact == exact.to_integral_value():
        return int(exact)
    number = float(token)
    if not math.isfinite(number):
        raise NotJson(f"number {token[:40]} is too large to be read")
    return number


def _refuse_constant(name: str) -> Any:
    raise NotJson(f"{name} is not JSON")


def parse_json(text: str | bytes) -> Any:
    """Read JSON text, every number by its value (see the module docstring).

    The one JSON reader of the protocol core: the oracle reads its requests
    with it and the HTTP adapters read bodies with it, so a number means the
    same wherever it arrives.

    Raises:
        NotJson: the text is not UTF-8 JSON, names ``NaN`` or ``Infinity``,
            holds a number too large to read, or nests too deeply.
    """
    try:
        decoded = text.decode("utf-8") if isinstance(text, bytes) else text
        return json.loads(decoded, parse_float=_read_number, parse_constant=_refuse_constant)
    except NotJson:
        raise
    except (UnicodeDecodeError, ValueError) as exc:
        raise NotJson(f"not JSON: {exc}") from None
    except RecursionError:
        raise NotJson("JSON nests too deeply to decode") from None


def require_object(value: Any, what: str) -> Mapping[str, Any]:
    """``value`` itself if it is a JSON object.

    Raises:
        BadJson: ``"<what> must be a JSON object, not <type>"``.
    """
    if not isinstance(value, OBJECT_TYPES):
        raise BadJson(f"{what} must be a JSON object, not {type(value).__name__}")
    return value


class CanonicalJsonError(BadJson):
    """A value cannot be written as canonical JSON.

    ``pointer`` is the JSON pointer (RFC 6901) of the offending value, or of
    the object holding an offending key.
    """

    def __init__(self, message: str, pointer: str) -> None:
        super().__init__(f"{message} at {pointer or '/'}", pointer=pointer)
        self.pointer = pointer


def _pointer(path: tuple[Any, ...]) -> str:
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in path)


def _has_lone_surrogate(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _leaf_problem(value: Any, strict: bool) -> str | None:
    """Why a scalar cannot be encoded, or None if it can."""
    if value is None or value is True or value is False:
        return None
    if isinstance(value, str):
        return "string contains a lone surrogate" if _has_lone_surrogate(value) else None
    if isinstance(value, int):
        if strict and not CANONICAL_INT_MIN <= value <= CANONICAL_INT_MAX:
            return f"integer {value} is outside [-(2**53)+1, 2**53-1]"
        return None
    if isinstance(value, float):
        if not math.isfinite(value):
            return f"{value!r} is not a JSON number"
        if strict and not _in_integer_range(value):
            return f"{value!r} is not an integer in range: floats are not allowed in canonical JSON for this room version"
        return None
    return f"values of type {type(value).__name__} cannot be encoded as JSON"


def _find_problem(value: Any, strict: bool) -> CanonicalJsonError | None:
    """The first reason ``value`` cannot be canonical JSON, or None.

    An explicit stack instead of recursion, so depth is bounded by
    :data:`MAX_DEPTH` and never by the interpreter.
    """
    stack: list[tuple[Any, tuple[Any, ...]]] = [(value, ())]
    while stack:
        node, path = stack.pop()
        if isinstance(node, (Mapping, list, tuple)) and len(path) >= MAX_DEPTH:
            return CanonicalJsonError(f"nesting deeper than {MAX_DEPTH} levels", _pointer(path))
        if isinstance(node, Mapping):
            for key, child in node.items():
                if not isinstance(key, str):
                    return CanonicalJsonError(f"object key {key!r} is not a string", _pointer(path))
                if _has_lone_surrogate(key):
                    return CanonicalJsonError("object key contains a lone surrogate", _pointer(path))
                stack.append((child, path + (key,)))
        elif isinstance(node, (list, tuple)):
            stack.extend((child, path + (i,)) for i, child in enumerate(node))
        else:
            reason = _leaf_problem(node, strict)
            if reason is not None:
                return CanonicalJsonError(reason, _pointer(path))
    return None


def _is_plain(value: Any, strict: bool) -> bool:
    """Quick check that the fast encoder may be used unchanged.

    True means every container is a dict or list with string keys, every
    scalar is of a type the standard encoder renders canonically, integers are
    in range (strict mode), floats are finite (lenient mode) and nesting is
    within MAX_DEPTH. It does not look inside strings: lone surrogates surface
    when the result is UTF-8 encoded. False sends the value to
    :func:`_find_problem` for a precise verdict. Written for speed: scalars
    are checked in their container's loop, only containers are stacked.
    """
    stack = [(value, 0)] if type(value) in (dict, list) else []
    if not stack and not _scalar_is_plain(value, strict):
        return False
    pop, push = stack.pop, stack.append
    while stack:
        node, depth = pop()
        if depth >= MAX_DEPTH:
            return False
        if type(node) is dict:
            for key in node:
                if type(key) is not str:
                    return False
            children = node.values()
        else:
            children = node
        for child in children:
            kind = type(child)
            if kind is str or child is None or kind is bool:
                continue
            if kind is dict or kind is list:
                push((child, depth + 1))
            elif not _scalar_is_plain(child, strict):
                return False
    return True


def _scalar_is_plain(value: Any, strict: bool) -> bool:
    kind = type(value)
    if kind is str or value is None or kind is bool:
        return True
    if kind is int:
        return not strict or CANONICAL_INT_MIN <= value <= CANONICAL_INT_MAX
    if kind is float:
        # Integral floats in range are written as integers, by as_plain.
        return not strict and math.isfinite(value) and not _in_integer_range(value)
    return False


def as_plain(value: Any) -> Any:
    """A copy whose objects are dicts and arrays lists, as the C encoder and
    ``json.dumps`` want (events hold read-only mappings and tuples), and
    whose integral floats in the integer range are integers.

    Recursive: give it values no deeper than :data:`MAX_DEPTH`, such as those
    :func:`_find_problem` accepted.
    """
    if isinstance(value, Mapping):
        return {k: as_plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [as_plain(v) for v in value]
    if type(value) is float and _in_integer_range(value):
        return int(value)
    return value


_ENCODER = json.JSONEncoder(
    ensure_ascii=False,
    allow_nan=False,
    check_circular=False,
    separators=(",", ":"),
    sort_keys=True,
)

# ``JSONEncoder.encode`` builds a fresh C encoder on every call, which costs
# as much as encoding a small event; build the same one once instead. The
# arguments mirror ``_ENCODER`` (no circular-check markers, no default hook,
# no indent, compact separators, sorted keys, no skipped keys, no NaN).
_C_ENCODER = (
    None
    if c_make_encoder is None
    else c_make_encoder(None, None, encode_basestring, None, ":", ",", True, False, False)
)


def _checked_plain(value: Any, strict: bool) -> Any:
    """``value`` itself when the fast encoder may take it as is, else a
    normalised copy (dicts and lists only).

    Raises:
        CanonicalJsonError: as :func:`encode_canonical_json`, except that a
            lone surrogate is only found by :func:`_encode_checked`.
    """
    if _is_plain(value, strict):
        return value
    problem = _find_problem(value, strict)
    if problem is not None:
        raise problem
    return as_plain(value)


def _encode_checked(value: Any, strict: bool) -> bytes:
    """Encode a value :func:`_checked_plain` returned.

    Separate from the check so that one check can serve several encodings
    of parts of the same value (:func:`refimpl.hashing.encode_event`).
    Strings are still checked here, by UTF-8 encoding the output.

    Raises:
        CanonicalJsonError: a string holds a lone surrogate.
    """
    try:
        if _C_ENCODER is None:
            return _ENCODER.encode(value).encode("utf-8")
        return "".join(_C_ENCODER(value, 0)).encode("utf-8")
    except UnicodeEncodeError:
        problem = _find_problem(value, strict)
        assert problem is not None, "only lone surrogates fail to encode as UTF-8"
        raise problem from None


def encode_canonical_json(value: Any, *, strict: bool = False) -> bytes:
    """Encode ``value`` as canonical JSON.

    Args:
        value: JSON-like data: any Mapping with string keys, list or tuple,
            str, int, float, bool or None. It is never modified.
        strict: enforce the strict number rules of room versions with
            ``strict_canonical_json``: integers only, within +/-(2**53-1).

    Returns:
        The UTF-8 bytes of the canonical encoding.

    Raises:
        CanonicalJsonError: the value has a non-string key, an unsupported
            type, a non-finite or (strict) any float, an out-of-range integer
            (strict), a lone surrogate, or nesting deeper than MAX_DEPTH.
    """
    return _encode_checked(_checked_plain(value, strict), strict)

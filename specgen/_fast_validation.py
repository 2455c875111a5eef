"""A compiled clean verdict (jsonschema-rs) in front of the Python validators.

Most checks of a healthy corpus find nothing, and pure-Python ``jsonschema``
spends most of a cold run proving it. So each check first asks a validator
compiled by jsonschema-rs whether the instance is valid. ``True`` means no
findings; anything else (``False``, a schema it cannot compile, an instance
it cannot convert) sends the check down the Python path, unchanged, which
produces every diagnostic. Nothing reported ever comes from jsonschema-rs:
a wrong "invalid" costs time, and a wrong "valid" is what the differential
test (tests/specgen/test_fast_validation.py) rules out.

Where the two could judge differently, the Python path is taken by
construction:

- a validator is compiled for the dialect its caller names: draft 2020-12
  (:data:`DIALECT`) unless the caller asks for draft 4 (:data:`DRAFT4`,
  the dialect of Swagger 2.0's document and schema checks); a schema whose
  ``$schema`` names another dialect is not compiled. OpenAPI 3.0's
  ``nullable`` is no draft-4 keyword, so schemas that may hold it are
  left to Python by their callers;
- format assertions are off, as in ``jsonschema`` by default; where the
  Python side does assert formats (openapi-spec-validator's schema checks),
  jsonschema-rs is handed the Python format functions themselves, every
  other format named by the schemas passing, so both judge formats alike;
- a fractional ``multipleOf`` is judged differently (``jsonschema``
  divides in binary floating point, so 0.3 is no multiple of 0.1 to it);
  a ``pattern`` or ``patternProperties`` that Python's ``re`` cannot
  compile stops ``jsonschema`` where jsonschema-rs (ECMA-262) may read
  it; and the classes ECMA-262 draws otherwise let it match where ``re``
  does not (``\\s`` holds U+FEFF, ``\\D`` and ``\\W`` hold non-ASCII
  digits and letters, as does a negated class of ``\\d`` or ``\\w``):
  a schema or registry holding any of these is not compiled. Elsewhere
  ``re`` matches more (``$`` before a final newline, Unicode ``\\d`` and
  ``\\w``), which costs time only;
- references are served from documents handed in (a registry) and never
  fetched: a reference outside them makes compilation fail, and the
  Python path reports it;
- schemas whose meaning could depend on more than their references
  (``$id``, anchors, dynamic references) are left to the caller to refuse
  (see :mod:`specgen.examples`).
"""

from __future__ import annotations

import re
from typing import Any, Callable, Iterable, Mapping

import jsonschema_rs

from .sources import iter_mappings

__all__ = ["DIALECT", "DRAFT4", "compile_validator", "is_clean", "judged_alike", "make_registry"]

DIALECT = "https://json-schema.org/draft/2020-12/schema"
DRAFT4 = "http://json-schema.org/draft-04/schema#"

#: The compiled validator class and registry draft of each dialect compiled.
_DRAFTS = {DIALECT: (jsonschema_rs.Draft202012Validator, jsonschema_rs.Draft202012),
           DRAFT4: (jsonschema_rs.Draft4Validator, jsonschema_rs.Draft4)}


def make_registry(resources: Iterable[tuple[str, Any]], dialect: str = DIALECT, *, checked: bool = False):
    """The documents references may reach, as ``(uri, document)`` pairs,
    built once and shared by every validator compiled over them; ``None``
    when jsonschema-rs refuses them, or one is not :func:`judged_alike`
    (``checked``: the caller has asked that of each already)."""
    resources = list(resources)
    if not checked and not all(judged_alike(document) for _, document in resources):
        return None
    try:
        return jsonschema_rs.Registry(resources, draft=_DRAFTS[dialect][1], retriever=_refuse)
    except (ValueError, TypeError, jsonschema_rs.ReferencingError):
        return None


def compile_validator(schema: Any, registry=None, formats: Mapping[str, Callable[[str], bool]] | None = None,
                      dialect: str = DIALECT):
    """A jsonschema-rs validator for ``schema`` read as ``dialect``, or
    ``None`` when it cannot be compiled exactly: a ``$schema`` naming
    another dialect, an unreachable reference, a construct it rejects.

    ``registry`` (from :func:`make_registry`) holds what references may
    reach; ``formats`` turns format assertions on with exactly these checks
    (off otherwise, in every dialect, as in ``jsonschema``).
    """
    if isinstance(schema, dict) and schema.get("$schema", dialect) != dialect or not judged_alike(schema):
        return None
    try:
        return _DRAFTS[dialect][0](
            schema, registry=registry, validate_formats=formats is not None,
            formats=dict(formats) if formats is not None else None, retriever=_refuse)
    except (ValueError, TypeError, jsonschema_rs.ReferencingError, jsonschema_rs.ValidationError):
        return None


def is_clean(validator, instance: Any) -> bool:
    """Whether ``validator`` (from :func:`compile_validator`) finds
    ``instance`` valid; ``False`` whenever it cannot say."""
    if validator is None:
        return False
    try:
        return validator.is_valid(instance)
    except (ValueError, TypeError, OverflowError, RecursionError, jsonschema_rs.ReferencingError):
        return False


#: Classes ECMA-262 draws otherwise than ``re`` so that it may match more:
#: whitespace, negated digits and word characters, word boundaries, and a
#: negated set naming digits or word characters (an escaped backslash
#: before a letter is refused with them: no harm, only time).
_CLASSES_APART = re.compile(r"\\[sSDWbB]|\[\^[^\]]*\\[dw]")

#: The keywords :func:`judged_alike` looks at.
_JUDGED_APART = frozenset({"multipleOf", "pattern", "patternProperties"})


def judged_alike(schema: Any) -> bool:
    """Whether no keyword in ``schema`` is one the two validators judge
    differently: a fractional ``multipleOf``, a pattern ``re`` refuses or
    reads with other classes."""
    for node in iter_mappings(schema):
        if _JUDGED_APART.isdisjoint(node):
            continue
        if isinstance(node.get("multipleOf"), float):
            return False
        if isinstance(node.get("pattern"), str) and not _python_pattern(node["pattern"]):
            return False
        if isinstance(node.get("patternProperties"), dict) and not all(map(_python_pattern, node["patternProperties"])):
            return False
    return True


def _python_pattern(pattern: str) -> bool:
    """Whether ``re`` (``jsonschema``'s regular expressions) compiles
    ``pattern`` and reads its classes as ECMA-262 does, or more widely."""
    if _CLASSES_APART.search(pattern):
        return False
    try:
        re.compile(pattern)
    except (re.error, RecursionError, OverflowError):
        return False
    return True


def _refuse(uri: str) -> Any:
    """Never fetch: a reference outside the given resources is the Python
    path's to report."""
    raise ValueError(f"not retrieved: {uri}")

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
- references are served from documents handed in (a registry) and never
  fetched: a reference outside them makes compilation fail, and the
  Python path reports it;
- schemas whose meaning could depend on more than their references
  (``$id``, anchors, dynamic references) are left to the caller to refuse
  (see :mod:`specgen.examples`).
"""

from __future__ import annotations

from typing import Any, Callable, Iterable, Mapping

import jsonschema_rs

__all__ = ["DIALECT", "DRAFT4", "compile_validator", "is_clean", "make_registry"]

DIALECT = "https://json-schema.org/draft/2020-12/schema"
DRAFT4 = "http://json-schema.org/draft-04/schema#"

#: The compiled validator class and registry draft of each dialect compiled.
_DRAFTS = {DIALECT: (jsonschema_rs.Draft202012Validator, jsonschema_rs.Draft202012),
           DRAFT4: (jsonschema_rs.Draft4Validator, jsonschema_rs.Draft4)}


def make_registry(resources: Iterable[tuple[str, Any]], dialect: str = DIALECT):
    """The documents references may reach, as ``(uri, document)`` pairs,
    built once and shared by every validator compiled over them; ``None``
    when jsonschema-rs refuses them."""
    try:
        return jsonschema_rs.Registry(list(resources), draft=_DRAFTS[dialect][1], retriever=_refuse)
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
    if isinstance(schema, dict) and schema.get("$schema", dialect) != dialect:
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


def _refuse(uri: str) -> Any:
    """Never fetch: a reference outside the given resources is the Python
    path's to report."""
    raise ValueError(f"not retrieved: {uri}")

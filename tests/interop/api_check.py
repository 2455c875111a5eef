"""Holds what Synapse says against our API definitions in ``api/``.

Each exchange (method, path, request body, status, response body) is
matched to an operation of specgen's OpenAPI model
(:func:`specgen.openapi.load_api`) and its bodies validated against the
declared schemas. Anything undeclared (endpoint, method, status) or any
schema error is a finding, located at the definition's file:line, so a
disagreement with Synapse names both sides.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema

from specgen.corpus import Corpus
from specgen.examples import api_dialect
from specgen.openapi import Endpoint, load_api
from specgen.refs import Resolver


@dataclass(frozen=True)
class Exchange:
    """One request and its response, as seen on the wire."""

    method: str
    path: str
    status: int
    response: Any
    request: Any = None

    def __str__(self) -> str:
        return f"{self.method} {self.path} -> {self.status}"


@dataclass(frozen=True)
class _Operation:
    endpoint: Endpoint
    pattern: re.Pattern
    literal: bool
    file: Path
    validator: type


def _pattern(template: str) -> re.Pattern:
    parts = re.split(r"(\{[^}]*\})", template)
    return re.compile("".join("[^/]+" if p.startswith("{") else re.escape(p) for p in parts) + "$")


class ApiDefinitions:
    """Every operation of a corpus's API files, matched by method and path."""

    def __init__(self, root: Path) -> None:
        self.corpus = Corpus(root)
        resolver = Resolver(self.corpus)
        operations = []
        for path in self.corpus.api_files:
            document, _ = load_api(self.corpus, resolver, path)
            if document is None:
                continue
            validator = api_dialect(self.corpus.document(path).data)
            for endpoint in document.endpoints:
                operations.append(_Operation(endpoint, _pattern(endpoint.path), "{" not in endpoint.path,
                                             path, validator))
        self._operations = tuple(operations)

    def _where(self, operation: _Operation, pointer: str) -> str:
        document = self.corpus.document(operation.file)
        line, column = document.locate(pointer)
        return f"{self.corpus.display(operation.file)}:{line}:{column}"

    def problems(self, exchange: Exchange) -> list[str]:
        """What in ``exchange`` our definitions do not declare; empty when it conforms."""
        path = exchange.path.split("?", 1)[0]
        on_path = [op for op in self._operations if op.pattern.match(path)]
        if not on_path:
            return [f"{exchange}: no definition in api/ declares the path {path}"]
        # A literal path wins over a template that also matches it.
        on_path.sort(key=lambda op: not op.literal)
        chosen = [op for op in on_path if op.endpoint.method.upper() == exchange.method.upper()]
        if not chosen:
            declared = ", ".join(sorted({op.endpoint.method.upper() for op in on_path}))
            return [f"{exchange}: method not declared (declared: {declared}) at "
                    f"{self._where(on_path[0], on_path[0].endpoint.pointer)}"]
        operation = chosen[0]
        found = []
        body = operation.endpoint.request_body
        if exchange.request is not None and body is not None:
            found += self._schema_problems(operation, body.schema, body.pointer, exchange.request,
                                           f"{exchange}: request body")
        responses = {r.status: r for r in operation.endpoint.responses}
        response = responses.get(str(exchange.status)) or responses.get(f"{exchange.status // 100}XX") \
            or responses.get("default")
        if response is None:
            return found + [f"{exchange}: status {exchange.status} not declared "
                            f"(declared: {', '.join(sorted(responses))}) at "
                            f"{self._where(operation, operation.endpoint.pointer)}"]
        if response.schema is not None:
            found += self._schema_problems(operation, response.schema, response.pointer, exchange.response,
                                           f"{exchange}: response body")
        return found

    def _schema_problems(self, operation: _Operation, schema: Any, pointer: str, value: Any,
                         what: str) -> list[str]:
        errors = operation.validator(schema).iter_errors(value)
        return [f"{what} /{'/'.join(map(str, e.absolute_path))}: {e.message} "
                f"(definition at {self._where(operation, pointer)})"
                for e in sorted(errors, key=lambda e: list(map(str, e.absolute_path)))]

    def operation_id(self, exchange: Exchange) -> str | None:
        path = exchange.path.split("?", 1)[0]
        for op in sorted(self._operations, key=lambda op: not op.literal):
            if op.pattern.match(path) and op.endpoint.method.upper() == exchange.method.upper():
                return op.endpoint.operation_id
        return None

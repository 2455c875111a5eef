"""``specgen flows``: scenarios between real servers, every exchange held against ``api/``.

Two parts:

* :class:`ApiObserver` checks one :class:`~refimpl.transport.http_client.Exchange`
  against the corpus's API definitions, read through specgen's own
  endpoint model (:func:`specgen.openapi.load_api`): the endpoint (method
  and path template), its path and query parameters, the request body,
  the status, the response body and the errcode. Bodies are validated
  *closed*: an object field that the schema does not declare is a finding,
  so the definitions must describe exactly what servers say. Findings are
  :class:`~specgen.diagnostics.Diagnostic` values located at the
  definition (file:line and JSON pointer) and naming the exchange.
* :func:`run_scenarios` runs named scenarios
  (:data:`specgen.flow_scenarios.SCENARIOS`) on loopback, each in a fresh
  :class:`Federation` whose every client reports to the observer, and
  returns what each exchange was judged.

Errcodes an error response may carry are the ``M_*`` codes its definition
names (in the response's description, its examples, or a schema ``enum``);
for operations that require authentication, ``401 M_UNAUTHORIZED`` (and
``M_UNKNOWN_TOKEN`` for bearer tokens) is declared once by the security
schemes, and ``404``/``405 M_UNRECOGNIZED``
(an endpoint the server does not implement) once for every operation by the
specification's Transport section. An operation of an unstable document
(``x-unstable``) is found at its stable path and at the path its unstable
prefix gives (:func:`specgen.placeholders.unstable_path`).
"""

from __future__ import annotations

import argparse
import asyncio
import inspect
import json
import re
import sys
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote

import aiohttp
import jsonschema

from refimpl.keys import SigningKey
from refimpl.test_keys import PUBLISHED_KEYS, seed_for_label
from refimpl.transport.http_client import Exchange, HttpClient
from refimpl.transport.http_server import (
    HOMESERVER_ROUTES,
    Homeserver,
    IdentityServer,
    Route,
    homeserver_app,
    identity_app,
)
from refimpl.transport.loopback import Loopback, ManualClock

from .corpus import Corpus
from .diagnostics import Collector, Diagnostic, Severity
from .examples import api_dialect
from .openapi import ApiDocument, Endpoint, load_api
from .placeholders import unstable_path
from .refs import Resolver
from .sources import join_pointer

__all__ = [
    "ApiObserver",
    "ObservedExchange",
    "ScenarioResult",
    "Federation",
    "ScenarioFailed",
    "Scenario",
    "closed_schema",
    "server_signing_key",
    "run_scenarios",
    "flows_command",
    "add_flows_arguments",
]

_ERRCODE = re.compile(r"\bM_[A-Z_]+\b")
#: What the security schemes (X-Matrix, bearer tokens) declare a refused
#: request gets, with 401, for every operation that requires them.
_AUTH_ERRCODES = frozenset({"M_UNAUTHORIZED", "M_UNKNOWN_TOKEN"})
_OPEN_KEYS = ("additionalProperties", "unevaluatedProperties", "patternProperties")
_BRANCHES = ("allOf", "anyOf", "oneOf")
_SCHEMA_MAPS = ("properties", "patternProperties", "$defs", "definitions", "dependentSchemas")
_SCHEMA_VALUES = ("items", "additionalProperties", "contains", "unevaluatedItems", "propertyNames")


def _declares_properties(schema: Any) -> bool:
    if not isinstance(schema, dict):
        return False
    return "properties" in schema or any(
        _declares_properties(branch) for key in _BRANCHES for branch in schema.get(key, ()) or ()
    )


def closed_schema(schema: Any, *, branch: bool = False) -> Any:
    """A copy of a 2020-12 schema in which every object that lists its
    ``properties`` (itself or through ``allOf``/``anyOf``/``oneOf``) and
    says nothing about others refuses undeclared ones
    (``unevaluatedProperties: false``, placed above the combinators so the
    branches' declarations count). ``not`` is left as it is."""
    if isinstance(schema, list):
        return [closed_schema(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key in _SCHEMA_MAPS and isinstance(value, dict):
            out[key] = {name: closed_schema(sub) for name, sub in value.items()}
        elif key in _SCHEMA_VALUES or key == "prefixItems":
            out[key] = closed_schema(value)
        elif key in _BRANCHES and isinstance(value, list):
            out[key] = [closed_schema(sub, branch=True) for sub in value]
        else:
            out[key] = value
    if not branch and _declares_properties(schema) and not any(key in schema for key in _OPEN_KEYS):
        out["unevaluatedProperties"] = False
    return out


def _template_pattern(path: str) -> re.Pattern[str]:
    parts = re.split(r"\{([^}]+)\}", path)
    regex = "".join(
        re.escape(part) if i % 2 == 0 else f"(?P<p{i // 2}>[^/]+)" for i, part in enumerate(parts)
    )
    return re.compile(regex + "/?")


@dataclass(frozen=True)
class _Operation:
    document: ApiDocument
    endpoint: Endpoint
    pattern: re.Pattern[str]
    names: tuple[str, ...]
    literal: int


class ApiObserver:
    """Judges exchanges against the API definitions of one corpus."""

    def __init__(self, corpus: Corpus, resolver: Resolver | None = None) -> None:
        self.corpus = corpus
        resolver = resolver or Resolver(corpus)
        self.operations: list[_Operation] = []
        self.load_problems: list[Diagnostic] = []
        self._validators: dict[tuple[str, bool], Any] = {}
        self._raw: dict[Path, Any] = {}
        for path in corpus.api_files:
            document, problems = load_api(corpus, resolver, path)
            self.load_problems.extend(problems)
            if document is None:
                continue
            loaded = corpus.document(path)
            self._raw[path] = loaded.data if loaded is not None else {}
            prefix = _unstable_prefix(self._raw[path])
            for endpoint in document.endpoints:
                served = [endpoint.path]
                if prefix is not None and unstable_path(endpoint.path, prefix):
                    served.append(unstable_path(endpoint.path, prefix))
                for template in served:
                    self.operations.append(_Operation(
                        document, endpoint, _template_pattern(template),
                        tuple(re.findall(r"\{([^}]+)\}", template)),
                        len(re.sub(r"\{[^}]+\}", "", template)),
                    ))

    # -- finding the definition ------------------------------------------

    def match(self, method: str, path: str) -> tuple[_Operation, dict[str, str]] | None:
        """The operation serving ``method path`` (the most literal template
        wins), with its path parameters decoded."""
        best = None
        for op in self.operations:
            if op.endpoint.method != method.upper():
                continue
            found = op.pattern.fullmatch(path)
            if found and (best is None or op.literal > best[0].literal):
                values = [unquote(found.group(f"p{i}")) for i in range(len(op.names))]
                best = (op, dict(zip(op.names, values)))
        return best

    # -- the checks ------------------------------------------------------

    def check(self, exchange: Exchange) -> list[Diagnostic]:
        """Every way ``exchange`` departs from its definition (empty: it conforms)."""
        found = self.match(exchange.method, exchange.path)
        what = _describe(exchange)
        if found is None:
            return [Diagnostic(self.corpus.display(self.corpus.api_dir), 0, 0, "flows.endpoint", Severity.ERROR,
                               f"{what}: no API definition declares {exchange.method} {exchange.path}")]
        op, path_params = found
        out: list[Diagnostic] = []

        def report(pointer: str, code: str, message: str) -> None:
            out.append(self.corpus.diagnostic(op.document.path, pointer, code, Severity.ERROR, f"{what}: {message}"))

        self._check_parameters(op, path_params, exchange, report)
        self._check_request_body(op, exchange, report)
        self._check_response(op, exchange, report)
        return out

    def _check_parameters(self, op: _Operation, path_params: Mapping[str, str], exchange: Exchange, report) -> None:
        query: dict[str, list[str]] = {}
        for name, value in parse_qsl(exchange.query, keep_blank_values=True):
            query.setdefault(name, []).append(value)
        declared = {(p.location, p.name): p for p in op.endpoint.parameters}
        for name in query:
            if ("query", name) not in declared:
                report(op.endpoint.pointer, "flows.request", f"query parameter {name!r} is not declared")
        for (location, name), param in declared.items():
            values = path_params if location == "path" else query if location == "query" else None
            if values is None:
                continue
            if name not in values:
                if param.required:
                    report(param.pointer, "flows.request", f"required {location} parameter {name!r} is missing")
                continue
            value = _typed(values[name], param.schema)
            for error in self._errors(op, param.pointer, param.schema, value, closed=False):
                report(param.pointer, "flows.request", f"{location} parameter {name!r}: {error}")

    def _check_request_body(self, op: _Operation, exchange: Exchange, report) -> None:
        body = op.endpoint.request_body
        if body is None:
            if exchange.request_body is not None:
                report(op.endpoint.pointer, "flows.request", "the request has a body the operation does not declare")
            return
        if exchange.request_body is None:
            if body.required:
                report(body.pointer, "flows.request", "the required request body is missing")
            return
        if body.schema is not None:
            for error in self._errors(op, body.pointer, body.schema, exchange.request_body):
                report(body.pointer, "flows.request", f"request body {error}")

    def _check_response(self, op: _Operation, exchange: Exchange, report) -> None:
        status = str(exchange.status)
        by_status = {r.status: r for r in op.endpoint.responses}
        response = by_status.get(status) or by_status.get(status[0] + "XX") or by_status.get("default")
        if response is None:
            if op.endpoint.requires_auth and status == "401" and exchange.errcode in _AUTH_ERRCODES:
                return
            if status in ("404", "405") and exchange.errcode == "M_UNRECOGNIZED":
                return
            declared = ", ".join(sorted(by_status)) or "none"
            report(join_pointer(op.endpoint.pointer, "responses"), "flows.status",
                   f"status {status} is not declared (declared: {declared})")
            return
        if response.schema is not None:
            if exchange.response_body is None:
                report(response.pointer, "flows.response", f"the response is not JSON: {exchange.response_text[:80]!r}")
                return
            for error in self._errors(op, response.pointer, response.schema, exchange.response_body):
                report(response.pointer, "flows.response", f"response body {error}")
        errcode = exchange.errcode
        if exchange.status >= 400 and errcode is not None:
            allowed = _declared_errcodes(response)
            if errcode not in allowed:
                named = ", ".join(sorted(allowed)) or "none"
                report(response.pointer, "flows.errcode",
                       f"errcode {errcode} is not declared for status {status} (declared: {named})")

    def _errors(self, op: _Operation, pointer: str, schema: Any, instance: Any, *, closed: bool = True) -> Iterator[str]:
        """What the schema finds wrong; undeclared fields only once the
        instance is otherwise valid (a failing branch drops its declarations,
        which would make every field look undeclared)."""
        cls = api_dialect(self._raw.get(op.document.path, {}))
        errors = list(self._validator(op, pointer, schema, cls, closed=False).iter_errors(instance))
        if not errors and closed and cls is jsonschema.Draft202012Validator:
            errors = list(self._validator(op, pointer, schema, cls, closed=True).iter_errors(instance))
        for error in sorted(errors, key=lambda e: list(map(str, e.absolute_path))):
            where = "/" + "/".join(str(p) for p in error.absolute_path)
            yield f"at {where}: {error.message}"

    def _validator(self, op: _Operation, pointer: str, schema: Any, cls: type, *, closed: bool) -> Any:
        key = (f"{op.document.path}#{pointer}", closed)
        validator = self._validators.get(key)
        if validator is None:
            validator = self._validators[key] = cls(closed_schema(schema) if closed else schema)
        return validator


def _unstable_prefix(data: Any) -> str | None:
    """The unstable prefix of a document marked ``x-unstable``, else None."""
    if not isinstance(data, dict) or data.get("x-unstable") is not True:
        return None
    info = data.get("info")
    prefix = info.get("x-unstable-prefix") if isinstance(info, dict) else None
    return prefix if isinstance(prefix, str) else None


def _typed(value: str | list[str], schema: Any) -> Any:
    """A parameter as the type its schema names: a query parameter's
    values (a list) stay a list for an array, else its first is taken;
    integers are read from their digits, booleans from ``true``/``false``
    (the form style's spelling); anything else stays a string, so the
    schema reports it."""
    schema = schema if isinstance(schema, dict) else {}
    if isinstance(value, list):
        if schema.get("type") == "array":
            return [_typed(item, schema.get("items")) for item in value]
        value = value[0]
    if schema.get("type") == "integer" and re.fullmatch(r"-?[0-9]+", value):
        return int(value)
    if schema.get("type") == "boolean" and value in _BOOLEANS:
        return _BOOLEANS[value]
    return value


_BOOLEANS = {"true": True, "false": False}


def _declared_errcodes(response) -> set[str]:
    codes = set(_ERRCODE.findall(response.description))
    for example in response.examples:
        if isinstance(example.value, dict) and isinstance(example.value.get("errcode"), str):
            codes.add(example.value["errcode"])
    schema = response.schema if isinstance(response.schema, dict) else {}
    errcode = (schema.get("properties") or {}).get("errcode") or {}
    codes.update(v for v in errcode.get("enum", ()) if isinstance(v, str))
    if isinstance(errcode.get("const"), str):
        codes.add(errcode["const"])
    return codes


def _describe(exchange: Exchange) -> str:
    origin = exchange.origin or "client"
    return f"{exchange.method} {exchange.target} ({origin} -> {exchange.destination}) {exchange.status}"


# -- the scenarios' harness ------------------------------------------------


class ScenarioFailed(Exception):
    """A scenario's expectation did not hold."""


#: The time every scenario starts at (2025-01-09, as the examples use).
START_TS = 1736424000000


def server_signing_key(server_name: str) -> SigningKey:
    """A server's fixed test key: the published one, or one derived from
    its name as :mod:`refimpl.test_keys` derives them."""
    return PUBLISHED_KEYS.get(server_name) or SigningKey.from_seed(seed_for_label(server_name), "1")


@dataclass(frozen=True)
class ObservedExchange:
    exchange: Exchange
    findings: tuple[Diagnostic, ...]


class Federation:
    """The servers of one scenario on loopback, sharing a clock; every
    exchange is recorded in ``exchanges`` with what ``check`` found in it
    (unless ``record`` is off, as under load)."""

    def __init__(self, check: Callable[[Exchange], list[Diagnostic]] | None = None, *, record: bool = True) -> None:
        self.clock = ManualClock(START_TS)
        self.check = check
        self.record = record
        self.exchanges: list[ObservedExchange] = []
        self.loopback = Loopback()
        self.servers: dict[str, Homeserver] = {}
        self._routes: dict[str, tuple[Route, ...]] = {}

    def observe(self, exchange: Exchange) -> None:
        findings = tuple(self.check(exchange)) if self.check is not None else ()
        self.exchanges.append(ObservedExchange(exchange, findings))

    async def __aenter__(self) -> "Federation":
        self.session = aiohttp.ClientSession()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.loopback.close()
        await self.session.close()

    async def homeserver(self, server_name: str, *, notary: str | None = None,
                         routes: tuple[Route, ...] = HOMESERVER_ROUTES, **options: Any) -> Homeserver:
        """Start a homeserver; ``routes`` narrows what it serves (an older
        server that does not know an endpoint answers 404 M_UNRECOGNIZED)."""
        server = Homeserver(
            server_name, server_signing_key(server_name), self.loopback.table, self.session, self.clock,
            notary=notary, observer=self.observe if self.record else None, **options,
        )
        self.servers[server_name] = server
        self._routes[server_name] = routes
        await self.loopback.start(server_name, homeserver_app(server, routes))
        return server

    async def identity_server(self, server_name: str, *, access_tokens: frozenset[str]) -> IdentityServer:
        server = IdentityServer(
            server_name, server_signing_key(server_name), self.loopback.table, self.session, self.clock,
            observer=self.observe if self.record else None, access_tokens=access_tokens,
        )
        await self.loopback.start(server_name, identity_app(server))
        return server

    async def stop(self, server_name: str) -> None:
        await self.loopback.stop(server_name)

    async def restart(self, server_name: str) -> None:
        await self.loopback.start(server_name, homeserver_app(self.servers[server_name], self._routes[server_name]))

    def client(self, origin: str | None = None) -> HttpClient:
        """A client sending as ``origin`` (signing with its key), or anonymously."""
        key = server_signing_key(origin) if origin else None
        return HttpClient(self.session, self.loopback.table, origin=origin, signing_key=key,
                          observer=self.observe if self.record else None)


def expect(condition: bool, message: str) -> None:
    if not condition:
        raise ScenarioFailed(message)


@dataclass(frozen=True)
class Scenario:
    """A named flow; its docstring is the narrative printed before it runs."""

    name: str
    run: Any

    @property
    def narrative(self) -> str:
        return inspect.cleandoc(self.run.__doc__ or "")

    @property
    def source(self) -> tuple[str, int]:
        return inspect.getsourcefile(self.run) or "", inspect.getsourcelines(self.run)[1]


@dataclass
class ScenarioResult:
    scenario: Scenario
    exchanges: list[ObservedExchange] = field(default_factory=list)
    failure: str | None = None

    @property
    def ok(self) -> bool:
        return self.failure is None and not any(o.findings for o in self.exchanges)


async def _run_one(scenario: Scenario, observer: ApiObserver) -> ScenarioResult:
    federation = Federation(observer.check)
    result = ScenarioResult(scenario, federation.exchanges)
    try:
        async with federation:
            await scenario.run(federation)
    except ScenarioFailed as exc:
        result.failure = str(exc)
    return result


def run_scenarios(corpus: Corpus, scenarios: Mapping[str, Scenario] | None = None,
                  observer: ApiObserver | None = None) -> list[ScenarioResult]:
    """Run each scenario in its own federation; exchanges judged by ``observer``."""
    from .flow_scenarios import SCENARIOS

    observer = observer or ApiObserver(corpus)
    chosen = SCENARIOS if scenarios is None else scenarios

    async def run_all() -> list[ScenarioResult]:
        return [await _run_one(scenario, observer) for scenario in chosen.values()]

    return asyncio.run(run_all())


# -- the command -----------------------------------------------------------


def add_flows_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("names", nargs="*", metavar="SCENARIO", help="scenarios to run (default: all)")
    parser.add_argument("--list", action="store_true", help="list the scenarios with their narratives")
    parser.add_argument("--quiet", action="store_true", help="print no exchange lines, only findings")
    parser.add_argument("--record", action="store_true",
                        help="write each passing scenario's exchanges to specification/flows/<scenario>.json, "
                             "which the build draws as sequence diagrams")


def _scenario_diagnostic(corpus: Corpus, result: ScenarioResult) -> Diagnostic:
    path, line = result.scenario.source
    try:
        display = str(Path(path).resolve().relative_to(corpus.root))
    except ValueError:
        display = path
    return Diagnostic(display, line, 1, "flows.scenario", Severity.ERROR,
                      f"scenario {result.scenario.name}: {result.failure}")


def flows_command(corpus: Corpus, args: argparse.Namespace, collector: Collector) -> int | None:
    from .cli import UsageError
    from .flow_scenarios import SCENARIOS

    unknown = [name for name in args.names if name not in SCENARIOS]
    if unknown:
        raise UsageError(f"no scenario {', '.join(unknown)}; known: {', '.join(SCENARIOS)}")
    if args.list:
        for scenario in SCENARIOS.values():
            print(f"{scenario.name}\n    " + scenario.narrative.replace("\n", "\n    ") + "\n")
        return 0
    chosen = {name: SCENARIOS[name] for name in args.names} if args.names else SCENARIOS
    observer = ApiObserver(corpus)
    collector.extend(observer.load_problems)
    # Machine formats keep stdout for the diagnostics alone.
    out = sys.stdout if args.format == "text" else sys.stderr
    for result in run_scenarios(corpus, chosen, observer):
        if not args.quiet:
            print(f"scenario {result.scenario.name}: {'ok' if result.ok else 'FAILED'}", file=out)
            for observed in result.exchanges:
                verdict = "ok" if not observed.findings else f"{len(observed.findings)} finding(s)"
                print(f"  {_describe(observed.exchange)}  {verdict}", file=out)
            if result.failure:
                print(f"  failed: {result.failure}", file=out)
        for observed in result.exchanges:
            collector.extend(observed.findings)
        if result.failure is not None:
            collector.add(_scenario_diagnostic(corpus, result))
        elif args.record and result.ok:
            _record(corpus, result)
    return None


def _record(corpus: Corpus, result: ScenarioResult) -> None:
    from .sequence_diagrams import FLOWS_FOLDER, recording

    folder = corpus.spec_dir / FLOWS_FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    data = recording(result.scenario.name, result.scenario.narrative, [o.exchange for o in result.exchanges])
    (folder / f"{result.scenario.name}.json").write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n",
                                                          encoding="utf-8")

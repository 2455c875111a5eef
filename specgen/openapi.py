"""OpenAPI 3.1, OpenAPI 3.0 and Swagger 2.0 documents as one endpoint model.

The renderer and the lint rules both want the same questions answered about
an API file (which operations exist, under which full path, with which
parameters, bodies, responses and examples), whatever dialect the file is
written in. :func:`load_api` answers them once, as frozen values.

The dialects differ in four places, each handled in one function:

- the path prefix: Swagger's ``basePath``; OpenAPI 3's first ``servers``
  URL with its ``variables`` replaced by their defaults, reduced to its
  path (``https://{host}/_matrix/federation`` gives ``/_matrix/federation``,
  ``{protocol}://{hostname}{basePath}`` gives ``basePath``'s default), with
  path- and operation-level ``servers`` taking precedence as OpenAPI 3 says;
- request bodies: Swagger's ``in: body`` parameter (or its ``formData``
  parameters, gathered into one object schema) versus ``requestBody``;
- media types: Swagger's ``consumes``/``produces`` versus ``content`` maps;
- examples: Swagger's ``x-example`` and response ``examples`` keyed by media
  type versus OpenAPI 3's ``example`` and named ``examples``.

``$ref`` nodes for parameters, bodies, responses and examples are followed
through :class:`specgen.refs.Resolver`; schemas and example values are
inlined by it, so consumers never see a ``$ref``. Every pointer in the model
is a JSON pointer into the API file itself (the ``$ref`` site when the value
lives elsewhere), so a finding about a model value can always be located.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Mapping, NamedTuple
from urllib.parse import urlsplit

from .diagnostics import Diagnostic, Severity
from .refs import has_ref
from .sources import join_pointer

__all__ = [
    "ApiDocument",
    "Endpoint",
    "Parameter",
    "Body",
    "Response",
    "Example",
    "HTTP_METHODS",
    "load_api",
    "version_kind",
]

#: The operation keys a path item may hold (the OpenAPI specification's order).
HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")

_JSON = "application/json"

#: Keys of a Swagger 2.0 non-body parameter that describe its value.
_SWAGGER_SCHEMA_KEYS = frozenset({
    "type", "format", "items", "enum", "default", "minimum", "maximum",
    "exclusiveMinimum", "exclusiveMaximum", "minLength", "maxLength", "pattern",
    "minItems", "maxItems", "uniqueItems", "multipleOf",
})


class Example(NamedTuple):
    """A named example value (``name`` is ``""`` for a lone ``example``,
    the media type for Swagger response examples)."""

    name: str
    value: Any
    pointer: str


@dataclass(frozen=True)
class Parameter:
    name: str
    location: str
    required: bool
    description: str
    schema: Any
    example: Any
    pointer: str
    #: Whether the parameter carries an example at all (``None`` is a value).
    has_example: bool = False
    example_pointer: str = ""


@dataclass(frozen=True)
class Body:
    description: str
    schema: Any
    examples: tuple[Example, ...]
    media_type: str
    pointer: str
    required: bool = False


@dataclass(frozen=True)
class Response:
    status: str
    description: str
    schema: Any
    examples: tuple[Example, ...]
    pointer: str
    media_type: str = ""


@dataclass(frozen=True)
class Endpoint:
    method: str
    #: Full path template, prefix included: ``/_matrix/federation/v2/invite/{roomId}``.
    path: str
    operation_id: str
    summary: str
    description: str
    deprecated: bool
    rate_limited: bool
    requires_auth: bool
    parameters: tuple[Parameter, ...]
    request_body: Body | None
    responses: tuple[Response, ...]
    pointer: str
    #: The path template as written under ``paths``, without the prefix.
    template: str = ""

    @property
    def key(self) -> tuple[str, str]:
        """What makes two operations the same endpoint (placeholder names
        do not count: ``/a/{x}`` and ``/a/{y}`` collide)."""
        return self.method, _normalise_template(self.path)


@dataclass(frozen=True)
class ApiDocument:
    path: Path
    display: str
    title: str
    version_kind: str
    base_path: str
    endpoints: tuple[Endpoint, ...]
    security_schemes: Mapping[str, Any]


def version_kind(data: Any) -> str | None:
    """``"swagger2"``, ``"openapi3.0"``, ``"openapi3.1"``, or ``None`` for
    anything else."""
    if not isinstance(data, dict):
        return None
    if str(data.get("swagger", "")).startswith("2."):
        return "swagger2"
    version = str(data.get("openapi", ""))
    if version.startswith("3.0"):
        return "openapi3.0"
    if version.startswith("3.1"):
        return "openapi3.1"
    return None


def load_api(corpus, resolver, path: Path) -> tuple[ApiDocument | None, list[Diagnostic]]:
    """Build the endpoint model of one API file.

    Args:
        corpus: the :class:`specgen.corpus.Corpus` the file belongs to.
        resolver: the :class:`specgen.refs.Resolver` over that corpus.
        path: the API file.

    Returns:
        The model (``None`` when the file does not load or is not a
        recognised OpenAPI/Swagger version) and the diagnostics met on the
        way: unresolvable ``$ref``s and nodes of the wrong shape. Parts that
        cannot be understood are left out of the model, never guessed.
    """
    loaded = corpus.load(path)
    if isinstance(loaded, Diagnostic):
        return None, [loaded]
    kind = version_kind(loaded.data)
    if kind is None:
        return None, [loaded.diagnostic("", "api.openapi", Severity.ERROR,
                                        "not an OpenAPI 3.0/3.1 or Swagger 2.0 document "
                                        "(expected 'openapi: 3.x' or 'swagger: \"2.0\"')")]
    builder = _Builder(resolver, loaded, kind)
    doc = builder.build()
    return doc, builder.diagnostics


def _normalise_template(path: str) -> str:
    out, depth = [], 0
    for ch in path:
        if ch == "{":
            depth += 1
            if depth == 1:
                out.append("{}")
        elif ch == "}":
            depth = max(depth - 1, 0)
        elif not depth:
            out.append(ch)
    return "".join(out).rstrip("/") or "/"


def _url_path(url: str) -> str:
    """The path part of a server URL, variables and all; ``""`` for ``/``."""
    if not isinstance(url, str):
        return ""
    if "://" in url:
        url = url.split("://", 1)[1]
        url = url[url.find("/"):] if "/" in url else ""
    else:
        url = urlsplit(url).path
    return url.rstrip("/")


def _with_variables(url: Any, variables: Any) -> Any:
    """A server URL with each ``{name}`` that has a string default
    replaced by it (``{hostname}{basePath}`` with ``basePath`` defaulting
    to ``/_matrix/federation/v2`` ends in that path); others stay."""
    if not isinstance(url, str) or not isinstance(variables, dict):
        return url
    for name, variable in variables.items():
        default = variable.get("default") if isinstance(variable, dict) else None
        if isinstance(default, str):
            url = url.replace("{" + name + "}", default)
    return url


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


class _Builder:
    """One pass over one API document; collects diagnostics as it goes."""

    def __init__(self, resolver, document, kind: str) -> None:
        self.resolver = resolver
        self.doc = document
        self.data = document.data
        self.kind = kind
        self.diagnostics: list[Diagnostic] = []

    # -- reporting and references --------------------------------------

    def _report(self, pointer: str, code: str, message: str) -> None:
        self.diagnostics.append(self.doc.diagnostic(pointer, code, Severity.ERROR, message))

    def _follow(self, base: Path, node: Any, pointer: str) -> tuple[Any, Path]:
        """The object a (possibly ``$ref``) node stands for, and the file it
        lives in; ``(None, base)`` when the reference does not resolve."""
        seen: set[tuple[Path, str]] = set()
        while isinstance(node, dict) and isinstance(node.get("$ref"), str):
            ref = node["$ref"]
            if (base, ref) in seen:
                self._report(pointer, "ref.cycle", f"$ref {ref!r} refers back to itself")
                return None, base
            seen.add((base, ref))
            resolved = self.resolver.resolve(base, ref, at=pointer if base == self.doc.path else None)
            if isinstance(resolved, Diagnostic):
                self.diagnostics.append(resolved)
                return None, base
            node, base = resolved.data, resolved.path
        return node, base

    def _inline(self, base: Path, node: Any, pointer: str) -> Any:
        if not has_ref(node):
            return node
        inlined = self.resolver.inline(base, node, pointer if base == self.doc.path else "")
        self.diagnostics.extend(inlined.diagnostics)
        return inlined.data

    def _mapping(self, node: Any, pointer: str, what: str) -> dict:
        if node is None:
            return {}
        if not isinstance(node, dict):
            self._report(pointer, "api.openapi", f"{what} must be a mapping, not {type(node).__name__}")
            return {}
        return node

    # -- the document ---------------------------------------------------

    def build(self) -> ApiDocument:
        info = self._mapping(self.data.get("info"), "/info", "info")
        if self.kind == "swagger2":
            prefix = _url_path(_text(self.data.get("basePath")))
            schemes = self._mapping(self.data.get("securityDefinitions"), "/securityDefinitions",
                                    "securityDefinitions")
        else:
            prefix = self._servers_prefix(self.data.get("servers"), "")
            components = self._mapping(self.data.get("components"), "/components", "components")
            schemes = self._mapping(components.get("securitySchemes"), "/components/securitySchemes",
                                    "securitySchemes")
        endpoints = tuple(self._endpoints(prefix))
        return ApiDocument(
            path=self.doc.path, display=self.doc.display, title=_text(info.get("title")),
            version_kind=self.kind, base_path=prefix, endpoints=endpoints,
            security_schemes=schemes,
        )

    def _servers_prefix(self, servers: Any, default: str) -> str:
        if isinstance(servers, list) and servers and isinstance(servers[0], dict):
            return _url_path(_with_variables(servers[0].get("url", ""), servers[0].get("variables")))
        return default

    def _endpoints(self, prefix: str) -> Iterator[Endpoint]:
        paths = self._mapping(self.data.get("paths"), "/paths", "paths")
        for template, item in paths.items():
            item_pointer = join_pointer("/paths", template)
            item, item_base = self._follow(self.doc.path, item, item_pointer)
            if item is None:
                continue
            item = self._mapping(item, item_pointer, "a path item")
            item_prefix = self._servers_prefix(item.get("servers"), prefix)
            shared = item.get("parameters", [])
            # In the order the file lists them, as gendoc.py rendered them.
            for method in [key for key in item if key in HTTP_METHODS]:
                op = item[method]
                if op is None:
                    continue
                pointer = join_pointer(item_pointer, method)
                if not isinstance(op, dict):
                    self._report(pointer, "api.openapi", f"operation {method.upper()} {template} must be a mapping")
                    continue
                op_prefix = self._servers_prefix(op.get("servers"), item_prefix)
                yield self._endpoint(method, op_prefix, template, op, pointer, item_base,
                                     shared, join_pointer(item_pointer, "parameters"))

    def _endpoint(self, method: str, prefix: str, template: str, op: dict, pointer: str,
                  base: Path, shared: Any, shared_pointer: str) -> Endpoint:
        params, body = self._parameters(op, pointer, base, shared, shared_pointer)
        if self.kind != "swagger2" and "requestBody" in op:
            body = self._request_body(op["requestBody"], join_pointer(pointer, "requestBody"), base)
        security = op.get("security", self.data.get("security", []))
        # An empty requirement ({}) in the list makes authentication optional.
        requires_auth = (isinstance(security, list) and bool(security)
                         and all(isinstance(s, dict) and s for s in security))
        return Endpoint(
            method=method.upper(),
            path=prefix + template,
            operation_id=_text(op.get("operationId")),
            summary=_text(op.get("summary")),
            description=_text(op.get("description")),
            deprecated=op.get("deprecated") is True,
            rate_limited=op.get("x-rate-limited", op.get("rateLimited")) is True,
            requires_auth=requires_auth,
            parameters=params,
            request_body=body,
            responses=tuple(self._responses(op, pointer, base)),
            pointer=pointer,
            template=template,
        )

    # -- parameters -----------------------------------------------------

    def _parameters(self, op: dict, pointer: str, base: Path, shared: Any,
                    shared_pointer: str) -> tuple[tuple[Parameter, ...], Body | None]:
        """Operation parameters over path-item ones (matched by name and
        location), with Swagger's body/formData split out as the body."""
        merged: dict[tuple[str, str], tuple[dict, str, Path]] = {}
        for source, source_pointer in ((shared, shared_pointer), (op.get("parameters", []), join_pointer(pointer, "parameters"))):
            if not isinstance(source, list):
                self._report(source_pointer, "api.openapi", "parameters must be a list")
                continue
            for i, raw in enumerate(source):
                p_pointer = join_pointer(source_pointer, i)
                node, p_base = self._follow(base, raw, p_pointer)
                if node is None:
                    continue
                if not isinstance(node, dict) or not isinstance(node.get("name"), str) or not isinstance(node.get("in"), str):
                    self._report(p_pointer, "api.openapi", "a parameter needs a string 'name' and 'in'")
                    continue
                merged[(node["name"], node["in"])] = (node, p_pointer, p_base)
        params: list[Parameter] = []
        form: list[tuple[dict, str, Path]] = []
        body: Body | None = None
        for (name, location), (node, p_pointer, p_base) in merged.items():
            if location == "body":
                body = self._swagger_body(node, p_pointer, p_base, op)
            elif location == "formData":
                form.append((node, p_pointer, p_base))
            else:
                params.append(self._parameter(node, name, location, p_pointer, p_base))
        if form and body is None:
            body = self._form_body(form, op)
        return tuple(params), body

    def _parameter(self, node: dict, name: str, location: str, pointer: str, base: Path) -> Parameter:
        if self.kind == "swagger2":
            schema = {k: v for k, v in node.items() if k in _SWAGGER_SCHEMA_KEYS}
        else:
            schema = node.get("schema", {})
        found = [Example(key, node[key], join_pointer(pointer, key)) for key in ("example", "x-example") if key in node]
        found += self._named_examples(node.get("examples"), join_pointer(pointer, "examples"), base)
        example = found[0]._replace(value=self._inline(base, found[0].value, found[0].pointer)) if found else None
        return Parameter(
            name=name, location=location, required=node.get("required") is True,
            description=_text(node.get("description")),
            schema=self._inline(base, schema, join_pointer(pointer, "schema")),
            example=example.value if example else None, pointer=pointer,
            has_example=example is not None, example_pointer=example.pointer if example else "",
        )

    def _swagger_body(self, node: dict, pointer: str, base: Path, op: dict) -> Body:
        examples: tuple[Example, ...] = ()
        if "x-example" in node:
            examples = (Example("", self._inline(base, node["x-example"], join_pointer(pointer, "x-example")),
                                join_pointer(pointer, "x-example")),)
        return Body(
            description=_text(node.get("description")),
            schema=self._inline(base, node.get("schema", {}), join_pointer(pointer, "schema")),
            examples=examples, media_type=self._swagger_media(op, "consumes"),
            pointer=pointer, required=node.get("required") is True,
        )

    def _form_body(self, form: list[tuple[dict, str, Path]], op: dict) -> Body:
        properties = {
            node["name"]: self._parameter(node, node["name"], "formData", pointer, base).schema
            for node, pointer, base in form
        }
        required = [node["name"] for node, _, _ in form if node.get("required") is True]
        schema: dict[str, Any] = {"type": "object", "properties": properties}
        if required:
            schema["required"] = required
        return Body(description="", schema=schema, examples=(),
                    media_type=self._swagger_media(op, "consumes", "application/x-www-form-urlencoded"),
                    pointer=form[0][1], required=bool(required))

    def _swagger_media(self, op: dict, key: str, default: str = _JSON) -> str:
        media = op.get(key, self.data.get(key))
        if isinstance(media, list) and media and isinstance(media[0], str):
            return _JSON if _JSON in media else media[0]
        return default

    # -- bodies and responses (OpenAPI 3) --------------------------------

    def _request_body(self, raw: Any, pointer: str, base: Path) -> Body | None:
        node, base = self._follow(base, raw, pointer)
        if node is None:
            return None
        node = self._mapping(node, pointer, "requestBody")
        media_type, schema, examples = self._content(node.get("content"), join_pointer(pointer, "content"), base)
        return Body(description=_text(node.get("description")), schema=schema, examples=examples,
                    media_type=media_type, pointer=pointer, required=node.get("required") is True)

    def _content(self, content: Any, pointer: str, base: Path) -> tuple[str, Any, tuple[Example, ...]]:
        """The JSON media type's schema and examples (else the first listed)."""
        content = self._mapping(content, pointer, "content")
        if not content:
            return "", None, ()
        media_type = _JSON if _JSON in content else next(iter(content))
        m_pointer = join_pointer(pointer, media_type)
        media = self._mapping(content[media_type], m_pointer, f"content of {media_type}")
        schema = self._inline(base, media["schema"], join_pointer(m_pointer, "schema")) if "schema" in media else None
        examples: list[Example] = []
        if "example" in media:
            examples.append(Example("", self._inline(base, media["example"], join_pointer(m_pointer, "example")),
                                    join_pointer(m_pointer, "example")))
        examples.extend(self._named_examples(media.get("examples"), join_pointer(m_pointer, "examples"), base))
        return media_type, schema, tuple(examples)

    def _named_examples(self, examples: Any, pointer: str, base: Path) -> list[Example]:
        """OpenAPI 3 Example Objects (``{name: {value: ...}}``); an entry
        without ``value`` (``externalValue`` only) carries no value to use."""
        out = []
        for name, raw in self._mapping(examples, pointer, "examples").items():
            e_pointer = join_pointer(pointer, name)
            node, e_base = self._follow(base, raw, e_pointer)
            if isinstance(node, dict) and "value" in node:
                out.append(Example(name, self._inline(e_base, node["value"], join_pointer(e_pointer, "value")),
                                   join_pointer(e_pointer, "value")))
        return out

    def _responses(self, op: dict, pointer: str, base: Path) -> Iterator[Response]:
        r_pointer = join_pointer(pointer, "responses")
        for status, raw in self._mapping(op.get("responses"), r_pointer, "responses").items():
            s_pointer = join_pointer(r_pointer, status)
            node, s_base = self._follow(base, raw, s_pointer)
            if node is None:
                continue
            node = self._mapping(node, s_pointer, f"response {status}")
            if self.kind == "swagger2":
                schema = self._inline(s_base, node["schema"], join_pointer(s_pointer, "schema")) if "schema" in node else None
                e_pointer = join_pointer(s_pointer, "examples")
                examples = tuple(
                    Example(media, self._inline(s_base, value, join_pointer(e_pointer, media)), join_pointer(e_pointer, media))
                    for media, value in self._mapping(node.get("examples"), e_pointer, "examples").items()
                )
                media_type = self._swagger_media(op, "produces")
            else:
                media_type, schema, examples = self._content(node.get("content"), join_pointer(s_pointer, "content"), s_base)
            yield Response(status=str(status), description=_text(node.get("description")), schema=schema,
                           examples=examples, pointer=s_pointer, media_type=media_type)

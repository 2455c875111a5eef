"""The endpoint model over the three dialects, built from real files with
the real resolver."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from specgen.corpus import Corpus
from specgen.diagnostics import Diagnostic
from specgen.openapi import ApiDocument, Endpoint, load_api, version_kind
from specgen.refs import Resolver


def _corpus(root: Path, files: dict[str, str]) -> Corpus:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"), "utf-8")
    return Corpus(root)


def _load(root: Path, files: dict[str, str], name: str) -> tuple[ApiDocument | None, list[Diagnostic]]:
    corpus = _corpus(root, files)
    return load_api(corpus, Resolver(corpus), root / name)


OPENAPI31 = """
openapi: 3.1.0
info: {title: Invites, version: "2"}
servers:
  - url: "https://{host}/_matrix/federation"
security:
  - signedRequest: []
components:
  securitySchemes:
    signedRequest: {type: apiKey, in: header, name: Authorization}
paths:
  /v2/invite/{roomId}/{eventId}:
    parameters:
      - $ref: definitions/room_id.yaml
    put:
      operationId: sendInviteV2
      summary: Invite a remote user.
      x-rate-limited: true
      parameters:
        - {name: eventId, in: path, required: true, schema: {type: string}, example: "$abc"}
      requestBody:
        description: The invite.
        required: true
        content:
          application/json:
            schema:
              $ref: definitions/invite_body.yaml
            example:
              $ref: examples/invite.json
      responses:
        "200":
          description: The signed invite.
          content:
            application/json:
              schema: {type: object, properties: {event: {type: object}}}
              examples:
                signed: {value: {event: {}}}
  /v1/version:
    servers:
      - url: /_matrix/other
    get:
      deprecated: true
      security: [{}]
      responses:
        "200": {description: ok}
"""

FILES31 = {
    "api/server-server/invites.yaml": OPENAPI31,
    "api/server-server/definitions/room_id.yaml": """
        name: roomId
        in: path
        required: true
        description: The room.
        schema: {type: string}
    """,
    "api/server-server/definitions/invite_body.yaml": """
        type: object
        properties:
          room_version: {$ref: room_version.yaml}
    """,
    "api/server-server/definitions/room_version.yaml": "type: string\ndescription: The version.\n",
    "api/server-server/examples/invite.json": '{"room_version": "11"}\n',
}


def test_openapi31_model(tmp_path):
    doc, problems = _load(tmp_path, FILES31, "api/server-server/invites.yaml")
    assert problems == []
    assert (doc.version_kind, doc.title, doc.base_path) == ("openapi3.1", "Invites", "/_matrix/federation")
    assert set(doc.security_schemes) == {"signedRequest"}
    put, get = doc.endpoints
    assert (put.method, put.path, put.template) == ("PUT", "/_matrix/federation/v2/invite/{roomId}/{eventId}",
                                                    "/v2/invite/{roomId}/{eventId}")
    assert (put.operation_id, put.summary, put.rate_limited, put.requires_auth, put.deprecated) == (
        "sendInviteV2", "Invite a remote user.", True, True, False)
    room, event = put.parameters
    assert (room.name, room.location, room.required, room.description) == ("roomId", "path", True, "The room.")
    assert room.pointer == "/paths/~1v2~1invite~1{roomId}~1{eventId}/parameters/0"
    assert (event.example, event.has_example) == ("$abc", True)
    body = put.request_body
    # $refs inside bodies and examples are inlined: consumers never see one.
    assert body.schema == {"type": "object", "properties": {"room_version": {"type": "string", "description": "The version."}}}
    assert [e.value for e in body.examples] == [{"room_version": "11"}]
    assert (body.media_type, body.required, body.description) == ("application/json", True, "The invite.")
    (ok,) = put.responses
    assert (ok.status, ok.description, ok.examples[0].name, ok.examples[0].value) == (
        "200", "The signed invite.", "signed", {"event": {}})
    # Path-level servers override the document's; an empty requirement makes auth optional.
    assert (get.path, get.deprecated, get.requires_auth, get.request_body) == ("/_matrix/other/v1/version", True, False, None)
    assert isinstance(put, Endpoint) and put.key == ("PUT", "/_matrix/federation/v2/invite/{}/{}")


def test_server_variables_give_their_defaults_to_the_prefix(tmp_path):
    """matrix-spec writes ``{protocol}://{hostname}{basePath}``: the path
    is the ``basePath`` variable's default."""
    text = """
openapi: 3.1.0
info: {title: Joins}
servers:
  - url: "{protocol}://{hostname}{basePath}"
    variables:
      protocol: {enum: [http, https], default: https}
      hostname: {default: "localhost:8448"}
      basePath: {default: /_matrix/federation/v2}
paths:
  /send_join/{roomId}/{eventId}:
    put: {responses: {"200": {description: ok}}}
"""
    doc, problems = _load(tmp_path, {"joins.yaml": text}, "joins.yaml")
    assert problems == [] and doc.base_path == "/_matrix/federation/v2"
    assert doc.endpoints[0].path == "/_matrix/federation/v2/send_join/{roomId}/{eventId}"


SWAGGER = """
swagger: "2.0"
info: {title: Store invite}
basePath: /_matrix/identity/api/v1
consumes: [application/json]
produces: [application/json]
securityDefinitions:
  token: {type: apiKey, in: header, name: Authorization}
paths:
  /store-invite:
    post:
      rateLimited: true
      security: [{token: []}]
      parameters:
        - in: body
          name: body
          required: true
          schema: {type: object, properties: {medium: {type: string}}}
          x-example: {medium: email}
        - {in: query, name: limit, type: integer, minimum: 1, x-example: 5}
      responses:
        200:
          description: Stored.
          schema: {type: object}
          examples:
            application/json: {token: abc}
  /upload:
    post:
      consumes: [multipart/form-data]
      parameters:
        - {in: formData, name: file, type: string, required: true}
        - {in: formData, name: note, type: string}
"""


def test_swagger2_model(tmp_path):
    doc, problems = _load(tmp_path, {"api/identity/store.yaml": SWAGGER}, "api/identity/store.yaml")
    assert problems == []
    assert (doc.version_kind, doc.base_path, set(doc.security_schemes)) == ("swagger2", "/_matrix/identity/api/v1", {"token"})
    store, upload = doc.endpoints
    assert (store.path, store.rate_limited, store.requires_auth) == ("/_matrix/identity/api/v1/store-invite", True, True)
    (limit,) = store.parameters
    assert (limit.location, limit.schema, limit.example) == ("query", {"type": "integer", "minimum": 1}, 5)
    assert store.request_body.examples[0].value == {"medium": "email"}
    assert store.request_body.required and store.request_body.media_type == "application/json"
    (ok,) = store.responses
    assert (ok.status, ok.schema, ok.examples[0].name, ok.examples[0].value) == (
        "200", {"type": "object"}, "application/json", {"token": "abc"})
    form = upload.request_body
    assert form.media_type == "multipart/form-data"
    assert form.schema == {"type": "object", "required": ["file"],
                           "properties": {"file": {"type": "string"}, "note": {"type": "string"}}}
    assert upload.responses == ()


def test_operations_of_a_path_come_in_the_order_the_file_lists_them(tmp_path):
    doc, problems = _load(tmp_path, {"api/identity/token.yaml": """
        swagger: "2.0"
        info: {title: Tokens, version: "1"}
        basePath: /_matrix/identity/api/v1
        paths:
          /validate/email/submitToken:
            post:
              responses: {"200": {description: Accepted.}}
            get:
              responses: {"200": {description: Accepted.}}
    """}, "api/identity/token.yaml")
    assert problems == []
    assert [e.method for e in doc.endpoints] == ["POST", "GET"]


def test_openapi30_and_operation_parameters_override_path_ones(tmp_path):
    text = """
        openapi: 3.0.3
        info: {title: T, version: "1"}
        paths:
          /a/{x}:
            parameters:
              - {name: x, in: path, required: true, description: outer, schema: {type: string}}
            get:
              parameters:
                - {name: x, in: path, required: true, description: inner, schema: {type: string}}
              responses: {"204": {description: none}}
    """
    doc, problems = _load(tmp_path, {"api/t.yaml": text}, "api/t.yaml")
    assert problems == [] and doc.version_kind == "openapi3.0" and doc.base_path == ""
    (endpoint,) = doc.endpoints
    assert [p.description for p in endpoint.parameters] == ["inner"]
    assert endpoint.responses[0].schema is None


def test_unresolved_reference_is_a_diagnostic_and_the_part_is_left_out(tmp_path):
    text = """
        openapi: 3.1.0
        info: {title: T, version: "1"}
        paths:
          /a:
            get:
              parameters:
                - $ref: definitions/missing.yaml
              responses: {"200": {description: ok}}
    """
    doc, problems = _load(tmp_path, {"api/t.yaml": text}, "api/t.yaml")
    assert doc.endpoints[0].parameters == ()
    assert [(d.code, d.line) for d in problems] == [("ref.unresolved", 7)]


def test_wrong_shapes_are_reported_not_raised(tmp_path):
    text = """
        openapi: 3.1.0
        info: {title: T, version: "1"}
        paths:
          /a:
            get: [not, a, mapping]
            put:
              parameters: {not: a list}
              responses: [nor, this]
    """
    doc, problems = _load(tmp_path, {"api/t.yaml": text}, "api/t.yaml")
    assert [e.method for e in doc.endpoints] == ["PUT"]
    assert sorted((d.code, d.line) for d in problems) == [("api.openapi", 5), ("api.openapi", 7), ("api.openapi", 8)]


@pytest.mark.parametrize("head, kind", [
    ('swagger: "2.0"', "swagger2"), ("openapi: 3.0.1", "openapi3.0"),
    ("openapi: 3.1.0", "openapi3.1"), ("openapi: 4.0.0", None), ("swagger: '1.2'", None),
])
def test_version_kind(head, kind, tmp_path):
    corpus = _corpus(tmp_path, {"api/t.yaml": head + "\npaths: {}\n"})
    assert version_kind(corpus.document(tmp_path / "api/t.yaml").data) == kind


def test_unloadable_file_gives_the_syntax_diagnostic(tmp_path):
    doc, problems = _load(tmp_path, {"api/t.yaml": "openapi: 3.1.0\npaths: {a: [\n"}, "api/t.yaml")
    assert doc is None and [d.code for d in problems] == ["syntax"]


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
        st.sampled_from(["$ref", "paths", "get", "put", "parameters", "responses", "requestBody", "content",
                         "application/json", "schema", "examples", "example", "x-example", "name", "in",
                         "servers", "url", "security", "value", "/a/{x}", "200", "body"]), inner, max_size=4),
    max_leaves=20,
)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=_json, head=st.sampled_from(["openapi: 3.1.0", "openapi: 3.0.0", 'swagger: "2.0"']))
def test_any_document_gives_a_model_or_diagnostics_never_a_traceback(body, head, tmp_path_factory):
    import json

    root = tmp_path_factory.mktemp("api")
    text = head + "\n" + "\n".join(f"{json.dumps(k)}: {json.dumps(v)}" for k, v in
                                   (body.items() if isinstance(body, dict) else {"paths": body}.items())
                                   if k not in ("openapi", "swagger"))
    doc, problems = _load(root, {"api/t.yaml": text + "\n"}, "api/t.yaml")
    assert doc is not None or problems
    assert all(isinstance(d, Diagnostic) for d in problems)

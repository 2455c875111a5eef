"""A deterministic synthetic corpus the size of today's matrix-spec data.

About 400 YAML files and 1.3 MB: 90 event schemas building on shared core
schemas, 700 JSON examples (some built from partials), and 230 operations
spread over OpenAPI 3.1 files whose parameters and response schemas
``$ref`` shared definitions. A fixed seed makes every run write the same
bytes, so timings compare like with like. Everything generated is valid, so
the benchmark measures a clean run, the common case.
"""

from __future__ import annotations

import itertools
import json
import random
from pathlib import Path

import yaml

__all__ = ["write_corpus", "SEED"]

SEED = 20260101

_WORDS = (
    "room event state server key signature member invite join leave ban power level "
    "history visibility alias topic name federation request response identity token "
    "homeserver client user device content origin timestamp hash depth auth prev "
    "redaction version rule notary query validity third party bind medium address"
).split()

_EVENT_TYPES = 90
_EXAMPLES_PER_TYPE = (7, 9)
_API_FILES = 46
_OPERATIONS = 230
_API_DEFINITIONS = 230
_SCHEMA_DEFINITIONS = 30


def _prose(rng: random.Random, words: int) -> str:
    text = " ".join(rng.choice(_WORDS) for _ in range(words))
    return text[0].upper() + text[1:] + "."


def _ident(rng: random.Random) -> str:
    return "_".join(rng.sample(_WORDS, 2))


def _dump(path: Path, data) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(data, sort_keys=False, width=88), "utf-8")


def _scalar_schema(rng: random.Random) -> tuple[dict, object]:
    kind = rng.choice(("string", "integer", "boolean", "enum"))
    if kind == "enum":
        values = rng.sample(_WORDS, 3)
        return {"type": "string", "enum": values}, values[0]
    value = {"string": "some " + rng.choice(_WORDS), "integer": rng.randint(0, 1000), "boolean": True}[kind]
    return {"type": kind}, value


def _object_schema(rng: random.Random, depth: int, title: str) -> tuple[dict, dict]:
    """An object schema with described properties, and a value that fits."""
    properties, value, required = {}, {}, []
    for _ in range(rng.randint(3, 6)):
        name = _ident(rng)
        if name in properties:
            continue
        if depth and rng.random() < 0.3:
            sub, sub_value = _object_schema(rng, depth - 1, f"{title}{name.title().replace('_', '')}")
        elif rng.random() < 0.15:
            item, item_value = _scalar_schema(rng)
            sub, sub_value = {"type": "array", "items": item}, [item_value, item_value]
        else:
            sub, sub_value = _scalar_schema(rng)
        sub["description"] = _prose(rng, rng.randint(4, 12))
        properties[name] = sub
        value[name] = sub_value
        if rng.random() < 0.5:
            required.append(name)
    schema = {"title": title, "type": "object", "description": _prose(rng, 8), "properties": properties}
    if required:
        schema["required"] = required
    return schema, value


def _core_schemas(root: Path) -> None:
    core = root / "event-schemas/schema/core"
    _dump(core / "event.yaml", {
        "$schema": "https://json-schema.org/draft/2020-12/schema", "title": "Event", "type": "object",
        "description": "The fields every event has.",
        "properties": {
            "type": {"type": "string", "description": "The event type, namespaced."},
            "content": {"type": "object", "description": "The body of the event."},
        },
        "required": ["type", "content"],
    })
    _dump(core / "room_event.yaml", {
        "$schema": "https://json-schema.org/draft/2020-12/schema", "title": "Room Event", "type": "object",
        "description": "An event sent in a room.", "allOf": [{"$ref": "event.yaml"}],
        "properties": {
            "event_id": {"type": "string", "description": "The event's ID."},
            "room_id": {"type": "string", "description": "The room it belongs to."},
            "sender": {"$ref": "user_id.yaml"},
            "origin_server_ts": {"type": "integer", "description": "When the origin sent it."},
        },
        "required": ["event_id", "room_id", "sender", "origin_server_ts"],
    })
    _dump(core / "state_event.yaml", {
        "$schema": "https://json-schema.org/draft/2020-12/schema", "title": "State Event", "type": "object",
        "description": "A room event that sets state.", "allOf": [{"$ref": "room_event.yaml"}],
        "properties": {"state_key": {"type": "string", "description": "Which slot of state it fills."}},
        "required": ["state_key"],
    })
    _dump(core / "user_id.yaml", {"type": "string", "description": "A user ID.", "pattern": "^@"})


def write_corpus(root: Path, seed: int = SEED) -> dict[str, int]:
    """Write the corpus under ``root`` (which should be empty).

    Returns:
        Counts of what was written, for the benchmark's report.
    """
    rng = random.Random(seed)
    root = Path(root)
    _core_schemas(root)
    shared = []
    for i in range(_SCHEMA_DEFINITIONS - 4):
        schema, value = _object_schema(rng, 1, f"Shared{i}")
        _dump(root / f"event-schemas/schema/core/shared_{i}.yaml", schema)
        shared.append((f"core/shared_{i}.yaml", value))
    examples = 0
    (root / "event-schemas/examples/core").mkdir(parents=True, exist_ok=True)
    for t in range(_EVENT_TYPES):
        event_type = f"m.synthetic.{rng.choice(_WORDS)}_{t}"
        state = t % 3 == 0
        content, content_value = _object_schema(rng, 1, f"Content{t}")
        ref, ref_value = rng.choice(shared)
        content["properties"]["shared"] = {"$ref": ref, "description": _prose(rng, 8)}
        content_value["shared"] = ref_value
        schema = {
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "title": event_type, "description": _prose(rng, 30), "type": "object",
            "allOf": [{"$ref": "core/state_event.yaml" if state else "core/room_event.yaml"}],
            "properties": {
                "type": {"type": "string", "const": event_type, "description": f"Always ``{event_type}``."},
                "content": content,
            },
        }
        if state:
            schema["properties"]["state_key"] = {"type": "string", "description": _prose(rng, 10)}
        _dump(root / f"event-schemas/schema/{event_type}.yaml", schema)
        partial = f"core/{event_type}_content.json"
        (root / "event-schemas/examples" / partial).write_text(json.dumps(content_value), "utf-8")
        for v in range(rng.randint(*_EXAMPLES_PER_TYPE)):
            event = {"type": event_type, "event_id": f"$ev{t}_{v}", "room_id": "!room:example.org",
                     "sender": "@alice:example.org", "origin_server_ts": 1700000000000 + v,
                     "content": {"$ref": partial} if v % 2 else content_value}
            if state:
                event["state_key"] = ""
            name = event_type if v == 0 else f"{event_type}#variant{v}"
            (root / "event-schemas/examples" / name).write_text(json.dumps(event), "utf-8")
            examples += 1
    _write_api(root, rng)
    return {"event_schemas": _EVENT_TYPES, "examples": examples, "operations": _OPERATIONS,
            "yaml_files": len(list(root.rglob("*.yaml"))),
            "bytes": sum(p.stat().st_size for p in root.rglob("*") if p.is_file())}


def _write_api(root: Path, rng: random.Random) -> None:
    api = root / "api/server-server"
    definitions = []
    for i in range(_API_DEFINITIONS):
        if i % 3 == 0:
            name = f"param_{i}"
            _dump(api / f"definitions/{name}.yaml", {
                "name": name, "in": "query", "description": _prose(rng, 15),
                "schema": {"type": "string"}, "example": rng.choice(_WORDS),
            })
            definitions.append(("param", f"definitions/{name}.yaml"))
        else:
            schema, value = _object_schema(rng, 0, f"Response{i}")
            schema["example"] = value
            _dump(api / f"definitions/response_{i}.yaml", schema)
            definitions.append(("schema", f"definitions/response_{i}.yaml"))
    params = [d for kind, d in definitions if kind == "param"]
    schemas = [d for kind, d in definitions if kind == "schema"]
    per_file = -(-_OPERATIONS // _API_FILES)
    op = 0
    used_params, used_schemas = itertools.cycle(params), itertools.cycle(schemas)
    for f in range(_API_FILES):
        paths = {}
        for _ in range(per_file):
            if op == _OPERATIONS:
                break
            request, request_value = _object_schema(rng, 0, f"Request{op}")
            paths[f"/v1/{rng.choice(_WORDS)}_{op}/{{roomId}}"] = {"put": {
                "operationId": f"operation{op}", "summary": _prose(rng, 6), "description": _prose(rng, 20),
                "security": [{"signedRequest": []}],
                "parameters": [
                    {"in": "path", "name": "roomId", "required": True, "description": "The room.",
                     "schema": {"type": "string"}, "example": "!room:example.org"},
                    {"$ref": next(used_params)},
                ],
                "requestBody": {"content": {"application/json": {"schema": request, "example": request_value}}},
                "responses": {
                    "200": {"description": _prose(rng, 10), "content": {"application/json": {
                        "schema": {"$ref": next(used_schemas)}}}},
                    "403": {"description": "Forbidden.", "content": {"application/json": {
                        "schema": {"type": "object", "title": "Error", "properties": {
                            "errcode": {"type": "string", "description": "The error code."}}},
                        "example": {"errcode": "M_FORBIDDEN"}}}},
                },
            }}
            op += 1
        _dump(api / f"api_{f}.yaml", {
            "openapi": "3.1.0", "info": {"title": f"Synthetic API {f}", "version": "1"},
            "servers": [{"url": "https://{host}/_matrix/federation"}],
            "components": {"securitySchemes": {"signedRequest": {
                "type": "apiKey", "in": "header", "name": "Authorization"}}},
            "paths": paths,
        })

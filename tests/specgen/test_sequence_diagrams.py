"""Recorded flows drawn as sequence diagrams, and the flow placeholder kind."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

from refimpl.transport.http_client import Exchange
from specgen.corpus import Corpus
from specgen.placeholders import Catalog
from specgen.sequence_diagrams import flow_section, recording

from conftest import write_tree

# The second request is made while the first is answered: it nests.
EXCHANGES = [
    Exchange("example.org", "notary.example.com", "GET", "/_matrix/key/v2/server", None, 200, {}, "", 10, 40),
    Exchange(None, "notary.example.com", "GET", "/_matrix/key/v2/query/a%3Ab", None, 400,
             {"errcode": "M_INVALID_PARAM"}, "", 20, 30),
]


def test_recording_orders_messages_as_they_happened_and_decodes_paths():
    data = recording("demo", "A demo.\n\nMore words.", EXCHANGES)
    assert data["participants"] == ["example.org", "notary.example.com", "requester"]
    assert data["title"] == "A demo." and data["narrative"] == "More words."
    assert [(m["from"], m["label"]) for m in data["messages"]] == [
        ("example.org", "GET /_matrix/key/v2/server"),
        ("requester", "GET /_matrix/key/v2/query/a:b"),
        ("notary.example.com", "400 M_INVALID_PARAM"),
        ("notary.example.com", "200"),
    ]


def test_the_diagram_is_well_formed_svg_with_two_arrows_per_exchange(tmp_path):
    section = flow_section(recording("demo", "A demo.", EXCHANGES), tmp_path / "demo.json")
    svg = ET.fromstring(str(section.svg))
    lines = [e for e in svg.iter("{http://www.w3.org/2000/svg}line") if e.get("marker-end")]
    assert len(lines) == 4 and sum(1 for e in lines if e.get("stroke-dasharray")) == 2
    texts = [e.text for e in svg.iter("{http://www.w3.org/2000/svg}text")]
    assert "requester" in texts and "400 M_INVALID_PARAM" in texts
    assert section.anchor == "flow-demo"


def test_flow_placeholder_renders_a_recording_and_reports_a_malformed_one(tmp_path):
    write_tree(tmp_path, {
        "specification/flows/demo.json": json.dumps(recording("demo", "A demo.", EXCHANGES)),
        "specification/flows/broken.json": json.dumps({"messages": [{"from": "nobody"}]}),
        "specification/targets.yaml": "pages: []\n",
    })
    catalog = Catalog(Corpus(tmp_path))
    (block,) = catalog.expand("flow_demo")
    assert block.kind == "flow" and "<svg" in block.html and "A demo." == block.title
    assert catalog.expand("flow_broken") == ()
    assert [d.code for d in catalog.diagnostics()] == ["build.flow"]

"""Sequence diagrams of recorded flows: static SVG drawn at build time.

``specgen flows --record`` writes each scenario's exchanges to
``specification/flows/<scenario>.json``::

    {"scenario": "keys-notary-get", "title": "...", "narrative": "...",
     "participants": ["example.org", "notary.example.com", ...],
     "messages": [{"from": "example.org", "to": "notary.example.com",
                   "label": "GET /_matrix/key/v2/server", "answer": false},
                  {"from": "notary.example.com", "to": "example.org",
                   "label": "200", "answer": true}, ...]}

and the ``flow`` placeholder kind (``{{flow_keys_notary_get}}``) draws one
as an SVG: a lifeline per participant, a solid arrow per request and a
dashed one per answer, in the order they happened (a request made while
answering another sits between that request and its answer). Pure: the
recording in, markup out; nothing is fetched.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping, Sequence
from urllib.parse import unquote

from markupsafe import Markup

if TYPE_CHECKING:  # the build never imports the transport
    from refimpl.transport.http_client import Exchange

__all__ = ["FlowSection", "recording", "flow_section", "sequence_svg", "FLOWS_FOLDER"]

#: Where recordings live, under the corpus's specification folder.
FLOWS_FOLDER = "flows"

_COLUMN = 300
_TOP = 44
_ROW = 34
_CHAR = 6.6


@dataclass(frozen=True)
class FlowSection:
    """What the ``flow`` template renders."""

    anchor: str
    title: str
    narrative: str
    svg: Markup
    inner_anchors: tuple[str, ...] = ()


def _label(exchange: "Exchange") -> tuple[str, str]:
    response = str(exchange.status) + (f" {exchange.errcode}" if exchange.errcode else "")
    return f"{exchange.method} {unquote(exchange.path)}", response


def recording(scenario: str, narrative: str, exchanges: Sequence["Exchange"]) -> dict[str, Any]:
    """The JSON a scenario's run is kept as (bodies left out: the picture
    shows who asked whom for what, and the answer's status)."""
    title, _, rest = narrative.partition("\n")
    participants: list[str] = []
    timed = []
    for exchange in sorted(exchanges, key=lambda e: e.sent_ns):
        source = exchange.origin or "requester"
        for name in (source, exchange.destination):
            if name not in participants:
                participants.append(name)
        request, response = _label(exchange)
        timed.append((exchange.sent_ns, {"from": source, "to": exchange.destination, "label": request, "answer": False}))
        timed.append((exchange.answered_ns, {"from": exchange.destination, "to": source, "label": response,
                                             "answer": True}))
    messages = [message for _, message in sorted(timed, key=lambda pair: pair[0])]
    return {"scenario": scenario, "title": title.strip(), "narrative": rest.strip(),
            "participants": participants, "messages": messages}


def _fit(text: str, width: float) -> str:
    limit = max(int(width / _CHAR), 8)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def sequence_svg(participants: Sequence[str], messages: Sequence[Mapping[str, Any]]) -> Markup:
    """The diagram: one column per participant, one row per message."""
    x = {name: _COLUMN // 2 + i * _COLUMN for i, name in enumerate(participants)}
    width = _COLUMN * max(len(participants), 1)
    height = _TOP + _ROW * len(messages) + 24
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" class="sequence-diagram" viewBox="0 0 {width} {height}" '
           f'width="{width}" height="{height}" role="img" font-family="monospace" font-size="11">',
           '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" '
           'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z"/></marker></defs>']
    for name, cx in x.items():
        out.append(f'<rect x="{cx - _COLUMN // 2 + 8}" y="4" width="{_COLUMN - 16}" height="24" rx="4" '
                   f'fill="#eef3f8" stroke="#456"/>')
        out.append(f'<text x="{cx}" y="20" text-anchor="middle">{html.escape(_fit(name, _COLUMN - 20))}</text>')
        out.append(f'<line x1="{cx}" y1="28" x2="{cx}" y2="{height - 8}" stroke="#9ab" stroke-dasharray="4 4"/>')
    y = _TOP
    for message in messages:
        start, end = x[message["from"]], x[message["to"]]
        span = abs(end - start) or _COLUMN
        y += _ROW
        dash = ' stroke-dasharray="6 3"' if message["answer"] else ""
        out.append(f'<line x1="{start}" y1="{y}" x2="{end}" y2="{y}" stroke="#234"{dash} marker-end="url(#arrow)"/>')
        out.append(f'<text x="{(start + end) / 2}" y="{y - 6}" text-anchor="middle">'
                   f'{html.escape(_fit(message["label"], span - 12))}</text>')
    out.append("</svg>")
    return Markup("".join(out))


def flow_section(data: Any, path: Path) -> FlowSection:
    """The section a recording renders as.

    Raises:
        ValueError: the recording is not of the shape :func:`recording` writes.
    """
    if not isinstance(data, dict) or not isinstance(data.get("messages"), list):
        raise ValueError("a flow recording is an object with a messages array")
    participants = [p for p in data.get("participants", []) if isinstance(p, str)]
    messages = [m for m in data["messages"]
                if isinstance(m, dict) and m.get("from") in participants and m.get("to") in participants
                and isinstance(m.get("label"), str) and isinstance(m.get("answer"), bool)]
    if len(messages) != len(data["messages"]):
        raise ValueError("every message needs from and to among the participants, a label and answer (a boolean)")
    name = str(data.get("scenario") or path.stem)
    return FlowSection(anchor=f"flow-{name}", title=str(data.get("title") or name),
                       narrative=str(data.get("narrative") or ""), svg=sequence_svg(participants, messages))

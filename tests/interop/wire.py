"""A scenario's exchanges with Synapse, each held to ``api/`` and recorded
with refimpl's verdict on it.

Every exchange, whichever way it goes (our client to Synapse, anonymous
requests to Synapse, Synapse to our server), reaches :meth:`Wire.observe`,
which checks it with specgen's :class:`~specgen.flows.ApiObserver` (the
observer of the loopback flows). A finding that
:data:`known_differences.KNOWN_DIFFERENCES` does not explain fails the
scenario at its end, with every such finding listed.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from known_differences import explain
from refimpl.transport.http_client import Exchange
from specgen.flows import ApiObserver
from synapse_server import Synapse


@dataclass
class Record:
    scenario: str
    exchange: Exchange
    findings: tuple[str, ...]
    known: str | None
    verdict: str = ""

    @property
    def api(self) -> str:
        if not self.findings:
            return "conforms"
        return f"known difference {self.known}" if self.known else f"{len(self.findings)} finding(s)"

    @property
    def direction(self) -> str:
        return f"{self.exchange.origin or 'anonymous'} -> {self.exchange.destination}"


RECORDS: list[Record] = []


def now_ms() -> int:
    return time.time_ns() // 1_000_000


class Wire:
    """Observes a scenario's exchanges and makes its anonymous requests to Synapse."""

    def __init__(self, synapse: Synapse, observer: ApiObserver, scenario: str) -> None:
        self.synapse = synapse
        self.observer = observer
        self.scenario = scenario
        self.records: list[Record] = []

    def observe(self, exchange: Exchange) -> None:
        findings = tuple(f"{d.location}: {d.message}" for d in self.observer.check(exchange))
        served = exchange.destination != self.synapse.server_name
        record = Record(self.scenario, exchange, findings, explain(exchange, findings),
                        "answered by refimpl" if served else "")
        self.records.append(record)
        RECORDS.append(record)

    def call(self, method: str, target: str, body: Any = None) -> Exchange:
        """An unauthenticated request to Synapse (the key endpoints), observed."""
        reply = self.synapse.call(method, target, body)
        parsed = reply.body if not isinstance(reply.body, str) else None
        text = reply.body if isinstance(reply.body, str) else ""
        exchange = Exchange(None, self.synapse.server_name, method, target, body, reply.status, parsed, text)
        self.observe(exchange)
        return exchange

    def judge(self, exchange: Exchange, verdict: str) -> None:
        """Attach refimpl's verdict to an observed exchange."""
        for record in reversed(self.records):
            if record.exchange is exchange:
                record.verdict = verdict
                return
        raise LookupError(f"{exchange.method} {exchange.target} was not observed")

    def unexplained(self) -> list[str]:
        return [finding for record in self.records if record.findings and not record.known
                for finding in record.findings]

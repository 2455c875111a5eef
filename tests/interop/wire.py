"""A scenario's exchanges with Synapse, each held to ``api/`` and recorded
with refimpl's verdict on it."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import pytest

from api_check import ApiDefinitions, Exchange
from known_differences import KNOWN_DIFFERENCES
from synapse_server import Synapse


@dataclass(frozen=True)
class Record:
    scenario: str
    exchange: Exchange
    api: str
    verdict: str


RECORDS: list[Record] = []


def now_ms() -> int:
    return int(time.time() * 1000)


class Wire:
    """Makes a scenario's requests to Synapse and holds each exchange to ``api/``."""

    def __init__(self, synapse: Synapse, api: ApiDefinitions, scenario: str) -> None:
        self.synapse = synapse
        self.api = api
        self.scenario = scenario
        self.last_api = ""

    def federation(self, method: str, path: str, body: Any = None, *, headers: dict | None = None) -> Exchange:
        """One federation or key request; fails on any disagreement with
        ``api/`` that :data:`KNOWN_DIFFERENCES` does not explain."""
        reply = self.synapse.call(method, path, body, headers=headers)
        exchange = Exchange(method, path, reply.status, reply.body, body)
        problems = self.api.problems(exchange)
        known = KNOWN_DIFFERENCES.get((self.api.operation_id(exchange), exchange.status))
        if problems and known is None:
            self.record(exchange, "refused", "not checked")
            pytest.fail("Synapse's answer disagrees with api/:\n  " + "\n  ".join(problems))
        self.last_api = f"known difference: {known}" if problems else "conforms"
        return exchange

    def record(self, exchange: Exchange, verdict: str, api: str | None = None) -> None:
        RECORDS.append(Record(self.scenario, exchange, api or self.last_api, verdict))

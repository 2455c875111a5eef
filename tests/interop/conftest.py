"""Interop with a real Synapse: one per session, on 127.0.0.1, over TLS.

These tests run under ``make interop``, which installs Synapse into
``.venv-interop`` and names its interpreter in ``SPECGEN_SYNAPSE_PYTHON``.
Without it (a plain ``make test``) every test here is skipped, saying why.

Every exchange a scenario makes goes through :class:`wire.Wire`; the
terminal summary prints the record, scenario by scenario.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from specgen.corpus import Corpus
from specgen.flows import ApiObserver
from synapse_server import Synapse, Tls, make_tls, start_synapse
from known_differences import KNOWN_DIFFERENCES
from wire import RECORDS, Wire

ROOT = Path(__file__).resolve().parents[2]
SYNAPSE_PYTHON = os.environ.get("SPECGEN_SYNAPSE_PYTHON", "")
_SKIP_REASON = ("interop needs Synapse: run `make interop` (it installs Synapse into .venv-interop "
                "and sets SPECGEN_SYNAPSE_PYTHON)")
_HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(config, items):
    if SYNAPSE_PYTHON and Path(SYNAPSE_PYTHON).is_file():
        return
    skip = pytest.mark.skip(reason=_SKIP_REASON)
    for item in items:
        if _HERE in Path(str(item.fspath)).resolve().parents:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def tls(tmp_path_factory) -> Tls:
    return make_tls(SYNAPSE_PYTHON, tmp_path_factory.mktemp("tls"))


@pytest.fixture(scope="session")
def synapse(tmp_path_factory, tls) -> Synapse:
    server = start_synapse(SYNAPSE_PYTHON, tmp_path_factory.mktemp("interop") / "synapse", tls)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def observer() -> ApiObserver:
    return ApiObserver(Corpus(ROOT))


@pytest.fixture
def wire(synapse, observer, request) -> Wire:
    """The scenario's wire; at its end, every finding must be explained."""
    scenario = Wire(synapse, observer, request.node.name)
    yield scenario
    unexplained = scenario.unexplained()
    if unexplained:
        pytest.fail("exchanges disagree with api/:\n  " + "\n  ".join(unexplained), pytrace=False)


def pytest_terminal_summary(terminalreporter):
    if not RECORDS:
        return
    terminalreporter.section("interop exchanges (api/ check; refimpl's verdict)")
    scenario = None
    for record in RECORDS:
        if record.scenario != scenario:
            scenario = record.scenario
            terminalreporter.write_line(scenario)
        exchange = record.exchange
        terminalreporter.write_line(f"  {record.direction}: {exchange.method} {exchange.target} -> "
                                    f"{exchange.status}  [api: {record.api}]  refimpl: {record.verdict or '-'}")
        for finding in record.findings:
            terminalreporter.write_line(f"      {finding}")
    met = {label for record in RECORDS if record.known for label in record.known.split("+")}
    for known in KNOWN_DIFFERENCES:
        if known.label not in met:
            terminalreporter.write_line(f"known difference {known.label} not met in this run: {known.note}")

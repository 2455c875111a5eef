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

from api_check import ApiDefinitions
from synapse_server import Synapse, make_tls, start_synapse
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
def synapse(tmp_path_factory) -> Synapse:
    base = tmp_path_factory.mktemp("interop")
    tls = make_tls(SYNAPSE_PYTHON, base / "tls")
    server = start_synapse(SYNAPSE_PYTHON, base / "synapse", tls)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def api() -> ApiDefinitions:
    return ApiDefinitions(ROOT)


@pytest.fixture
def wire(synapse, api, request) -> Wire:
    return Wire(synapse, api, request.node.name)


def pytest_terminal_summary(terminalreporter):
    if not RECORDS:
        return
    terminalreporter.section("interop exchanges (api/ check; refimpl's verdict)")
    scenario = None
    for record in RECORDS:
        if record.scenario != scenario:
            scenario = record.scenario
            terminalreporter.write_line(scenario)
        terminalreporter.write_line(f"  {record.exchange}  [api: {record.api}]  refimpl: {record.verdict}")

"""Helpers of the loopback tests (fixtures live in conftest.py)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from specgen.flows import run_scenarios
from specgen.flow_scenarios import SCENARIOS

REPO = Path(__file__).resolve().parents[2]


def assert_scenario_passes(corpus, observer, name: str):
    """Run one scenario; fail with its failure and every finding of the observer."""
    (result,) = run_scenarios(corpus, {name: SCENARIOS[name]}, observer)
    problems = [result.failure] if result.failure else []
    problems += [f"{d.location}: {d.message}" for o in result.exchanges for d in o.findings]
    assert not problems, "\n".join(problems)
    assert result.exchanges, "the scenario exchanged nothing"
    return result


def run(coroutine):
    return asyncio.run(coroutine)

"""Fixtures of the loopback tests: the repository's own corpus and its
observer, built once."""

from __future__ import annotations

from pathlib import Path

import pytest

from specgen.corpus import Corpus
from specgen.flows import ApiObserver

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def corpus() -> Corpus:
    return Corpus(REPO)


@pytest.fixture(scope="session")
def observer(corpus) -> ApiObserver:
    return ApiObserver(corpus)

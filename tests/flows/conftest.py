"""Fixtures of the loopback tests: the repository's own corpus and its
observer, built once."""

from __future__ import annotations

import pytest

from specgen.corpus import Corpus
from specgen.flows import ApiObserver

from flowkit import REPO


@pytest.fixture(scope="session")
def corpus() -> Corpus:
    return Corpus(REPO)


@pytest.fixture(scope="session")
def observer(corpus) -> ApiObserver:
    return ApiObserver(corpus)

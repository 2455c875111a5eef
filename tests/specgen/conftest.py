"""Shared helpers: temporary corpora written from a dict, and the real CLI
run as a subprocess."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from specgen.corpus import Corpus
from specgen.refs import Resolver

REPO = Path(__file__).resolve().parents[2]
CORPORA = REPO / "tests" / "corpora"


@pytest.fixture(autouse=True, scope="session")
def _session_cache(tmp_path_factory):
    """specgen's caches (and those of the CLI run in subprocesses) go to a
    directory of this session, never into the developer's ~/.cache."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("xdg-cache")))
        yield


def write_tree(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


@pytest.fixture
def make_corpus(tmp_path):
    """``make_corpus({"event-schemas/schema/x.yaml": "..."}) -> (corpus, resolver)``."""

    def make(files: dict[str, str]) -> tuple[Corpus, Resolver]:
        corpus = Corpus(write_tree(tmp_path, files))
        return corpus, Resolver(corpus)

    return make


@pytest.fixture
def corpus_copy(tmp_path) -> Path:
    """A private copy of the repository's corpus data, safe to tamper with."""
    for name in ("api", "event-schemas"):
        shutil.copytree(REPO / name, tmp_path / name)
    shutil.copy(REPO / "specgen.toml", tmp_path / "specgen.toml")
    return tmp_path


def run_cli(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "specgen", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=120)

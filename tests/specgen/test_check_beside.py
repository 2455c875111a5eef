"""``specgen check`` validates the examples in a forked child while it
lints, when it has a second core: the report, the exit status and the
counts are those of the one-process run, and the child's verdicts reach the
cache the parent writes."""

from __future__ import annotations

import json

import pytest

import specgen.forked
from specgen.cli import main

from conftest import CORPORA, REPO


def checked(root, monkeypatch, capsys, *, fork: bool) -> tuple[int, list, str]:
    monkeypatch.setattr(specgen.forked, "can_fork", lambda: fork)
    status = main(["--root", str(root), "-v", "--format", "json", "check"])
    captured = capsys.readouterr()
    counts = next(line for line in captured.err.splitlines() if "examples validated" in line)
    return status, json.loads(captured.out), counts


@pytest.mark.parametrize("root", [REPO, CORPORA / "layouts" / "matrix-spec", CORPORA / "layouts" / "matrix-doc",
                                  CORPORA / "lint" / "example.invalid" / "fail"], ids=lambda p: f"{p.parent.name}/{p.name}")
def test_forked_validation_reports_what_one_process_reports(root, monkeypatch, capsys, tmp_path):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "one"))
    alone = checked(root, monkeypatch, capsys, fork=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "two"))
    beside = checked(root, monkeypatch, capsys, fork=True)
    assert beside == alone
    # Warm: the verdicts the child computed were written by the parent.
    assert checked(root, monkeypatch, capsys, fork=True) == alone
    written = json.loads(next((tmp_path / "two" / "specgen").glob("lint-verdicts*")).read_text("utf-8"))
    first = json.loads(next((tmp_path / "one" / "specgen").glob("lint-verdicts*")).read_text("utf-8"))
    assert set(written) == set(first)

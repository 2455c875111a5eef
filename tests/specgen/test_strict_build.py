"""Strict and non-strict builds, run as a user runs them.

matrix-doc's legacy tree was built by gendoc.py, which never checked it: its
layout builds non-strictly, so its findings are warnings and every page is
still written, while what may not be published (raw HTML) stays out. Our own
layout, ``--strict`` and ``strict_build = true`` fail on the same findings."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

CORPORA = Path(__file__).resolve().parents[1] / "corpora"
RAW = "\n.. raw:: html\n\n   <script>window.stolen = 1</script>\n"
BROKEN = ("\nSee `the old page <gone.html>`_.\n"
          "\nSee `the old endpoint <#get-matrix-client-%CLIENT_MAJOR_VERSION%-gone>`_.\n")


def specgen(*args: str, tmp: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp / "cache")}
    return subprocess.run([sys.executable, "-m", "specgen", *args], capture_output=True, text=True, env=env,
                          cwd=Path(__file__).resolve().parents[2])


def with_findings(tmp: Path, corpus: str, prose: str) -> Path:
    """A copy of a fixture corpus whose ``prose`` file holds a raw HTML
    block and a link to a page the build does not write."""
    root = shutil.copytree(CORPORA / corpus, tmp / "corpus")
    with open(root / "specification" / prose, "a", encoding="utf-8") as f:
        f.write(BROKEN + RAW)
    return root


@pytest.fixture()
def legacy(tmp_path):
    return with_findings(tmp_path, "legacy", "index.rst")


def test_a_legacy_tree_builds_with_its_findings_as_warnings(legacy, tmp_path):
    out = tmp_path / "html"
    run = specgen("--root", str(legacy), "build", "--no-check", "--out", str(out), tmp=tmp_path)
    assert run.returncode == 0, run.stderr
    assert "specification/index.rst" in run.stdout and "warning[rst.disabled]" in run.stdout
    assert "warning[build.broken-link]" in run.stdout and "gone.html" in run.stdout
    # A link written with a variable is found where it is written.
    written = (legacy / "specification" / "index.rst").read_text("utf-8").splitlines()
    line = next(i for i, text in enumerate(written, 1) if "%CLIENT_MAJOR_VERSION%-gone" in text)
    assert f"specification/index.rst:{line}:1: warning[build.broken-link] link '#get-matrix-client-r0-gone'" \
        in run.stdout
    assert "error[" not in run.stdout
    assert "reported as warnings" in run.stderr and "--strict" in run.stderr
    page = (out / "index.html").read_text("utf-8")
    assert "stolen" not in page and "<script>window" not in page
    assert (out / "client_server" / "unstable.html").is_file()


@pytest.mark.parametrize("how", ["flag", "config"])
def test_strict_fails_on_the_same_findings_and_writes_nothing(legacy, tmp_path, how):
    out = tmp_path / "html"
    args = ["--root", str(legacy), "build", "--no-check", "--out", str(out)]
    if how == "flag":
        args.append("--strict")
    else:
        config = tmp_path / "strict.toml"
        config.write_text('layout = "matrix-doc-legacy"\nstrict_build = true\n', "utf-8")
        args += ["--config", str(config)]
    run = specgen(*args, tmp=tmp_path)
    assert run.returncode == 1
    assert "error[rst.disabled]" in run.stdout
    assert "reported as warnings" not in run.stderr
    assert not out.exists()


def test_our_layout_builds_strictly(tmp_path):
    root = with_findings(tmp_path, "build/good", "index.rst")
    out = tmp_path / "html"
    run = specgen("--root", str(root), "build", "--no-check", "--out", str(out), tmp=tmp_path)
    assert run.returncode == 1
    assert "error[rst.disabled]" in run.stdout
    assert not out.exists()


def test_an_unwritable_output_still_fails_a_non_strict_build(legacy, tmp_path):
    out = tmp_path / "html"
    out.write_text("a file where the output folder goes", "utf-8")
    run = specgen("--root", str(legacy), "build", "--no-check", "--out", str(out), tmp=tmp_path)
    assert run.returncode == 1
    assert "error[build.output]" in run.stdout


def test_strict_build_must_be_a_boolean(legacy, tmp_path):
    config = tmp_path / "bad.toml"
    config.write_text('strict_build = "no"\n', "utf-8")
    run = specgen("--root", str(legacy), "--config", str(config), "build", "--no-check",
                  "--out", str(tmp_path / "html"), tmp=tmp_path)
    assert run.returncode == 2
    assert "strict_build must be true or false" in run.stderr

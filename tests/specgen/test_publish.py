"""The write stage of ``specgen build``: the output folder's mode comes
from the umask, a killed build's leftovers are cleaned by the next, and the
output path holds a complete build at every instant of the swap."""

from __future__ import annotations

import os
import stat
import threading
from pathlib import Path

import pytest

from specgen.build import Site, _exchange, publish
from specgen.diagnostics import Collector, Diagnostic, Severity

DEAD_PID = 2 ** 22 + 1  # above Linux's pid_max: never a running process


def _site(n: int) -> Site:
    return Site({"index.html": f"<p id=\"v{n}\">build {n}</p>".encode(), "sub/page.html": b"<p>x</p>"}, ())


def test_output_mode_follows_the_umask(tmp_path):
    previous = os.umask(0o022)
    try:
        assert publish(_site(1), tmp_path / "html", Collector(), tmp_path)
    finally:
        os.umask(previous)
    out = tmp_path / "html"
    assert stat.S_IMODE(out.stat().st_mode) == 0o755
    assert stat.S_IMODE((out / "sub").stat().st_mode) == 0o755
    assert stat.S_IMODE((out / "index.html").stat().st_mode) == 0o644


def test_a_killed_builds_leftovers_are_removed_and_a_half_swap_is_undone(tmp_path):
    out = tmp_path / "html"
    assert publish(_site(1), out, Collector(), tmp_path)
    (tmp_path / f".html.specgen-staging-{DEAD_PID}-dead").mkdir()
    # Killed between the two renames of the fallback swap: the old build aside, nothing at out.
    os.rename(out, tmp_path / f".html.specgen-old-{DEAD_PID}-dead")
    failing = Collector()
    failing.add(Diagnostic("x", 1, 1, "build.targets", Severity.ERROR, "a failed build still recovers"))
    assert not publish(_site(2), out, failing, tmp_path)
    assert (out / "index.html").read_bytes() == _site(1).files["index.html"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["html"]


def test_the_output_is_never_missing_during_a_swap(tmp_path):
    if not _exchange_supported(tmp_path):
        pytest.skip("renameat2(RENAME_EXCHANGE) is not available here")
    out = tmp_path / "html"
    assert publish(_site(0), out, Collector(), tmp_path)
    missing: list[int] = []
    done = threading.Event()

    def watch() -> None:
        while not done.is_set():
            try:
                (out / "index.html").read_bytes()
            except OSError:
                missing.append(1)

    reader = threading.Thread(target=watch)
    reader.start()
    try:
        for n in range(1, 40):
            assert publish(_site(n), out, Collector(), tmp_path)
    finally:
        done.set()
        reader.join()
    assert missing == [] and b"build 39" in (out / "index.html").read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["html"]


def _exchange_supported(folder: Path) -> bool:
    a, b = folder / "xa", folder / "xb"
    a.mkdir()
    b.mkdir()
    try:
        return _exchange(a, b)
    finally:
        a.rmdir()
        b.rmdir()


def test_an_output_path_that_is_a_file_is_an_error_not_a_traceback(tmp_path):
    (tmp_path / "html").write_text("not a folder")
    collector = Collector()
    assert not publish(_site(1), tmp_path / "html", collector, tmp_path)
    assert [d.code for d in collector] == ["build.output"]

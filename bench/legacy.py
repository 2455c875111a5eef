"""``specgen build`` of matrix-doc's legacy tree against its own gendoc.py.

Runs only when given the tree and a Python that can run gendoc.py (its
``scripts/requirements.txt``, in a virtualenv of its own)::

    SPECGEN_MATRIX_DOC=/path/to/matrix-doc GENDOC_PYTHON=/path/to/venv/bin/python make bench

Both run as whole processes on a copy of the tree (gendoc.py writes into
it), interleaved, best of three, specgen with an empty cache each time
(cold, as CI sees it), specgen's modules byte-compiled first as an
installed package's are. Target: specgen >= 10x faster. Each run's CPU time
(user + system, its child processes included) is reported beside the wall
time: on a shared machine it is the steadier of the two. The warm rebuild after
a one-line prose edit under ``specgen serve`` is timed in-process (target
< 0.2 s), best of three edits. The machine's usable CPUs and its load
average before and after are printed with the figures.
"""

from __future__ import annotations

import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from . import compile_specgen
from specgen.build import SiteBuilder
from specgen.corpus import Corpus

RUNS = 3


def _cpu() -> float:
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used.ru_utime + used.ru_stime


def _timed(command: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, float, int]:
    """Wall seconds, CPU seconds and exit status of one whole process."""
    cpu, start = _cpu(), time.perf_counter()
    done = subprocess.run(command, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start, _cpu() - cpu, done.returncode


def warm_edit(root: Path) -> float:
    """Seconds ``specgen serve`` takes to rebuild after a one-line edit of
    the largest prose file (in the copy), best of ``RUNS`` edits (each adds
    another line, so each rebuild has a new text to render)."""
    corpus = Corpus(root)
    builder = SiteBuilder(corpus, check=False, live_reload=True)
    builder.build()
    prose = max(corpus.prose, key=lambda p: p.stat().st_size)
    original = prose.read_text("utf-8")
    took = []
    try:
        for run in range(RUNS):
            prose.write_text(original.replace("\n\n", f"\n\nAn added line, edit {run}.\n\n", 1), "utf-8")
            start = time.perf_counter()
            builder.rebuild([prose])
            took.append(time.perf_counter() - start)
    finally:
        prose.write_text(original, "utf-8")
    return min(took)


def main() -> None:
    tree, python = os.environ.get("SPECGEN_MATRIX_DOC"), os.environ.get("GENDOC_PYTHON")
    if not tree or not python:
        print("legacy: skipped (set SPECGEN_MATRIX_DOC to a matrix-doc checkout at 93f83aca^ and "
              "GENDOC_PYTHON to a Python with its scripts/requirements.txt)")
        return
    compile_specgen()
    print(f"machine: {len(os.sched_getaffinity(0))} usable CPUs, load average {os.getloadavg()[0]:.2f} at start")
    with tempfile.TemporaryDirectory(prefix="specgen-legacy-") as tmp:
        work = Path(tmp)
        copy = work / "tree"
        shutil.copytree(tree, copy, ignore=shutil.ignore_patterns(".git"))
        gendoc_env = {**os.environ, "PATH": f"{Path(python).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
        times: dict[str, list[float]] = {"gendoc": [], "build": [], "no-check": []}
        cpus: dict[str, list[float]] = {"gendoc": [], "build": [], "no-check": []}
        status = {}
        for run in range(RUNS):
            seconds, cpu, status["gendoc"] = _timed([python, "scripts/gendoc.py", "-d", str(work / "gendoc")],
                                                    copy, gendoc_env)
            times["gendoc"].append(seconds)
            cpus["gendoc"].append(cpu)
            for label, extra in (("build", []), ("no-check", ["--no-check"])):
                cache = work / f"cache-{label}-{run}"
                env = {**os.environ, "XDG_CACHE_HOME": str(cache)}
                seconds, cpu, status[label] = _timed([sys.executable, "-m", "specgen", "--root", str(copy), "build",
                                                       *extra, "--out", str(work / label)], work, env)
                times[label].append(seconds)
                cpus[label].append(cpu)
        gendoc, gendoc_cpu = min(times["gendoc"]), min(cpus["gendoc"])
        print(f"matrix-doc legacy tree (best of {RUNS}, whole processes, cold cache)")
        print(f"  gendoc.py                                  {gendoc:8.3f} s  (exit {status['gendoc']})"
              f"  cpu {gendoc_cpu:7.3f} s")
        for label, text in (("build", "specgen build (lint + validate + render)"),
                            ("no-check", "specgen build --no-check              ")):
            ours, ours_cpu = min(times[label]), min(cpus[label])
            print(f"  {text}     {ours:8.3f} s  (exit {status[label]})  {gendoc / ours:5.2f}x faster"
                  f"  (target >= 10x) {'ok' if gendoc / ours >= 10 else 'MISSED'}"
                  f"  cpu {ours_cpu:7.3f} s, {gendoc_cpu / ours_cpu:5.2f}x less")
        edit = warm_edit(copy)
        print(f"  serve: rebuild after a one-line prose edit {edit:8.3f} s  (target < 0.2 s) "
              f"{'ok' if edit < 0.2 else 'MISSED'}")
    print(f"machine: load average {os.getloadavg()[0]:.2f} at the end")


if __name__ == "__main__":
    main()

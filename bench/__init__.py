"""Benchmarks run by ``make bench``; each module reports ratios against a
baseline timed in the same run, since the machines are noisy."""

from __future__ import annotations

import compileall
from pathlib import Path


def compile_specgen() -> None:
    """Byte-compile specgen's modules, as an installed package's are: pip
    compiles them, and an editable checkout under ``PYTHONDONTWRITEBYTECODE``
    would otherwise compile them from source in every timed run, which no
    user's run does."""
    compileall.compile_dir(str(Path(__file__).resolve().parent.parent / "specgen"), quiet=1)
    print("specgen byte-compiled first, as an installed package is")

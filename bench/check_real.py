"""``specgen check`` on matrix-spec's ``data/`` against matrix-spec's own
three check scripts, whole processes timed in the same run.

Given a checkout (``MATRIX_SPEC=DIR``), the baseline is what matrix-spec's
CI runs on it: ``scripts/check-event-schema-examples.py``,
``check-json-schemas.py`` and ``check-openapi-sources.py``, one after the
other, under ``MATRIX_SPEC_PYTHON`` (an interpreter with their
requirements: jsonschema, referencing, PyYAML, python-jsonpath; default
this one). specgen runs ``check`` from the checkout's root, unmodified:

- cold: an empty cache directory (what CI sees);
- warm: the caches an identical earlier run left.

specgen's own modules are byte-compiled first, as an installed package's
are (pip compiles them; an editable checkout under
``PYTHONDONTWRITEBYTECODE`` would otherwise compile them from source in
every run, which no user's run does); the libraries of both sides come
compiled from their installation.

Without a checkout the row runs on the synthetic stand-in of
:mod:`bench.lint_validate`, whose naive lint + validate is the baseline.
Each specgen figure is the best of :data:`ROUNDS`; wall time comes with the
CPU time the processes used, since a loaded machine stretches the first.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

from . import compile_specgen
from .lint_validate import _timed
from .synthetic_corpus import write_corpus

SCRIPTS = ("check-event-schema-examples.py", "check-json-schemas.py", "check-openapi-sources.py")
TARGET_COLD, TARGET_WARM, TARGET_RATIO = 1.5, 0.8, 10.0
ROUNDS = 3


def _baseline(root: Path | None, synthetic: Path, env: dict[str, str]) -> tuple[str, float, float]:
    if root is None:
        wall, cpu = _timed([sys.executable, "-m", "bench.lint_validate", "--naive", str(synthetic)], env)
        return "naive lint + validate (synthetic stand-in)", wall, cpu
    python = os.environ.get("MATRIX_SPEC_PYTHON") or sys.executable
    wall = cpu = 0.0
    for script in SCRIPTS:
        w, c = _timed([python, str(root / "scripts" / script)], env)
        wall, cpu = wall + w, cpu + c
    return "matrix-spec's three check scripts", wall, cpu


def main() -> None:
    given = os.environ.get("MATRIX_SPEC", "").strip()
    checkout = Path(given).resolve() if given and (Path(given) / "scripts" / SCRIPTS[0]).is_file() else None
    with tempfile.TemporaryDirectory(prefix="specgen-bench-check-") as tmp:
        root = checkout
        if root is None:
            root = Path(tmp) / "corpus"
            write_corpus(root)
        base = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(
            None, [str(Path(__file__).resolve().parent.parent), os.environ.get("PYTHONPATH", "")]))}
        base.pop("SPECGEN_NO_CACHE", None)
        print(f"corpus: {root if checkout else 'synthetic stand-in (set MATRIX_SPEC=DIR for the real row)'}")
        compile_specgen()
        print(f"machine: {len(os.sched_getaffinity(0))} usable CPUs, load average {os.getloadavg()[0]:.2f} at start")
        label, base_wall, base_cpu = _baseline(checkout, root, base)
        command = [sys.executable, "-m", "specgen", "--root", str(root), "check"]
        cold = min((_timed(command, {**base, "XDG_CACHE_HOME": str(Path(tmp) / f"cold-{i}")})
                    for i in range(ROUNDS)))
        warm_env = {**base, "XDG_CACHE_HOME": str(Path(tmp) / "warm")}
        _timed(command, warm_env)
        warm = min(_timed(command, warm_env) for _ in range(ROUNDS))
    print(f"{label:<44} {base_wall:6.2f} s wall {base_cpu:6.2f} s cpu")
    for name, (wall, cpu), target in (("specgen check, cold", cold, TARGET_COLD),
                                       ("specgen check, warm", warm, TARGET_WARM)):
        verdict = "meets" if wall <= target and base_wall / wall >= TARGET_RATIO else "misses"
        print(f"{name:<44} {wall:6.2f} s wall {cpu:6.2f} s cpu   {base_wall / wall:5.1f}x wall "
              f"{base_cpu / cpu:5.1f}x cpu   ({verdict} <= {target} s and >= {TARGET_RATIO:.0f}x)")


if __name__ == "__main__":
    main()

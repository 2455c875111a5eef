"""Run every benchmark, or those named on the command line.

The registry is explicit: each entry is a module with a ``main()`` that
prints its own report (times and ratios against its in-run baseline).
"""

from __future__ import annotations

import importlib
import sys

BENCHMARKS = {
    "lint": "bench.lint_validate",
    "check": "bench.check_real",
    "crypto": "bench.crypto",
    "auth": "bench.auth",
    "build": "bench.build",
    "flows": "bench.flows",
    "legacy": "bench.legacy",
}


def main(argv: list[str]) -> int:
    names = argv or list(BENCHMARKS)
    unknown = [n for n in names if n not in BENCHMARKS]
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}; known: {', '.join(BENCHMARKS)}", file=sys.stderr)
        return 2
    for name in names:
        print(f"== {name}", flush=True)
        importlib.import_module(BENCHMARKS[name]).main()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

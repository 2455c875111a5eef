"""``make compat CORPORA="DIR..."``: ``specgen check`` on real spec trees.

Each tree (a checkout of matrix-spec, of matrix-doc at ``93f83aca^``, or
any tree specgen reads) is checked from its root, unmodified, as a whole
process with an empty cache, and the report gives per tree: the layout
found, what it holds, how many examples were validated, the diagnostics by
code and severity, and the wall time. Nothing in a tree is written.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path


def check(root: Path) -> int:
    with tempfile.TemporaryDirectory(prefix="specgen-compat-") as cache:
        env = {**os.environ, "XDG_CACHE_HOME": cache}
        env.pop("SPECGEN_NO_CACHE", None)
        start = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", "specgen", "--root", str(root), "-v", "--format", "json",
                               "check"], env=env, capture_output=True, text=True)
        wall = time.perf_counter() - start
    print(f"== {root}")
    for line in done.stderr.splitlines():
        if line.startswith("specgen: ") and not line.startswith("specgen: root:"):
            print("  " + line[len("specgen: "):])
    if done.returncode not in (0, 1):
        print(f"  specgen check failed with exit status {done.returncode}")
        return done.returncode
    diagnostics = json.loads(done.stdout or "[]")
    by_code = Counter((d["severity"], d["code"]) for d in diagnostics)
    print(f"  diagnostics: {len(diagnostics)}")
    for (severity, code), count in sorted(by_code.items()):
        print(f"    {severity:<7} {code:<28} {count}")
    print(f"  wall time: {wall:.2f} s (whole process, empty cache)")
    return 0


def main(argv: list[str]) -> int:
    if not argv:
        print('usage: make compat CORPORA="DIR..." (checkouts of matrix-spec and of matrix-doc at 93f83aca^; '
              "see README)", file=sys.stderr)
        return 2
    missing = [a for a in argv if not Path(a).is_dir()]
    if missing:
        print(f"not a folder: {', '.join(missing)}", file=sys.stderr)
        return 2
    return max(check(Path(a).resolve()) for a in argv)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""``specgen lint`` + ``specgen validate`` against the naive way, whole process.

Both sides run as real subprocesses over the same synthetic corpus
(:mod:`bench.synthetic_corpus`), so interpreter start-up and imports count.
The baseline is what the old scripts did: the pure Python YAML loader on
every file, re-reading and re-parsing a file on every ``$ref`` to it, and
one ``jsonschema.validate`` call per example (which checks the schema and
builds a validator each time).

specgen keeps two caches in the user's cache directory, both keyed by
content: the parse cache (the data of every YAML file) and the verdict cache
(metaschema, OpenAPI-structure and example verdicts). Each specgen row says
which of them it could read, since a warm figure is no cold one:

- no cache: ``SPECGEN_NO_CACHE=1``, nothing read or written; both commands
  parse every file and compute every verdict;
- cold: an empty cache directory, as on CI or a fresh machine; ``lint``
  parses, computes and stores, and ``validate`` (run next, as ``make lint``
  does) reads the parse cache ``lint`` just filled;
- warm: both caches full from an identical earlier run.

On a cache miss the verdicts come from jsonschema-rs when it finds the input
clean and from the Python validators otherwise
(:mod:`specgen._fast_validation`). Each specgen figure is the best of
:data:`ROUNDS` runs (each cold run in a new, empty directory).

Run: ``python -m bench lint`` (or ``python -m bench.lint_validate``).
Wall time is reported with the CPU time the processes used, since a loaded
machine stretches the first but not the second; the load average at the start is printed for the same reason.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from .synthetic_corpus import write_corpus

#: The targets the benchmark reports against.
TARGET_SECONDS = 1.5
TARGET_RATIO = 8.0
ROUNDS = 3


def _timed(argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall and CPU seconds (user + system, children included) of one run."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode not in (0, 1):
        raise RuntimeError(f"{' '.join(argv)} failed ({done.returncode}): {done.stderr[-2000:]}")
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def _specgen(root: Path, env: dict[str, str]) -> dict[str, tuple[float, float]]:
    """Wall and CPU seconds of ``lint`` then ``validate``, and of both."""
    command = [sys.executable, "-m", "specgen", "--root", str(root)]
    times = {"lint": _timed([*command, "lint"], env), "validate": _timed([*command, "validate"], env)}
    times["both"] = (sum(w for w, _ in times.values()), sum(c for _, c in times.values()))
    return times


def _best(runs: list[dict[str, tuple[float, float]]]) -> dict[str, tuple[float, float]]:
    return min(runs, key=lambda times: times["both"][0])


#: (label, which caches it could read, how its cache directory starts).
_CONFIGS = (
    ("no cache", "none (SPECGEN_NO_CACHE=1)", "off"),
    ("cold", "none for lint; validate reads the parse cache lint filled", "empty"),
    ("warm", "parse cache and verdict cache, both full", "full"),
)


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="specgen-bench-") as tmp:
        root = Path(tmp) / "corpus"
        counts = write_corpus(root)
        print(f"corpus: {counts['yaml_files']} YAML files, {counts['bytes'] / 1e6:.2f} MB, "
              f"{counts['event_schemas']} event schemas, {counts['examples']} examples, "
              f"{counts['operations']} operations")
        print(f"machine: {len(os.sched_getaffinity(0))} usable CPUs, load average "
              f"{os.getloadavg()[0]:.2f} at start")
        base = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(
            None, [str(Path(__file__).resolve().parent.parent), os.environ.get("PYTHONPATH", "")]))}
        base.pop("SPECGEN_NO_CACHE", None)
        base_wall, base_cpu = _timed([sys.executable, "-m", "bench.lint_validate", "--naive", str(root)], base)
        warm_env = {**base, "XDG_CACHE_HOME": str(Path(tmp) / "warm-cache")}
        _specgen(root, warm_env)  # fills the warm rows' caches
        results = []
        for label, caches, start in _CONFIGS:
            runs = []
            for i in range(ROUNDS):
                env = warm_env
                if start == "off":
                    env = {**base, "SPECGEN_NO_CACHE": "1", "XDG_CACHE_HOME": str(Path(tmp) / "unused-cache")}
                elif start == "empty":
                    env = {**base, "XDG_CACHE_HOME": str(Path(tmp) / f"cold-cache-{label}-{i}")}
                runs.append(_specgen(root, env))
            results.append((label, caches, _best(runs)))
    print(f"{'naive baseline':<24} {base_wall:6.2f} s wall {base_cpu:6.2f} s cpu")
    for label, caches, times in results:
        wall, cpu = times["both"]
        verdict = "meets" if wall <= TARGET_SECONDS and base_wall / wall >= TARGET_RATIO else "misses"
        print(f"{'specgen ' + label:<24} {wall:6.2f} s wall {cpu:6.2f} s cpu   "
              f"{base_wall / wall:5.1f}x wall {base_cpu / cpu:5.1f}x cpu   "
              f"({verdict} <= {TARGET_SECONDS} s and >= {TARGET_RATIO:.0f}x)")
        print(f"    lint {times['lint'][0]:.2f} s wall {times['lint'][1]:.2f} s cpu   "
              f"validate {times['validate'][0]:.2f} s wall {times['validate'][1]:.2f} s cpu   caches read: {caches}")


# -- the naive baseline ----------------------------------------------------------


def _naive_load(path: Path):
    import yaml

    text = path.read_text("utf-8")
    if path.suffix == ".json" or not path.suffix:
        return json.loads(text)
    return yaml.load(text, Loader=yaml.SafeLoader)  # the pure-Python loader, on purpose


def _naive_inline(node, base: Path, depth: int = 0):
    """Replace every ``$ref`` by its target, reading and parsing the target
    file again each time, as the old scripts did."""
    if depth > 50:
        return node
    if isinstance(node, list):
        return [_naive_inline(v, base, depth + 1) for v in node]
    if not isinstance(node, dict):
        return node
    ref = node.get("$ref")
    if isinstance(ref, str) and not ref.startswith("http"):
        file_part, _, fragment = ref.partition("#")
        target = (base.parent / file_part).resolve() if file_part else base
        data = _naive_load(target)
        for token in filter(None, fragment.split("/")):
            data = data[int(token)] if isinstance(data, list) else data[token]
        merged = _naive_inline(data, target, depth + 1)
        siblings = {k: _naive_inline(v, base, depth + 1) for k, v in node.items() if k != "$ref"}
        return {**merged, **siblings} if isinstance(merged, dict) else merged
    return {k: _naive_inline(v, base, depth + 1) for k, v in node.items()}


def naive(root: Path) -> int:
    """Lint + validate the old way; returns how many examples failed."""
    import jsonschema

    failures = 0
    schema_dir, example_dir, api_dir = root / "event-schemas/schema", root / "event-schemas/examples", root / "api"
    for path in sorted([*schema_dir.rglob("*.yaml"), *api_dir.rglob("*.yaml")]):
        _naive_inline(_naive_load(path), path)
    for example in sorted(p for p in example_dir.iterdir() if p.is_file()):
        schema_path = schema_dir / (example.name.split("#")[0] + ".yaml")
        if not schema_path.is_file():
            continue
        schema = _naive_inline(_naive_load(schema_path), schema_path)
        try:
            jsonschema.validate(_naive_inline(_naive_load(example), example), schema)
        except jsonschema.ValidationError:
            failures += 1
    for path in sorted(api_dir.glob("*/*.yaml")):
        api = _naive_inline(_naive_load(path), path)
        for item in (api.get("paths") or {}).values():
            for operation in item.values():
                bodies = [operation.get("requestBody", {}), *operation.get("responses", {}).values()]
                for body in bodies:
                    for media in body.get("content", {}).values():
                        examples = [media["example"]] if "example" in media else []
                        examples += [media["schema"]["example"]] if "example" in media.get("schema", {}) else []
                        for value in examples:
                            try:
                                jsonschema.validate(value, media["schema"])
                            except jsonschema.ValidationError:
                                failures += 1
    return failures


if __name__ == "__main__":
    if sys.argv[1:2] == ["--naive"]:
        naive(Path(sys.argv[2]))
    else:
        main()

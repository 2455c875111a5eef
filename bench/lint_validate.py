"""``specgen lint`` + ``specgen validate`` against the naive way, whole process.

Both sides run as real subprocesses over the same synthetic corpus
(:mod:`bench.synthetic_corpus`), so interpreter start-up and imports count.
specgen is timed twice: cold (empty caches: no parsed YAML, no validator
verdicts) and warm (the caches the cold run left). The baseline is what the old scripts did: the pure
Python YAML loader on every file, re-reading and re-parsing a file on every
``$ref`` to it, and one ``jsonschema.validate`` call per example (which
checks the schema and builds a validator each time).

Run: ``python -m bench lint`` (or ``python -m bench.lint_validate``).
Wall time is reported with the CPU time the process used, since a loaded
machine stretches the first but not the second.
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


def _timed(argv: list[str], env: dict[str, str]) -> tuple[float, float, int]:
    """Wall seconds, CPU seconds (user + system) and exit status of one run."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if done.returncode not in (0, 1):
        raise RuntimeError(f"{' '.join(argv)} failed ({done.returncode}): {done.stderr[-2000:]}")
    return wall, cpu, done.returncode


def _specgen(root: Path, env: dict[str, str]) -> dict[str, tuple[float, float]]:
    """Wall and CPU seconds of each command, and of both together."""
    times = {command: _timed([sys.executable, "-m", "specgen", command, "--root", str(root)], env)[:2]
             for command in ("lint", "validate")}
    times["lint+validate"] = (sum(w for w, _ in times.values()), sum(c for _, c in times.values()))
    return times


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="specgen-bench-") as tmp:
        root = Path(tmp) / "corpus"
        counts = write_corpus(root)
        print(f"corpus: {counts['yaml_files']} YAML files, {counts['bytes'] / 1e6:.2f} MB, "
              f"{counts['event_schemas']} event schemas, {counts['examples']} examples, "
              f"{counts['operations']} operations")
        env = {**os.environ, "XDG_CACHE_HOME": str(Path(tmp) / "cache"),
               "PYTHONPATH": os.pathsep.join(filter(None, [str(Path(__file__).resolve().parent.parent),
                                                           os.environ.get("PYTHONPATH", "")]))}
        env.pop("SPECGEN_NO_CACHE", None)
        base_wall, base_cpu, _ = _timed([sys.executable, "-m", "bench.lint_validate", "--naive", str(root)], env)
        cold = _specgen(root, env)
        warm = _specgen(root, env)
    print(f"naive baseline        {base_wall:7.2f} s wall  {base_cpu:7.2f} s cpu")
    for name, runs in (("specgen cold cache", cold), ("specgen warm cache", warm)):
        wall, cpu = runs["lint+validate"]
        verdict = "meets" if wall <= TARGET_SECONDS and base_wall / wall >= TARGET_RATIO else "misses"
        print(f"{name:<21} {wall:7.2f} s wall  {cpu:7.2f} s cpu   "
              f"{base_wall / wall:5.1f}x wall  {base_cpu / cpu:5.1f}x cpu   "
              f"({verdict} <= {TARGET_SECONDS} s and >= {TARGET_RATIO:.0f}x)")
        print("  " + "   ".join(f"{command} {w:.2f} s wall {c:.2f} s cpu"
                                for command, (w, c) in runs.items() if command != "lint+validate"))


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

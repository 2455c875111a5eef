"""``specgen build`` against the floor of any docutils-based build.

The baseline, timed in the same run: docutils alone publishing the same
prose files to HTML5, with every placeholder already expanded into a raw
HTML block (so the baseline parses and writes exactly what the build does,
without the pipeline around it). Measured on the project's own spec and on a
synthetic corpus ten times its size (nine renamed copies of every page,
event schema, example and API file beside the originals).

Targets: the full build (render, assemble, write, link check) within 1.5x
of the floor; a one-file edit rebuilt by ``specgen serve``'s incremental
rebuild in under 0.5 s. Lint and example validation, which the build also
runs, are timed separately since the floor has nothing like them.
"""

from __future__ import annotations

import re
import shutil
import tempfile
import time
from pathlib import Path

import docutils.core
import yaml

from specgen.build import SiteBuilder, load_targets, publish
from specgen.corpus import Corpus
from specgen.diagnostics import Collector
from specgen.placeholders import Catalog
from specgen.rst import PLACEHOLDER

ROOT = Path(__file__).resolve().parents[1]
COPIES = 9
REPEAT = 5

_FLOOR_SETTINGS = {
    "report_level": 5, "halt_level": 5, "warning_stream": False, "doctitle_xform": False,
    "syntax_highlight": "short", "section_self_link": True, "embed_stylesheet": False,
    "stylesheet_path": "", "stylesheet": "", "_disable_config": True, "raw_enabled": True,
    "file_insertion_enabled": False,
}


def best(run, repeat: int = REPEAT) -> float:
    """The fastest of ``repeat`` runs: the one least disturbed by the machine."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return min(times)


def expanded_prose(corpus: Corpus) -> list[tuple[str, str]]:
    """Every page file's text with its placeholders replaced by the HTML
    they expand to, as raw blocks: the input of the floor."""
    targets, _ = load_targets(corpus)
    catalog = Catalog(corpus)
    out = []
    for page in targets.pages if targets else ():
        for name, _ in page.files:
            path = corpus.spec_dir / name
            if not path.is_file():
                continue
            lines = []
            for line in path.read_text("utf-8").splitlines():
                match = PLACEHOLDER.fullmatch(line.rstrip())
                blocks = catalog.expand(match.group(1)) if match else None
                if blocks is None:
                    lines.append(line)
                    continue
                html = "".join(f"<section><h3>{b.title}</h3>{b.html}</section>" for b in blocks)
                lines.append(".. raw:: html\n\n" + "\n".join("   " + h for h in html.splitlines()) + "\n")
            out.append((str(path), "\n".join(lines)))
    return out


def floor(prose: list[tuple[str, str]]) -> None:
    for source, text in prose:
        docutils.core.publish_parts(text, source_path=source, writer_name="html5",
                                    settings_overrides=_FLOOR_SETTINGS)


def full_build(root: Path, out: Path, *, check: bool) -> None:
    corpus = Corpus(root)
    publish(SiteBuilder(corpus, check=check).build(), out, Collector(fail_on=99), corpus.root)


def corpus_copy(root: Path, dest: Path, copies: int) -> Path:
    """The corpus of ``root`` (sources only) plus ``copies`` renamed copies
    of its pages and sources; benchmarks edit files, never the project's."""
    shutil.copytree(root, dest, ignore=shutil.ignore_patterns(".venv", ".git", "build", "bench", "tests",
                                                               "refimpl", "specgen", "*.egg-info", "docs"))
    corpus = Corpus(dest)
    spec = corpus.spec_dir
    targets = yaml.safe_load((spec / "targets.yaml").read_text("utf-8"))
    originals = list(targets["pages"])
    for i in range(1, copies + 1):
        tag = f"c{i}"
        for event_type, path in corpus.schemas.items():
            shutil.copy(path, path.with_name(f"{event_type}.{tag}{path.suffix}"))
            for example in corpus.examples.get(event_type, []):
                variant = example.path.name[len(event_type):]
                shutil.copy(example.path, example.path.with_name(f"{event_type}.{tag}{variant}"))
        for path in corpus.api_files:
            shutil.copy(path, path.with_name(f"{path.stem}-{tag}{path.suffix}"))
        for prose in corpus.prose:
            rel = prose.relative_to(spec)
            target = spec / tag / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(_rename_placeholders(prose.read_text("utf-8"), tag), "utf-8")
        targets["pages"].extend({**page, "page": f"{tag}/{page['page']}", "files": _prefixed(page["files"], tag)}
                                for page in originals)
    (spec / "targets.yaml").write_text(yaml.safe_dump(targets), "utf-8")
    return dest


def _prefixed(files: list, tag: str) -> list:
    return [_prefixed(f, tag) if isinstance(f, list) else f"{tag}/{f}" for f in files]


def _rename_placeholders(text: str, tag: str) -> str:
    def rename(match: re.Match) -> str:
        name = match.group(1)
        if name.endswith("_event"):
            name = f"{name[:-len('_event')]}_{tag}_event"
        elif name.endswith("_http_api"):
            stem, suffix = name[:-len("_http_api")].rsplit("_", 1)
            name = f"{stem}_{tag}_{suffix}_http_api"
        return "{{" + name + "}}"
    return re.sub(r"^\{\{([A-Za-z0-9_]+)\}\}\s*$", rename, text, flags=re.M)


def incremental(root: Path) -> tuple[float, float]:
    """Seconds to rebuild after editing one prose file, and one schema
    (in a copy of the corpus)."""
    corpus = Corpus(root)
    builder = SiteBuilder(corpus, check=False, live_reload=True)
    builder.build()
    prose = max(corpus.prose, key=lambda p: p.stat().st_size)
    schema = next(iter(corpus.schemas.values()))
    times = []
    for path, edit in ((prose, "\n\nAn added paragraph.\n"), (schema, "\n# an edit\n")):
        original = path.read_text("utf-8")
        path.write_text(original + edit, "utf-8")
        times.append(best(lambda: builder.rebuild([path]), 1))
        path.write_text(original, "utf-8")
        builder.rebuild([path])
    return times[0], times[1]


def report(label: str, root: Path, work: Path) -> None:
    corpus = Corpus(root)
    prose = expanded_prose(corpus)
    size = sum(len(t) for _, t in prose)
    # Interleaved, so a burst of load on a shared machine hits both alike.
    floor_s, build_s = float("inf"), float("inf")
    for _ in range(REPEAT):
        floor_s = min(floor_s, best(lambda: floor(prose), 1))
        build_s = min(build_s, best(lambda: full_build(root, work / "out", check=False), 1))
    checked_s = best(lambda: full_build(root, work / "out", check=True), 1)
    edit_prose, edit_schema = incremental(root)
    print(f"{label}: {len(prose)} prose files, {size / 1024:.0f} KiB after expansion")
    print(f"  floor (docutils alone, placeholders pre-expanded) {floor_s:8.3f} s")
    print(f"  specgen build, render + write + link check        {build_s:8.3f} s  ratio {build_s / floor_s:5.2f}x"
          f"  (target <= 1.50x) {'ok' if build_s / floor_s <= 1.5 else 'MISSED'}")
    print(f"  specgen build with lint + validate                {checked_s:8.3f} s  ratio {checked_s / floor_s:5.2f}x")
    print(f"  serve: rebuild after a prose edit                 {edit_prose:8.3f} s"
          f"  (target < 0.5 s) {'ok' if edit_prose < 0.5 else 'MISSED'}")
    print(f"  serve: rebuild after a schema edit                {edit_schema:8.3f} s")


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="specgen-bench-") as tmp:
        work = Path(tmp)
        report("project spec", corpus_copy(ROOT, work / "project", 0), work)
        report(f"synthetic ({COPIES + 1}x)", corpus_copy(ROOT, work / "synthetic", COPIES), work)
        print(f"(best of {REPEAT} runs; lint + validate and the incremental rebuilds run once)")


if __name__ == "__main__":
    main()

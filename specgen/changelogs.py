"""An API's changelog for one release, as reStructuredText.

A legacy tree keeps each API's changelog in two places: the released
versions in ``changelogs/<api>.rst`` (one ``=``-underlined title per
version), and the changes since in towncrier news fragments under
``changelogs/<api>/`` (configured by that folder's ``pyproject.toml`` or
``towncrier.toml``). An unstable build shows the fragments, rendered by the
towncrier library as ``towncrier build --draft`` would; a release shows its
own section of the released file.

The corpus is untrusted: its towncrier configuration may name folders and
files only inside the corpus, and only towncrier's own templates (a template
is code, and nothing in a corpus runs).
"""

from __future__ import annotations

import re
from pathlib import Path

from .corpus import Corpus
from .diagnostics import Diagnostic, Severity
from .targets import UNSTABLE, heading_lines

__all__ = ["changelog_apis", "changelog_rst"]

FOLDER = "changelogs"
_CONFIG_FILES = ("towncrier.toml", "pyproject.toml")
_UNDERLINE = re.compile(r"([=\-~^+`#*])\1{2,}\s*")


def changelog_apis(corpus: Corpus) -> dict[str, Path]:
    """API name -> its changelog folder or released file, for every API
    with either."""
    folder = corpus.root / FOLDER
    if not folder.is_dir():
        return {}
    found: dict[str, Path] = {}
    for path in sorted(folder.iterdir()):
        if not corpus.sources.inside(path):
            continue
        if path.is_dir() and any((path / c).is_file() for c in _CONFIG_FILES):
            found.setdefault(path.name, path)
        elif path.suffix == ".rst" and path.is_file():
            found.setdefault(path.stem, path)
    return found


def _problem(corpus: Corpus, path: Path, message: str) -> Diagnostic:
    return Diagnostic(corpus.display(path), 0, 0, "build.changelog", Severity.ERROR, message)


def changelog_rst(corpus: Corpus, api: str, label: str) -> tuple[str, list[Diagnostic]]:
    """The changes of ``api`` at ``label`` as reStructuredText whose
    category titles are rubrics (so they add no sections to the page)."""
    if label == UNSTABLE:
        text, problems = _draft(corpus, corpus.root / FOLDER / api)
    else:
        text, problems = _released(corpus, corpus.root / FOLDER / f"{api}.rst", label)
    return _rubrics(text), problems


def _released(corpus: Corpus, path: Path, label: str) -> tuple[str, list[Diagnostic]]:
    if not corpus.sources.inside(path) or not path.is_file():
        return "", [_problem(corpus, path, f"no released changelog to take release {label!r} from")]
    lines = path.read_text("utf-8", errors="replace").splitlines()
    starts = [i for i, (line, after) in enumerate(zip(lines, [*lines[1:], ""]))
              if line.strip() and not _UNDERLINE.fullmatch(line) and re.fullmatch(r"={3,}\s*", after)]
    for n, start in enumerate(starts):
        if lines[start].strip() == label:
            end = starts[n + 1] if n + 1 < len(starts) else len(lines)
            return "\n".join(lines[start + 2:end]).strip() + "\n", []
    titles = ", ".join(lines[s].strip() for s in starts) or "none"
    return "", [_problem(corpus, path, f"no section {label!r} in the released changelog (it has {titles})")]


def _draft(corpus: Corpus, folder: Path) -> tuple[str, list[Diagnostic]]:
    """The unreleased changes, rendered from the news fragments by towncrier."""
    from importlib import resources

    from towncrier._builder import find_fragments, render_fragments, split_fragments
    from towncrier._settings.load import ConfigError, load_config_from_file

    config_file = next((folder / c for c in _CONFIG_FILES if (folder / c).is_file()), None)
    if config_file is None:
        return "", [_problem(corpus, folder, "no towncrier configuration (pyproject.toml or towncrier.toml) here")]
    try:
        config = load_config_from_file(str(folder), str(config_file))
    except (ConfigError, ValueError, OSError) as exc:
        return "", [_problem(corpus, config_file, f"towncrier cannot read this configuration: {exc}")]
    if not config.directory:
        return "", [_problem(corpus, config_file, "the towncrier configuration names no news fragment directory")]
    if not corpus.sources.inside(folder / config.directory):
        return "", [_problem(corpus, config_file, f"news fragment folder {config.directory!r} is outside the corpus")]
    if not isinstance(config.template, tuple) or not config.template[0].startswith("towncrier"):
        return "", [_problem(corpus, config_file, "a changelog template from the corpus is not run; "
                                                  "use one of towncrier's own")]
    outside = [p for p in (folder / config.directory).rglob("*") if not corpus.sources.inside(p)]
    if outside:
        return "", [_problem(corpus, outside[0], "news fragment " + corpus.sources.outside_message(outside[0]))]
    template = resources.files(config.template[0]).joinpath(config.template[1]).read_text("utf-8")
    contents, _ = find_fragments(str(folder), config, strict=False)
    fragments = split_fragments(contents, config.types, all_bullets=config.all_bullets)
    rendered = render_fragments(template, config.issue_format, fragments, config.types, config.underlines[1:],
                                config.wrap, {"name": "", "version": UNSTABLE, "date": ""},
                                top_underline=config.underlines[0], all_bullets=config.all_bullets,
                                render_title=False)
    return rendered, []


def _rubrics(text: str) -> str:
    """Underlined titles become ``.. rubric::`` lines; comments go."""
    titles = {title for title, _ in heading_lines(text)}
    out, lines = [], text.splitlines()
    skip = False
    for line, after in zip(lines, [*lines[1:], ""]):
        if skip:
            skip = False
            continue
        if line.strip() in titles and _UNDERLINE.fullmatch(after):
            out.append(f".. rubric:: {line.strip()}")
            skip = True
        elif not line.startswith(".. ") or line.startswith(".. _"):
            out.append(line)
    return "\n".join(out).strip() + "\n"

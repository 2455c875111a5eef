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
is code, and nothing in a corpus runs). The configuration is read and its
template checked before towncrier sees it: towncrier imports the package a
``package:resource`` template names, and an import runs that package's code.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

from .corpus import Corpus
from .diagnostics import Diagnostic, Severity
from .sources import read_bounded
from .targets import UNSTABLE, heading_lines

__all__ = ["changelog_apis", "changelog_rst"]

FOLDER = "changelogs"
_CONFIG_FILES = ("towncrier.toml", "pyproject.toml")
_UNDERLINE = re.compile(r"([=\-~^+`#*])\1{2,}\s*")
#: The templates a corpus may choose: towncrier's own, by resource name.
_OWN_TEMPLATE = re.compile(r"towncrier(?:\.templates)?:[-\w.]+")


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


def _text(corpus: Corpus, path: Path) -> str | Diagnostic:
    """A file of the corpus as text, its size bounded as every source's is."""
    raw = read_bounded(path, corpus.sources.max_size)
    if isinstance(raw, tuple):
        return _problem(corpus, path, raw[1])
    return raw.decode("utf-8", errors="replace")


def _released(corpus: Corpus, path: Path, label: str) -> tuple[str, list[Diagnostic]]:
    if not corpus.sources.inside(path) or not path.is_file():
        return "", [_problem(corpus, path, f"no released changelog to take release {label!r} from")]
    text = _text(corpus, path)
    if isinstance(text, Diagnostic):
        return "", [text]
    lines = text.splitlines()
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

    from click import ClickException
    from towncrier._builder import FragmentsPath, find_fragments, render_fragments, split_fragments
    from towncrier._settings.load import ConfigError, parse_toml

    config_file = next((folder / c for c in _CONFIG_FILES if (folder / c).is_file()), None)
    if config_file is None:
        return "", [_problem(corpus, folder, "no towncrier configuration (pyproject.toml or towncrier.toml) here")]
    data = _towncrier_settings(corpus, config_file)
    if isinstance(data, Diagnostic):
        return "", [data]
    try:
        config = parse_toml(str(folder), data)
    except (ConfigError, ValueError, TypeError, KeyError, AttributeError, OSError) as exc:
        return "", [_problem(corpus, config_file, f"towncrier cannot read this configuration: {exc}")]
    if not isinstance(config.directory, str) or not config.directory:
        return "", [_problem(corpus, config_file, "the towncrier configuration names no news fragment directory")]
    fragments_path = FragmentsPath(str(folder), config)
    for section, where in config.sections.items():
        place = Path(fragments_path(where)) if isinstance(where, str) else None
        if place is None or not corpus.sources.inside(place):
            shown = repr(config.directory) if where == "" else f"{where!r} (section {section!r})"
            return "", [_problem(corpus, config_file, f"news fragment folder {shown} is outside the corpus")]
        for path in place.iterdir() if place.is_dir() else ():
            if not corpus.sources.inside(path):
                return "", [_problem(corpus, path, "news fragment " + corpus.sources.outside_message(path))]
            if path.is_file() and path.stat().st_size > corpus.sources.max_size:
                return "", [_problem(corpus, path, f"news fragment is larger than the limit of "
                                                   f"{corpus.sources.max_size} bytes (max_file_size in the corpus "
                                                   "config)")]
    template = resources.files(config.template[0]).joinpath(config.template[1]).read_text("utf-8")
    try:
        contents, _ = find_fragments(str(folder), config, strict=False)
        fragments = split_fragments(contents, config.types, all_bullets=config.all_bullets)
        rendered = render_fragments(template, config.issue_format, fragments, config.types, config.underlines[1:],
                                    config.wrap, {"name": "", "version": UNSTABLE, "date": ""},
                                    top_underline=config.underlines[0], all_bullets=config.all_bullets,
                                    render_title=False)
    # The configuration is the corpus's and towncrier does not check its
    # types: whatever it raises on the way is this file's problem.
    except (ClickException, ValueError, TypeError, KeyError, AttributeError, IndexError, OSError) as exc:
        return "", [_problem(corpus, config_file, f"towncrier cannot build the changelog from this configuration: "
                                                  f"{exc}")]
    return rendered, []


def _towncrier_settings(corpus: Corpus, config_file: Path) -> dict[str, Any] | Diagnostic:
    """The configuration file's contents, refused unless it is inside the
    corpus and names no template but one of towncrier's own."""
    if not corpus.sources.inside(config_file):
        return _problem(corpus, config_file, "towncrier configuration " + corpus.sources.outside_message(config_file))
    text = _text(corpus, config_file)
    if isinstance(text, Diagnostic):
        return text
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        return _problem(corpus, config_file, f"towncrier cannot read this configuration: {exc}")
    tool = data.get("tool")
    settings = tool.get("towncrier") if isinstance(tool, dict) else None
    template = settings.get("template", "towncrier:default") if isinstance(settings, dict) else "towncrier:default"
    if not isinstance(template, str) or not _OWN_TEMPLATE.fullmatch(template):
        return _problem(corpus, config_file, f"template {template!r} is not one of towncrier's own "
                                             "('towncrier:<name>'): a template from the corpus or from another "
                                             "package is not run")
    return data


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

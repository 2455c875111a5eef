"""Which prose files form which page: one model, two readers.

``specification/targets.yaml`` comes in two formats, both read into the one
:class:`Targets` model the build uses:

- ours: ``pages``, a list of ``{page, title, files}`` where a nested list of
  files goes one level deeper, plus ``title_styles``;
- the legacy format of matrix-doc's ``gendoc.py``: a ``targets`` map of page
  name to ``files`` (and an optional ``version_label``), where ``{N: file}``
  puts a file N levels deeper, ``group:<name>`` stands for a list under
  ``groups``, ``name@vN`` pages are written to ``name/<label>.html``, and
  ``relative_title_styles`` names the adornments (``<``, ``/``, ``>``) that
  mean one level below, the same level as, and one level above the heading
  before.

A legacy release label such as ``%CLIENT_RELEASE_LABEL%`` is a variable: the
build's ``--release client_server=r0.6.1`` sets the label of the page whose
``version_label`` names it, ``unstable`` otherwise. :class:`Targets` carries
the variables so that prose, generated sections and page names all see the
same values.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from .corpus import Corpus
from .diagnostics import Diagnostic, Severity
from .sources import join_pointer

__all__ = ["PageTarget", "Release", "Targets", "load_targets", "substitute", "TARGETS_FILE", "UNSTABLE", "heading_lines"]

TARGETS_FILE = "targets.yaml"
UNSTABLE = "unstable"
DEFAULT_STYLES = ("=", "-", "~", "+", "^", "`")
#: A legacy relative adornment's meaning, by its key in ``relative_title_styles``.
_RELATIVE = {"subtitle": 1, "sametitle": 0, "supertitle": -1}
_LABEL_VARIABLE = re.compile(r"%([A-Z][A-Z0-9_]*)_RELEASE_LABEL%")
_MAJOR = re.compile(r"(r\d+)(?:\.\d+)*")
#: A heading underline: one punctuation character repeated (docutils' set).
ADORNMENT = re.compile(r"([!-/:-@\[-`{-~])\1+\s*")


@dataclass(frozen=True)
class PageTarget:
    #: The page's path without ``.html``: ``index``, ``rooms/v1``.
    name: str
    title: str
    #: ``(corpus-relative file under specification/, depth)`` in page order.
    files: tuple[tuple[str, int], ...]
    unstable: bool = False

    @property
    def url(self) -> str:
        return f"{self.name}.html"


@dataclass(frozen=True)
class Release:
    """One API's release, as a legacy tree names it: the target
    (``client_server``), the variable stem of its label (``CLIENT``) and the
    label this build uses (``r0.6.1`` or ``unstable``)."""

    api: str
    stem: str
    label: str
    #: The page the API's specification is written to.
    url: str
    title: str


@dataclass(frozen=True)
class Targets:
    display: str
    title_styles: tuple[str, ...]
    pages: tuple[PageTarget, ...]
    #: Relative adornment -> levels below the heading before it (legacy).
    relative_styles: Mapping[str, int] = field(default_factory=dict)
    #: Whether a file's first heading sits at the file's depth whatever its
    #: style (the legacy rule) rather than at depth + its style's level.
    first_heading_at_depth: bool = False
    #: Whether a title may repeat on a page (anchors are numbered then).
    duplicate_titles: bool = False
    #: How a docutils error in the prose is reported: an error in our
    #: format; a warning in a legacy tree, whose gendoc.py printed such
    #: errors into the page and carried on (its halt level was "severe").
    markup_errors: Severity = Severity.ERROR
    #: ``%NAME%`` -> its value, applied to prose, generated sections and names.
    variables: Mapping[str, str] = field(default_factory=dict)
    releases: tuple[Release, ...] = ()

    def absolute_titles(self, text: str) -> tuple[str, list[tuple[int, str]]]:
        """``text`` with each relative adornment line replaced by the
        absolute style it means after the heading before it, and the lines
        where that cannot be done (no heading before, or no level left)."""
        lines = text.split("\n")
        current = ""
        problems: list[tuple[int, str]] = []
        for i, line in enumerate(lines):
            stripped = line.rstrip()
            if len(stripped) < 3 or len(set(stripped)) != 1:
                continue
            char = stripped[0]
            if char in self.title_styles:
                current = char
            elif char in self.relative_styles:
                level = self.title_styles.index(current) + self.relative_styles[char] if current else -1
                if not 0 <= level < len(self.title_styles):
                    problems.append((i + 1, f"relative title adornment {char!r} has no heading before it to be "
                                            "relative to, or no title style left at that level"))
                    continue
                # Siblings: the next relative line is relative to the same heading.
                lines[i] = line.replace(char, self.title_styles[level])
        return "\n".join(lines), problems

    def substitute(self, text: str) -> str:
        return substitute(text, self.variables)


def substitute(text: str, variables: Mapping[str, str]) -> str:
    """``text`` with each ``%NAME%`` variable replaced by its value."""
    for name, value in variables.items():
        if name in text:
            text = text.replace(name, value)
    return text


def _error(display: str, line: int, message: str) -> Diagnostic:
    return Diagnostic(display, line, 1 if line else 0, "build.targets", Severity.ERROR, message)


def load_targets(corpus: Corpus, releases: Mapping[str, str] | None = None) -> tuple[Targets | None, list[Diagnostic]]:
    """Read ``targets.yaml`` from the specification folder, in either
    format; every problem is a located ``build.targets`` diagnostic.

    Args:
        releases: API target name -> release label (legacy trees only);
            an API not named is ``unstable``.
    """
    path = corpus.spec_dir / TARGETS_FILE
    loaded = corpus.load(path)
    if isinstance(loaded, Diagnostic):
        return None, [loaded]
    data = loaded.data
    problems: list[tuple[str, str]] = []
    if isinstance(data, dict) and isinstance(data.get("targets"), dict):
        targets = _legacy(corpus, loaded.display, data, dict(releases or {}), problems)
    elif isinstance(data, dict) and isinstance(data.get("pages"), list):
        targets = _ours(corpus, loaded.display, data, problems)
        if releases:
            problems.append(("", "--release applies to legacy targets files (a 'targets' map) only"))
    else:
        return None, [_error(loaded.display, 1, "targets.yaml needs a 'pages' list or a 'targets' map")]
    return targets, [loaded.diagnostic(p, "build.targets", Severity.ERROR, m) for p, m in problems]


def _styles(data: dict, problems: list) -> tuple[str, ...]:
    styles = data.get("title_styles", list(DEFAULT_STYLES))
    if not (isinstance(styles, list) and styles and all(isinstance(s, str) and len(s) == 1 for s in styles)):
        problems.append(("/title_styles", "title_styles must be a list of single adornment characters"))
        return DEFAULT_STYLES
    return tuple(styles)


#: A page's name is a relative path of plain segments: it becomes a file
#: under the output folder.
_PAGE_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*(?:/[A-Za-z0-9_][A-Za-z0-9_.-]*)*")


def _check_page_name(name: str, pointer: str, problems: list) -> bool:
    if _PAGE_NAME.fullmatch(name) and ".." not in name.split("/"):
        return True
    problems.append((pointer, f"page name {name!r} must be a relative path of letters, digits, '_', '-' and '.'"))
    return False


def _check_exists(corpus: Corpus, page: str, files: list[tuple[str, int]], pointer: str, problems: list) -> None:
    """A listed file that is missing is reported here; one outside the
    corpus is the build's to report (it reads nothing there)."""
    for name, _ in files:
        path = corpus.spec_dir / name
        if corpus.sources.inside(path) and not path.is_file():
            problems.append((pointer, f"page {page!r} lists {name!r}, which does not exist"))


# -- ours ------------------------------------------------------------------

def _flatten(entries: Any, depth: int, pointer: str, out: list, problems: list) -> None:
    """Files in a page's list; a nested list holds files one level deeper."""
    for i, entry in enumerate(entries):
        here = join_pointer(pointer, i)
        if isinstance(entry, str):
            out.append((entry, depth))
        elif isinstance(entry, list):
            _flatten(entry, depth + 1, here, out, problems)
        else:
            problems.append((here, "a page's files are names or nested lists of names"))


def _ours(corpus: Corpus, display: str, data: dict, problems: list) -> Targets:
    """``title_styles`` (outermost first), ``duplicate_titles`` and
    ``pages``, each with ``page``, ``title``, ``files`` and optionally
    ``unstable: true``."""
    styles = _styles(data, problems)
    pages, seen = [], set()
    for i, raw in enumerate(data["pages"]):
        pointer = join_pointer("/pages", i)
        if not isinstance(raw, dict) or not isinstance(raw.get("page"), str) or not isinstance(raw.get("files"), list):
            problems.append((pointer, "a page needs 'page' (its name) and 'files' (a list)"))
            continue
        if raw["page"] in seen:
            problems.append((join_pointer(pointer, "page"), f"page {raw['page']!r} is declared twice"))
            continue
        seen.add(raw["page"])
        files: list[tuple[str, int]] = []
        _flatten(raw["files"], 0, join_pointer(pointer, "files"), files, problems)
        _check_exists(corpus, raw["page"], files, join_pointer(pointer, "files"), problems)
        if not _check_page_name(raw["page"], join_pointer(pointer, "page"), problems):
            continue
        title = raw.get("title") if isinstance(raw.get("title"), str) else raw["page"]
        pages.append(PageTarget(raw["page"], title, tuple(files), raw.get("unstable") is True))
    duplicates = data.get("duplicate_titles", False)
    if not isinstance(duplicates, bool):
        problems.append(("/duplicate_titles", "duplicate_titles must be true or false"))
    return Targets(display, styles, tuple(pages), duplicate_titles=duplicates is True)


# -- legacy ----------------------------------------------------------------

def _legacy(corpus: Corpus, display: str, data: dict, releases: dict[str, str], problems: list) -> Targets:
    styles = _styles(data, problems)
    relative: dict[str, int] = {}
    raw_relative = data.get("relative_title_styles", {})
    if not isinstance(raw_relative, dict):
        problems.append(("/relative_title_styles", "relative_title_styles must be a map"))
        raw_relative = {}
    for key, char in raw_relative.items():
        if key not in _RELATIVE or not isinstance(char, str) or len(char) != 1 or char in styles:
            problems.append((join_pointer("/relative_title_styles", key),
                             "relative title styles are subtitle, sametitle and supertitle, each one "
                             "character that is not a title style"))
            continue
        relative[char] = _RELATIVE[key]
    groups = data.get("groups", {})
    if not isinstance(groups, dict):
        problems.append(("/groups", "groups must be a map of name to a list of files"))
        groups = {}

    stems = {}
    for name, raw in data["targets"].items():
        label = raw.get("version_label") if isinstance(raw, dict) else None
        match = _LABEL_VARIABLE.fullmatch(label) if isinstance(label, str) else None
        if match:
            stems[str(name)] = match.group(1)
    for api in releases:
        if api not in stems:
            problems.append(("/targets", f"--release {api}=...: no target of that name has a release label "
                                         f"(those that do: {', '.join(sorted(stems)) or 'none'})"))
    variables = {}
    for api, stem in stems.items():
        label = releases.get(api, UNSTABLE)
        variables[f"%{stem}_RELEASE_LABEL%"] = label
        variables[f"%{stem}_MAJOR_VERSION%"] = _major(corpus, api, label)

    pages, release_list, seen = [], [], set()
    for name, raw in data["targets"].items():
        pointer = join_pointer("/targets", str(name))
        if not isinstance(raw, dict) or not isinstance(raw.get("files"), list):
            problems.append((pointer, "a target needs 'files' (a list)"))
            continue
        files: list[tuple[str, int]] = []
        for i, entry in enumerate(raw["files"]):
            _legacy_entry(entry, 0, join_pointer(pointer, "files", i), groups, files, problems)
        page = _legacy_page_name(str(name), raw.get("version_label"), variables)
        if not _check_page_name(page, pointer, problems):
            continue
        if page in seen:
            problems.append((pointer, f"two targets write {page}.html"))
            continue
        seen.add(page)
        _check_exists(corpus, str(name), files, join_pointer(pointer, "files"), problems)
        title = _first_heading(corpus, corpus.spec_dir / files[0][0]) if files else ""
        pages.append(PageTarget(page, title or str(name), tuple(files)))
        if str(name) in stems:
            release_list.append(Release(str(name), stems[str(name)], variables[f"%{stems[str(name)]}_RELEASE_LABEL%"],
                                        f"{page}.html", title or str(name)))
    return Targets(display, styles, tuple(pages), relative, first_heading_at_depth=True, duplicate_titles=True,
                   markup_errors=Severity.WARNING, variables=variables, releases=tuple(release_list))


def _legacy_entry(entry: Any, depth: int, pointer: str, groups: dict, out: list, problems: list,
                  in_group: bool = False) -> None:
    """One entry of a legacy ``files`` list: a file, ``group:<name>``, or
    ``{N: entry}`` placing the entry N levels deeper (relative to the
    group's own depth inside a group)."""
    if isinstance(entry, str) and entry.startswith("group:"):
        group = groups.get(entry[len("group:"):])
        if in_group or not isinstance(group, list):
            problems.append((pointer, f"{entry!r} is not a group (a list of files under 'groups')"
                             if not in_group else "a group cannot name another group"))
            return
        for i, item in enumerate(group):
            _legacy_entry(item, depth, join_pointer("/groups", entry[len("group:"):], i), groups, out, problems,
                          in_group=True)
    elif isinstance(entry, str):
        out.append((entry, depth))
    elif isinstance(entry, dict) and all(str(k).isdigit() for k in entry):
        for key in sorted(entry, key=int):
            inner, offset = entry[key], int(key)
            if isinstance(inner, (dict, list)):
                problems.append((join_pointer(pointer, offset), "a depth entry holds a file or a group"))
                continue
            _legacy_entry(inner, depth + offset, join_pointer(pointer, offset), groups, out, problems, in_group)
    else:
        problems.append((pointer, "an entry is a file, 'group:<name>' or {depth: file}"))


def _legacy_page_name(name: str, label: Any, variables: Mapping[str, str]) -> str:
    """``client_server`` with label ``%CLIENT_RELEASE_LABEL%`` is written to
    ``client_server/<label>``; ``rooms@v1`` with label ``v1`` to
    ``rooms/v1``; a target without a label to its own name."""
    if not isinstance(label, str) or not label:
        return name
    for variable, value in variables.items():
        label = label.replace(variable, value)
    return f"{name.split('@')[0]}/{label}"


def _major(corpus: Corpus, api: str, label: str) -> str:
    """The major version in an API's URLs: ``r0`` for ``r0.6.1``; for an
    unstable build, that of the newest release in ``changelogs/<api>.rst``."""
    match = _MAJOR.fullmatch(label)
    if match:
        return match.group(1)
    changelog = corpus.root / "changelogs" / f"{api}.rst"
    if corpus.sources.inside(changelog) and changelog.is_file():
        for title, _ in heading_lines(changelog.read_text("utf-8", errors="replace")):
            found = _MAJOR.fullmatch(title)
            if found:
                return found.group(1)
    return label


def heading_lines(text: str):
    """``(title, adornment character)`` for each underlined heading of an
    RST text, by a line scan (no parse)."""
    lines = text.splitlines()
    for line, after in zip(lines, [*lines[1:], ""]):
        title = line.strip()
        # docutils takes a short underline too, once it is four long.
        if (title and not ADORNMENT.fullmatch(line) and ADORNMENT.fullmatch(after)
                and (len(after.rstrip()) >= len(line.rstrip()) or len(after.rstrip()) >= 4)):
            yield title, after[0]


def _first_heading(corpus: Corpus, path: Path) -> str:
    if not corpus.sources.inside(path):
        return ""
    try:
        text = path.read_text("utf-8", errors="replace")
    except OSError:
        return ""
    return next((title for title, _ in heading_lines(text)), "")

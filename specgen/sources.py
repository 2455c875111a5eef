"""Loading YAML and JSON once, with a pointer-to-position index.

Every file of a corpus is parsed once per process through :class:`Sources`,
whatever refers to it. YAML goes through libyaml's C parser: the composed
node tree is kept, the plain data is constructed from it, and the index from
JSON pointer to ``line:column`` is only walked the first time somebody asks
for a position, so clean runs never pay for it. JSON is decoded by the
standard library; its positions come from the same YAML composer on demand
(JSON is close enough to YAML for locating nodes).

A file that cannot be read or parsed becomes a :class:`Diagnostic` with the
parser's own line and column; it never raises.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import yaml

from .diagnostics import Diagnostic, Severity

__all__ = [
    "Document",
    "Sources",
    "load_document",
    "escape_pointer_token",
    "join_pointer",
    "split_pointer",
    "YAML_SUFFIXES",
    "JSON_SUFFIXES",
]

YAML_SUFFIXES = frozenset({".yaml", ".yml"})
JSON_SUFFIXES = frozenset({".json"})

_BaseLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Loader(_BaseLoader):  # type: ignore[misc, valid-type]
    """Safe loading with JSON-compatible results.

    Timestamps stay strings (a ``date`` in an example must validate as a
    string) and mapping keys become strings (OpenAPI writes ``200:``).
    """

    def construct_mapping(self, node, deep=False):  # noqa: D401 - libyaml hook
        mapping = super().construct_mapping(node, deep=deep)
        if any(not isinstance(k, str) for k in mapping):
            return {_key_text(k): v for k, v in mapping.items()}
        return mapping


def _key_text(key: Any) -> str:
    if isinstance(key, bool):
        return "true" if key else "false"
    if key is None:
        return "null"
    return str(key)


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in _BaseLoader.yaml_implicit_resolvers.items()
}
_Loader.add_constructor("tag:yaml.org,2002:map", _Loader.construct_mapping)


def escape_pointer_token(token: str | int) -> str:
    return str(token).replace("~", "~0").replace("/", "~1")


def join_pointer(pointer: str, *tokens: str | int) -> str:
    return pointer + "".join("/" + escape_pointer_token(t) for t in tokens)


def split_pointer(pointer: str) -> list[str]:
    if not pointer:
        return []
    return [t.replace("~1", "/").replace("~0", "~") for t in pointer.lstrip("#").split("/")[1:]]


@dataclass(eq=False)
class Document:
    """A parsed file: its data, its text, and positions on request."""

    path: Path
    display: str
    data: Any
    text: str
    _node: Any = field(default=None, repr=False)
    _index: dict[str, tuple[int, int, int, int]] | None = field(default=None, repr=False)

    def locate(self, pointer: str) -> tuple[int, int]:
        """1-based ``(line, column)`` of the value at ``pointer``.

        Falls back to the nearest existing ancestor, and to ``(1, 1)``, so a
        caller always has somewhere to point.
        """
        return self._lookup(pointer)[2:]

    def locate_key(self, pointer: str) -> tuple[int, int]:
        """Position of the mapping key that names ``pointer`` (the value's
        position for array items and the root)."""
        return self._lookup(pointer)[:2]

    def _lookup(self, pointer: str) -> tuple[int, int, int, int]:
        index = self._positions()
        tokens = split_pointer(pointer)
        while True:
            candidate = join_pointer("", *tokens)
            if candidate in index:
                return index[candidate]
            if not tokens:
                return (1, 1, 1, 1)
            tokens.pop()

    def line_text(self, line: int) -> str:
        lines = self.text.splitlines()
        return lines[line - 1] if 0 < line <= len(lines) else ""

    def _positions(self) -> dict[str, tuple[int, int, int, int]]:
        if self._index is None:
            node = self._node
            if node is None:
                try:
                    node = yaml.compose(self.text, Loader=_BaseLoader)
                except yaml.YAMLError:
                    node = None
            index: dict[str, tuple[int, int, int, int]] = {}
            if node is not None:
                mark = node.start_mark
                _walk(node, "", (mark.line + 1, mark.column + 1), index)
            self._index = index
            self._node = None
        return self._index


def _walk(node: Any, pointer: str, key_pos: tuple[int, int], index: dict) -> None:
    mark = node.start_mark
    index[pointer] = (*key_pos, mark.line + 1, mark.column + 1)
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            token = key_node.value if isinstance(key_node, yaml.ScalarNode) else ""
            if token == "<<":
                continue
            km = key_node.start_mark
            _walk(value_node, join_pointer(pointer, token), (km.line + 1, km.column + 1), index)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            im = item.start_mark
            _walk(item, join_pointer(pointer, i), (im.line + 1, im.column + 1), index)


def _syntax_diagnostic(display: str, message: str, line: int, column: int) -> Diagnostic:
    return Diagnostic(
        path=display,
        line=line,
        column=column,
        code="syntax",
        severity=Severity.ERROR,
        message=message,
    )


def load_document(path: Path, display: str | None = None, *, text: str | None = None) -> Document | Diagnostic:
    """Parse one file by its suffix (YAML for anything that is not ``.json``,
    since YAML also reads JSON); return the document or a diagnostic."""
    display = display or str(path)
    if text is None:
        try:
            raw = path.read_bytes()
        except OSError as exc:
            return _syntax_diagnostic(display, f"cannot read file: {exc.strerror or exc}", 0, 0)
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            line = raw.count(b"\n", 0, exc.start) + 1
            col = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
            return _syntax_diagnostic(display, f"file is not valid UTF-8: {exc.reason}", line, col)
    if path.suffix.lower() in JSON_SUFFIXES:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            return _syntax_diagnostic(display, f"invalid JSON: {exc.msg}", exc.lineno, exc.colno)
        except RecursionError:
            return _syntax_diagnostic(display, "invalid JSON: nested too deeply", 1, 1)
        return Document(path=path, display=display, data=data, text=text)
    try:
        loader = _Loader(text)
        try:
            node = loader.get_single_node()
            data = loader.construct_document(node) if node is not None else None
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        problem = exc.problem or exc.context or "syntax error"
        return _syntax_diagnostic(display, f"invalid YAML: {problem}", line, col)
    except yaml.YAMLError as exc:
        return _syntax_diagnostic(display, f"invalid YAML: {exc}", 1, 1)
    except (RecursionError, ValueError, TypeError, OverflowError) as exc:
        return _syntax_diagnostic(display, f"invalid YAML: {type(exc).__name__}: {exc}", 1, 1)
    return Document(path=path, display=display, data=data, text=text, _node=node)


class Sources:
    """Per-process cache of parsed files, keyed by resolved path.

    ``display`` names are made relative to ``root`` so that diagnostics do
    not depend on where the corpus was checked out.
    """

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self._docs: dict[Path, Document | Diagnostic] = {}

    def display(self, path: Path) -> str:
        try:
            return path.resolve().relative_to(self.root).as_posix()
        except ValueError:
            return str(path)

    def load(self, path: Path) -> Document | Diagnostic:
        key = path.resolve()
        cached = self._docs.get(key)
        if cached is None:
            cached = load_document(key, self.display(key))
            self._docs[key] = cached
        return cached

    def document(self, path: Path) -> Document | None:
        result = self.load(path)
        return result if isinstance(result, Document) else None

    def documents(self) -> Iterator[Document]:
        """Every file parsed so far (a snapshot: safe while more load)."""
        for result in list(self._docs.values()):
            if isinstance(result, Document):
                yield result

    def failures(self) -> Iterator[Diagnostic]:
        for result in self._docs.values():
            if isinstance(result, Diagnostic):
                yield result

    def __contains__(self, path: Path) -> bool:
        return path.resolve() in self._docs

"""Loading YAML and JSON once, with a pointer-to-position index.

Every file of a corpus is parsed once per process through :class:`Sources`,
whatever refers to it. JSON (a ``.json`` file, or a file without a YAML
suffix whose first non-blank character opens an object or array, such as
the suffix-less event examples) is decoded by the standard library. YAML
goes through libyaml's C parser; since that is most of a run's parsing
time, the data of a YAML file is also kept in the user's cache directory
under the hash of its bytes (:class:`ParseCache`), so an unchanged file is
parsed once, not once per run.

Positions are never computed up front: the index from JSON pointer to
``line:column`` is built from a YAML composition of the text the first time
somebody asks (JSON is close enough to YAML for locating nodes), so clean
runs never pay for it.

A file that cannot be read or parsed becomes a :class:`Diagnostic` with the
parser's own line and column; it never raises.
"""

from __future__ import annotations

import hashlib
import json
import marshal
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import yaml

from ._cache import cache_dir, caching_enabled, write_atomically
from .diagnostics import Diagnostic, Severity

__all__ = [
    "Document",
    "ParseCache",
    "Sources",
    "load_document",
    "escape_pointer_token",
    "join_pointer",
    "split_pointer",
    "iter_mappings",
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


def iter_mappings(data: Any) -> Iterator[dict]:
    """Every JSON object in ``data``, itself included, in no promised order:
    for questions about a whole document ("does anything here hold a
    ``$ref``?") that need no pointers."""
    stack = [data]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            yield node
            stack.extend(v for v in node.values() if isinstance(v, (dict, list)))
        elif isinstance(node, list):
            stack.extend(v for v in node if isinstance(v, (dict, list)))


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

    def diagnostic(self, pointer: str, code: str, severity: Severity, message: str, *,
                   key: bool = False, related: tuple[Diagnostic, ...] = ()) -> Diagnostic:
        """A finding about the value at ``pointer`` (its mapping key with
        ``key``), located here so that no caller repeats the lookup."""
        line, column = self.locate_key(pointer) if key else self.locate(pointer)
        return Diagnostic(self.display, line, column, code, severity, message, pointer, related)

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


class ParseCache:
    """The data of parsed YAML files, by the hash of their bytes.

    One marshal file per document under the user's cache directory. The key
    covers the Python and PyYAML versions and :data:`_LOADER_VERSION`, so a
    change to any of them (or to the loader's rules) reads nothing stale.
    Only successful parses are stored: a syntax error is reported afresh.
    """

    def __init__(self, directory: Path | None) -> None:
        self.directory = directory

    @classmethod
    def open(cls) -> "ParseCache":
        return cls(cache_dir() / "parsed" if caching_enabled() else None)

    def _file(self, content: bytes) -> Path | None:
        if self.directory is None:
            return None
        digest = hashlib.sha256(_CACHE_CONTEXT)
        digest.update(content)
        return self.directory / (digest.hexdigest() + ".marshal")

    def get(self, content: bytes) -> Any:
        """The stored data, or :data:`MISSING`."""
        file = self._file(content)
        if file is None:
            return MISSING
        try:
            return marshal.loads(file.read_bytes())
        except (OSError, EOFError, ValueError, TypeError):
            return MISSING

    def put(self, content: bytes, data: Any) -> None:
        file = self._file(content)
        if file is None:
            return
        try:
            encoded = marshal.dumps(data, 4)
        except (ValueError, RecursionError):
            return
        write_atomically(file, encoded)


#: Bump when the loader's rules change what a given text parses to.
_LOADER_VERSION = "1"
_CACHE_CONTEXT = f"yaml-data {_LOADER_VERSION} {sys.version_info[:2]} {yaml.__version__}\0".encode()
#: What :meth:`ParseCache.get` returns for a document it does not hold
#: (``None`` is the data of an empty file).
MISSING = object()


def load_document(path: Path, display: str | None = None, *, text: str | None = None,
                  cache: ParseCache | None = None) -> Document | Diagnostic:
    """Parse one file: JSON when its suffix is ``.json`` or, without a YAML
    suffix, when its content starts like JSON (falling back to YAML if it
    is not JSON after all); YAML otherwise, since YAML also reads JSON.

    Args:
        text: the file's content, when the caller already has it.
        cache: where to look for and keep the data of YAML files.

    Returns:
        The document, or a ``syntax`` diagnostic.
    """
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
    else:
        raw = None
    suffix = path.suffix.lower()
    if suffix in JSON_SUFFIXES or (suffix not in YAML_SUFFIXES and text.lstrip()[:1] in ("{", "[")):
        try:
            return Document(path=path, display=display, data=json.loads(text), text=text)
        except json.JSONDecodeError as exc:
            if suffix in JSON_SUFFIXES:
                return _syntax_diagnostic(display, f"invalid JSON: {exc.msg}", exc.lineno, exc.colno)
        except RecursionError:
            return _syntax_diagnostic(display, "invalid JSON: nested too deeply", 1, 1)
    if cache is not None:
        raw = text.encode("utf-8") if raw is None else raw
        data = cache.get(raw)
        if data is not MISSING:
            return Document(path=path, display=display, data=data, text=text)
    loaded = _parse_yaml(display, text)
    if isinstance(loaded, Diagnostic):
        return loaded
    node, data = loaded
    if cache is not None:
        cache.put(raw, data)
    return Document(path=path, display=display, data=data, text=text, _node=node)


def _parse_yaml(display: str, text: str) -> tuple[Any, Any] | Diagnostic:
    """``(composed node, data)``: the node is kept for the position index."""
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
    return node, data


class Sources:
    """Per-process cache of parsed files.

    Files are keyed by their resolved path, and also by the path a caller
    gave, so asking again with the same path costs a dictionary lookup
    rather than a ``realpath`` (:meth:`canonical` offers the same to others). ``display`` names are made relative to
    ``root`` so that diagnostics do not depend on where the corpus was
    checked out.
    """

    def __init__(self, root: Path, parse_cache: ParseCache | None = None) -> None:
        self.root = root.resolve()
        self.parse_cache = parse_cache if parse_cache is not None else ParseCache.open()
        self._docs: dict[Path, Document | Diagnostic] = {}
        self._given: dict[Path, Document | Diagnostic] = {}
        self._canonical: dict[Path, Path] = {}

    def canonical(self, path: Path) -> Path:
        """``path.resolve()``, asked of the file system once per path."""
        found = self._canonical.get(path)
        if found is None:
            found = self._canonical[path] = path.resolve()
        return found

    def display(self, path: Path) -> str:
        try:
            return self.canonical(path).relative_to(self.root).as_posix()
        except ValueError:
            return str(path)

    def load(self, path: Path) -> Document | Diagnostic:
        cached = self._given.get(path)
        if cached is None:
            key = self.canonical(path)
            cached = self._docs.get(key)
            if cached is None:
                cached = load_document(key, self.display(key), cache=self.parse_cache)
                self._docs[key] = cached
            self._given[path] = cached
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
        return path in self._given or self.canonical(path) in self._docs

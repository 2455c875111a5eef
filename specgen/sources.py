"""Loading YAML and JSON once, with a pointer-to-position index.

Every file of a corpus is parsed once per process through :class:`Sources`,
whatever refers to it. JSON (a ``.json`` file, or a file without a YAML
suffix whose first non-blank character opens an object or array, such as
the suffix-less event examples) is decoded by the standard library. YAML
goes through libyaml's C parser; since that is most of a run's parsing
time, the data of a YAML file is also kept in the user's cache directory
under the hash of its bytes (:class:`ParseCache`, one file per corpus), so
an unchanged file is parsed once, not once per run.

Positions are never computed up front: the index from JSON pointer to
``line:column`` is built from a YAML composition of the text the first time
somebody asks (JSON is close enough to YAML for locating nodes), so clean
runs never pay for it.

A file that cannot be read or parsed becomes a :class:`Diagnostic` with the
parser's own line and column; it never raises.

Every file is untrusted input (a corpus may come from a stranger's pull
request), so loading is bounded before anything big or deep is built: a
file larger than the corpus's size limit is not parsed; YAML is composed
here, iteratively, from libyaml's event stream (libyaml's own composer
recurses on the C stack and dies on deep nesting), refusing nesting deeper
than :data:`MAX_DEPTH` at the line where it crosses the limit and alias
expansion beyond :data:`MAX_ALIAS_NODES` nodes (a kilobyte "billion
laughs" file would otherwise expand to billions); a mapping that repeats a
key is ``syntax.duplicate-key`` in YAML and JSON alike, since the text a
reviewer reads must be the data that is validated and signed. Plain YAML
(no tags, anchors or merge keys: nearly every spec file) is built straight
from the event stream within the same bounds, without composing nodes
(:meth:`_Loader.plain_data`); anything else takes the composed path.
"""

from __future__ import annotations

import hashlib
import json
import marshal
import os
import stat
import sys
import weakref
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
    "MAX_DEPTH",
    "MAX_ALIAS_NODES",
    "DEFAULT_MAX_FILE_SIZE",
]

YAML_SUFFIXES = frozenset({".yaml", ".yml"})
JSON_SUFFIXES = frozenset({".json"})

#: Nesting of arrays and objects a data file may have (the deepest file of
#: the Matrix spec nests 25): deep enough for any spec, shallow enough that
#: every recursive walk over the data stays far from Python's stack limit.
MAX_DEPTH = 100
#: Nodes that YAML aliases may add to a file when expanded.
MAX_ALIAS_NODES = 10_000
#: Bytes a data or prose file may have unless the corpus's config says otherwise.
DEFAULT_MAX_FILE_SIZE = 5 * 1024 * 1024

_BaseLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class LoadError(yaml.MarkedYAMLError):
    """A bound or rule of this loader broken at ``problem_mark``."""

    def __init__(self, code: str, problem: str, mark: Any) -> None:
        super().__init__(problem=problem, problem_mark=mark)
        self.code = code


class _Loader(_BaseLoader):  # type: ignore[misc, valid-type]
    """Safe loading with JSON-compatible results, composed within bounds.

    Timestamps stay strings (a ``date`` in an example must validate as a
    string) and mapping keys become strings (OpenAPI writes ``200:``).
    """

    def get_single_node(self):  # noqa: D401 - PyYAML's entry point
        self.get_event()  # stream start
        node = None
        if not self.check_event(yaml.StreamEndEvent):
            self.get_event()  # document start
            node = self._compose()
            self.get_event()  # document end
        if not self.check_event(yaml.StreamEndEvent):
            event = self.get_event()
            raise yaml.composer.ComposerError("expected a single document in the stream",
                                              node.start_mark if node else None,
                                              "but found another document", event.start_mark)
        self.get_event()
        return node

    def _compose(self) -> yaml.Node:
        """The document's node, built with an explicit stack.

        Each open collection is ``[node, anchor, pending key, size, height]``;
        an anchor is registered once its node is complete, so an alias can
        never point into itself. Size and height count aliases expanded, so
        the bounds hold for the data the constructor will build.
        """
        anchors: dict[str, tuple[yaml.Node, int, int]] = {}
        stack: list[list] = []
        expanded = 0
        while True:
            event = self.get_event()
            if isinstance(event, yaml.AliasEvent):
                found = anchors.get(event.anchor)
                if found is None:
                    raise yaml.composer.ComposerError(None, None, f"found undefined alias {event.anchor!r}",
                                                      event.start_mark)
                node, size, height = found
                expanded += size
                if expanded > MAX_ALIAS_NODES:
                    raise LoadError("syntax.alias", f"aliases expand to more than {MAX_ALIAS_NODES} nodes",
                                    event.start_mark)
                if len(stack) + height > MAX_DEPTH:
                    raise LoadError("syntax.too-deep", f"nesting deeper than {MAX_DEPTH} levels (through "
                                    f"alias *{event.anchor})", event.start_mark)
            elif isinstance(event, yaml.ScalarEvent):
                tag = event.tag
                if tag is None or tag == "!":
                    tag = self.resolve(yaml.ScalarNode, event.value, event.implicit)
                node = yaml.ScalarNode(tag, event.value, event.start_mark, event.end_mark, style=event.style)
                size, height = 1, 0
                if event.anchor is not None:
                    anchors[event.anchor] = (node, 1, 0)
            elif isinstance(event, (yaml.SequenceStartEvent, yaml.MappingStartEvent)):
                if len(stack) >= MAX_DEPTH:
                    raise LoadError("syntax.too-deep", f"nesting deeper than {MAX_DEPTH} levels",
                                    event.start_mark)
                kind = yaml.SequenceNode if isinstance(event, yaml.SequenceStartEvent) else yaml.MappingNode
                tag = event.tag
                if tag is None or tag == "!":
                    tag = self.resolve(kind, None, event.implicit)
                node = kind(tag, [], event.start_mark, None, flow_style=event.flow_style)
                stack.append([node, event.anchor, None, 1, 1])
                continue
            else:  # the end of a collection
                node, anchor, _, size, height = stack.pop()
                node.end_mark = event.end_mark
                if anchor is not None:
                    anchors[anchor] = (node, size, height)
            if not stack:
                return node
            parent = stack[-1]
            parent[3] += size
            parent[4] = max(parent[4], height + 1)
            if isinstance(parent[0], yaml.SequenceNode):
                parent[0].value.append(node)
            elif parent[2] is None:
                parent[2] = node
            else:
                parent[0].value.append((parent[2], node))
                parent[2] = None

    def plain_data(self) -> Any:
        """The document's data built straight from the event stream, for
        the plain YAML that nearly every spec file is: no tags, anchors,
        aliases or merge keys, scalar keys, each key once, within
        :data:`MAX_DEPTH`. Scalars are resolved and constructed by the
        same resolver and constructors as :meth:`construct_mapping`'s path,
        so the data is identical; :data:`MISSING` for anything else (or an
        error), which the composed path then builds or reports.

        About twice as fast as composing nodes first, and it keeps no node
        tree alive: positions are composed again only for a file with a
        finding."""
        get_event, resolve, constructors = self.get_event, self.resolve, self.yaml_constructors
        scalar, mapping_start, mapping_end = yaml.ScalarEvent, yaml.MappingStartEvent, yaml.MappingEndEvent
        sequence_start, sequence_end = yaml.SequenceStartEvent, yaml.SequenceEndEvent
        tags: dict[str, str] = {}
        get_event()  # stream start
        if self.check_event(yaml.StreamEndEvent):
            get_event()
            return None
        get_event()  # document start
        # Each open collection: [container, pending key or _NO_KEY, key texts
        # seen (None for a sequence), whether a key is not a string].
        stack: list[list] = []
        while True:
            event = get_event()
            kind = event.__class__
            if kind is scalar:
                if event.anchor is not None or event.tag not in (None, "!"):
                    return MISSING
                value = event.value
                if event.implicit[0]:
                    tag = tags.get(value)
                    if tag is None:
                        tag = tags[value] = resolve(yaml.ScalarNode, value, event.implicit)
                    if tag != _STR_TAG:
                        if tag not in _PLAIN_TAGS:
                            return MISSING
                        value = constructors[tag](self, yaml.ScalarNode(tag, value))
            elif kind is mapping_start or kind is sequence_start:
                if event.anchor is not None or event.tag not in (None, "!") or len(stack) >= MAX_DEPTH:
                    return MISSING
                stack.append([{}, _NO_KEY, set(), False] if kind is mapping_start else [[], None, None, False])
                continue
            elif kind is mapping_end:
                value, _, _, other_keys = stack.pop()
                if other_keys:
                    value = {_key_text(k): v for k, v in value.items()}
            elif kind is sequence_end:
                value = stack.pop()[0]
            else:  # an alias
                return MISSING
            if not stack:
                break
            parent = stack[-1]
            if parent[2] is None:
                parent[0].append(value)
            elif parent[1] is _NO_KEY:
                if kind is not scalar:
                    return MISSING
                if value.__class__ is str:
                    text = value
                else:
                    text = _key_text(value)
                    parent[3] = True
                if text in parent[2]:
                    return MISSING
                parent[2].add(text)
                parent[1] = value
            else:
                parent[0][parent[1]] = value
                parent[1] = _NO_KEY
        get_event()  # document end
        if not self.check_event(yaml.StreamEndEvent):
            return MISSING
        return value

    def plain_index(self) -> dict[str, tuple[int, int, int, int]] | None:
        """What :func:`_index` makes of the composed document, read straight
        from the event stream, for plain YAML (no anchors, aliases, merge or
        complex keys, each pointer once, within :data:`MAX_DEPTH`); ``None``
        for anything else, which is composed instead."""
        get_event = self.get_event
        scalar, mapping_start, sequence_start = yaml.ScalarEvent, yaml.MappingStartEvent, yaml.SequenceStartEvent
        ends = (yaml.MappingEndEvent, yaml.SequenceEndEvent)
        get_event()  # stream start
        if self.check_event(yaml.StreamEndEvent):
            return None
        get_event()  # document start
        index: dict[str, tuple[int, int, int, int]] = {}
        # Each open collection: [pointer, is a mapping, pending key (pointer
        # and position) or None, next item number].
        stack: list[list] = []
        while True:
            event = get_event()
            kind = event.__class__
            if kind in ends:
                stack.pop()
                if not stack:
                    break
                continue
            if kind is yaml.AliasEvent or event.anchor is not None:
                return None
            mark = event.start_mark
            position = (mark.line + 1, mark.column + 1)
            if not stack:
                pointer, key_position = "", position
            elif stack[-1][1]:
                parent = stack[-1]
                if parent[2] is None:
                    if kind is not scalar or event.value == "<<":
                        return None
                    parent[2] = (join_pointer(parent[0], event.value), position)
                    continue
                (pointer, key_position), parent[2] = parent[2], None
            else:
                parent = stack[-1]
                pointer, key_position = join_pointer(parent[0], parent[3]), position
                parent[3] += 1
            if pointer in index:
                return None
            index[pointer] = (*key_position, *position)
            if kind is mapping_start or kind is sequence_start:
                if len(stack) >= MAX_DEPTH:
                    return None
                stack.append([pointer, kind is mapping_start, None, 0])
            elif not stack:
                break  # a document that is one scalar
        get_event()  # document end
        if not self.check_event(yaml.StreamEndEvent):
            return None
        return index

    def construct_mapping(self, node, deep=False):  # noqa: D401 - PyYAML hook
        seen: set[str] = set()
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = self.construct_object(key_node, deep=True)
            text = _key_text(key) if isinstance(key, (str, int, float, bool, type(None))) else repr(key)
            if text in seen:
                raise LoadError("syntax.duplicate-key", f"duplicate key {text!r} (a key may appear once in a "
                                "mapping)", key_node.start_mark)
            seen.add(text)
        mapping = super().construct_mapping(node, deep=deep)
        if any(not isinstance(k, str) for k in mapping):
            return {_key_text(k): v for k, v in mapping.items()}
        return mapping


_STR_TAG = "tag:yaml.org,2002:str"
#: Scalar tags whose values :meth:`_Loader.plain_data` constructs.
_PLAIN_TAGS = frozenset({_STR_TAG, "tag:yaml.org,2002:int", "tag:yaml.org,2002:float", "tag:yaml.org,2002:bool",
                         "tag:yaml.org,2002:null"})
_NO_KEY = object()


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
    text = str(token)
    if "~" in text or "/" in text:
        return text.replace("~", "~0").replace("/", "~1")
    return text


def join_pointer(pointer: str, *tokens: str | int) -> str:
    for token in tokens:
        pointer += "/" + escape_pointer_token(token)
    return pointer


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
    _digest: bytes | None = field(default=None, repr=False)

    def digest(self) -> bytes:
        """SHA-256 of the text, computed once: verdict keys are made of the
        digests of every file a check depends on, and files are shared."""
        if self._digest is None:
            self._digest = hashlib.sha256(self.text.encode("utf-8")).digest()
        return self._digest

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
                self._index = _plain_index(self.text)
                if self._index is not None:
                    return self._index
                composed = _compose(self.text)
                node = composed if isinstance(composed, yaml.Node) else None
            self._index = _index(node) if node is not None else {}
            self._node = None
        return self._index


def _index(root: yaml.Node) -> dict[str, tuple[int, int, int, int]]:
    """Pointer -> ``(key line, key column, value line, value column)``."""
    index: dict[str, tuple[int, int, int, int]] = {}
    mark = root.start_mark
    stack = [(root, "", (mark.line + 1, mark.column + 1))]
    while stack:
        node, pointer, key_pos = stack.pop()
        mark = node.start_mark
        index.setdefault(pointer, (*key_pos, mark.line + 1, mark.column + 1))
        if isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                token = key_node.value if isinstance(key_node, yaml.ScalarNode) else ""
                if token == "<<":
                    continue
                km = key_node.start_mark
                stack.append((value_node, join_pointer(pointer, token), (km.line + 1, km.column + 1)))
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                im = item.start_mark
                stack.append((item, join_pointer(pointer, i), (im.line + 1, im.column + 1)))
    return index


def _syntax_diagnostic(display: str, message: str, line: int, column: int, code: str = "syntax") -> Diagnostic:
    return Diagnostic(
        path=display,
        line=line,
        column=column,
        code=code,
        severity=Severity.ERROR,
        message=message,
    )


class ParseCache:
    """The data of parsed YAML files, by the hash of their bytes.

    One file per corpus (``scope``, its root) under the user's cache
    directory: the marshalled data of the YAML files its runs read, loaded
    once when first asked and written once, when the cache is let go or the
    process ends, if anything was parsed anew (a cold run writes one file,
    not one per document). The key covers the Python and PyYAML versions
    and :data:`_LOADER_VERSION`, so a change to any of them (or to the
    loader's rules) reads nothing stale. Only successful parses are stored:
    a syntax error is reported afresh. Data is marshalled when it is put,
    so what is written is the data as parsed, whatever happens to it later.
    """

    def __init__(self, directory: Path | None, scope: str = "") -> None:
        self.directory = directory
        #: The pack as read (loaded on first use), the entries this run read
        #: or put, and whether any is new: kept apart from ``self``, so that
        #: the pack can be written when ``self`` is let go.
        self._state: dict[str, Any] = {"stored": None, "entries": {}, "new": False}
        self._file = None
        if directory is not None:
            name = hashlib.sha256(scope.encode("utf-8", "surrogateescape")).hexdigest()[:32]
            self._file = directory / f"pack-{name}.marshal"
            weakref.finalize(self, _write_pack, self._file, self._state)

    @classmethod
    def open(cls, scope: str = "") -> "ParseCache":
        return cls(cache_dir() / "parsed" if caching_enabled() else None, scope)

    def get(self, content: bytes) -> Any:
        """The stored data, or :data:`MISSING`."""
        if self._file is None:
            return MISSING
        key = _content_key(content)
        encoded = _stored(self._file, self._state).get(key)
        if encoded is None:
            return MISSING
        try:
            data = marshal.loads(encoded)
        except (EOFError, ValueError, TypeError):
            return MISSING
        self._state["entries"][key] = encoded
        return data

    def put(self, content: bytes, data: Any) -> None:
        if self._file is None:
            return
        try:
            encoded = marshal.dumps(data, 4)
        except (ValueError, RecursionError):
            return
        self._state["entries"][_content_key(content)] = encoded
        self._state["new"] = True

    def flush(self) -> None:
        """Write the pack now if anything was parsed anew (otherwise done
        when the cache is let go)."""
        if self._file is not None:
            _write_pack(self._file, self._state)


def _content_key(content: bytes) -> str:
    digest = hashlib.sha256(_CACHE_CONTEXT)
    digest.update(content)
    return digest.hexdigest()


def _stored(file: Path, state: dict[str, Any]) -> dict[str, bytes]:
    if state["stored"] is None:
        state["stored"] = _read_pack(file)
    return state["stored"]


def _read_pack(file: Path) -> dict[str, bytes]:
    try:
        raw = marshal.loads(file.read_bytes())
    except (OSError, EOFError, ValueError, TypeError):
        return {}
    if not isinstance(raw, dict) or not all(isinstance(k, str) and isinstance(v, bytes) for k, v in raw.items()):
        return {}
    return raw


def _write_pack(file: Path, state: dict[str, Any]) -> None:
    """The entries this run used, and as many older ones again (a run over
    part of the corpus keeps the rest, yet edits cannot grow it forever)."""
    if not state["new"]:
        return
    state["new"] = False
    used = state["entries"]
    older = [(k, v) for k, v in _stored(file, state).items() if k not in used][:len(used) + 64]
    write_atomically(file, marshal.dumps({**dict(older), **used}, 4))


#: Bump when the loader's rules change what a given text parses to.
_LOADER_VERSION = "2"
_CACHE_CONTEXT = f"yaml-data {_LOADER_VERSION} {sys.version_info[:2]} {yaml.__version__}\0".encode()
#: What :meth:`ParseCache.get` returns for a document it does not hold
#: (``None`` is the data of an empty file).
MISSING = object()


def load_document(path: Path, display: str | None = None, *, text: str | None = None,
                  cache: ParseCache | None = None, max_size: int = DEFAULT_MAX_FILE_SIZE) -> Document | Diagnostic:
    """Parse one file: JSON when its suffix is ``.json`` or, without a YAML
    suffix, when its content starts like JSON (falling back to YAML if it
    is not JSON after all); YAML otherwise, since YAML also reads JSON.

    Args:
        text: the file's content, when the caller already has it.
        cache: where to look for and keep the data of YAML files.
        max_size: the most bytes a file may have.

    Returns:
        The document, or a ``syntax`` (``syntax.*``) diagnostic.
    """
    display = display or str(path)
    if text is None:
        raw = read_bounded(path, max_size)
        if isinstance(raw, tuple):
            return _syntax_diagnostic(display, raw[1], 0, 0, raw[0])
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
        decoded = _parse_json(display, text)
        if isinstance(decoded, tuple):
            return Document(path=path, display=display, data=decoded[0], text=text)
        if suffix in JSON_SUFFIXES or decoded.code != "syntax":
            return decoded
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


def read_bounded(path: Path, max_size: int = DEFAULT_MAX_FILE_SIZE) -> bytes | tuple[str, str]:
    """The bytes of ``path``, or ``(code, message)`` saying why not:
    unreadable or not a regular file (``syntax``; a FIFO would block), or
    larger than ``max_size`` (``syntax.too-large``, checked before reading
    and while reading, in case the file grows)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError as exc:
        return "syntax", f"cannot read file: {exc.strerror or 'unreadable'}"
    with open(fd, "rb", closefd=True) as stream:
        try:
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode):
                return "syntax", "cannot read file: not a regular file"
            raw = stream.read(max_size + 1) if info.st_size <= max_size else b""
        except OSError as exc:
            return "syntax", f"cannot read file: {exc.strerror or 'unreadable'}"
    if info.st_size > max_size or len(raw) > max_size:
        return "syntax.too-large", (f"file is larger than the limit of {max_size} bytes "
                                    "(max_file_size in the corpus config)")
    return raw


class _DuplicateKey(ValueError):
    pass


def _unique_pairs(pairs: list[tuple[str, Any]]) -> dict:
    data = dict(pairs)
    if len(data) != len(pairs):
        raise _DuplicateKey
    return data


def _parse_json(display: str, text: str) -> tuple[Any] | Diagnostic:
    """``(data,)`` or a diagnostic (plain ``syntax`` when the text is not
    JSON at all).

    Duplicate keys and excess depth are found cheaply here and located by
    composing the text as YAML, which JSON nearly is.
    """
    try:
        data = json.loads(text, object_pairs_hook=_unique_pairs)
    except json.JSONDecodeError as exc:
        return _syntax_diagnostic(display, f"invalid JSON: {exc.msg}", exc.lineno, exc.colno)
    except _DuplicateKey:
        return _located(display, text, "syntax.duplicate-key", "duplicate key (a key may appear once in an object)")
    except RecursionError:
        return _located(display, text, "syntax.too-deep", f"nesting deeper than {MAX_DEPTH} levels")
    except ValueError:
        return _syntax_diagnostic(display, "invalid JSON: a number has too many digits", 1, 1)
    if _deeper_than(data, MAX_DEPTH):
        return _located(display, text, "syntax.too-deep", f"nesting deeper than {MAX_DEPTH} levels")
    return (data,)


def _deeper_than(data: Any, limit: int) -> bool:
    stack = [(data, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > limit:
            return True
        if isinstance(node, dict):
            stack.extend((v, depth + 1) for v in node.values() if isinstance(v, (dict, list)))
        elif isinstance(node, list):
            stack.extend((v, depth + 1) for v in node if isinstance(v, (dict, list)))
    return False


def _located(display: str, text: str, code: str, fallback: str) -> Diagnostic:
    """The JSON problem ``code`` at its line, found by the YAML loader's
    own checks; ``fallback`` at the top if that loader does not see it."""
    found = _parse_yaml(display, text)
    if isinstance(found, Diagnostic) and found.code == code:
        return found
    return _syntax_diagnostic(display, fallback, 1, 1, code)


def _plain_data(text: str) -> Any:
    """:meth:`_Loader.plain_data` of ``text``, :data:`MISSING` on any error."""
    try:
        loader = _Loader(text)
        try:
            return loader.plain_data()
        finally:
            loader.dispose()
    except (yaml.YAMLError, ValueError, TypeError, OverflowError, KeyError, AttributeError):
        return MISSING


def _plain_index(text: str) -> dict[str, tuple[int, int, int, int]] | None:
    """:meth:`_Loader.plain_index` of ``text``, ``None`` on any error."""
    try:
        loader = _Loader(text)
        try:
            return loader.plain_index()
        finally:
            loader.dispose()
    except (yaml.YAMLError, ValueError, TypeError, OverflowError):
        return None


def _compose(text: str) -> yaml.Node | yaml.YAMLError | None:
    """The bounded composition of ``text``, or the error that stopped it."""
    try:
        loader = _Loader(text)
        try:
            return loader.get_single_node()
        finally:
            loader.dispose()
    except yaml.YAMLError as exc:
        return exc
    except (ValueError, TypeError, OverflowError) as exc:
        return yaml.YAMLError(str(exc))


def _parse_yaml(display: str, text: str) -> tuple[Any, Any] | Diagnostic:
    """``(composed node, data)``: the node is kept for the position index
    (``None`` when the data came from :meth:`_Loader.plain_data`)."""
    data = _plain_data(text)
    if data is not MISSING:
        return None, data
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
        if isinstance(exc, LoadError):
            return _syntax_diagnostic(display, exc.problem, line, col, exc.code)
        problem = exc.problem or exc.context or "syntax error"
        return _syntax_diagnostic(display, f"invalid YAML: {problem}", line, col)
    except yaml.YAMLError as exc:
        return _syntax_diagnostic(display, f"invalid YAML: {exc}", 1, 1)
    except ValueError:  # an integer too long to convert
        return _syntax_diagnostic(display, "invalid YAML: a number has too many digits", 1, 1)
    except (RecursionError, TypeError, OverflowError) as exc:
        return _syntax_diagnostic(display, f"invalid YAML: a value cannot be constructed ({exc})", 1, 1)
    return node, data


class Sources:
    """Per-process cache of parsed files, confined to the corpus.

    Files are keyed by their resolved path, and also by the path a caller
    gave, so asking again with the same path costs a dictionary lookup
    rather than a ``realpath`` (:meth:`canonical` offers the same to others).
    ``display`` names are made relative to ``root`` so that diagnostics do
    not depend on where the corpus was checked out.

    Only files inside ``root`` or one of ``read_roots`` (after symlinks are
    resolved) are read: any other is a ``ref.outside-corpus`` diagnostic,
    whoever asked for it.
    """

    def __init__(self, root: Path, parse_cache: ParseCache | None = None, *,
                 max_size: int = DEFAULT_MAX_FILE_SIZE, read_roots: tuple[Path, ...] = ()) -> None:
        self.root = root.resolve()
        self.parse_cache = parse_cache if parse_cache is not None else ParseCache.open(str(self.root))
        self.max_size = max_size
        self.read_roots = (self.root, *(r.resolve() for r in read_roots))
        self._docs: dict[Path, Document | Diagnostic] = {}
        self._given: dict[Path, Document | Diagnostic] = {}
        self._canonical: dict[Path, Path] = {}
        self._inside: dict[Path, bool] = {}

    def inside(self, path: Path) -> bool:
        """Whether ``path``, symlinks resolved, is in a root specgen may read
        (asked once per path: the resolver asks at every inlining)."""
        found = self._inside.get(path)
        if found is None:
            real = self.canonical(path)
            found = self._inside[path] = any(real == r or r in real.parents for r in self.read_roots)
        return found

    def outside_message(self, path: Path) -> str:
        """Why ``path`` is not read, without naming where the corpus is."""
        real = self.canonical(path)
        how = f"is a link to {real}," if real != Path(os.path.abspath(path)) else "is"
        return f"{how} outside the corpus: only the corpus root and the config's read_roots are read"

    def canonical(self, path: Path) -> Path:
        """``path.resolve()``, asked of the file system once per path."""
        found = self._canonical.get(path)
        if found is None:
            found = self._canonical[path] = path.resolve()
        return found

    def display(self, path: Path) -> str:
        """``path`` relative to the root; a link out of the corpus by the
        name it has inside."""
        for candidate in (self.canonical(path), Path(os.path.abspath(path))):
            try:
                return candidate.relative_to(self.root).as_posix()
            except ValueError:
                continue
        return str(path)

    def load(self, path: Path) -> Document | Diagnostic:
        cached = self._given.get(path)
        if cached is None:
            key = self.canonical(path)
            cached = self._docs.get(key)
            if cached is None:
                if self.inside(key):
                    cached = load_document(key, self.display(key), cache=self.parse_cache, max_size=self.max_size)
                    self._docs[key] = cached
                else:
                    cached = _syntax_diagnostic(self.display(path), "file " + self.outside_message(path), 0, 0,
                                                "ref.outside-corpus")
                    if not Path(self.display(path)).is_absolute():
                        # A link in the corpus is the corpus's problem; a path
                        # outside it is reported where something referred to it.
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

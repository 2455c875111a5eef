"""One ``$ref`` resolver for lint, example validation and rendering.

Theory of operation: a ``$ref`` is resolved against the file that holds it,
exactly as a URI reference is resolved against its base. Only local files
inside the corpus (or a configured read-only root) are ever read, and always through the corpus's one
:class:`~specgen.sources.Sources` cache, so a file that ten schemas refer to
is parsed once. A reference over http(s), to a missing file or to a missing
JSON pointer is not an exception but a :class:`Diagnostic` placed on the
``$ref`` itself, and the resolver remembers it for :meth:`Resolver.problems`.

Four views serve their consumers:

- :meth:`Resolver.resolve` / :meth:`Resolver.deref` follow one reference
  (lint rules, the example merger);
- :meth:`Resolver.references` lists a file's references with their
  targets (lint's reference rules, the example verdict key, the build's
  unplaced check);
- :meth:`Resolver.inline` returns a copy with every reference replaced by
  its target (table models, which want one self-contained schema);
- :meth:`Resolver.registry` hands the same files to ``jsonschema`` as a
  ``referencing.Registry`` whose ``retrieve`` is local-only.

Sibling keys next to ``$ref`` override the target's keys (shallow), the
convention the example files rely on. Cycles and pathological nesting end in
a diagnostic, never in a ``RecursionError``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator, Mapping
from urllib.parse import unquote, urlsplit

from .diagnostics import Diagnostic, Severity
from .sources import Document, join_pointer, split_pointer

if TYPE_CHECKING:
    import referencing

__all__ = ["Resolver", "Resolved", "Inlined", "has_ref", "merge_all_of", "MAX_DEPTH"]

#: Nesting (structural plus reference hops) beyond which inlining stops with
#: a diagnostic; far deeper than any real schema, far below Python's stack.
MAX_DEPTH = 150
_MAX_CHAIN = 64


@dataclass(frozen=True)
class Resolved:
    """The target of one reference: where it lives and what it holds."""

    path: Path
    pointer: str
    data: Any
    document: Document


@dataclass(frozen=True)
class Inlined:
    data: Any
    diagnostics: tuple[Diagnostic, ...]


_Key = tuple[Path, str]


class Resolver:
    """Resolves references within one corpus; memoises what it inlines."""

    def __init__(self, corpus: Any) -> None:
        self.corpus = corpus
        self._problems: dict[tuple, Diagnostic] = {}
        self._memo: dict[_Key, tuple[Any, tuple[Diagnostic, ...]]] = {}
        self._registry: referencing.Registry | None = None
        self._retrieved: dict[Path, referencing.Resource] = {}
        self._files: dict[Path, bool] = {}
        self._references: dict[Path, tuple[tuple[str, str, Resolved | Diagnostic], ...]] = {}
        self._same_target: dict[tuple[Path, str], Resolved] = {}

    # -- one reference -------------------------------------------------

    def resolve(self, base: Path, ref: str, *, at: str | None = None) -> Resolved | Diagnostic:
        """Resolve ``ref`` as written in the file ``base``.

        Args:
            base: the file that holds the ``$ref``.
            ref: the reference text (relative path, fragment, or both).
            at: pointer of the mapping that holds the ``$ref``, used to place
                the diagnostic; found by searching ``base`` when omitted.

        Returns:
            The target, or a ``ref.unresolved``, ``ref.remote`` or
            ``ref.outside-corpus`` diagnostic (an absolute path, ``..``,
            ``file:`` URI or symlink that leads out of the corpus: nothing
            of the file is read).
        """
        parts = urlsplit(ref)
        if parts.scheme in ("http", "https"):
            return self._fail(base, ref, at, "ref.remote",
                              f"remote reference {ref!r} is not allowed: refer to a local file")
        if parts.scheme == "file":
            target = _file_uri_path(parts.path)
        elif parts.scheme or parts.netloc:
            return self._fail(base, ref, at, "ref.unresolved",
                              f"unsupported reference {ref!r}: only relative file paths and JSON pointers are resolved")
        elif parts.path:
            target = base.parent / unquote(parts.path)
        else:
            target = base
        if "\0" in str(target):
            return self._fail(base, ref, at, "ref.unresolved",
                              f"cannot resolve {ref!r}: a file name cannot hold a NUL character")
        fragment = unquote(parts.fragment)
        if fragment and not fragment.startswith("/"):
            return self._fail(base, ref, at, "ref.unresolved",
                              f"cannot resolve {ref!r}: only JSON-pointer fragments (#/...) are supported")
        sources = self.corpus.sources
        fallback = self.corpus.layout.fallback_ref_folder
        if parts.path and fallback and not (sources.inside(target) and self._is_file(sources.canonical(target))):
            beside = base.parent / fallback / unquote(parts.path)
            target = beside if self._is_file(sources.canonical(beside)) else target
        if not sources.inside(target):
            return self._fail(base, ref, at, "ref.outside-corpus",
                              f"reference {ref!r} {sources.outside_message(target)}")
        target = sources.canonical(target)
        if not self._is_file(target):
            shown = self.corpus.display(target)
            return self._fail(base, ref, at, "ref.unresolved", f"cannot resolve {ref!r}: no file {shown}")
        loaded = self.corpus.load(target)
        if isinstance(loaded, Diagnostic):
            return self._fail(base, ref, at, "ref.unresolved",
                              f"cannot resolve {ref!r}: {loaded.path} does not parse")
        found, stopped = _walk_pointer(loaded.data, fragment)
        if stopped is not None:
            return self._fail(base, ref, at, "ref.unresolved",
                              f"cannot resolve {ref!r}: {loaded.display} has nothing at {stopped or '/'}")
        return Resolved(path=target, pointer=fragment, data=found, document=loaded)

    def _is_file(self, path: Path) -> bool:
        found = self._files.get(path)
        if found is None:
            found = self._files[path] = path.is_file()
        return found

    def deref(self, base: Path, node: Mapping) -> tuple[Any, Path]:
        """Follow the chain of ``$ref`` at ``node`` (no deeper).

        Sibling keys override the target's; an unresolvable or cyclic link
        stops the chain where it is (the failure is kept for
        :meth:`problems`).

        Returns:
            The merged value and the file the innermost target came from.
        """
        path, value = base, node
        layers: list[dict] = []
        seen: set[_Key] = set()
        for _ in range(_MAX_CHAIN):
            ref = _ref_of(value)
            if ref is None:
                break
            found = self.resolve(path, ref)
            if isinstance(found, Diagnostic):
                break
            key = (found.path, found.pointer)
            if key in seen:
                self._fail(path, ref, None, "ref.cycle", f"reference cycle through {ref!r}")
                break
            seen.add(key)
            layers.append({k: v for k, v in value.items() if k != "$ref"})
            path, value = found.path, found.data
        for siblings in reversed(layers):
            if siblings and isinstance(value, Mapping):
                value = {**value, **siblings}
        return value, path

    def iter_refs(self, document: Document) -> Iterator[tuple[str, str]]:
        """``(pointer of the mapping holding $ref, ref text)`` in document order."""
        stack: list[tuple[str, Any]] = [("", document.data)]
        while stack:
            pointer, node = stack.pop()
            if isinstance(node, dict):
                ref = node.get("$ref")
                if isinstance(ref, str):
                    yield pointer, ref
                children = list(node.items())
            elif isinstance(node, list):
                children = list(enumerate(node))
            else:
                continue
            for token, child in reversed(children):
                if isinstance(child, (dict, list)):
                    stack.append((join_pointer(pointer, token), child))

    def references(self, path: Path) -> tuple[tuple[str, str, Resolved | Diagnostic], ...]:
        """``(pointer of the mapping holding $ref, ref text, target)`` for
        every reference of the file ``path``, in document order, where the
        target is the resolved value or the failure (none for a file that
        does not load).

        A reference text means the same target from every file of one
        folder, so a success is resolved once per folder; a failure is
        asked again, since its diagnostic carries the site.
        """
        found = self._references.get(path)
        if found is None:
            document = self.corpus.document(path)
            rows = []
            for pointer, ref in self.iter_refs(document) if document is not None else ():
                key = (path if ref.startswith("#") else path.parent, ref)
                target = self._same_target.get(key)
                if target is None:
                    target = self.resolve(path, ref, at=pointer)
                    if not isinstance(target, Diagnostic):
                        self._same_target[key] = target
                rows.append((pointer, ref, target))
            found = self._references[path] = tuple(rows)
        return found

    def source_of(self, path: Path, pointer: str, start: str = "") -> tuple[Path, str]:
        """Where the value at ``pointer`` of the *inlined* view of
        ``path#start`` is written: follows ``$ref`` wherever a token is not
        a sibling override, so a merged example's field maps back to the
        partial file that supplied it."""
        doc = self.corpus.document(path)
        if doc is None:
            return path, start
        node, stopped = _walk_pointer(doc.data, start)
        if stopped is not None:
            return path, start
        here, at = path, start
        for token in split_pointer(pointer):
            for _ in range(_MAX_CHAIN):
                ref = _ref_of(node)
                if ref is None or token in node:
                    break
                found = self.resolve(here, ref, at=at)
                if isinstance(found, Diagnostic):
                    return here, at
                here, at, node = found.path, found.pointer, found.data
            node = _step(node, token)
            if node is _ABSENT:
                return here, at
            at = join_pointer(at, token)
        return here, at

    # -- whole documents -------------------------------------------------

    def inline(self, path: Path, data: Any = None, pointer: str = "") -> Inlined:
        """A copy of ``path#pointer`` (or of ``data``, taken to live there)
        with every ``$ref`` replaced by its target.

        Subtrees without references are shared with the source, not copied:
        treat the result as read-only. ``allOf`` is kept as written (see
        :func:`merge_all_of`). A cyclic reference stays ``{"$ref": ...}``
        and is reported as ``ref.cycle``; a missing target stays too and is
        reported as ``ref.unresolved``.
        """
        if not self.corpus.sources.inside(path):  # refused, under the name it has in the corpus
            return Inlined(None, (self.corpus.load(path),))
        path = self.corpus.sources.canonical(path)
        key = (path, pointer)
        if data is None or self._node_at(path, pointer) is data:
            cached = self._memo.get(key)
            if cached is not None:
                return Inlined(*cached)
            if data is None:
                loaded = self.corpus.load(path)
                if isinstance(loaded, Diagnostic):
                    return Inlined(None, (loaded,))
                data, stopped = _walk_pointer(loaded.data, pointer)
                if stopped is not None:
                    return Inlined(None, (self._located(path, pointer, "ref.unresolved",
                                                        f"nothing at {stopped} in {loaded.display}"),))
            result = self._inline_top(path, pointer, data)
            self._memo[key] = result
            return Inlined(*result)
        return Inlined(*self._inline_top(path, pointer, data))

    def _node_at(self, path: Path, pointer: str) -> Any:
        doc = self.corpus.document(path)
        if doc is None:
            return _ABSENT
        node, stopped = _walk_pointer(doc.data, pointer)
        return _ABSENT if stopped is not None else node

    def _inline_top(self, path: Path, pointer: str, data: Any) -> tuple[Any, tuple[Diagnostic, ...]]:
        if not has_ref(data):
            return data, ()
        diagnostics: list[Diagnostic] = []
        try:
            value = self._inline(path, pointer, data, {(path, pointer)}, 0, diagnostics)
        except RecursionError:
            value = data
            diagnostics.append(self._located(path, pointer, "ref.too-deep",
                                             "document nests too deeply to inline"))
        return value, tuple(dict.fromkeys(diagnostics))

    def _inline(self, path: Path, pointer: str, node: Any, stack: set[_Key], depth: int,
                out: list[Diagnostic]) -> Any:
        if not isinstance(node, (dict, list)):
            return node
        if depth > MAX_DEPTH:
            out.append(self._located(path, pointer, "ref.too-deep",
                                     f"nesting deeper than {MAX_DEPTH} levels is not inlined"))
            return node
        # Pointers are joined for containers only: scalars cannot change.
        if isinstance(node, list):
            items = [self._inline(path, join_pointer(pointer, i), v, stack, depth + 1, out)
                     if isinstance(v, (dict, list)) else v for i, v in enumerate(node)]
            return node if all(a is b for a, b in zip(items, node)) else items
        ref = node.get("$ref")
        siblings = {}
        changed = False
        for k, v in node.items():
            if k == "$ref" and isinstance(ref, str):
                continue
            if isinstance(v, (dict, list)):
                siblings[k] = self._inline(path, join_pointer(pointer, k), v, stack, depth + 1, out)
                changed = changed or siblings[k] is not v
            else:
                siblings[k] = v
        if not isinstance(ref, str):
            return siblings if changed else node
        found = self.resolve(path, ref, at=pointer)
        unchanged = {**siblings, "$ref": ref} if changed else node
        if isinstance(found, Diagnostic):
            out.append(found)
            return unchanged
        key = (found.path, found.pointer)
        if key in stack:
            out.append(self._fail(path, ref, pointer, "ref.cycle",
                                  f"reference cycle: {ref!r} leads back to a schema that is still being inlined"))
            return unchanged
        cached = self._memo.get(key)
        if cached is None:
            stack.add(key)
            inner: list[Diagnostic] = []
            try:
                target = self._inline(found.path, found.pointer, found.data, stack, depth + 1, inner)
            finally:
                stack.discard(key)
            cached = (target, tuple(dict.fromkeys(inner)))
            self._memo[key] = cached
        target, inner_diags = cached
        out.extend(inner_diags)
        if siblings and isinstance(target, Mapping):
            return {**target, **siblings}
        return target

    # -- jsonschema integration --------------------------------------------

    def registry(self) -> referencing.Registry:
        """The corpus's schema and API files as resources under their
        ``file://`` URIs.

        Any other local file is loaded on demand (``retrieve``) through the
        same cache; everything else is refused, so validation never touches
        the network. Examples are not registered: they are inlined by
        :meth:`inline`, never reached by a schema's ``$ref``.
        """
        if self._registry is None:
            import referencing  # only validation needs it: a build's render does not

            corpus = self.corpus
            registered = (*corpus.schemas.values(), *corpus.schema_definitions,
                          *corpus.api_files, *corpus.api_definitions)
            resources = []
            for path in dict.fromkeys(registered):
                doc = corpus.document(path)
                if doc is not None:
                    resources.append((corpus.sources.canonical(path).as_uri(), make_resource(doc.data)))
            self._registry = referencing.Registry(retrieve=self._retrieve).with_resources(resources)
        return self._registry

    def _retrieve(self, uri: str) -> referencing.Resource:
        import referencing.exceptions

        parts = urlsplit(uri)
        if parts.scheme != "file":
            raise referencing.exceptions.NoSuchResource(ref=uri)
        path = _file_uri_path(parts.path)
        found = self._retrieved.get(path)
        if found is None:
            doc = self.corpus.document(path) if self._is_file(path) else None
            if doc is None:
                raise referencing.exceptions.NoSuchResource(ref=uri)
            # A registry does not keep what it retrieves: each lookup of an
            # unregistered file would make its resource again.
            found = self._retrieved[path] = make_resource(doc.data)
        return found

    def problems(self) -> list[Diagnostic]:
        """Every reference failure met so far, each once."""
        return list(self._problems.values())

    # -- diagnostics ----------------------------------------------------------

    def _fail(self, base: Path, ref: str, at: str | None, code: str, message: str) -> Diagnostic:
        if at is None:
            at = self._find_ref(base, ref)
        pointer = join_pointer(at, "$ref") if at is not None else ""
        diagnostic = self._located(base, pointer, code, message)
        self._problems.setdefault((diagnostic.path, diagnostic.line, diagnostic.column, code, ref), diagnostic)
        return diagnostic

    def _find_ref(self, base: Path, ref: str) -> str | None:
        doc = self.corpus.document(base)
        if doc is None:
            return None
        return next((p for p, r in self.iter_refs(doc) if r == ref), None)

    def _located(self, path: Path, pointer: str, code: str, message: str) -> Diagnostic:
        return self.corpus.diagnostic(path, pointer, code, Severity.ERROR, message)


_ABSENT = object()


def make_resource(contents: Any) -> referencing.Resource:
    """A resource under the dialect its ``$schema`` names, else 2020-12
    (an unknown dialect, or a non-object document, is kept opaque)."""
    import referencing.jsonschema

    if not isinstance(contents, dict):
        return referencing.Resource.opaque(contents)
    dialect = contents.get("$schema")
    spec = referencing.jsonschema.DRAFT202012
    if isinstance(dialect, str):
        spec = referencing.jsonschema.specification_with(dialect, default=spec)
    try:
        resource = spec.create_resource(contents)
        # Crawling walks every subschema keyword: one malformed (a list of
        # ``properties``) would break the whole registry, so every file's
        # examples would go unchecked; kept opaque, only schemas that reach
        # the malformed node are affected.
        referencing.Registry().with_resource("", resource).crawl()
        return resource
    except Exception:  # an ill-typed $id, a malformed keyword: still addressable by URI
        return referencing.Resource.opaque(contents)


def _file_uri_path(path: str) -> Path:
    """The file a ``file:`` URI's path names. urllib.request holds the
    conversion, and its import (HTTP, e-mail, TLS) is a noticeable part of
    start-up: it is imported only when such a URI is met."""
    from urllib.request import url2pathname

    return Path(url2pathname(path))


def has_ref(node: Any) -> bool:
    """Whether inlining could change ``node``: most examples, and most
    schemas written in an API file, refer to nothing. (Asked at every
    inlining, so written as one plain loop.)"""
    stack = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, dict):
            if "$ref" in current:
                return True
            stack.extend(current.values())
        elif isinstance(current, list):
            stack.extend(current)
    return False


def _ref_of(node: Any) -> str | None:
    if isinstance(node, Mapping):
        ref = node.get("$ref")
        if isinstance(ref, str):
            return ref
    return None


def _walk_pointer(data: Any, pointer: str) -> tuple[Any, str | None]:
    """``(node, None)`` or ``(None, the longest prefix that failed)``."""
    node = data
    walked = ""
    for token in split_pointer(pointer):
        walked = join_pointer(walked, token)
        node = _step(node, token)
        if node is _ABSENT:
            return None, walked
    return node, None


def _step(node: Any, token: str) -> Any:
    """The child ``token`` names (a key, or an array index), else :data:`_ABSENT`."""
    if isinstance(node, dict):
        return node.get(token, _ABSENT)
    if isinstance(node, list) and token.isdigit() and int(token) < len(node):
        return node[int(token)]
    return _ABSENT


def merge_all_of(schema: Any) -> Any:
    """Fold ``allOf`` members into one object schema for tables.

    Members are merged in order and the schema's own keys last, so its
    ``title`` and ``description`` win; ``properties`` merge per property and
    ``required`` lists are united. Expects an inlined schema; members that
    are still ``$ref`` (cycles) are skipped.
    """
    return _merge_all_of(schema, 0)


def _merge_all_of(schema: Any, depth: int) -> Any:
    if not isinstance(schema, Mapping) or depth > MAX_DEPTH:
        return schema
    members = schema.get("allOf")
    if not isinstance(members, list):
        return schema
    merged: dict = {}
    for member in members:
        if isinstance(member, Mapping) and "$ref" not in member:
            merged = _merge_schemas(merged, _merge_all_of(member, depth + 1))
    own = {k: v for k, v in schema.items() if k != "allOf"}
    return _merge_schemas(merged, own)


def _merge_schemas(a: Mapping, b: Mapping) -> dict:
    out = dict(a)
    for key, value in b.items():
        if key == "properties" and isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            props = dict(out[key])
            for name, sub in value.items():
                old = props.get(name)
                props[name] = (_merge_schemas(old, sub)
                               if isinstance(old, Mapping) and isinstance(sub, Mapping) else sub)
            out[key] = props
        elif key == "required" and isinstance(value, list) and isinstance(out.get(key), list):
            out[key] = list(dict.fromkeys([*out[key], *value]))
        else:
            out[key] = value
    return out

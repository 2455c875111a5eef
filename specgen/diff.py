"""``specgen diff OLD NEW``: what changed between two corpora, and whom it breaks.

Theory of operation. Both corpora are loaded as usual (any layout specgen
reads). Endpoints are matched by method and full path (server prefixes
applied, placeholder names ignored: :attr:`specgen.openapi.Endpoint.key`),
events by type, shared definitions by their path below the API or schema
folder. Every matched pair is compared part by part: parameters, request
body, each status with its body and errcodes, or the event schema.

Schemas are compared as written, never inlined: a schema is the list of
its *parts* (the ``$ref`` targets and ``allOf`` members it is made of, each
with the file and pointer it is written at), so every change is located in
both sources. The comparison knows one direction: a message has a sender
(the client for a request, the server for a response, the origin server for
an event) and a receiver. A change that lets old senders' messages fail
(a new required field, a narrowed type, enum or bound) breaks the
**sender**; one that lets new senders' messages surprise old receivers (a
field no longer required or gone, a widened type) breaks the **receiver**.

Each change is an instance of one rule of :data:`RULES` (a table: kind,
the side it breaks, a description), reported as a diagnostic whose
severity is the kind's (breaking: error, review: warning, compatible:
info), placed in NEW (in OLD when the thing is gone) with a note at the
other side. Descriptions are read only where they state a default (flagged
for review when the two defaults differ) or an upper bound in words ("at
most 20"), which counts as the ``maxItems``/``maxLength`` it means.

:mod:`specgen.differences` holds the reviewed record ``make compat`` holds
a comparison against.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import tarfile
import tempfile
from contextlib import ExitStack
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Iterator, Mapping

from .corpus import Corpus, data_stem
from .diagnostics import Diagnostic, Severity
from .openapi import load_api
from .refs import MAX_DEPTH, Resolver
from .sources import join_pointer, split_pointer

__all__ = ["RULES", "Rule", "Change", "Site", "compare", "diagnostics", "diff_command", "add_diff_arguments"]

SENDER, RECEIVER = "sender", "receiver"


@dataclass(frozen=True)
class Rule:
    #: ``breaking``, ``review`` or ``compatible``.
    kind: str
    #: Who an old implementation is that the change breaks.
    breaks: tuple[str, ...]
    description: str

    @property
    def severity(self) -> Severity:
        return _SEVERITY[self.kind]


_SEVERITY = {"breaking": Severity.ERROR, "review": Severity.WARNING, "compatible": Severity.INFO}

#: Every kind of change the comparison reports.
RULES: Mapping[str, Rule] = {
    "diff.endpoint-removed": Rule("breaking", (SENDER,), "an endpoint is gone: old callers get an error"),
    "diff.endpoint-added": Rule("compatible", (), "a new endpoint"),
    "diff.event-removed": Rule("breaking", (SENDER,), "an event type is no longer specified"),
    "diff.event-added": Rule("compatible", (), "a new event type"),
    "diff.definition-removed": Rule("compatible", (), "a shared definition is gone (its uses are compared where used)"),
    "diff.definition-added": Rule("compatible", (), "a new shared definition"),
    "diff.parameter-added": Rule("compatible", (), "a new optional parameter"),
    "diff.parameter-removed": Rule("breaking", (SENDER,), "a parameter is gone: senders that pass it lose its effect"),
    "diff.body-added": Rule("compatible", (), "a new optional body"),
    "diff.body-removed": Rule("breaking", (RECEIVER,), "a body is gone: receivers that read it get nothing"),
    "diff.required-added": Rule("breaking", (SENDER,), "a field, parameter or body becomes required: old senders omit it"),
    "diff.required-removed": Rule("breaking", (RECEIVER,), "a field, parameter or body is no longer required: "
                                                           "old receivers rely on it"),
    "diff.property-added": Rule("compatible", (), "a new optional field"),
    "diff.property-removed": Rule("breaking", (RECEIVER,), "a field is no longer described: old receivers read it"),
    "diff.type-narrowed": Rule("breaking", (SENDER,), "a type admits fewer values: old senders' values fail"),
    "diff.type-widened": Rule("breaking", (RECEIVER,), "a type admits more values: old receivers meet unknown ones"),
    "diff.type-changed": Rule("breaking", (SENDER, RECEIVER), "a type is replaced by an unrelated one"),
    "diff.enum-narrowed": Rule("breaking", (SENDER,), "an enumeration loses values, or a value becomes fixed"),
    "diff.enum-widened": Rule("breaking", (RECEIVER,), "an enumeration gains values, or a fixed value is freed"),
    "diff.constraint-narrowed": Rule("breaking", (SENDER,), "a bound, pattern, format or closed object admits "
                                                            "fewer values"),
    "diff.constraint-widened": Rule("breaking", (RECEIVER,), "a bound, pattern, format or closed object admits "
                                                             "more values"),
    "diff.alternatives-changed": Rule("review", (), "a oneOf/anyOf has a different number of alternatives"),
    "diff.status-added": Rule("compatible", (), "a response status is added"),
    "diff.status-removed": Rule("breaking", (RECEIVER,), "a response status is gone: receivers that expect it break"),
    "diff.errcode-added": Rule("compatible", (), "a response may carry a new errcode"),
    "diff.errcode-removed": Rule("breaking", (RECEIVER,), "a response no longer carries an errcode receivers expect"),
    "diff.default-changed": Rule("review", (), "a default (keyword, or stated in a description) differs"),
    "diff.deprecated": Rule("compatible", (), "an endpoint or field becomes deprecated, or stops being"),
}


@dataclass(frozen=True)
class Site:
    """Where a compared value is written."""

    path: Path
    pointer: str


@dataclass(frozen=True)
class Change:
    """One difference: an instance of a rule, located in both corpora.

    ``subject`` names what differs (``PUT /_matrix/... response 200``,
    ``event m.room.name``) and ``where`` the place inside its messages
    (``/content/name``, ``*`` for array items, ``{}`` for map values);
    together with ``rule`` they identify the change in a record.
    """

    rule: str
    subject: str
    where: str
    detail: str
    old: Site | None
    new: Site | None

    @property
    def key(self) -> tuple[str, str, str]:
        return self.rule, self.subject, self.where


# -- schemas as parts --------------------------------------------------------

_Part = tuple[Mapping[str, Any], Site]


class _Schemas:
    """Schemas of one corpus seen as parts, through its one resolver."""

    def __init__(self, corpus: Corpus) -> None:
        self.corpus = corpus
        self.resolver = Resolver(corpus)

    def at(self, site: Site) -> tuple[_Part, ...]:
        """The parts of the schema written at ``site`` (following ``$ref``
        wherever the pointer passes through one)."""
        path, pointer = self.resolver.source_of(site.path, site.pointer)
        document = self.corpus.document(path)
        if document is None:
            return ()
        node: Any = document.data
        for token in split_pointer(pointer):
            if isinstance(node, dict):
                node = node.get(token)
            elif isinstance(node, list) and token.isdigit() and int(token) < len(node):
                node = node[int(token)]
            else:
                return ()
        return self.parts(node, Site(path, pointer))

    def parts(self, node: Any, site: Site, depth: int = 0) -> tuple[_Part, ...]:
        if not isinstance(node, Mapping) or depth > MAX_DEPTH:
            return ()
        out: list[_Part] = []
        ref = node.get("$ref")
        if isinstance(ref, str):
            found = self.resolver.resolve(site.path, ref, at=site.pointer)
            if not isinstance(found, Diagnostic):
                out.extend(self.parts(found.data, Site(found.path, found.pointer), depth + 1))
            node = {k: v for k, v in node.items() if k != "$ref"}
        members = node.get("allOf")
        if isinstance(members, list):
            for i, member in enumerate(members):
                out.extend(self.parts(member, Site(site.path, join_pointer(site.pointer, "allOf", i)), depth + 1))
            node = {k: v for k, v in node.items() if k != "allOf"}
        if node:
            out.append((node, site))
        return tuple(out)

    def folded(self, parts: tuple[_Part, ...], keyword: str) -> tuple[_Part, ...]:
        """``parts`` with the alternatives of its ``oneOf``/``anyOf`` folded
        in, to compare with a schema written as one form: a field any
        alternative describes is described, a field every alternative
        requires is required, the type is the union of theirs."""
        value, _ = _keyword(parts, keyword)
        if not isinstance(value, list) or not value:
            return parts
        alternatives = [self.child(parts, keyword, i) for i in range(len(value))]
        required = [_required(alternative) for alternative in alternatives]
        common = _Common({name: site for name, site in required[0].items() if all(name in r for r in required)})
        out = [*parts, *(({k: v for k, v in node.items() if k in ("properties", "items")}, site)
                         for alternative in alternatives for node, site in alternative)]
        out.append((common, Site(parts[-1][1].path, parts[-1][1].pointer)))
        types = [_types(alternative) for alternative in alternatives]
        if _types(parts) is None and all(t is not None for t in types):
            _, first = _keyword(alternatives[0], "type")
            out.append(({"type": sorted(frozenset().union(*types))},
                        Site(first.path, first.pointer.rsplit("/", 1)[0])))
        return tuple(out)

    def child(self, parts: tuple[_Part, ...], *keys: str | int) -> tuple[_Part, ...]:
        """The parts of the sub-schema at ``keys`` of each part
        (``"properties", name``; ``"items"``), in order."""
        out: list[_Part] = []
        for node, site in parts:
            value: Any = node
            for key in keys:
                if isinstance(value, list) and isinstance(key, int) and key < len(value):
                    value = value[key]
                else:
                    value = value.get(key) if isinstance(value, Mapping) else None
            if isinstance(value, Mapping):
                out.extend(self.parts(value, Site(site.path, join_pointer(site.pointer, *keys))))
        return tuple(out)


_MISSING = object()


def _keyword(parts: tuple[_Part, ...], key: str) -> tuple[Any, Site | None]:
    """The last part's value of ``key`` (a schema's own keys come after its
    ``allOf`` members, as :func:`specgen.refs.merge_all_of` merges them)."""
    for node, site in reversed(parts):
        if key in node:
            return node[key], Site(site.path, join_pointer(site.pointer, key))
    return _MISSING, None


def _properties(parts: tuple[_Part, ...]) -> dict[str, Site]:
    out: dict[str, Site] = {}
    for node, site in parts:
        props = node.get("properties")
        if isinstance(props, Mapping):
            for name in props:
                out.setdefault(str(name), Site(site.path, join_pointer(site.pointer, "properties", name)))
    return out


class _Common(dict):
    """The fields every alternative requires, each where the first
    alternative requires it: a part :meth:`_Schemas.folded` adds, empty as
    a mapping so that no keyword lookup sees it."""

    def __init__(self, sites: Mapping[str, Site]) -> None:
        super().__init__()
        self.sites = dict(sites)


def _required(parts: tuple[_Part, ...]) -> dict[str, Site]:
    out: dict[str, Site] = {}
    for node, site in parts:
        if isinstance(node, _Common):
            for name, at in node.sites.items():
                out.setdefault(name, at)
            continue
        names = node.get("required")
        if isinstance(names, list):
            for i, name in enumerate(names):
                if isinstance(name, str):
                    out.setdefault(name, Site(site.path, join_pointer(site.pointer, "required", i)))
    return out


def _types(parts: tuple[_Part, ...]) -> frozenset[str] | None:
    value, _ = _keyword(parts, "type")
    if isinstance(value, str):
        return frozenset({value})
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return frozenset(value)
    return None


def _admits(types: frozenset[str] | None) -> frozenset[str] | None:
    """The JSON types a ``type`` admits (``number`` admits integers)."""
    if types is None:
        return None
    return types | {"integer"} if "number" in types else types


_DEFAULT_STATED = re.compile(r"\b[Dd]efaults? (?:to|is|value is)\s*:?\s*`?\"?([^\s`\",;]+?)`?\"?(?=[\s.,;)]|$)")


def _default(parts: tuple[_Part, ...]) -> tuple[str, Site] | None:
    """The default a schema gives, by keyword or stated in its description."""
    value, site = _keyword(parts, "default")
    if site is not None:
        return _plain(value), site
    text, site = _keyword(parts, "description")
    if isinstance(text, str) and site is not None:
        stated = _DEFAULT_STATED.search(text)
        if stated:
            return _plain(stated.group(1)), site
    return None


def _plain(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value).strip("'\"`").rstrip(".").lower()


#: Bounds: keyword -> the direction in which a larger value admits more.
_BOUNDS = {"maxLength": 1, "maxItems": 1, "maxProperties": 1, "maximum": 1, "exclusiveMaximum": 1,
           "minLength": -1, "minItems": -1, "minProperties": -1, "minimum": -1, "exclusiveMinimum": -1}
#: Keywords whose mere presence narrows what a schema admits.
_NARROWING = ("pattern", "format", "uniqueItems")


class _Comparison:
    """One comparison between two corpora; :meth:`run` yields every change."""

    def __init__(self, old: Corpus, new: Corpus, *, common_only: bool = False) -> None:
        self.old, self.new = _Schemas(old), _Schemas(new)
        self.common_only = common_only
        #: Pairs of schemas already compared: a shared part is compared
        #: once, and a recursive schema ends instead of unfolding forever.
        self._compared: set[tuple[tuple[Site, ...], tuple[Site, ...]]] = set()

    def run(self) -> Iterator[Change]:
        """Every change once: a difference in a part that several schemas
        share (the common event fields) is reported where first met."""
        seen: set[tuple] = set()
        for change in (*self._endpoints(), *self._events(), *self._definitions()):
            key = (change.rule, change.old, change.new, change.detail)
            if key not in seen:
                seen.add(key)
                yield change

    def _matched(self, old: Mapping, new: Mapping, what: str, subject) -> Iterator[tuple[Any, Any]]:
        """Pairs of ``old``/``new`` entries under one key; the rest as
        added or removed changes (unless only common items are compared)."""
        for key in sorted(old.keys() | new.keys(), key=str):
            if key in old and key in new:
                yield old[key], new[key]
            elif not self.common_only:
                o, n = old.get(key), new.get(key)
                gone = n is None
                yield None, Change(f"diff.{what}-{'removed' if gone else 'added'}", subject(o if gone else n),
                                   "", "", o.site if gone else None, None if gone else n.site)

    # -- endpoints ------------------------------------------------------------

    def _endpoints(self) -> Iterator[Change]:
        old, new = _endpoint_table(self.old), _endpoint_table(self.new)
        for o, n in self._matched(old, new, "endpoint", lambda e: e.subject):
            if o is None:
                yield n
                continue
            yield from self._endpoint(o, n)

    def _endpoint(self, o: _Located, n: _Located) -> Iterator[Change]:
        subject = n.subject
        eo, en = o.value, n.value
        if eo.deprecated != en.deprecated:
            yield Change("diff.deprecated", subject, "", "deprecated" if en.deprecated else "no longer deprecated",
                         o.site, n.site)
        yield from self._parameters(o, n, subject)
        yield from self._bodies(o, n, subject)
        yield from self._responses(o, n, subject)

    def _parameters(self, o: _Located, n: _Located, subject: str) -> Iterator[Change]:
        def table(located: _Located) -> dict[tuple[str, str], Any]:
            """Path parameters by their place in the path (their names may
            differ), the others by name."""
            places = re.findall(r"\{([^}]*)\}", located.value.path)
            return {(p.location, str(places.index(p.name)) if p.name in places else p.name): p
                    for p in located.value.parameters}

        for po, pn in _pairs(table(o), table(n)):
            p = pn or po
            where = f"{p.location} parameter {p.name}"
            so = Site(o.site.path, po.pointer) if po else None
            sn = Site(n.site.path, pn.pointer) if pn else None
            if po is None:
                yield Change("diff.required-added" if pn.required else "diff.parameter-added", subject, where,
                             "new required parameter" if pn.required else "new parameter", None, sn)
                continue
            if pn is None:
                yield Change("diff.parameter-removed", subject, where, "parameter is gone", so, None)
                continue
            if po.required != pn.required:
                yield Change("diff.required-added" if pn.required else "diff.required-removed", subject, where,
                             "now required" if pn.required else "no longer required", so, sn)
            yield from self._schema(self.old.at(Site(so.path, join_pointer(so.pointer, "schema"))),
                                    self.new.at(Site(sn.path, join_pointer(sn.pointer, "schema"))),
                                    subject, where, 0)

    def _bodies(self, o: _Located, n: _Located, subject: str) -> Iterator[Change]:
        bo, bn = o.value.request_body, n.value.request_body
        subject = f"{subject} request"
        if bo is None and bn is None:
            return
        so = Site(o.site.path, bo.pointer) if bo else None
        sn = Site(n.site.path, bn.pointer) if bn else None
        if bo is None or bn is None:
            rule = ("diff.body-removed" if bn is None else
                    "diff.required-added" if bn.required else "diff.body-added")
            yield Change(rule, subject, "", "body " + ("is gone" if bn is None else "is new"), so, sn)
            return
        if bo.required != bn.required:
            yield Change("diff.required-added" if bn.required else "diff.required-removed", subject, "",
                         "body now required" if bn.required else "body no longer required", so, sn)
        yield from self._schema(self.old.at(_content_schema(so, bo.media_type)),
                                self.new.at(_content_schema(sn, bn.media_type)), subject, "", 0)

    def _responses(self, o: _Located, n: _Located, subject: str) -> Iterator[Change]:
        old = {r.status: r for r in o.value.responses}
        new = {r.status: r for r in n.value.responses}
        for ro, rn in _pairs(old, new):
            r = rn or ro
            here = f"{subject} response {r.status}"
            so = Site(o.site.path, ro.pointer) if ro else None
            sn = Site(n.site.path, rn.pointer) if rn else None
            if ro is None or rn is None:
                yield Change("diff.status-removed" if rn is None else "diff.status-added", subject,
                             f"status {r.status}", "status is " + ("gone" if rn is None else "new"), so, sn)
                continue
            codes_old, codes_new = _errcodes(ro), _errcodes(rn)
            for code in sorted(codes_old - codes_new):
                yield Change("diff.errcode-removed", here, code, f"errcode {code} is no longer listed", so, sn)
            for code in sorted(codes_new - codes_old):
                yield Change("diff.errcode-added", here, code, f"errcode {code} is new", so, sn)
            if ro.media_type and rn.media_type:
                yield from self._schema(self.old.at(_content_schema(so, ro.media_type)),
                                        self.new.at(_content_schema(sn, rn.media_type)), here, "", 0)

    # -- events and definitions -------------------------------------------

    def _events(self) -> Iterator[Change]:
        def table(schemas: _Schemas) -> dict[str, _Located]:
            return {t: _Located(t, Site(p, ""), f"event {t}") for t, p in schemas.corpus.schemas.items()}

        for o, n in self._matched(table(self.old), table(self.new), "event", lambda e: e.subject):
            if o is None:
                yield n
                continue
            yield from self._schema(self.old.at(o.site), self.new.at(n.site), n.subject, "", 0)

    def _definitions(self) -> Iterator[Change]:
        def table(schemas: _Schemas) -> dict[str, _Located]:
            c = schemas.corpus
            out = {}
            for folder, files in ((c.api_dir, c.api_definitions), (c.schema_dir, c.schema_definitions)):
                for p in files:
                    base = folder if folder in p.parents else c.root
                    name = (p.parent.relative_to(base) / data_stem(p)).as_posix()
                    out[name] = _Located(name, Site(p, ""), f"definition {name}")
            return out

        for o, n in self._matched(table(self.old), table(self.new), "definition", lambda d: d.subject):
            if o is None:
                yield n
                continue
            yield from self._schema(self.old.at(o.site), self.new.at(n.site), n.subject, "", 0)

    # -- schemas ------------------------------------------------------------

    def _schema(self, old: tuple[_Part, ...], new: tuple[_Part, ...], subject: str, where: str,
                depth: int) -> Iterator[Change]:
        """Changes from the schema ``old`` to ``new`` (both as parts) for
        messages whose sender writes and whose receiver reads them."""
        pair = (tuple(site for _, site in old), tuple(site for _, site in new))
        if not old or not new or depth > MAX_DEPTH or pair in self._compared:
            return
        self._compared.add(pair)
        so, sn = old[-1][1], new[-1][1]

        def change(rule: str, detail: str, at_old: Site | None = None, at_new: Site | None = None) -> Change:
            return Change(rule, subject, where or "/", detail, at_old or so, at_new or sn)

        for keyword in ("oneOf", "anyOf"):
            a, a_site = _keyword(old, keyword)
            b, b_site = _keyword(new, keyword)
            if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
                for i in range(len(a)):
                    yield from self._schema(self.old.child(old, keyword, i), self.new.child(new, keyword, i),
                                            subject, where, depth + 1)
            elif isinstance(a, list) or isinstance(b, list):
                count = (len(a) if isinstance(a, list) else 0, len(b) if isinstance(b, list) else 0)
                yield change("diff.alternatives-changed", f"{keyword} had {count[0]} alternatives, now {count[1]}",
                             a_site, b_site)
                old, new = self.old.folded(old, keyword), self.new.folded(new, keyword)
        yield from self._types(old, new, change)
        yield from _bounds(old, new, change)
        default_old, default_new = _default(old), _default(new)
        if default_old and default_new and default_old[0] != default_new[0]:
            yield change("diff.default-changed", f"default {default_old[0]!r} is now {default_new[0]!r}",
                         default_old[1], default_new[1])
        dep_old, _ = _keyword(old, "deprecated")
        dep_new, dep_site = _keyword(new, "deprecated")
        if (dep_old is True) != (dep_new is True):
            yield change("diff.deprecated", "deprecated" if dep_new is True else "no longer deprecated",
                         None, dep_site)
        yield from self._object(old, new, subject, where, depth, change)
        yield from self._schema(self.old.child(old, "items"), self.new.child(new, "items"), subject,
                                where + "/*", depth + 1)

    def _types(self, old, new, change) -> Iterator[Change]:
        a, b = _admits(_types(old)), _admits(_types(new))
        _, site_old = _keyword(old, "type")
        _, site_new = _keyword(new, "type")
        if a == b:
            return
        shown = (lambda t: "any" if t is None else "/".join(sorted(t)))
        detail = f"type {shown(_types(old))} is now {shown(_types(new))}"
        if a is None or (b is not None and b < a):
            yield change("diff.type-narrowed", detail, site_old, site_new)
        elif b is None or a < b:
            yield change("diff.type-widened", detail, site_old, site_new)
        else:
            yield change("diff.type-changed", detail, site_old, site_new)

    def _object(self, old, new, subject, where, depth, change) -> Iterator[Change]:
        props_old, props_new = _properties(old), _properties(new)
        req_old, req_new = _required(old), _required(new)
        for name in sorted(props_old.keys() | props_new.keys() | req_old.keys() | req_new.keys()):
            here = f"{where}/{name}"
            in_old, in_new = name in props_old or name in req_old, name in props_new or name in req_new
            site_old = props_old.get(name) or req_old.get(name)
            site_new = props_new.get(name) or req_new.get(name)
            if not in_old:
                rule = "diff.required-added" if name in req_new else "diff.property-added"
                yield Change(rule, subject, here, "new required field" if name in req_new else "new field",
                             old[-1][1], site_new)
                continue
            if not in_new:
                if _keyword(new, "additionalProperties")[0] is False:
                    yield Change("diff.constraint-narrowed", subject, here, "field is gone from a closed object",
                                 site_old, new[-1][1])
                yield Change("diff.property-removed" if name not in req_old else "diff.required-removed",
                             subject, here, "field is gone" + (" (it was required)" if name in req_old else ""),
                             site_old, new[-1][1])
                continue
            if (name in req_old) != (name in req_new):
                yield Change("diff.required-added" if name in req_new else "diff.required-removed", subject, here,
                             "now required" if name in req_new else "no longer required",
                             req_old.get(name) or site_old, req_new.get(name) or site_new)
            yield from self._schema(self.old.child(old, "properties", name), self.new.child(new, "properties", name),
                                    subject, here, depth + 1)
        extra_old, site_old = _keyword(old, "additionalProperties")
        extra_new, site_new = _keyword(new, "additionalProperties")
        if extra_old is not False and extra_new is False:
            yield change("diff.constraint-narrowed", "the object is now closed (additionalProperties: false)",
                         site_old, site_new)
        elif extra_old is False and extra_new is not False:
            yield change("diff.constraint-widened", "the object is no longer closed", site_old, site_new)
        elif isinstance(extra_old, Mapping) and isinstance(extra_new, Mapping):
            yield from self._schema(self.old.child(old, "additionalProperties"),
                                    self.new.child(new, "additionalProperties"), subject, where + "/{}", depth + 1)


#: An upper bound a description states in words ("at most 20 events").
_LIMIT_STATED = re.compile(r"\b(?:at most|no more than|less than or equal to|up to|a maximum of)\s+(\d+)\b", re.I)
#: The keyword a stated upper bound stands for, by the schema's type.
_STATED_KEYWORD = {"array": "maxItems", "string": "maxLength"}


def _bound(parts: tuple[_Part, ...], keyword: str) -> tuple[tuple[float | None, bool], Site | None]:
    """A numeric bound keyword's value, else (for ``maxItems`` and
    ``maxLength``) the limit the description states, flagged as stated."""
    value, site = _keyword(parts, keyword)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return (value, False), site
    types = _types(parts) or frozenset()
    if any(_STATED_KEYWORD.get(t) == keyword for t in types):
        text, site = _keyword(parts, "description")
        stated = _LIMIT_STATED.search(text) if isinstance(text, str) else None
        if stated:
            return (int(stated.group(1)), True), site
    return (None, False), None


def _bounds(old, new, change) -> Iterator[Change]:
    for keyword, direction in _BOUNDS.items():
        (a, a_stated), site_old = _bound(old, keyword)
        (b, b_stated), site_new = _bound(new, keyword)
        if a == b:
            continue
        shown = (lambda value, stated: "none" if value is None else f"{value}{' (stated)' if stated else ''}")
        detail = f"{keyword} {shown(a, a_stated)} is now {shown(b, b_stated)}"
        narrowed = b is not None and (a is None or (b - a) * direction < 0)
        yield change("diff.constraint-narrowed" if narrowed else "diff.constraint-widened", detail, site_old, site_new)
    a, b = _allowed(old), _allowed(new)
    if a != b:
        detail = f"values {_listed(a)} are now {_listed(b)}"
        site_old, site_new = _allowed_site(old), _allowed_site(new)
        if b is not None and (a is None or b < a):
            yield change("diff.enum-narrowed", detail, site_old, site_new)
        elif a is not None and (b is None or a < b):
            yield change("diff.enum-widened", detail, site_old, site_new)
        else:
            yield change("diff.enum-narrowed", detail, site_old, site_new)
            yield change("diff.enum-widened", detail, site_old, site_new)
    for keyword in _NARROWING:
        a, site_old = _keyword(old, keyword)
        b, site_new = _keyword(new, keyword)
        if keyword == "uniqueItems":
            a, b = (_MISSING if v is not True else v for v in (a, b))
        if a == b:
            continue
        shown = (lambda v: "none" if v is _MISSING else repr(v))
        detail = f"{keyword} {shown(a)} is now {shown(b)}"
        if a is _MISSING:
            yield change("diff.constraint-narrowed", detail, site_old, site_new)
        elif b is _MISSING:
            yield change("diff.constraint-widened", detail, site_old, site_new)
        else:
            yield change("diff.constraint-narrowed", detail, site_old, site_new)
            yield change("diff.constraint-widened", detail, site_old, site_new)


def _allowed(parts: tuple[_Part, ...]) -> frozenset[str] | None:
    """The values ``enum`` and ``const`` allow (``const: x`` is ``enum: [x]``),
    as canonical JSON text; ``None`` when any value is allowed."""
    allowed = None
    const, _ = _keyword(parts, "const")
    enum, _ = _keyword(parts, "enum")
    if const is not _MISSING:
        allowed = frozenset({json.dumps(const, sort_keys=True)})
    if isinstance(enum, list):
        values = frozenset(json.dumps(v, sort_keys=True) for v in enum)
        allowed = values if allowed is None else allowed & values
    return allowed


def _allowed_site(parts: tuple[_Part, ...]) -> Site | None:
    return _keyword(parts, "enum")[1] or _keyword(parts, "const")[1]


def _listed(values: set[str] | None) -> str:
    return "none" if values is None else "[" + ", ".join(sorted(values)) + "]"


@dataclass(frozen=True)
class _Located:
    key: Any
    site: Site
    subject: str
    value: Any = None


def _endpoint_table(schemas: _Schemas) -> dict[tuple[str, str], _Located]:
    out: dict[tuple[str, str], _Located] = {}
    for path in schemas.corpus.api_files:
        document, _ = load_api(schemas.corpus, schemas.resolver, path)
        for endpoint in document.endpoints if document else ():
            out.setdefault(endpoint.key, _Located(endpoint.key, Site(path, endpoint.pointer),
                                                  f"{endpoint.method} {endpoint.path}", endpoint))
    return out


def _pairs(old: Mapping, new: Mapping) -> Iterator[tuple[Any, Any]]:
    for key in sorted(old.keys() | new.keys(), key=str):
        yield old.get(key), new.get(key)


def _content_schema(site: Site, media_type: str) -> Site:
    return Site(site.path, join_pointer(site.pointer, "content", media_type, "schema"))


_ERRCODE = re.compile(r"\bM_[A-Z][A-Z0-9_]+\b")


def _errcodes(response) -> frozenset[str]:
    """The errcodes a response names: in its examples, its schema's
    ``errcode`` enum or const, and its description."""
    codes = set(_ERRCODE.findall(response.description))
    for example in response.examples:
        if isinstance(example.value, Mapping) and isinstance(example.value.get("errcode"), str):
            codes.add(example.value["errcode"])
    schema = response.schema if isinstance(response.schema, Mapping) else {}
    errcode = schema.get("properties", {}).get("errcode") if isinstance(schema.get("properties"), Mapping) else None
    if isinstance(errcode, Mapping):
        for value in [errcode.get("const"), *(errcode.get("enum") or [])]:
            if isinstance(value, str):
                codes.add(value)
    return frozenset(codes)


def compare(old: Corpus, new: Corpus, *, common_only: bool = False) -> list[Change]:
    """Every change from ``old`` to ``new``, in a stable order.

    Args:
        common_only: leave out endpoints, events and definitions that only
            one side defines (the comparison with another project's spec).
    """
    return list(_Comparison(old, new, common_only=common_only).run())


def diagnostics(changes: list[Change], old: Corpus, new: Corpus, labels: tuple[str, str]) -> Iterator[Diagnostic]:
    """Each change as a diagnostic at its NEW site (OLD when gone), with a
    note at the other; ``labels`` prefix the two corpora's paths."""
    for change in changes:
        rule = RULES[change.rule]
        breaks = f" (breaks {' and '.join(side + 's' for side in rule.breaks)})" if rule.breaks else ""
        message = f"{change.subject}{' ' + change.where if change.where else ''}: " \
                  f"{change.detail or rule.description}{breaks}"
        here, corpus, label = ((change.new, new, labels[1]) if change.new else (change.old, old, labels[0]))
        related = ()
        if change.new and change.old:
            related = (_located(old, change.old, labels[0], "diff.old", Severity.INFO, "was here"),)
        yield replace(_located(corpus, here, label, change.rule, rule.severity, message), related=related)


def _located(corpus: Corpus, site: Site, label: str, code: str, severity: Severity, message: str) -> Diagnostic:
    found = corpus.diagnostic(site.path, site.pointer, code, severity, message)
    return replace(found, path=label + found.path)


# -- the command -----------------------------------------------------------


def add_diff_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("old", metavar="OLD", help="the corpus before: a folder, or a git revision of this tree")
    parser.add_argument("new", metavar="NEW", help="the corpus after: a folder, or a git revision of this tree")
    parser.add_argument("--common-only", action="store_true",
                        help="compare only the endpoints, events and definitions both sides define")
    parser.add_argument("--record", type=Path, metavar="FILE",
                        help="a differences record (specification/differences.yaml): report only the "
                             "changes it does not record, and its entries that no longer hold")


def diff_command(corpus: Corpus, args: argparse.Namespace, collector) -> None:
    from .cli import UsageError

    with ExitStack() as stack:
        roots, labels = [], []
        for spec in (args.old, args.new):
            root, label = _materialise(spec, corpus.root, stack)
            if root is None:
                raise UsageError(f"{spec!r} is neither a folder nor a git revision of {corpus.root}")
            roots.append(root)
            labels.append(label)
        old, new = (_corpus(root, spec) for root, spec in zip(roots, (args.old, args.new)))
        changes = compare(old, new, common_only=args.common_only)
        if args.record is not None:
            from .differences import apply_record

            changes, stale = apply_record(changes, args.record, corpus)
            collector.extend(stale)
        collector.extend(diagnostics(changes, old, new, (labels[0], labels[1])))


def _corpus(root: Path, spec: str) -> Corpus:
    from .cli import UsageError
    from .corpus import ConfigError

    try:
        corpus = Corpus(root)
    except ConfigError as exc:
        raise UsageError(f"{spec}: bad configuration: {exc}") from None
    if not corpus.found:
        raise UsageError(f"{spec}: no event schemas, examples, API files or prose where its layout "
                         f"({corpus.layout.name}) keeps them")
    return corpus


def _materialise(spec: str, root: Path, stack: ExitStack) -> tuple[Path | None, str]:
    """A folder as it is, or a git revision exported (``git archive``) into
    a temporary folder that lives as long as ``stack``; with the label
    that prefixes its paths in the report."""
    folder = Path(spec)
    if folder.is_dir():
        label = "" if folder.resolve() == Path.cwd().resolve() else spec.rstrip("/") + "/"
        return folder, label
    git = ["git", "-C", str(root)]
    top = subprocess.run([*git, "rev-parse", "--show-toplevel"], capture_output=True, text=True)
    tree = subprocess.run([*git, "rev-parse", "--verify", "--quiet", "--end-of-options", f"{spec}^{{tree}}"],
                          capture_output=True, text=True)
    if top.returncode or tree.returncode or spec.startswith("-"):
        return None, ""
    inside = root.resolve().relative_to(Path(top.stdout.strip()).resolve())
    target = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="specgen-diff-")))
    archive = target / "tree.tar"
    with archive.open("wb") as out:
        subprocess.run([*git, "archive", "--format=tar", tree.stdout.strip()], stdout=out, check=True,
                       cwd=top.stdout.strip())
    with tarfile.open(archive) as tar:
        tar.extractall(target / "tree", filter="data")
    return target / "tree" / inside, f"{spec}:"

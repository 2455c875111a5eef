"""The reviewed record of how this specification differs from another.

``specification/differences.yaml`` lists, for a comparison made by
``specgen diff`` (the public Matrix specification as OLD, ours as NEW),
every difference a reviewer looked at: each entry is **kept** (with the
reason it stays: a seed, an older design kept on purpose, a newer feature
not adopted, or the same protocol written another way) or **fixed** (kept
in the record so the history of the review stays readable). ``make compat``
holds a fresh comparison against it (:func:`apply_record`): a difference
no kept entry covers fails the run, and so does a kept entry that matches
nothing any more (the difference went away: mark it fixed).

An entry matches a change by shell-style patterns over the change's rule,
subject, place and detail (``*`` matches anything; a field left out is
``*``; a list matches when one of its patterns does), so one entry can
cover one reason met in many places::

    - rule: diff.constraint-widened
      subject: "*"
      where: "*"
      detail: "format 'mx-*' is now none"
      resolution: kept
      because: editorial
      reason: Identifier grammars are stated in prose, not as formats.
"""

from __future__ import annotations

from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Iterator

from .diagnostics import Diagnostic, Severity
from .sources import join_pointer

__all__ = ["BECAUSE", "Entry", "load_record", "apply_record", "RESOLUTIONS"]

RESOLUTIONS = ("kept", "fixed")

#: Why a difference is kept, by the word an entry's ``because`` names.
BECAUSE = {
    "seed": "a seed of this specification decides it",
    "older-design": "an older design kept on purpose",
    "not-adopted": "a feature of a newer public specification that is not adopted",
    "editorial": "the same protocol, written another way",
    "public-erratum": "the public specification contradicts itself or the implementations here",
}


#: The fields an entry matches a change by; each holds a pattern or a list of them.
PATTERNS = ("rule", "subject", "where", "detail")


@dataclass(frozen=True)
class Entry:
    rule: tuple[str, ...]
    subject: tuple[str, ...]
    where: tuple[str, ...]
    detail: tuple[str, ...]
    resolution: str
    because: str
    reason: str
    #: Where the entry is written in the record.
    pointer: str

    def matches(self, change) -> bool:
        return all(any(fnmatchcase(getattr(change, name), pattern) for pattern in getattr(self, name))
                   for name in PATTERNS)


def load_record(document) -> tuple[list[Entry], list[Diagnostic]]:
    """The entries of a loaded record, and a ``diff.record`` diagnostic for
    each malformed one (left out)."""
    problems: list[Diagnostic] = []

    def bad(pointer: str, message: str) -> None:
        problems.append(document.diagnostic(pointer, "diff.record", Severity.ERROR, message))

    data = document.data
    items = data.get("differences") if isinstance(data, dict) else None
    if not isinstance(items, list):
        bad("", "a differences record is a mapping with a 'differences' list")
        return [], problems
    entries = []
    for i, item in enumerate(items):
        pointer = join_pointer("/differences", i)
        if not isinstance(item, dict):
            bad(pointer, "an entry is a mapping")
            continue
        patterns = {key: item.get(key, "*") for key in PATTERNS}
        patterns = {key: (value,) if isinstance(value, str) else value for key, value in patterns.items()}
        text = {key: item.get(key, "") for key in ("resolution", "because", "reason")}
        wrong = [key for key, value in patterns.items()
                 if not isinstance(value, list | tuple) or not value or not all(isinstance(v, str) for v in value)]
        wrong += [key for key, value in text.items() if not isinstance(value, str)]
        if wrong:
            bad(join_pointer(pointer, wrong[0]), f"'{wrong[0]}' must be a string"
                + (" or a list of strings" if wrong[0] in PATTERNS else ""))
        elif not all(rule.startswith("diff.") for rule in patterns["rule"]):
            bad(join_pointer(pointer, "rule"), "'rule' names diff rules (diff.*)")
        elif text["resolution"] not in RESOLUTIONS:
            bad(join_pointer(pointer, "resolution"), f"'resolution' is one of {', '.join(RESOLUTIONS)}")
        elif text["resolution"] == "kept" and text["because"] not in BECAUSE:
            bad(join_pointer(pointer, "because"), f"a kept difference says 'because': one of {', '.join(BECAUSE)}")
        elif not text["reason"].strip():
            bad(join_pointer(pointer, "reason"), "every entry gives its 'reason'")
        else:
            entries.append(Entry(**{key: tuple(value) for key, value in patterns.items()}, **text, pointer=pointer))
    return entries, problems


def apply_record(changes: list, path: Path, corpus) -> tuple[list, list[Diagnostic]]:
    """The changes no kept entry of the record at ``path`` covers, and the
    record's own findings: malformed entries, and kept entries that match
    no change (``diff.record-stale``)."""
    loaded = corpus.load(path)
    if isinstance(loaded, Diagnostic):
        return changes, [loaded]
    entries, problems = load_record(loaded)
    kept = [e for e in entries if e.resolution == "kept"]
    used: set[str] = set()
    left = []
    for change in changes:
        covering = next((e for e in kept if e.matches(change)), None)
        if covering is None:
            left.append(change)
        else:
            used.add(covering.pointer)
    problems.extend(_stale(loaded, kept, used))
    return left, problems


def _stale(document, kept: list[Entry], used: set[str]) -> Iterator[Diagnostic]:
    for entry in kept:
        if entry.pointer not in used:
            yield document.diagnostic(entry.pointer, "diff.record-stale", Severity.ERROR,
                                      f"kept difference {', '.join(entry.rule)} of {', '.join(entry.subject)} no "
                                      "longer occurs: mark it fixed, or remove it")


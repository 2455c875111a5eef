"""One value for every finding, whoever raised it.

Lint rules, example validation, ``specgen verify`` and the build all report
:class:`Diagnostic` values; renderers in :mod:`specgen.render_diagnostics`
turn a collected list into text, JSON, GitHub annotations or SARIF, and the
driver (:class:`Collector`) decides the exit code from what was collected,
never from what happened to be printed first.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field, replace
from typing import Iterable, Iterator


#: What every internal error says after what failed: whose fault it is and
#: how to report it (never a Python exception name or a traceback).
BUG_REPORT = ("this is a bug in specgen, not a problem in the corpus: please report it to the specgen "
              "maintainers with the command line and the files involved (run again with SPECGEN_DEBUG=1 "
              "for the traceback to attach)")


class Severity(enum.IntEnum):
    """Ordered so that ``severity >= fail_on`` reads as it should."""

    INFO = 1
    WARNING = 2
    ERROR = 3

    @classmethod
    def parse(cls, text: str) -> "Severity":
        try:
            return cls[text.strip().upper()]
        except KeyError:
            names = ", ".join(s.name.lower() for s in cls)
            raise ValueError(f"unknown severity {text!r} (expected one of: {names})") from None

    def __str__(self) -> str:
        return self.name.lower()


@dataclass(frozen=True, order=True)
class Diagnostic:
    """A located finding.

    ``path`` is relative to the corpus root where possible so that output is
    stable across machines; ``line`` and ``column`` are 1-based (0 means
    unknown); ``pointer`` is an RFC 6901 JSON pointer into the document at
    ``path``. ``related`` holds secondary locations (for example the schema
    keyword that an example failed), each itself a Diagnostic-shaped note.
    """

    path: str
    line: int
    column: int
    code: str
    severity: Severity = field(compare=False)
    message: str = field(compare=False)
    pointer: str = field(default="", compare=False)
    related: tuple["Diagnostic", ...] = field(default=(), compare=False)

    def with_severity(self, severity: Severity) -> "Diagnostic":
        return replace(self, severity=severity)

    @property
    def location(self) -> str:
        if not self.line:
            return self.path
        return f"{self.path}:{self.line}:{self.column or 1}"


class Collector:
    """Gathers diagnostics, applies ``--ignore`` and severity overrides, and
    decides the exit status (docutils' report and halt levels, in one place)."""

    def __init__(
        self,
        *,
        fail_on: Severity = Severity.ERROR,
        ignore: Iterable[str] = (),
        overrides: dict[str, Severity] | None = None,
    ) -> None:
        self.fail_on = fail_on
        self.ignore = frozenset(ignore)
        self.overrides = dict(overrides or {})
        self.ceiling: Severity | None = None
        self._exempt: frozenset[str] = frozenset()
        #: How many diagnostics the ceiling lowered.
        self.lowered = 0
        self._items: list[Diagnostic] = []
        self._seen: set[tuple] = set()

    def add(self, diagnostic: Diagnostic) -> None:
        if diagnostic.code in self.ignore:
            return
        override = self.overrides.get(diagnostic.code)
        if override is not None:
            diagnostic = diagnostic.with_severity(override)
        if self.ceiling is not None and diagnostic.severity > self.ceiling and diagnostic.code not in self._exempt:
            diagnostic = diagnostic.with_severity(self.ceiling)
            self.lowered += 1
        key = (diagnostic.path, diagnostic.line, diagnostic.column, diagnostic.code,
               diagnostic.pointer, diagnostic.message)
        if key in self._seen:
            return
        self._seen.add(key)
        self._items.append(diagnostic)

    def cap(self, ceiling: Severity, exempt: Iterable[str] = ()) -> None:
        """Report every later finding at ``ceiling`` at most, except the codes
        in ``exempt``: a run whose findings advise rather than fail (a
        frozen tree's build, see ``Layout.strict_build``)."""
        self.ceiling, self._exempt = ceiling, frozenset(exempt)

    def extend(self, diagnostics: Iterable[Diagnostic]) -> None:
        for diagnostic in diagnostics:
            self.add(diagnostic)

    def __iter__(self) -> Iterator[Diagnostic]:
        return iter(sorted(self._items))

    def __len__(self) -> int:
        return len(self._items)

    @property
    def failed(self) -> bool:
        return any(d.severity >= self.fail_on for d in self._items)

    @property
    def exit_code(self) -> int:
        return 1 if self.failed else 0

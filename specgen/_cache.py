"""Where specgen keeps what it can recompute: the user's cache directory.

Two things live there, both keyed by content hashes so that a stale entry
can never be read for changed input: parsed YAML documents
(:mod:`specgen.sources`) and validator verdicts (:class:`VerdictCache`).
The source tree is never written to.

Checking a schema against its metaschema, an API file with
openapi-spec-validator, or an example against its schema costs time while
the answer only depends on bytes and validator versions. So the verdict
(the list of ``(pointer, message)`` problems, usually empty) is stored
under a SHA-256 of everything it depends on, in one JSON file written
through a temporary file renamed into place.

Every cache is an optimisation only: ``SPECGEN_NO_CACHE`` turns them off,
and an unreadable or unwritable cache behaves like an empty one.
"""

from __future__ import annotations

import hashlib
import json
import os
from functools import lru_cache
from pathlib import Path
from typing import Callable

__all__ = ["VerdictCache", "cache_dir", "caching_enabled", "package_version", "write_atomically"]


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "specgen"


def caching_enabled() -> bool:
    return not os.environ.get("SPECGEN_NO_CACHE")


def write_atomically(path: Path, content: bytes) -> bool:
    """Write through a temporary file renamed into place, so a reader never
    sees half a file; ``False`` when the cache cannot be written."""
    import tempfile  # only runs that write pay for its import

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=path.suffix)
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(content)
            os.replace(tmp, path)
        except BaseException:
            os.unlink(tmp)
            raise
    except OSError:
        return False
    return True


Verdict = list[tuple[str, str]]

_FILE = "lint-verdicts-v1.json"
#: Entries kept when the file is rewritten (oldest dropped first).
_LIMIT = 20000


@lru_cache(maxsize=None)
def package_version(name: str) -> str:
    """The installed version of a validator, part of every key: reading
    package metadata costs a millisecond, and keys are made per file."""
    from importlib.metadata import version

    return version(name)


class VerdictCache:
    """A content-addressed map from validation inputs to verdicts."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._entries: dict[str, Verdict] = {}
        self._dirty = False
        if path is not None:
            self._entries = _read(path)

    @classmethod
    def open(cls) -> "VerdictCache":
        if not caching_enabled():
            return cls(None)
        return cls(cache_dir() / _FILE)

    @staticmethod
    def key(content: bytes, *context: str) -> str:
        digest = hashlib.sha256()
        for part in context:
            digest.update(part.encode("utf-8") + b"\0")
        digest.update(content)
        return digest.hexdigest()

    def get(self, key: str) -> Verdict | None:
        return self._entries.get(key)

    def entries(self) -> dict[str, Verdict]:
        """Every stored verdict, by key (a read-only view's worth)."""
        return self._entries

    def put(self, key: str, verdict: Verdict) -> None:
        self._entries[key] = [(str(p), str(m)) for p, m in verdict]
        self._dirty = True

    def verdict(self, key: str, compute: Callable[[], Verdict]) -> Verdict:
        """The stored verdict for ``key``, computed and stored if new."""
        found = self.get(key)
        if found is None:
            self.put(key, compute())
            found = self._entries[key]
        return found

    def flush(self) -> None:
        if not self._dirty or self.path is None:
            return
        self._dirty = False
        entries = dict(list(self._entries.items())[-_LIMIT:])
        write_atomically(self.path, json.dumps(entries, separators=(",", ":")).encode("utf-8"))


def _read(path: Path) -> dict[str, Verdict]:
    try:
        raw = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(raw, dict):
        return {}
    entries: dict[str, Verdict] = {}
    for key, verdict in raw.items():
        if isinstance(verdict, list) and all(
            isinstance(item, list) and len(item) == 2 and all(isinstance(x, str) for x in item) for item in verdict
        ):
            entries[key] = [(p, m) for p, m in verdict]
    return entries

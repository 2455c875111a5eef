"""Verdicts of slow structural validators, remembered across runs.

Checking a schema against the 2020-12 metaschema, or an API file with
openapi-spec-validator, costs milliseconds per file while the answer only
depends on the file's bytes and the validator. So the verdict (the list of
``(pointer, message)`` problems, usually empty) is stored under the SHA-256
of the content, the validator's version and the metaschema URI, in the
user's cache directory (``$XDG_CACHE_HOME/specgen`` or ``~/.cache/specgen``),
never in the source tree.

The cache is an optimisation only: an unreadable, corrupt or unwritable
cache file is ignored, and writes go to a temporary file that is renamed
into place, so a crash never leaves half a file behind.
"""

from __future__ import annotations

import hashlib
import json
from functools import lru_cache
from importlib.metadata import version
from pathlib import Path
from typing import Callable

from .._cache import cache_dir, caching_enabled, write_atomically

__all__ = ["VerdictCache", "cache_dir", "package_version"]

Verdict = list[tuple[str, str]]

_FILE = "lint-verdicts-v1.json"
#: Entries kept when the file is rewritten (oldest dropped first).
_LIMIT = 20000


@lru_cache(maxsize=None)
def package_version(name: str) -> str:
    """The installed version of a validator, part of every key: reading
    package metadata costs a millisecond, and keys are made per file."""
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

    def verdict(self, key: str, compute: Callable[[], Verdict]) -> Verdict:
        """The stored verdict for ``key``, computing and storing it if new."""
        found = self._entries.get(key)
        if found is None:
            found = [(str(p), str(m)) for p, m in compute()]
            self._entries[key] = found
            self._dirty = True
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

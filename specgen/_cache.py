"""Where specgen keeps what it can recompute: the user's cache directory.

Two things live there, both keyed by content hashes so that a stale entry
can never be read for changed input: parsed YAML documents
(:mod:`specgen.sources`) and the verdicts of slow structural validators
(:mod:`specgen.lint._cache`). The source tree is never written to.

Every cache is an optimisation only: ``SPECGEN_NO_CACHE`` turns them off,
and an unreadable or unwritable cache behaves like an empty one.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

__all__ = ["cache_dir", "caching_enabled", "write_atomically"]


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "specgen"


def caching_enabled() -> bool:
    return not os.environ.get("SPECGEN_NO_CACHE")


def write_atomically(path: Path, content: bytes) -> bool:
    """Write through a temporary file renamed into place, so a reader never
    sees half a file; ``False`` when the cache cannot be written."""
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

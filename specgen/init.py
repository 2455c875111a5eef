"""``specgen init [DIR]``: a new corpus that every command passes at once.

The starter (``specgen/starter/``, package data) is one event schema with
its example, one API file, a prose page placing both, ``targets.yaml``,
``specgen.toml`` and a GitHub Actions workflow. Nothing in it is a
pretend value: after copying, the example's event ID and room ID, and the
history that proves them, are computed and signed by refimpl with the
published test key of ``example.org`` (the same step as ``specgen
examples --sign``), so ``specgen verify`` re-checks real signatures.

Nothing is overwritten: a starter file that already exists in DIR is a
usage error, and DIR is left as it was.
"""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import replace
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Iterator

from . import __version__
from .corpus import Corpus
from .diagnostics import Collector, Diagnostic

__all__ = ["starter_files", "init_corpus", "init_command", "add_init_arguments"]

#: Starter folders stored under another name, since packaging tools skip
#: dot-folders: stored name -> name in the new corpus.
_RENAMED = {"dot-github": ".github"}
#: Text replaced in every starter file as it is written.
_VERSION_MARK = "@SPECGEN_VERSION@"


def starter_files() -> dict[str, bytes]:
    """The starter corpus: path relative to the new corpus -> content."""
    return dict(_walk(resources.files(__package__) / "starter", ()))


def _walk(folder: Traversable, parts: tuple[str, ...]) -> Iterator[tuple[str, bytes]]:
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        name = _RENAMED.get(entry.name, entry.name)
        if entry.is_dir():
            if name != "__pycache__":
                yield from _walk(entry, (*parts, name))
        else:
            yield "/".join((*parts, name)), entry.read_bytes().replace(_VERSION_MARK.encode(), __version__.encode())


def init_corpus(folder: Path) -> tuple[list[str], list[Diagnostic]]:
    """Write the starter into ``folder`` and sign its examples.

    Returns the files written (relative to ``folder``) and what signing
    found (nothing, for an intact installation).

    Raises:
        UsageError: a starter file already exists in ``folder``.
    """
    from .cli import UsageError
    from .example_signing import sign_corpus, write_signed

    files = starter_files()
    taken = sorted(name for name in files if (folder / name).exists())
    if taken:
        raise UsageError(f"{folder} already has {', '.join(taken)}; nothing was written")
    for name, data in files.items():
        target = folder / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    corpus = Corpus(folder)
    signed = sign_corpus(corpus)
    found = [*signed.diagnostics, *write_signed(corpus, signed)]
    written = sorted({*files, *(corpus.display(p) for p in corpus.history_dir.glob("*.json"))})
    return written, found


def add_init_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("dir", nargs="?", type=Path, default=Path("."), metavar="DIR",
                        help="the folder of the new corpus, created if missing (default: .)")


def init_command(corpus: None, args: argparse.Namespace, collector: Collector) -> int | None:
    """``specgen init``: findings are located relative to the working folder."""
    folder: Path = args.dir
    written, found = init_corpus(folder)
    collector.extend(replace(d, path=os.path.relpath(folder / d.path)) if d.path else d for d in found)
    print(f"specgen init: wrote {len(written)} files in {folder}; then, in it: "
          "specgen check && specgen build", file=sys.stderr)
    return None

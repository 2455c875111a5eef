"""``specgen build`` as a command: its arguments, and the checks.

The checks (lint and example validation) need neither docutils nor Jinja2,
and the render needs both: the command starts the checks on the other
core as soon as the corpus is found, and only then imports the renderer
(:mod:`specgen.build`), so the two start up side by side.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from pathlib import Path

from .corpus import Corpus
from .diagnostics import Collector, Diagnostic, Severity
from .refs import Resolver

__all__ = ["DEFAULT_OUT", "add_build_arguments", "build_command", "check_sources"]

DEFAULT_OUT = Path("build/html")


def add_build_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, metavar="DIR",
                        help=f"output folder (default: {DEFAULT_OUT})")
    parser.add_argument("--no-check", action="store_true",
                        help="skip lint and example validation (rendering and link checks still run)")
    parser.add_argument("--release", action="append", default=[], type=_release, metavar="API=LABEL",
                        help="a legacy tree's release label for one API, e.g. client_server=r0.6.1 "
                             "(repeatable; an API not named builds as 'unstable')")
    parser.add_argument("--strict", action="store_true",
                        help="fail on the sources' findings even where the layout builds non-strictly "
                             "(matrix-doc's legacy tree reports them as warnings)")


def _release(text: str) -> tuple[str, str]:
    api, sep, label = text.partition("=")
    if not sep or not api or not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", label):
        raise argparse.ArgumentTypeError(f"expected API=LABEL (such as client_server=r0.6.1), got {text!r}")
    return api, label


def build_command(corpus: Corpus, args: argparse.Namespace, collector: Collector) -> int | None:
    """``specgen build``: the exit status comes from the collector. A
    non-strict build lowers the sources' findings to warnings; only a run
    that cannot write its output still fails."""
    from .forked import Forked, can_fork

    if not (args.strict or corpus.config.strict_build):
        collector.cap(Severity.WARNING, exempt={"build.output"})
    checks = Forked(check_sources, corpus, Resolver(corpus)) if not args.no_check and can_fork() else None
    try:
        from .build import build_site, publish

        site = build_site(corpus, check=not args.no_check, releases=dict(args.release),
                          jobs=len(os.sched_getaffinity(0)), checks=checks)
    except BaseException:
        if checks is not None:
            checks.stop()
        raise
    publish(site, args.out, collector, corpus.root)
    if collector.lowered:
        print(f"specgen build: {collector.lowered} finding(s) that fail a strict build were reported as "
              f"warnings: the {corpus.layout.name} layout builds non-strictly (--strict fails on them)",
              file=sys.stderr)
    return None


def check_sources(corpus: Corpus, resolver: Resolver) -> list[Diagnostic]:
    """Lint and example validation, as ``specgen check`` runs them: over
    one example validator, so every example is validated once."""
    from . import lint
    from .examples import validate_with

    context = lint.RuleContext(corpus, resolver)
    return [*lint.check(corpus, resolver, context=context), *validate_with(context.examples()),
            *corpus.sources.failures()]

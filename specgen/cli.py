"""The ``specgen`` command: parse options, run one command, render, exit.

Collect first, render second, exit last (docutils' report and halt levels
in one place): a command only adds diagnostics to the
:class:`~specgen.diagnostics.Collector`; the chosen renderer prints them;
the exit status is 0 when nothing reached ``--fail-on``, 1 when something
did, and 2 for a usage error (bad option, bad corpus config, missing root).

Commands live in :data:`COMMANDS`, an explicit registry of name to
:class:`Command`. A command's module is imported only when that command
runs, and only the chosen command adds its options to the parser, so
``specgen lint`` never imports docutils or jinja2 and ``specgen --help``
imports neither jsonschema nor the lint rules.
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
from dataclasses import dataclass
from functools import lru_cache
from importlib import import_module
from pathlib import Path
from typing import Callable, Mapping, Sequence

from .corpus import ConfigError, Corpus, load_config
from .diagnostics import BUG_REPORT, Collector, Severity
from .sources import read_bounded

__all__ = ["COMMANDS", "CORE_RULES", "Command", "main", "rule_table", "UsageError"]

#: Codes specgen reports outside the lint registry (:data:`specgen.lint.RULES`
#: describes every other code, including those ``validate`` shares with it).
CORE_RULES: Mapping[str, tuple[Severity, str]] = {
    "ref.too-deep": (Severity.ERROR, "a document nests too deeply to inline its references"),
    "syntax.duplicate-key": (Severity.ERROR, "a YAML mapping or JSON object repeats a key"),
    "syntax.too-deep": (Severity.ERROR, "a file nests arrays and objects deeper than specgen reads"),
    "syntax.alias": (Severity.ERROR, "YAML aliases expand to more nodes than specgen reads"),
    "syntax.too-large": (Severity.ERROR, "a file is larger than the corpus's max_file_size"),
    "example.unchecked": (Severity.ERROR, "an example could not be checked because its schema is unusable"),
    "example.schema": (Severity.INFO, "where the schema keyword an invalid example breaks is written "
                                      "(a note attached to example.invalid)"),
    "diff.record": (Severity.ERROR, "a differences record (specgen diff --record) is malformed"),
    "diff.record-stale": (Severity.ERROR, "a difference recorded as kept no longer occurs"),
    "diff.old": (Severity.INFO, "where a changed value is written in OLD (a note attached to a diff.* finding)"),
    # specgen build and serve
    "build.targets": (Severity.ERROR, "targets.yaml is malformed or names a prose file that does not exist"),
    "build.title-level": (Severity.ERROR, "a heading jumps more than one level below its parent"),
    "build.unknown-placeholder": (Severity.ERROR, "a {{placeholder}} names nothing the corpus can generate"),
    "build.duplicate-anchor": (Severity.ERROR, "two sections of one page would get the same anchor"),
    "build.broken-link": (Severity.ERROR, "a link in the built HTML points at a missing page or anchor"),
    "build.flow": (Severity.ERROR, "a recorded flow (specification/flows/*.json) is not of the shape specgen flows --record writes"),
    "build.unplaced": (Severity.WARNING, "an event schema, API file or definition appears on no page"),
    "build.changelog": (Severity.ERROR, "a release's changelog cannot be built (no such release, unusable "
                                        "towncrier configuration, or a template or folder it may not use)"),
    "build.sas-emoji": (Severity.ERROR, "an entry of the SAS emoji table is malformed or its emoji is not "
                                        "the code point it names"),
    "build.template": (Severity.ERROR, "a template is missing, malformed or fails while rendering (located in it)"),
    "build.output": (Severity.ERROR, "the output folder cannot be written or swapped into place"),
    "build.internal": (Severity.ERROR, "a preview rebuild failed unexpectedly (a bug in specgen)"),
    "rst.markup": (Severity.ERROR, "docutils reported a problem in the prose (bad markup, broken reference)"),
    "rst.disabled": (Severity.ERROR, "the prose uses raw, include or csv-table :file:/:url:, which a corpus "
                                     "may not (raw HTML only with allow_raw_html in an operator's --config)"),
    "rst.unsafe-link": (Severity.ERROR, "a prose link or image has a URI a browser would run as script "
                                        "(javascript:, vbscript:, data:); it is written as its text alone"),
    "rst.source": (Severity.ERROR, "a prose file cannot be read or is not UTF-8"),
    "rst.too-deep": (Severity.ERROR, "a prose file nests lists, quotes or directives more deeply than docutils "
                                     "can parse"),
    # specgen verify
    "verify.signature": (Severity.ERROR, "a signature is missing, made by an unpublished key, or does not verify"),
    "verify.hash": (Severity.ERROR, "a content or reference hash does not match what it covers"),
    "verify.event-id": (Severity.ERROR, "an event ID is not the one its room version computes"),
    "verify.room-id": (Severity.ERROR, "a room ID is unknown or not the one derived from its create event"),
    "verify.auth": (Severity.ERROR, "a history event is rejected by the authorization rules (the rule is named)"),
    "verify.history": (Severity.ERROR, "a history file lacks a known room_version or an events list"),
    "verify.flow": (Severity.ERROR, "an invite or third-party-invite example is refused by refimpl's flow "
                                    "handlers, or is not what they produce (the rule is named)"),
    # specgen examples --sign / --check
    "examples.stale": (Severity.ERROR, "an example holds a value that examples --sign would recompute"),
    "examples.sign": (Severity.ERROR, "a value cannot be signed (no published test key for its signer)"),
    "examples.room": (Severity.ERROR, "the examples of one room do not form a room refimpl can build"),
    "examples.auth": (Severity.ERROR, "a declared example history is rejected by the authorization rules"),
    "examples.unwritable": (Severity.ERROR, "a recomputed value could not be written back to its file"),
    # specgen flows
    "flows.endpoint": (Severity.ERROR, "a request crossed the network that no API definition declares"),
    "flows.request": (Severity.ERROR, "a request's parameters or body depart from its API definition"),
    "flows.status": (Severity.ERROR, "a response's status is not one its API definition declares"),
    "flows.response": (Severity.ERROR, "a response body departs from its API definition (undeclared fields included)"),
    "flows.errcode": (Severity.ERROR, "an error response carries an errcode its API definition does not name"),
    "flows.scenario": (Severity.ERROR, "a scenario between real servers did not go as its narrative says"),
}


class UsageError(Exception):
    """A command was asked for something impossible (exit 2)."""


@dataclass(frozen=True)
class Command:
    run: Callable[[Corpus | None, argparse.Namespace, Collector], int | None]
    add_arguments: Callable[[argparse.ArgumentParser], None]
    help: str
    #: ``False`` for a command that makes a corpus rather than reading one
    #: at ``--root`` (``init``): it gets ``None``, and paths relative to
    #: the working folder.
    reads_corpus: bool = True


def lazy_command(module: str, run: str, add_arguments: str, help: str, reads_corpus: bool = True) -> Command:
    """A command whose module (``specgen.<module>``) is imported only when
    the command is chosen: building the parser never touches it."""

    def run_command(corpus: Corpus | None, args: argparse.Namespace, collector: Collector) -> int | None:
        return getattr(import_module(f"{__package__}.{module}"), run)(corpus, args, collector)

    def add(parser: argparse.ArgumentParser) -> None:
        getattr(import_module(f"{__package__}.{module}"), add_arguments)(parser)

    return Command(run_command, add, help, reads_corpus)


def _run_lint(corpus: Corpus, args: argparse.Namespace, collector: Collector) -> None:
    from . import lint
    from .refs import Resolver

    context = lint.RuleContext(corpus, Resolver(corpus))
    collector.extend(lint.check(corpus, context.resolver, context=context))
    collector.extend(corpus.sources.failures())
    _say_counts(args, context.examples().counts)


def _run_check(corpus: Corpus, args: argparse.Namespace, collector: Collector) -> None:
    """Lint, validate and (where the layout's examples are signed with the
    published keys) verify, over one load, one resolver and one example
    validator: every example is validated once."""
    from . import lint
    from .examples import validate_with
    from .forked import Forked, can_fork
    from .refs import Resolver

    context = lint.RuleContext(corpus, Resolver(corpus))
    beside = None
    if can_fork():
        # Lint and validation check disjoint examples (those written in
        # schemas; event and API examples), so after one shared load the
        # validation can run on the other core with its own count.
        for path in corpus.data_files():
            corpus.document(path)
        beside = Forked(_validate_in_child, context)
    collector.extend(lint.check(corpus, context.resolver, context=context))
    if beside is None:
        collector.extend(validate_with(context.examples()))
    else:
        found, counts, verdicts = beside.result()
        collector.extend(found)
        for key, verdict in verdicts.items():
            context.cache.put(key, verdict)
        context.cache.flush()
        for kind, count in counts.items():
            context.examples().counts[kind] += count
    collector.extend(corpus.sources.failures())
    if corpus.layout.verifiable:
        from .verify import verify_corpus

        collector.extend(verify_corpus(corpus))
    _say_counts(args, context.examples().counts)


def _validate_in_child(context) -> tuple[list, dict[str, int], dict]:
    """``specgen check``'s example validation in a forked child: its
    diagnostics, its counts and the verdicts it added to the cache, which
    the parent writes."""
    from .examples import validate_with

    before = set(context.cache.entries())
    found = validate_with(context.examples(), write_cache=False)
    added = {key: verdict for key, verdict in context.cache.entries().items() if key not in before}
    return found, dict(context.examples().counts), added


def _say_counts(args: argparse.Namespace, counts: Mapping[str, int]) -> None:
    if args.verbose:
        print(f"specgen: examples validated: {counts['event']} event examples, {counts['api']} API examples, "
              f"{counts['schema']} examples written in schemas", file=sys.stderr)


def _add_validate(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("paths", nargs="*", metavar="PATH", type=Path,
                        help="example, schema or API files (or folders) to validate; default: all")


def _run_validate(corpus: Corpus, args: argparse.Namespace, collector: Collector) -> None:
    from ._cache import VerdictCache
    from .examples import ExampleValidator, validate_with
    from .refs import Resolver

    missing = [str(p) for p in args.paths if not p.exists()]
    if missing:
        raise UsageError(f"no such file or folder: {', '.join(missing)}")
    checker = ExampleValidator(corpus, Resolver(corpus), VerdictCache.open())
    collector.extend(validate_with(checker, args.paths))
    if not args.paths:
        collector.extend(corpus.sources.failures())
    _say_counts(args, checker.counts)


def rule_table() -> dict[str, tuple[Severity, str]]:
    """Every known code with its default severity and description: the lint
    registry, plus the few codes only specgen's other commands report."""
    from .diff import RULES as DIFF_RULES
    from .lint import RULES

    return {**CORE_RULES, **{rule_id: (rule.default_severity, rule.description) for rule_id, rule in RULES.items()},
            **{rule_id: (rule.severity, f"{rule.kind}: {rule.description}") for rule_id, rule in DIFF_RULES.items()}}


def _run_rules(corpus: Corpus, args: argparse.Namespace, collector: Collector) -> int:
    table = rule_table()
    width = max(map(len, table), default=0)
    for rule_id in sorted(table):
        severity, description = table[rule_id]
        print(f"{rule_id:<{width}}  {str(severity):<7}  {description}")
    return 0


def _no_arguments(parser: argparse.ArgumentParser) -> None:
    pass


COMMANDS: dict[str, Command] = {
    "lint": Command(_run_lint, _no_arguments, "check syntax, references and the lint rules"),
    "check": Command(_run_check, _no_arguments, "lint, validate and verify with one load: every example "
                     "validated once (verify where the examples are signed with the published keys)"),
    "validate": Command(_run_validate, _add_validate, "validate every example against its schema"),
    "rules": Command(_run_rules, _no_arguments, "list the lint rules: id, default severity, description"),
    "build": lazy_command("build_command", "build_command", "add_build_arguments",
                          "render the specification to HTML (checks first unless --no-check)"),
    "serve": lazy_command("serve", "serve_command", "add_serve_arguments",
                          "preview the rendered specification, rebuilding on every change"),
    "verify": lazy_command("verify", "verify_command", "add_verify_arguments",
                           "prove with the reference implementation that signed examples verify "
                           "and example histories pass the auth rules"),
    "examples": lazy_command("example_signing", "examples_command", "add_examples_arguments",
                             "recompute (--sign) or check (--check) the hashes, signatures and IDs in examples"),
    "diff": lazy_command("diff", "diff_command", "add_diff_arguments",
                         "what changed between two corpora (folders or git revisions), breaking or not"),
    "flows": lazy_command("flows", "flows_command", "add_flows_arguments",
                          "run the scenarios between real servers on loopback, every exchange "
                          "checked against the API definitions"),
    "init": lazy_command("init", "init_command", "add_init_arguments",
                         "start a new corpus in DIR that every command passes at once", reads_corpus=False),
}


def _add_global_options(parser: argparse.ArgumentParser, *, defaults: bool) -> None:
    """The same options before or after the command; only the top-level
    parser sets defaults, so a sub-command never hides what came first."""
    d = (lambda value: value) if defaults else (lambda value: argparse.SUPPRESS)
    parser.add_argument("--root", type=Path, default=d(Path(".")), help="corpus root (default: .)")
    parser.add_argument("--config", type=Path, default=d(None), metavar="FILE",
                        help="settings file (specgen.toml form) overriding the tree's own and its detected layout; "
                             "only such a file outside the corpus may widen what it may read or publish "
                             "(read_roots, allow_raw_html, a larger max_file_size)")
    parser.add_argument("-v", "--verbose", action="store_true", default=d(False),
                        help="say on standard error what was found and what was checked")
    parser.add_argument("--format", choices=sorted(_formats()), default=d("text"), help="output format")
    parser.add_argument("--fail-on", type=_severity, default=d(Severity.ERROR), metavar="LEVEL",
                        help="lowest severity that fails the run: error, warning or info (default: error)")
    parser.add_argument("--ignore", action="append", default=d([]), metavar="CODE",
                        help="drop diagnostics with this code (repeatable)")


def _formats() -> tuple[str, ...]:
    return ("text", "json", "github", "sarif")


#: ``specgen diff`` reports breaking changes as errors: ``--fail-on breaking``.
_SEVERITY_ALIASES = {"breaking": "error"}


def _severity(text: str) -> Severity:
    try:
        return Severity.parse(_SEVERITY_ALIASES.get(text, text))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


class _ProbeError(Exception):
    pass


class _Probe(argparse.ArgumentParser):
    """Finds the command name without reporting anything: a mistake here is
    left for the real parser to report."""

    def error(self, message: str):
        raise _ProbeError(message)


def chosen_command(argv: Sequence[str]) -> str | None:
    """The command ``argv`` names, or ``None`` (``--help``, a mistake)."""
    probe = _Probe(add_help=False)
    _add_global_options(probe, defaults=True)
    probe.add_argument("command", nargs="?")
    try:
        known, _ = probe.parse_known_args(argv)
    except _ProbeError:
        return None
    return known.command if known.command in COMMANDS else None


def build_parser(chosen: str | None = None) -> argparse.ArgumentParser:
    """Every command is listed, but only ``chosen`` adds its own options:
    argparse builds all sub-parsers up front, and adding a command's
    options means importing its module."""
    parser = argparse.ArgumentParser(prog="specgen", description="Lint, validate and render a protocol specification.")
    parser.add_argument("--version", action=_Version, help="print specgen's version and refimpl's room versions")
    _add_global_options(parser, defaults=True)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, command in COMMANDS.items():
        child = sub.add_parser(name, help=command.help, description=command.help)
        _add_global_options(child, defaults=False)
        if name == chosen:
            command.add_arguments(child)
    return parser


class _Version(argparse.Action):
    """``--version``, computed only when asked for."""

    def __init__(self, option_strings, dest, help=None):
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, help=help)

    def __call__(self, parser, namespace, values, option_string=None):
        print(version_text())
        parser.exit()


def version_text() -> str:
    """``specgen X.Y.Z (refimpl: room versions 1-12; unstable: ...)``."""
    from refimpl.room_versions import ROOM_VERSIONS, UNSTABLE_FEATURES

    from . import __version__

    versions = list(ROOM_VERSIONS)
    unstable = f"; unstable: {', '.join(UNSTABLE_FEATURES)}" if UNSTABLE_FEATURES else ""
    return f"specgen {__version__} (refimpl: room versions {versions[0]}-{versions[-1]}{unstable})"


def _source_reader(corpus: Corpus) -> Callable[[str, int], str]:
    @lru_cache(maxsize=256)
    def lines(display: str) -> tuple[str, ...]:
        path = Path(display) if Path(display).is_absolute() else corpus.root / display
        raw = read_bounded(path, corpus.sources.max_size) if corpus.sources.inside(path) else b""
        if isinstance(raw, tuple):
            return ()
        # Lines as the parsers count them: "\n" only, not every break str.splitlines knows.
        return tuple(line.removesuffix("\r") for line in raw.decode("utf-8", errors="replace").split("\n"))

    def source_line(display: str, line: int) -> str:
        text = lines(display)
        return text[line - 1] if 0 < line <= len(text) else ""

    return source_line


#: Commands that run without a corpus.
_NO_CORPUS_NEEDED = frozenset({"rules", "diff"})


def _nothing_found(corpus: Corpus) -> str:
    from .layouts import LAYOUTS

    places = ", ".join(corpus.display(p) + "/" for p in (corpus.schema_dir, corpus.example_dir, corpus.api_dir))
    known = "; ".join(f"{layout.name} ({', '.join(layout.markers)})" for layout in LAYOUTS)
    return (f"no spec corpus under {corpus.root}: no event schema, example, API file or "
            f"{corpus.layout.prose} prose in {places} or {corpus.display(corpus.spec_dir)}/ "
            f"({corpus.layout.name} layout, {corpus.config.layout_source}). Known layouts, by the paths "
            f"that mark them: {known}; or name the folders in specgen.toml or --config FILE")


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script; returns the exit status.

    A reader that stops reading (``specgen rules | head -1``) ends the
    command quietly with the status it had; Ctrl-C ends it with 130; any
    other exception is a bug in specgen, reported as one (exit 3), never as
    a traceback unless ``SPECGEN_DEBUG`` asks for it.
    """
    argv = sys.argv[1:] if argv is None else list(argv)
    threshold = gc.get_threshold()
    # A run allocates millions of objects that live until it ends (the
    # loaded corpus) or die in cycles (docutils' trees): collecting every
    # 700 allocations walks them again and again, about 5% of a build. A
    # collection every million keeps the garbage bounded (a render child
    # of the legacy build peaks at 85 MB instead of 66 MB).
    gc.set_threshold(1_000_000, 20, 20)
    try:
        status = _main(argv)
        sys.stdout.flush()
        return status
    except BrokenPipeError:
        _stdout_gone()
        return 0
    except KeyboardInterrupt:
        return 130
    except Exception:
        if os.environ.get("SPECGEN_DEBUG"):
            raise
        command = chosen_command(argv)
        print(f"specgen{' ' + command if command else ''}: internal error: {BUG_REPORT}", file=sys.stderr)
        return 3
    finally:
        gc.set_threshold(*threshold)


def _stdout_gone() -> None:
    """Point standard output at the null device, so that the interpreter's
    last flush does not fail again on the closed pipe."""
    null = os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, sys.stdout.fileno())
    os.close(null)


def _main(argv: list[str]) -> int:
    parser = build_parser(chosen_command(argv))
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return int(exc.code or 0)
    command = COMMANDS[args.command]
    corpus = None
    if command.reads_corpus:
        root: Path = args.root
        if not root.is_dir():
            print(f"specgen: error: corpus root {str(root)!r} is not a folder", file=sys.stderr)
            return 2
        try:
            corpus = Corpus(root, load_config(root, args.config))
        except ConfigError as exc:
            print(f"specgen: error: bad configuration: {exc}", file=sys.stderr)
            return 2
        if args.verbose:
            for row in corpus.summary():
                print(f"specgen: {row}", file=sys.stderr)
        if args.command not in _NO_CORPUS_NEEDED and not corpus.found:
            print(f"specgen: error: {_nothing_found(corpus)}", file=sys.stderr)
            return 2
    collector = Collector(
        fail_on=args.fail_on,
        ignore={*(corpus.config.ignore if corpus else ()), *args.ignore},
        overrides=dict(corpus.config.severity) if corpus else {},
    )
    try:
        status = command.run(corpus, args, collector)
    except UsageError as exc:
        print(f"specgen {args.command}: error: {exc}", file=sys.stderr)
        return 2
    if status is not None:
        return status
    from .render_diagnostics import RENDERERS, RenderContext

    diagnostics = list(collector)
    context = RenderContext(source_line=_source_reader(corpus) if corpus else lambda display, line: "",
                            rules=rule_table() if args.format == "sarif" else {})
    output = RENDERERS[args.format](diagnostics, context)
    try:
        sys.stdout.write(output)
        sys.stdout.flush()
    except BrokenPipeError:
        _stdout_gone()
        return collector.exit_code
    if args.format == "text" and diagnostics:
        from .render_diagnostics.text import summary

        print(summary(diagnostics), file=sys.stderr)
    return collector.exit_code

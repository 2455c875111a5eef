"""The ``specgen`` command: parse options, run one command, render, exit.

Collect first, render second, exit last (docutils' report and halt levels
in one place): a command only adds diagnostics to the
:class:`~specgen.diagnostics.Collector`; the chosen renderer prints them;
the exit status is 0 when nothing reached ``--fail-on``, 1 when something
did, and 2 for a usage error (bad option, bad corpus config, missing root).

Commands live in :data:`COMMANDS`, an explicit registry of name to
:class:`Command`. Heavy modules (jsonschema, the lint rules) are imported
inside the commands that need them, so ``specgen --help`` stays fast.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Callable, Iterator, Mapping, Sequence

from .corpus import ConfigError, Corpus
from .diagnostics import Collector, Diagnostic, Severity

__all__ = ["COMMANDS", "Command", "main", "rule_table", "UsageError"]

#: Codes specgen itself reports outside the lint registry.
CORE_RULES: Mapping[str, tuple[Severity, str]] = {
    "syntax": (Severity.ERROR, "a file does not parse as YAML or JSON"),
    "ref.unresolved": (Severity.ERROR, "a $ref names a file or pointer that does not exist"),
    "ref.remote": (Severity.ERROR, "a $ref points outside the corpus (http/https)"),
    "ref.cycle": (Severity.ERROR, "a $ref leads back to a schema that is still being inlined"),
    "ref.too-deep": (Severity.ERROR, "a document nests too deeply to inline"),
    "example.invalid": (Severity.ERROR, "an example does not match its schema"),
    "example.unchecked": (Severity.ERROR, "an example could not be checked because its schema is unusable"),
}


class UsageError(Exception):
    """A command was asked for something impossible (exit 2)."""


@dataclass(frozen=True)
class Command:
    run: Callable[[Corpus, argparse.Namespace, Collector], int | None]
    add_arguments: Callable[[argparse.ArgumentParser], None]
    help: str


def _loader_and_ref_checks(corpus: Corpus, resolver) -> Iterator[Diagnostic]:
    """Syntax and ``$ref`` checks: what lint runs without its rule set."""
    for path in corpus.data_files():
        loaded = corpus.load(path)
        if isinstance(loaded, Diagnostic):
            yield loaded
            continue
        for pointer, ref in resolver.iter_refs(loaded):
            found = resolver.resolve(path, ref, at=pointer)
            if isinstance(found, Diagnostic):
                yield found
    for path in [*corpus.schemas.values(), *corpus.schema_definitions]:
        yield from (d for d in resolver.inline(path).diagnostics if d.code in ("ref.cycle", "ref.too-deep"))


def _lint_module():
    try:
        from . import lint
    except ImportError as exc:
        if exc.name not in (f"{__package__}.lint",):
            raise
        return None
    return lint


def _run_lint(corpus: Corpus, args: argparse.Namespace, collector: Collector) -> None:
    from .refs import Resolver

    resolver = Resolver(corpus)
    lint = _lint_module()
    collector.extend(lint.check(corpus, resolver) if lint else _loader_and_ref_checks(corpus, resolver))
    collector.extend(corpus.sources.failures())


def _add_validate(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("paths", nargs="*", metavar="PATH", type=Path,
                        help="example, schema or API files (or folders) to validate; default: all")


def _run_validate(corpus: Corpus, args: argparse.Namespace, collector: Collector) -> None:
    from .examples import validate
    from .refs import Resolver

    missing = [str(p) for p in args.paths if not p.exists()]
    if missing:
        raise UsageError(f"no such file or folder: {', '.join(missing)}")
    collector.extend(validate(corpus, Resolver(corpus), args.paths))
    if not args.paths:
        collector.extend(corpus.sources.failures())


def rule_table() -> dict[str, tuple[Severity, str]]:
    """Every known code with its default severity and description: the lint
    registry when it is installed, plus specgen's own codes."""
    table = dict(CORE_RULES)
    lint = _lint_module()
    if lint is not None:
        table.update({rule_id: (rule.default_severity, rule.description) for rule_id, rule in lint.RULES.items()})
    return table


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
    "validate": Command(_run_validate, _add_validate, "validate every example against its schema"),
    "rules": Command(_run_rules, _no_arguments, "list the lint rules: id, default severity, description"),
}


def _add_global_options(parser: argparse.ArgumentParser, *, defaults: bool) -> None:
    """The same options before or after the command; only the top-level
    parser sets defaults, so a sub-command never hides what came first."""
    d = (lambda value: value) if defaults else (lambda value: argparse.SUPPRESS)
    parser.add_argument("--root", type=Path, default=d(Path(".")), help="corpus root (default: .)")
    parser.add_argument("--format", choices=sorted(_formats()), default=d("text"), help="output format")
    parser.add_argument("--fail-on", type=_severity, default=d(Severity.ERROR), metavar="LEVEL",
                        help="lowest severity that fails the run: error, warning or info (default: error)")
    parser.add_argument("--ignore", action="append", default=d([]), metavar="CODE",
                        help="drop diagnostics with this code (repeatable)")


def _formats() -> tuple[str, ...]:
    return ("text", "json", "github", "sarif")


def _severity(text: str) -> Severity:
    try:
        return Severity.parse(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="specgen", description="Lint, validate and render a protocol specification.")
    _add_global_options(parser, defaults=True)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, command in COMMANDS.items():
        child = sub.add_parser(name, help=command.help, description=command.help)
        _add_global_options(child, defaults=False)
        command.add_arguments(child)
    return parser


def _source_reader(corpus: Corpus) -> Callable[[str, int], str]:
    @lru_cache(maxsize=256)
    def lines(display: str) -> tuple[str, ...]:
        path = Path(display) if Path(display).is_absolute() else corpus.root / display
        try:
            return tuple(path.read_text("utf-8", errors="replace").splitlines())
        except OSError:
            return ()

    def source_line(display: str, line: int) -> str:
        text = lines(display)
        return text[line - 1] if 0 < line <= len(text) else ""

    return source_line


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script; returns the exit status."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return int(exc.code or 0)
    root: Path = args.root
    if not root.is_dir():
        print(f"specgen: error: corpus root {str(root)!r} is not a folder", file=sys.stderr)
        return 2
    try:
        corpus = Corpus(root)
    except ConfigError as exc:
        print(f"specgen: error: bad configuration: {exc}", file=sys.stderr)
        return 2
    collector = Collector(
        fail_on=args.fail_on,
        ignore={*corpus.config.ignore, *args.ignore},
        overrides=dict(corpus.config.severity),
    )
    try:
        status = COMMANDS[args.command].run(corpus, args, collector)
    except UsageError as exc:
        print(f"specgen {args.command}: error: {exc}", file=sys.stderr)
        return 2
    if status is not None:
        return status
    from .render_diagnostics import RENDERERS, RenderContext

    diagnostics = list(collector)
    context = RenderContext(source_line=_source_reader(corpus),
                            rules=rule_table() if args.format == "sarif" else {})
    output = RENDERERS[args.format](diagnostics, context)
    if output:
        sys.stdout.write(output)
    if args.format == "text" and diagnostics:
        from .render_diagnostics.text import summary

        print(summary(diagnostics), file=sys.stderr)
    return collector.exit_code

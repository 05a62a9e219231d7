"""The ``cpdgen`` command line: sub-commands, options, printing and exit codes.

Exit codes for every command: 0 success; 1 the check failed (invalid content, or for
``check`` the current diploma is not eligible); 2 a usage or set-up error. Heavy
libraries are imported inside the commands that need them, so ``check`` starts fast.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from datetime import date
from pathlib import Path
from typing import Callable, Sequence

from cpdgen import __version__
from cpdgen.problems import CpdgenError

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def _as_of(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a date; write YYYY-MM-DD") from None


class Console:
    """Printing with colour only on a terminal, and never when NO_COLOR is set."""

    _COLOURS = {"error": "31;1", "warning": "33;1", "ok": "32;1", "bold": "1"}

    def __init__(self, quiet: bool = False, verbose: bool = False, stream=None):
        self.stream = stream or sys.stdout
        self.quiet = quiet
        self.verbose = verbose
        self.colour = (
            hasattr(self.stream, "isatty")
            and self.stream.isatty()
            and "NO_COLOR" not in os.environ
            and os.environ.get("TERM") != "dumb"
        )

    def paint(self, text: str, style: str) -> str:
        code = self._COLOURS.get(style)
        return f"\033[{code}m{text}\033[0m" if self.colour and code else text

    def out(self, text: str = "") -> None:
        print(text, file=self.stream)

    def info(self, text: str) -> None:
        if not self.quiet:
            print(text, file=self.stream)


def _output_options(parser: argparse.ArgumentParser, top: bool = False) -> None:
    # Accepted before or after the command name; a command's own default must not
    # overwrite what was given before it, hence SUPPRESS below the top level.
    default = False if top else argparse.SUPPRESS
    parser.add_argument("-q", "--quiet", action="store_true", default=default, help="print only problems")
    parser.add_argument("-v", "--verbose", action="store_true", default=default, help="print more detail")


def _common(parser: argparse.ArgumentParser, as_of: bool = True) -> None:
    _output_options(parser)
    parser.add_argument(
        "--root", type=Path, default=Path("."), metavar="DIR", help="the portfolio folder, which holds content/ (default: .)"
    )
    if as_of:
        parser.add_argument(
            "--as-of", type=_as_of, metavar="YYYY-MM-DD", help="judge the diplomas as on this day (default: today)"
        )


def cmd_check(args: argparse.Namespace, console: Console) -> int:
    from cpdgen.loader import load_portfolio, resolve_as_of
    from cpdgen.problems import has_errors, sort_problems
    from cpdgen.report import github_report, json_report, text_report

    portfolio = load_portfolio(args.root)
    as_of = resolve_as_of(portfolio.timezone, args.as_of)
    assessment = portfolio.assess(as_of)
    problems = sort_problems(portfolio.problems)
    current = assessment.current_diploma if assessment else None
    if portfolio.setup_failed:
        code = EXIT_USAGE
    elif has_errors(problems, args.strict):
        code = EXIT_FAILED
    elif not args.content_only and not (current and current.eligible):
        code = EXIT_FAILED
    else:
        code = EXIT_OK
    ok = code == EXIT_OK
    if args.format == "json":
        console.out(json.dumps(json_report(as_of, assessment, problems, ok), indent=2, ensure_ascii=False))
    elif args.format == "github":
        console.out(github_report(portfolio, assessment, problems, ok))
    else:
        text = text_report(
            portfolio, assessment, problems, ok, quiet=console.quiet, verbose=console.verbose, paint=console.paint
        )
        if text:
            console.out(text)
    return code


def cmd_build(args: argparse.Namespace, console: Console) -> int:
    from cpdgen.build import build_site
    from cpdgen.problems import format_text

    root = args.root
    out = args.out if args.out is not None else None
    result = build_site(root, out, as_of=args.as_of, pdf=not args.no_pdf, strict=args.strict)
    for problem in result.problems:
        console.out(console.paint(format_text(problem), problem.severity))
    if not result.written:
        errors = sum(p.severity == "error" for p in result.problems)
        why = f"{errors} error{'s' if errors != 1 else ''}" if errors else "warnings (--strict)"
        console.out(f"Site not built: fix the {why} above. The previous site, if any, is unchanged.")
        return result.exit_code
    stats = result.stats
    if result.unchanged:
        console.info(f"Nothing changed: {result.out} is up to date ({result.files} files), as of {result.as_of.isoformat()}.")
    else:
        detail = f" ({stats.written} written, {stats.reused} unchanged)" if stats and console.verbose else ""
        console.info(f"Built {result.files} files into {result.out}{detail}, as of {result.as_of.isoformat()}.")
    console.info(f"Open {(result.out / 'index.html').as_uri()} in a browser, or publish the folder to any static host.")
    return result.exit_code


def cmd_types(args: argparse.Namespace, console: Console) -> int:
    from cpdgen.categories import ACTIVITY_TYPES, CATEGORIES

    if args.format == "json":
        data = [{"id": t.id, "label": t.label, "category": t.category} for t in ACTIVITY_TYPES]
        console.out(json.dumps(data, indent=2))
        return EXIT_OK
    width = max(len(t.id) for t in ACTIVITY_TYPES)
    for category in CATEGORIES:
        console.out(console.paint(f"{category.label} ({category.id})", "bold"))
        for activity_type in ACTIVITY_TYPES:
            if activity_type.category == category.id:
                console.out(f"  {activity_type.id.ljust(width)}  {activity_type.label}")
        console.out()
    console.info("Use one in an activity's front matter as 'type: journal-club' instead of a category.")
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cpdgen",
        description="Keep your CPD record as Markdown in git: check it against the IBMS CPD Diploma rules, "
        "and publish it as a portfolio site, PDF and CSV.",
    )
    parser.add_argument("--version", action="version", version=f"cpdgen {__version__}")
    _output_options(parser, top=True)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    check = commands.add_parser(
        "check",
        help="validate every file and judge the current diploma",
        description="Validate every file in content/ and judge the current diploma against the rules. "
        "Exit code 0 when the content is valid and the diploma is eligible, 1 when not, 2 on a set-up error.",
    )
    _common(check)
    check.add_argument("--strict", action="store_true", help="warnings fail the check too")
    check.add_argument(
        "--content-only",
        action="store_true",
        help="check the files only; do not fail because the diploma is not yet eligible (for pre-commit hooks)",
    )
    check.add_argument("--format", choices=("text", "json", "github"), default="text", help="output format")
    check.set_defaults(run=cmd_check)

    build = commands.add_parser(
        "build",
        help="validate, then write the portfolio site to site/",
        description="Validate every file, then write the portfolio site (HTML, and the PDF and CSV downloads) "
        "into a temporary folder and swap it into site/. Nothing is written when a file has an error. "
        "Exit code 0 when built, 1 when the content has errors, 2 on a set-up error.",
    )
    _common(build)
    build.add_argument("--out", type=Path, metavar="DIR", help="the output folder (default: site/ in the portfolio)")
    build.add_argument("--no-pdf", action="store_true", help="skip the PDF downloads (faster)")
    build.add_argument("--strict", action="store_true", help="warnings stop the build too")
    build.set_defaults(run=cmd_build)

    types = commands.add_parser("types", help="list the pre-defined activity types and their categories")
    _output_options(types)
    types.add_argument("--format", choices=("text", "json"), default="text")
    types.set_defaults(run=cmd_types)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; return its exit code."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse: --help, --version, or a usage error
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    console = Console(quiet=args.quiet, verbose=args.verbose)
    run: Callable[[argparse.Namespace, Console], int] | None = getattr(args, "run", None)
    if run is None:
        parser.print_help()
        return EXIT_USAGE
    try:
        return run(args, console)
    except CpdgenError as exc:
        print(f"cpdgen: {exc.message}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("cpdgen: interrupted", file=sys.stderr)
        return 130
    except OSError as exc:
        where = f" {exc.filename}" if exc.filename else ""
        print(f"cpdgen: could not read or write{where}: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_USAGE

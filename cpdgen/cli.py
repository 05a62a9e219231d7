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
from collections.abc import Callable, Sequence
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from cpdgen import __version__
from cpdgen.problems import CpdgenError, Problem, ProblemsFound, exit_code, format_text, printable

if TYPE_CHECKING:
    from cpdgen.export import Written
    from cpdgen.pdf.layout import Workshop

EXIT_OK, EXIT_FAILED, EXIT_USAGE = exit_code("ok"), exit_code("failed"), exit_code("usage")
DEFAULT_NAME = "Your Name"


def _as_of(text: str) -> date:
    """A date option (--as-of, --date): YYYY-MM-DD, and a day written otherwise is offered as one."""
    from cpdgen.dates import DateError, parse_iso

    try:
        return parse_iso(text)
    except DateError as exc:
        raise argparse.ArgumentTypeError(exc.message) from None


def wants_colour(stream: object) -> bool:
    """Colour only on a terminal, never when NO_COLOR is set to anything (no-color.org) or TERM is dumb."""
    isatty = getattr(stream, "isatty", None)
    return bool(isatty is not None and isatty() and not os.environ.get("NO_COLOR") and os.environ.get("TERM") != "dumb")


class Console:
    """Printing: results and reports on stdout, errors on stderr, each in colour only on a terminal."""

    _COLOURS = {"error": "31;1", "warning": "33;1", "ok": "32;1", "bold": "1"}

    def __init__(
        self, quiet: bool = False, verbose: bool = False, stream: TextIO | None = None, err: TextIO | None = None
    ) -> None:
        self.stream = stream or sys.stdout
        self.err = err or sys.stderr
        self.quiet = quiet
        self.verbose = verbose
        self.colour = wants_colour(self.stream)
        self.err_colour = wants_colour(self.err)

    def paint(self, text: str, style: str) -> str:
        code = self._COLOURS.get(style)
        return f"\033[{code}m{text}\033[0m" if self.colour and code else text

    def out(self, text: str = "") -> None:
        """A command's result: printed even under --quiet."""
        print(text, file=self.stream)

    def info(self, text: str = "") -> None:
        """Chatter: silenced by --quiet."""
        if not self.quiet:
            print(text, file=self.stream)

    def detail(self, text: str = "") -> None:
        """Extra detail: printed only under --verbose."""
        if self.verbose and not self.quiet:
            print(text, file=self.stream)

    def error(self, text: str) -> None:
        """An error, on stderr: never silenced."""
        label = "\033[31;1mcpdgen:\033[0m" if self.err_colour else "cpdgen:"
        print(f"{label} {text}", file=self.err)


def _output_options(parser: argparse.ArgumentParser, top: bool = False) -> None:
    # Accepted before or after the command name; a command's own default must not
    # overwrite what was given before it, hence SUPPRESS below the top level.
    default = False if top else argparse.SUPPRESS
    parser.add_argument("-q", "--quiet", action="store_true", default=default, help="print only problems")
    parser.add_argument("-v", "--verbose", action="store_true", default=default, help="print more detail")


def _common(parser: argparse.ArgumentParser, as_of: bool = True) -> None:
    _output_options(parser)
    parser.add_argument(
        "--root",
        type=Path,
        default=Path("."),
        metavar="DIR",
        help="the portfolio folder, which holds content/ (default: .)",
    )
    if as_of:
        parser.add_argument(
            "--as-of", type=_as_of, metavar="YYYY-MM-DD", help="judge the diplomas as on this day (default: today)"
        )


def _no_cache(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--no-cache", action="store_true", help="read and keep no cache (parsed files, rendered Markdown, PDFs)"
    )


def _year(text: str) -> int:
    """--year: a four-digit year."""
    from cpdgen.rules import MAX_YEAR, MIN_YEAR

    if not text.strip().isdigit() or not MIN_YEAR <= int(text) <= MAX_YEAR:
        raise argparse.ArgumentTypeError(f"'{text}' is not a year from {MIN_YEAR} to {MAX_YEAR}, like 2026")
    return int(text)


def _period(text: str) -> tuple[date, date]:
    """--period: two dates, YYYY-MM-DD:YYYY-MM-DD, the first on or before the second."""
    first, sep, last = text.partition(":")
    if not sep:
        raise argparse.ArgumentTypeError(f"write the period as FIRST:LAST, like 2025-07-01:2026-06-30, not '{text}'")
    start, end = _as_of(first.strip()), _as_of(last.strip())
    if start > end:
        raise argparse.ArgumentTypeError(f"the period starts ({start}) after it ends ({end})")
    return start, end


def cmd_check(args: argparse.Namespace, console: Console) -> int:
    from cpdgen.cache import Caches, FileMemo
    from cpdgen.loader import load_portfolio, parse_versions
    from cpdgen.portfolio import resolve_as_of
    from cpdgen.problems import has_errors, sort_problems
    from cpdgen.report import github_report, gitlab_report, json_report, step_summary, text_report
    from cpdgen.schemes import declaration_year, twelve_month_periods

    root = args.root.resolve() if args.root.exists() else args.root
    memo = FileMemo(Caches(root, enabled=not args.no_cache).path("files.pickle"), parse_versions())
    portfolio = load_portfolio(root, memo)
    memo.save()
    as_of = resolve_as_of(portfolio.timezone, args.as_of)
    assessment = portfolio.assess(as_of)
    problems = sort_problems(portfolio.problems)
    current = assessment.current_diploma if assessment else None
    lenses = portfolio.lenses.only(args.scheme) if args.scheme else portfolio.lenses
    if (args.year or args.period) and not lenses.science_council:
        raise CpdgenError(
            "--year and --period choose the Science Council's year: add --scheme science-council, "
            "or list science-council under registrations: in portfolio.yaml"
        )
    periods = (
        [declaration_year(args.year)] if args.year else twelve_month_periods(*args.period) if args.period else None
    )
    schemes = portfolio.assess_schemes(as_of, lenses, periods)
    # Each scheme the member belongs to fails the check when it is not met, as the diploma does;
    # --content-only checks the files alone.
    unmet = (lenses.ibms and not (current and current.eligible)) or bool(schemes.failed)
    if portfolio.setup_failed:
        code = EXIT_USAGE
    elif has_errors(problems, args.strict) or (not args.content_only and unmet):
        code = EXIT_FAILED
    else:
        code = EXIT_OK
    ok = code == EXIT_OK
    if args.format == "json":
        report = json_report(as_of, assessment, problems, ok, schemes, portfolio.lenses)
        console.out(json.dumps(report, indent=2, ensure_ascii=False))
    elif args.format == "github":
        console.out(github_report(portfolio, assessment, problems, ok, schemes if lenses.listed else None))
    elif args.format == "gitlab":
        entries = gitlab_report(assessment, problems, args.content_only, schemes if lenses.listed else None)
        console.out(json.dumps(entries, indent=2, ensure_ascii=False))
    else:
        text = text_report(
            portfolio,
            assessment,
            problems,
            ok,
            quiet=console.quiet,
            verbose=console.verbose,
            paint=console.paint,
            schemes=schemes if lenses.listed else None,
        )
        if text:
            console.out(text)
    summary_file = os.environ.get("GITHUB_STEP_SUMMARY")
    if summary_file:
        # GitHub shows this file on the run's page; each step appends its part, as GitHub asks.
        summary = step_summary(portfolio, assessment, problems, ok, schemes if lenses.listed else None)
        try:
            with open(summary_file, "a", encoding="utf-8") as handle:
                handle.write(summary + "\n")
        except OSError as exc:
            console.error(f"warning: the job summary could not be written to {summary_file}: {exc.strerror or exc}")
    return code


def _print_problems(console: Console, problems: Sequence[Problem]) -> None:
    for problem in problems:
        console.out(console.paint(format_text(problem), problem.severity))


def _refused(console: Console, exc: ProblemsFound, nothing: str) -> int:
    """The problems that stopped a private record being written, ``nothing`` said of it, and the exit code."""
    _print_problems(console, exc.problems)
    console.out(f"{nothing}: fix the {len(exc.problems)} problem(s) above first.")
    return exc.exit_code


def _report_written(console: Console, items: Sequence[Written], kept_out: str, detail: str = "") -> None:
    """A line for each file a private record (export, profile, calendar) wrote, or left as it was."""
    for item in items:
        if item.status == "made":
            console.info(f"made a new folder, with this .gitignore so git leaves {kept_out} out: {_shown(item.path)}")
            continue
        details = [d for d in (detail, "it was not written by cpdgen" if item.status == "replaced" else "") if d]
        verb = {"written": "wrote", "unchanged": "unchanged", "replaced": "replaced"}[item.status]
        said = "; ".join(details)
        console.info(f"{verb} ({said}): {_shown(item.path)}" if said else f"{verb}: {_shown(item.path)}")


def cmd_build(args: argparse.Namespace, console: Console) -> int:
    if args.no_pdf:
        return _build(args, console, None)
    from cpdgen.pdf.layout import pdf_workshop

    # Before anything heavy is imported, so WeasyPrint is ready by the time the PDFs are known.
    with pdf_workshop() as workshop:
        return _build(args, console, workshop)


def _build(args: argparse.Namespace, console: Console, workshop: Workshop | None) -> int:
    from cpdgen.site.build import build_site

    root = args.root
    out = args.out if args.out is not None else None

    def progress(n: int, total: int, diploma_id: str) -> None:
        if console.stream.isatty() and not console.quiet:
            from cpdgen.words import diploma_name

            console.out(f"Rendering the PDF of {diploma_name(diploma_id)} ({n} of {total})…")

    result = build_site(
        root,
        out,
        as_of=args.as_of,
        pdf=not args.no_pdf,
        strict=args.strict,
        use_cache=not args.no_cache,
        progress=progress,
        workshop=workshop,
    )
    _print_problems(console, result.problems)
    if not result.written:
        errors = sum(p.severity == "error" for p in result.problems)
        why = f"{errors} error{'s' if errors != 1 else ''}" if errors else "warnings (--strict)"
        console.out(f"Site not built: fix the {why} above. The previous site, if any, is unchanged.")
        return result.exit_code
    stats = result.stats
    if result.unchanged:
        console.info(
            f"Nothing changed: {result.out} is up to date ({result.files} files), as of {result.as_of.isoformat()}."
        )
    else:
        detail = f" ({stats.written} written, {stats.reused} unchanged)" if stats and console.verbose else ""
        console.info(f"Built {result.files} files into {result.out}{detail}, as of {result.as_of.isoformat()}.")
    console.info(f"Open {(result.out / 'index.html').as_uri()} in a browser, or publish the folder to any static host.")
    return result.exit_code


def cmd_submit(args: argparse.Namespace, console: Console) -> int:
    from cpdgen.lifecycle import submit
    from cpdgen.report import format_day

    done = submit(args.root, args.diploma, args.on, with_lock=not args.no_lock)
    diploma = done.diploma
    day = format_day(diploma.submitted)
    if done.lock is None:
        console.info(
            f"{diploma.id} is recorded as submitted for validation on {day}, without a lock: cpdgen judges it "
            "from your files as they are."
        )
    elif "content/portfolio.yaml" not in done.files:
        console.info(
            f"{diploma.id}, submitted for validation on {day}, is now frozen as the record stands: "
            f"{diploma.counted} activities count. Kept in {done.lock.path} (set {done.lock.short})."
        )
    else:
        console.info(
            f"{diploma.id} submitted for validation on {day}: {diploma.counted} activities count "
            f"({diploma.required} needed), in {len(diploma.categories)} categories ({diploma.required_categories} "
            f"needed). The record as it stands is frozen in {done.lock.path} (set {done.lock.short})."
        )
    if done.files:
        console.info(f"Commit {' and '.join(done.files)}: git add {' '.join(done.files)}")
    return EXIT_OK


def cmd_issue(args: argparse.Namespace, console: Console) -> int:
    from cpdgen.lifecycle import issue
    from cpdgen.report import format_day

    done = issue(args.root, args.diploma, args.on)
    console.info(f"{done.diploma} validated and issued on {format_day(done.on)}.")
    if done.next_diploma:
        console.info(f"{done.next_diploma} starts on {format_day(done.on)}: activities from that day count towards it.")
    console.info(f"Commit {' and '.join(done.files)}: git add {' '.join(done.files)}")
    return EXIT_OK


def cmd_serve(args: argparse.Namespace, console: Console) -> int:
    from cpdgen.site.serve import serve

    if args.port is not None and not 0 <= args.port <= 65535:
        raise CpdgenError(f"--port {args.port} is not a port number (0 to 65535)")
    return serve(args.root, host=args.host, port=args.port, as_of=args.as_of, out=console.stream)


def cmd_types(args: argparse.Namespace, console: Console) -> int:
    from cpdgen.categories import ACTIVITY_TYPES, CATEGORIES, SOURCES

    if args.format == "json":
        data = [{"id": t.id, "label": t.label, "category": t.category, "source": t.source} for t in ACTIVITY_TYPES]
        console.out(json.dumps(data, indent=2))
        return EXIT_OK
    console.info(f"Pre-defined activity types: {SOURCES['hcpc']}, in the HCPC's categories;")
    console.info(f"{SOURCES['ibms']} [IBMS]; and {SOURCES['lab']} [lab].")
    console.info("Each gives its category; write 'category:' as well when another fits the activity better.")
    console.info()
    width = max(len(t.id) for t in ACTIVITY_TYPES)
    marks = {"hcpc": "", "ibms": "  [IBMS]", "lab": "  [lab]"}
    for category in CATEGORIES:
        console.out(console.paint(f"{category.label} ({category.id})", "bold"))
        for activity_type in ACTIVITY_TYPES:
            if activity_type.category == category.id:
                console.out(f"  {activity_type.id.ljust(width)}  {activity_type.label}{marks[activity_type.source]}")
        console.out()
    console.info(
        "Use one in an activity's front matter as 'type: journal-club' instead of a category, "
        'or start an activity with it: cpdgen new "Title" --type journal-club'
    )
    return EXIT_OK


def cmd_new(args: argparse.Namespace, console: Console) -> int:
    from cpdgen.scaffold import new_activity, open_in_editor, portfolio_timezone, require_content, resolve_kind

    kind = resolve_kind(args.type, args.category)
    require_content(args.root)
    if args.date is not None:
        day = args.date
    else:
        from cpdgen.portfolio import resolve_as_of

        day = resolve_as_of(portfolio_timezone(args.root))
    path = new_activity(args.root, args.title, day, kind)
    console.info(str(path))
    console.detail(
        f"Dated {day.isoformat()}, {kind.key} {kind.id}. Describe what you did, then write your reflection "
        "under '## Reflection': the activity does not count until you do."
    )
    if args.edit:
        open_in_editor(path)
    return EXIT_OK


def cmd_init(args: argparse.Namespace, console: Console) -> int:
    from cpdgen.portfolio import DEFAULT_TIMEZONE, resolve_as_of
    from cpdgen.requirement import choose
    from cpdgen.scaffold import init_portfolio

    choice = choose(args.requirement)
    written = init_portfolio(args.dir, args.name, resolve_as_of(DEFAULT_TIMEZONE), choice)
    console.info(f"Started a CPD portfolio in {args.dir} ({len(written)} files).")
    for path in written:
        console.detail(f"  {path}")
    if choice.line is not None:
        console.detail(f"CI installs {choice.line}: {choice.why}.")
    if choice.warning:
        console.error(f"warning: {choice.warning}")
    console.info("Next:")
    if args.name == DEFAULT_NAME:
        console.info(f"  - put your name in {args.dir / 'content' / 'portfolio.yaml'}")
    console.info(f"  - read {args.dir / 'README.md'}: how to record an activity, check, build and publish")
    git = "git add ., git commit" if (args.dir / ".git").exists() else "git init, git add ., git commit"
    console.info(f"  - save it with git ({git}) and push it to GitHub or GitLab")
    return EXIT_OK


def cmd_ci_update(args: argparse.Namespace, console: Console) -> int:
    from cpdgen.requirement import REQUIREMENTS, choose, update_requirements

    choice = choose(args.requirement)
    if choice.line is None:
        raise CpdgenError(f"{REQUIREMENTS} left as it is: {choice.warning}")
    path, before, changed = update_requirements(args.root, choice)
    if not changed:
        console.info(f"{_shown(path)} already installs {choice.line}: nothing to change.")
    elif before is None:
        console.info(f"{_shown(path)}: added {choice.line}")
    else:
        console.info(f"{_shown(path)}: {before} -> {choice.line}")
    console.detail(f"Because {choice.why}.")
    if choice.warning:
        console.error(f"warning: {choice.warning}")
    if changed:
        console.info(f"Commit it: git add {REQUIREMENTS} && git commit -m 'CI installs {choice.line}'")
    return EXIT_OK


def cmd_doctor(args: argparse.Namespace, console: Console) -> int:
    from cpdgen.doctor import run_checks, system_label, system_of

    system = system_of()
    checks = run_checks(args.root, system)
    console.info(f"What cpdgen needs on this computer ({system_label(system)}):")
    for check in checks:
        mark = console.paint("ok     ", "ok") if check.ok else console.paint("missing", "error")
        if check.ok and console.quiet:
            continue
        console.out(f"  {mark}  {check.what}: {check.found}")
        if check.fix:
            console.out(f"           fix: {check.fix}")
        console.detail(f"           needed by: {check.needed_by}")
    missing = [c for c in checks if not c.ok]
    if missing:
        console.out(f"{len(missing)} of {len(checks)} checks failed: install or fix what is marked missing.")
        return EXIT_FAILED
    console.info("All is well.")
    return EXIT_OK


def cmd_schema(args: argparse.Namespace, console: Console) -> int:
    from cpdgen.schema import SCHEMAS, dump, schema_for, write_schemas

    names = list(SCHEMAS) if args.which == "all" else [args.which]
    if args.out is not None:
        for path in write_schemas(args.out, names):
            console.info(str(path))
        return EXIT_OK
    if len(names) == 1:
        console.out(dump(schema_for(names[0])).rstrip("\n"))
    else:
        console.out(json.dumps({name: schema_for(name) for name in names}, indent=2, ensure_ascii=False))
    return EXIT_OK


def _shown(path: Path) -> str:
    """A path as the member would type it: relative to the current folder when it is inside it."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def cmd_export(args: argparse.Namespace, console: Console) -> int:
    from cpdgen.export import export_records

    progress = None
    if sys.stderr.isatty() and not console.quiet:

        def progress(n: int, total: int, diploma_id: str, cached: bool) -> None:
            from cpdgen.words import diploma_name

            state = "unchanged, from the cache" if cached else "rendering"
            print(f"PDF {n} of {total}: {diploma_name(diploma_id)} ({state})", file=sys.stderr, flush=True)

    try:
        result = export_records(
            args.root,
            args.kind,
            diploma=args.diploma,
            out=args.out,
            as_of=args.as_of,
            force=args.force,
            use_cache=not args.no_cache,
            progress=progress,
        )
    except ProblemsFound as exc:
        return _refused(console, exc, "Nothing exported")
    _print_problems(console, result.warnings)
    _report_written(console, result.written, "the complete record")
    console.info("This is the complete record, private activities included: keep it out of git and of site/.")
    return EXIT_OK


def _ids(text: str) -> list[str]:
    """--select: activity ids separated by commas (spaces around them allowed)."""
    ids = [part.strip() for part in text.split(",") if part.strip()]
    if not ids:
        raise argparse.ArgumentTypeError(
            "give activity ids separated by commas, e.g. 2025-03-11-eqa,2025-05-20-webinar"
        )
    return ids


def cmd_hcpc_profile(args: argparse.Namespace, console: Console) -> int:
    from cpdgen.export import export_profile, start_profile

    if args.start:
        for started in start_profile(args.root, audit_date=args.audit_date, since=args.since):
            verb = "created" if started.status == "created" else "kept (it exists; cpdgen never writes over it)"
            console.info(f"{verb}: {_shown(started.path)}")
        console.info("Write in them (the notes in <!-- --> are prompts, never counted), then run: cpdgen hcpc-profile")
        return EXIT_OK
    select = [i for group in args.select for i in group]
    try:
        result = export_profile(
            args.root, audit_date=args.audit_date, since=args.since, select=select, out=args.out, force=args.force
        )
    except ProblemsFound as exc:
        return _refused(console, exc, "Nothing written")
    from cpdgen.words import long_date, plural

    profile = result.profile
    _print_problems(console, result.problems)
    period = profile.period
    console.info(
        f"HCPC CPD profile of {long_date(period.start)} to {long_date(period.end)} (from {period.why}): "
        f"{plural(len(profile.listed), 'activity', 'activities')} in {plural(profile.category_count, 'type')} "
        f"of learning, {plural(len(profile.gaps), 'gap') if profile.gaps else 'no gap'} of three months or more, "
        f"{plural(len(profile.evidence), 'evidence item')}."
    )
    if profile.selected:
        console.info(f"The statement draws on {', '.join(str(item.number) for item in profile.selected)}.")
    elif profile.listed:
        console.info(
            "No activity selected for the statement yet: choose 4 to 6 with --select ID,ID,… "
            "(* marks those that name HCPC standard 3 or 4):"
        )
        for item in profile.listed:
            mark = "*" if {3, 4} & set(item.activity.meta.standards) else " "
            console.info(f"  {mark} {item.activity.id}  {item.activity.title}")
    _report_written(console, result.written, "the profile")
    errors = len(profile.errors)
    if errors:
        console.out(f"Draft written, but not ready to send: fix the {plural(errors, 'error')} above.")
        return EXIT_FAILED
    console.info("A draft, private activities included: read it through, and keep it out of git and of site/.")
    return EXIT_OK


def cmd_calendar(args: argparse.Namespace, console: Console) -> int:
    from cpdgen.ical import write_calendar

    try:
        written, events = write_calendar(args.root, args.out, as_of=args.as_of, force=args.force)
    except ProblemsFound as exc:
        return _refused(console, exc, "No calendar written")
    _report_written(console, written, "your calendar", f"{events} events")
    console.info(
        "It holds private activities and goals: import it into your own calendar, or subscribe to it where only "
        "you can reach it; never publish it."
    )
    return EXIT_OK


def cmd_import(args: argparse.Namespace, console: Console) -> int:
    from cpdgen.importer import import_csv

    result = import_csv(args.root, args.file, maps=args.map, dry_run=args.dry_run, allow_errors=args.allow_errors)
    name = args.file.name
    for note in result.notes:
        console.out(console.paint(f"{name}: note: {note}", "warning"))
    for outcome in result.outcomes:
        style = {"failed": "error", "skipped": "warning"}.get(outcome.status, "")
        if outcome.status == "failed" or not console.quiet:
            console.out(console.paint(f"{name}: row {outcome.row}: {outcome.message}", style))
        for warning in outcome.warnings:
            console.out(console.paint(f"{name}: row {outcome.row}: warning: {warning}", "warning"))
    done = result.count("would-write" if args.dry_run else "written")
    noun = "activity" if done == 1 else "activities"
    parts = [f"{done} {noun} {'would be imported' if args.dry_run else 'imported'}"]
    if result.failed:
        parts.append(f"{result.failed} {'row' if result.failed == 1 else 'rows'} not imported")
    if result.count("skipped"):
        parts.append(f"{result.count('skipped')} skipped")
    console.out(("Dry run, nothing written: " if args.dry_run else "") + "; ".join(parts) + ".")
    if result.failed:
        console.info("Fix those rows in the CSV and import it again: rows already imported are skipped.")
        if any(o.message.startswith("not imported, as 'cpdgen check'") for o in result.outcomes):
            console.info("Or write them anyway with --allow-errors, and fix them in the files before you commit.")
    elif done and not args.dry_run:
        console.info("Run 'cpdgen check' to see where your diploma stands.")
    return EXIT_FAILED if result.failed else EXIT_OK


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
        description="Validate every file in content/ and judge the current diploma against the rules, and each "
        "other scheme listed under registrations: in portfolio.yaml (the HCPC, the Science Council). "
        "Exit code 0 when the content is valid, the diploma is eligible and the Science Council's year is met; "
        "1 when not; 2 on a set-up error. In GitHub Actions (GITHUB_STEP_SUMMARY set) it also appends a "
        "Markdown summary for the run's page.",
    )
    _common(check)
    check.add_argument("--strict", action="store_true", help="warnings fail the check too")
    check.add_argument(
        "--content-only",
        action="store_true",
        help="check the files only; do not fail because the diploma (or the Science Council's year) is not yet met "
        "(for pre-commit hooks)",
    )
    check.add_argument(
        "--scheme",
        choices=("ibms", "hcpc", "science-council"),
        help="judge this scheme alone, whatever registrations: lists (ibms: the diploma)",
    )
    period = check.add_mutually_exclusive_group()
    period.add_argument(
        "--year",
        type=_year,
        metavar="YYYY",
        help="the Science Council's declaration year to judge, 1 January to 31 December (default: this year)",
    )
    period.add_argument(
        "--period",
        type=_period,
        metavar="FIRST:LAST",
        help="the days to judge on the Science Council's standards, YYYY-MM-DD:YYYY-MM-DD, in 12-month periods",
    )
    check.add_argument(
        "--format",
        choices=("text", "json", "github", "gitlab"),
        default="text",
        help="output format (gitlab: a Code Quality report, as JSON)",
    )
    _no_cache(check)
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
    _no_cache(build)
    build.set_defaults(run=cmd_build)

    submit = commands.add_parser(
        "submit",
        help="record that you submitted a diploma for validation, and freeze it",
        description="Record the day you submitted a diploma for validation in content/portfolio.yaml "
        "(comments and layout kept) and freeze the record as it stands in content/diplomas/<id>.lock: from "
        "then on the diploma is judged from the lock, and check reports any change to what was submitted. "
        "Refuses while a file has errors or the diploma is not eligible on that day.",
    )
    _common(submit, as_of=False)
    submit.add_argument("diploma", nargs="?", help="the diploma (default: the open one)")
    submit.add_argument(
        "--on", type=_as_of, metavar="YYYY-MM-DD", help="the day you submitted it (default: today; a past day "
        "freezes the record as it stands)"
    )  # fmt: skip
    submit.add_argument(
        "--no-lock",
        action="store_true",
        help="only record the date, for a diploma submitted before you kept this record (judged from the files)",
    )
    submit.set_defaults(run=cmd_submit)

    issue = commands.add_parser(
        "issue",
        help="record that the IBMS validated and issued a diploma, and open the next",
        description="Record the day the IBMS validated and issued a submitted diploma in content/portfolio.yaml, "
        "and list the next diploma starting that day, as the IBMS sets it up.",
    )
    _common(issue, as_of=False)
    issue.add_argument("diploma", nargs="?", help="the diploma (default: the submitted one)")
    issue.add_argument("--on", type=_as_of, metavar="YYYY-MM-DD", required=True, help="the day it was issued")
    issue.set_defaults(run=cmd_issue)

    serve = commands.add_parser(
        "serve",
        help="preview the portfolio in your browser, rebuilt as you save",
        description="Build the site into a private folder (not site/), serve it on http://127.0.0.1 and "
        "rebuild whenever a file in content/ or templates/ changes; open pages reload by themselves, and "
        "show the problems when a file has a mistake. Ctrl-C stops it.",
    )
    _common(serve)
    serve.add_argument("--port", type=int, metavar="N", help="the port (default: 8000, or the next free one)")
    serve.add_argument(
        "--host", default="127.0.0.1", help="the address to listen on (default 127.0.0.1: this computer only)"
    )
    serve.set_defaults(run=cmd_serve)

    export = commands.add_parser(
        "export",
        help="write the complete record (private activities included) as PDF or CSV",
        description="Write the complete record of your diplomas, private activities and drafts included, "
        "as one PDF per diploma or as CSV (all activities, and one file per diploma). "
        "Default folder: records/ in the portfolio. Refuses while a file in content/ is invalid.",
    )
    _common(export)
    export.add_argument("kind", choices=("pdf", "csv"), help="pdf: one PDF per diploma; csv: spreadsheets")
    export.add_argument("--diploma", metavar="ID", help="only this diploma (default: every diploma)")
    export.add_argument(
        "--out", type=Path, metavar="PATH", help="a folder (default: records/), or a file name ending in .pdf or .csv"
    )
    export.add_argument("--force", action="store_true", help="replace files in the way that cpdgen did not write")
    _no_cache(export)
    export.set_defaults(run=cmd_export)

    profile = commands.add_parser(
        "hcpc-profile",
        help="write a draft HCPC CPD profile (PDF and Word) from your record, for an HCPC audit",
        description="Write a draft of the CPD profile the HCPC asks for at an audit: a cover, your summary of "
        "practice history, the dated list of your CPD activities, the types of learning, any gaps of three "
        "months or more with your explanations, your statement on the activities you select, and an evidence "
        "index. Your own words live in content/hcpc/ (summary.md, statement.md, gaps.md: --start creates them). "
        "Written as PDF and .docx into records/ (kept out of git). Refuses while a file in content/ has an "
        "error; exit code 1 when the draft still lacks something the HCPC asks for.",
    )
    _output_options(profile)
    profile.add_argument(
        "--root", type=Path, default=Path("."), metavar="DIR",
        help="the portfolio folder, which holds content/ (default: .)",
    )  # fmt: skip
    profile.add_argument(
        "--audit-date", type=_as_of, metavar="YYYY-MM-DD", help="the day the profile is for (default: today)"
    )
    profile.add_argument(
        "--since", type=_as_of, metavar="YYYY-MM-DD",
        help="the first day of the period (default: hcpc: last_renewal, else two years before the audit date)",
    )  # fmt: skip
    profile.add_argument(
        "--select", type=_ids, action="append", default=[], metavar="ID,…",
        help="the activities your statement is built on (usually 4 to 6); default: none, and they are listed",
    )  # fmt: skip
    profile.add_argument(
        "--out", type=Path, metavar="DIR", help="the folder to write into (default: records/, which git leaves out)"
    )
    profile.add_argument("--force", action="store_true", help="replace files in the way that cpdgen did not write")
    profile.add_argument(
        "--start", action="store_true",
        help="create content/hcpc/summary.md, statement.md and gaps.md with prompts (never over a file)",
    )  # fmt: skip
    profile.set_defaults(run=cmd_hcpc_profile)

    calendar = commands.add_parser(
        "calendar",
        help="write the dates your CPD depends on as an iCalendar file, to import or subscribe to",
        description="Write an iCalendar file (default: records/cpd-calendar.ics) of the days your CPD depends on: "
        "when each counted activity leaves the two-year window, when the current diploma stops being eligible if "
        "nothing is added, three months after your latest activity, the HCPC's renewal windows and the Science "
        "Council's declarations (for the schemes registrations: lists), and your goals' review and target dates. "
        "Importing it again updates the events rather than adding new ones. It holds private activities, so, like "
        "export, it is written where git leaves it out. Refuses while a file in content/ is invalid.",
    )
    _common(calendar)
    calendar.add_argument(
        "--out", type=Path, metavar="PATH", help="a file ending in .ics, or a folder (default: records/)"
    )
    calendar.add_argument("--force", action="store_true", help="replace a file in the way that cpdgen did not write")
    calendar.set_defaults(run=cmd_calendar)

    import_ = commands.add_parser(
        "import",
        help="turn a CSV of activities into activity files",
        description="Write one activity file per row of a CSV: cpdgen's own, or another ePortfolio's export "
        "(headers such as Title/Activity, Date/Date completed, Category/CPD category, Description, Reflection "
        "are recognised). Never overwrites a file.",
    )
    _common(import_, as_of=False)
    import_.add_argument("file", type=Path, metavar="FILE.csv", help="the CSV to import")
    import_.add_argument("--dry-run", action="store_true", help="say what would be written; write nothing")
    import_.add_argument(
        "--allow-errors",
        action="store_true",
        help="write rows even when 'cpdgen check' would report an error in them (a patient identifier included)",
    )
    import_.add_argument(
        "--map",
        action="append",
        default=[],
        metavar="COLUMN=FIELD",
        help="read COLUMN as FIELD (title, date, start, category, type, hours, tags, standards, evidence, "
        "private, draft, description, reflection, id, or ignore); repeat for several",
    )
    import_.set_defaults(run=cmd_import)

    types = commands.add_parser("types", help="list the pre-defined activity types and their categories")
    _output_options(types)
    types.add_argument("--format", choices=("text", "json"), default="text", help="output format (default: text)")
    types.set_defaults(run=cmd_types)

    new = commands.add_parser(
        "new",
        help="create an activity file, with prompts for the reflection",
        description="Create content/activities/<year>/<date>-<title>.md with its front matter filled in and "
        "prompts for the reflection, and print its path. Never overwrites: if the file (or an activity with the "
        "same id) exists, nothing is written and the exit code is 2.",
    )
    _output_options(new)
    new.add_argument("title", help='the activity\'s title, e.g. "Journal club: sepsis markers"')
    kind = new.add_mutually_exclusive_group()
    kind.add_argument("--type", metavar="TYPE", help="a pre-defined activity type (see 'cpdgen types')")
    kind.add_argument("--category", metavar="CATEGORY", help="a CPD category, e.g. work-based-learning")
    new.add_argument(
        "--date", type=_as_of, metavar="YYYY-MM-DD", help="the day the activity was completed (default: today)"
    )
    new.add_argument(
        "--root",
        type=Path,
        default=Path("."),
        metavar="DIR",
        help="the portfolio folder, which holds content/ (default: .)",
    )
    new.add_argument("--edit", action="store_true", help="open the new file in $VISUAL or $EDITOR")
    new.set_defaults(run=cmd_new)

    init = commands.add_parser(
        "init",
        help="start a new portfolio in a new or empty folder",
        description="Create a portfolio a member can push as it is: content/portfolio.yaml, an example "
        "activity, README.md, .gitignore, a pre-commit configuration, a GitHub Actions workflow, a GitLab CI "
        "file, and requirements.txt naming the cpdgen running now, as it was installed (see ci-update). "
        "The folder must be new or empty (a folder holding only .git is allowed); otherwise exit code 2.",
    )
    _output_options(init)
    init.add_argument("dir", type=Path, metavar="DIR", help="the folder to create the portfolio in")
    init.add_argument("--name", default=DEFAULT_NAME, help="your name, for portfolio.yaml")
    _requirement_option(init)
    init.set_defaults(run=cmd_init)

    ci_update = commands.add_parser(
        "ci-update",
        help="make requirements.txt install the cpdgen you run, in CI",
        description="Rewrite cpdgen's line in requirements.txt (added when there is none) so that CI installs "
        "exactly the cpdgen you run: the same release from PyPI, or the same commit of its git repository. "
        "Every other line is kept as it is. Refuses (exit code 2) when CI could not install this cpdgen: "
        "a checkout with changes not committed, a commit not pushed, or a file only this computer has.",
    )
    _output_options(ci_update)
    ci_update.add_argument(
        "--root", type=Path, default=Path("."), metavar="DIR",
        help="the portfolio folder, which holds requirements.txt (default: .)",
    )  # fmt: skip
    _requirement_option(ci_update)
    ci_update.set_defaults(run=cmd_ci_update)

    doctor = commands.add_parser(
        "doctor",
        help="check this computer has what cpdgen needs, and say how to install what is missing",
        description="Check what the commands need: Python, WeasyPrint with Pango and fonts for the PDF (tried in "
        "a separate process), git, the cpdgen your CI installs (against requirements.txt), and a cache folder "
        "cpdgen can write. Each missing piece is printed with the command that installs it on this system. "
        "Exit code 0 when all is well, 1 when something is missing.",
    )
    _output_options(doctor)
    doctor.add_argument(
        "--root", type=Path, default=Path("."), metavar="DIR",
        help="the portfolio folder, whose requirements.txt is compared (default: .)",
    )  # fmt: skip
    doctor.set_defaults(run=cmd_doctor)

    schema = commands.add_parser(
        "schema",
        help="print the JSON Schema of activity front matter and portfolio.yaml, for editors",
        description="Print the JSON Schema (draft 7) of activity, reflection and goal front matter and of "
        "portfolio.yaml, or write them as <name>.schema.json files with --out.",
    )
    _output_options(schema)
    schema.add_argument(
        "--which",
        choices=("activity", "reflection", "goal", "portfolio", "all"),
        default="all",
        help="which schema (default: all)",
    )
    schema.add_argument("--out", type=Path, metavar="DIR", help="write <name>.schema.json files into DIR")
    schema.set_defaults(run=cmd_schema)
    return parser


def _requirement_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--requirement",
        metavar="SPEC",
        help="the cpdgen CI installs, as pip writes it (e.g. 'cpdgen==0.2.0'); default: the cpdgen running now, "
        "as it was installed",
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; return its exit code."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse: --help, --version, or a usage error
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    console = Console(quiet=args.quiet, verbose=args.verbose)
    if args.quiet and args.verbose:
        console.error("choose --quiet or --verbose, not both")
        return EXIT_USAGE
    run: Callable[[argparse.Namespace, Console], int] | None = getattr(args, "run", None)
    if run is None:
        parser.print_help()
        return EXIT_USAGE
    try:
        code = run(args, console)
        console.stream.flush()  # a closed pipe is reported here, not at exit
        return code
    except CpdgenError as exc:
        console.error(exc.message)
        return exc.exit_code
    except KeyboardInterrupt:
        console.error("interrupted")
        return exit_code("interrupted")
    except BrokenPipeError:
        # The reader went away (``cpdgen schema | head``): stop quietly, as other tools do.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return exit_code("broken-pipe")
    except OSError as exc:
        where = f" {exc.filename}" if exc.filename else ""
        console.error(f"could not read or write{where}: {exc.strerror or exc}")
        return EXIT_USAGE
    except Exception as exc:  # a mistake in cpdgen itself: say so plainly; the traceback on request
        if os.environ.get("CPDGEN_DEBUG"):
            raise
        console.error(
            f"this is a mistake in cpdgen, not in your files ({type(exc).__name__}: {printable(str(exc))}). "
            "Please report it, with the command you ran; run it again with CPDGEN_DEBUG=1 for the details"
        )
        return exit_code("bug")

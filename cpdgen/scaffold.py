"""Starting things: a new activity file (``cpdgen new``) and a new portfolio (``cpdgen init``).

Both only ever create files: a file that exists is never opened for writing, so
nothing a member wrote can be overwritten. The file texts come from the templates in
``templates/scaffold/``.
"""

from __future__ import annotations

import os
import re
import string
import unicodedata
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from cpdgen import categories, theme_dir
from cpdgen.frontmatter import parse_yaml
from cpdgen.problems import CpdgenError, ReadError
from cpdgen.requirement import Choice

MAX_SLUG = 60
# A plain YAML scalar is used only for text that cannot be mistaken for anything else
# by any YAML reader (cpdgen's or another tool's); everything else is double-quoted.
_PLAIN = re.compile(r"[^\W\d_][^:#\"'\[\]{},&*!|>%@`\\]*")
_YAML11_SPECIAL = {"yes", "no", "on", "off", "y", "n", "true", "false", "null", "~"}


def _template(name: str) -> str:
    return (theme_dir() / "scaffold" / name).read_text(encoding="utf-8")


def _fill(template: str, **values: str) -> str:
    return string.Template(_template(template)).substitute(values)


def clean_title(title: str) -> str:
    """The title as cpdgen will read it back: runs of white space made one space.

    Raises CpdgenError when nothing is left, or for characters a text file should not hold.
    """
    text = " ".join(title.split())
    if not text:
        raise CpdgenError('the title is empty; give the activity a title, e.g. "Journal club: sepsis markers"')
    for char in text:
        kind = unicodedata.category(char)
        if kind in ("Cc", "Cs"):
            raise CpdgenError(f"the title contains a control character (U+{ord(char):04X}); remove it")
    return text


def yaml_string(text: str) -> str:
    """``text`` as a YAML scalar that any YAML reader gives back exactly: plain when safe, else double-quoted."""
    if _PLAIN.fullmatch(text) and text == text.strip() and text.lower() not in _YAML11_SPECIAL and _reads_back(text):
        return text
    return _double_quoted(text)


def _reads_back(text: str) -> bool:
    try:
        data = parse_yaml(f"v: {text}\n").data
    except ReadError:
        return False
    value = data.get("v") if isinstance(data, dict) else None
    return type(value) is str and value == text


def _double_quoted(text: str) -> str:
    out = ['"']
    for char in text:
        code = ord(char)
        if char in '"\\':
            out.append("\\" + char)
        elif _printable(code):
            out.append(char)
        elif code <= 0xFF:
            out.append(f"\\x{code:02X}")
        elif code <= 0xFFFF:
            out.append(f"\\u{code:04X}")
        else:
            out.append(f"\\U{code:08X}")
    out.append('"')
    return "".join(out)


def _printable(code: int) -> bool:
    # YAML's printable characters, less line breaks and the byte-order mark, which a
    # reader would fold or drop inside a quoted scalar.
    return (
        0x20 <= code <= 0x7E
        or 0xA0 <= code <= 0xD7FF
        or (0xE000 <= code <= 0xFFFD and code != 0xFEFF)
        or 0x10000 <= code <= 0x10FFFF
    ) and code not in (0x2028, 0x2029)


def slug_for(title: str) -> str:
    """A file-name slug: lower-case ASCII words joined by hyphens, at most MAX_SLUG characters."""
    from cpdgen.portfolio import slugify

    slug = slugify(title)
    if len(slug) > MAX_SLUG:
        cut = slug[: MAX_SLUG + 1]
        slug = cut[: cut.rfind("-")] if "-" in cut else cut[:MAX_SLUG]
    return slug.strip("-")


@dataclass(frozen=True)
class Kind:
    """What sort of activity: a pre-defined type, or a category."""

    key: str  # "type" or "category"
    id: str


def resolve_kind(activity_type: str | None = None, category: str | None = None) -> Kind:
    """The type or category a member named on the command line, by any spelling cpdgen accepts."""
    if activity_type is not None:
        found = categories.resolve_type(activity_type)
        if found is None:
            guess = categories.suggest_type(activity_type)
            hint = f"did you mean '{guess}'?" if guess else "run 'cpdgen types' to see them"
            raise CpdgenError(f"'{activity_type}' is not a known activity type; {hint}")
        return Kind("type", found)
    if category is not None:
        found = categories.resolve_category(category)
        if found is None:
            guess = categories.suggest_category(category)
            hint = (
                f"did you mean '{guess}'?" if guess else "use one of: " + ", ".join(c.id for c in categories.CATEGORIES)
            )
            raise CpdgenError(f"'{category}' is not a CPD category; {hint}")
        return Kind("category", found)
    raise CpdgenError(
        "say what kind of activity it is: --type (for example --type journal-club; "
        "'cpdgen types' lists them) or --category (one of: " + ", ".join(c.id for c in categories.CATEGORIES) + ")"
    )


def activity_text(title: str, day: date, kind: Kind) -> str:
    """The text of a new activity file: front matter filled in, reflection prompts as comments."""
    return _fill(
        "activity.md", title=yaml_string(clean_title(title)), date=day.isoformat(), kind=f"{kind.key}: {kind.id}"
    )


def activity_path(root: Path, title: str, day: date) -> Path:
    """Where ``cpdgen new`` puts an activity: ``content/activities/<year>/<date>-<slug>.md``."""
    return root / "content" / "activities" / f"{day.year:04d}" / f"{day.isoformat()}-{slug_for(clean_title(title))}.md"


def _existing_ids(activities: Path) -> dict[str, Path]:
    """Every name under ``activities`` that is or could be an activity id, as the loader compares ids."""
    from cpdgen.portfolio import slugify

    found: dict[str, Path] = {}
    if not activities.is_dir():
        return found
    for dirpath, dirnames, filenames in os.walk(activities):
        here = Path(dirpath)
        for name in filenames:
            if name.endswith(".md"):
                key = here.name if name == "index.md" and here != activities else name[:-3]
                found.setdefault(slugify(key).casefold(), here / name)
        for name in dirnames:
            found.setdefault(slugify(name).casefold(), here / name)
    return found


def require_content(root: Path) -> Path:
    """``root/content``, or CpdgenError when there is no such folder."""
    content = root / "content"
    if not content.is_dir():
        raise CpdgenError(
            f"no content/ folder in {root}; run cpdgen in your portfolio's folder, give --root, "
            "or start a portfolio with 'cpdgen init'"
        )
    return content


def new_activity(root: Path, title: str, day: date, kind: Kind) -> Path:
    """Create a new activity file and return its path; refuse (CpdgenError, exit 2) if its id is taken."""
    from cpdgen.portfolio import slugify

    content = require_content(root)
    text = activity_text(title, day, kind)
    path = activity_path(root, title, day)
    clash = _existing_ids(content / "activities").get(slugify(path.stem).casefold())
    if clash is not None or os.path.lexists(path):
        where = clash if clash is not None else path
        raise CpdgenError(
            f"{_show(where, root)} already exists, and cpdgen never overwrites a file; "
            "give the new activity a different title (or --date)"
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        with open(path, "x", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
    except FileExistsError:  # created since we looked
        raise CpdgenError(f"{_show(path, root)} already exists, and cpdgen never overwrites a file") from None
    return path


def _show(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return str(path)


def portfolio_timezone(root: Path) -> str:
    """``site.timezone`` from ``content/portfolio.yaml``, for what "today" means; CpdgenError if unreadable."""
    from pydantic import ValidationError

    from cpdgen.frontmatter import read_text
    from cpdgen.models import PortfolioFile

    path = require_content(root) / "portfolio.yaml"
    if not path.is_file():
        raise CpdgenError(f"{_show(path, root)} is missing; give --date, or run 'cpdgen init' to start a portfolio")
    try:
        data = parse_yaml(read_text(path, path.parent)).data
        return PortfolioFile.model_validate(data).site.timezone
    except (ReadError, ValidationError):
        raise CpdgenError(
            "content/portfolio.yaml has problems, so cpdgen cannot tell what today is there; "
            "run 'cpdgen check' to see them, or give --date"
        ) from None


def open_in_editor(path: Path, environ: dict[str, str] | None = None) -> None:
    """Open ``path`` in $VISUAL, else $EDITOR, and wait; CpdgenError when there is none or it fails."""
    import shlex
    import subprocess

    env = os.environ if environ is None else environ
    command = env.get("VISUAL", "").strip() or env.get("EDITOR", "").strip()
    kept = f"the new file is {path}"
    if not command:
        raise CpdgenError(f"--edit needs your editor's command in VISUAL or EDITOR (for example EDITOR=nano); {kept}")
    try:
        argv = shlex.split(command, posix=os.name != "nt")
    except ValueError as exc:
        raise CpdgenError(f"cannot read the editor command {command!r} ({exc}); {kept}") from None
    if not argv:
        raise CpdgenError(f"--edit needs your editor's command in VISUAL or EDITOR; {kept}")
    try:
        result = subprocess.run([*argv, str(path)], check=False)  # noqa: S603 - the member's own $EDITOR
    except OSError as exc:
        raise CpdgenError(f"cannot start the editor '{argv[0]}': {exc.strerror or exc}; {kept}") from None
    if result.returncode != 0:
        raise CpdgenError(f"the editor '{argv[0]}' exited with code {result.returncode}; {kept}", "failed")


# --- cpdgen init -----------------------------------------------------------------------

GITHUB_WORKFLOW = ".github/workflows/cpd.yml"
GITLAB_CI = ".gitlab-ci.yml"
PRE_COMMIT = ".pre-commit-config.yaml"
# Folders that a new portfolio may be created in although they are not empty:
# a repository made by ``git init`` (or cloned while empty) holds only ``.git``.
ALLOWED_IN_TARGET = {".git"}


def requirements_text(choice: Choice) -> str:
    """A new portfolio's requirements.txt: a comment, then cpdgen's line (or, when there is none, why not)."""
    line = choice.line if choice.line is not None else "# (none: " + " ".join(choice.why.split()) + ")"
    return _fill("requirements.txt", requirement=line)


def portfolio_files(name: str, today: date, choice: Choice) -> dict[str, str]:
    """Every file of a new portfolio, by path relative to it, with its text; ``choice``: the cpdgen CI installs."""
    member = " ".join(name.split())
    if not member:
        raise CpdgenError('the name is empty; give your name with --name "Your Name"')
    for char in member:
        if unicodedata.category(char) in ("Cc", "Cs"):
            raise CpdgenError(f"the name contains a control character (U+{ord(char):04X}); remove it")
    example = f"content/activities/{today.year:04d}/{today.isoformat()}-reading-hcpc-cpd-standards.md"
    return {
        "content/portfolio.yaml": _fill(
            "portfolio.yaml", name=yaml_string(member), site_title=yaml_string(f"{member} — CPD portfolio")
        ),
        example: _fill("example-activity.md", date=today.isoformat()),
        ".gitignore": _template("gitignore"),
        "README.md": _fill("README.md", requirement=choice.line or "nothing yet", requirement_why=choice.why),
        "requirements.txt": requirements_text(choice),
        GITHUB_WORKFLOW: _template("github-workflow.yml"),
        GITLAB_CI: _template("gitlab-ci.yml"),
        PRE_COMMIT: _template("pre-commit-config.yaml"),
    }


def init_portfolio(target: Path, name: str, today: date, choice: Choice) -> list[Path]:
    """Create a new portfolio in ``target`` (new, empty, or holding only ``.git``); return the files written.

    ``choice`` is the cpdgen its CI installs (:func:`cpdgen.requirement.choose`).
    """
    if os.path.lexists(target) and not target.is_dir():
        raise CpdgenError(f"{target} exists and is not a folder")
    if target.is_dir():
        present = sorted(entry.name for entry in target.iterdir() if entry.name not in ALLOWED_IN_TARGET)
        if present:
            shown = ", ".join(present[:5]) + (", …" if len(present) > 5 else "")
            raise CpdgenError(
                f"{target} is not empty ({shown}); cpdgen init only starts a portfolio in a new or empty "
                "folder, so that it never overwrites anything"
            )
    files = portfolio_files(name, today, choice)
    written: list[Path] = []
    for relative, text in files.items():
        path = target / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "x", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
        written.append(path)
    return written


# --- cpdgen hcpc-profile --start ------------------------------------------------------------

HCPC_TEMPLATES = {"summary": "hcpc-summary.md", "statement": "hcpc-statement.md", "gaps": "hcpc-gaps.md"}


def hcpc_gap_sections(gaps: list[tuple[date, date]]) -> str:
    """gaps.md's sections, one heading for each gap (first and last day with no CPD), each with a prompt."""
    if not gaps:
        return (
            "<!-- Your record has no gap of three months or more now. If one appears, add a section for it:\n"
            "## YYYY-MM-DD to YYYY-MM-DD (the first and last day with no CPD), and your explanation under it. -->\n"
        )
    return "\n".join(
        f"## {first.isoformat()} to {last.isoformat()}\n\n"
        "<!-- Why was there no CPD in these months? A sentence or two is enough: illness, parental leave, a\n"
        "career break, a time away from practice. Keep it anonymous. -->\n"
        for first, last in gaps
    )


def start_hcpc_texts(root: Path, gaps: list[tuple[date, date]]) -> list[tuple[Path, str]]:
    """Create ``content/hcpc/summary.md``, ``statement.md`` and ``gaps.md`` with prompts, each only if
    it does not exist: ``(path, "created")`` or ``(path, "kept")`` for each. Never writes over a file."""
    from cpdgen.portfolio import HCPC_FOLDER, HCPC_TEXTS

    folder = require_content(root) / HCPC_FOLDER
    if os.path.islink(folder):
        raise CpdgenError(
            f"{_show(folder, root)} is a link, which cpdgen does not follow (the files would be written outside "
            "your portfolio); make it a folder of content/ first"
        )
    if os.path.lexists(folder) and not folder.is_dir():
        raise CpdgenError(f"{_show(folder, root)} exists and is not a folder; move it away first")
    results: list[tuple[Path, str]] = []
    for part, name in HCPC_TEXTS.items():
        path = folder / name
        if os.path.lexists(path):
            results.append((path, "kept"))
            continue
        text = _fill(HCPC_TEMPLATES[part], gap_sections=hcpc_gap_sections(gaps))
        folder.mkdir(parents=True, exist_ok=True)
        try:
            with open(path, "x", encoding="utf-8", newline="\n") as handle:
                handle.write(text)
        except FileExistsError:  # created since we looked
            results.append((path, "kept"))
            continue
        results.append((path, "created"))
    return results

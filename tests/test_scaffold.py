"""``cpdgen new`` and ``cpdgen init``: the files they write, and what they refuse."""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cpdgen.cli import main
from cpdgen.frontmatter import parse_yaml, split
from cpdgen.loader import load_portfolio
from cpdgen.models import ActivityFrontMatter
from cpdgen.problems import CpdgenError
from cpdgen.requirement import Choice
from cpdgen.scaffold import (
    Kind,
    activity_text,
    clean_title,
    init_portfolio,
    open_in_editor,
    resolve_kind,
    slug_for,
    yaml_string,
)
from cpdgen.sections import has_words, split_reflection

DAY = date(2026, 3, 11)

CHOICE = Choice("cpdgen==0.1.0", "cpdgen 0.1.0 is installed here from a package index (PyPI)")


def read_front(text: str) -> ActivityFrontMatter:
    document = split(text)
    return ActivityFrontMatter.model_validate(parse_yaml(document.front_matter, 2).data)


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


# --- the activity file -------------------------------------------------------------


@pytest.mark.parametrize(
    "title",
    [
        "Journal club: sepsis markers",
        'He said "no"',
        "It's #1 on the list",
        "- a leading dash",
        "? a question mark",
        "yes",
        "No",
        "null",
        "~",
        "2024-03-21",
        "1.10",
        "0x1F",
        "@mention",
        "`code`",
        "[bracketed]",
        "{braced}",
        "a: b: c",
        "back\\slash",
        "Ünïcödé — naïve café ✓ 🧪",
        "Zero\u200bwidth",
        "trailing colon:",
        "&anchor *alias !tag %directive |pipe >fold",
    ],
)
def test_awkward_titles_round_trip_through_the_strict_loader(title):
    meta = read_front(activity_text(title, DAY, Kind("type", "journal-club")))
    assert meta.title == title
    assert meta.date == DAY and meta.type == "journal-club"


# Titles a member could type: any printable text, with the white space cpdgen collapses.
_TITLE_CHARS = st.characters(blacklist_categories=("Cs", "Cc"), whitelist_characters="\t\n\r\x85")


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(_TITLE_CHARS, min_size=1, max_size=80).filter(lambda t: t.strip()))
def test_any_title_round_trips_exactly(title):
    meta = read_front(activity_text(title, DAY, Kind("category", "other")))
    assert meta.title == " ".join(title.split())


@given(st.text(_TITLE_CHARS, min_size=1, max_size=40).filter(lambda t: t.strip()))
def test_yaml_string_is_plain_only_when_every_reader_agrees(text):
    text = clean_title(text)
    written = yaml_string(text)
    import yaml  # PyYAML's own (YAML 1.1) reader must give the same string back

    assert yaml.safe_load(f"v: {written}\n")["v"] == text
    assert parse_yaml(f"v: {written}\n").data["v"] == text


def test_plain_titles_stay_readable():
    assert yaml_string("Journal club on sepsis markers") == "Journal club on sepsis markers"
    assert yaml_string("Journal club: sepsis") == '"Journal club: sepsis"'
    assert yaml_string("Yes") == '"Yes"'
    assert yaml_string('say "hi"') == '"say \\"hi\\""'


def test_reflection_prompts_do_not_count_as_a_reflection():
    text = activity_text("Webinar on iron deficiency", DAY, Kind("type", "webinar"))
    sections = split_reflection(split(text).body)
    assert sections.reflection is not None
    assert "What?" in sections.reflection and "HCPC standard 3" in sections.reflection
    assert "HCPC standard 4" in sections.reflection
    assert not has_words(sections.reflection)
    assert not has_words(sections.description)


def test_bad_titles_are_refused():
    for title in ("", "   \n\t"):
        with pytest.raises(CpdgenError, match="title is empty"):
            activity_text(title, DAY, Kind("category", "other"))
    with pytest.raises(CpdgenError, match="control character"):
        activity_text("bell\x07", DAY, Kind("category", "other"))


def test_slugs():
    assert slug_for("Journal club: sepsis markers") == "journal-club-sepsis-markers"
    assert slug_for("Café für Ärzte") == "cafe-fur-arzte"
    assert slug_for("🧪🧫") == "activity"
    long = slug_for("word " * 40)
    assert len(long) <= 60 and not long.endswith("-") and long.startswith("word-word")


def test_kinds_accept_any_spelling_and_suggest():
    assert resolve_kind("Journal club") == Kind("type", "journal-club")
    assert resolve_kind(None, "Formal and educational") == Kind("category", "formal-educational")
    with pytest.raises(CpdgenError, match="did you mean 'journal-club'"):
        resolve_kind("jornal club")
    with pytest.raises(CpdgenError, match="did you mean 'formal-educational'"):
        resolve_kind(None, "formal edu")
    with pytest.raises(CpdgenError, match="--type .* or --category"):
        resolve_kind()


# --- cpdgen new ----------------------------------------------------------------------


def test_new_writes_a_file_that_checks_clean(portfolio, capsys):
    code, out, err = run(
        capsys,
        "new",
        "Journal club: sepsis markers",
        "--type",
        "journal-club",
        "--date",
        "2026-03-11",
        "--root",
        str(portfolio.root),
    )
    path = portfolio.root / "content/activities/2026/2026-03-11-journal-club-sepsis-markers.md"
    assert (code, out, err) == (0, f"{path}\n", "")
    assert path.read_text(encoding="utf-8").startswith('---\ntitle: "Journal club: sepsis markers"\ndate: 2026-03-11\n')
    loaded = load_portfolio(portfolio.root)
    assert loaded.problems == []
    (activity,) = loaded.activities
    assert activity.id == "2026-03-11-journal-club-sepsis-markers"
    assert activity.category == "work-based-learning" and not activity.has_reflection
    code, out, _ = run(capsys, "check", "--content-only", "--root", str(portfolio.root), "--as-of", "2026-03-11")
    assert code == 0, out
    assert "2026-03-11-journal-club-sepsis-markers: it has no reflection yet" in out


def test_new_prints_the_path_relative_to_the_folder_given(portfolio, capsys, monkeypatch):
    monkeypatch.chdir(portfolio.root)
    code, out, _ = run(capsys, "new", "Audit", "--category", "wbl", "--date", "2025-01-02")
    assert (code, out) == (0, "content/activities/2025/2025-01-02-audit.md\n")
    assert "category: work-based-learning\n" in Path(out.strip()).read_text(encoding="utf-8")


def test_new_never_overwrites(portfolio, capsys):
    args = ["new", "Audit", "--category", "other", "--date", "2025-01-02", "--root", str(portfolio.root)]
    assert run(capsys, *args)[0] == 0
    path = portfolio.root / "content/activities/2025/2025-01-02-audit.md"
    path.write_text("my own words\n", encoding="utf-8")
    code, out, err = run(capsys, *args)
    assert code == 2 and out == ""
    assert "content/activities/2025/2025-01-02-audit.md already exists" in err
    assert "never overwrites" in err
    assert path.read_text(encoding="utf-8") == "my own words\n"


def test_new_refuses_an_id_used_elsewhere_in_the_portfolio(portfolio, capsys):
    # The same id in another folder, or as an activity folder, would be a duplicate id.
    portfolio.write("activities/old/2025-01-02-Audit.md", "x")
    portfolio.write("activities/2024/2025-01-02-sop-review/index.md", "x")
    for title in ("Audit", "SOP review"):
        code, _, err = run(
            capsys, "new", title, "--category", "other", "--date", "2025-01-02", "--root", str(portfolio.root)
        )
        assert code == 2 and "already exists" in err
    assert not (portfolio.content / "activities/2025").exists()


def test_new_dates_today_in_the_portfolios_time_zone(portfolio, capsys, monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1743463800")  # 2025-03-31T23:30Z
    portfolio.settings({"member": {"name": "A"}, "site": {"timezone": "Europe/London"}})
    code, out, _ = run(capsys, "new", "Late", "--category", "other", "--root", str(portfolio.root))
    assert code == 0 and out.strip().endswith("2025/2025-04-01-late.md")  # already 1 April in London
    portfolio.settings({"member": {"name": "A"}, "site": {"timezone": "America/New_York"}})
    code, out, _ = run(capsys, "new", "Late", "--category", "other", "--root", str(portfolio.root))
    assert code == 0 and out.strip().endswith("2025/2025-03-31-late.md")


def test_new_without_a_usable_portfolio(tmp_path, portfolio, capsys):
    code, _, err = run(capsys, "new", "T", "--category", "other", "--root", str(tmp_path / "nowhere"))
    assert code == 2 and "no content/ folder" in err and "cpdgen init" in err
    portfolio.settings("member: [\n")
    code, _, err = run(capsys, "new", "T", "--category", "other", "--root", str(portfolio.root))
    assert code == 2 and "portfolio.yaml has problems" in err and "--date" in err
    # With --date, today is not needed, so a broken portfolio.yaml does not stop it.
    assert run(capsys, "new", "T", "--category", "other", "--date", "2025-05-05", "--root", str(portfolio.root))[0] == 0


@pytest.mark.parametrize(
    "argv, message",
    [
        (["new", "T"], "--type"),
        (["new", "T", "--type", "jornal-club"], "did you mean 'journal-club'"),
        (["new", "T", "--type", "audit", "--category", "other"], "not allowed with argument"),
        (["new", "T", "--category", "other", "--date", "2025-02-30"], "is not a date"),
    ],
)
def test_new_usage_errors_are_exit_2(portfolio, capsys, argv, message):
    code, _, err = run(capsys, *argv, "--root", str(portfolio.root))
    assert code == 2 and message in err
    assert not any((portfolio.content / "activities").iterdir())


def test_new_offers_a_day_written_day_first_as_yyyy_mm_dd(portfolio, capsys):
    code, _, err = run(capsys, "new", "T", "--category", "other", "--date", "14/11/2026", "--root", str(portfolio.root))
    assert code == 2
    assert "argument --date: write dates as YYYY-MM-DD: for '14/11/2026' write 2026-11-14" in err
    code, _, err = run(capsys, "new", "T", "--category", "other", "--date", "31/02/2026", "--root", str(portfolio.root))
    assert code == 2 and "'31/02/2026' is not a date: February 2026 has 28 days" in err and "2026-02-31" not in err
    assert not any((portfolio.content / "activities").iterdir())


def test_quiet_and_verbose(portfolio, capsys):
    base = ["new", "--category", "other", "--date", "2025-01-02", "--root", str(portfolio.root)]
    assert run(capsys, *base, "Quiet one", "-q") == (0, "", "")
    code, out, _ = run(capsys, *base, "Chatty one", "--verbose")
    lines = out.splitlines()
    assert code == 0 and lines[0].endswith("2025-01-02-chatty-one.md")
    assert "write your reflection under '## Reflection'" in lines[1]


# --- --edit --------------------------------------------------------------------------


def _fake_editor(tmp_path: Path, exit_code: int = 0) -> str:
    """A script standing in for an editor: it records its arguments, then exits."""
    script = tmp_path / "fake editor.py"
    log = tmp_path / "editor.log"
    script.write_text(
        f"import sys\nopen({str(log)!r}, 'w').write('\\n'.join(sys.argv[1:]))\nsys.exit({exit_code})\n",
        encoding="utf-8",
    )
    return f"{sys.executable} '{script}' --wait"


def test_edit_opens_visual_then_editor_with_arguments(portfolio, capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("VISUAL", _fake_editor(tmp_path))
    monkeypatch.setenv("EDITOR", "false")
    code, out, _ = run(
        capsys, "new", "T", "--category", "other", "--date", "2025-01-02", "--root", str(portfolio.root), "--edit"
    )
    assert code == 0
    assert (tmp_path / "editor.log").read_text().splitlines() == ["--wait", out.strip()]


def test_edit_without_an_editor_keeps_the_file_and_says_why(portfolio, capsys, monkeypatch):
    monkeypatch.delenv("VISUAL", raising=False)
    monkeypatch.setenv("EDITOR", "")
    code, out, err = run(
        capsys, "new", "T", "--category", "other", "--date", "2025-01-02", "--root", str(portfolio.root), "--edit"
    )
    assert code == 2 and "VISUAL or EDITOR" in err
    assert Path(out.strip()).is_file() and out.strip() in err


def test_edit_with_a_missing_or_failing_editor(tmp_path):
    path = tmp_path / "a.md"
    path.write_text("x", encoding="utf-8")
    with pytest.raises(CpdgenError, match="cannot start the editor 'no-such-editor-here'") as missing:
        open_in_editor(path, {"EDITOR": "no-such-editor-here -w"})
    assert missing.value.exit_code == 2
    with pytest.raises(CpdgenError, match="cannot read the editor command"):
        open_in_editor(path, {"EDITOR": "vim 'unclosed"})
    with pytest.raises(CpdgenError, match="exited with code 3") as failed:
        open_in_editor(path, {"EDITOR": _fake_editor(tmp_path, exit_code=3)})
    assert failed.value.exit_code == 1
    assert path.read_text(encoding="utf-8") == "x"


# --- cpdgen init ---------------------------------------------------------------------

EXPECTED_FILES = {
    ".github/workflows/cpd.yml",
    ".gitignore",
    ".gitlab-ci.yml",
    ".pre-commit-config.yaml",
    "README.md",
    "content/activities/2026/2026-03-11-reading-hcpc-cpd-standards.md",
    "content/portfolio.yaml",
    "requirements.txt",
}


def files_under(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}


def test_init_writes_a_portfolio_that_checks(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1773230400")  # 2026-03-11T12:00Z
    target = tmp_path / "my-cpd"
    code, out, err = run(capsys, "init", str(target), "--name", "Sam O'Neil: BMS")
    assert code == 0 and err == ""
    assert f"Started a CPD portfolio in {target} (8 files)." in out
    assert "put your name in" not in out
    assert files_under(target) == EXPECTED_FILES

    loaded = load_portfolio(target)
    assert loaded.problems == []
    assert loaded.settings.member.name == "Sam O'Neil: BMS"
    assert loaded.settings.site.title == "Sam O'Neil: BMS — CPD portfolio"
    (example,) = loaded.activities
    assert example.has_reflection and example.date == date(2026, 3, 11)

    code, out, _ = run(capsys, "check", "--content-only", "--root", str(target))
    assert code == 0 and "1 activity counts (24 needed), in 1 category (3 needed)" in out
    code, out, _ = run(capsys, "check", "--root", str(target))
    assert code == 1 and "Not eligible yet: it needs 23 more activities and 2 more categories." in out
    assert "error" not in out and "warning" not in out

    # It builds at once, PDF included, into the folder the GitHub workflow publishes.
    code, out, _ = run(capsys, "build", "--root", str(target), "--out", str(target / "site"))
    assert code == 0, out
    assert (target / "site" / "index.html").is_file()
    assert (target / "site" / "diplomas" / "diploma-1" / "diploma-1.pdf").read_bytes().startswith(b"%PDF")


def test_init_files_say_what_they_are_for(tmp_path):
    init_portfolio(tmp_path / "p", "Alex Morgan", DAY, CHOICE)
    root = tmp_path / "p"
    gitignore = (root / ".gitignore").read_text(encoding="utf-8").splitlines()
    for ignored in ("site/", "site.tmp-*/", ".*.cpdgen-lock", "records/", ".venv/", "public/"):
        assert ignored in gitignore
    requirements = (root / "requirements.txt").read_text(encoding="utf-8")
    assert requirements.splitlines()[-1] == "cpdgen==0.1.0"
    workflow = (root / ".github/workflows/cpd.yml").read_text(encoding="utf-8")
    assert "pip install -r requirements.txt" in workflow
    assert "cpdgen check --format github" in workflow
    readme = (root / "README.md").read_text(encoding="utf-8")
    for topic in ("cpdgen new", "cpdgen check", "cpdgen build", "GitHub Actions", "GitLab", "Pages", "private: true"):
        assert topic in readme
    # which cpdgen CI installs and why; how to keep it so; the hook; the weekly run on GitLab
    assert "    cpdgen==0.1.0\n\nbecause cpdgen 0.1.0 is installed here from a package index (PyPI)." in readme
    for topic in ("cpdgen ci-update", "cpdgen doctor", "pre-commit install", "Pipeline\n   schedules"):
        assert topic in readme, topic


def test_init_without_a_name_says_to_fill_it_in(tmp_path, capsys):
    code, out, _ = run(capsys, "init", str(tmp_path / "p"))
    assert code == 0 and "put your name in" in out
    assert "  name: Your Name\n" in (tmp_path / "p/content/portfolio.yaml").read_text(encoding="utf-8")


def test_init_refuses_a_folder_that_is_not_empty(tmp_path, capsys):
    target = tmp_path / "p"
    (target / "notes").mkdir(parents=True)
    (target / "README.md").write_text("mine", encoding="utf-8")
    code, out, err = run(capsys, "init", str(target))
    assert code == 2 and out == ""
    assert "is not empty (README.md, notes)" in err
    assert files_under(target) == {"README.md"}
    assert (target / "README.md").read_text(encoding="utf-8") == "mine"
    (tmp_path / "file").write_text("x", encoding="utf-8")
    code, _, err = run(capsys, "init", str(tmp_path / "file"))
    assert code == 2 and "is not a folder" in err


def test_init_accepts_a_folder_holding_only_git(tmp_path, capsys):
    target = tmp_path / "repo"
    (target / ".git").mkdir(parents=True)
    (target / ".git/HEAD").write_text("ref: refs/heads/main\n", encoding="utf-8")
    assert run(capsys, "init", str(target), "-q") == (0, "", "")
    assert files_under(target) == EXPECTED_FILES_FOR_TODAY(target) | {".git/HEAD"}


def EXPECTED_FILES_FOR_TODAY(target: Path) -> set[str]:
    example = next((target / "content/activities").rglob("*.md")).relative_to(target).as_posix()
    return {f for f in EXPECTED_FILES if not f.startswith("content/activities/")} | {example}


def test_init_verbose_lists_every_file(tmp_path, capsys):
    code, out, _ = run(capsys, "init", str(tmp_path / "p"), "-v")
    listed = {line.strip() for line in out.splitlines() if line.startswith("  ") and not line.startswith("  -")}
    assert code == 0 and len(listed) == 8
    assert all(Path(p).is_file() for p in listed)


def test_scaffold_templates_are_all_there():
    import cpdgen

    folder = cpdgen.theme_dir() / "scaffold"
    names = {p.name for p in folder.iterdir()}
    assert names >= {
        "activity.md",
        "portfolio.yaml",
        "example-activity.md",
        "gitignore",
        "README.md",
        "requirements.txt",
        "github-workflow.yml",
        "gitlab-ci.yml",
    }


def test_init_lists_every_publish_setting_with_its_default_and_a_comment(tmp_path, capsys):
    import re

    import yaml

    from cpdgen.models import PublishSettings, SiteSettings

    code, _, _ = run(capsys, "init", str(tmp_path / "p"), "--name", "Alex Morgan")
    assert code == 0
    text = (tmp_path / "p/content/portfolio.yaml").read_text(encoding="utf-8")
    written = yaml.safe_load(text)
    assert written["publish"] == PublishSettings().model_dump()
    assert written["site"]["search_engines"] is SiteSettings().search_engines is True
    for key in (*PublishSettings.model_fields, "search_engines", "url"):
        line = next(line for line in text.splitlines() if re.match(rf"\s*#?\s*{key}:", line))
        assert re.search(r"\S\s+# \S", line), f"{key} has no comment: {line!r}"
    # What the member sees is what cpdgen reads: the new portfolio has no problem.
    portfolio = load_portfolio(tmp_path / "p")
    assert not [p for p in portfolio.problems if p.severity == "error"], portfolio.problems


def test_the_member_readme_says_what_goes_public(tmp_path, capsys):
    code, _, _ = run(capsys, "init", str(tmp_path / "p"), "--name", "Alex Morgan")
    assert code == 0
    readme = (tmp_path / "p/README.md").read_text(encoding="utf-8")
    for topic in ("what goes public", "never shows", "search_engines: false", "noindex", "content/about.md"):
        assert topic in readme, topic

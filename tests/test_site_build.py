"""``cpdgen build``: safe output, atomic swaps, privacy, incremental rebuilds (docs/developers/security.md)."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
import yaml

from conftest import PORTFOLIO, activity_text, pdf_document, png_image
from cpdgen import fsutil
from cpdgen.cache import Caches
from cpdgen.cli import main
from cpdgen.site.build import build_site
from cpdgen.site.renderer import SiteRenderer, copy_evidence
from test_fsutil import tree_digest

AS_OF = date(2026, 11, 28)


CERT = pdf_document("certificate")


def read_manifest(folder: Path) -> dict[str, list]:
    """What cpdgen wrote in a built folder, from its marker."""
    return fsutil.read_manifest(folder / fsutil.MARKER)


def build(portfolio, **options):
    options.setdefault("as_of", AS_OF)
    options.setdefault("pdf", False)
    return build_site(portfolio.root, **options)


def site_text(site: Path) -> str:
    """Every byte of the site, as text, for "appears nowhere" checks."""
    return "\n".join(
        p.read_bytes().decode("utf-8", "replace") + p.as_posix() for p in sorted(site.rglob("*")) if p.is_file()
    )


def test_a_portfolio_builds_into_site_with_the_contract_layout(portfolio):
    portfolio.activity("2026-01-10-eqa", title="EQA review", tags=["Quality", "EQA"], evidence=["cert.pdf"])
    portfolio.write("evidence/cert.pdf", CERT)
    portfolio.settings({**PORTFOLIO, "diplomas": [{"id": "diploma-1", "start": "2025-06-01"}]})
    result = build(portfolio)
    assert result.written and result.exit_code == 0, result.problems
    site = portfolio.root / "site"
    for path in [
        "index.html",
        "404.html",
        "style.css",
        "activities/index.html",
        "activities/2026-01-10-eqa/index.html",
        "activities/2026-01-10-eqa/cert.pdf",
        "diplomas/diploma-1/index.html",
        "categories/work-based-learning/index.html",
        "categories/other/index.html",
        "tags/quality/index.html",
        "tags/eqa/index.html",
        fsutil.MARKER,
    ]:
        assert (site / path).is_file(), path
    assert (site / "activities/2026-01-10-eqa/cert.pdf").read_bytes() == CERT
    page = (site / "activities/2026-01-10-eqa/index.html").read_text()
    assert 'href="cert.pdf"' in page
    assert 'href="../../tags/quality/index.html"' in page and 'href="../../style.css"' in page
    assert set(read_manifest(site)) == {str(p.relative_to(site).as_posix()) for p in site.rglob("*") if p.is_file()} - {
        fsutil.MARKER
    }


def test_the_same_input_gives_byte_identical_sites(portfolio, tmp_path):
    portfolio.many(5)
    first = build(portfolio, out=tmp_path / "one", renderer=SiteRenderer(portfolio.root, use_cache=False))
    second = build(portfolio, out=tmp_path / "two")  # with a disk cache, cold
    third = build(portfolio, out=tmp_path / "three")  # with a warm disk cache
    assert first.written and second.written and third.written
    assert tree_digest(tmp_path / "one") == tree_digest(tmp_path / "two") == tree_digest(tmp_path / "three")


def test_errors_stop_the_build_and_leave_the_previous_site_untouched(portfolio, capsys):
    portfolio.many(3)
    assert build(portfolio).written
    site = portfolio.root / "site"
    before = tree_digest(site)
    portfolio.activity("2026-02-01-bad", category="formal edu")
    code = main(["build", "--root", str(portfolio.root), "--as-of", "2026-11-28", "--no-pdf"])
    out = capsys.readouterr().out
    assert code == 1
    assert "content/activities/2026-02-01-bad.md:4: error: category 'formal edu'" in out
    assert "Site not built" in out
    assert tree_digest(site) == before


def test_strict_makes_warnings_stop_the_build(portfolio):
    portfolio.activity("2026-01-10-short", reflection="Too short.")
    assert not build(portfolio, strict=True).written
    assert not (portfolio.root / "site").exists()
    assert build(portfolio).written


def test_cli_build_reports_where_the_site_is(portfolio, capsys):
    portfolio.many(2)
    code = main(["build", "--root", str(portfolio.root), "--as-of", "2026-11-28", "--no-pdf"])
    out = capsys.readouterr().out
    assert code == 0
    assert f"into {(portfolio.root / 'site').resolve()}" in out
    assert "index.html in a browser" in out


@pytest.mark.parametrize("out", ["content", ".", "content/site", "templates"])
def test_cli_refuses_dangerous_output_folders_with_exit_2(portfolio, capsys, out):
    portfolio.many(2)
    (portfolio.root / "templates").mkdir()
    before = tree_digest(portfolio.root)
    code = main(["build", "--root", str(portfolio.root), "--out", str(portfolio.root / out), "--as-of", "2026-11-28"])
    assert code == 2
    assert "refusing to write the site" in capsys.readouterr().err
    assert tree_digest(portfolio.root) == before


def test_a_folder_of_someone_elses_files_is_refused(portfolio, capsys):
    portfolio.many(2)
    docs = portfolio.root / "docs"
    docs.mkdir()
    (docs / "mine.md").write_text("mine")
    code = main(["build", "--root", str(portfolio.root), "--out", str(docs), "--as-of", "2026-11-28"])
    assert code == 2
    assert (docs / "mine.md").read_text() == "mine"


def test_a_build_held_by_another_is_refused_with_exit_2(portfolio, capsys):
    portfolio.many(2)
    with fsutil.build_lock((portfolio.root / "site").resolve()):
        code = main(["build", "--root", str(portfolio.root), "--as-of", "2026-11-28"])
    assert code == 2
    assert "another cpdgen build" in capsys.readouterr().err


def test_a_failure_half_way_leaves_the_old_site_byte_identical(portfolio, monkeypatch):
    portfolio.many(6)
    assert build(portfolio).written
    site = portfolio.root / "site"
    before = tree_digest(site)
    portfolio.activity("2026-03-01-new", title="A new activity")
    calls = []
    original = SiteRenderer.render_page

    def fail_on_third(self, template, context):
        calls.append(template)
        if len(calls) == 3:
            raise OSError(28, "No space left on device")
        return original(self, template, context)

    monkeypatch.setattr(SiteRenderer, "render_page", fail_on_third)
    with pytest.raises(OSError):
        build(portfolio)
    assert len(calls) == 3
    assert tree_digest(site) == before
    assert sorted(p.name for p in portfolio.root.iterdir()) == ["content", "site"]


def test_a_full_disk_is_a_clear_message_and_the_old_site_stays(portfolio, monkeypatch, capsys):
    portfolio.many(3)
    assert build(portfolio).written
    site = portfolio.root / "site"
    before = tree_digest(site)
    portfolio.activity("2026-03-01-new", title="A new activity")

    def full(path, data):
        raise OSError(28, "No space left on device", str(path))

    monkeypatch.setattr(fsutil, "write_new_file", full)
    code = main(["build", "--root", str(portfolio.root), "--as-of", "2026-11-28", "--no-pdf"])
    err = capsys.readouterr().err
    assert code == 2
    assert "No space left on device" in err and "Traceback" not in err
    assert tree_digest(site) == before
    assert sorted(p.name for p in portfolio.root.iterdir()) == ["content", "site"]


KILL_SCRIPT = """
import os, signal, sys
from datetime import date
from pathlib import Path
from cpdgen.site.build import build_site
from cpdgen.site.renderer import SiteRenderer
original = SiteRenderer.render_page
count = []
def render(self, template, context):
    count.append(1)
    if len(count) == 4:
        os.kill(os.getpid(), signal.SIGKILL)
    return original(self, template, context)
SiteRenderer.render_page = render
build_site(Path(sys.argv[1]), as_of=date(2026, 11, 28), pdf=False)
"""


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")
def test_a_build_killed_half_way_leaves_the_old_site_and_the_next_build_cleans_up(portfolio):
    portfolio.many(6)
    assert build(portfolio).written
    site = portfolio.root / "site"
    before = tree_digest(site)
    portfolio.activity("2026-03-01-new", title="A new activity")
    killed = subprocess.run([sys.executable, "-c", KILL_SCRIPT, str(portfolio.root)], capture_output=True)
    assert killed.returncode == -9
    assert tree_digest(site) == before
    leftovers = [p for p in portfolio.root.iterdir() if p.name.startswith("site.tmp-")]
    assert len(leftovers) == 1
    assert build(portfolio).written
    assert not [p for p in portfolio.root.iterdir() if p.name.startswith("site.tmp-")]
    assert (site / "activities/2026-03-01-new/index.html").is_file()


def test_two_activity_ids_that_make_the_same_web_address_fail_the_build(portfolio):
    portfolio.activity("My Reflection", title="One")
    portfolio.activity("my-reflection", title="Two")
    result = build(portfolio)
    assert not result.written
    assert [p.code for p in result.problems if p.severity == "error"] == ["duplicate-id"]
    assert not (portfolio.root / "site").exists()


def test_two_evidence_files_with_one_name_fail_the_build(portfolio):
    portfolio.write("activities/2026-01-10-poster/cert.pdf", pdf_document("first"))
    portfolio.write("evidence/sub/cert.pdf", pdf_document("second"))
    portfolio.write("activities/2026-01-10-poster/index.md", activity_text(evidence=["cert.pdf", "sub/cert.pdf"]))
    result = build(portfolio)
    assert not result.written
    problem = next(p for p in result.problems if p.code == "output-collision")
    assert problem.path == "content/activities/2026-01-10-poster/index.md"
    assert "activities/2026-01-10-poster/cert.pdf" in problem.message


def test_evidence_named_like_a_page_is_never_published(portfolio):
    portfolio.write("activities/2026-01-10-poster/index.md", activity_text(evidence=["index.html"]))
    portfolio.write("activities/2026-01-10-poster/index.html", "<p>my own page</p>")
    result = build(portfolio)
    assert not result.written
    assert [p.code for p in result.problems] == ["evidence-unpublishable"]


def test_a_deleted_activity_disappears_from_the_site(portfolio):
    portfolio.many(3)
    gone = portfolio.activity("2026-02-02-withdrawn", title="Withdrawn reflection")
    assert build(portfolio).written
    site = portfolio.root / "site"
    assert (site / "activities/2026-02-02-withdrawn/index.html").is_file()
    gone.unlink()
    assert build(portfolio).written
    assert not (site / "activities/2026-02-02-withdrawn").exists()
    assert "Withdrawn reflection" not in site_text(site)


def test_private_and_draft_activities_appear_nowhere_in_the_site(portfolio):
    portfolio.many(3)
    portfolio.write("evidence/secret-referral.pdf", pdf_document("SECRETEVIDENCE"))
    portfolio.activity(
        "2026-04-01-private",
        title="PRIVATETITLE",
        body="PRIVATEBODY",
        reflection="PRIVATEREFLECTION " * 60,
        private=True,
        tags=["privatetag"],
        evidence=["secret-referral.pdf"],
    )
    portfolio.activity(
        "2026-04-02-draft", title="DRAFTTITLE", body="DRAFTBODY", reflection="DRAFTREFLECTION " * 60, draft=True
    )
    result = build(portfolio)
    assert result.written, result.problems
    text = site_text(portfolio.root / "site")
    for secret in ("PRIVATE", "private-", "DRAFT", "draft-", "secret-referral", "SECRETEVIDENCE", "privatetag"):
        assert secret not in text, secret
    dashboard = (portfolio.root / "site/index.html").read_text()
    assert "1 private activity and 1 draft not shown" in dashboard


def test_publish_settings_hide_reflections_evidence_and_numbers(portfolio):
    portfolio.write("evidence/cert.pdf", pdf_document("cert"))
    portfolio.activity(
        "2026-01-10-a", reflection="REFLECTIONTEXT " * 60, evidence=["cert.pdf", "https://example.org/x"]
    )
    member = {"name": "Alex Morgan", "hcpc_number": "BS11111", "membership_number": "999888"}
    portfolio.settings({"member": member})
    assert build(portfolio).written
    site = portfolio.root / "site"
    text = site_text(site)
    assert "REFLECTIONTEXT" in text and "BS11111" in text and "999888" not in text
    assert (site / "activities/2026-01-10-a/cert.pdf").is_file()

    portfolio.settings(
        {
            "member": member,
            "publish": {"reflections": False, "evidence": False, "hcpc_number": False, "membership_number": True},
        }
    )
    assert build(portfolio).written
    text = site_text(site)
    assert "REFLECTIONTEXT" not in text and "BS11111" not in text and "999888" in text
    assert "cert.pdf" not in text and "example.org" not in text
    assert not (site / "activities/2026-01-10-a/cert.pdf").exists()
    assert "What I did." in (site / "activities/2026-01-10-a/index.html").read_text()


def test_publish_settings_reject_unknown_keys(portfolio):
    portfolio.settings({**PORTFOLIO, "publish": {"reflection": False}})
    result = build(portfolio)
    assert not result.written and result.exit_code == 1
    assert any(p.code == "unknown-field" and "did you mean 'reflections'" in p.message for p in result.problems)


def test_pathological_markdown_fails_that_file_and_writes_nothing(portfolio):
    portfolio.many(2)
    portfolio.activity("2026-05-01-log", body="[" * 16000)
    result = build(portfolio)
    assert not result.written
    problem = next(p for p in result.problems if p.code == "markdown-too-complex")
    assert problem.path == "content/activities/2026-05-01-log.md" and problem.severity == "error"
    assert not (portfolio.root / "site").exists()


def test_a_no_op_rebuild_writes_nothing(portfolio):
    portfolio.many(4)
    assert build(portfolio).written
    site = portfolio.root / "site"
    stamps = {p: p.stat().st_mtime_ns for p in site.rglob("*")}
    inode = site.stat().st_ino
    result = build(portfolio)
    assert result.written and result.stats.written == 0
    assert site.stat().st_ino == inode  # the very same folder: not even swapped
    assert {p: p.stat().st_mtime_ns for p in site.rglob("*")} == stamps


def test_editing_one_activity_renders_only_the_pages_that_show_it(portfolio):
    portfolio.many(6)
    edited = portfolio.activity("2025-02-10-a5", date="2025-02-10", title="Before the edit")
    assert build(portfolio).written
    site = portfolio.root / "site"
    other = site / "activities/2025-01-06-a0/index.html"
    inode = other.stat().st_ino
    before = read_manifest(site)
    edited.write_text(activity_text(date="2025-02-10", title="Before the edit", body="Now with more detail."))
    result = build(portfolio)
    # Only the edited page, the two CSVs that hold its description, and the search index's
    # files that hold its words: its title, lists and counts did not change.
    after = result.stats.manifest
    changed = sorted(path for path in after if before.get(path, [None])[0] != after[path][0])
    index = [path for path in changed if path.startswith("pagefind/")]
    assert "pagefind/pagefind-entry.json" in index
    assert [path for path in changed if path not in index] == [
        "activities.csv",
        "activities/2025-02-10-a5/index.html",
        "diplomas/diploma-1/diploma-1.csv",
    ]
    assert result.stats.written == 3 + len(index), result.stats
    assert "Now with more detail." in (site / "activities/2025-02-10-a5/index.html").read_text()
    assert other.stat().st_ino == inode  # reused by hard link, not rewritten


def test_a_cached_rendering_never_differs_from_a_fresh_one(portfolio, tmp_path):
    portfolio.activity("2026-01-10-a", body="Some *Markdown* with a [link](https://example.org).")
    assert build(portfolio, out=tmp_path / "warm-up").written
    cached = build(portfolio, out=tmp_path / "cached")
    fresh = build(portfolio, out=tmp_path / "fresh", renderer=SiteRenderer(portfolio.root, use_cache=False))
    assert cached.written and fresh.written
    assert tree_digest(tmp_path / "cached") == tree_digest(tmp_path / "fresh")


def test_a_damaged_markdown_cache_is_ignored(portfolio, tmp_path):
    portfolio.activity("2026-01-10-a", body="*Emphasis*")
    assert build(portfolio).written
    cache = Caches(portfolio.root.resolve()).path("markdown.json")
    assert cache is not None and cache.is_file()
    cache.write_text("{not json")
    assert build(portfolio, out=tmp_path / "again").written
    assert "<em>Emphasis</em>" in (tmp_path / "again/activities/2026-01-10-a/index.html").read_text()


def test_the_dev_server_can_render_in_place_with_live_reload_and_incrementally(portfolio, tmp_path):
    portfolio.many(3)
    gone = portfolio.activity("2026-02-02-gone", title="Soon gone")
    served = tmp_path / "served"
    served.mkdir()
    (served / "not-ours.txt").write_text("keep me")
    snippet = '<script src="/__livereload.js"></script>'
    renderer = SiteRenderer(portfolio.root, use_cache=False, live_reload=snippet)
    first = renderer.render_into(served, renderer.prepare(as_of=AS_OF), previous=served)
    assert first.written > 0
    assert snippet in (served / "index.html").read_text()
    again = renderer.render_into(served, renderer.prepare(as_of=AS_OF), previous=served)
    assert again.written == 0 and again.reused == first.written
    gone.unlink()
    third = renderer.render_into(served, renderer.prepare(as_of=AS_OF), previous=served)
    removed = set(first.manifest) - set(third.manifest)
    assert {path for path in removed if not path.startswith("pagefind/")} == {"activities/2026-02-02-gone/index.html"}
    assert third.removed == len(removed) and not (served / "activities/2026-02-02-gone").exists()
    assert not [path for path in removed if (served / path).exists()]
    assert (served / "not-ours.txt").read_text() == "keep me"
    # The published build never carries the snippet.
    assert build(portfolio).written
    assert "livereload" not in site_text(portfolio.root / "site")


def test_a_template_override_can_extend_the_default_theme(portfolio):
    portfolio.many(2)
    templates = portfolio.root / "templates"
    templates.mkdir()
    (templates / "base.html").write_text(
        '{% extends "default/base.html" %}{% block description %}MY OWN DESCRIPTION{% endblock %}'
    )
    (templates / "style.css").write_text("body { color: black; }\n")
    assert build(portfolio).written
    site = portfolio.root / "site"
    assert "MY OWN DESCRIPTION" in (site / "index.html").read_text()
    assert "MY OWN DESCRIPTION" in (site / "activities/index.html").read_text()
    assert (site / "style.css").read_text() == "body { color: black; }\n"


def test_a_broken_template_override_is_a_clear_error_not_a_traceback(portfolio, capsys):
    portfolio.many(2)
    (portfolio.root / "templates").mkdir()
    (portfolio.root / "templates" / "activity.html").write_text(
        "{% extends 'default/activity.html' %}{% block content %}{{ activity.titel }}{% endblock %}"
    )
    code = main(["build", "--root", str(portfolio.root), "--as-of", "2026-11-28"])
    err = capsys.readouterr().err
    assert code == 2
    assert "template activity.html" in err and "titel" in err
    assert not (portfolio.root / "site").exists()


def test_https_evidence_becomes_an_external_link_and_files_are_copied(portfolio):
    from test_privacy_images import picture, saved

    poster = saved(picture(), "PNG")
    portfolio.write("activities/2026-01-10-poster/poster.png", poster)
    portfolio.write(
        "activities/2026-01-10-poster/index.md", activity_text(evidence=["poster.png", "https://www.ibms.org/"])
    )
    assert build(portfolio).written
    page = (portfolio.root / "site/activities/2026-01-10-poster/index.html").read_text()
    assert '<a href="https://www.ibms.org/" rel="noopener noreferrer">' in page
    assert '<img src="poster.png"' in page
    copied = portfolio.root / "site/activities/2026-01-10-poster/poster.png"
    assert copied.read_bytes() == poster and not copied.is_symlink()  # a clean image is copied as it is


def test_setup_errors_exit_2(portfolio, capsys):
    (portfolio.content / "portfolio.yaml").unlink()
    assert main(["build", "--root", str(portfolio.root)]) == 2
    assert main(["build", "--root", str(portfolio.root / "nowhere")]) == 2
    assert "no content/ folder" in capsys.readouterr().err


def test_check_does_not_import_the_site_machinery():
    code = (
        "import sys; from cpdgen.cli import main; main(['check', '--root', '.', '-q']);"
        "print(sorted(m for m in ('jinja2', 'markdown', 'nh3', 'weasyprint',"
        " 'cpdgen.site.build', 'cpdgen.site.plan', 'cpdgen.pdf.document') if m in sys.modules))"
    )
    repo = Path(__file__).resolve().parent.parent
    done = subprocess.run([sys.executable, "-c", code], cwd=repo, capture_output=True, text=True)
    assert done.stdout.strip().splitlines()[-1] == "[]"


def test_yaml_fixture_sanity():
    assert yaml.safe_load("a: 1") == {"a": 1}


def test_a_build_with_nothing_changed_is_skipped_without_reading_the_portfolio(portfolio, monkeypatch, capsys):
    portfolio.many(3)
    portfolio.activity("2026-01-10-short", reflection="Too short.")  # a warning, reported again
    args = ["build", "--root", str(portfolio.root), "--as-of", "2026-11-28", "--no-pdf"]
    assert main(args) == 0
    first = capsys.readouterr().out
    assert "short-reflection" in first and "Built" in first

    import cpdgen.loader

    def must_not_load(root):
        raise AssertionError("the portfolio was read again")

    monkeypatch.setattr(cpdgen.loader, "load_portfolio", must_not_load)
    assert main(args) == 0
    again = capsys.readouterr().out
    assert "Nothing changed" in again
    assert [line for line in again.splitlines() if "short-reflection" in line] == [
        line for line in first.splitlines() if "short-reflection" in line
    ]


@pytest.mark.parametrize("change", ["edit", "template", "site-file", "date", "strict", "cache-gone"])
def test_any_change_makes_the_next_build_a_real_one(portfolio, change):
    portfolio.many(3)
    site = portfolio.root / "site"
    assert build(portfolio).written
    assert build(portfolio).unchanged
    options = {}
    if change == "edit":
        portfolio.activity("2025-01-06-a0", date="2025-01-06", body="Edited, same length as before?")
    elif change == "template":
        (portfolio.root / "templates").mkdir()
        (portfolio.root / "templates" / "style.css").write_text("body { margin: 0; }\n")
    elif change == "site-file":
        (site / "categories/other/index.html").unlink()
    elif change == "date":
        options["as_of"] = date(2026, 11, 29)
    elif change == "strict":
        options["strict"] = True
    elif change == "cache-gone":
        stamps = list(Caches(portfolio.root.resolve()).folder.glob("build-*.json"))
        assert stamps
        for stamp_file in stamps:
            stamp_file.unlink()
    result = build(portfolio, **options)
    assert result.written and not (result.unchanged and change in ("edit", "template", "site-file", "date"))
    assert (site / "categories/other/index.html").is_file()
    if change == "template":
        assert (site / "style.css").read_text() == "body { margin: 0; }\n"


def test_images_copied_into_the_site_lose_their_metadata(portfolio):
    from test_privacy_images import jpeg_with_everything, pixels

    original = jpeg_with_everything()
    portfolio.write("evidence/bench-photo.jpg", original)
    portfolio.activity("2026-01-10-photo", evidence=["bench-photo.jpg"])
    result = build(portfolio)
    assert result.written, result.problems
    copied = (result.out / "activities/2026-01-10-photo/bench-photo.jpg").read_bytes()
    assert b"SECRET" not in copied
    assert pixels(copied) == pixels(original)
    assert (portfolio.content / "evidence/bench-photo.jpg").read_bytes() == original  # the member's file is untouched


def test_a_damaged_image_stops_the_build_and_the_old_site_stays(portfolio, capsys):
    portfolio.activity("2026-01-10-ok")
    assert build(portfolio).written
    before = tree_digest(portfolio.root / "site")
    portfolio.write("evidence/broken.png", b"\x89PNG\r\n\x1a\nnot really")
    portfolio.activity("2026-01-11-photo", date="2026-01-11", evidence=["broken.png"])
    code = main(["build", "--root", str(portfolio.root), "--no-pdf", "--as-of", "2026-11-28"])
    assert code == 1
    assert "broken.png" in capsys.readouterr().err
    assert tree_digest(portfolio.root / "site") == before


@pytest.mark.parametrize("name", ["poster.svg", "notes.html", "photo.heic"])
def test_evidence_a_browser_would_run_or_that_cannot_be_cleaned_is_not_published(portfolio, name):
    portfolio.write(f"evidence/{name}", "<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>")
    portfolio.activity("2026-01-10-a", evidence=[name])
    result = build(portfolio)
    assert not result.written
    assert [(p.path, p.line, p.code) for p in result.problems] == [
        ("content/activities/2026-01-10-a.md", 5, "evidence-unpublishable")
    ]
    portfolio.activity("2026-01-10-a", evidence=[name], private=True)
    result = build(portfolio)
    assert result.written, result.problems
    assert name not in site_text(result.out)


def test_the_sites_pdf_and_csv_are_public_and_follow_the_publish_settings(portfolio):
    from pdfread import decoded, reader, text

    portfolio.write("evidence/cert.pdf", pdf_document("cert"))
    portfolio.activity("2026-01-10-a", reflection="REFLECTIONTEXT " * 60, evidence=["cert.pdf"])
    portfolio.activity("2026-01-11-b", date="2026-01-11", title="PRIVATETITLE", private=True)
    member = {"name": "Alex Morgan", "hcpc_number": "BS11111", "membership_number": "999888"}
    portfolio.settings({"member": member, "publish": {"reflections": False, "evidence": False, "hcpc_number": False}})
    result = build(portfolio, pdf=True)
    assert result.written, result.problems
    site = result.out
    pdf_bytes = (site / "diplomas/diploma-1/diploma-1.pdf").read_bytes()
    words = text(pdf_bytes)
    assert "Alex Morgan" in words
    assert "1 private activity is left out of this public record." in words
    assert "Reflections and evidence are not published." in words
    for secret in (b"REFLECTIONTEXT", b"PRIVATETITLE", b"BS11111", b"999888", b"cert.pdf"):
        assert secret not in decoded(pdf_bytes), secret
    assert not reader(pdf_bytes).attachments
    for csv_file in ("activities.csv", "diplomas/diploma-1/diploma-1.csv"):
        data = (site / csv_file).read_text(encoding="utf-8-sig")
        assert "REFLECTIONTEXT" not in data and "PRIVATETITLE" not in data and "cert.pdf" not in data
        assert "1 private activity is left out of this public record." in data
    page = (site / "diplomas/diploma-1/index.html").read_text()
    assert 'href="../../diplomas/diploma-1/diploma-1.pdf"' in page
    assert 'href="../../diplomas/diploma-1/diploma-1.csv"' in page


# --- recycling the replaced site (a spare folder in the cache) ----------------------------------


def _edit(path: Path, n: int) -> None:
    path.write_text(
        activity_text(date="2025-02-10", title=f"Edited {n}", body=f"Edit number {n}.", evidence=["cert.txt"])
    )


def _spare(portfolio) -> Path:
    root = portfolio.root.resolve()
    return Caches(root).for_output("site", root / "site")


def test_rebuilds_recycle_the_replaced_site_and_match_a_fresh_build(portfolio, tmp_path):
    portfolio.many(6)
    portfolio.write("evidence/cert.txt", "certificate\n")
    edited = portfolio.activity("2025-02-10-a5")
    _edit(edited, 0)
    site = portfolio.root / "site"
    assert build(portfolio).written
    for n in range(1, 5):
        _edit(edited, n)
        if n == 3:
            (portfolio.content / "activities" / "2025-01-06-a0.md").unlink()  # a page that must go
        before = tree_digest(site)
        result = build(portfolio)
        assert result.written
        assert _spare(portfolio).is_dir() and tree_digest(_spare(portfolio)) == before  # the replaced site, kept
        fresh = build(portfolio, out=tmp_path / f"fresh-{n}", reuse_unchanged=False)
        assert tree_digest(site) == tree_digest(fresh.out), n
    assert not (site / "activities/2025-01-06-a0").exists()
    assert not [p for p in portfolio.root.iterdir() if p.name.startswith("site.tmp-")]


def test_files_put_into_site_never_come_back_through_the_spare(portfolio, tmp_path):
    portfolio.many(4)
    edited = portfolio.activity("2025-02-10-a5")
    portfolio.write("evidence/cert.txt", "certificate\n")
    _edit(edited, 0)
    site = portfolio.root / "site"
    assert build(portfolio).written
    secret = tmp_path / "secret.txt"
    secret.write_text("not for the web")
    page = site / "activities/2025-01-06-a0/index.html"
    size = page.stat().st_size
    page.unlink()
    os.symlink(secret, page)  # a link where a page was
    (site / "junk.txt").write_text("not listed under site: keep:\n")
    (site / "extra").mkdir()
    (site / "extra" / "notes.txt").write_text("notes\n")
    os.symlink(tmp_path, site / "activities" / "linked")
    for n in (1, 2, 3):  # the first build keeps that site as the spare, the next ones recycle it
        _edit(edited, n)
        assert build(portfolio).written
        fresh = build(portfolio, out=tmp_path / f"fresh-{n}", reuse_unchanged=False)
        assert tree_digest(site) == tree_digest(fresh.out)
        assert not [p for p in site.rglob("*") if p.is_symlink()]
        assert "not for the web" not in site_text(site)
    assert page.stat().st_size == size


def test_a_failed_rebuild_from_the_spare_leaves_the_site_and_the_next_build_works(portfolio, monkeypatch):
    portfolio.many(6)
    portfolio.write("evidence/cert.txt", "certificate\n")
    edited = portfolio.activity("2025-02-10-a5")
    _edit(edited, 0)
    site = portfolio.root / "site"
    assert build(portfolio).written
    _edit(edited, 1)
    assert build(portfolio).written and _spare(portfolio).is_dir()
    before = tree_digest(site)
    inodes = {p: p.stat().st_ino for p in site.rglob("*")}
    _edit(edited, 2)
    original = SiteRenderer.render_page

    def fail(self, template, context):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(SiteRenderer, "render_page", fail)
    with pytest.raises(OSError):
        build(portfolio)
    assert tree_digest(site) == before
    assert {p: p.stat().st_ino for p in site.rglob("*")} == inodes
    assert sorted(p.name for p in portfolio.root.iterdir()) == ["content", "site"]
    monkeypatch.setattr(SiteRenderer, "render_page", original)
    assert build(portfolio).written
    assert "Edit number 2." in (site / "activities/2025-02-10-a5/index.html").read_text()


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")
def test_a_rebuild_from_the_spare_killed_half_way_leaves_the_site_as_it_was(portfolio):
    portfolio.many(6)
    portfolio.write("evidence/cert.txt", "certificate\n")
    edited = portfolio.activity("2025-02-10-a5")
    _edit(edited, 0)
    site = portfolio.root / "site"
    assert build(portfolio).written
    _edit(edited, 1)
    assert build(portfolio).written and _spare(portfolio).is_dir()
    before = tree_digest(site)
    for n in (2, 3, 4, 5):  # every page changes, so the killed build is writing into the recycled folder
        portfolio.activity(f"2026-03-0{n}-new", title=f"New {n}")
    killed = subprocess.run([sys.executable, "-c", KILL_SCRIPT, str(portfolio.root)], capture_output=True)
    assert killed.returncode == -9
    assert tree_digest(site) == before
    assert build(portfolio).written
    assert not [p for p in portfolio.root.iterdir() if p.name.startswith("site.tmp-")]
    assert (site / "activities/2026-03-05-new/index.html").is_file()


def test_files_for_one_new_folder_never_race_its_making(portfolio, monkeypatch):
    # Two threads write the site; both may need the same new folder (a page and its evidence).
    # Making a folder is slowed down here so that the second thread asks while the first is
    # still making it: it must wait for the folder, not write into nothing.
    import time
    from pathlib import Path as RealPath

    for n in range(3):
        portfolio.write(f"evidence/cert-{n}.txt", f"certificate {n}\n")
    portfolio.activity("2026-01-10-a", evidence=[f"cert-{n}.txt" for n in range(3)])
    original = RealPath.mkdir

    def slow_mkdir(self, *args, **kwargs):
        if self.name == "2026-01-10-a":  # the activity's folder: slower than rendering every other page
            time.sleep(0.5)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(RealPath, "mkdir", slow_mkdir)
    result = build(portfolio, reuse_unchanged=False)
    assert result.written
    assert (result.out / "activities/2026-01-10-a/cert-2.txt").read_text() == "certificate 2\n"


def test_evidence_is_copied_as_the_resolved_file_never_as_a_link(tmp_path: Path):
    real = tmp_path / "cert.pdf"
    real.write_bytes(b"%PDF certificate")
    link = tmp_path / "link.pdf"
    link.symlink_to(real)
    target = tmp_path / "out.pdf"
    copy_evidence(link, target, content=tmp_path, in_place=False)
    assert not target.is_symlink()
    assert target.read_bytes() == b"%PDF certificate"


class _NoPango:
    """An import finder that fails WeasyPrint's import as cffi does when Pango is not installed."""

    def find_spec(self, name, path=None, target=None):
        if name == "weasyprint" or name.startswith("weasyprint."):
            raise OSError(
                "cannot load library 'libpango-1.0-0': libpango-1.0-0: cannot open shared object file: "
                "No such file or directory.  Additionally, ctypes.util.find_library() did not manage to locate "
                "a library called 'libpango-1.0-0'"
            )
        return None


def test_without_pango_the_build_says_what_is_missing_and_how_to_install_it(portfolio, capsys, monkeypatch):
    for name in [n for n in sys.modules if n == "weasyprint" or n.startswith("weasyprint.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setattr(sys, "meta_path", [_NoPango(), *sys.meta_path])
    portfolio.many(2)
    code = main(["build", "--root", str(portfolio.root), "--as-of", "2025-07-01"])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err
    assert err.startswith(
        "cpdgen: the PDF cannot be made: WeasyPrint, which lays it out, could not load the library libpango-1.0-0."
    )
    for advice in (
        "'cpdgen build --no-pdf' builds the site and the CSVs",
        "Debian or Ubuntu: sudo apt-get install libpango-1.0-0 libpangoft2-1.0-0",
        "Fedora: sudo dnf install pango",
        "macOS: brew install pango",
        "Windows: install MSYS2 (https://www.msys2.org/), run 'pacman -S mingw-w64-x86_64-pango'",
        "'cpdgen doctor' checks everything the PDF needs on this computer, and says what to install.",
    ):
        assert advice in err, advice
    assert not (portfolio.root / "site").exists()
    assert main(["build", "--root", str(portfolio.root), "--as-of", "2025-07-01", "--no-pdf"]) == 0
    assert (portfolio.root / "site" / "index.html").is_file()
    code = main(["export", "pdf", "--root", str(portfolio.root), "--as-of", "2025-07-01"])
    assert code == 2 and "could not load the library libpango-1.0-0" in capsys.readouterr().err


def test_a_picture_or_link_to_a_file_the_site_does_not_publish_is_a_warning_at_its_line(portfolio):
    portfolio.write("evidence/photo.png", b"\x89PNG\r\n\x1a\n")
    portfolio.write("evidence/listed.png", png_image())
    body = (
        "What I did.\n\n![The bench](photo.png)\n\n![Listed](listed.png) and [a web page](https://www.ibms.org/) "
        "and [below](#reflection) and [another activity](../2026-01-01-other/)\n\n[my notes](notes%20v2.pdf)\n"
    )
    portfolio.activity("2026-01-10-bench", evidence=["listed.png"], body=body)
    result = build(portfolio)
    found = [(p.path, p.line, p.message) for p in result.problems if p.code == "unpublished-file"]
    path = "content/activities/2026-01-10-bench.md"
    assert [(where, line) for where, line, _ in found] == [(path, 9), (path, 13)], found
    assert found[0][2].startswith("the picture 'photo.png' would be broken on the site: only the files listed")
    assert found[1][2].startswith("the link to 'notes%20v2.pdf' would be broken")
    assert result.written  # a warning: the site is still built


def test_with_evidence_unpublished_every_file_reference_says_why(portfolio):
    portfolio.settings({"member": {"name": "A"}, "publish": {"evidence": False}})
    portfolio.write("evidence/listed.png", png_image())
    portfolio.activity("2026-01-10-bench", evidence=["listed.png"], body="![Listed](listed.png)\n")
    (problem,) = [p for p in build(portfolio).problems if p.code == "unpublished-file"]
    assert "publish: evidence is false" in problem.message


def test_a_build_reads_each_template_once_not_once_a_page(portfolio, monkeypatch):
    """Only cpdgen serve watches the theme for edits: a build does not ask the file system
    whether a template changed each time a page uses it."""
    from collections import Counter

    import jinja2.loaders

    from cpdgen import theme_dir

    portfolio.many(6, start="2026-01-05")
    asked: list[str] = []
    real = jinja2.loaders.os.path.getmtime

    def getmtime(path):
        if str(path).startswith(str(theme_dir())):
            asked.append(str(path))
        return real(path)

    monkeypatch.setattr(jinja2.loaders.os.path, "getmtime", getmtime)
    result = build_site(portfolio.root, as_of=date(2026, 11, 28), pdf=False)
    assert result.written and len(result.stats.manifest) > 10
    # Each template is read when it is first used and once for the theme's fingerprint, under
    # each of its two names (base.html and default/base.html), however many pages use it.
    assert asked and max(Counter(asked).values()) <= 4

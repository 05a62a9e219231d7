"""The PDF diploma record, read back: facts, activities, metadata, attachments; the same bytes every time."""

from __future__ import annotations

import contextlib
import io
import multiprocessing
import shutil
from datetime import date
from pathlib import Path

import pytest
from PIL import Image

import pdfread
from conftest import REFLECTION, Builder, pdf_document
from cpdgen.cache import BlobStore
from cpdgen.loader import load_portfolio
from cpdgen.pdf import layout as rendering
from cpdgen.pdf.document import prepare_diploma_pdf, render_diploma_pdf
from cpdgen.problems import CpdgenError

AS_OF = date(2025, 7, 1)
MEMBER = {
    "member": {
        "name": "Alex Morgan",
        "membership_number": "123456",
        "hcpc_number": "BS12345",
        "job_title": "Specialist Biomedical Scientist",
        "employer": "Example NHS Foundation Trust",
    },
    "diplomas": [{"id": "diploma-1", "start": "2024-09-01"}],
}
LONG_REFLECTION = " ".join(f"Sentence {n} of a long reflection about the laboratory." for n in range(1, 401))


CERTIFICATE = pdf_document("The certificate of attendance")


def judged(root: Path, as_of: date = AS_OF):
    portfolio = load_portfolio(root)
    assert not [p for p in portfolio.problems if p.severity == "error"], portfolio.problems
    return portfolio, portfolio.assess(as_of)


def build_record(root: Path) -> Builder:
    """A small diploma with evidence, a private activity, a draft, one without reflection and a long reflection."""
    portfolio = Builder(root)
    portfolio.settings(MEMBER)
    portfolio.write("evidence/certificate.pdf", CERTIFICATE)
    portfolio.write("evidence/chart.png", pdfread.png(120, 60))
    portfolio.activity(
        "2025-01-10-rca",
        title="Root-cause analysis of a WBIT incident",
        date="2025-01-10",
        evidence=["certificate.pdf", "chart.png", "https://www.shotuk.org/"],
        body="Led the **laboratory** part of the RCA.\n\n- timeline\n- labels",
        reflection="The two-sample rule caught it before any blood was issued.",
    )
    portfolio.activity("2025-02-11-private", title="Appraisal and personal plan", date="2025-02-11", private=True,
                       reflection="Private thoughts about my development plan.")  # fmt: skip
    portfolio.activity("2025-03-12-draft", title="Half-written course notes", date="2025-03-12", draft=True)
    portfolio.activity("2025-04-13-none", title="Webinar without reflection yet", date="2025-04-13",
                       category="formal-educational", reflection=None)  # fmt: skip
    portfolio.activity("2025-05-14-long", title="A very long reflection", date="2025-05-14", category="other",
                       reflection=LONG_REFLECTION)  # fmt: skip
    return portfolio


@pytest.fixture(scope="module")
def record(tmp_path_factory):
    """The complete and the public PDF of one small diploma, rendered once for the tests below."""
    root = tmp_path_factory.mktemp("record")
    build_record(root)
    portfolio, assessment = judged(root)
    return {
        "root": root,
        "complete": render_diploma_pdf(portfolio, assessment, "diploma-1", public=False),
        "public": render_diploma_pdf(portfolio, assessment, "diploma-1", public=True),
    }


@pytest.mark.slow  # the record fixture lays out two PDFs
def test_cover_states_the_member_the_diploma_and_the_result(record):
    cover = " ".join(pdfread.page_texts(record["complete"])[0].split())
    for fact in (
        "Alex Morgan", "IBMS membership number 123456", "HCPC registration BS12345",
        "Specialist Biomedical Scientist", "Example NHS Foundation Trust",
        "Diploma 1 · from 1 September 2024", "Period from 1 September 2024",
        "Status Open: not yet submitted for validation",
        "Evaluation date 1 July 2025 (the date of this record)",
        "dated 1 September 2024 to 1 July 2025, with a reflection",  # the diploma started inside the window
        "Not eligible yet", "3 activities count (24 needed), in 2 categories (3 needed)",
        "It still needs 21 more activities and 1 more category.", "Complete record.",
    ):  # fmt: skip
        assert fact in cover, fact


@pytest.mark.slow  # the record fixture lays out two PDFs
def test_every_activity_and_reflection_is_in_the_complete_record(record):
    found = pdfread.text(record["complete"])
    for title in ("Root-cause analysis of a WBIT incident", "Appraisal and personal plan", "Half-written course notes",
                  "Webinar without reflection yet", "A very long reflection"):  # fmt: skip
        assert found.count(title) >= 2, title  # in the summary table and as the activity's heading
    assert "The two-sample rule caught it before any blood was issued." in found
    assert "Private thoughts about my development plan." in found
    assert "Sentence 1 of a long reflection" in found and "Sentence 400 of a long reflection" in found
    assert "No reflection recorded: this activity cannot count until it has one." in found
    assert "No: no reflection" in found and "No: draft" in found
    assert "certificate.pdf (attached to this PDF)" in found and "https://www.shotuk.org/ (web link)" in found


@pytest.mark.slow  # the record fixture lays out two PDFs
def test_pages_are_numbered_and_the_long_reflection_breaks_across_pages(record):
    pages = pdfread.page_texts(record["complete"])
    total = len(pages)
    assert total >= 5
    for number, page in enumerate(pages, start=1):
        assert f"Page {number} of {total}" in page
    holding = [n for n, page in enumerate(pages) if "of a long reflection about the laboratory" in page]
    assert len(holding) >= 2 and holding == list(range(holding[0], holding[-1] + 1))
    for page in pages[1:]:
        assert "Alex Morgan · CPD Diploma record" in page  # the running header, on every page but the cover


@pytest.mark.slow  # the record fixture lays out two PDFs
def test_metadata_is_set_and_carries_no_clock_time(record):
    info = pdfread.reader(record["complete"]).metadata
    assert info["/Title"] == "CPD Diploma record: Alex Morgan, Diploma 1"
    assert info["/Author"] == "Alex Morgan"
    assert info["/Subject"].startswith("IBMS CPD Diploma record of Alex Morgan: Diploma 1, from 1 September 2024")
    assert info["/Keywords"] == "CPD, CPD Diploma, IBMS, HCPC, biomedical science, diploma-1"
    assert "/CreationDate" not in info and "/ModDate" not in info


@pytest.mark.slow  # the record fixture lays out two PDFs
def test_the_pdf_is_tagged_for_accessibility(record):
    root = pdfread.reader(record["complete"]).trailer["/Root"]
    assert bool(root["/MarkInfo"]["/Marked"])
    assert "/StructTreeRoot" in root
    assert root["/Lang"] == "en-GB"


@pytest.mark.slow  # the record fixture lays out two PDFs
def test_evidence_files_are_attached(record, tmp_path):
    attachments = pdfread.reader(record["complete"]).attachments
    assert sorted(attachments) == ["certificate.pdf", "chart.png"]
    assert attachments["certificate.pdf"] == [CERTIFICATE]
    with Image.open(io.BytesIO(attachments["chart.png"][0])) as image:
        assert image.size == (120, 60)


@pytest.mark.slow  # the record fixture lays out two PDFs
def test_public_record_leaves_out_private_activities_and_drafts_and_says_so(record):
    found = pdfread.text(record["public"])
    assert "Appraisal and personal plan" not in found and "Private thoughts" not in found
    assert "Half-written course notes" not in found
    assert "1 private activity and 1 draft are left out of this public record." in found
    assert "Root-cause analysis of a WBIT incident" in found
    # The private activity still counts: the figures do not change.
    assert "3 activities count (24 needed)" in found
    assert pdfread.reader(record["public"]).metadata["/Subject"].endswith("public record as of 1 July 2025")


@pytest.mark.slow
def test_summary_rows_are_never_split_across_pages(tmp_path):
    portfolio = Builder(tmp_path)
    portfolio.settings(MEMBER)
    titles = [
        f"Activity number {n} with a title long enough to wrap onto a second line of its table cell" for n in range(45)
    ]
    for n, title in enumerate(titles):
        portfolio.activity(f"a{n:02}", title=title, date=f"2025-0{1 + n % 6}-{1 + n % 27:02}", reflection=None)
    job = prepare_diploma_pdf(*judged(tmp_path), "diploma-1", public=False)
    pages = [" ".join(p.split()) for p in pdfread.page_texts(rendering.pdf_bytes(job))]
    table_pages = [p for p in pages if "No. Date Activity Category Counts?" in p]
    assert len(table_pages) >= 2  # the table runs over pages, its header repeated
    for title in titles:
        assert any(title in page for page in table_pages), title


@pytest.mark.slow  # the record fixture lays out two PDFs
def test_the_same_input_gives_the_same_bytes_wherever_the_portfolio_is(record, tmp_path):
    copy = tmp_path / "elsewhere" / "portfolio"
    shutil.copytree(record["root"], copy)
    portfolio, assessment = judged(copy)
    assert render_diploma_pdf(portfolio, assessment, "diploma-1", public=False) == record["complete"]


def test_an_unchanged_diploma_is_not_rendered_again(tmp_path, monkeypatch):
    portfolio = Builder(tmp_path / "p")
    portfolio.activity("a", date="2025-03-01")
    cache = tmp_path / "cache"
    store = BlobStore(cache, ".pdf")
    first = render_diploma_pdf(*judged(portfolio.root), "diploma-1", public=True, store=store)

    def no_rendering(job):
        raise AssertionError("rendered although nothing changed")

    monkeypatch.setattr(rendering, "render_bounded", no_rendering)
    assert render_diploma_pdf(*judged(portfolio.root), "diploma-1", public=True, store=store) == first
    portfolio.activity("a", date="2025-03-01", reflection=REFLECTION + " One more sentence.")
    job = prepare_diploma_pdf(*judged(portfolio.root), "diploma-1", public=True)
    assert not rendering.cached(job, store)
    with pytest.raises(AssertionError, match="rendered although"):
        rendering.pdf_bytes(job, store)
    monkeypatch.undo()
    rendering.pdf_bytes(job, store)
    assert len(list(cache.glob("*.pdf"))) == 1  # the superseded PDF was dropped


def test_a_changed_evidence_file_is_a_change(tmp_path):
    portfolio = Builder(tmp_path)
    portfolio.write("evidence/cert.pdf", pdf_document("first"))
    portfolio.activity("a", date="2025-03-01", evidence=["cert.pdf"])
    before = prepare_diploma_pdf(*judged(tmp_path), "diploma-1", public=False).key
    portfolio.write("evidence/cert.pdf", pdf_document("second"))
    assert prepare_diploma_pdf(*judged(tmp_path), "diploma-1", public=False).key != before


def test_a_portfolio_template_can_extend_cpdgens(tmp_path):
    portfolio = Builder(tmp_path)
    portfolio.activity("a", date="2025-03-01")
    override = tmp_path / "templates" / "pdf" / "diploma.html"
    override.parent.mkdir(parents=True)
    override.write_text(
        '{% extends "default/pdf/diploma.html" %}{% block summary %}<p>Our lab’s own summary page</p>{% endblock %}',
        encoding="utf-8",
    )
    found = pdfread.text(render_diploma_pdf(*judged(tmp_path), "diploma-1", public=False))
    assert "Our lab’s own summary page" in found and "Activities by category" not in found


def test_unknown_diploma_is_a_clear_error(tmp_path):
    Builder(tmp_path)
    with pytest.raises(CpdgenError, match="no diploma is called 'nope' \\(diplomas: diploma-1\\)"):
        prepare_diploma_pdf(*judged(tmp_path), "nope", public=False)


def test_example_portfolio_renders_without_problems():
    root = Path(__file__).resolve().parents[1]
    portfolio, assessment = judged(root, date(2026, 11, 28))
    for diploma in assessment.diplomas:
        job = prepare_diploma_pdf(portfolio, assessment, diploma.id, public=True)
        assert job.problems == [], job.problems
    assert "Jordan Hale" in job.html


def test_the_cover_names_the_diploma_and_its_status_in_the_ibms_words(tmp_path):
    portfolio = Builder(tmp_path)
    portfolio.settings(
        {
            **MEMBER,
            "diplomas": [
                {"start": "2023-01-01", "submitted": "2025-04-14", "issued": "2025-06-16"},
                {"start": "2025-06-16"},
            ],
        }
    )
    portfolio.many(24, start="2023-05-01")
    portfolio.many(24, start="2025-07-07")
    loaded, assessment = judged(tmp_path, date(2026, 11, 28))
    first = prepare_diploma_pdf(loaded, assessment, "diploma-1", public=False).html
    second = prepare_diploma_pdf(loaded, assessment, "diploma-2", public=False).html
    assert "Validated and issued on 16 June 2025 (submitted for validation on 14 April 2025)" in first
    assert "<td>Ready to submit for validation</td>" in second
    assert "24 activities count (24 needed), in 3 categories (3 needed)" in second
    assert "dated 16 June 2025 to 28 November 2026, with a reflection" in second
    assert "diploma-2" not in second.split("<body>")[1].split("</section>")[0]  # the cover says "Diploma 2"
    assert "Diploma 2 · from 16 June 2025" in second


@pytest.mark.slow  # lays out four PDFs twice
def test_diplomas_laid_out_side_by_side_give_the_same_bytes_as_one_by_one(tmp_path, monkeypatch):
    portfolio = build_record(tmp_path / "p")
    diplomas = [{"id": "diploma-1", "start": "2024-09-01", "submitted": "2025-03-20"}, {"start": "2025-03-20"}]
    settings = dict(MEMBER, diplomas=diplomas)
    portfolio.settings(settings)
    portfolio.activity("2025-04-02-later", title="Later activity", date="2025-04-02", reflection=REFLECTION)
    loaded, assessment = judged(portfolio.root)
    jobs = [
        prepare_diploma_pdf(loaded, assessment, diploma, public=public)
        for diploma in ("diploma-1", "diploma-2")
        for public in (True, False)
    ]
    one_by_one = [rendering.pdf_bytes(job) for job in jobs]
    monkeypatch.setattr(rendering, "parallel_limit", lambda count: count)  # all four at once, whatever the machine
    side_by_side = rendering.pdf_bytes_of(jobs)
    assert side_by_side == one_by_one
    assert len(set(side_by_side)) == 4 and all(pdf.startswith(b"%PDF-") for pdf in side_by_side)
    assert "Later activity" in pdfread.text(side_by_side[3]) and "Later activity" not in pdfread.text(side_by_side[1])


# --- the workshop: WeasyPrint readied while a build reads the portfolio -------------------------


@pytest.mark.slow  # lays out two diplomas twice
def test_a_build_s_pdfs_laid_out_in_its_workshop_are_the_pdfs_laid_out_without_it(tmp_path, monkeypatch):
    from cpdgen.site.build import build_site

    portfolio = build_record(tmp_path / "p")
    submitted = [{"id": "diploma-1", "start": "2024-09-01", "submitted": "2025-03-20"}, {"start": "2025-03-20"}]
    portfolio.settings(dict(MEMBER, diplomas=submitted))
    handed: list[list[str]] = []
    submit = rendering.Workshop.submit
    monkeypatch.setattr(
        rendering.Workshop,
        "submit",
        lambda self, jobs: (handed.append([j.diploma_id for j in jobs]), submit(self, jobs)),
    )
    with_workshop = build_site(portfolio.root, tmp_path / "one", as_of=AS_OF, use_cache=False)
    assert with_workshop.written and handed == [["diploma-1", "diploma-2"]]
    assert multiprocessing.active_children() == []  # the workshop and its children are gone
    monkeypatch.setattr(rendering.Workshop, "start", classmethod(lambda cls: None))
    without = build_site(portfolio.root, tmp_path / "two", as_of=AS_OF, use_cache=False)
    assert without.written and len(handed) == 1
    for diploma in ("diploma-1", "diploma-2"):
        made = (tmp_path / "one" / "diplomas" / diploma / f"{diploma}.pdf").read_bytes()
        assert made == (tmp_path / "two" / "diplomas" / diploma / f"{diploma}.pdf").read_bytes()
        assert made.startswith(b"%PDF-")


def test_a_workshop_with_nothing_to_do_ends_with_the_build(tmp_path):
    with rendering.pdf_workshop() as workshop:
        assert workshop is not None and multiprocessing.active_children()
    assert multiprocessing.active_children() == []
    with rendering.pdf_workshop(wanted=False) as workshop:
        assert workshop is None


def test_a_workshop_that_dies_is_a_message_not_a_hang(tmp_path):
    portfolio = Builder(tmp_path / "p")
    portfolio.activity("a", date="2025-03-01")
    job = prepare_diploma_pdf(*judged(portfolio.root), "diploma-1", public=True)
    with rendering.pdf_workshop() as workshop:
        assert workshop is not None
        [process] = multiprocessing.active_children()
        process.kill()
        process.join()
        with pytest.raises(CpdgenError, match="the renderer stopped"):
            rendering.start_pdfs([job], None, workshop).result()


_ORPHANED_WORKSHOP = """
import os, signal, sys, time
from datetime import date, datetime
from pathlib import Path

from cpdgen.loader import load_portfolio
from cpdgen.pdf import layout
from cpdgen.pdf.document import prepare_diploma_pdf

shop = layout.Workshop.start()
print(shop._process.pid, flush=True)
if sys.argv[1] != "-":  # hand it a job whose PDF is larger than a socket's buffer
    portfolio = load_portfolio(Path(sys.argv[1]))
    job = prepare_diploma_pdf(portfolio, portfolio.assess(date(2025, 7, 1)), "diploma-1", public=True)
    job.attachments = (layout.Attachment("noise.bin", "noise", os.urandom(4_000_000), datetime(2025, 1, 1)),)
    shop.submit([job])
    time.sleep(0.2)
os.kill(os.getpid(), signal.SIGKILL)  # the build is killed (or hung up on) before it takes the PDFs
"""


def _ended(pid: int, within: float) -> bool:
    import time

    stat = Path(f"/proc/{pid}/stat")
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            if stat.read_text().rsplit(")", 1)[1].split()[0] == "Z":
                return True  # ended; a zombie until init reaps it
        except OSError:
            return True
        time.sleep(0.1)
    return False


@pytest.mark.slow
@pytest.mark.parametrize("handed", [False, True], ids=["before-the-jobs", "while-laying-out"])
def test_a_workshop_ends_when_its_build_is_killed(tmp_path, handed):
    import os
    import signal
    import subprocess
    import sys

    portfolio = Builder(tmp_path / "p")
    portfolio.settings(MEMBER)
    portfolio.activity("2025-03-01-a", date="2025-03-01")
    script = [sys.executable, "-c", _ORPHANED_WORKSHOP, str(portfolio.root) if handed else "-"]
    output = tmp_path / "output.txt"  # not a pipe: the workshop holds the build's output open while it lives
    with output.open("w") as out:
        code = subprocess.run(script, stdout=out, stderr=subprocess.STDOUT, timeout=120).returncode
    assert code == -signal.SIGKILL, output.read_text()
    workshop = int(output.read_text().split()[0])
    try:
        # It must not wait for ever for jobs, or to hand over PDFs nobody will take (holding the
        # build's output pipe open, so whoever reads it, a CI job or `| tee`, waits for ever too).
        assert _ended(workshop, 60), "the workshop outlived its build"
    finally:
        with contextlib.suppress(OSError):
            os.killpg(workshop, signal.SIGKILL)


def test_a_weasyprint_failure_in_the_workshop_reads_as_it_does_without_one(tmp_path, monkeypatch):
    portfolio = Builder(tmp_path / "p")
    portfolio.activity("a", date="2025-03-01")
    job = prepare_diploma_pdf(*judged(portfolio.root), "diploma-1", public=True)

    def crash(*args):
        raise ValueError("a bug inside WeasyPrint")

    monkeypatch.setattr(rendering, "_write_pdf", crash)  # the workshop and its children inherit it
    shown = r"^WeasyPrint failed while rendering diploma-1:\n"
    with rendering.pdf_workshop() as workshop, pytest.raises(RuntimeError, match=shown) as failed:
        rendering.start_pdfs([job], None, workshop).result()
    assert "a bug inside WeasyPrint" in str(failed.value)


def test_pdfs_handed_over_early_but_not_needed_do_not_stop_another_being_made(tmp_path):
    from cpdgen.site.renderer import SiteRenderer

    portfolio = build_record(tmp_path / "p")
    submitted = [{"id": "diploma-1", "start": "2024-09-01", "submitted": "2025-03-20"}, {"start": "2025-03-20"}]
    portfolio.settings(dict(MEMBER, diplomas=submitted))
    renderer = SiteRenderer(portfolio.root, use_cache=False)
    prepared = renderer.prepare(as_of=AS_OF, pdf=True)
    assert prepared.plan is not None
    [second] = [d for d in prepared.plan.downloads if d.kind == "pdf" and d.diploma == "diploma-2"]
    with rendering.pdf_workshop() as workshop:
        assert workshop is not None
        # The workshop's one batch went to diploma-1's PDF, which the previous site turned out to hold.
        prepared.early_pdfs = rendering.start_pdfs([prepared.pdf_jobs["diploma-1"]], None, workshop)
        made = renderer.start_downloads(prepared, [second], workshop)()
    assert made == [rendering.pdf_bytes(prepared.pdf_jobs["diploma-2"])]


@pytest.mark.slow  # lays out two diplomas, then one
def test_a_build_announces_each_pdf_it_lays_out_once_and_only_those(tmp_path):
    from cpdgen.site.build import build_site

    portfolio = build_record(tmp_path / "p")
    submitted = [{"id": "diploma-1", "start": "2024-09-01", "submitted": "2025-03-20"}, {"start": "2025-03-20"}]
    portfolio.settings(dict(MEMBER, diplomas=submitted))
    said: list[tuple[int, int, str]] = []
    build_site(portfolio.root, as_of=AS_OF, progress=lambda *args: said.append(args))
    assert said == [(1, 2, "diploma-1"), (2, 2, "diploma-2")]
    said.clear()
    shutil.rmtree(portfolio.root / "site")
    build_site(portfolio.root, as_of=AS_OF, progress=lambda *args: said.append(args))
    assert said == []  # both from the PDF cache: nothing is laid out, so nothing is said to be
    said.clear()
    portfolio.activity("2025-04-02-later", title="Later activity", date="2025-04-02", reflection=REFLECTION)
    build_site(portfolio.root, as_of=AS_OF, progress=lambda *args: said.append(args))
    assert said == [(2, 2, "diploma-2")]  # diploma-1's PDF is the previous site's


def test_a_workshop_is_ended_once_however_often_it_is_closed(monkeypatch):
    killed = []
    killpg = rendering.os.killpg
    with rendering.pdf_workshop() as workshop:
        assert workshop is not None
        monkeypatch.setattr(rendering.os, "killpg", lambda pgid, sig: (killed.append(pgid), killpg(pgid, sig)))
        workshop.close()  # as result() does, before the build's own close
    assert len(killed) == 1  # a second kill could reach another group, once the workshop's id is reused

"""Safe to publish: every route by which patient or private data could reach site/ is closed.

Each test builds a real portfolio in tmp_path, with a secret placed the way a member (or a
hostile theme, or a pull request) could place it, and asserts either that the build refuses
with the right problem and leaves site/ as it was, or that the secret is absent from every
file under site/: HTML, CSV, and the PDFs' text and attachments read back with pypdf.
The routes are listed in docs/developers/security.md.
"""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
import zipfile
from datetime import date
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import pdfread
from conftest import PORTFOLIO, REFLECTION, Builder, activity_text, pdf_document, png_image
from cpdgen import fsutil
from cpdgen.cli import main
from cpdgen.loader import load_portfolio
from cpdgen.privacy.identifiers import find_in_markdown, nhs_check_ok, value_id
from cpdgen.site.build import build_site

AS_OF = date(2026, 6, 1)
NUMBER = "943 476 5919"  # the NHS's own documentation example: never a real patient's
DIGITS = NUMBER.replace(" ", "")
REPO = Path(__file__).resolve().parents[1]


def build(portfolio: Builder, **options):
    options.setdefault("as_of", AS_OF)
    options.setdefault("pdf", False)
    return build_site(portfolio.root, **options)


def published_text(site: Path) -> str:
    """Everything site/ publishes, as text: pages, CSVs, file names, and each PDF's text and attachments."""
    parts = []
    for path in sorted(site.rglob("*")):
        if not path.is_file():
            continue
        parts.append(path.relative_to(site).as_posix())
        data = path.read_bytes()
        if path.suffix == ".pdf" and data.startswith(b"%PDF"):
            parts.append(pdfread.text(data))
            reader = pdfread.reader(data)
            for name, contents in reader.attachments.items():
                parts.append(name)
                parts.extend(content.decode("latin-1") for content in contents)
        else:
            parts.append(data.decode("utf-8", "replace"))
    return "\n".join(parts)


def digits_of(text: str) -> str:
    """The text with everything but digits removed, so a number split any way still shows."""
    return re.sub(r"[^0-9]", "", text)


def eligible(portfolio: Builder) -> None:
    portfolio.many(24, start="2025-01-06")


# --- 1. identifiers the scan did not see ---------------------------------------------------------

SPLITS = {
    "line-break": "943 476\n5919",
    "two-spaces": "943  476  5919",
    "tab": "943\t476\t5919",
    "dots": "943.476.5919",
    "slashes": "943/476/5919",
    "emphasis": "*943* 476 5919",
    "strong": "**943** **476** 5919",
    "inline-code": "`943` 476 5919",
    "inline-html": "<b>943</b> 476 <span>5919</span>",
    "comment": "943<!-- x -->476 5919",
    "escaped-hyphens": "943\\-476\\-5919",
    "character-reference": "&#57;43 476 &#x35;919",
    "named-reference": "943&nbsp;476&nbsp;5919",
}


@pytest.mark.parametrize("name", sorted(SPLITS))
def test_a_number_split_any_way_is_refused_and_never_published(portfolio, name):
    eligible(portfolio)
    portfolio.activity("2026-01-10-case", date="2026-01-10", body=f"The form said {SPLITS[name]} in pen.")
    result = build(portfolio)
    assert not result.written
    [problem] = [p for p in result.problems if p.code == "nhs-number"]
    assert (problem.path, problem.severity) == ("content/activities/2026-01-10-case.md", "error")
    assert problem.line == 6  # where the number starts in the file
    assert not (portfolio.root / "site").exists()


separators = st.lists(
    st.sampled_from([" ", "  ", "\t", "\n", ".", "/", "-", "\\-", "*", "**", "`", "<b>", "</b>", "<!-- -->", "&#32;"]),
    min_size=0,
    max_size=3,
).map("".join)


def _valid_numbers() -> st.SearchStrategy[str]:
    # 999 000 xxxx is the test range, never issued; the documentation example besides.
    return st.integers(0, 9999).map(lambda n: f"999000{n:04d}").filter(nhs_check_ok) | st.just(DIGITS)


def _written(digits: str, first: str, second: str, as_entity: bool) -> str:
    groups = [digits[:3], digits[3:6], digits[6:]]
    if as_entity:  # a digit written as a numeric character reference
        groups[1] = f"&#{ord(groups[1][0])};" + groups[1][1:]
    return groups[0] + first + groups[1] + second + groups[2]


@settings(max_examples=150, deadline=None)
@given(_valid_numbers(), separators, separators, st.booleans())
def test_any_separators_markup_and_entities_between_groups_are_seen(digits, first, second, as_entity):
    text = f"Reviewed the request form {_written(digits, first, second, as_entity)} today."
    found = find_in_markdown(text)
    assert any(f.rule == "nhs-number" for f in found), text


NOT_ONE_NUMBER = [
    "QC run on 01/02/24 10:15 failed; repeated at 11:00.",  # a date and a time, as analysers log them
    "Sample received 01/01/24 09:45 and analysed the same day.",
    "On 12/03/2024 10 samples were rejected.",
    "Reference: Ann Clin Biochem. 2019;62(10):103-111.",  # volume(issue):pages
    "Reference: Clin Chem. 2019;55(2):994-1001.",
    "| Reagent | Lot | Expiry |\n|---|---|---|\n| Troponin | 9434765919 | 2026-03 |",  # labelled by its column
    "| Analyser | Serial number |\n|---|---|\n| Cobas c311 | 943 476 5919 |",
    "Accession LAB0101011237 and 24H0123456 were repeated.",  # codes, in capitals or with digits
]


@pytest.mark.parametrize("text", NOT_ONE_NUMBER)
def test_dates_times_references_and_labelled_columns_build(portfolio, text):
    eligible(portfolio)
    portfolio.activity("2026-01-10-a", date="2026-01-10", body=text)
    result = build(portfolio)
    assert not [p for p in result.problems if p.severity == "error"], result.problems
    assert result.written


@settings(max_examples=200, deadline=None)
@given(
    st.one_of(
        st.integers(0, 10**12 - 1).map(lambda n: f"ISBN 978-{n:012d}"[:21]),
        st.integers(1000, 99999).map(lambda n: f"doi:10.{n}/jcp.2024.{n % 997}"),
        st.integers(0, 10**6 - 1).map(lambda n: f"https://doi.org/10.1016/j.{n:06d}.2025.4760"),
        st.dates(date(1990, 1, 1), date(2030, 12, 31)).map(lambda d: f"on {d:%d/%m/%Y} at 10:30"),
        st.dates(date(1990, 1, 1), date(2030, 12, 31)).map(lambda d: f"{d.isoformat()} to {d.isoformat()}"),
        st.integers(0, 10**7 - 1).map(lambda n: f"serial number SN{n:07d}, lot 24-{n % 1000:03d}"),
        st.integers(0, 999).map(lambda n: f"call 0113 496 0{n:03d} or 07700 900{n:03d}"),
        st.integers(1, 99).map(lambda n: f"{n}.5 hours, version 2.{n}.1, £{n}.99"),
    )
)
def test_references_dates_serials_and_drama_phone_numbers_are_never_errors(text):
    assert not [f for f in find_in_markdown(text) if f.severity == "error"], text


def test_a_number_only_the_published_page_makes_whole_is_an_error_naming_the_activity(portfolio):
    # The title ends with part of a number and a tag holds the rest: the files never write it
    # out, but the member's theme prints them side by side, and a reader sees the number whole.
    eligible(portfolio)
    templates = portfolio.root / "templates"
    templates.mkdir()
    (templates / "activity.html").write_text(
        "{% extends 'default/activity.html' %}{% block content %}"
        "<p>{{ activity.title }} {% for tag in activity.tags %}{{ tag.label }} {% endfor %}</p>{% endblock %}"
    )
    portfolio.activity("2026-01-10-tags", date="2026-01-10", title="Request form 943 476", tags=["5919"])
    assert not [p for p in load_portfolio(portfolio.root).problems if p.code == "nhs-number"]  # not in the files
    result = build(portfolio)
    assert not result.written
    [problem] = [p for p in result.problems if p.code == "nhs-number"]
    assert problem.path == "content/activities/2026-01-10-tags.md"
    assert "would be published in the page" in problem.message and "2026-01-10-tags" in problem.message
    assert not (portfolio.root / "site").exists()


ORDINARY_TEXT = [
    "Results row pasted from the LIMS: 12345,9434765919,4.5",
    "I ordered a repeat for 943 476 5919.",  # 'order' is not a label that makes it a serial number
    "A patient with a bleeding disorder, 943 476 5919, was bled.",
    "As part of the audit, patient 943 476 5919 was reviewed.",
    "A lot of samples came in; one was from 943 476 5919.",
    "I read ISBN 978-0-19-852169-9 first; later the sample of 943 476 5919 arrived.",
    "Sample from patient #9434765919 was haemolysed.",
    "See http://example.org,943 476 5919 for details.",
    "Request from http://lims.local/result/9434765919 today.",  # a private host is no public reference
    "Patient 943\u200e476 5919 seen.",  # invisible marks between the groups
    "Patient 943\ufe0f476 5919 seen.",
    "Patient 943\u2062476 5919 seen.",
    "Patient 943\u00b7476\u00b75919 seen.",
    "Patient 943,476,5919 seen.",
    "Patient 9 4 3 4 7 6 5 9 1 9 seen.",  # digits written in the boxes of a form
    "Patient 94 34 76 59 19 seen.",
    "Patient 943 476 5919\u00b9 seen.",  # a footnote mark glued to the end
    "| NHS number | K |\n|---|---|\n| 9434765919.0 | 4.5 |",  # a spreadsheet's number column
    "Reviewed pt9434765919 with the consultant.",  # a word glued in front is not a code
    "Samples in batch 4: 943 476 5919 was haemolysed.",  # the label is batch 4's, not this number's
    "Part 2: 943 476 5919 had a raised potassium.",
    "Write-up: https://leedsth.sharepoint.com/sites/Lab/Shared/Case-943-476-5919.docx",  # in a file's name
]


@pytest.mark.parametrize("text", ORDINARY_TEXT)
def test_a_number_in_ordinary_text_is_an_error_whatever_surrounds_it(text):
    found = [f for f in find_in_markdown(text) if f.rule == "nhs-number"]
    assert [f.severity for f in found] == ["error"], text


CHECK_SEES = {
    "numeric-reference-without-semicolon": "Patient 943 476 591&#57 seen.",
    "numeric-reference-with-zeros": "Patient &#00000057;43 476 5919 seen.",
    "processing-instruction": "Patient 943<?x?>476 5919 seen.",
    "line-separator": "Patient 943\u2028476 5919 seen.",
    "superscript-tag": "Patient 943 476 5919<sup>1</sup> seen.",
    "blockquote-wrapped": "> The sample (NHS 943 476\n> 5919) was haemolysed.",
    "nested-blockquote": "> Email from the ward:\n> > patient 943 476\n> > 5919 was bled twice.",
}


@pytest.mark.parametrize("name", sorted(CHECK_SEES))
def test_check_reports_every_number_the_build_would_refuse(portfolio, run_check, name):
    # `cpdgen check` is the pre-commit hook: what it passes goes into git history.
    portfolio.activity("2026-01-10-a", date="2026-01-10", body=CHECK_SEES[name])
    code, out = run_check("--content-only")
    assert code == 1 and re.search(r"content/activities/2026-01-10-a\.md:[67]:", out) and "[nhs-number]" in out


def test_check_reads_portfolio_yaml_values_as_yaml_reads_them(portfolio, run_check):
    settings = yaml.safe_dump(PORTFOLIO, sort_keys=False)
    settings = settings.replace("member:\n", "member:\n  job_title: >-\n    Scientist 943\n    476\n    5919\n", 1)
    portfolio.settings(settings)
    code, out = run_check("--content-only")
    assert code == 1 and "content/portfolio.yaml" in out and "[nhs-number]" in out


def test_a_number_in_a_private_activity_never_switches_off_the_page_check(portfolio):
    # The private activity's number is reported (not published); the page joining title and
    # tag must still be checked for the same number, which it would publish.
    eligible(portfolio)
    (portfolio.root / "templates").mkdir()
    (portfolio.root / "templates" / "activity.html").write_text(
        "{% extends 'default/activity.html' %}{% block content %}"
        "<p>{{ activity.title }}<span>{% for tag in activity.tags %}{{ tag.label }}{% endfor %}</span></p>"
        "{% endblock %}"
    )
    portfolio.activity("2026-01-05-p", date="2026-01-05", private=True, body=f"Patient {NUMBER}.")
    portfolio.activity("2026-01-10-tags", date="2026-01-10", title="Request form 943 476", tags=["5919"])
    result = build(portfolio)
    assert not result.written
    assert [(p.path, p.publishes) for p in result.problems if p.code == "nhs-number"] == [
        ("content/activities/2026-01-05-p.md", False),
        ("content/activities/2026-01-10-tags.md", True),
    ]
    assert not (portfolio.root / "site").exists()


@pytest.mark.parametrize(
    "fields", [{"category": NUMBER}, {"date": NUMBER.replace(" ", "-")}, {"evidence": [f"patient-{DIGITS}.pdf"]}]
)
def test_no_message_prints_a_number_whole(portfolio, run_check, fields):
    # Messages go to CI logs and pull-request annotations, which are often public.
    portfolio.activity("2026-01-10-a", **{"date": "2026-01-10", **fields})
    code, out = run_check("--content-only", "--format", "github")
    assert code == 1 and "943 *** ****" in out
    assert DIGITS not in digits_of(out.replace("\n", " \n"))


# --- 2. evidence documents -----------------------------------------------------------------------


def docx(*paragraphs: list[str]) -> bytes:
    """A minimal Word document; each paragraph a list of runs (Word splits text into runs freely)."""
    body = "".join(
        "<w:p>" + "".join(f"<w:r><w:t xml:space='preserve'>{run}</w:t></w:r>" for run in runs) + "</w:p>"
        for runs in paragraphs
    )
    document = (
        "<?xml version='1.0' encoding='UTF-8'?><w:document "
        "xmlns:w='http://schemas.openxmlformats.org/wordprocessingml/2006/main'><w:body>"
        + body
        + "</w:body></w:document>"
    )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", document)
    return buffer.getvalue()


EVIDENCE = {
    "spreadsheet-cp1252.csv": "Patient,NHS number\r\nJosé Smith,943 476 5919\r\n".encode("cp1252"),
    "notes-utf16.txt": "Patient José: NHS 943 476 5919\n".encode("utf-16"),
    "notes-utf16-no-bom.txt": "NHS 943 476 5919\n".encode("utf-16-le"),
    "letter.pdf": pdf_document("Referral letter", "NHS number 943 476 5919"),
    "report.docx": docx(["Specimen from "], ["NHS ", "943 4", "76 5919"]),
}


@pytest.mark.parametrize("name", sorted(EVIDENCE))
def test_an_identifier_inside_an_evidence_document_is_an_error(portfolio, name):
    eligible(portfolio)
    portfolio.write(f"evidence/{name}", EVIDENCE[name])
    portfolio.activity("2026-01-10-audit", date="2026-01-10", evidence=[name])
    result = build(portfolio)
    assert not result.written
    [problem] = [p for p in result.problems if p.code == "nhs-number"]
    assert problem.path == f"content/evidence/{name}" and problem.severity == "error"
    assert "943 *** ****" in problem.message and "476" not in problem.message
    assert not (portfolio.root / "site").exists()


def test_a_document_cpdgen_cannot_read_is_a_warning_and_an_error_under_strict(portfolio, run_check):
    eligible(portfolio)
    portfolio.write("evidence/slides.key", b"\x00\x01binary keynote" * 10)
    portfolio.activity("2026-01-10-talk", date="2026-01-10", evidence=["slides.key"])
    code, out = run_check("--as-of", "2026-06-01")
    assert code == 0
    assert "content/evidence/slides.key: warning: cpdgen could not look inside this file" in out
    assert "[evidence-not-checked]" in out
    code, out = run_check("--as-of", "2026-06-01", "--strict")
    assert code == 1


def test_an_unused_document_is_reported_but_does_not_block_the_site(portfolio):
    eligible(portfolio)
    portfolio.write("evidence/old-list.csv", "NHS number\n943 476 5919\n")
    result = build(portfolio)
    assert result.written
    [problem] = [p for p in result.problems if p.code == "nhs-number"]
    assert not problem.publishes and "no published activity uses this file" in problem.message


# --- 3. image metadata in the public PDF's attachments and the site's copies --------------------


def _images() -> dict[str, bytes]:
    from test_privacy_images import CASES, exif_with_gps, picture

    found = {f"photo{suffix}": make() for suffix, make in CASES.items()}
    buffer = io.BytesIO()
    picture().save(buffer, "MPO", save_all=True, append_images=[picture().rotate(90)], exif=exif_with_gps())
    found["phone-mpo.jpg"] = buffer.getvalue()  # a phone's JPEG: a second image with its own EXIF
    return found


SECRETS = ("SECRET", "CameraModelX", "xmpmeta", "2024:03:21")


def test_no_image_metadata_reaches_the_site_or_the_public_pdf(portfolio):
    images = _images()
    for name, data in images.items():
        assert any(secret.encode() in data for secret in SECRETS), name
        portfolio.write(f"evidence/{name}", data)
    eligible(portfolio)
    portfolio.activity("2026-01-10-photos", date="2026-01-10", evidence=sorted(images))
    result = build(portfolio, pdf=True)
    assert result.written, result.problems
    site = portfolio.root / "site"
    for name in images:
        copy = (site / "activities" / "2026-01-10-photos" / name).read_bytes()
        assert not any(secret.encode() in copy for secret in SECRETS), name
    [pdf] = site.glob("diplomas/*/*.pdf")
    attachments = pdfread.reader(pdf.read_bytes()).attachments
    assert set(images) <= set(attachments)
    for name in images:
        [data] = attachments[name]
        assert not any(secret.encode() in data for secret in SECRETS), name
        assert data.count(b"\xff\xd8\xff") <= 1 or not name.endswith(".jpg"), name  # no second JPEG inside


# --- 4. links and special files under content/ --------------------------------------------------


def test_a_reflection_file_linked_outside_content_is_refused_and_never_published(portfolio, tmp_path):
    eligible(portfolio)
    secret = tmp_path / "elsewhere.md"
    secret.write_text("---\nactivity: 2026-01-10-a\n---\nSECRET-REFLECTION from outside.\n")
    portfolio.activity("2026-01-10-a", date="2026-01-10", reflection=None)
    (portfolio.content / "reflections").mkdir()
    os.symlink(secret, portfolio.content / "reflections" / "2026-01-10-a.md")
    result = build(portfolio, pdf=True)
    assert not result.written
    assert [(p.path, p.code) for p in result.problems if p.severity == "error"] == [
        ("content/reflections/2026-01-10-a.md", "outside-content")
    ]
    assert not (portfolio.root / "site").exists()


def _check_in_a_process(root: Path, timeout: float = 60) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run(
        [sys.executable, "-m", "cpdgen", "check", "--root", str(root), "--content-only"],
        capture_output=True,
        text=True,
        timeout=timeout,  # guards against a hang only: the check ends at once
        env=env,
        check=False,
    )


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="needs /dev/zero")
@pytest.mark.parametrize("where", ["reflections/2026-01-10-a.md", "portfolio.yaml", "evidence/endless.txt"])
def test_a_link_to_dev_zero_ends_with_a_problem_not_a_flood(portfolio, where):
    portfolio.activity("2026-01-10-a", date="2026-01-10")
    target = portfolio.content / where
    target.parent.mkdir(parents=True, exist_ok=True)
    target.unlink(missing_ok=True)
    os.symlink("/dev/zero", target)
    done = _check_in_a_process(portfolio.root)
    assert "Traceback" not in done.stderr
    if where == "evidence/endless.txt":  # a link out of content/ that no activity names is never read
        assert done.returncode == 0, done.stdout + done.stderr
    else:
        assert done.returncode in (1, 2), done.stdout + done.stderr
        assert f"content/{where}: error: this file is a link to a file outside content/" in done.stdout + done.stderr


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
@pytest.mark.parametrize("where", ["activities/2026-02-01-pipe.md", "evidence/pipe.csv", "portfolio.yaml"])
def test_a_fifo_in_content_ends_with_a_problem_not_a_hang(portfolio, where):
    portfolio.activity("2026-01-10-a", date="2026-01-10")
    target = portfolio.content / where
    target.parent.mkdir(parents=True, exist_ok=True)
    target.unlink(missing_ok=True)
    os.mkfifo(target)
    done = _check_in_a_process(portfolio.root)
    assert "Traceback" not in done.stderr
    assert f"content/{where}" in done.stdout + done.stderr
    assert "not a regular file" in done.stdout + done.stderr


def test_a_linked_folder_of_activities_is_a_problem_not_silently_lost(portfolio, tmp_path, run_check):
    outside = tmp_path / "more"
    outside.mkdir()
    for n in range(6):
        (outside / f"2025-0{n + 1}-01-a.md").write_text(activity_text(date=f"2025-0{n + 1}-01"))
    os.symlink(outside, portfolio.content / "activities" / "2025")
    portfolio.activity("2026-01-10-a", date="2026-01-10")
    code, out = run_check("--content-only", "--as-of", "2026-06-01")
    assert code == 1
    assert "content/activities/2025: error: this folder is a link" in out and "[folder-not-read]" in out
    code, out = run_check_export(portfolio)
    assert code == 1 and "folder-not-read" in out


def run_check_export(portfolio: Builder) -> tuple[int, str]:
    import contextlib

    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer), contextlib.redirect_stderr(buffer):
        code = main(["export", "csv", "--root", str(portfolio.root)])
    return code, buffer.getvalue()


def test_an_unreadable_folder_of_activities_is_a_problem(portfolio, monkeypatch, run_check):
    portfolio.activity("2025/2025-01-01-a", date="2025-01-01")
    locked = os.path.join(portfolio.content, "activities", "2025")
    real_scandir = os.scandir

    def scandir(path="."):
        if os.fspath(path) == locked:
            raise PermissionError(13, "Permission denied", locked)
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)  # as a folder the member's account cannot read
    code, out = run_check("--content-only", "--as-of", "2026-06-01")
    assert code == 1
    assert "content/activities/2025: error: cpdgen cannot read this folder (Permission denied)" in out


# --- 5. comments in the public CSVs --------------------------------------------------------------


def test_html_comments_and_new_activity_prompts_never_reach_the_public_csvs(portfolio):
    eligible(portfolio)
    portfolio.activity(
        "2026-01-10-a",
        date="2026-01-10",
        body="Described. <!-- SECRET-NOTE: patient J. Bloggs -->",
        reflection=REFLECTION + "\n\n<!-- SECRET-PROMPT: What did you learn? -->",
    )
    result = build(portfolio)
    assert result.written, result.problems
    site = portfolio.root / "site"
    for csv_file in site.rglob("*.csv"):
        assert "SECRET" not in csv_file.read_text(encoding="utf-8-sig"), csv_file
    code = main(
        ["new", "--root", str(portfolio.root), "Prompted activity", "--date", "2026-01-12", "--category", "other"]
    )
    assert code == 0
    assert build(portfolio).written
    everything = (site / "activities.csv").read_text(encoding="utf-8-sig")
    assert "Prompted activity" in everything and "<!--" not in everything


# --- 6. an allow entry names one number ---------------------------------------------------------


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.integers(0, 9999), st.integers(0, 9999))
def test_an_allow_entry_never_lets_another_number_through(tmp_path_factory, first, second):
    numbers = [f"943476{n:04d}" for n in (first, second)]
    numbers = [n for n in numbers if nhs_check_ok(n)]
    if len(set(numbers)) < 2:
        return
    portfolio = Builder(tmp_path_factory.mktemp("allow"))
    allowed, other = numbers
    portfolio.activity(
        "a",
        body=f"Book {allowed[:3]} {allowed[3:6]} {allowed[6:]}; form {other[:3]} {other[3:6]} {other[6:]}.",
        allow=[f"nhs-number 943 *** **** ({value_id('nhs-number', allowed)})"],
    )
    found = [p for p in load_portfolio(portfolio.root).problems if p.code == "nhs-number"]
    assert len(found) == 1 and found[0].column == len("Book 943 476 0000; form ") + 1


# --- 7. dates only a private activity gives -------------------------------------------------------


def test_the_dashboard_never_gives_a_date_only_a_private_activity_gives(portfolio):
    # The earliest counted activity is private: when it leaves the window tells when it happened.
    portfolio.activity("2024-07-09-private", date="2024-07-09", private=True, title="Private one")
    portfolio.many(24, start="2025-01-06")
    result = build(portfolio)
    assert result.written, result.problems
    text = published_text(portfolio.root / "site")
    assert "Private one" not in text
    assert "10 July 2026" not in text  # the day it leaves the two-year window
    assert "The earliest counted activity to leave the two-year window is not published." in text


# --- 8. templates are sandboxed -------------------------------------------------------------------


ESCAPES = {
    "globals": "{{ cycler.__init__.__globals__.os.system('touch PWNED') }}",
    "mro": "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "format": "{{ '{0.__class__}'.format(site) }}",
    "mutate": "{% set x = site.categories.append(1) %}{{ x }}",
}


@pytest.mark.parametrize("name", sorted(ESCAPES))
def test_a_template_that_tries_to_escape_the_sandbox_fails_the_build_with_a_clear_message(portfolio, name, capsys):
    eligible(portfolio)
    templates = portfolio.root / "templates"
    templates.mkdir()
    (templates / "404.html").write_text(ESCAPES[name])
    code = main(["build", "--root", str(portfolio.root), "--no-pdf", "--as-of", "2026-06-01"])
    err = capsys.readouterr().err
    assert code == 2
    assert "template 404.html" in err and "Traceback" not in err
    assert not (portfolio.root / "PWNED").exists() and not Path("PWNED").exists()
    assert not (portfolio.root / "site").exists()


def test_a_pdf_template_cannot_read_a_file_outside_the_theme(portfolio, tmp_path, capsys):
    eligible(portfolio)
    secret = tmp_path / "secret.txt"
    secret.write_text("SECRET-FILE-CONTENT")
    pdf_theme = portfolio.root / "templates" / "pdf"
    pdf_theme.mkdir(parents=True)
    os.symlink(secret, pdf_theme / "notes.html")
    (pdf_theme / "diploma.html").write_text(
        "{% extends 'default/pdf/diploma.html' %}{% block cover %}{% include 'pdf/notes.html' %}{% endblock %}"
    )
    code = main(["build", "--root", str(portfolio.root), "--as-of", "2026-06-01"])
    err = capsys.readouterr().err
    assert code != 0
    assert "templates/pdf/notes.html: this file is a link to a file outside templates/" in err
    assert not (portfolio.root / "site").exists()


def test_a_pdf_template_cannot_embed_a_private_activitys_file(portfolio, capsys):
    eligible(portfolio)
    portfolio.write(
        "activities/2026-01-05-p/index.md", activity_text(date="2026-01-05", private=True, evidence=["form.png"])
    )
    portfolio.write("activities/2026-01-05-p/form.png", png_image())
    url = "file:///_cpdgen/content/activities/2026-01-05-p/form.png"
    (portfolio.root / "templates" / "pdf").mkdir(parents=True)
    (portfolio.root / "templates" / "pdf" / "diploma.html").write_text(
        "{% extends 'default/pdf/diploma.html' %}{% block cover %}{{ super() }}"
        f"<img alt='x' src='{url}'><link rel='attachment' href='{url}'>{{% endblock %}}"
    )
    code = main(["build", "--root", str(portfolio.root), "--as-of", "2026-06-01"])
    err = "".join(capsys.readouterr())
    assert code == 1
    assert "the public PDF reads only the files its own activities show" in err and "[pdf-fetch-refused]" in err
    assert not (portfolio.root / "site").exists()


THEME_HIDING_PLACES = {
    "json-ld": '<script type="application/ld+json">{"name": "{{ activity.title }}{{ TAGS }}"}</script>',
    "data-attribute": '<div data-title="{{ activity.title }}{{ TAGS }}"></div>',
    "in-the-head": "{% block description %}<i title='{{ activity.title }}{{ TAGS }}'>{% endblock %}",
}


@pytest.mark.parametrize("name", sorted(THEME_HIDING_PLACES))
def test_a_page_is_checked_where_a_reader_does_not_look_too(portfolio, name):
    # Search engines read structured data, attributes and the page's head; so does the page check.
    eligible(portfolio)
    tags = "{% for t in activity.tags %}{{ t.label }}{% endfor %}"
    markup = THEME_HIDING_PLACES[name].replace("{{ TAGS }}", tags)
    block = (
        markup if markup.startswith("{% block") else "{% block description %}" + markup + "{{ super() }}{% endblock %}"
    )
    (portfolio.root / "templates").mkdir()
    (portfolio.root / "templates" / "activity.html").write_text("{% extends 'default/activity.html' %}" + block)
    portfolio.activity("2026-01-10-tags", date="2026-01-10", title="Run 943 476", tags=["5919"])
    result = build(portfolio)
    assert not result.written and [p.code for p in result.problems if p.severity == "error"] == ["nhs-number"]


@pytest.mark.parametrize(
    "where", [b"activities/caf\xe9.md", b"activities/d\xe9/index.md", b"../templates/caf\xe9.html"]
)
def test_a_file_name_that_is_not_utf8_is_named_not_a_traceback(portfolio, capsys, where):
    # Files unzipped from an archive made on another system can have Latin-1 names.
    eligible(portfolio)
    path = os.path.join(bytes(portfolio.content), where)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as handle:
        handle.write(activity_text().encode() if where.endswith(b".md") else b"<p>{{ 1 }}</p>")
    code = main(["build", "--root", str(portfolio.root), "--no-pdf", "--as-of", "2026-06-01"])
    out = "".join(capsys.readouterr())
    assert code in (1, 2) and "Traceback" not in out
    assert "name is not UTF-8 text" in out and "\ufffd" in out


def test_a_file_of_fifty_thousand_numbers_is_checked_in_one_go(portfolio, tmp_path):
    # An audit export pasted as evidence: every number is listed, and the check does not crawl.
    numbers = [n for n in (f"9990{i:06d}" for i in range(1_000_000)) if nhs_check_ok(n)][:50_000]
    portfolio.write("evidence/audit.csv", "ID,NHS\n" + "\n".join(f"{i},{n}" for i, n in enumerate(numbers)))
    portfolio.activity("2026-01-10-a", date="2026-01-10", evidence=["audit.csv"])
    done = _check_in_a_process(portfolio.root, timeout=120)
    assert done.stdout.count("[nhs-number]") == len(numbers), done.stdout[-500:]


SLOW_TEMPLATES = {
    "loops": "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
    "huge-string": '{{ "a" * 3000000000 }}',
    "huge-power": "{{ 10 ** 100 ** 100 ** 100 }}",
    "division-by-zero": "<p>\n{{ 1 / 0 }}</p>",
    "recursive-macro": "{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}",
    "includes-itself": '{% include "activity.html" %}',
}


@pytest.mark.parametrize("name", sorted(SLOW_TEMPLATES))
def test_a_template_that_never_ends_or_fails_is_stopped_with_a_message(portfolio, monkeypatch, capsys, name):
    monkeypatch.setattr("cpdgen.render.TEMPLATE_SECONDS", 1)
    eligible(portfolio)
    (portfolio.root / "templates").mkdir()
    (portfolio.root / "templates" / "activity.html").write_text(SLOW_TEMPLATES[name])
    code = main(["build", "--root", str(portfolio.root), "--no-pdf", "--as-of", "2026-06-01"])
    err = capsys.readouterr().err
    assert code == 2 and re.search(r"template (templates/)?activity\.html", err) and "Traceback" not in err
    if name == "division-by-zero":  # a theme's own mistake is shown at its line
        assert "template templates/activity.html:2 failed: ZeroDivisionError" in err
    assert not (portfolio.root / "site").exists()


@pytest.mark.parametrize("pattern", ["(a|aa)*c", r"\d*\d*\d*x", "MRN[0-9]+", "(a)\\1", "[0-9]{1,1000}"])
def test_a_pattern_that_could_take_hours_is_refused_at_its_line(portfolio, run_check, pattern):
    portfolio.settings({**PORTFOLIO, "privacy": {"patterns": {"lab": pattern}}})
    portfolio.activity("2026-01-10-a", date="2026-01-10", body="a" * 40 + " " + "1" * 3000)
    code, out = run_check("--content-only")
    assert code == 1 and "content/portfolio.yaml:5: error: privacy.patterns.lab:" in out and "[invalid-pattern]" in out


def test_export_never_writes_into_a_built_site(portfolio, capsys):
    eligible(portfolio)
    portfolio.activity("2026-01-05-p", date="2026-01-05", private=True, body="SECRET-PRIVATE")
    public = portfolio.root / "public"
    assert main(["build", "--root", str(portfolio.root), "--out", str(public), "--no-pdf"]) == 0
    for target in (public, public / "records"):
        assert main(["export", "csv", "--root", str(portfolio.root), "--out", str(target)]) == 2
    assert "SECRET-PRIVATE" not in published_text(public) and not (public / "records").exists()
    assert "site" in capsys.readouterr().err


# --- and the rest ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "args, message",
    [
        (["--as-of", "0001-01-01"], "out of range: give a date from 1900 to 2999"),
        (["--as-of", "9999-12-31"], "out of range: give a date from 1900 to 2999"),
    ],
)
def test_dates_at_the_edges_are_refused_not_tracebacks(portfolio, run_check, args, message):
    code, out = run_check(*args)
    assert code == 2 and message in out and "Traceback" not in out


@pytest.mark.parametrize("epoch", ["99999999999999", "-99999999999", "253402300800"])
def test_source_date_epoch_at_the_edges_is_a_clear_message(portfolio, run_check, monkeypatch, epoch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", epoch)
    code, out = run_check()
    assert code == 2 and "SOURCE_DATE_EPOCH" in out and "out of range" in out


@pytest.mark.parametrize("zone", ["Europe", "a" * 300, "Europe/London/"])
def test_a_time_zone_that_is_not_one_is_a_problem_at_its_line(portfolio, run_check, zone):
    portfolio.settings({**PORTFOLIO, "site": {"timezone": zone}})
    code, out = run_check("--format", "json")
    assert code == 1
    assert '"code": "invalid-value"' in out and '"line": 4' in out and "is not a time zone" in out


def test_a_cache_that_cannot_be_written_never_fails_a_build(portfolio, tmp_path, monkeypatch):
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the cache folder would be")
    monkeypatch.setenv("CPDGEN_CACHE_DIR", str(blocked / "cache"))
    eligible(portfolio)
    assert build(portfolio).written
    assert build(portfolio).written  # and again, with nothing cached


def test_a_long_diploma_id_is_a_problem_and_a_long_tag_builds(portfolio, run_check):
    portfolio.settings({**PORTFOLIO, "diplomas": [{"id": "d" * 300, "start": "2025-01-01"}]})
    code, out = run_check("--content-only")
    assert code == 1 and "a diploma id must be at most 64 characters" in out
    portfolio.settings(PORTFOLIO)
    eligible(portfolio)
    portfolio.activity("2026-01-10-tagged", date="2026-01-10", tags=["t" * 300])
    result = build(portfolio)
    assert result.written, result.problems


def test_control_characters_in_values_are_refused_and_never_printed_raw(portfolio, run_check):
    portfolio.activity("a", activity_text(title="Bell\x07 and escape \x1b[31mred"))
    portfolio.write("activities/b.md", '---\ntitle: B\ndate: 2026-01-01\ncategory: other\n"\\e[2J": x\n---\nBody\n')
    code, out = run_check("--content-only")
    assert code == 1
    assert "invisible control character (U+0007)" in out
    assert "\x1b" not in out and "\\x1b" in out


def test_export_never_writes_the_complete_record_where_git_would_commit_it(portfolio, capsys):
    eligible(portfolio)
    root = portfolio.root
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    assert main(["export", "csv", "--root", str(root), "--out", str(root)]) == 2
    (root / "notes").mkdir()
    (root / "notes" / "mine.md").write_text("tracked notes")
    assert main(["export", "csv", "--root", str(root), "--out", str(root / "notes")]) == 2
    err = capsys.readouterr().err
    assert "git would commit it" in err
    assert sorted(p.name for p in (root / "notes").iterdir()) == ["mine.md"]
    assert main(["export", "csv", "--root", str(root)]) == 0
    assert "made a new folder, with this .gitignore" in capsys.readouterr().out
    assert (root / "records" / ".gitignore").read_text().endswith("*\n")


def test_import_is_bounded_in_rows(portfolio, tmp_path, capsys):
    big = tmp_path / "big.csv"
    big.write_text("Title,Date,Category\n" + "".join(f"Row {n},2025-01-01,other\n" for n in range(5_100)))
    code = main(["import", "--root", str(portfolio.root), str(big)])
    assert code == 2
    assert "more than 5,000 rows" in capsys.readouterr().err
    assert list((portfolio.content / "activities").iterdir()) == []


def test_the_site_is_never_missing_while_a_new_one_is_swapped_in(portfolio, monkeypatch):
    if not fsutil.exchange.__module__ or not sys.platform.startswith("linux"):
        pytest.skip("the atomic exchange is Linux's")
    eligible(portfolio)
    assert build(portfolio).written
    site = portfolio.root / "site"
    real_replace = os.replace

    def killed_between_renames(src, dst):
        if Path(dst) == site:
            raise KeyboardInterrupt  # as if the build were killed before the new site was in place
        return real_replace(src, dst)

    monkeypatch.setattr(os, "replace", killed_between_renames)
    portfolio.activity("2026-01-10-new", date="2026-01-10", title="Swapped in")
    assert build(portfolio).written
    assert "Swapped in" in (site / "activities" / "2026-01-10-new" / "index.html").read_text()


def test_files_the_member_keeps_in_site_survive_every_build(portfolio):
    eligible(portfolio)
    portfolio.settings({**PORTFOLIO, "site": {"keep": ["google1234.html", "extras/"]}})
    assert build(portfolio).written
    site = portfolio.root / "site"
    (site / "CNAME").write_text("cpd.example.org\n")
    (site / ".nojekyll").write_text("")
    (site / "google1234.html").write_text("verification")
    (site / "extras").mkdir()
    (site / "extras" / "cv.pdf").write_bytes(pdf_document("CV"))
    (site / "stray.txt").write_text("not listed")
    for n in range(2):
        portfolio.activity(f"2026-01-1{n}-x", date=f"2026-01-1{n}")
        result = build(portfolio)
        assert result.written
    assert (site / "CNAME").read_text() == "cpd.example.org\n"
    assert (site / ".nojekyll").exists() and (site / "google1234.html").exists()
    assert (site / "extras" / "cv.pdf").read_bytes().startswith(b"%PDF")
    assert not (site / "stray.txt").exists()


def test_a_stray_file_in_site_is_named_before_it_is_left_behind(portfolio):
    eligible(portfolio)
    assert build(portfolio).written
    (portfolio.root / "site" / "stray.txt").write_text("not listed")
    portfolio.activity("2026-01-10-x", date="2026-01-10")
    result = build(portfolio)
    [warning] = [p for p in result.problems if p.code == "site-keep"]
    assert "stray.txt in site/ was not written by cpdgen" in warning.message


def test_the_allow_entry_check_prints_is_valid_yaml_in_both_list_styles(portfolio):
    portfolio.activity("a", body=f"Book {NUMBER}.")
    [problem] = [p for p in load_portfolio(portfolio.root).problems if p.code == "nhs-number"]
    entry = re.search(r"'(nhs-number [^']*\([0-9a-f]{16}\))'", problem.message).group(1)
    for front in (f"allow: [{entry}]", f"allow:\n  - {entry}"):
        assert yaml.safe_load(front)["allow"] == [entry]
        portfolio.activity("a", activity_text(body=f"Book {NUMBER}.").replace("---\n", f"---\n{front}\n", 1))
        assert not [p for p in load_portfolio(portfolio.root).problems if p.code in ("nhs-number", "allow-unused")]

"""Evidence documents are read whole: every part a reader of the published file could open.

A PDF's comments and bookmarks, a Word file's custom XML or embedded object, an RTF's escaped
digits: each test hides an NHS number in one such place, and asserts `cpdgen check` reports
it at the document, masked, as an error. A document cpdgen cannot read is said to be unchecked.
"""

from __future__ import annotations

import io
import zipfile

import pytest
from pypdf import PdfReader, PdfWriter
from pypdf.annotations import FreeText, Text

from conftest import Builder, pdf_document, png_image
from cpdgen.loader import load_portfolio
from cpdgen.privacy.documents import MAX_DEPTH, document_text

NUMBER = "943 476 5919"  # the NHS's own documentation example: never a real patient's
LINE = f"Patient {NUMBER}"


def pdf_with(edit) -> bytes:
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf_document("Certificate of attendance"))))
    edit(writer)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def package(parts: dict[str, str | bytes]) -> bytes:
    """A Word document with a harmless body and ``parts`` besides."""
    body = (
        "<?xml version='1.0'?><w:document xmlns:w='http://schemas.openxmlformats.org/wordprocessingml/2006/main'>"
        "<w:body><w:p><w:r><w:t>Audit report</w:t></w:r></w:p></w:body></w:document>"
    )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", body)
        for name, data in parts.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def _xmp(writer: PdfWriter) -> None:
    from pypdf.generic import NameObject, StreamObject

    stream = StreamObject()
    stream.set_data(f"<x:xmpmeta xmlns:x='adobe:ns:meta/'><dc:description>{LINE}</dc:description></x:xmpmeta>".encode())
    writer.root_object[NameObject("/Metadata")] = writer._add_object(stream)


def _digit_boxes() -> bytes:
    """A form whose digits are each placed in a box of their own, as scanned forms' text layers are."""
    shown = " ".join(f"1 0 0 1 {100 + i * 20} 700 Tm ({d}) Tj" for i, d in enumerate(NUMBER.replace(" ", "")))
    stream = f"BT /F1 12 Tf {shown} ET"
    objects = [
        "<< /Type /Catalog /Pages 2 0 R >>",
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        "/Resources << /Font << /F1 5 0 R >> >> >>",
        f"<< /Length {len(stream)} >>\nstream\n{stream}\nendstream",
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out, offsets = b"%PDF-1.4\n", []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n{body}\nendobj\n".encode()
    table = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{offset:010d} 00000 n \n".encode() for offset in offsets)
    return out + f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{table}\n%%EOF\n".encode()


def _ole_object() -> bytes:
    """An embedded OLE object: binary, with its text in UTF-16 as Office writes it."""
    return b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 64 + LINE.encode("utf-16-le") + b"\x00" * 32


def _zip(parts: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, text in parts.items():
            archive.writestr(name, text)
    return buffer.getvalue()


def _xlsx_pivot_cache() -> bytes:
    """The source sheet deleted to anonymise the workbook; the pivot cache (saved by default) keeps it."""
    ns = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
    return _zip({
        "[Content_Types].xml": "<Types/>",
        "xl/workbook.xml": f"<workbook {ns}><sheets><sheet name='Summary' sheetId='1'/></sheets></workbook>",
        "xl/worksheets/sheet1.xml": f"<worksheet {ns}><sheetData><row r='1'><c r='A1'><v>3</v></c></row>"
                                    "</sheetData></worksheet>",
        "xl/pivotCache/pivotCacheRecords1.xml": f"<pivotCacheRecords {ns} count='1'><r><n v='9434765919'/>"
                                                "<s v='K 6.1'/></r></pivotCacheRecords>",
    })  # fmt: skip


def _ods_masked_cell() -> bytes:
    """A cell whose format shows something else: its value is an attribute."""
    return _zip(
        {
            "mimetype": "application/vnd.oasis.opendocument.spreadsheet",
            "content.xml": "<office:document-content xmlns:office='urn:oasis:names:tc:opendocument:xmlns:office:1.0' "
            "xmlns:table='urn:oasis:names:tc:opendocument:xmlns:table:1.0' "
            "xmlns:text='urn:oasis:names:tc:opendocument:xmlns:text:1.0'><office:body><office:spreadsheet>"
            "<table:table><table:table-row><table:table-cell office:value-type='float' office:value='9434765919'>"
            "<text:p>943-XXX-XXXX</text:p></table:table-cell></table:table-row></table:table>"
            "</office:spreadsheet></office:body></office:document-content>",
        }
    )


def _email(encoding: str) -> bytes:
    head = (
        "From: consultant@example.org\nTo: me@example.org\nSubject: thanks\nMIME-Version: 1.0\n"
        f"Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: {encoding}\n\n"
    )
    if encoding == "base64":
        import base64

        return (head + base64.encodebytes(f"Thank you for phoning about {LINE}.\n".encode()).decode()).encode()
    return (head + "Thank you for the call about the sample from NHS 943 476 59=\n19 =E2=80=93 all sorted.\n").encode()


def _pdf_attach_file_comment() -> bytes:
    """Acrobat's "Attach File" comment: the file sits in an annotation, not in the attachments list."""
    from pypdf.generic import (
        ArrayObject,
        DecodedStreamObject,
        DictionaryObject,
        FloatObject,
        NameObject,
        TextStringObject,
    )  # fmt: skip

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf_document("Certificate of attendance"))))
    embedded = DecodedStreamObject()
    embedded.set_data(b"SampleID,NHS,K\n1,9434765919,4.5\n")
    embedded[NameObject("/Type")] = NameObject("/EmbeddedFile")
    spec = DictionaryObject({
        NameObject("/Type"): NameObject("/Filespec"), NameObject("/F"): TextStringObject("results.csv"),
        NameObject("/EF"): DictionaryObject({NameObject("/F"): writer._add_object(embedded)}),
    })  # fmt: skip
    annotation = DictionaryObject({
        NameObject("/Type"): NameObject("/Annot"), NameObject("/Subtype"): NameObject("/FileAttachment"),
        NameObject("/Rect"): ArrayObject([FloatObject(50), FloatObject(50), FloatObject(70), FloatObject(70)]),
        NameObject("/FS"): writer._add_object(spec),
    })  # fmt: skip
    writer.pages[0][NameObject("/Annots")] = ArrayObject([writer._add_object(annotation)])
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _pdf_edited_incrementally() -> bytes:
    """A PDF "edited" to take the number out and saved incrementally: the earlier version stays in the file."""
    base = pdf_document(f"{LINE} attended")
    previous = int(base.rsplit(b"startxref\n", 1)[1].split(b"\n")[0])
    text = "BT /F1 12 Tf 72 720 Td 14 TL (Certificate of attendance) ' ET"
    out = base + f"4 0 obj\n<< /Length {len(text)} >>\nstream\n{text}\nendstream\nendobj\n".encode()
    table = len(out)
    out += (
        f"xref\n0 1\n0000000000 65535 f \n4 1\n{len(base):010d} 00000 n \n"
        f"trailer\n<< /Size 6 /Root 1 0 R /Prev {previous} >>\nstartxref\n{table}\n%%EOF\n"
    ).encode()
    assert "5919" not in PdfReader(io.BytesIO(out)).pages[0].extract_text()  # the newest version hides it
    return out


HIDING_PLACES = {
    "pdf-free-text-comment": ("cert.pdf", lambda: pdf_with(
        lambda w: w.add_annotation(0, FreeText(text=LINE, rect=(50, 550, 300, 650))))),
    "pdf-sticky-note": ("cert.pdf", lambda: pdf_with(
        lambda w: w.add_annotation(0, Text(text=LINE, rect=(50, 550, 200, 650))))),
    "pdf-bookmark": ("cert.pdf", lambda: pdf_with(lambda w: w.add_outline_item(title=LINE, page_number=0))),
    "pdf-attached-file": ("cert.pdf", lambda: pdf_with(lambda w: w.add_attachment("results.txt", LINE.encode()))),
    "pdf-attached-word-file": ("cert.pdf", lambda: pdf_with(
        lambda w: w.add_attachment("notes.docx", package({"customXml/item1.xml": f"<a>{LINE}</a>"})))),
    "pdf-xmp-metadata": ("cert.pdf", lambda: pdf_with(_xmp)),
    "pdf-digits-in-boxes": ("form.pdf", _digit_boxes),
    "word-custom-xml": ("report.docx", lambda: package({"customXml/item1.xml": f"<a>{LINE}</a>"})),
    "word-embedded-ole-object": ("report.docx", lambda: package({"word/embeddings/oleObject1.bin": _ole_object()})),
    "word-embedded-pdf": ("report.docx", lambda: package({"word/embeddings/letter.pdf": pdf_document(LINE)})),
    "word-html-chunk": ("report.docx", lambda: package({"word/afchunk.htm": "<p>Patient 943<b>476</b> 5919</p>"})),
    "word-picture-description": ("report.docx", lambda: package({
        "word/drawing.xml": f"<pic xmlns:wp='urn:x'><wp:docPr id='1' name='Picture 1' descr='{LINE}'/></pic>"})),
    "word-link-target": ("report.docx", lambda: package({
        "word/_rels/document.xml.rels": "<Relationships><Relationship Id='rId9' TargetMode='External' "
        "Target='https://lims.example.org/result?patient=9434765919'/></Relationships>"})),
    "rtf-escaped-digits": ("letter.rtf", lambda: b"{\\rtf1\\ansi Patient \\'39\\'34\\'33 476\\~5919\\par}"),
    "json-escaped-digits": ("export.json", lambda: b'{"patient": "\\u0039434765919"}'),
    "lims-csv-row": ("results.csv", lambda: b"SampleID,NHSNumber,Result\n12345,9434765919,4.5\n"),
    "csv-float-column": ("results.csv", lambda: b"SampleID,NHSNumber,K\n12345,9434765919.0,4.5\n12346,,4.1\n"),
    "xlsx-pivot-cache": ("audit.xlsx", _xlsx_pivot_cache),
    "ods-value-behind-format": ("audit.ods", _ods_masked_cell),
    "email-base64": ("thanks.eml", lambda: _email("base64")),
    "email-quoted-printable": ("call.eml", lambda: _email("quoted-printable")),
    "pdf-attach-file-comment": ("cert.pdf", _pdf_attach_file_comment),
    "pdf-earlier-version": ("certificate.pdf", _pdf_edited_incrementally),
}  # fmt: skip


@pytest.mark.parametrize("place", sorted(HIDING_PLACES))
def test_a_number_hidden_anywhere_in_an_evidence_document_is_an_error(portfolio: Builder, place):
    name, make = HIDING_PLACES[place]
    portfolio.write(f"evidence/{name}", make())
    portfolio.activity("2026-01-10-audit", date="2026-01-10", evidence=[name])
    problems = load_portfolio(portfolio.root).problems
    found = [p for p in problems if p.code == "nhs-number"]
    assert [(p.path, p.severity) for p in found] == [(f"content/evidence/{name}", "error")], problems
    assert "943 *** ****" in found[0].message and "5919" not in found[0].message


def test_a_clean_document_with_pictures_fonts_and_objects_reads_without_a_finding():
    data = package({
        "word/media/image1.png": png_image(),
        "word/fonts/font1.odttf": bytes(range(256)) * 40,
        "word/embeddings/oleObject1.bin": b"\xd0\xcf\x11\xe0" + "Equation 3.0".encode("utf-16-le") + b"\x00" * 64,
        "docProps/core.xml": "<cp:coreProperties xmlns:cp='urn:cp'><dc:creator xmlns:dc='urn:dc'>A Member"
                             "</dc:creator></cp:coreProperties>",
    })  # fmt: skip
    text, how = document_text("report.docx", data)
    assert text is not None, how
    assert "Audit report" in text and "Equation 3.0" in text and "A Member" in text


def test_the_text_at_the_end_of_a_long_part_is_read_in_order():
    # The XML is parsed in chunks; text at a chunk's edge must not be lost.
    runs = "".join(f"<w:p><w:r><w:t>Paragraph {n} of the report.</w:t></w:r></w:p>" for n in range(5000))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(
            "word/document.xml",
            "<w:document xmlns:w='urn:w'><w:body>"
            + runs
            + f"<w:p><w:r><w:t>{LINE}</w:t></w:r></w:p></w:body></w:document>",
        )
    text, _ = document_text("big.docx", buffer.getvalue())
    assert text is not None and text.rstrip().endswith(LINE) and "Paragraph 4999 of the report." in text


def test_documents_nested_too_deep_are_reported_unchecked_not_read_forever():
    data = LINE.encode()
    name = "inner.txt"
    for depth in range(MAX_DEPTH + 2):
        data = pdf_with(lambda w, data=data, name=name: w.add_attachment(name, data))
        name = f"level{depth}.pdf"
    text, how = document_text("outer.pdf", data)
    assert text is None and f"more than {MAX_DEPTH} deep" in how


def test_an_embedded_document_that_cannot_be_read_makes_the_whole_file_unchecked(portfolio: Builder, run_check):
    broken = b"PK\x03\x04" + b"\x00" * 40  # a damaged Office file inside a good one
    portfolio.write("evidence/report.docx", package({"word/embeddings/Microsoft_Word_Document.docx": broken}))
    portfolio.activity("2026-01-10-audit", date="2026-01-10", evidence=["report.docx"])
    code, out = run_check("--content-only", "--strict")
    assert code == 1
    assert "content/evidence/report.docx: warning: cpdgen could not look inside this file" in out
    assert "its embedded file word/embeddings/Microsoft_Word_Document.docx cannot be read" in out

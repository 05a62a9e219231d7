"""The text inside a member's evidence documents, so the privacy scan can read it.

A spreadsheet saved as "CSV (Comma delimited)", a scanned letter's PDF, a Word report or a
phone photo's caption can each hold a patient's name or number. :func:`document_text`
returns what a reader (or a search engine) could read in one file:

- text files (``.txt``, ``.csv``, ``.html``, ``.json``…) in any encoding cpdgen can detect:
  UTF-8, UTF-16 or UTF-32 (with or without a byte-order mark), else Windows-1252; RTF
  with its escapes decoded, JSON with its strings unescaped;
- PDF: every page's text, the document's information and XMP metadata, form fields,
  annotations (comments, sticky notes), bookmarks and attached files (pypdf);
- Word, Excel and PowerPoint (``.docx``, ``.xlsx``, ``.pptx``) and OpenDocument
  (``.odt``, ``.ods``, ``.odp``): every part of the package, read with the standard
  library: the text of every XML part (custom XML, headers, comments and properties
  included), image descriptions, comment authors and link targets, HTML parts, and the
  files embedded in it (pictures' metadata, other documents);
- images: the text fields of their metadata (EXIF description, comment, artist, XMP, PNG
  text chunks, GIF and JPEG comments), which a published copy loses but git keeps.

A document inside a document is read the same way, up to :data:`MAX_DEPTH` deep; a part
of a kind cpdgen has no reader for (an OLE object, a font) gives its printable strings.
Anything else, or a file that cannot be read (encrypted, damaged, too large once
unpacked), gives None and the reason, so the scan can say the file was not checked.
"""

from __future__ import annotations

import codecs
import io
import json
import re
import zipfile
from typing import Any
from xml.parsers import expat

from cpdgen.alarm import time_limit
from cpdgen.privacy.images import sniff
from cpdgen.privacy.text import html_text

TEXT_SUFFIXES = (
    ".txt", ".text", ".md", ".markdown", ".csv", ".tsv", ".tab", ".html", ".htm", ".xhtml", ".json",
    ".xml", ".yaml", ".yml", ".log", ".rtf", ".tex", ".bib", ".ris", ".svg", ".ics", ".vcf", ".eml",
)  # fmt: skip
OFFICE_SUFFIXES = (".docx", ".docm", ".dotx", ".xlsx", ".xlsm", ".pptx", ".pptm", ".odt", ".ods", ".odp")
IMAGE_METADATA_SUFFIXES = (".jpg", ".jpeg", ".jpe", ".jfif", ".png", ".webp", ".gif", ".tif", ".tiff")
PAGE_BREAK = "\f"  # between the pages of a PDF's text

MAX_PAGES = 500
MAX_UNPACKED_BYTES = 60_000_000  # an Office file's XML, all parts together
MAX_PART_BYTES = 25_000_000
MAX_PARTS = 5_000
MAX_DEPTH = 3  # a document attached to a document attached to a document
SECONDS = 20  # reading one document, with everything inside it

_XML_PART = (".xml", ".rels", ".vml")
_HTML_PART = (".htm", ".html", ".xhtml", ".mht", ".mhtml")
_BREAKS = {"p", "br", "cr", "tab", "tr", "row", "si", "c", "tc", "h", "line-break", "s", "table-row", "table-cell"}
# Attributes that hold words or values rather than layout: a picture's description, a
# comment's author, a link's target (``.rels``), a shape's title, and the values an Excel
# pivot cache keeps (deleted rows included) or an OpenDocument cell holds behind its format.
_TEXT_ATTRIBUTES = {
    "descr", "title", "author", "initials", "Target", "href", "name-of-author", "alt",
    "v", "val", "value", "string-value", "name",  # a pivot cache's values, a cell's value behind its format
}  # fmt: skip
_STRINGS = re.compile(rb"[\x20-\x7e\t]{6,}|(?:[\x20-\x7e]\x00){6,}")


class Unreadable(Exception):
    """Why a document's text could not be read."""


def decode_any(data: bytes) -> tuple[str, str]:
    """Text in any encoding cpdgen can detect, and the encoding's name.

    A byte-order mark names UTF-8, UTF-16 or UTF-32; text with a NUL in every other byte
    is UTF-16 without one; then strict UTF-8; else Windows-1252 (Excel's "CSV"), and bytes
    that are not even that are read as Latin-1, so digits and letters are always seen.
    """
    for bom, encoding in (
        (codecs.BOM_UTF32_LE, "utf-32-le"),
        (codecs.BOM_UTF32_BE, "utf-32-be"),
        (codecs.BOM_UTF8, "utf-8"),
        (codecs.BOM_UTF16_LE, "utf-16-le"),
        (codecs.BOM_UTF16_BE, "utf-16-be"),
    ):
        if data.startswith(bom):
            return data[len(bom) :].decode(encoding, errors="replace"), encoding
    head = data[:4096]
    if len(head) >= 4 and head.count(0) * 3 >= len(head):
        odd, even = head[1::2].count(0), head[0::2].count(0)
        encoding = "utf-16-le" if odd > even else "utf-16-be"
        return data.decode(encoding, errors="replace"), encoding
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252"), "cp1252"
    except UnicodeDecodeError:
        return data.decode("latin-1"), "latin-1"


def document_text(name: str, data: bytes) -> tuple[str | None, str]:
    """``(text, what was read)``, or ``(None, why it could not be read)``, for one file's bytes."""
    try:
        with time_limit(SECONDS, lambda: Unreadable(f"reading it took more than {SECONDS} s")):
            return _read(name, data, 0)
    except Unreadable as exc:
        return None, str(exc)


def _suffix(name: str) -> str:
    return "." + name.rsplit(".", 1)[-1].lower() if "." in name.rsplit("/", 1)[-1] else ""


def _read(name: str, data: bytes, depth: int) -> tuple[str | None, str]:
    if depth > MAX_DEPTH:
        raise Unreadable(f"it holds documents inside documents more than {MAX_DEPTH} deep")
    suffix = _suffix(name)
    if suffix in _EMAIL_SUFFIXES:
        return _email_text(data, depth), "its text"
    if suffix in TEXT_SUFFIXES:
        text, encoding = decode_any(data)
        return _plain_text(suffix, text), f"its text ({encoding})"
    if suffix == ".pdf" or data.startswith(b"%PDF-"):
        return _pdf_text(data, depth), "its text"
    if suffix in OFFICE_SUFFIXES or (data.startswith(b"PK\x03\x04") and suffix in (".doc", ".xls", ".ppt")):
        return _office_text(data, depth), "its text"
    if suffix in IMAGE_METADATA_SUFFIXES or sniff(data) is not None:
        return _image_text(data), "its metadata"
    if b"\x00" not in data[:4096]:
        text, encoding = decode_any(data)
        return text, f"its text ({encoding})"
    shown = suffix or "files without an extension"
    return None, f"cpdgen cannot read the text of {shown} files; save it as PDF or as a text file"


def _inner_text(name: str, data: bytes, depth: int) -> str:
    """A file inside a document: read as its kind, else its printable strings (an OLE object, a font)."""
    try:
        text, why = _read(name, data, depth + 1)
    except Unreadable as exc:
        raise Unreadable(f"its embedded file {name} cannot be read: {exc}") from None
    if text is not None:
        return text
    if data.startswith((b"PK\x03\x04", b"%PDF-")):
        raise Unreadable(f"its embedded file {name} cannot be read: {why}")
    return "\n".join(m.group().decode("utf-16-le" if m.group()[1:2] == b"\x00" else "latin-1")
                     for m in _STRINGS.finditer(data))  # fmt: skip


# --- e-mail -------------------------------------------------------------------------------

_EMAIL_SUFFIXES = (".eml", ".mht", ".mhtml")


def _email_text(data: bytes, depth: int) -> str:
    """A saved e-mail (or web archive): its headers, and every part decoded, attachments read
    as their own kind (base64 and quoted-printable hide digits from a plain reading)."""
    import email
    import email.policy

    message = email.message_from_bytes(data, policy=email.policy.compat32)
    found = [f"{key}: {value}" for key, value in message.items()]
    for n, part in enumerate(message.walk()):
        if part.is_multipart():
            continue
        payload = part.get_payload(decode=True)
        if not isinstance(payload, bytes):
            continue
        name = part.get_filename()
        kind = part.get_content_type()
        if name:
            found += [name, _inner_text(name, payload, depth)]
        elif kind.startswith("text/"):
            charset = part.get_content_charset() or ""
            try:
                text = payload.decode(charset) if charset else decode_any(payload)[0]
            except (LookupError, UnicodeDecodeError):
                text = decode_any(payload)[0]
            found.append(html_text(text) if kind == "text/html" else text)
        else:
            found.append(_inner_text(f"part-{n}", payload, depth))
    return "\n".join(found)


# --- text files ----------------------------------------------------------------------------

_RTF_ESCAPE = re.compile(r"\\'([0-9a-fA-F]{2})|\\u(-?\d{1,6}) ?\??|\\([a-z]{1,32})(-?\d{1,10})? ?|\\([^a-z])|[{}]")


def _plain_text(suffix: str, text: str) -> str:
    """RTF without its control words, JSON with its strings unescaped; other text as it is."""
    if suffix == ".rtf":
        return _RTF_ESCAPE.sub(_rtf_piece, text)
    if suffix == ".json":
        try:
            value = json.loads(text)
        except (ValueError, RecursionError):
            return text
        return "\n".join(_json_strings(value))
    return text


def _rtf_piece(match: re.Match[str]) -> str:
    hex_byte, code, word, _number, symbol = match.groups()
    if hex_byte:
        return bytes([int(hex_byte, 16)]).decode("cp1252", errors="replace")
    if code:
        return chr(int(code) % 65536) if int(code) % 65536 < 0xD800 or int(code) % 65536 > 0xDFFF else " "
    if word:
        return "\n" if word in ("par", "line", "row", "cell", "sect", "page") else ("\t" if word == "tab" else "")
    if symbol:
        return symbol if symbol in "\\{}" else " "
    return ""


def _json_strings(value: object) -> list[str]:
    found: list[str] = []
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            found += [str(key) for key in item]
            stack += reversed(list(item.values()))
        elif isinstance(item, list):
            stack += reversed(item)
        elif item is not None and not isinstance(item, bool):
            found.append(str(item))
    return found


# --- PDF -------------------------------------------------------------------------------


def _pdf_text(data: bytes, depth: int) -> str:
    import logging

    from pypdf import PdfReader

    logging.getLogger("pypdf").setLevel(logging.ERROR)  # damaged files are common and reported here
    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted and not reader.decrypt(""):
            raise Unreadable("it is encrypted with a password")
        if len(reader.pages) > MAX_PAGES:
            raise Unreadable(f"it has more than {MAX_PAGES} pages")
        pages = [page.extract_text() or "" for page in reader.pages]
        extra = [str(value) for value in (reader.metadata or {}).values() if isinstance(value, str)]
        fields = reader.get_fields() or {}
        extra += [str(field.get("/V")) for field in fields.values() if field.get("/V") not in (None, "")]
        notes, attached = _pdf_annotations(reader)
        extra += notes
        extra += _pdf_outline(reader.outline)
        metadata: Any = reader.root_object.get("/Metadata")
        if metadata is not None:
            extra.append(html_text(decode_any(metadata.get_object().get_data())[0]))  # XMP
        attachments = {name: list(contents) for name, contents in reader.attachments.items()}
    except Unreadable:
        raise
    except Exception as exc:  # noqa: BLE001 - pypdf raises many kinds for a damaged file
        raise Unreadable(f"it is not a readable PDF ({type(exc).__name__})") from None
    for name, content in attached:
        attachments.setdefault(name, []).append(content)
    for name, contents in sorted(attachments.items()):
        extra.append(name)
        extra += [_inner_text(name, content, depth) for content in contents]
    extra += _pdf_earlier_versions(data)
    return PAGE_BREAK.join(pages) + ("\n" + "\n".join(extra) if extra else "")


def _pdf_annotations(reader: Any) -> tuple[list[str], list[tuple[str, bytes]]]:
    """Comments, sticky notes and free text on the pages, with their authors; and the files
    attached as comments ("Attach File"), which the document's own list of attachments omits."""
    found: list[str] = []
    files: list[tuple[str, bytes]] = []
    for page in reader.pages:
        annotations = page.get("/Annots")
        for reference in annotations.get_object() if annotations is not None else ():
            annotation = reference.get_object()
            for key in ("/Contents", "/T", "/Subj", "/RC"):
                value = annotation.get(key)
                if isinstance(value, str) and value:
                    found.append(html_text(value) if key == "/RC" else value)
            spec = annotation.get("/FS")
            if annotation.get("/Subtype") == "/FileAttachment" and spec is not None:
                spec = spec.get_object()
                embedded = spec.get("/EF")
                stream = embedded.get_object().get("/F") if embedded is not None else None
                if stream is not None:
                    name = str(spec.get("/UF") or spec.get("/F") or "attached file")
                    files.append((name, stream.get_object().get_data()))
    return found, files


MAX_REVISIONS = 10


def _pdf_earlier_versions(data: bytes) -> list[str]:
    """The pages' text of each earlier version a PDF still holds.

    A PDF edited and saved "incrementally" (form filling, signing, a quick redaction) keeps
    every earlier version after its end-of-file mark: text removed in the last version is
    still in the file, and anyone can read it. Each version that parses is read; one that
    does not (a linearised file's first part) is not a version anyone sees.
    """
    from pypdf import PdfReader

    marks = [m.end() for m in re.finditer(rb"%%EOF", data)][:-1][-MAX_REVISIONS:]
    found: list[str] = []
    for end in marks:
        try:
            earlier = PdfReader(io.BytesIO(data[:end]), strict=False)
            if earlier.is_encrypted or len(earlier.pages) > MAX_PAGES:
                continue
            found += [page.extract_text() or "" for page in earlier.pages]
        except Exception:  # noqa: BLE001, S112 - not a version on its own (a linearised file's first part)
            continue
    return found


def _pdf_outline(items: object, depth: int = 0) -> list[str]:
    """The bookmarks' titles, nested lists included."""
    if depth > 50 or not isinstance(items, list):
        return []
    found: list[str] = []
    for item in items:
        if isinstance(item, list):
            found += _pdf_outline(item, depth + 1)
        else:
            title = getattr(item, "title", None)
            if isinstance(title, str):
                found.append(title)
    return found


# --- Office and OpenDocument -------------------------------------------------------------


def _office_text(data: bytes, depth: int) -> str:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        parts = [info for info in archive.infolist() if not info.is_dir()]
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise Unreadable(f"it is not a readable Office document ({exc})") from None
    if not any(info.filename.lower().endswith(".xml") for info in parts):
        raise Unreadable("it holds no document text cpdgen can find")
    if len(parts) > MAX_PARTS or sum(p.file_size for p in parts) > MAX_UNPACKED_BYTES:
        raise Unreadable("it is too large once unpacked")
    texts = []
    for info in sorted(parts, key=lambda p: p.filename):
        if info.file_size > MAX_PART_BYTES:
            raise Unreadable(f"its part {info.filename} is too large once unpacked")
        try:
            content = archive.read(info)
        except (zipfile.BadZipFile, OSError, ValueError, RuntimeError) as exc:
            raise Unreadable(f"its part {info.filename} cannot be read ({exc})") from None
        if len(content) > MAX_PART_BYTES:
            raise Unreadable(f"its part {info.filename} is too large once unpacked")
        suffix = _suffix(info.filename)
        if suffix in _XML_PART:
            texts.append(_xml_text(content, info.filename))
        elif suffix in _HTML_PART:
            texts.append(html_text(decode_any(content)[0]))
        elif info.filename != "mimetype":
            texts.append(_inner_text(info.filename, content, depth))
    return "\n".join(texts)


def _xml_text(xml: bytes, where: str) -> str:
    """The text of one XML part; a run of text inside a paragraph stays joined, paragraphs apart."""
    if b"<!DOCTYPE" in xml or b"<!ENTITY" in xml:
        raise Unreadable(f"its part {where} declares entities, which documents do not need")
    pieces: list[str] = []

    def start(tag: str, attributes: dict[str, str]) -> None:
        for key, value in attributes.items():
            if key.rsplit("}", 1)[-1] in _TEXT_ATTRIBUTES:
                pieces.extend(("\n", value, "\n"))

    def end(tag: str) -> None:
        if tag.rsplit("}", 1)[-1] in _BREAKS:
            pieces.append("\n")

    # Entities are refused above; expat reads the rest in document order, text and tails alike.
    parser = expat.ParserCreate(namespace_separator="}")
    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = pieces.append
    try:
        parser.Parse(xml, True)
    except expat.ExpatError as exc:
        raise Unreadable(f"its part {where} is not readable XML ({exc})") from None
    return "".join(pieces)


# --- images --------------------------------------------------------------------------------

_EXIF_TEXT_TAGS = (0x010E, 0x010F, 0x0110, 0x0131, 0x013B, 0x8298, 0x9C9B, 0x9C9C, 0x9C9D, 0x9C9E, 0x9C9F)
_EXIF_IFD = 0x8769
_USER_COMMENT = 0x9286


def _value_text(value: object, tag: int = 0) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, bytes):
        if 0x9C9B <= tag <= 0x9C9F:  # Windows' XP* tags: UTF-16
            return value.decode("utf-16-le", errors="replace").rstrip("\x00")
        if tag == _USER_COMMENT:
            charset, body = value[:8], value[8:]
            if charset.startswith(b"UNICODE"):
                return body.decode("utf-16-be" if body[:1] == b"\x00" else "utf-16-le", errors="replace")
            return body.decode("latin-1")
        return decode_any(value)[0]
    return None


def _image_text(data: bytes) -> str:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as image:
            found: list[str] = []
            for key, value in image.info.items():
                if key in ("exif", "icc_profile", "transparency", "dpi", "duration", "loop", "background"):
                    continue
                text = _value_text(value)
                if text:
                    found.append(html_text(text) if key in ("xmp", "XML:com.adobe.xmp") else text)
            exif = image.getexif()
            for tag in _EXIF_TEXT_TAGS:
                text = _value_text(exif.get(tag), tag)
                if text:
                    found.append(text)
            user = exif.get_ifd(_EXIF_IFD).get(_USER_COMMENT)
            text = _value_text(user, _USER_COMMENT)
            if text:
                found.append(text)
            description = getattr(image, "tag_v2", {}).get(270) if hasattr(image, "tag_v2") else None
            if isinstance(description, str):
                found.append(description)
    except (OSError, ValueError, SyntaxError, UnidentifiedImageError, Image.DecompressionBombError) as exc:
        raise Unreadable(f"it is not a readable image ({type(exc).__name__})") from None
    return "\n".join(found)

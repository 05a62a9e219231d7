"""The local files a PDF may read, checked before WeasyPrint sees them.

Only regular files inside the allowed folders (the portfolio's ``content/`` and the theme)
are read, after symlinks are resolved; only image, stylesheet and font types; images are
bounded in bytes and pixels, SVG in the shapes it expands to; photos lose their camera
metadata (location, device) but keep their orientation, through the same stripper as the
site's copies (``privacy.images``). Nothing here imports WeasyPrint.
"""

from __future__ import annotations

import io
import re
import struct
from collections.abc import Iterable
from pathlib import Path
from urllib.parse import quote
from xml.etree import ElementTree

from cpdgen.fsutil import read_member_file
from cpdgen.privacy.images import clean_evidence, strict_decoding
from cpdgen.problems import CpdgenError, ReadError, Refused

MAX_BYTES = 20_000_000
MAX_PIXELS = 50_000_000
MAX_SVG_BYTES = 2_000_000
MAX_SVG_SHAPES = 10_000  # elements drawn once every <use> is expanded (WeasyPrint: about 0.25 ms each)

IMAGE_TYPES = {
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".svg": "image/svg+xml",
}
THEME_TYPES = {
    **IMAGE_TYPES,
    ".css": "text/css",
    ".woff": "font/woff",
    ".woff2": "font/woff2",
    ".ttf": "font/ttf",
    ".otf": "font/otf",
}


VIRTUAL = "/_cpdgen/"  # files reach WeasyPrint as file:///_cpdgen/<folder name>/<path>: no machine path


def virtual_url(name: str, relative: str) -> str:
    """The URL under which the fetcher serves ``relative`` (a POSIX path) of the folder called ``name``."""
    return "file://" + VIRTUAL + quote(name) + "/" + quote(relative)


def inside(path: Path, roots: Iterable[Path]) -> bool:
    return any(path.is_relative_to(root) for root in roots)


def resolve_inside(path: Path, roots: Iterable[Path], shown: str) -> Path:
    """The real file behind ``path``, which must be a regular file inside one of ``roots``."""
    roots = list(roots)
    if not path.is_absolute() or not (path.exists() or path.is_symlink()):
        raise Refused("pdf-image-missing", f"'{shown}' not found")
    real = path.resolve()
    if not inside(real, roots):
        raise Refused("pdf-image-outside", f"'{shown}' is outside content/ (through a link); copy the file in instead")
    if not real.is_file():
        raise Refused("pdf-image-missing", f"'{shown}' is not a file")
    return real


def read_checked(
    path: Path, roots: Iterable[Path], shown: str, types: dict[str, str] = IMAGE_TYPES
) -> tuple[bytes, str]:
    """The bytes (metadata stripped) and media type of a file the PDF may read, or Refused."""
    roots = list(roots)
    real = resolve_inside(path, roots, shown)
    suffix = real.suffix.lower()
    media_type = types.get(suffix)
    if media_type is None:
        allowed = ", ".join(sorted({s.lstrip(".") for s in types}))
        raise Refused("pdf-image-type", f"'{shown}' is not a file type the PDF can show ({allowed})")
    limit = MAX_SVG_BYTES if suffix == ".svg" else MAX_BYTES
    root = next(root for root in roots if real.is_relative_to(root))
    try:
        data = read_member_file(real, root, limit=limit)
    except ReadError as exc:
        code = "pdf-image-too-large" if exc.code == "file-too-large" else "pdf-image-missing"
        raise Refused(code, f"'{shown}': {exc.message}") from None
    if suffix == ".svg":
        check_svg(data, shown)
    elif media_type.startswith("image/"):
        data = check_raster(data, shown)
    return data, media_type


def dimensions(data: bytes) -> tuple[int, int] | None:
    """Width and height from a PNG, GIF or JPEG header, read without decoding anything."""
    if data.startswith(b"\x89PNG\r\n\x1a\n") and data[12:16] == b"IHDR":
        return struct.unpack(">II", data[16:24])
    if data[:6] in (b"GIF87a", b"GIF89a") and len(data) >= 10:
        return struct.unpack("<HH", data[6:10])
    if data.startswith(b"\xff\xd8"):
        pos = 2
        while pos + 9 <= len(data) and data[pos] == 0xFF:
            marker = data[pos + 1]
            length = struct.unpack(">H", data[pos + 2 : pos + 4])[0]
            if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):  # start of frame
                height, width = struct.unpack(">HH", data[pos + 5 : pos + 9])
                return width, height
            pos += 2 + length
    return None


def check_raster(data: bytes, shown: str) -> bytes:
    """Refuse unreadable or enormous images; return the bytes without camera metadata."""
    from PIL import Image

    size = dimensions(data)
    if size and size[0] * size[1] > MAX_PIXELS:
        width, height = size
        raise Refused(
            "pdf-image-too-large",
            f"'{shown}' is {width:,} x {height:,} pixels ({width * height / 1e6:.0f} MP; "
            f"limit {MAX_PIXELS / 1e6:.0f} MP); save a smaller copy",
        )
    try:
        with strict_decoding(), Image.open(io.BytesIO(data)) as image:
            width, height = image.size
            if width * height > MAX_PIXELS:
                megapixels = width * height / 1e6
                raise Refused("pdf-image-too-large", f"'{shown}' has {megapixels:.0f} MP; save a smaller copy")
            image.verify()
    except Refused:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise Refused("pdf-image-too-large", f"'{shown}' has too many pixels; save a smaller copy") from None
    except Exception as exc:  # Pillow raises many kinds for a damaged file
        raise Refused("pdf-image-unreadable", f"'{shown}' is not a readable image ({type(exc).__name__})") from None
    try:
        return clean_evidence(data, shown)
    except CpdgenError as exc:
        raise Refused("pdf-image-unreadable", f"'{shown}': {exc.message}") from None


_SVG_BANNED = re.compile(rb"<!DOCTYPE|<!ENTITY", re.IGNORECASE)
_XLINK_HREF = "{http://www.w3.org/1999/xlink}href"


def check_svg(data: bytes, shown: str) -> None:
    """Refuse SVG that declares entities or expands (through nested ``<use>``) into too many shapes."""
    if _SVG_BANNED.search(data):
        raise Refused("pdf-image-unsafe", f"'{shown}' declares a DOCTYPE or entities, which the PDF does not allow")
    try:
        root = ElementTree.fromstring(data)  # noqa: S314 - no DOCTYPE or entity got past _SVG_BANNED
    except ElementTree.ParseError as exc:
        raise Refused("pdf-image-unreadable", f"'{shown}' is not valid SVG ({exc})") from None
    by_id = {element.get("id"): element for element in root.iter() if element.get("id")}
    costs: dict[int, int] = {}

    def cost(element: ElementTree.Element, depth: int) -> int:
        key = id(element)
        if key in costs:
            return costs[key]
        if depth > 200:
            raise Refused("pdf-image-unsafe", f"'{shown}' nests <use> too deeply")
        costs[key] = MAX_SVG_SHAPES + 1  # a <use> that reaches itself expands without end
        total = 1 + sum(cost(child, depth + 1) for child in element)
        if element.tag.rsplit("}", 1)[-1] == "use":
            target = (element.get("href") or element.get(_XLINK_HREF) or "").lstrip("#")
            if target in by_id:
                total += cost(by_id[target], depth + 1)
        total = min(total, MAX_SVG_SHAPES + 1)
        costs[key] = total
        return total

    if cost(root, 0) > MAX_SVG_SHAPES:
        raise Refused(
            "pdf-image-unsafe",
            f"'{shown}' expands to more than {MAX_SVG_SHAPES:,} shapes (nested <use>); it would take too long to draw",
        )

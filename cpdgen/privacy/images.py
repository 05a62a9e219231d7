"""Removing metadata (EXIF with GPS, camera and dates; XMP; IPTC; comments; text chunks) from images.

JPEG, PNG, WebP and GIF are cleaned at the byte level: the metadata segments are dropped and
the compressed pixel data is copied as it is, so pixels are exactly preserved and the same
input always gives the same bytes. A JPEG keeps only its orientation (in a minimal EXIF
block) so that a phone photo still shows the right way up. TIFF keeps its metadata in the
same structure as its pixels, so it is decoded and written again, losslessly, by Pillow.
Each result is decoded once more with Pillow before it is returned; anything that cannot
be cleaned and decoded raises CpdgenError, so it is never published.
"""

from __future__ import annotations

import io
import struct
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from cpdgen.problems import CpdgenError

if TYPE_CHECKING:
    from PIL import Image

# Images whose metadata (GPS, camera, dates) cpdgen cannot remove: never published.
UNCLEANABLE_IMAGE_SUFFIXES = (".heic", ".heif", ".avif", ".jxl", ".jp2", ".dng", ".cr2", ".nef", ".arw")
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".jpe", ".jfif", ".png", ".webp", ".gif", ".tif", ".tiff")
MAX_PIXELS = 80_000_000


class _Corrupt(Exception):
    """The bytes do not follow the format; turned into a CpdgenError with the file's kind."""


def sniff(data: bytes) -> str | None:
    """The image format the bytes hold, from their first bytes."""
    if data.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "gif"
    if data[:4] in (b"II*\x00", b"MM\x00*"):
        return "tiff"
    return None


def strip_metadata(data: bytes, suffix: str) -> bytes:
    """The cleaned image (see the module's docstring); CpdgenError when it cannot be cleaned."""
    with strict_decoding():
        return _strip_metadata(data, suffix)


def clean_evidence(data: bytes, name: str) -> bytes:
    """An evidence file as it may be published: an image (by its name or by its bytes) without its
    metadata, any other file as it is. The one way evidence reaches the site and the public PDF.

    Raises CpdgenError when an image cannot be cleaned, or is of a kind cpdgen cannot clean.
    """
    suffix = "." + name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if suffix in UNCLEANABLE_IMAGE_SUFFIXES:
        raise CpdgenError(f"cpdgen cannot remove the location and camera details of '{suffix}' images", "failed")
    if suffix in IMAGE_SUFFIXES:
        return strip_metadata(data, suffix)
    kind = sniff(data)
    if kind is not None:  # an image under another name: cleaned all the same
        return strip_metadata(data, "." + ("jpg" if kind == "jpeg" else "tif" if kind == "tiff" else kind))
    return data


def _strip_metadata(data: bytes, suffix: str) -> bytes:
    name = suffix.lower() if suffix.startswith(".") else "." + suffix.lower()
    if name not in IMAGE_SUFFIXES:
        raise CpdgenError(
            f"cpdgen cannot remove metadata from '{name}' images; use JPEG, PNG, WebP, GIF or TIFF", "failed"
        )
    kind = sniff(data)
    if kind is None:
        raise CpdgenError(
            f"this '{name}' file is not a JPEG, PNG, WebP, GIF or TIFF image, so it cannot be cleaned", "failed"
        )
    try:
        if kind == "jpeg":
            cleaned = _jpeg(data)
        elif kind == "png":
            cleaned = _png(data)
        elif kind == "webp":
            cleaned = _webp(data)
        elif kind == "gif":
            cleaned = _gif(data)
        else:
            cleaned = _tiff(data)
    except (_Corrupt, struct.error, IndexError) as exc:
        raise CpdgenError(
            f"the {kind.upper()} image is damaged ({str(exc) or 'truncated'}), so its metadata cannot be removed",
            "failed",
        ) from None
    _check_decodes(cleaned, kind)
    return cleaned


# --- JPEG ------------------------------------------------------------------------------

_JPEG_KEEP_APP = {0xE0, 0xE2, 0xEE}  # JFIF (rewritten), ICC profile, Adobe colour transform
# The segments that draw the picture: frame headers, tables, restart interval, scans. Anything
# else (comments, JPGn and reserved markers, which a writer may fill with any bytes) is dropped.
_JPEG_IMAGE = (set(range(0xC0, 0xD0)) - {0xC8}) | {0xDA, 0xDB, 0xDC, 0xDD, 0xDE, 0xDF}


def _jpeg(data: bytes) -> bytes:
    out = bytearray(b"\xff\xd8")
    orientation: int | None = None
    insert_at = 2
    i, n = 2, len(data)
    while True:
        if i >= n:
            raise _Corrupt("no end-of-image marker")
        if data[i] != 0xFF:
            raise _Corrupt(f"expected a marker at byte {i}")
        while i < n and data[i] == 0xFF:
            i += 1
        if i >= n:
            raise _Corrupt("truncated")
        marker = data[i]
        i += 1
        if marker == 0xD9:
            out += b"\xff\xd9"
            break  # anything after the end of the image (maker trailers, appended previews) is dropped
        if marker == 0x01 or 0xD0 <= marker <= 0xD7:
            out += bytes((0xFF, marker))
            continue
        if i + 2 > n:
            raise _Corrupt("truncated")
        length = int.from_bytes(data[i : i + 2], "big")
        if length < 2 or i + length > n:
            raise _Corrupt(f"segment at byte {i} runs past the end")
        payload = data[i + 2 : i + length]
        segment = bytes((0xFF, marker)) + data[i : i + length]
        i += length
        if marker == 0xE1 and payload.startswith(b"Exif\x00\x00"):
            orientation = orientation or _exif_orientation(payload[6:])
            continue
        if 0xE0 <= marker <= 0xEF:
            if marker not in _JPEG_KEEP_APP:
                continue
            if marker == 0xE0:
                if not payload.startswith(b"JFIF\x00") or len(payload) < 14:
                    continue  # JFXX thumbnails and others
                segment = b"\xff\xe0\x00\x10" + payload[:12] + b"\x00\x00"  # JFIF without its thumbnail
                out += segment
                insert_at = len(out)
                continue
            if marker == 0xE2 and not payload.startswith(b"ICC_PROFILE\x00"):
                continue  # multi-picture (MPF) previews, FlashPix
            if marker == 0xEE and not payload.startswith(b"Adobe"):
                continue
            out += segment
            continue
        if marker not in _JPEG_IMAGE:
            continue
        out += segment
        if marker == 0xDA:  # start of scan: copy the entropy-coded data up to the next marker
            j = i
            while True:
                k = data.find(b"\xff", j)
                if k < 0 or k + 1 >= n:
                    raise _Corrupt("the image data is truncated")
                following = data[k + 1]
                if following == 0x00 or 0xD0 <= following <= 0xD7:
                    j = k + 2
                    continue
                break
            out += data[i:k]
            i = k
    if orientation and orientation != 1:
        exif = (
            b"Exif\x00\x00MM\x00\x2a\x00\x00\x00\x08\x00\x01"
            + struct.pack(">HHIHH", 0x0112, 3, 1, orientation, 0)
            + b"\x00\x00\x00\x00"
        )
        out[insert_at:insert_at] = b"\xff\xe1" + struct.pack(">H", len(exif) + 2) + exif
    return bytes(out)


def _exif_orientation(tiff: bytes) -> int | None:
    """The orientation tag (1-8) of IFD0 in an EXIF block, if it has a sensible one."""
    if tiff[:4] not in (b"II*\x00", b"MM\x00*"):
        return None
    order = "<" if tiff[:2] == b"II" else ">"
    (ifd,) = struct.unpack_from(order + "I", tiff, 4)
    if ifd + 2 > len(tiff):
        return None
    (count,) = struct.unpack_from(order + "H", tiff, ifd)
    for index in range(min(count, 500)):
        at = ifd + 2 + 12 * index
        if at + 12 > len(tiff):
            return None
        tag, kind = struct.unpack_from(order + "HH", tiff, at)
        if tag == 0x0112 and kind == 3:
            (value,) = struct.unpack_from(order + "H", tiff, at + 8)
            return value if 1 <= value <= 8 else None
    return None


# --- PNG -------------------------------------------------------------------------------

_PNG_KEEP = {
    b"IHDR", b"PLTE", b"IDAT", b"IEND", b"tRNS", b"gAMA", b"cHRM", b"sRGB", b"iCCP", b"sBIT", b"bKGD",
    b"pHYs", b"acTL", b"fcTL", b"fdAT", b"cICP", b"mDCv", b"cLLi",
}  # fmt: skip


def _png(data: bytes) -> bytes:
    out = bytearray(data[:8])
    i, n = 8, len(data)
    while True:
        if i + 8 > n:
            raise _Corrupt("no IEND chunk")
        (length,) = struct.unpack_from(">I", data, i)
        kind = data[i + 4 : i + 8]
        end = i + 12 + length
        if end > n:
            raise _Corrupt(f"chunk {kind!r} runs past the end")
        if kind in _PNG_KEEP:
            out += data[i:end]
        elif kind[:1].isupper():
            raise _Corrupt(f"unknown critical chunk {kind.decode('latin-1')!r}")
        i = end  # text (tEXt, zTXt, iTXt: XMP too), eXIf, tIME and private chunks are dropped
        if kind == b"IEND":
            return bytes(out)


# --- WebP ------------------------------------------------------------------------------

_WEBP_KEEP = {b"VP8 ", b"VP8L", b"VP8X", b"ALPH", b"ANIM", b"ANMF", b"ICCP"}


def _webp(data: bytes) -> bytes:
    (size,) = struct.unpack_from("<I", data, 4)
    n = min(len(data), 8 + size)
    chunks = bytearray()
    i = 12
    while i + 8 <= n:
        kind = data[i : i + 4]
        (length,) = struct.unpack_from("<I", data, i + 4)
        end = i + 8 + length + (length & 1)
        if i + 8 + length > n:
            raise _Corrupt(f"chunk {kind!r} runs past the end")
        chunk = bytearray(data[i : min(end, n)])
        if len(chunk) < 8 + length + (length & 1):
            chunk += b"\x00"
        if kind == b"VP8X" and length >= 1:
            chunk[8] &= ~0x0C & 0xFF  # no EXIF, no XMP
        if kind in _WEBP_KEEP:
            chunks += chunk
        i = end
    if not chunks:
        raise _Corrupt("no image data")
    return b"RIFF" + struct.pack("<I", 4 + len(chunks)) + b"WEBP" + bytes(chunks)


# --- GIF -------------------------------------------------------------------------------


def _gif_blocks(data: bytes, i: int) -> int:
    """The offset just after the data sub-blocks starting at ``i``."""
    while True:
        size = data[i]
        i += 1
        if size == 0:
            return i
        i += size
        if i > len(data):
            raise _Corrupt("a data block runs past the end")


def _gif(data: bytes) -> bytes:
    packed = data[10]
    i = 13 + (3 * 2 ** ((packed & 7) + 1) if packed & 0x80 else 0)
    out = bytearray(data[:i])
    while True:
        if i >= len(data):
            raise _Corrupt("no trailer")
        block = data[i]
        if block == 0x3B:
            out += b"\x3b"
            return bytes(out)
        if block == 0x21:
            label = data[i + 1]
            end = _gif_blocks(data, i + 2)
            if label == 0xF9 or label == 0x01:  # graphic control (timing, transparency); plain text is drawn
                out += data[i:end]
            elif label == 0xFF and data[i + 3 : i + 14] in (b"NETSCAPE2.0", b"ANIMEXTS1.0"):
                out += data[i:end]  # looping
            i = end  # comments, XMP and other application blocks are dropped
        elif block == 0x2C:
            packed = data[i + 9]
            start = i + 10 + (3 * 2 ** ((packed & 7) + 1) if packed & 0x80 else 0)
            end = _gif_blocks(data, start + 1)
            out += data[i:end]
            i = end
        else:
            raise _Corrupt(f"unknown block 0x{block:02x}")


# --- TIFF (and the final check) --------------------------------------------------------


@contextmanager
def strict_decoding() -> Iterator[None]:
    """Decode images strictly: damaged or cut-off image data is an error, never half a picture.

    WeasyPrint, once imported, tells Pillow to accept truncated images for the whole
    process; for the time of our own checks that must not hold.
    """
    from PIL import Image, ImageFile

    previous = ImageFile.LOAD_TRUNCATED_IMAGES
    ImageFile.LOAD_TRUNCATED_IMAGES = False
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            yield
    finally:
        ImageFile.LOAD_TRUNCATED_IMAGES = previous


def _open(data: bytes) -> Image.Image:
    from PIL import Image

    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        image = Image.open(io.BytesIO(data))
        if image.width * image.height > MAX_PIXELS:
            raise CpdgenError(f"the image is {image.width}×{image.height} pixels, too large to clean safely", "failed")
        return image


def _tiff(data: bytes) -> bytes:
    from PIL import Image, ImageOps, ImageSequence, UnidentifiedImageError

    try:
        source = _open(data)
        frames = []
        for frame in ImageSequence.Iterator(source):
            upright = ImageOps.exif_transpose(frame)
            clean = Image.frombytes(upright.mode, upright.size, upright.tobytes())
            palette = upright.getpalette() if upright.mode in ("P", "PA") else None
            if palette is not None:
                clean.putpalette(palette)
            frames.append((clean, frame.info.get("icc_profile")))
    except (OSError, ValueError, SyntaxError, UnidentifiedImageError, Image.DecompressionBombError) as exc:
        raise _Corrupt(str(exc) or type(exc).__name__) from None
    out = io.BytesIO()
    first, icc = frames[0]
    options: dict = {"compression": "tiff_deflate"}
    if icc:
        options["icc_profile"] = icc
    if len(frames) > 1:
        options["save_all"] = True
        options["append_images"] = [frame for frame, _ in frames[1:]]
    first.save(out, format="TIFF", **options)
    return out.getvalue()


def _check_decodes(data: bytes, kind: str) -> None:
    """Decode the cleaned image fully, so a file that would not display is refused here."""
    from PIL import Image, UnidentifiedImageError

    try:
        image = _open(data)
        image.load()
    except (OSError, ValueError, SyntaxError, UnidentifiedImageError, Image.DecompressionBombError,
            Image.DecompressionBombWarning) as exc:  # fmt: skip
        raise CpdgenError(
            f"the {kind.upper()} image cannot be read after cleaning ({exc}), so it is not published", "failed"
        ) from None

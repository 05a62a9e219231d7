"""Images copied into the site lose their metadata (GPS, camera, dates, XMP, comments), keep their pixels,
and come out byte-identical every time; an image that cannot be cleaned is refused."""

from __future__ import annotations

import io

import pytest
from PIL import Image, PngImagePlugin

from cpdgen.privacy.images import strip_metadata as strip_image_metadata
from cpdgen.problems import CpdgenError

SECRETS = (b"SECRET", b"CameraModelX", b"2024:03:21", b"xmpmeta")


def picture(mode: str = "RGB", size=(64, 48)) -> Image.Image:
    image = Image.new("RGB", size)
    image.putdata([(x * 4 % 256, y * 5 % 256, (x * y) % 256) for y in range(size[1]) for x in range(size[0])])
    return image.convert(mode)


def exif_with_gps(orientation: int = 1) -> bytes:
    exif = Image.Exif()
    exif[0x010E] = "SECRET-EXIF description"  # ImageDescription
    exif[0x0110] = "CameraModelX"  # Model
    exif[0x0132] = "2024:03:21 10:00:00"  # DateTime
    exif[0x0112] = orientation
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2], gps[3], gps[4] = "N", (53.0, 48.0, 0.0), "W", (1.0, 32.0, 0.0)
    return exif.tobytes()


def saved(image: Image.Image, fmt: str, **options) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **options)
    return out.getvalue()


def pixels(data: bytes) -> tuple:
    image = Image.open(io.BytesIO(data))
    return image.size, image.convert("RGBA").tobytes()


XMP = b'<x:xmpmeta xmlns:x="adobe:ns:meta/">SECRET-XMP</x:xmpmeta>'


def jpeg_with_everything(orientation: int = 1) -> bytes:
    data = saved(picture(), "JPEG", exif=exif_with_gps(orientation), comment=b"SECRET comment", xmp=XMP, quality=90)
    assert b"SECRET-EXIF" in data and b"SECRET comment" in data and b"SECRET-XMP" in data
    assert Image.open(io.BytesIO(data)).getexif().get_ifd(0x8825)  # the GPS block is really there
    return data


def png_with_everything() -> bytes:
    info = PngImagePlugin.PngInfo()
    info.add_text("Author", "SECRET author")
    info.add_itxt("XML:com.adobe.xmp", XMP.decode())
    info.add(b"tIME", b"\x07\xe8\x03\x15\x0a\x00\x00")
    return saved(picture("RGBA"), "PNG", pnginfo=info, exif=exif_with_gps())


CASES = {
    ".jpg": jpeg_with_everything,
    ".png": png_with_everything,
    ".webp": lambda: saved(picture(), "WEBP", lossless=True, exif=exif_with_gps(), xmp=XMP),
    ".gif": lambda: saved(picture("P"), "GIF", comment=b"SECRET comment"),
    ".tiff": lambda: saved(picture(), "TIFF", exif=exif_with_gps(), description="SECRET description"),
}


@pytest.mark.parametrize("suffix", CASES)
def test_metadata_is_removed_and_pixels_kept(suffix):
    original = CASES[suffix]()
    assert any(secret in original for secret in SECRETS)
    cleaned = strip_image_metadata(original, suffix)
    for secret in SECRETS:
        assert secret not in cleaned
    image = Image.open(io.BytesIO(cleaned))
    assert not image.getexif().get_ifd(0x8825)
    assert {0x010E, 0x0110, 0x0132}.isdisjoint(image.getexif())
    assert not {"comment", "xmp", "XML:com.adobe.xmp", "Author"} & set(image.info)
    assert pixels(cleaned) == pixels(original)


@pytest.mark.parametrize("suffix", CASES)
def test_cleaning_is_deterministic_and_idempotent(suffix):
    original = CASES[suffix]()
    cleaned = strip_image_metadata(original, suffix)
    assert strip_image_metadata(original, suffix) == cleaned
    assert strip_image_metadata(cleaned, suffix) == cleaned


def test_a_jpeg_keeps_its_compressed_data_and_only_its_orientation():
    original = jpeg_with_everything(orientation=6)
    cleaned = strip_image_metadata(original, ".JPG")
    assert dict(Image.open(io.BytesIO(cleaned)).getexif()) == {0x0112: 6}
    scan = original.index(b"\xff\xda")
    assert cleaned.endswith(original[scan:])  # the image data is copied byte for byte
    assert len(cleaned) < len(original)


def test_a_jpeg_loses_what_follows_its_end():
    original = jpeg_with_everything() + b"SECRET trailer appended by a phone"
    cleaned = strip_image_metadata(original, ".jpeg")
    assert cleaned.endswith(b"\xff\xd9") and b"SECRET" not in cleaned


@pytest.mark.parametrize("marker", [0xF0, 0xF7, 0xFD, 0xEB, 0xFE])
def test_a_jpeg_loses_segments_that_do_not_draw_the_picture(marker):
    original = jpeg_with_everything()
    segment = bytes((0xFF, marker)) + (2 + 24).to_bytes(2, "big") + b"SECRET in a spare segment"[:24]
    tampered = original[:2] + segment + original[2:]
    cleaned = strip_image_metadata(tampered, ".jpg")
    assert b"SECRET" not in cleaned and pixels(cleaned) == pixels(original)


@pytest.mark.parametrize(
    "data, suffix, message",
    [
        (jpeg_with_everything()[:400], ".jpg", "damaged"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\x0dIHDR" + b"\x00" * 5, ".png", "damaged"),
        (b"not an image at all", ".png", "is not a JPEG, PNG, WebP, GIF or TIFF image"),
        (b"BM" + b"\x00" * 60, ".bmp", "cannot remove metadata from '.bmp' images"),
        (saved(picture(), "PNG"), ".svg", "cannot remove metadata from '.svg' images"),
    ],
)
def test_an_image_that_cannot_be_cleaned_is_refused(data, suffix, message):
    with pytest.raises(CpdgenError) as raised:
        strip_image_metadata(data, suffix)
    assert message in raised.value.message


def test_a_png_with_damaged_image_data_is_refused():
    original = saved(picture(), "PNG")
    start = original.index(b"IDAT") + 4
    broken = original[:start] + bytes(b ^ 0xFF for b in original[start : start + 40]) + original[start + 40 :]
    with pytest.raises(CpdgenError):
        strip_image_metadata(broken, ".png")


def test_the_example_portfolio_images_can_be_cleaned():
    from pathlib import Path

    content = Path(__file__).resolve().parents[1] / "content"
    images = [p for p in content.rglob("*") if p.suffix.lower() in (".png", ".jpg", ".jpeg", ".webp", ".gif")]
    assert images
    for path in images:
        cleaned = strip_image_metadata(path.read_bytes(), path.suffix)
        assert pixels(cleaned) == pixels(path.read_bytes())


def test_damaged_data_is_refused_even_after_weasyprint_relaxed_pillow():
    import weasyprint  # noqa: F401 - importing it sets ImageFile.LOAD_TRUNCATED_IMAGES for the process
    from PIL import ImageFile

    ImageFile.LOAD_TRUNCATED_IMAGES = True
    original = saved(picture(), "PNG")
    start = original.index(b"IDAT") + 4
    broken = original[:start] + bytes(b ^ 0xFF for b in original[start : start + 40]) + original[start + 40 :]
    with pytest.raises(CpdgenError):
        strip_image_metadata(broken, ".png")
    assert ImageFile.LOAD_TRUNCATED_IMAGES is True  # left as it was found

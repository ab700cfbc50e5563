"""Encoding: bring an image into a mode the output format can hold, then save it.

Pillow refuses to write many mode and format pairs (``cannot write mode RGBA
as JPEG``) and clips 16-bit values when converting naively. This module does
those conversions the way users expect: alpha is blended onto a background
colour, and 16-bit samples are scaled to 8 bits rather than clipped.
"""

from __future__ import annotations

from typing import BinaryIO

from PIL import Image

from imgq.ops import has_transparency

SIXTEEN_BIT_MODES = {"I;16", "I;16B", "I;16L", "I;16N", "I"}

# Modes each format writes as they are; other modes are converted first.
_NATIVE_MODES = {
    "JPEG": {"L", "RGB", "CMYK"},
    "PNG": {"1", "L", "LA", "P", "RGB", "RGBA", "I;16", "I"},
    "WEBP": {"RGB", "RGBA"},
    "GIF": {"1", "L", "P", "RGB", "RGBA"},
    "BMP": {"1", "L", "P", "RGB", "RGBA"},
    "TIFF": {"1", "L", "LA", "P", "RGB", "RGBA", "CMYK", "I;16", "I;16B", "I", "F", "YCbCr", "LAB"},
    "AVIF": {"RGB", "RGBA"},
}

# Formats that hold an alpha band, so transparency is kept instead of flattened.
_ALPHA_FORMATS = {"PNG", "WEBP", "GIF", "TIFF", "AVIF", "BMP", "ICO", "TGA", "QOI", "JPEG2000"}

# Formats that store a transparent colour key for images without an alpha band.
_COLOUR_KEY_FORMATS = {"PNG", "GIF"}

DEFAULT_QUALITY = {"JPEG": 90, "WEBP": 90, "AVIF": 75}


def to_eight_bit(image: Image.Image) -> Image.Image:
    """Scale 16-bit (and float) grey samples to 8 bits: v / 257, never clipped."""
    if image.mode == "F":
        low, high = image.getextrema()
        scale = 255.0 if high <= 1.0 else 1 / 257
        integer = image.point(lambda value: value * scale + 0.5).convert("I")
    else:
        integer = image.convert("I")
        integer = integer.point(lambda value: value * (1 / 257) + 0.5)
    return integer.convert("L")


def flatten(image: Image.Image, background: tuple[int, int, int]) -> Image.Image:
    """Blend an image with alpha or a transparent colour key onto ``background``."""
    grey = Image.getmodebase(image.mode) == "L" and image.mode != "P"
    rgba = image.convert("LA" if grey else "RGBA")
    if grey:
        level = round(0.299 * background[0] + 0.587 * background[1] + 0.114 * background[2])
        base = Image.new("L", image.size, level)
    else:
        base = Image.new("RGB", image.size, tuple(background))
    base.paste(rgba.convert(base.mode), mask=rgba.getchannel("A"))
    base.info = dict(image.info)
    base.info.pop("transparency", None)
    return base


def prepare_for_format(image: Image.Image, fmt: str, background) -> Image.Image:
    """Return ``image`` converted to a mode that ``fmt`` can write."""
    native = _NATIVE_MODES.get(fmt)

    if image.mode in SIXTEEN_BIT_MODES | {"F"} and (native is None or image.mode not in native):
        image = to_eight_bit(image)
    if image.mode == "1" and native is not None and "1" not in native:
        image = image.convert("L")

    if has_transparency(image) and fmt not in _ALPHA_FORMATS:
        return flatten(image, background)
    if "transparency" in image.info and image.mode not in {"P", "1"} and fmt not in _COLOUR_KEY_FORMATS:
        # A transparent colour key (PNG tRNS on an RGB or L image) becomes an
        # alpha band, which WebP, AVIF and TIFF can hold.
        image = image.convert("LA" if image.mode == "L" and "LA" in (native or ()) else "RGBA")
    if native is None or image.mode in native:
        return image

    return image.convert(_nearest_mode(image, native))


def _nearest_mode(image: Image.Image, native: set[str]) -> str:
    grey = Image.getmodebase(image.mode) == "L" and image.mode != "P"
    alpha = has_transparency(image)
    for candidate in (
        ("LA" if alpha else "L") if grey else None,
        "RGBA" if alpha else "RGB",
        "RGB",
    ):
        if candidate in native:
            return candidate
    return "RGB"


def save_options(fmt: str, quality: int | None) -> dict:
    """Return the encoder keyword arguments imgq passes to ``Image.save``."""
    options: dict = {}
    if fmt in DEFAULT_QUALITY:
        options["quality"] = quality if quality is not None else DEFAULT_QUALITY[fmt]
    elif fmt == "PNG" and quality is not None:
        # As in ImageMagick, the tens digit of the PNG "quality" is the zlib level.
        options["compress_level"] = min(9, quality // 10)
    if fmt == "TIFF":
        options["compression"] = "tiff_adobe_deflate"
    return options


def encode(image: Image.Image, fmt: str, stream: BinaryIO, options: dict) -> None:
    """Write ``image`` to ``stream`` as ``fmt`` with the given ``save()`` options."""
    image.save(stream, format=fmt, **options)

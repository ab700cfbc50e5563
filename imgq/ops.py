"""Image operations: pure functions that take an image and return a new one.

Angles follow ImageMagick and jpegtran: positive degrees turn the image
clockwise. Multiples of 90 degrees go through ``Image.transpose``, so they
are pixel-exact and lose nothing.
"""

from __future__ import annotations

from PIL import Image

from imgq.geometry import Geometry

ORIENTATION_TAG = 0x0112

# Modes whose pixels carry an alpha band.
ALPHA_MODES = {"RGBA", "LA", "PA", "RGBa", "La"}

_QUARTER_TURNS = {
    90: Image.Transpose.ROTATE_270,
    180: Image.Transpose.ROTATE_180,
    270: Image.Transpose.ROTATE_90,
}


class OperationError(Exception):
    """An operation cannot be applied to this image (a crop outside it, say)."""


def has_transparency(image: Image.Image) -> bool:
    """Return True if ``image`` has an alpha band or a transparent colour key."""
    return image.mode in ALPHA_MODES or "transparency" in image.info


def to_smooth_mode(image: Image.Image) -> Image.Image:
    """Convert palette and bilevel images to a mode that resamples smoothly.

    Pillow resizes and rotates ``P`` and ``1`` images with nearest-neighbour
    sampling only, which turns photos into noise.
    """
    if image.mode == "P" or "transparency" in image.info:
        return image.convert("RGBA" if has_transparency(image) else "RGB")
    if image.mode == "1":
        return image.convert("L")
    return image


def rotate(image: Image.Image, degrees: float, fill=None) -> Image.Image:
    """Rotate clockwise by ``degrees``; other than quarter turns expand the canvas.

    ``fill`` colours the corners that an arbitrary angle uncovers. It defaults
    to transparent for images with alpha and white for the rest.
    """
    angle = degrees % 360
    if angle == 0:
        return image
    if angle in _QUARTER_TURNS:
        return image.transpose(_QUARTER_TURNS[angle])

    smooth = to_smooth_mode(image)
    if fill is None:
        fill = (255, 255, 255, 0) if has_transparency(smooth) else (255, 255, 255)
    fill = _colour_for_mode(fill, smooth.mode)
    return smooth.rotate(-angle, resample=Image.Resampling.BICUBIC, expand=True, fillcolor=fill)


def flip(image: Image.Image) -> Image.Image:
    """Mirror top to bottom, as ImageMagick's ``-flip``."""
    return image.transpose(Image.Transpose.FLIP_TOP_BOTTOM)


def flop(image: Image.Image) -> Image.Image:
    """Mirror left to right, as ImageMagick's ``-flop``."""
    return image.transpose(Image.Transpose.FLIP_LEFT_RIGHT)


def exif_orientation(image: Image.Image) -> int:
    """Return the EXIF Orientation of ``image``, 1 when absent or invalid."""
    try:
        value = image.getexif().get(ORIENTATION_TAG, 1)
    except (OSError, ValueError, TypeError, SyntaxError):
        return 1
    return value if isinstance(value, int) and 1 <= value <= 8 else 1


def auto_orient(image: Image.Image) -> Image.Image:
    """Turn the pixels upright by the EXIF Orientation tag (all 8 values).

    The returned image carries EXIF without the Orientation tag, so that no
    viewer applies it a second time.
    """
    if exif_orientation(image) == 1:
        return image
    # Imported on first use: most images need no turn, and a one-image run
    # starts faster without this module.
    from PIL import ImageOps

    return ImageOps.exif_transpose(image)


def resize(image: Image.Image, geometry: Geometry) -> Image.Image:
    """Resize to the size ``geometry`` gives, with Lanczos resampling."""
    size = geometry.target_size(image.size)
    if size == image.size:
        return image

    smooth = to_smooth_mode(image)
    # reducing_gap lets Pillow shrink by whole factors first and then resample,
    # which is several times faster on large downscales and visually the same.
    return smooth.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0)


def grayscale(image: Image.Image) -> Image.Image:
    """Convert to grey, keeping alpha (``RGBA`` to ``LA``) and 16-bit depth."""
    if image.mode in {"1", "L", "LA", "I", "I;16", "I;16B", "I;16L", "F"}:
        return image
    smooth = to_smooth_mode(image)
    if has_transparency(smooth):
        return smooth.convert("RGBA").convert("LA")
    return smooth.convert("L")


def _colour_for_mode(colour, mode: str):
    """Express an RGB or RGBA tuple in the band layout of ``mode``."""
    red, green, blue, *rest = colour
    alpha = rest[0] if rest else 255
    if mode in {"L", "I", "F", "I;16"}:
        return round(0.299 * red + 0.587 * green + 0.114 * blue)
    if mode == "LA":
        return (round(0.299 * red + 0.587 * green + 0.114 * blue), alpha)
    if mode == "RGBA":
        return (red, green, blue, alpha)
    if mode == "CMYK":
        return (255 - red, 255 - green, 255 - blue, 0)
    return (red, green, blue)

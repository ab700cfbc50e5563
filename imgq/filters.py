"""Filters: unsharp-mask sharpening and Gaussian blur, with their parameters."""

from __future__ import annotations

from dataclasses import dataclass

from PIL import Image, ImageFilter

from imgq.encode import SIXTEEN_BIT_MODES, to_eight_bit
from imgq.ops import to_smooth_mode

# Modes Pillow's convolution filters accept; others are brought to one first.
_FILTER_MODES = {"L", "LA", "RGB", "RGBA", "CMYK"}


@dataclass(frozen=True)
class Sharpen:
    """Unsharp mask settings: radius in pixels, strength in percent, threshold in levels."""

    radius: float = 2.0
    percent: int = 150
    threshold: int = 3

    def __str__(self) -> str:
        return f"{self.radius:g},{self.percent},{self.threshold}"


def parse_sharpen(text: str) -> Sharpen:
    """Parse ``RADIUS[,PERCENT[,THRESHOLD]]``, such as ``2,150,3``; raise ValueError."""
    parts = [part.strip() for part in text.split(",")] if text.strip() else []
    if len(parts) > 3:
        raise ValueError(f"invalid sharpen {text!r}: expected RADIUS[,PERCENT[,THRESHOLD]], such as 2,150,3")
    defaults = Sharpen()
    try:
        radius = float(parts[0]) if parts else defaults.radius
        percent = int(parts[1]) if len(parts) > 1 else defaults.percent
        threshold = int(parts[2]) if len(parts) > 2 else defaults.threshold
    except ValueError:
        raise ValueError(f"invalid sharpen {text!r}: expected numbers, such as 2,150,3") from None
    if not (0 < radius <= 100) or percent < 0 or not (0 <= threshold <= 255):
        raise ValueError(f"invalid sharpen {text!r}: radius 0-100, percent 0 or more, threshold 0-255")
    return Sharpen(radius, percent, threshold)


def parse_radius(text: str) -> float:
    """Parse a blur radius in pixels, above 0 and at most 100; raise ValueError."""
    try:
        radius = float(text)
    except ValueError:
        raise ValueError(f"invalid blur radius {text!r}: expected pixels, such as 2.5") from None
    if not 0 < radius <= 100:
        raise ValueError(f"invalid blur radius {text!r}: expected a number above 0 and at most 100")
    return radius


def sharpen(image: Image.Image, settings: Sharpen) -> Image.Image:
    """Sharpen with an unsharp mask."""
    mask = ImageFilter.UnsharpMask(settings.radius, settings.percent, settings.threshold)
    return _filterable(image).filter(mask)


def blur(image: Image.Image, radius: float) -> Image.Image:
    """Blur with a Gaussian of ``radius`` pixels (the standard deviation)."""
    return _filterable(image).filter(ImageFilter.GaussianBlur(radius))


def _filterable(image: Image.Image) -> Image.Image:
    image = to_smooth_mode(image)
    if image.mode in _FILTER_MODES:
        return image
    if image.mode in SIXTEEN_BIT_MODES | {"F"}:
        # NOTE: Pillow's filters take 8-bit bands only, so 16-bit grey is
        # scaled to 8 bits (v/257) before filtering and stays 8-bit.
        return to_eight_bit(image)
    return image.convert("RGB")

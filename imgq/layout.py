"""Layout operations: crop, extent, pad, fit into a box, and watermark, placed by gravity.

Gravity names follow ImageMagick (``north-west`` ... ``south-east`` and
``center``). As in ImageMagick, an offset moves the box away from its
gravity edge: ``+10+0`` with ``east`` gravity moves it 10 pixels left.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from PIL import Image

from imgq.ops import OperationError, has_transparency, to_smooth_mode

GRAVITIES = {
    "north-west": (0.0, 0.0),
    "north": (0.5, 0.0),
    "north-east": (1.0, 0.0),
    "west": (0.0, 0.5),
    "center": (0.5, 0.5),
    "east": (1.0, 0.5),
    "south-west": (0.0, 1.0),
    "south": (0.5, 1.0),
    "south-east": (1.0, 1.0),
}

_DEEP_GREY_MODES = {"I;16", "I;16B", "I;16L", "I", "F"}

_BOX_RE = re.compile(r"^(?P<width>\d+)x(?P<height>\d+)(?:(?P<x>[+-]\d+)(?P<y>[+-]\d+))?$")


def parse_gravity(text: str) -> str:
    """Parse a gravity such as ``SouthEast``, ``south-east`` or ``centre``; raise ValueError."""
    key = re.sub(r"[\s_-]", "", text.strip().lower()).replace("centre", "center")
    for name in GRAVITIES:
        if name.replace("-", "") == key:
            return name
    raise ValueError(f"invalid gravity {text!r}: choose one of {', '.join(GRAVITIES)}")


@dataclass(frozen=True)
class Box:
    """A ``WxH`` size with an optional ``+X+Y`` offset, as in ImageMagick's crop geometry."""

    width: int
    height: int
    x: int | None = None
    y: int | None = None

    def __str__(self) -> str:
        offset = "" if self.x is None else f"{self.x:+d}{self.y:+d}"
        return f"{self.width}x{self.height}{offset}"

    @property
    def has_offset(self) -> bool:
        """Return True if the box was given with ``+X+Y``."""
        return self.x is not None


def parse_box(text: str, offset_allowed: bool = True) -> Box:
    """Parse ``WxH`` or ``WxH+X+Y``; raise ValueError."""
    match = _BOX_RE.match(text.strip())
    if not match or (match["x"] is not None and not offset_allowed):
        accepted = "WxH or WxH+X+Y" if offset_allowed else "WxH"
        raise ValueError(f"invalid box {text!r}: expected {accepted}, such as 800x600")
    width, height = int(match["width"]), int(match["height"])
    if width == 0 or height == 0:
        raise ValueError(f"invalid box {text!r}: width and height must be above 0")
    if match["x"] is None:
        return Box(width, height)
    return Box(width, height, int(match["x"]), int(match["y"]))


def place(gravity: str, outer: tuple[int, int], inner: tuple[int, int], offset=(0, 0)) -> tuple[int, int]:
    """Return the top-left corner of a box of size ``inner`` placed in ``outer`` by gravity."""
    fx, fy = GRAVITIES[gravity]
    dx = -offset[0] if fx == 1.0 else offset[0]
    dy = -offset[1] if fy == 1.0 else offset[1]
    return round((outer[0] - inner[0]) * fx) + dx, round((outer[1] - inner[1]) * fy) + dy


def crop(image: Image.Image, box: Box, gravity: str | None = None) -> Image.Image:
    """Cut ``box`` out of ``image``; the part of the box outside the image is dropped.

    Without a gravity, a box with an offset is placed from the top-left corner
    (as ImageMagick's ``-crop``), and a box without one is centred.
    """
    gravity = gravity or ("north-west" if box.has_offset else "center")
    left, top = place(gravity, image.size, (box.width, box.height), (box.x or 0, box.y or 0))
    right, bottom = left + box.width, top + box.height
    left, top = max(0, left), max(0, top)
    right, bottom = min(image.width, right), min(image.height, bottom)
    if right <= left or bottom <= top:
        raise OperationError(f"crop {box} lies outside the {image.width}x{image.height} image")
    return image.crop((left, top, right, bottom))


def extent(image: Image.Image, box: Box, gravity: str | None = None, fill=None) -> Image.Image:
    """Place ``image`` on a canvas of exactly ``box``'s size, cropping what does not fit."""
    gravity = gravity or "center"
    canvas = _canvas(image, (box.width, box.height), fill)
    left, top = place(gravity, canvas.size, image.size, (box.x or 0, box.y or 0))
    canvas.paste(_matching(image, canvas.mode), (left, top))
    return canvas


def pad(image: Image.Image, box: Box, gravity: str | None = None, fill=None) -> Image.Image:
    """Place ``image`` on a canvas at least ``box``'s size; never crop."""
    width, height = max(box.width, image.width), max(box.height, image.height)
    return extent(image, Box(width, height), gravity, fill)


def fit(image: Image.Image, box: Box, gravity: str | None = None, fill=None, resize=None) -> Image.Image:
    """Scale ``image`` to fit inside ``box``, then letterbox it to exactly ``box``'s size."""
    scale = min(box.width / image.width, box.height / image.height)
    size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
    if size != image.size:
        image = resize(image, size) if resize else to_smooth_mode(image).resize(size, Image.Resampling.LANCZOS)
    return extent(image, Box(box.width, box.height), gravity, fill)


@dataclass(frozen=True)
class Watermark:
    """An overlay image and how to place it: gravity, opacity 0-1 and margin in pixels."""

    path: str
    gravity: str = "south-east"
    opacity: float = 0.5
    margin: int = 10

    def __str__(self) -> str:
        return f"{self.path},gravity={self.gravity},opacity={self.opacity:g},margin={self.margin}"


def parse_watermark(text: str) -> Watermark:
    """Parse ``PATH[,gravity=G][,opacity=O][,margin=M]``; raise ValueError."""
    path, *settings = text.split(",")
    if not path:
        raise ValueError("watermark needs an image path, for example watermark=logo.png,opacity=0.4")
    values = {}
    for setting in settings:
        key, _, value = setting.partition("=")
        values[key.strip()] = value.strip()
    unknown = set(values) - {"gravity", "opacity", "margin"}
    if unknown:
        raise ValueError(f"invalid watermark setting {', '.join(sorted(unknown))!r}: use gravity, opacity or margin")

    watermark = Watermark(path)
    try:
        opacity = float(values.get("opacity", watermark.opacity))
        margin = int(values.get("margin", watermark.margin))
    except ValueError:
        raise ValueError(f"invalid watermark {text!r}: opacity is 0-1 and margin a whole number of pixels") from None
    if not 0.0 <= opacity <= 1.0 or margin < 0:
        raise ValueError(f"invalid watermark {text!r}: opacity must be 0-1 and margin 0 or more")
    gravity = parse_gravity(values["gravity"]) if "gravity" in values else watermark.gravity
    _load_overlay(path)
    return Watermark(path, gravity, opacity, margin)


def watermark(image: Image.Image, mark: Watermark) -> Image.Image:
    """Blend the overlay onto ``image`` at the mark's gravity, opacity and margin."""
    overlay = _load_overlay(mark.path)
    if mark.opacity < 1.0:
        alpha = overlay.getchannel("A").point(lambda value: round(value * mark.opacity))
        overlay = overlay.copy()
        overlay.putalpha(alpha)

    base = to_smooth_mode(image)
    alpha = has_transparency(base)
    result = base.convert("RGBA")
    left, top = place(mark.gravity, result.size, overlay.size, (mark.margin, mark.margin))
    layer = Image.new("RGBA", result.size, (0, 0, 0, 0))
    layer.paste(overlay, (left, top))
    result = Image.alpha_composite(result, layer)
    result.info = dict(image.info)
    if alpha:
        return result
    return result.convert("L" if base.mode == "L" else "RGB")


@functools.lru_cache(maxsize=4)
def _load_overlay(path: str) -> Image.Image:
    try:
        with Image.open(path) as overlay:
            return overlay.convert("RGBA")
    except (OSError, ValueError) as exc:
        raise ValueError(f"cannot read watermark image {path!r}: {exc}") from None


def _canvas(image: Image.Image, size: tuple[int, int], fill) -> Image.Image:
    base = to_smooth_mode(image)
    if base.mode in _DEEP_GREY_MODES:
        # 16-bit and float grey stay deep: the fill's grey level is scaled up.
        level = _colour(fill or (255, 255, 255), "L")
        canvas = Image.new(base.mode, size, level if base.mode == "F" else level * 257)
        canvas.info = dict(image.info)
        return canvas
    if fill is None:
        fill = (255, 255, 255, 0) if has_transparency(base) else (255, 255, 255)
    transparent = len(fill) == 4 and fill[3] < 255
    if transparent or has_transparency(base):
        mode = "RGBA"
    else:
        mode = "L" if base.mode == "L" else "RGB"
    colour = _colour(fill, mode)
    canvas = Image.new(mode, size, colour)
    canvas.info = dict(image.info)
    canvas.info.pop("transparency", None)
    return canvas


def _matching(image: Image.Image, mode: str) -> Image.Image:
    image = to_smooth_mode(image)
    if mode in _DEEP_GREY_MODES:
        return image
    return image if image.mode == mode else image.convert(mode)


def _colour(fill, mode: str):
    red, green, blue, *rest = fill
    if mode == "L":
        return round(0.299 * red + 0.587 * green + 0.114 * blue)
    if mode == "RGBA":
        return (red, green, blue, rest[0] if rest else 255)
    return (red, green, blue)

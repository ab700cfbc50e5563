"""ImageMagick geometry strings: parse them and compute the size they ask for.

Supported forms, as ImageMagick's ``-resize`` reads them:

``W``     width W, height keeps the aspect ratio
``xH``    height H, width keeps the aspect ratio
``WxH``   largest size that fits inside W by H, aspect ratio kept
``WxH^``  smallest size that covers W by H, aspect ratio kept
``WxH!``  exactly W by H, aspect ratio ignored
``WxH>``  as ``WxH``, but only shrink
``WxH<``  as ``WxH``, but only enlarge
``N%``    scale both sides by N percent (``AxB%`` scales them separately)
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

_GEOMETRY_RE = re.compile(
    r"^(?P<width>\d+(?:\.\d+)?)?(?:x(?P<height>\d+(?:\.\d+)?)?)?(?P<flags>[%!<>^]*)$"
)


@dataclass(frozen=True)
class Geometry:
    """A parsed resize geometry; width or height is None when not given."""

    width: float | None
    height: float | None
    percent: bool = False
    exact: bool = False
    fill: bool = False
    shrink_only: bool = False
    enlarge_only: bool = False
    text: str = field(default="", compare=False)

    def __str__(self) -> str:
        return self.text

    def target_size(self, size: tuple[int, int]) -> tuple[int, int]:
        """Return the (width, height) this geometry gives an image of ``size``."""
        old_width, old_height = size
        if self.percent:
            scale_x = (self.width if self.width is not None else 100.0) / 100.0
            scale_y = (self.height if self.height is not None else scale_x * 100.0) / 100.0
        elif self.exact and self.width is not None and self.height is not None:
            scale_x = self.width / old_width
            scale_y = self.height / old_height
        else:
            scale_x = scale_y = self._aspect_scale(old_width, old_height)

        scale_x, scale_y = self._limit(scale_x, scale_y)

        return _scaled(old_width, scale_x), _scaled(old_height, scale_y)

    def _aspect_scale(self, old_width: int, old_height: int) -> float:
        if self.height is None:
            return self.width / old_width
        if self.width is None:
            return self.height / old_height
        ratios = (self.width / old_width, self.height / old_height)
        return max(ratios) if self.fill else min(ratios)

    def _limit(self, scale_x: float, scale_y: float) -> tuple[float, float]:
        if self.shrink_only and (scale_x > 1.0 or scale_y > 1.0):
            return min(scale_x, 1.0), min(scale_y, 1.0)
        if self.enlarge_only and (scale_x < 1.0 or scale_y < 1.0):
            return max(scale_x, 1.0), max(scale_y, 1.0)
        return scale_x, scale_y


def _scaled(length: int, scale: float) -> int:
    # ImageMagick rounds half up and never returns an empty side.
    return max(1, math.floor(length * scale + 0.5))


def parse_geometry(text: str) -> Geometry:
    """Parse an ImageMagick geometry such as ``1600x1600>``; raise ValueError."""
    match = _GEOMETRY_RE.match(text.strip())
    if not match or (match["width"] is None and match["height"] is None):
        raise ValueError(
            f"invalid geometry {text!r}: expected W, xH, WxH or N%, "
            "optionally followed by one of ^ ! > <"
        )

    flags = match["flags"]
    if len(set(flags)) != len(flags):
        raise ValueError(f"invalid geometry {text!r}: a flag is repeated")
    if "<" in flags and ">" in flags:
        raise ValueError(f"invalid geometry {text!r}: '<' and '>' exclude each other")

    width = float(match["width"]) if match["width"] is not None else None
    height = float(match["height"]) if match["height"] is not None else None
    percent = "%" in flags
    if not percent and (width == 0 or height == 0):
        raise ValueError(f"invalid geometry {text!r}: width and height must be above 0")
    if percent and ((width or 0) <= 0 and (height or 0) <= 0):
        raise ValueError(f"invalid geometry {text!r}: percentage must be above 0")
    if ("!" in flags or "^" in flags) and not percent and (width is None or height is None):
        raise ValueError(f"invalid geometry {text!r}: '!' and '^' need both W and H")

    return Geometry(
        width=width,
        height=height,
        percent=percent,
        exact="!" in flags,
        fill="^" in flags,
        shrink_only=">" in flags,
        enlarge_only="<" in flags,
        text=text.strip(),
    )

"""Colour management: convert pixels to sRGB through the embedded ICC profile (``--to-srgb``)."""

from __future__ import annotations

import functools
import io

from PIL import Image, ImageCms

from imgq.ops import has_transparency

# Modes LittleCMS converts; other modes (16-bit grey, palette) are converted first.
_CMS_MODES = {"RGB", "RGBA", "CMYK", "L", "LA"}


@functools.lru_cache(maxsize=1)
def srgb_profile_bytes() -> bytes:
    """Return the bytes of LittleCMS's built-in sRGB profile."""
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


@functools.lru_cache(maxsize=8)
def _transform(profile: bytes, in_mode: str, out_mode: str) -> ImageCms.ImageCmsTransform:
    source = ImageCms.ImageCmsProfile(io.BytesIO(profile))
    target = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))
    return ImageCms.buildTransform(
        source, target, in_mode, out_mode, renderingIntent=ImageCms.Intent.PERCEPTUAL
    )


def to_srgb(image: Image.Image, profile: bytes | None) -> Image.Image:
    """Return ``image`` converted from its ICC ``profile`` to sRGB, as RGB or RGBA.

    Without a profile the pixels are taken to be sRGB already (the web's
    default), and only the mode changes. Raise ``ImageCms.PyCMSError`` when
    the profile cannot be parsed or does not match the mode.
    """
    alpha = has_transparency(image)
    out_mode = "RGBA" if alpha else "RGB"
    if image.mode not in _CMS_MODES or image.mode == "LA":
        if alpha:
            image = image.convert("RGBA")
        elif Image.getmodebase(image.mode) == "L":
            image = image.convert("L")
        else:
            image = image.convert("RGB")
    if not profile:
        return image if image.mode == out_mode else image.convert(out_mode)

    if image.mode == "L":
        # A grey profile converts to grey; sRGB output then spreads it to RGB.
        return _apply(image, profile, "RGB")
    if image.mode == "RGBA":
        return _apply(image, profile, "RGBA")
    return _apply(image, profile, out_mode)


def _apply(image: Image.Image, profile: bytes, out_mode: str) -> Image.Image:
    converted = ImageCms.applyTransform(image, _transform(profile, image.mode, out_mode))
    converted.info = dict(image.info)
    converted.info.pop("icc_profile", None)
    return converted

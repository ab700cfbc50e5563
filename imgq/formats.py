"""Image formats: which extensions imgq reads, and how output formats are named."""

from __future__ import annotations

import functools
import os

from PIL import Image

# The extension imgq gives a file it converts to each format.
PREFERRED_EXTENSION = {
    "JPEG": ".jpg",
    "PNG": ".png",
    "WEBP": ".webp",
    "TIFF": ".tif",
    "GIF": ".gif",
    "BMP": ".bmp",
    "AVIF": ".avif",
    "ICO": ".ico",
    "JPEG2000": ".jp2",
    "PPM": ".ppm",
    "TGA": ".tga",
    "QOI": ".qoi",
}

# Formats Pillow can read that are documents or raw data rather than images a
# batch job should pick up from a folder walk. Named files are still tried.
_NOT_WALKED = {"PDF", "EPS", "FITS", "GRIB", "BUFR", "HDF5", "WMF", "MPEG", "FPX", "MIC"}


@functools.lru_cache(maxsize=None)
def _extension_map() -> dict[str, str]:
    Image.init()
    return {ext.lower(): fmt for ext, fmt in Image.registered_extensions().items()}


@functools.lru_cache(maxsize=None)
def readable_extensions() -> frozenset[str]:
    """Return the lower-case extensions (with dot) that a folder walk picks up."""
    extensions = _extension_map()
    # MPO files are opened by the JPEG plugin, so MPO itself is not in Image.OPEN.
    openable = set(Image.OPEN) | {"MPO"}
    return frozenset(ext for ext, fmt in extensions.items() if fmt in openable and fmt not in _NOT_WALKED)


def format_for_extension(path: str) -> str | None:
    """Return the Pillow format that writes files named like ``path``, or None."""
    ext = os.path.splitext(path)[1].lower()
    fmt = _extension_map().get(ext)
    if fmt is None or fmt not in Image.SAVE:
        return None
    return fmt


def writable_format(name: str) -> str:
    """Map a user's format name (``jpg``, ``webp``, ``TIFF``) to Pillow's; raise ValueError."""
    key = name.strip().lower().lstrip(".")
    fmt = _extension_map().get("." + key)
    if fmt is None and key.upper() in Image.SAVE:
        fmt = key.upper()
    if fmt is None or fmt not in Image.SAVE:
        choices = ", ".join(sorted(ext.lstrip(".") for ext in PREFERRED_EXTENSION.values()))
        raise ValueError(f"unknown or unwritable format {name!r}; choose one of: {choices}")
    return fmt


def output_name(name: str, fmt: str | None) -> str:
    """Return the output file name for input ``name`` written as ``fmt``.

    The input's extension is kept when it already names ``fmt`` (``a.JPG``
    stays ``a.JPG``), and replaced by the format's usual one otherwise.
    """
    if fmt is None:
        return name
    stem, ext = os.path.splitext(name)
    if _extension_map().get(ext.lower()) == fmt:
        return name
    return stem + PREFERRED_EXTENSION.get(fmt, "." + fmt.lower())

"""Image formats: which extensions imgq reads, and how output formats are named."""

from __future__ import annotations

import contextlib
import functools
import importlib
import os

from PIL import Image

from imgq import heif

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


# The plugin for each common extension, so that a name such as out.webp or
# a.png loads one plugin instead of five (Image.preinit) or all of them.
_PLUGIN_FOR_EXTENSION = {
    ".jpg": "JpegImagePlugin",
    ".jpeg": "JpegImagePlugin",
    ".png": "PngImagePlugin",
    ".gif": "GifImagePlugin",
    ".bmp": "BmpImagePlugin",
    ".webp": "WebPImagePlugin",
    ".tif": "TiffImagePlugin",
    ".tiff": "TiffImagePlugin",
    ".avif": "AvifImagePlugin",
}


def _format_of_extension(ext: str) -> str | None:
    """Return the Pillow format registered for ``ext`` (lower case, with dot), or None.

    Loading all of Pillow's plugins (``Image.init()``) takes longer than the
    whole one-image job, so the lookup tries the plugins loaded so far, then
    the plugin named for ``ext``, then the five that ``Image.preinit`` loads,
    then all of them.
    """
    if ext in Image.EXTENSION:
        return Image.EXTENSION[ext]

    plugin = _PLUGIN_FOR_EXTENSION.get(ext)
    if plugin is not None:
        with contextlib.suppress(ImportError):
            importlib.import_module(f"PIL.{plugin}")
        if ext in Image.EXTENSION:
            return Image.EXTENSION[ext]

    Image.preinit()
    if ext in Image.EXTENSION:
        return Image.EXTENSION[ext]
    return _extension_map().get(ext)


@functools.lru_cache(maxsize=None)
def _extension_map() -> dict[str, str]:
    # Image.open tries the plugins in the order they were registered. preinit
    # registers BMP, GIF, JPEG, PPM and PNG first; init alone registers all
    # plugins alphabetically, so every JPEG would first be offered to 24 others.
    Image.preinit()
    Image.init()
    return {ext.lower(): fmt for ext, fmt in Image.registered_extensions().items()}


# Extensions that Pillow reads without optional libraries; a folder walk
# takes these without loading every plugin to find out.
_ALWAYS_READABLE = frozenset({".jpg", ".jpeg", ".png", ".gif", ".bmp", ".tif", ".tiff"})


def is_readable_extension(ext: str) -> bool:
    """Return True if a folder walk picks up files with ``ext`` (lower case, with dot).

    Loading all of Pillow's plugins takes about 10 ms, so a walk over common
    image files never pays for it.
    """
    return ext in _ALWAYS_READABLE or ext in readable_extensions()


@functools.lru_cache(maxsize=None)
def readable_extensions() -> frozenset[str]:
    """Return the lower-case extensions (with dot) that a folder walk picks up."""
    registered = _extension_map()
    # MPO files are opened by the JPEG plugin, so MPO has no entry in Image.OPEN.
    readable = set(Image.OPEN) | {"MPO"}
    extensions = {ext for ext, fmt in registered.items() if fmt in readable and fmt not in _NOT_WALKED}
    # HEIC files are picked up even without pillow-heif, so that each one is
    # reported with the package to install instead of passed over in silence.
    return frozenset(extensions | heif.EXTENSIONS)


def format_for_extension(path: str) -> str | None:
    """Return the Pillow format that writes files named like ``path``, or None."""
    fmt = known_format_for_extension(path)
    if fmt is None or fmt not in Image.SAVE:
        return None
    return fmt


def known_format_for_extension(path: str) -> str | None:
    """Return the Pillow format registered for the extension of ``path``, writable or not."""
    ext = os.path.splitext(path)[1].lower()
    return _format_of_extension(ext) if ext else None


def writable_format(name: str) -> str:
    """Map a user's format name (``jpg``, ``webp``, ``TIFF``) to Pillow's; raise ValueError."""
    key = name.strip().lower().lstrip(".")
    fmt = _format_of_extension("." + key)
    if fmt is None and key.upper() not in Image.SAVE:
        Image.init()
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
    if ext and _format_of_extension(ext.lower()) == fmt:
        return name
    return stem + PREFERRED_EXTENSION.get(fmt, "." + fmt.lower())

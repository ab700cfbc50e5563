"""Encoder options: what the user asked for, and what is kept from a JPEG source.

Re-encoding a JPEG with Pillow's defaults turns a 4:4:4 or progressive
file into a 4:2:0 baseline one. Pillow's ``subsampling="keep"`` only works
together with ``quality="keep"``, so imgq reads the source's subsampling
and progressive mode itself and passes them as explicit values.
"""

from __future__ import annotations

from PIL import Image

SUBSAMPLING_NAMES = {"4:4:4": 0, "4:2:2": 1, "4:2:0": 2}
TIFF_COMPRESSIONS = {
    "none": "raw",
    "lzw": "tiff_lzw",
    "deflate": "tiff_adobe_deflate",
    "packbits": "packbits",
    "jpeg": "jpeg",
}


def source_options(source: Image.Image, output_format: str, pipeline) -> dict:
    """Return the encoder options for ``output_format``: the user's, else the source's."""
    requested = dict(pipeline.encoder)
    options: dict = {}

    if output_format == "JPEG":
        from_source = _jpeg_source_settings(source)
        progressive = requested.get("progressive", from_source.get("progressive"))
        if progressive:
            options["progressive"] = True
        subsampling = requested.get("subsampling", from_source.get("subsampling"))
        if subsampling is not None:
            options["subsampling"] = subsampling
        if requested.get("optimize"):
            options["optimize"] = True
    elif output_format == "PNG":
        if "compress_level" in requested:
            options["compress_level"] = requested["compress_level"]
        if requested.get("optimize"):
            options["optimize"] = True
    elif output_format == "WEBP":
        if requested.get("lossless"):
            options["lossless"] = True
        if "method" in requested:
            options["method"] = requested["method"]
    elif output_format == "TIFF" and "tiff_compression" in requested:
        options["compression"] = TIFF_COMPRESSIONS[requested["tiff_compression"]]
    return options


def _jpeg_source_settings(source: Image.Image) -> dict:
    if source.format not in {"JPEG", "MPO"}:
        return {}
    # Loaded already: Pillow opened the source with it.
    from PIL import JpegImagePlugin

    settings: dict = {}
    if source.info.get("progressive") or source.info.get("progression"):
        settings["progressive"] = True
    try:
        sampling = JpegImagePlugin.get_sampling(source)
    except (AttributeError, TypeError, ValueError):
        sampling = -1
    if sampling in (0, 1, 2):
        settings["subsampling"] = sampling
    return settings

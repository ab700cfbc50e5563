"""Command-line options for metadata, colour, frames, lossless JPEG and encoders.

They are shared by every processing command; ``pipeline_settings`` turns
their parsed values into ``Pipeline`` fields and rejects combinations that
contradict each other.
"""

from __future__ import annotations

import click

from imgq.encoder_options import SUBSAMPLING_NAMES, TIFF_COMPRESSIONS
from imgq.lossless_jpeg import LOSSLESS_MODES, is_lossless_chain
from imgq.metadata import parse_keep
from imgq.variants import parse_variant


class _KeepType(click.ParamType):
    name = "KINDS"

    def convert(self, value, param, ctx):
        if not isinstance(value, str):
            return value
        try:
            return parse_keep(value)
        except ValueError as exc:
            self.fail(str(exc), param, ctx)


class _GravityType(click.ParamType):
    name = "GRAVITY"

    def convert(self, value, param, ctx):
        from imgq.layout import parse_gravity

        try:
            return parse_gravity(value)
        except ValueError as exc:
            self.fail(str(exc), param, ctx)


class _VariantType(click.ParamType):
    name = "GEOMETRY:TEMPLATE"

    def convert(self, value, param, ctx):
        if not isinstance(value, str):
            return value
        try:
            return parse_variant(value)
        except ValueError as exc:
            self.fail(str(exc), param, ctx)


_OPTIONS = [
    click.option("--variant", "variants", type=_VariantType(), multiple=True, help="Write an output per variant instead of one, such as '1600x1600>:{stem}-1600.jpg'; repeat for more. Fields: {stem} {ext} {name} {relpath} {reldir} {width} {height}."),
    click.option("--strip", is_flag=True, help="Write no EXIF, ICC profile, XMP or comment (DPI is kept)."),
    click.option("--keep", type=_KeepType(), help="Keep only these metadata kinds, comma-separated: exif, icc, xmp, comment [default: all]."),
    click.option("--keep-mtime", is_flag=True, help="Give each output the modification time of its input."),
    click.option("--to-srgb", is_flag=True, help="Convert pixels from the embedded ICC profile to sRGB and embed sRGB."),
    click.option("--strict", is_flag=True, help="Fail an image whose frames or pages the output format cannot hold, instead of keeping the first with a warning."),
    click.option("--lossless", type=click.Choice(LOSSLESS_MODES), default="auto", show_default=True, help="Rotate and flip JPEGs losslessly with jpegtran: when possible (auto), never, or fail where not possible (require)."),
    click.option("--gravity", type=_GravityType(), help="Where crop, extent, pad and fit place the image: north-west, north, ..., center, ..., south-east."),
    click.option("--linear", is_flag=True, help="Resize in linear light (gamma-correct), which keeps fine bright detail."),
    click.option("--progressive/--baseline", default=None, help="JPEG: progressive or baseline [default: as the source JPEG, else baseline]."),
    click.option("--subsampling", type=click.Choice(list(SUBSAMPLING_NAMES)), help="JPEG chroma subsampling [default: as the source JPEG, else 4:2:0]."),
    click.option("--optimize", is_flag=True, help="JPEG: optimal Huffman tables; PNG: smallest zlib settings (slower)."),
    click.option("--compress-level", type=click.IntRange(0, 9), help="PNG zlib level 0-9 [default: 6]."),
    click.option("--webp-lossless", is_flag=True, help="WebP: lossless encoding."),
    click.option("--webp-method", type=click.IntRange(0, 6), help="WebP: effort 0 (fast) to 6 (small) [default: 4]."),
    click.option("--tiff-compression", type=click.Choice(list(TIFF_COMPRESSIONS)), help="TIFF compression [default: deflate]."),
]

OPTION_NAMES = (
    "strip", "keep", "keep_mtime", "to_srgb", "strict", "lossless", "gravity", "linear",
    "progressive", "subsampling",
    "optimize", "compress_level", "webp_lossless", "webp_method", "tiff_compression",
)


def photo_options(command):
    """Add the metadata, colour, frame, lossless and encoder options to ``command``."""
    for option in reversed(_OPTIONS):
        command = option(command)
    return command


def pop_variants(options: dict, output_format) -> tuple:
    """Pop ``--variant`` from ``options`` and return the variants, checked against ``--format``."""
    variants = tuple(options.pop("variants"))
    if variants and output_format is not None:
        raise click.UsageError("--variant names each output's format by its extension; drop --format")
    return variants


def pipeline_settings(options: dict, operations) -> dict:
    """Pop this module's options from ``options`` and return the ``Pipeline`` fields they set."""
    values = {name: options.pop(name) for name in OPTION_NAMES}
    if values["strip"] and values["keep"] is not None:
        raise click.UsageError("give either --strip or --keep, not both")
    if values["lossless"] == "require" and not is_lossless_chain(operations):
        raise click.UsageError(
            "--lossless require needs every operation to be a rotation by a multiple of 90, "
            "flip, flop or auto-orient"
        )

    encoder = {
        "progressive": values["progressive"],
        "subsampling": SUBSAMPLING_NAMES.get(values["subsampling"]),
        "optimize": values["optimize"] or None,
        "compress_level": values["compress_level"],
        "lossless": values["webp_lossless"] or None,
        "method": values["webp_method"],
        "tiff_compression": values["tiff_compression"],
    }
    return {
        "strip": values["strip"],
        "keep": values["keep"],
        "keep_mtime": values["keep_mtime"],
        "to_srgb": values["to_srgb"],
        "strict": values["strict"],
        "lossless": values["lossless"],
        "gravity": values["gravity"],
        "linear": values["linear"],
        "encoder": tuple((key, value) for key, value in encoder.items() if value is not None),
    }

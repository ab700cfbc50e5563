"""Metadata carried from the input to the output: EXIF, ICC profile, XMP, comment and DPI.

Pillow writes metadata only when it is passed to ``save()`` (and for some
formats falls back to ``image.info``), so imgq collects what to keep from
the decoded image, passes exactly that, and clears ``image.info`` before
saving. The kinds a user can keep or strip are ``exif``, ``icc``, ``xmp``
and ``comment``; DPI is part of the image's geometry and is always kept.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from PIL import Image

if TYPE_CHECKING:
    from PIL import PngImagePlugin

from imgq.ops import ORIENTATION_TAG

METADATA_KINDS = ("exif", "icc", "xmp", "comment")

EXIF_IFD = 0x8769
EXIF_PIXEL_X_DIMENSION = 0xA002
EXIF_PIXEL_Y_DIMENSION = 0xA003

# Errors Pillow raises on damaged EXIF data; ICC checks add ImageCms.PyCMSError.
METADATA_ERRORS = (OSError, ValueError, TypeError, KeyError, IndexError, SyntaxError)

# JPEG stores EXIF in one APP1 segment, which contains at most this many bytes.
JPEG_MAX_EXIF_BYTES = 65533

# XMP stores the orientation as an attribute or an element of the tiff namespace.
_XMP_ORIENTATION = (
    re.compile(rb'\s*tiff:Orientation="[0-9]"'),
    re.compile(rb"\s*<tiff:Orientation>[0-9]</tiff:Orientation>"),
)

_EXIF_FORMATS = {"JPEG", "PNG", "WEBP", "TIFF", "AVIF", "HEIF"}
_ICC_FORMATS = {"JPEG", "PNG", "WEBP", "TIFF", "AVIF", "HEIF"}
_XMP_FORMATS = {"JPEG", "PNG", "WEBP", "AVIF"}
_COMMENT_FORMATS = {"JPEG", "GIF", "PNG"}
_DPI_FORMATS = {"JPEG", "PNG", "TIFF"}

# The ICC colour space signature that describes the pixels of each mode.
_ICC_SPACE_OF_MODE = {
    **dict.fromkeys(["1", "L", "LA", "La", "I", "I;16", "I;16B", "I;16L", "I;16N", "F"], b"GRAY"),
    **dict.fromkeys(["RGB", "RGBA", "RGBa", "RGBX", "P", "PA"], b"RGB "),
    "CMYK": b"CMYK",
    "LAB": b"Lab ",
    "YCbCr": b"YCbr",
}


def parse_keep(text: str) -> frozenset[str]:
    """Parse ``--keep exif,icc`` into a set of metadata kinds; raise ValueError."""
    kinds = {part.strip().lower() for part in text.split(",") if part.strip()}
    unknown = kinds - set(METADATA_KINDS) - {"none", "all"}
    if unknown:
        raise ValueError(
            f"invalid metadata kind {', '.join(sorted(unknown))!r} in {text!r}: "
            f"choose from {', '.join(METADATA_KINDS)}, all or none"
        )
    if "all" in kinds:
        return frozenset(METADATA_KINDS)
    return frozenset(kinds - {"none"})


@dataclass
class Metadata:
    """Metadata to write with one output image."""

    exif: bytes | None = None
    icc_profile: bytes | None = None
    xmp: bytes | None = None
    comment: bytes | None = None
    dpi: tuple[float, float] | None = None
    note: str | None = None

    def save_options(self, fmt: str) -> dict:
        """Return the ``save()`` keyword arguments that carry this metadata in ``fmt``."""
        options: dict = {}
        if self.exif and fmt in _EXIF_FORMATS:
            if not (fmt == "JPEG" and len(self.exif) > JPEG_MAX_EXIF_BYTES):
                options["exif"] = self.exif
        if self.icc_profile and fmt in _ICC_FORMATS:
            options["icc_profile"] = self.icc_profile
        if self.dpi and fmt in _DPI_FORMATS:
            options["dpi"] = self.dpi

        if fmt == "PNG":
            text = self._png_text()
            if text is not None:
                options["pnginfo"] = text
            return options
        if self.xmp and fmt in _XMP_FORMATS:
            options["xmp"] = self.xmp
        if self.comment and fmt in _COMMENT_FORMATS:
            options["comment"] = self.comment
        return options

    def _png_text(self) -> PngImagePlugin.PngInfo | None:
        if not self.xmp and not self.comment:
            return None
        from PIL import PngImagePlugin

        text = PngImagePlugin.PngInfo()
        if self.xmp:
            text.add_itxt("XML:com.adobe.xmp", self.xmp.decode("utf-8", "replace"), zip=True)
        if self.comment:
            text.add_text("Comment", self.comment.decode("latin-1", "replace"))
        return text


def collect_metadata(
    source: Image.Image,
    result: Image.Image,
    reset_orientation: bool,
    keep: frozenset[str] = frozenset(METADATA_KINDS),
) -> Metadata:
    """Collect the metadata of ``source`` that still describes ``result``.

    ``result`` is the transformed first frame. Its ``info`` contains the
    EXIF and XMP that auto-orient already rewrote.
    """
    return describe_output(source, result.getexif(), result.info, result.size, result.mode,
                           reset_orientation, keep)


def describe_output(
    source: Image.Image,
    exif: Image.Exif,
    info: dict,
    size: tuple[int, int],
    mode: str,
    reset_orientation: bool,
    keep: frozenset[str],
) -> Metadata:
    """Collect the metadata for an output of ``size`` and ``mode`` made from ``source``.

    ``exif`` and ``info`` are those of the output image before metadata is
    rewritten; the lossless JPEG path passes the source's own.
    """
    metadata = Metadata(dpi=_dpi(source))
    notes = []

    profile = source.info.get("icc_profile")
    if "icc" in keep and profile_fits_mode(profile, mode):
        metadata.icc_profile, note = checked_icc_profile(profile)
        notes.append(note)

    if "exif" in keep and source.format == "TIFF":
        # NOTE: Pillow presents a TIFF's own tags (strip offsets and the like)
        # as its EXIF; passing them on breaks the encoder, so none are kept.
        pass
    elif "exif" in keep:
        try:
            metadata.exif = exif_bytes(exif, size, reset_orientation)
        except METADATA_ERRORS as exc:
            notes.append(f"EXIF dropped because it could not be rewritten ({exc})")
    elif not reset_orientation and _orientation(source) != 1:
        notes.append(
            f"EXIF Orientation {_orientation(source)} dropped with the EXIF, so the output "
            "shows sideways or mirrored; leave auto-orient on or keep exif"
        )

    if "xmp" in keep:
        metadata.xmp = _xmp_bytes(info, reset_orientation)
    if "comment" in keep:
        metadata.comment = _comment_bytes(source.info.get("comment"))

    metadata.note = "; ".join(note for note in notes if note) or None
    return metadata


def profile_fits_mode(profile, mode: str) -> bool:
    """Return True if the ICC ``profile``'s colour space is the one of pixels in ``mode``.

    A profile for other bands (a CMYK profile on RGB pixels, say) would
    misdescribe the pixels, and viewers reject it. The colour space is
    bytes 16 to 19 of the profile's header (ICC.1:2010, section 7.2.6).
    """
    if not profile or len(profile) < 20:
        return False
    return _ICC_SPACE_OF_MODE.get(mode) == bytes(profile[16:20])


def checked_icc_profile(profile) -> tuple[bytes | None, str | None]:
    """Return the ICC profile when LittleCMS can parse it, else None and a note."""
    if not profile:
        return None, None
    # LittleCMS loads only for images that carry a profile.
    from PIL import ImageCms

    try:
        ImageCms.ImageCmsProfile(io.BytesIO(profile))
    except (*METADATA_ERRORS, ImageCms.PyCMSError) as exc:
        return None, f"invalid ICC profile of {len(profile)} bytes dropped ({exc})"
    return bytes(profile), None


def exif_bytes(exif: Image.Exif, size: tuple[int, int], reset_orientation: bool) -> bytes | None:
    """Return ``exif`` as bytes for an output of ``size``, the Orientation reset if asked.

    Exif.tobytes writes IFD0 and its Exif and GPS sub-IFDs but not IFD1, so
    the embedded thumbnail, which would keep the old orientation, is dropped.
    """
    if not exif:
        return None

    orientation = exif.get(ORIENTATION_TAG)
    if reset_orientation or not (isinstance(orientation, int) and 1 <= orientation <= 8):
        exif.pop(ORIENTATION_TAG, None)

    sub_ifd = exif.get_ifd(EXIF_IFD)
    if EXIF_PIXEL_X_DIMENSION in sub_ifd or EXIF_PIXEL_Y_DIMENSION in sub_ifd:
        sub_ifd[EXIF_PIXEL_X_DIMENSION], sub_ifd[EXIF_PIXEL_Y_DIMENSION] = size
    if not exif and not sub_ifd:
        return None
    return exif.tobytes()


def _xmp_bytes(info: dict, reset_orientation: bool) -> bytes | None:
    packet = info.get("xmp") or info.get("XML:com.adobe.xmp")
    if not packet:
        return None
    if isinstance(packet, str):
        packet = packet.encode("utf-8")
    if reset_orientation:
        for pattern in _XMP_ORIENTATION:
            packet = pattern.sub(b"", packet)
    return bytes(packet)


def _comment_bytes(comment) -> bytes | None:
    if not comment:
        return None
    return comment.encode("utf-8") if isinstance(comment, str) else bytes(comment)


def _orientation(image: Image.Image) -> int:
    try:
        value = image.getexif().get(ORIENTATION_TAG, 1)
    except METADATA_ERRORS:
        return 1
    return value if isinstance(value, int) and 1 <= value <= 8 else 1


def _dpi(image: Image.Image):
    dpi = image.info.get("dpi")
    if not dpi or len(dpi) != 2:
        return None
    try:
        horizontal, vertical = float(dpi[0]), float(dpi[1])
    except (TypeError, ValueError):
        return None
    return (horizontal, vertical) if horizontal > 0 and vertical > 0 else None

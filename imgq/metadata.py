"""Metadata carried from the input to the output: EXIF, ICC profile and DPI.

Pillow writes EXIF and the ICC profile only when they are passed to
``save()``, so imgq collects them from the decoded image and passes them on.
"""

from __future__ import annotations

from dataclasses import dataclass

from PIL import Image

from imgq.ops import ORIENTATION_TAG

EXIF_IFD = 0x8769
EXIF_PIXEL_X_DIMENSION = 0xA002
EXIF_PIXEL_Y_DIMENSION = 0xA003

# Errors Pillow raises on damaged EXIF or ICC data.
METADATA_ERRORS = (OSError, ValueError, TypeError, KeyError, IndexError, SyntaxError)

# JPEG stores EXIF in one APP1 segment, which holds at most this many bytes.
JPEG_MAX_EXIF_BYTES = 65533


@dataclass
class Metadata:
    """Metadata to write with one output image."""

    exif: bytes | None = None
    icc_profile: bytes | None = None
    dpi: tuple[float, float] | None = None
    note: str | None = None

    def save_options(self, fmt: str) -> dict:
        """Return the ``save()`` keyword arguments that carry this metadata in ``fmt``."""
        options = {}
        if self.exif and fmt in {"JPEG", "PNG", "WEBP", "TIFF", "AVIF"}:
            if not (fmt == "JPEG" and len(self.exif) > JPEG_MAX_EXIF_BYTES):
                options["exif"] = self.exif
        if self.icc_profile and fmt in {"JPEG", "PNG", "WEBP", "TIFF", "AVIF"}:
            options["icc_profile"] = self.icc_profile
        if self.dpi and fmt in {"JPEG", "PNG", "TIFF"}:
            options["dpi"] = self.dpi
        return options


def collect_metadata(
    source: Image.Image, result: Image.Image, reset_orientation: bool, strip: bool
) -> Metadata:
    """Collect the metadata of ``source`` that still describes ``result``."""
    if strip:
        return Metadata()

    metadata = Metadata(dpi=_dpi(source))
    if Image.getmodebase(source.mode) == Image.getmodebase(result.mode):
        # A profile for other bands (CMYK to RGB, say) would misdescribe the pixels.
        metadata.icc_profile = source.info.get("icc_profile") or None

    if source.format == "TIFF":
        # NOTE: Pillow presents a TIFF's own tags (strip offsets and the like)
        # as its EXIF; passing them on breaks the encoder, so none are kept.
        return metadata
    try:
        metadata.exif = _exif_bytes(source, result, reset_orientation)
    except METADATA_ERRORS as exc:
        metadata.note = f"EXIF dropped because it could not be rewritten ({exc})"
    return metadata


def _exif_bytes(source: Image.Image, result: Image.Image, reset_orientation: bool) -> bytes | None:
    exif = source.getexif()
    if not exif:
        return None

    orientation = exif.get(ORIENTATION_TAG)
    if reset_orientation or not (isinstance(orientation, int) and 1 <= orientation <= 8):
        exif.pop(ORIENTATION_TAG, None)

    sub_ifd = exif.get_ifd(EXIF_IFD)
    if EXIF_PIXEL_X_DIMENSION in sub_ifd or EXIF_PIXEL_Y_DIMENSION in sub_ifd:
        sub_ifd[EXIF_PIXEL_X_DIMENSION] = result.width
        sub_ifd[EXIF_PIXEL_Y_DIMENSION] = result.height
    return exif.tobytes()


def _dpi(image: Image.Image):
    dpi = image.info.get("dpi")
    if not dpi or len(dpi) != 2:
        return None
    try:
        horizontal, vertical = float(dpi[0]), float(dpi[1])
    except (TypeError, ValueError):
        return None
    return (horizontal, vertical) if horizontal > 0 and vertical > 0 else None

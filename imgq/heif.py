"""HEIC and HEIF input through the optional pillow-heif package (``pip install 'imgq[heif]'``)."""

from __future__ import annotations

EXTENSIONS = frozenset({".heic", ".heif", ".hif"})

# The ISO base media "ftyp" brands of HEIF images, from the HEIF standard (ISO/IEC 23008-12).
_BRANDS = {b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1"}

MISSING_MESSAGE = (
    "HEIC/HEIF image, but the pillow-heif package is not installed; "
    "install it with: pip install 'imgq[heif]'"
)


def register() -> bool:
    """Register pillow-heif's opener with Pillow; return False when it is not installed."""
    try:
        from pillow_heif import register_heif_opener
    except ImportError:
        return False
    register_heif_opener()
    return True


AVAILABLE = register()


def is_heif_file(path: str) -> bool:
    """Return True if the file at ``path`` starts like a HEIF image."""
    try:
        with open(path, "rb") as stream:
            head = stream.read(12)
    except OSError:
        return False
    return len(head) == 12 and head[4:8] == b"ftyp" and head[8:12] in _BRANDS

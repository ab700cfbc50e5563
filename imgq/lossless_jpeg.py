"""Lossless JPEG transforms: rotate and flip a JPEG's DCT blocks with ``jpegtran``.

When every step on a JPEG is a quarter-turn rotation, a flip or an
auto-orient and the output is JPEG, the steps compose into one of the 8
transforms of the square. ``jpegtran`` (libjpeg-turbo) applies that to the
compressed blocks, so no generation is lost. imgq runs it with
``-perfect``: a transform that would move a partial edge block fails there,
and imgq then re-encodes instead (``auto``) or reports the file
(``require``). The metadata is rebuilt, as in the re-encoding path: EXIF
without Orientation and without the IFD1 thumbnail, with the new pixel
dimensions, plus the ICC profile, XMP and comment that ``--keep`` selects.
"""

from __future__ import annotations

import functools
import struct
from dataclasses import dataclass

from PIL import Image

from imgq.metadata import describe_output
from imgq.ops import exif_orientation

LOSSLESS_MODES = ("auto", "never", "require")
INSTALL_HINT = "install jpegtran (Debian and Ubuntu: apt-get install libjpeg-turbo-progs)"

# Elements of the symmetry group of the square as (transpose, flip_x, flip_y):
# first transpose (swap x and y), then mirror left-right, then top-bottom.
IDENTITY = (False, False, False)
_JPEGTRAN_ARGS = {
    (False, False, False): [],
    (False, True, False): ["-flip", "horizontal"],
    (False, False, True): ["-flip", "vertical"],
    (False, True, True): ["-rotate", "180"],
    (True, False, False): ["-transpose"],
    (True, True, False): ["-rotate", "90"],
    (True, False, True): ["-rotate", "270"],
    (True, True, True): ["-transverse"],
}
_ORIENTATION_STEPS = {
    1: [],
    2: ["flop"],
    3: ["rotate180"],
    4: ["flip"],
    5: ["transpose"],
    6: ["rotate90"],
    7: ["transverse"],
    8: ["rotate270"],
}

# Space for data in one APP2 segment: 65535 minus the length field, the
# "ICC_PROFILE\0" signature and the two sequence bytes.
_ICC_CHUNK = 65519


class LosslessError(Exception):
    """``--lossless require`` was given and the lossless transform cannot be done."""


def is_lossless_chain(operations) -> bool:
    """Return True if every operation is a quarter-turn rotation, a flip or an auto-orient."""
    return all(
        op.name in {"flip", "flop", "auto-orient"} or (op.name == "rotate" and op.argument % 90 == 0)
        for op in operations
    )


@dataclass
class LosslessOutput:
    """The bytes of a losslessly transformed JPEG, with its size."""

    data: bytes
    size: tuple[int, int]


def transform(source: Image.Image, job, pipeline, notes: list[str]) -> LosslessOutput | None:
    """Transform ``job``'s JPEG losslessly when the pipeline allows it.

    Return None when imgq should decode and re-encode instead, after adding
    a note when the user should hear why. With ``--lossless require`` raise
    ``LosslessError`` instead of returning None.
    """
    if pipeline.lossless == "never":
        return None
    reason = _obstacle(source, job, pipeline)
    if reason is not None:
        if pipeline.lossless == "require":
            raise LosslessError(f"lossless transform not possible: {reason}")
        return None

    element = compose(pipeline, exif_orientation(source))
    completed = _run_jpegtran(job.source, element)
    if completed.returncode != 0:
        detail = _failure_detail(source, completed)
        if pipeline.lossless == "require":
            raise LosslessError(f"lossless transform not possible: {detail}")
        notes.append(f"re-encoded, because the lossless transform is not possible: {detail}")
        return None

    size = source.size[::-1] if element[0] else source.size
    data = insert_metadata(completed.stdout, _metadata(source, size, pipeline))
    return LosslessOutput(data, size)


def compose(pipeline, orientation: int) -> tuple[bool, bool, bool]:
    """Return the one square transform equal to the pipeline's steps, in order."""
    steps = list(_ORIENTATION_STEPS[orientation]) if pipeline.auto_orient else []
    oriented = pipeline.auto_orient
    for op in pipeline.operations:
        if op.name == "auto-orient":
            # The tag is applied once; after that the pixels are upright.
            if not oriented:
                steps += _ORIENTATION_STEPS[orientation]
            oriented = True
        elif op.name == "rotate":
            steps.append(f"rotate{int(op.argument % 360)}")
        else:
            steps.append(op.name)

    element = IDENTITY
    for step in steps:
        element = _then(element, step)
    return element


def _then(element: tuple[bool, bool, bool], step: str) -> tuple[bool, bool, bool]:
    transpose, flip_x, flip_y = element
    if step == "rotate0":
        return element
    if step == "flop":
        return transpose, not flip_x, flip_y
    if step == "flip":
        return transpose, flip_x, not flip_y
    if step == "rotate180":
        return transpose, not flip_x, not flip_y
    if step == "transpose":
        return not transpose, flip_y, flip_x
    if step == "rotate90":  # clockwise: transpose, then mirror left-right
        return _then(_then(element, "transpose"), "flop")
    if step == "rotate270":
        return _then(_then(element, "transpose"), "flip")
    if step == "transverse":
        return _then(_then(element, "transpose"), "rotate180")
    raise AssertionError(f"unhandled step {step!r}")


def insert_metadata(jpeg: bytes, metadata) -> bytes:
    """Return ``jpeg`` with EXIF, XMP, ICC and comment segments inserted after its header."""
    segments = []
    if metadata.exif:
        segments.append(_segment(0xE1, metadata.exif))
    if metadata.xmp:
        segments.append(_segment(0xE1, b"http://ns.adobe.com/xap/1.0/\x00" + metadata.xmp))
    if metadata.icc_profile:
        chunks = [metadata.icc_profile[i : i + _ICC_CHUNK] for i in range(0, len(metadata.icc_profile), _ICC_CHUNK)]
        for number, chunk in enumerate(chunks, start=1):
            segments.append(_segment(0xE2, b"ICC_PROFILE\x00" + bytes([number, len(chunks)]) + chunk))
    if metadata.comment:
        segments.append(_segment(0xFE, metadata.comment))

    position = 2
    # Keep the JFIF or Adobe APP segments jpegtran wrote at the start.
    while jpeg[position] == 0xFF and jpeg[position + 1] in (0xE0, 0xEE):
        position += 2 + struct.unpack(">H", jpeg[position + 2 : position + 4])[0]
    return jpeg[:position] + b"".join(segments) + jpeg[position:]


def _segment(marker: int, payload: bytes) -> bytes:
    if len(payload) + 2 > 0xFFFF:
        return b""
    return bytes([0xFF, marker]) + struct.pack(">H", len(payload) + 2) + payload


def _obstacle(source: Image.Image, job, pipeline) -> str | None:
    if job.output_format != "JPEG":
        return f"the output format is {job.output_format}, not JPEG"
    if source.format != "JPEG":
        return f"the input is {source.format}, not JPEG"
    if not is_lossless_chain(pipeline.operations):
        return "an operation other than a quarter-turn rotation, flip or auto-orient is in the chain"
    if pipeline.quality is not None or pipeline.to_srgb or pipeline.encoder:
        return "--quality, --to-srgb and encoder options need a re-encode"
    if not has_jpegtran():
        return f"jpegtran is not installed; {INSTALL_HINT}"
    return None


@functools.lru_cache(maxsize=1)
def has_jpegtran() -> bool:
    """Return True if ``jpegtran`` is on PATH; looked up once per process."""
    import shutil

    return shutil.which("jpegtran") is not None


def mcu_size(source: Image.Image) -> tuple[int, int]:
    """Return the width and height of the JPEG's MCU, the block jpegtran moves whole."""
    if source.mode == "L":
        return 8, 8
    # Loaded already: Pillow opened the source with it.
    from PIL import JpegImagePlugin

    try:
        sampling = JpegImagePlugin.get_sampling(source)
    except (AttributeError, TypeError, ValueError):
        sampling = -1
    return {0: (8, 8), 1: (16, 8), 2: (16, 16)}.get(sampling, (16, 16))


def _failure_detail(source: Image.Image, completed) -> str:
    lines = completed.stderr.decode("utf-8", "replace").strip().splitlines()
    if any("not perfect" in line for line in lines):
        width, height = source.size
        mcu_width, mcu_height = mcu_size(source)
        return (
            f"{width}x{height} is not a multiple of the {mcu_width}x{mcu_height} MCU, "
            "so the edge blocks cannot move"
        )
    return f"jpegtran: {lines[-1]}" if lines else f"jpegtran exit code {completed.returncode}"


def _run_jpegtran(path: str, element):
    command = ["jpegtran", "-copy", "none", "-perfect", *_JPEGTRAN_ARGS[element], path]
    # Imported here, because a call that never runs jpegtran should not pay for it.
    import subprocess

    return subprocess.run(command, capture_output=True, check=False)


def _metadata(source: Image.Image, size: tuple[int, int], pipeline):
    exif = Image.Exif()
    try:
        exif.load(source.info.get("exif") or b"")
    except (OSError, ValueError, TypeError, SyntaxError, KeyError, IndexError):
        exif = Image.Exif()
    reset = pipeline.changes_geometry
    return describe_output(source, exif, source.info, size, source.mode, reset, pipeline.kept_metadata)

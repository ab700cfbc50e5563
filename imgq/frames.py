"""Frames: read every frame of an animation or every page of a TIFF, and save them all.

The rule for images with more than one frame:

* an animation (GIF, WebP or APNG) written as GIF, WebP or PNG keeps every
  frame, with each frame's duration, the loop count and, for GIF and APNG,
  each frame's disposal method;
* a multi-page TIFF written as TIFF keeps every page, whatever its size;
* any other output format gets the first frame only, and the result carries
  a warning note naming the frame count (an error with ``--strict``);
* an MPO file (a camera's stereo pair) is a JPEG photo: its first image is
  used, without a warning.

Pillow decodes each frame of a GIF, WebP or APNG composited onto the frames
before it, so every frame read here is a full canvas. Frames are therefore
written whole: APNG frames with the "source" blend operation, so that a
transparent pixel replaces what was there instead of showing it through.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from PIL import Image

from imgq.ops import has_transparency

ANIMATED_INPUTS = {"GIF", "WEBP", "PNG"}
ANIMATED_OUTPUTS = {"GIF", "WEBP", "PNG"}

# APNG blend operation that replaces the canvas area instead of compositing.
APNG_BLEND_SOURCE = 0

# GIF numbers disposal methods 0-1 none, 2 background, 3 previous; APNG
# numbers them 0 none, 1 background, 2 previous.
GIF_TO_APNG_DISPOSAL = {0: 0, 1: 0, 2: 1, 3: 2}
APNG_TO_GIF_DISPOSAL = {0: 1, 1: 2, 2: 3}


class FrameError(Exception):
    """The output format cannot hold the input's frames and --strict is set."""


@dataclass
class Sequence:
    """The frames to transform and write, with the timing that goes with them."""

    frames: list[Image.Image]
    durations: list[float | None] = field(default_factory=list)
    disposals: list[int | None] = field(default_factory=list)
    loop: int | None = None
    note: str | None = None
    source_format: str | None = None

    @property
    def first(self) -> Image.Image:
        """Return the first frame, the one a still output is made from."""
        return self.frames[0]


def frame_count(image: Image.Image) -> int:
    """Return how many frames ``image`` has; 1 when Pillow cannot count them."""
    try:
        return int(getattr(image, "n_frames", 1))
    except (OSError, ValueError, TypeError, SyntaxError, EOFError, KeyError, IndexError):
        return 1


def keeps_all_frames(input_format: str | None, output_format: str) -> bool:
    """Return True if frames of ``input_format`` survive being written as ``output_format``."""
    if input_format in ANIMATED_INPUTS:
        return output_format in ANIMATED_OUTPUTS
    if input_format == "TIFF":
        return output_format == "TIFF"
    return False


def first_only(input_format: str | None, count: int, output_format: str, strict: bool) -> str:
    """Return the warning for keeping one of ``count`` frames; raise FrameError if ``strict``."""
    kind = "pages" if input_format == "TIFF" else "frames"
    if strict:
        raise FrameError(f"the image has {count} {kind} and {output_format} holds only one (--strict)")
    return f"kept only the first of {count} {kind}: {output_format} output cannot hold them all"


def read_sequence(source: Image.Image, output_format: str, strict: bool = False) -> Sequence:
    """Read the frames of ``source`` that an output in ``output_format`` keeps.

    Each frame of an animation is an independent copy, so that frames can be
    transformed one by one; a still image is the loaded source itself. Animation frames are brought to one mode
    (RGB, or RGBA when any frame is transparent) because Pillow gives the
    first GIF frame as a palette image and the later ones as RGB.
    """
    count = frame_count(source)
    if count == 1 or source.format == "MPO":
        # The loaded source itself: rendering copies it only if it reaches
        # the encoder untransformed, which saves a copy of every large photo.
        return Sequence([source])

    if not keeps_all_frames(source.format, output_format):
        note = first_only(source.format, count, output_format, strict)
        source.seek(0)
        return Sequence([source.copy()], note=note)

    sequence = Sequence([], source_format=source.format)
    for index in range(count):
        source.seek(index)
        sequence.frames.append(source.copy())
        sequence.durations.append(source.info.get("duration"))
        sequence.disposals.append(_disposal(source))
    sequence.loop = _loop(source)
    source.seek(0)

    if source.format in ANIMATED_INPUTS:
        sequence.frames = _common_mode(sequence.frames)
    return sequence


def save_options(sequence: Sequence, output_format: str, frames: list[Image.Image]) -> dict:
    """Return the ``save()`` options that write ``frames`` as one animation or multi-page file."""
    if len(frames) < 2:
        return {}

    options: dict = {"save_all": True, "append_images": frames[1:]}
    if output_format == "TIFF":
        return options

    if any(duration is not None for duration in sequence.durations):
        # An APNG's default image, shown before the animation, has no duration.
        options["duration"] = [round(duration or 0) for duration in sequence.durations]
    if sequence.loop is not None:
        options["loop"] = sequence.loop
    elif output_format in {"WEBP", "PNG"}:
        # Without a loop entry a GIF plays once; WebP and APNG store that as 1.
        options["loop"] = 1
    disposals = _disposals_for(sequence, output_format)
    if disposals is not None:
        options["disposal"] = disposals
    if output_format == "PNG":
        options["blend"] = APNG_BLEND_SOURCE
    return options


def _disposals_for(sequence: Sequence, output_format: str) -> list[int] | None:
    """Return the disposal methods in ``output_format``'s numbering, or None to let Pillow pick."""
    if output_format not in {"GIF", "PNG"} or any(value is None for value in sequence.disposals):
        return None
    if sequence.source_format == output_format:
        return list(sequence.disposals)
    if sequence.source_format == "GIF" and output_format == "PNG":
        return [GIF_TO_APNG_DISPOSAL[value] for value in sequence.disposals]
    if sequence.source_format == "PNG" and output_format == "GIF":
        return [APNG_TO_GIF_DISPOSAL[value] for value in sequence.disposals]
    return None


def _disposal(frame: Image.Image) -> int | None:
    if frame.format == "GIF":
        value = getattr(frame, "disposal_method", None)
        return value if isinstance(value, int) and 0 <= value <= 3 else None
    value = frame.info.get("disposal")
    return value if isinstance(value, int) and 0 <= value <= 2 else None


def _loop(source: Image.Image) -> int | None:
    value = source.info.get("loop")
    return value if isinstance(value, int) and value >= 0 else None


def _common_mode(frames: list[Image.Image]) -> list[Image.Image]:
    alpha = any(has_transparency(frame) for frame in frames)
    mode = "RGBA" if alpha else "RGB"
    return [frame if frame.mode == mode else frame.convert(mode) for frame in frames]

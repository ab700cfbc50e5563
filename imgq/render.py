"""Rendering: turn one opened image into the frames and ``save()`` options of its output.

This is the per-image part of a worker's job after decoding: pick the
frames the output keeps, transform each one, convert colours and modes,
and gather the metadata and encoder options.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from PIL import Image, ImageCms

from imgq import colour, frames
from imgq.encode import prepare_for_format, save_options
from imgq.encoder_options import source_options
from imgq.metadata import checked_icc_profile, collect_metadata
from imgq.pipeline import Pipeline

# Keys of ``Image.info`` that describe pixels rather than metadata, and that
# the encoders must still see.
_PIXEL_INFO = ("transparency",)


@dataclass
class Rendered:
    """The frames to write (one for a still image) and the ``save()`` options."""

    frames: list[Image.Image]
    options: dict
    notes: list[str] = field(default_factory=list)

    @property
    def size(self) -> tuple[int, int]:
        """Return the size of the first frame."""
        return self.frames[0].size


def render(source: Image.Image, output_format: str, pipeline: Pipeline) -> Rendered:
    """Transform the frames of ``source`` and collect how to save them as ``output_format``."""
    sequence = frames.read_sequence(source, output_format, pipeline.strict)
    notes = [sequence.note] if sequence.note else []
    first = sequence.first

    outputs = [pipeline.transform(frame) for frame in sequence.frames]
    if pipeline.to_srgb:
        outputs, note = _convert_to_srgb(outputs, first.info.get("icc_profile"))
        notes.append(note)
    outputs = [prepare_for_format(image, output_format, pipeline.background) for image in outputs]

    metadata = collect_metadata(first, outputs[0], pipeline.changes_geometry, pipeline.kept_metadata)
    notes.append(metadata.note)
    if pipeline.to_srgb and "icc" in pipeline.kept_metadata:
        metadata.icc_profile = colour.srgb_profile_bytes()

    for image in outputs:
        image.info = {key: image.info[key] for key in _PIXEL_INFO if key in image.info}

    options = save_options(output_format, pipeline.quality)
    options.update(source_options(source, output_format, pipeline))
    options.update(metadata.save_options(output_format))
    options.update(frames.save_options(sequence, output_format, outputs))
    options.update(pipeline.extra_save_options)
    return Rendered(outputs, options, list(dict.fromkeys(note for note in notes if note)))


def _convert_to_srgb(images: list[Image.Image], profile) -> tuple[list[Image.Image], str | None]:
    profile, note = checked_icc_profile(profile)
    try:
        return [colour.to_srgb(image, profile) for image in images], note
    except ImageCms.PyCMSError as exc:
        fallback = [colour.to_srgb(image, None) for image in images]
        return fallback, f"pixels not converted to sRGB: the ICC profile does not fit them ({exc})"

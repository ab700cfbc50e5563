"""Rendering: turn one opened image into the frames and ``save()`` options of its output.

This is the per-image part of a worker's job after decoding: pick the
frames the output keeps, transform each one, convert colours and modes,
and gather the metadata and encoder options.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from PIL import Image

from imgq import frames, ops
from imgq.encode import prepare_for_format, save_options
from imgq.encoder_options import source_options
from imgq.geometry import Geometry
from imgq.metadata import checked_icc_profile, collect_metadata
from imgq.pipeline import Pipeline

# Keys of ``Image.info`` that describe pixels rather than metadata, and that
# the encoders must still see.
_PIXEL_INFO = ("transparency",)

# Output formats that store CMYK pixels as they are.
CMYK_FORMATS = {"JPEG", "TIFF"}

# The largest icon Pillow's ICO encoder writes; larger images are scaled down.
ICO_MAX_SIDE = 256


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


@dataclass
class Transformed:
    """The frames of one input after the pipeline's operations, before encoding."""

    sequence: frames.Sequence
    images: list[Image.Image]
    notes: list[str]


def render(source: Image.Image, output_format: str, pipeline: Pipeline) -> Rendered:
    """Transform the frames of ``source`` and collect how to save them as ``output_format``."""
    return finish(source, transform(source, [output_format], pipeline), output_format, pipeline)


def render_variants(source: Image.Image, variants, pipeline: Pipeline) -> list[Rendered]:
    """Transform ``source`` once and render it for each planned variant."""
    transformed = transform(source, [variant.output_format for variant in variants], pipeline)
    return [finish(source, transformed, variant.output_format, pipeline, variant.geometry) for variant in variants]


def transform(source: Image.Image, output_formats: list[str], pipeline: Pipeline) -> Transformed:
    """Read the frames that any of ``output_formats`` keeps and apply the pipeline to each."""
    keeping = [fmt for fmt in output_formats if frames.keeps_all_frames(source.format, fmt)]
    sequence = frames.read_sequence(source, (keeping or output_formats)[0], pipeline.strict)
    notes = [sequence.note] if sequence.note else []

    images = [pipeline.transform(frame) for frame in sequence.frames]
    if pipeline.to_srgb:
        images, note = _convert_to_srgb(images, sequence.first.info.get("icc_profile"))
        notes.append(note)
    return Transformed(sequence, images, notes)


def finish(source: Image.Image, transformed: Transformed, output_format: str, pipeline: Pipeline,
           geometry: Geometry | None = None) -> Rendered:
    """Resize to ``geometry`` if given, convert modes for ``output_format`` and gather the options."""
    sequence, outputs, notes = transformed.sequence, transformed.images, list(transformed.notes)
    if len(outputs) > 1 and not frames.keeps_all_frames(source.format, output_format):
        notes.append(frames.first_only(source.format, len(outputs), output_format, pipeline.strict))
        outputs = outputs[:1]
    if geometry is not None:
        outputs = [_resize(image, geometry, pipeline) for image in outputs]
    if outputs[0].mode == "CMYK" and output_format not in CMYK_FORMATS and not pipeline.to_srgb:
        # CMYK to RGB through the embedded profile gives the colours a
        # colour-managed viewer shows; Pillow's own formula is a rough guess.
        outputs, note = _convert_to_srgb(outputs, sequence.first.info.get("icc_profile"))
        notes.append(note)
    outputs = [prepare_for_format(image, output_format, pipeline.background) for image in outputs]
    if output_format == "ICO" and max(outputs[0].size) > ICO_MAX_SIDE:
        width, height = outputs[0].size
        notes.append(
            f"ICO holds at most {ICO_MAX_SIDE}x{ICO_MAX_SIDE} pixels, so the {width}x{height} image is scaled down to fit"
        )

    metadata = collect_metadata(sequence.first, outputs[0], pipeline.changes_geometry, pipeline.kept_metadata)
    notes.append(metadata.note)
    if pipeline.to_srgb and "icc" in pipeline.kept_metadata:
        from imgq import colour

        metadata.icc_profile = colour.srgb_profile_bytes()

    # Pillow's encoders fall back to image.info for metadata, so only what
    # describes pixels stays there; metadata goes through the options.
    outputs = [_with_pixel_info(image, sequence.frames) for image in outputs]
    options = save_options(output_format, pipeline.quality)
    options.update(source_options(source, output_format, pipeline))
    options.update(metadata.save_options(output_format))
    options.update(frames.save_options(sequence, output_format, outputs))
    options.update(pipeline.extra_save_options)
    return Rendered(outputs, options, list(dict.fromkeys(note for note in notes if note)))


def _resize(image: Image.Image, geometry: Geometry, pipeline: Pipeline) -> Image.Image:
    size = geometry.target_size(image.size)
    if size == image.size:
        return image
    if not pipeline.linear:
        return ops.resize(image, geometry)
    from imgq import linear

    return linear.resize_linear(image, size)


def _with_pixel_info(image: Image.Image, source_frames: list[Image.Image]) -> Image.Image:
    # A source frame that reaches the encoder untransformed is copied, since
    # the file it belongs to is closed before encoding and its info is still
    # read. A transformed image is new and is changed in place, which saves
    # copying every pixel of a large photo.
    if any(image is frame for frame in source_frames):
        image = image.copy()
    image.info = {key: image.info[key] for key in _PIXEL_INFO if key in image.info}
    return image


def _convert_to_srgb(images: list[Image.Image], profile) -> tuple[list[Image.Image], str | None]:
    # LittleCMS loads only when colours are converted.
    from PIL import ImageCms

    from imgq import colour

    profile, note = checked_icc_profile(profile)
    try:
        return [colour.to_srgb(image, profile) for image in images], note
    except ImageCms.PyCMSError as exc:
        fallback = [colour.to_srgb(image, None) for image in images]
        return fallback, f"pixels not converted to sRGB: the ICC profile does not fit them ({exc})"

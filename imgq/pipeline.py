"""The job a run applies to every image: operations in order, plus output settings.

Everything here is a small frozen dataclass, because a ``Pipeline`` is sent
to every worker process and must pickle.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from PIL import Image

from imgq import extra_ops, ops
from imgq.geometry import parse_geometry
from imgq.metadata import METADATA_KINDS

# Operations that move pixels around, after which EXIF Orientation no longer
# describes the stored raster.
GEOMETRIC_OPERATIONS = {"rotate", "flip", "flop", "auto-orient"}

OPERATION_HELP = {
    "rotate=DEGREES": "rotate clockwise; multiples of 90 are lossless, others expand the canvas",
    "flip": "mirror top to bottom",
    "flop": "mirror left to right",
    "auto-orient": "apply the EXIF Orientation tag to the pixels and reset it",
    "resize=GEOMETRY": "resize with an ImageMagick geometry such as 800x600>",
    "grayscale": "convert to grey, keeping alpha",
    **extra_ops.OPERATION_HELP,
}


@dataclass(frozen=True)
class Operation:
    """One step of a pipeline, such as ``rotate`` with argument ``90.0``."""

    name: str
    # A float (rotate), Geometry (resize), Box, Sharpen, Watermark or None.
    argument: object = None

    def apply(self, image: Image.Image, fill=None) -> Image.Image:
        """Return ``image`` with this operation applied."""
        if self.name == "rotate":
            return ops.rotate(image, self.argument, fill)
        if self.name == "resize":
            return ops.resize(image, self.argument)
        if self.name == "flip":
            return ops.flip(image)
        if self.name == "flop":
            return ops.flop(image)
        if self.name == "auto-orient":
            return ops.auto_orient(image)
        if self.name == "grayscale":
            return ops.grayscale(image)
        raise AssertionError(f"unhandled operation {self.name!r}")

    def __str__(self) -> str:
        if self.argument is None:
            return self.name
        if isinstance(self.argument, float):
            return f"{self.name}={self.argument:g}"
        return f"{self.name}={self.argument}"


def parse_operation(text: str) -> Operation:
    """Parse ``NAME`` or ``NAME=ARGUMENT`` into an Operation; raise ValueError."""
    name, _, argument = text.partition("=")
    name = name.strip().lower().replace("_", "-")
    argument = argument.strip()
    aliases = {"orient": "auto-orient", "autoorient": "auto-orient", "greyscale": "grayscale"}
    name = aliases.get(name, name)

    if name == "rotate":
        return Operation("rotate", parse_angle(argument))
    if name == "resize":
        if not argument:
            raise ValueError("resize needs a geometry, for example resize=800x600>")
        return Operation("resize", parse_geometry(argument))
    if name in {"flip", "flop", "auto-orient", "grayscale"}:
        if argument:
            raise ValueError(f"{name} takes no argument, got {argument!r}")
        return Operation(name)
    if name in extra_ops.NAMES:
        if not argument and name != "sharpen":
            raise ValueError(f"{name} needs an argument, for example {_example(name)}")
        return Operation(name, extra_ops.parse(name, argument))

    known = ", ".join(OPERATION_HELP)
    raise ValueError(f"unknown operation {text!r}; known operations: {known}")


def _example(name: str) -> str:
    return next(usage for usage in OPERATION_HELP if usage.startswith(name))


def parse_angle(text: str) -> float:
    """Parse a rotation angle in degrees; raise ValueError."""
    try:
        degrees = float(text)
    except ValueError:
        raise ValueError(f"invalid angle {text!r}: expected degrees, such as 90 or -12.5") from None
    if degrees != degrees or degrees in (float("inf"), float("-inf")):
        raise ValueError(f"invalid angle {text!r}: expected a finite number of degrees")
    return degrees


@dataclass(frozen=True)
class Pipeline:
    """What to do to each image and how to write the result."""

    operations: tuple[Operation, ...] = ()
    auto_orient: bool = True
    output_format: str | None = None
    quality: int | None = None
    background: tuple[int, int, int] = (255, 255, 255)
    fill: tuple[int, ...] | None = None
    max_pixels: int | None = 178_956_970
    strip: bool = False
    keep: frozenset[str] | None = None
    to_srgb: bool = False
    strict: bool = False
    keep_mtime: bool = False
    lossless: str = "auto"
    gravity: str | None = None
    linear: bool = False
    encoder: tuple[tuple[str, object], ...] = ()
    extra_save_options: dict = field(default_factory=dict, hash=False, compare=False)

    @property
    def kept_metadata(self) -> frozenset[str]:
        """Return the metadata kinds to write: all by default, none with ``--strip``."""
        if self.strip:
            return frozenset()
        if self.keep is None:
            return frozenset(METADATA_KINDS)
        return self.keep

    @property
    def changes_geometry(self) -> bool:
        """Return True if the pipeline moves pixels so that Orientation must be reset."""
        return self.auto_orient or any(op.name in GEOMETRIC_OPERATIONS for op in self.operations)

    def transform(self, image: Image.Image) -> Image.Image:
        """Apply auto-orient (unless turned off) and then each operation in order."""
        if self.auto_orient:
            image = ops.auto_orient(image)
        for operation in self.operations:
            if operation.name in extra_ops.NAMES or (operation.name == "resize" and self.linear):
                image = extra_ops.apply(operation, image, self)
            else:
                image = operation.apply(image, self.fill)
        return image

    def describe(self) -> str:
        """Return a short text form, such as ``auto-orient rotate=90 resize=800x``."""
        steps = (["auto-orient"] if self.auto_orient else []) + [str(op) for op in self.operations]
        return " ".join(steps) or "(no operation)"

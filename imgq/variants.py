"""Variants: several outputs from one decode, named by a template (``--variant``).

A variant is ``GEOMETRY:TEMPLATE``, such as ``1600x1600>:{stem}-1600.jpg``.
Each image is decoded and transformed once; then every variant resizes a
copy to its geometry and writes it in the format its extension names.

Template fields:

``{stem}``     input file name without extension (``IMG_0001``)
``{ext}``      input extension without the dot (``jpg``)
``{name}``     input file name (``IMG_0001.jpg``)
``{relpath}``  input path under its input folder, without extension (``2024/IMG_0001``)
``{reldir}``   input folder under its input folder (``2024``; empty at the top)
``{width}``    the width of the variant's geometry (``1600``)
``{height}``   the height of the variant's geometry (``1600``)

Names are planned before any image is decoded, so ``{width}`` and
``{height}`` are the geometry's box, not the final size. A template is
resolved in the mirrored output folder of its input, unless it uses
``{reldir}`` or ``{relpath}``, which place it from the output root. A
name that would land outside the output folder is rejected.
"""

from __future__ import annotations

import os
import string
from dataclasses import dataclass

from imgq.formats import format_for_extension
from imgq.geometry import Geometry, parse_geometry

FIELDS = ("stem", "ext", "name", "relpath", "reldir", "width", "height")


@dataclass(frozen=True)
class Variant:
    """One extra output: a resize geometry and a file name template."""

    geometry: Geometry | None
    template: str
    output_format: str | None  # None: taken from each rendered name's extension

    def __str__(self) -> str:
        return f"{self.geometry or ''}:{self.template}"


@dataclass(frozen=True)
class VariantOutput:
    """A planned variant of one image: where it goes and through which temporary file."""

    geometry: Geometry | None
    output: str
    output_format: str
    temp: str


def parse_variant(text: str) -> Variant:
    """Parse ``GEOMETRY:TEMPLATE`` (the geometry may be empty); raise ValueError."""
    geometry_text, separator, template = text.partition(":")
    if not separator or not template.strip():
        raise ValueError(f"invalid variant {text!r}: expected GEOMETRY:TEMPLATE, such as '1600x1600>:{{stem}}-1600.jpg'")
    geometry = parse_geometry(geometry_text) if geometry_text.strip() else None

    template = template.strip()
    try:
        names = {field for _, field, _, _ in string.Formatter().parse(template) if field is not None}
    except ValueError as exc:
        raise ValueError(f"invalid variant template {template!r}: {exc}") from None
    unknown = names - set(FIELDS)
    if unknown:
        raise ValueError(
            f"invalid variant template {template!r}: unknown field {{{sorted(unknown)[0]}}}; "
            f"use {', '.join('{' + field + '}' for field in FIELDS)}"
        )
    if os.path.isabs(template) or ".." in template.replace("\\", "/").split("/"):
        raise ValueError(f"invalid variant template {template!r}: it must stay inside the output folder")

    fmt = format_for_extension(template)
    if fmt is None and not template.endswith(("{name}", "{ext}")):
        raise ValueError(
            f"invalid variant template {template!r}: end it with an image extension such as .jpg, "
            "or with {name} or .{ext} to keep the input's format"
        )
    return Variant(geometry, template, fmt)


def output_path(variant: Variant, source: str, root: str, output_root: str) -> str:
    """Return the output path of ``variant`` for ``source``; raise ValueError outside ``output_root``."""
    relative = os.path.relpath(source, root or ".")
    reldir = os.path.dirname(relative)
    name = os.path.basename(source)
    stem, ext = os.path.splitext(name)
    values = {
        "stem": stem,
        "ext": ext.lstrip("."),
        "name": name,
        "relpath": os.path.splitext(relative)[0],
        "reldir": reldir,
        "width": _side(variant.geometry, "width"),
        "height": _side(variant.geometry, "height"),
    }
    # An empty {reldir} at the top of the tree leaves a leading separator.
    rendered = variant.template.format(**values).lstrip("/" + os.sep)
    from_root = "{reldir}" in variant.template or "{relpath}" in variant.template
    folder = output_root if from_root else os.path.join(output_root, reldir)
    path = os.path.normpath(os.path.join(folder, rendered))

    inside = os.path.abspath(output_root)
    if os.path.commonpath([inside, os.path.abspath(path)]) != inside:
        raise ValueError(f"variant {variant.template!r} gives {path}, which is outside the output folder {output_root}")
    return path


def output_format(variant: Variant, path: str) -> str:
    """Return the format of ``variant``'s output at ``path``; raise ValueError when unknown."""
    fmt = variant.output_format or format_for_extension(path)
    if fmt is None:
        raise ValueError(f"variant {variant.template!r} gives {path}, whose extension names no writable format")
    return fmt


def _side(geometry: Geometry | None, side: str) -> str:
    value = getattr(geometry, side, None) if geometry is not None else None
    return "" if value is None else f"{value:g}"

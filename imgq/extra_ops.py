"""Operations beyond the core set: crop, extent, pad, fit, sharpen, blur, watermark, linear resize.

``parse`` reads them from ``--op NAME=ARGUMENT`` and ``apply`` runs them
with the pipeline's ``--gravity`` and ``--fill``. Each one is a pure
function of the image in ``layout``, ``filters`` or ``linear``.
"""

from __future__ import annotations

from PIL import Image

OPERATION_HELP = {
    "crop=WxH[+X+Y]": "cut out a box; without +X+Y it is placed by --gravity (default center)",
    "extent=WxH": "place on a WxH canvas of --fill colour by --gravity, cropping what does not fit",
    "pad=WxH": "place on a canvas at least WxH of --fill colour by --gravity; never crops",
    "fit=WxH": "scale to fit inside WxH and letterbox to exactly WxH with --fill",
    "sharpen[=R,P,T]": "unsharp mask: radius R pixels, P percent, threshold T [default: 2,150,3]",
    "blur=RADIUS": "Gaussian blur with a radius (standard deviation) in pixels",
    "watermark=PATH[,gravity=G,opacity=O,margin=M]": "overlay an image [default: south-east, 0.5, 10]",
}

NAMES = {"crop", "extent", "pad", "fit", "sharpen", "blur", "watermark"}


def parse(name: str, argument: str):
    """Return the parsed argument of extra operation ``name``; raise ValueError."""
    # Imported on first use, so that runs of the core operations never load
    # ImageFilter and ImageMath.
    from imgq import filters, layout

    if name == "crop":
        return layout.parse_box(argument)
    if name in {"extent", "pad", "fit"}:
        return layout.parse_box(argument, offset_allowed=False)
    if name == "sharpen":
        return filters.parse_sharpen(argument)
    if name == "blur":
        return filters.parse_radius(argument)
    if name == "watermark":
        return layout.parse_watermark(argument)
    raise AssertionError(f"unhandled operation {name!r}")


def apply(operation, image: Image.Image, pipeline) -> Image.Image:
    """Apply ``operation`` (an extra one, or resize with ``--linear``) to ``image``."""
    from imgq import filters, layout, linear

    name, argument = operation.name, operation.argument
    if name == "resize":
        size = argument.target_size(image.size)
        return image if size == image.size else linear.resize_linear(image, size)
    if name == "crop":
        return layout.crop(image, argument, pipeline.gravity)
    if name == "extent":
        return layout.extent(image, argument, pipeline.gravity, pipeline.fill)
    if name == "pad":
        return layout.pad(image, argument, pipeline.gravity, pipeline.fill)
    if name == "fit":
        resize = linear.resize_linear if pipeline.linear else None
        return layout.fit(image, argument, pipeline.gravity, pipeline.fill, resize)
    if name == "sharpen":
        return filters.sharpen(image, argument)
    if name == "blur":
        return filters.blur(image, argument)
    if name == "watermark":
        return layout.watermark(image, argument)
    raise AssertionError(f"unhandled operation {name!r}")

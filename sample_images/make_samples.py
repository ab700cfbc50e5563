"""Write the demo images in this folder: photo-like JPEGs, a PNG with alpha, a GIF.

The images are generated, not photographed, so that they can be committed
freely: smooth gradients, a few shapes with hard edges and mild noise, which
is how real photos behave for decoders and encoders. The JPEGs carry EXIF
Orientation 1, 3, 6 and 8 with the pixels stored as a camera would store
them, so that ``imgq auto-orient`` turns every one upright.

Usage: python sample_images/make_samples.py [FOLDER]
"""

from __future__ import annotations

import os
import random
import sys

from PIL import Image, ImageDraw, ImageFilter

SEED = 20261204

# Orientation value -> transpose that makes the stored raster from the upright scene.
_STORE_TRANSPOSE = {
    1: None,
    3: Image.Transpose.ROTATE_180,
    6: Image.Transpose.ROTATE_90,
    8: Image.Transpose.ROTATE_270,
}


def photo_like(size: tuple[int, int], rng: random.Random) -> Image.Image:
    """Draw an upright scene: sky gradient, ground, sun, a few boxes, mild noise."""
    width, height = size
    sky = Image.linear_gradient("L").resize(size)
    image = Image.merge("RGB", (sky.point(lambda v: 60 + v // 3), sky.point(lambda v: 110 + v // 3), Image.new("L", size, 230)))

    draw = ImageDraw.Draw(image)
    horizon = int(height * rng.uniform(0.55, 0.7))
    draw.rectangle((0, horizon, width, height), fill=(70, 120 + rng.randrange(40), 50))
    radius = width // 12
    sun_x, sun_y = int(width * rng.uniform(0.6, 0.85)), int(height * 0.2)
    draw.ellipse((sun_x - radius, sun_y - radius, sun_x + radius, sun_y + radius), fill=(250, 220, 120))
    for _ in range(6):
        left = rng.randrange(width - width // 6)
        top = rng.randrange(horizon - height // 5, horizon)
        colour = tuple(rng.randrange(40, 220) for _ in range(3))
        draw.rectangle((left, top, left + width // 8, top + height // 5), fill=colour, outline=(20, 20, 20), width=3)
    # A red marker in the top-left corner shows at a glance which way is up.
    draw.rectangle((0, 0, width // 10, height // 10), fill=(220, 30, 30))

    noise = Image.effect_noise(size, 12).convert("RGB")
    image = Image.blend(image, noise, 0.06)
    return image.filter(ImageFilter.SMOOTH)


def exif_for(orientation: int, model: str) -> Image.Exif:
    """Return EXIF naming a made-up camera, with the given Orientation."""
    exif = Image.Exif()
    exif[0x010F] = "imgq sample"  # Make
    exif[0x0110] = model  # Model
    exif[0x0132] = "2026:12:04 12:00:00"  # DateTime
    exif[0x0112] = orientation
    return exif


def write_samples(folder: str) -> None:
    """Write every sample image under ``folder``."""
    rng = random.Random(SEED)
    photos = [
        ("photos/2024/beach.jpg", (1600, 1200), 1),
        ("photos/2024/pier_upside_down.jpg", (1600, 1200), 3),
        ("photos/2024/portrait_rotated_cw.jpg", (1200, 1600), 6),
        ("photos/2025/tower_rotated_ccw.jpg", (1200, 1600), 8),
        ("photos/2025/small_landscape.jpg", (640, 480), 1),
        ("phone/IMG_0001.jpg", (1024, 768), 6),
    ]
    for relative, upright_size, orientation in photos:
        scene = photo_like(upright_size, rng)
        transpose = _STORE_TRANSPOSE[orientation]
        stored = scene.transpose(transpose) if transpose is not None else scene
        path = os.path.join(folder, relative)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        stored.save(path, quality=85, exif=exif_for(orientation, os.path.basename(relative)))

    graphics = os.path.join(folder, "graphics")
    os.makedirs(graphics, exist_ok=True)
    logo = Image.new("RGBA", (400, 300), (0, 0, 0, 0))
    draw = ImageDraw.Draw(logo)
    draw.ellipse((40, 30, 360, 270), fill=(30, 110, 200, 255))
    draw.rectangle((150, 100, 250, 200), fill=(255, 200, 0, 160))
    logo.save(os.path.join(graphics, "logo_alpha.png"))

    palette = photo_like((320, 240), rng).convert("P", palette=Image.Palette.ADAPTIVE, colors=64)
    palette.save(os.path.join(graphics, "poster_palette.gif"))


if __name__ == "__main__":
    write_samples(sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__)))

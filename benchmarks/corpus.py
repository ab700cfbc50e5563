"""Benchmark corpus: seeded, photo-like test images that decode like real photos.

Pure noise decodes far more slowly than photographs, because the entropy
coder has nothing to compress, so the images here are mostly smooth
gradients with hard-edged shapes and a mild noise layer, as camera JPEGs are.
The same seed and sizes give byte-identical files with the same Pillow build.
"""

from __future__ import annotations

import os
import random
import shutil
from dataclasses import dataclass

from PIL import Image, ImageChops, ImageDraw, ImageFilter

ORIENTATION_TAG = 0x0112

# The stored raster of a 12-megapixel camera photo, and of a 2-megapixel one.
LARGE = (4000, 3000)
SMALL = (1632, 1224)
PNG_SIZE = (1600, 1200)
TINY = (64, 64)

# EXIF Orientation values given to every third JPEG, in turn.
ORIENTATIONS = (6, 8, 3)

# Part of the marker of a finished corpus: change it when the drawing changes.
GENERATOR_VERSION = 2

NOISE_TILE = 256
NOISE_AMPLITUDE = 10


@dataclass(frozen=True)
class CorpusSpec:
    """How many images of each kind to make, and the seed that fixes their content."""

    large_jpegs: int = 24
    small_jpegs: int = 12
    pngs: int = 12
    tiny_jpegs: int = 10_000
    seed: int = 2024
    scale: float = 1.0

    def size(self, size: tuple[int, int]) -> tuple[int, int]:
        """Return ``size`` scaled down by ``scale`` (1.0 for the real benchmark)."""
        return max(8, round(size[0] * self.scale)), max(8, round(size[1] * self.scale))


@dataclass(frozen=True)
class ImageInfo:
    """One generated file and what a tool should see in it."""

    path: str
    size: tuple[int, int]
    orientation: int

    @property
    def upright_size(self) -> tuple[int, int]:
        """Return the size after auto-orient: swapped for Orientation 5 to 8."""
        return self.size[::-1] if self.orientation >= 5 else self.size

    @property
    def megapixels(self) -> float:
        """Return the stored raster's size in megapixels."""
        return self.size[0] * self.size[1] / 1e6


@dataclass
class Corpus:
    """The generated folders: JPEGs for R, T and L, PNGs for C, tiny JPEGs for S."""

    root: str
    jpegs: list[ImageInfo]
    pngs: list[ImageInfo]
    tiny: list[ImageInfo]
    # Where job S reads the tiny JPEGs, when they were copied to a memory
    # filesystem; empty for the folder under ``root``.
    tiny_copy: str = ""

    @property
    def jpeg_dir(self) -> str:
        return os.path.join(self.root, "jpeg")

    @property
    def png_dir(self) -> str:
        return os.path.join(self.root, "png")

    @property
    def tiny_dir(self) -> str:
        return self.tiny_copy or os.path.join(self.root, "tiny")


def photo_like(size: tuple[int, int], rng: random.Random, alpha: bool = False) -> Image.Image:
    """Draw a photo-like image: smooth gradients, hard-edged shapes and mild noise."""
    width, height = size
    image = _gradient_background(size, rng)

    overlay = Image.new("RGB", size)
    mask = Image.new("L", size, 0)
    draw = ImageDraw.Draw(overlay)
    mask_draw = ImageDraw.Draw(mask)
    for _ in range(12):
        box = _random_box(width, height, rng)
        colour = tuple(rng.randrange(256) for _ in range(3))
        if rng.random() < 0.5:
            draw.ellipse(box, fill=colour)
            mask_draw.ellipse(box, fill=rng.randrange(120, 256))
        else:
            points = [(rng.randrange(width), rng.randrange(height)) for _ in range(rng.randrange(3, 7))]
            draw.polygon(points, fill=colour)
            mask_draw.polygon(points, fill=rng.randrange(120, 256))
    # A slight blur on the shapes' mask gives soft and hard edges, as a lens does.
    image.paste(overlay, mask=mask.filter(ImageFilter.GaussianBlur(rng.choice((0, 1, 3)))))

    image = _add_noise(image, rng)
    if alpha:
        image.putalpha(_alpha_mask(size, rng))
    return image


def _gradient_background(size: tuple[int, int], rng: random.Random) -> Image.Image:
    bands = []
    for _ in range(3):
        gradient = Image.linear_gradient("L") if rng.random() < 0.5 else Image.radial_gradient("L")
        gradient = gradient.rotate(rng.randrange(360), resample=Image.Resampling.BILINEAR)
        low, high = sorted(rng.randrange(256) for _ in range(2))
        gradient = gradient.point(lambda value, low=low, high=high: low + value * (high - low) // 255)
        bands.append(gradient.resize(size, Image.Resampling.BICUBIC))
    return Image.merge("RGB", bands)


def _random_box(width: int, height: int, rng: random.Random) -> tuple[int, int, int, int]:
    left, top = rng.randrange(width), rng.randrange(height)
    right = min(width, left + rng.randrange(width // 10 + 1, width // 2 + 2))
    bottom = min(height, top + rng.randrange(height // 10 + 1, height // 2 + 2))
    return left, top, right, bottom


def _add_noise(image: Image.Image, rng: random.Random) -> Image.Image:
    """Add a tiled luminance noise of +-NOISE_AMPLITUDE/2 levels."""
    levels = bytes(value * (NOISE_AMPLITUDE + 1) // 256 for value in range(256))
    tile = Image.frombytes("L", (NOISE_TILE, NOISE_TILE), rng.randbytes(NOISE_TILE * NOISE_TILE).translate(levels))
    noise = Image.new("L", image.size)
    for top in range(0, image.height, NOISE_TILE):
        for left in range(0, image.width, NOISE_TILE):
            noise.paste(tile, (left, top))
    noise = Image.merge("RGB", (noise, noise, noise))
    return ImageChops.add(image, noise, scale=1.0, offset=-(NOISE_AMPLITUDE // 2))


def _alpha_mask(size: tuple[int, int], rng: random.Random) -> Image.Image:
    mask = Image.new("L", size, 255)
    draw = ImageDraw.Draw(mask)
    for _ in range(4):
        draw.ellipse(_random_box(size[0], size[1], rng), fill=rng.randrange(0, 200))
    return mask


def generate(root: str, spec: CorpusSpec) -> Corpus:
    """Write the corpus under ``root`` unless a finished one for ``spec`` is there.

    A marker file names the spec and the generator's version, so a corpus
    made with other counts or an older drawing is replaced rather than reused.
    """
    marker = os.path.join(root, "COMPLETE")
    corpus = Corpus(root, [], [], [])
    done = _read(marker) == _marker_text(spec)
    for folder in (corpus.jpeg_dir, corpus.png_dir, corpus.tiny_dir):
        if not done:
            # Files of an earlier, larger corpus would otherwise stay and be timed.
            shutil.rmtree(folder, ignore_errors=True)
        os.makedirs(folder, exist_ok=True)

    rng = random.Random(spec.seed)
    _make_jpegs(corpus, spec, rng, write=not done)
    _make_pngs(corpus, spec, rng, write=not done)
    _make_tiny(corpus, spec, rng, write=not done)

    if not done:
        with open(marker, "w", encoding="utf-8") as stream:
            stream.write(_marker_text(spec))
    return corpus


def _make_jpegs(corpus: Corpus, spec: CorpusSpec, rng: random.Random, write: bool) -> None:
    kinds = [LARGE] * spec.large_jpegs + [SMALL] * spec.small_jpegs
    for number, base in enumerate(kinds):
        # Alternate landscape and portrait rasters; tag every third file.
        size = spec.size(base if number % 2 == 0 else base[::-1])
        orientation = ORIENTATIONS[(number // 3) % len(ORIENTATIONS)] if number % 3 == 2 else 1
        path = os.path.join(corpus.jpeg_dir, f"photo-{number:03d}.jpg")
        seed = rng.randrange(2**32)
        corpus.jpegs.append(ImageInfo(path, size, orientation))
        if write:
            image = photo_like(size, random.Random(seed))
            exif = Image.Exif()
            exif[ORIENTATION_TAG] = orientation
            image.save(path, "JPEG", quality=92, exif=exif.tobytes())


def _make_pngs(corpus: Corpus, spec: CorpusSpec, rng: random.Random, write: bool) -> None:
    for number in range(spec.pngs):
        alpha = number % 2 == 1
        size = spec.size(PNG_SIZE if number % 2 == 0 else PNG_SIZE[::-1])
        path = os.path.join(corpus.png_dir, f"graphic-{number:03d}.png")
        seed = rng.randrange(2**32)
        corpus.pngs.append(ImageInfo(path, size, 1))
        if write:
            photo_like(size, random.Random(seed), alpha=alpha).save(path, "PNG", compress_level=6)


def _make_tiny(corpus: Corpus, spec: CorpusSpec, rng: random.Random, write: bool) -> None:
    if spec.tiny_jpegs == 0:
        return
    seed = rng.randrange(2**32)
    sheet = photo_like((TINY[0] * 16, TINY[1] * 16), random.Random(seed)) if write else None
    for number in range(spec.tiny_jpegs):
        # 100 files per folder, as on a camera card or in an export tree.
        folder = os.path.join(corpus.tiny_dir, f"{number // 100:03d}")
        path = os.path.join(folder, f"tiny-{number:05d}.jpg")
        corpus.tiny.append(ImageInfo(path, TINY, 1))
        if write:
            os.makedirs(folder, exist_ok=True)
            left, top = (number % 16) * TINY[0], (number // 16 % 16) * TINY[1]
            sheet.crop((left, top, left + TINY[0], top + TINY[1])).save(path, "JPEG", quality=90)


def _marker_text(spec: CorpusSpec) -> str:
    return f"generator {GENERATOR_VERSION}: {spec!r}"


def _read(path: str) -> str | None:
    try:
        with open(path, encoding="utf-8") as stream:
            return stream.read()
    except OSError:
        return None

"""Differential tests against ImageMagick: quarter turns, flips and auto-orient exact, resizes by PSNR."""

from __future__ import annotations

import math
import shutil
import subprocess

import pytest
from PIL import Image, ImageChops, ImageStat

# Lanczos in Pillow and ImageMagick differ in support and edge handling, so
# resized pixels are compared by PSNR; 35 dB is "visually the same" and far
# above what a wrong size, a shift or a swapped axis scores (under 20 dB).
MIN_RESIZE_PSNR = 35.0

ORIENTATION_SAMPLES = ["hopper.jpg"] + [f"hopper_orientation_{tag}.jpg" for tag in range(2, 9)]


def magick_output(magick, source, arguments, target):
    subprocess.run([*magick, str(source), *arguments, str(target)], check=True, capture_output=True)
    with Image.open(target) as image:
        return image.convert("RGB")


def psnr(first: Image.Image, second: Image.Image) -> float:
    squares = ImageStat.Stat(ImageChops.difference(first, second).point(lambda value: value * value)).mean
    mean_square = sum(squares) / len(squares)
    return math.inf if mean_square == 0 else 10 * math.log10(255 * 255 / mean_square)


def test_auto_orient_matches_imagemagick(corpus, magick, imgq, tmp_path):
    (tmp_path / "in").mkdir()
    for name in ORIENTATION_SAMPLES:
        shutil.copy(corpus / name, tmp_path / "in" / name)
    run = imgq("auto-orient", tmp_path / "in", "-o", f"{tmp_path / 'out'}/", "--format", "png")
    assert run.returncode == 0, run.stderr

    for name in ORIENTATION_SAMPLES:
        expected = magick_output(magick, tmp_path / "in" / name, ["-auto-orient"], tmp_path / "magick.png")
        with Image.open(tmp_path / "out" / name.replace(".jpg", ".png")) as image:
            assert ImageChops.difference(image.convert("RGB"), expected).getbbox() is None, name


TRANSFORMS = [
    (["rotate", "90"], ["-rotate", "90"]),
    (["rotate", "180"], ["-rotate", "180"]),
    (["rotate", "270"], ["-rotate", "270"]),
    (["rotate", "-90"], ["-rotate", "-90"]),
    (["flip"], ["-flip"]),
    (["flop"], ["-flop"]),
]


@pytest.mark.parametrize("command, magick_arguments", TRANSFORMS, ids=lambda value: " ".join(value))
def test_transform_matches_imagemagick(corpus, magick, imgq, tmp_path, command, magick_arguments):
    shutil.copy(corpus / "hopper.png", tmp_path / "h.png")
    shutil.copy(corpus / "hopper_gray.jpg", tmp_path / "g.jpg")
    run = imgq(*command, tmp_path / "h.png", tmp_path / "g.jpg", "-o", f"{tmp_path / 'out'}/", "--format", "png")
    assert run.returncode == 0, run.stderr

    for name in ("h", "g"):
        source = tmp_path / ("h.png" if name == "h" else "g.jpg")
        expected = magick_output(magick, source, magick_arguments, tmp_path / "magick.png")
        with Image.open(tmp_path / "out" / f"{name}.png") as image:
            assert ImageChops.difference(image.convert("RGB"), expected).getbbox() is None, name


@pytest.mark.parametrize("geometry", ["64x64", "50%", "200x100!", "300x300"])
def test_resize_close_to_imagemagick(corpus, magick, imgq, tmp_path, geometry):
    shutil.copy(corpus / "hopper.png", tmp_path / "h.png")
    run = imgq("resize", geometry, tmp_path / "h.png", "-o", f"{tmp_path / 'out'}/")
    assert run.returncode == 0, run.stderr

    expected = magick_output(magick, tmp_path / "h.png", ["-filter", "Lanczos", "-resize", geometry],
                             tmp_path / "magick.png")
    with Image.open(tmp_path / "out" / "h.png") as image:
        assert image.size == expected.size
        assert psnr(image.convert("RGB"), expected) >= MIN_RESIZE_PSNR

"""The reproductions for orientation, alpha to JPEG, 16-bit scaling and animated GIF, with their values."""

from __future__ import annotations

import subprocess
import sys

import pytest
from PIL import Image, ImageStat

EXIF_MAKE = 0x010F
EXIF_DATETIME = 0x0132
ORIENTATION = 0x0112


def generate(cases, name, folder):
    """Run a case's gen.py into ``folder`` and return the folder."""
    subprocess.run([sys.executable, str(cases / name / "gen.py"), str(folder)], check=True)
    return folder


def close(pixel, expected, tolerance):
    return all(abs(a - b) <= tolerance for a, b in zip(pixel, expected))


# ---------------------------------------------------------------- 01 EXIF orientation


@pytest.mark.parametrize("fmt", ["jpg", "webp"])
def test_orientation_case_upright(cases, imgq, tmp_path, fmt):
    source = generate(cases, "01-exif-orientation", tmp_path / "in")
    run = imgq("convert", fmt, source, "-o", f"{tmp_path / 'out'}/", "-j", "1")
    assert run.returncode == 0, run.stderr

    for tag in (1, 3, 5, 6, 8):
        with Image.open(tmp_path / "out" / f"orient_{tag}.{fmt}") as image:
            assert image.size == (200, 300), tag
            rgb = image.convert("RGB")
            assert close(rgb.getpixel((20, 20)), (255, 0, 0), 40), tag
            assert close(rgb.getpixel((180, 280)), (0, 0, 255), 40), tag
            assert close(rgb.getpixel((100, 150)), (128, 128, 128), 20), tag
            exif = image.getexif()
            assert exif.get(ORIENTATION, 1) == 1, tag
            assert exif.get(EXIF_MAKE) == "imgq-test", tag
            assert exif.get(EXIF_DATETIME) == "2024:01:02 03:04:05", tag


def test_orientation_case_idempotent(cases, imgq, tmp_path):
    source = generate(cases, "01-exif-orientation", tmp_path / "in")
    assert imgq("auto-orient", source, "-o", f"{tmp_path / 'once'}/", "-j", "1").returncode == 0
    assert imgq("auto-orient", tmp_path / "once", "-o", f"{tmp_path / 'twice'}/", "-j", "1").returncode == 0

    for tag in (1, 3, 5, 6, 8):
        with Image.open(tmp_path / "twice" / f"orient_{tag}.jpg") as image:
            assert image.size == (200, 300)
            assert close(image.getpixel((20, 20)), (255, 0, 0), 40)
            assert close(image.getpixel((180, 280)), (0, 0, 255), 40)


# ---------------------------------------------------------------- 03 alpha to JPEG

ALPHA_FILES = ["rgba_half.png", "rgba_semi.png", "la_half.png", "p_trns_half.png", "p_trns_half.gif"]


def test_alpha_case_to_jpeg(cases, imgq, tmp_path):
    source = generate(cases, "03-alpha-to-jpeg", tmp_path / "in")
    # The .png and .gif palette files share a stem, so each goes to its own folder.
    outputs = {}
    for name in ALPHA_FILES:
        target = tmp_path / "out" / name.replace(".", "_")
        run = imgq("convert", "jpg", source / name, "-o", f"{target}/", "-j", "1")
        assert run.returncode == 0, run.stderr
        outputs[name] = target / (name.rsplit(".", 1)[0] + ".jpg")

    for name, path in outputs.items():
        with Image.open(path) as image:
            assert image.size == (64, 64)
            rgb = image.convert("RGB")
            if name == "rgba_semi.png":
                assert close(rgb.getpixel((32, 32)), (255, 127, 127), 10)
                continue
            assert close(rgb.getpixel((48, 32)), (255, 255, 255), 8), name
            opaque = (100, 100, 100) if name.startswith("la_") else (255, 0, 0)
            assert close(rgb.getpixel((16, 32)), opaque, 10), name


def test_alpha_case_background_option(cases, imgq, tmp_path):
    source = generate(cases, "03-alpha-to-jpeg", tmp_path / "in")
    run = imgq("convert", "jpg", source / "rgba_half.png", "-o", f"{tmp_path / 'out'}/", "--background", "#0000ff")
    assert run.returncode == 0, run.stderr

    with Image.open(tmp_path / "out" / "rgba_half.jpg") as image:
        assert close(image.getpixel((48, 32)), (0, 0, 255), 10)


@pytest.mark.parametrize("fmt", ["png", "webp"])
def test_alpha_case_kept_in_alpha_formats(cases, imgq, tmp_path, fmt):
    source = generate(cases, "03-alpha-to-jpeg", tmp_path / "in")
    for name in ALPHA_FILES:
        target = tmp_path / "out" / name.replace(".", "_")
        run = imgq("convert", fmt, source / name, "-o", f"{target}/", "-j", "1")
        assert run.returncode == 0, run.stderr
        with Image.open(target / (name.rsplit(".", 1)[0] + "." + fmt)) as image:
            alpha = image.convert("RGBA").getpixel((48, 32))[3]
            expected = 128 if name == "rgba_semi.png" else 0
            assert abs(alpha - expected) <= 1, name


# ---------------------------------------------------------------- 05 16-bit scaling


@pytest.mark.parametrize("fmt", ["jpg", "webp"])
def test_sixteen_bit_case_scaled(cases, imgq, tmp_path, fmt):
    source = generate(cases, "05-16bit-clipping", tmp_path / "in")
    run = imgq("convert", fmt, source, "-o", f"{tmp_path / 'out'}/", "-j", "1")
    assert run.returncode == 0, run.stderr

    with Image.open(tmp_path / "out" / f"ramp16.{fmt}") as image:
        grey = image.convert("L")
        assert grey.size == (256, 8)
        for x in (0, 64, 128, 200, 255):
            assert abs(grey.getpixel((x, 4)) - x) <= 2, x
        assert abs(ImageStat.Stat(grey).mean[0] - 127.5) <= 2
    with Image.open(tmp_path / "out" / f"const4660.{fmt}") as image:
        low, high = image.convert("L").getextrema()
        assert low >= 17
        assert high <= 19


def test_sixteen_bit_case_resized_scaled(cases, imgq, tmp_path):
    source = generate(cases, "05-16bit-clipping", tmp_path / "in")
    run = imgq("resize", "128x4!", source / "ramp16.png", "-o", f"{tmp_path / 'out'}/", "--format", "jpg")
    assert run.returncode == 0, run.stderr

    with Image.open(tmp_path / "out" / "ramp16.jpg") as image:
        mean = ImageStat.Stat(image.convert("L")).mean[0]
        assert abs(mean - 127.5) <= 3


def test_sixteen_bit_case_png_keeps_depth(cases, imgq, tmp_path):
    source = generate(cases, "05-16bit-clipping", tmp_path / "in")
    run = imgq("rotate", "180", source, "-o", f"{tmp_path / 'out'}/", "-j", "1")
    assert run.returncode == 0, run.stderr

    with Image.open(tmp_path / "out" / "ramp16.png") as image:
        assert image.mode.startswith("I")
        assert image.getpixel((0, 0)) == 255 * 257
        assert image.getpixel((255, 0)) == 0
    with Image.open(tmp_path / "out" / "const4660.png") as image:
        assert image.getextrema() == (4660, 4660)


# ---------------------------------------------------------------- 07 animated GIF

ANIMATION_COLOURS = [(255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 255)]


def frames_of(path):
    with Image.open(path) as image:
        frames = []
        for index in range(image.n_frames):
            image.seek(index)
            frames.append((image.convert("RGB"), image.info.get("duration"), image.info.get("loop")))
        return frames


def test_animation_case_resize_keeps_frames(cases, imgq, tmp_path):
    source = generate(cases, "07-animated-gif", tmp_path / "in")
    run = imgq("resize", "32x24", source, "-o", f"{tmp_path / 'out'}/", "-j", "1")
    assert run.returncode == 0, run.stderr

    frames = frames_of(tmp_path / "out" / "anim4.gif")
    assert len(frames) == 4
    assert [duration for _, duration, _ in frames] == [100, 200, 300, 400]
    with Image.open(tmp_path / "out" / "anim4.gif") as image:
        assert image.info.get("loop") == 0
    for (frame, _, _), colour in zip(frames, ANIMATION_COLOURS):
        assert frame.size == (32, 24)
        assert close(frame.getpixel((24, 16)), colour, 16)


@pytest.mark.parametrize("fmt", ["gif", "webp", "png"])
def test_animation_case_rotate_keeps_timing(cases, imgq, tmp_path, fmt):
    source = generate(cases, "07-animated-gif", tmp_path / "in")
    run = imgq("rotate", "90", source, "-o", f"{tmp_path / 'out'}/", "--format", fmt, "-j", "1")
    assert run.returncode == 0, run.stderr

    path = tmp_path / "out" / f"anim4.{fmt}"
    frames = frames_of(path)
    assert len(frames) == 4
    assert sum(duration for _, duration, _ in frames) == pytest.approx(1000, abs=1)
    with Image.open(path) as image:
        assert image.info.get("loop") == 0
    for index, ((frame, _, _), colour) in enumerate(zip(frames, ANIMATION_COLOURS)):
        assert frame.size == (48, 64)
        assert close(frame.getpixel((24, 40)), colour, 16)
        # The black block of frame i sits at x=8i..8i+7, y=0..7 before the turn;
        # a clockwise quarter turn moves it to the right edge, at y=8i..8i+7.
        assert close(frame.getpixel((43, 8 * index + 3)), (0, 0, 0), 40)


def test_animation_case_still_output_warns(cases, imgq, tmp_path):
    source = generate(cases, "07-animated-gif", tmp_path / "in")
    run = imgq("convert", "jpg", source, "-o", f"{tmp_path / 'out'}/", "-j", "1")
    assert run.returncode == 0, run.stderr
    assert "anim4.gif" in run.stderr
    assert "first of 4 frames" in run.stderr

    with Image.open(tmp_path / "out" / "anim4.jpg") as image:
        assert close(image.getpixel((32, 24)), (255, 0, 0), 16)


def test_animation_case_strict_fails(cases, imgq, tmp_path):
    source = generate(cases, "07-animated-gif", tmp_path / "in")
    run = imgq("convert", "jpg", source, "-o", f"{tmp_path / 'out'}/", "--strict", "-j", "1")
    assert run.returncode == 1
    assert len(run.error_lines) == 1
    assert "anim4.gif" in run.error_lines[0]
    assert "the image has 4 frames and JPEG holds only one (--strict)" in run.error_lines[0]
    assert not (tmp_path / "out" / "anim4.jpg").exists()

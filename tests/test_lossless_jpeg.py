"""Lossless JPEG rotation and flips through jpegtran, compared with jpegtran itself."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest
from PIL import Image, ImageChops, ImageOps, ImageStat

ORIENTATION = 0x0112
MAKE = 0x010F

JPEGTRAN_FOR_ORIENTATION = {
    1: [],
    2: ["-flip", "horizontal"],
    3: ["-rotate", "180"],
    4: ["-flip", "vertical"],
    5: ["-transpose"],
    6: ["-rotate", "90"],
    7: ["-transverse"],
    8: ["-rotate", "270"],
}


@pytest.fixture
def jpegtran():
    path = shutil.which("jpegtran")
    if path is None:
        pytest.skip("jpegtran is not installed (Debian package libjpeg-turbo-progs); .ci/run installs it")
    return path


def photo(size=(64, 48)) -> Image.Image:
    """Return a detailed picture, so that any lost generation shows in the pixels."""
    width, height = size
    image = Image.linear_gradient("L").resize(size).convert("RGB")
    image.paste((255, 0, 0), (0, 0, width // 4, height // 4))
    image.paste((0, 0, 255), (width * 3 // 4, height * 3 // 4, width, height))
    return image.effect_spread(3)


def write_jpeg(path, orientation=1, size=(64, 48), icc=None):
    exif = Image.Exif()
    exif[MAKE] = "imgq-test"
    exif[ORIENTATION] = orientation
    photo(size).save(path, quality=85, exif=exif, icc_profile=icc, comment=b"lossless")


def decoded(path) -> Image.Image:
    with Image.open(path) as image:
        return image.convert("RGB")


def jpegtran_output(jpegtran, source, arguments, target):
    with open(target, "wb") as stream:
        subprocess.run([jpegtran, "-copy", "none", *arguments, str(source)], stdout=stream, check=True)
    return target


def test_rotation_equals_jpegtran(jpegtran, corpus, imgq, tmp_path):
    (tmp_path / "in").mkdir()
    with Image.open(corpus / "pil_sample_rgb.jpg") as reference:
        profile = reference.info["icc_profile"]
    write_jpeg(tmp_path / "in" / "p.jpg", icc=profile)
    run = imgq("rotate", "90", tmp_path / "in", "-o", tmp_path / "out", "--lossless", "require")
    assert run.returncode == 0, run.stderr

    expected = jpegtran_output(jpegtran, tmp_path / "in" / "p.jpg", ["-rotate", "90"], tmp_path / "jt.jpg")
    assert ImageChops.difference(decoded(tmp_path / "out" / "p.jpg"), decoded(expected)).getbbox() is None
    with Image.open(tmp_path / "out" / "p.jpg") as image:
        assert image.size == (48, 64)
        assert image.info["icc_profile"] == profile
        assert image.info["comment"] == b"lossless"
        exif = image.getexif()
        assert exif[MAKE] == "imgq-test"
        assert exif.get(ORIENTATION, 1) == 1


@pytest.mark.parametrize("orientation", range(1, 9))
def test_auto_orient_equals_jpegtran(jpegtran, imgq, tmp_path, orientation):
    (tmp_path / "in").mkdir()
    write_jpeg(tmp_path / "in" / "o.jpg", orientation)
    run = imgq("auto-orient", tmp_path / "in", "-o", tmp_path / "out", "--lossless", "require")
    assert run.returncode == 0, run.stderr

    arguments = JPEGTRAN_FOR_ORIENTATION[orientation]
    expected = jpegtran_output(jpegtran, tmp_path / "in" / "o.jpg", arguments, tmp_path / "jt.jpg")
    output = decoded(tmp_path / "out" / "o.jpg")
    assert ImageChops.difference(output, decoded(expected)).getbbox() is None
    # Independent of jpegtran's option names: close to Pillow's own transpose.
    with Image.open(tmp_path / "in" / "o.jpg") as original:
        upright = ImageOps.exif_transpose(original).convert("RGB")
    assert output.size == upright.size
    assert max(ImageStat.Stat(ImageChops.difference(output, upright)).mean) < 2


def test_chain_composes_to_one_transform(jpegtran, imgq, tmp_path):
    (tmp_path / "in").mkdir()
    write_jpeg(tmp_path / "in" / "c.jpg", orientation=6)
    run = imgq("run", tmp_path / "in", "-o", tmp_path / "out", "--op", "rotate=90", "--op", "flop",
               "--lossless", "require")
    assert run.returncode == 0, run.stderr

    # Orientation 6 (a clockwise turn), another clockwise turn, then a
    # left-right mirror: the same as a top-bottom mirror of the stored raster.
    expected = jpegtran_output(jpegtran, tmp_path / "in" / "c.jpg", ["-flip", "vertical"], tmp_path / "jt.jpg")
    assert ImageChops.difference(decoded(tmp_path / "out" / "c.jpg"), decoded(expected)).getbbox() is None


def test_rotate_round_trip_bit_exact(jpegtran, imgq, tmp_path):
    (tmp_path / "in").mkdir()
    write_jpeg(tmp_path / "in" / "r.jpg", size=(128, 96))
    assert imgq("rotate", "90", tmp_path / "in", "-o", tmp_path / "once").returncode == 0
    assert imgq("rotate", "270", tmp_path / "once", "-o", tmp_path / "back").returncode == 0

    original = decoded(tmp_path / "in" / "r.jpg")
    assert ImageChops.difference(original, decoded(tmp_path / "back" / "r.jpg")).getbbox() is None


def test_unaligned_size_re_encoded_with_note(jpegtran, imgq, tmp_path):
    (tmp_path / "in").mkdir()
    write_jpeg(tmp_path / "in" / "u.jpg", size=(60, 44))
    run = imgq("rotate", "90", tmp_path / "in", "-o", tmp_path / "out")
    assert run.returncode == 0, run.stderr
    assert "u.jpg" in run.stderr
    assert "60x44 is not a multiple of the 16x16 MCU" in run.stderr

    with Image.open(tmp_path / "out" / "u.jpg") as image:
        assert image.size == (44, 60)


def test_require_fails_on_unaligned_size(jpegtran, imgq, tmp_path):
    (tmp_path / "in").mkdir()
    write_jpeg(tmp_path / "in" / "u.jpg", size=(60, 44))
    write_jpeg(tmp_path / "in" / "v.jpg", size=(64, 48))
    run = imgq("rotate", "90", tmp_path / "in", "-o", tmp_path / "out", "--lossless", "require")
    assert run.returncode == 1
    assert len(run.error_lines) == 1
    assert "u.jpg" in run.error_lines[0]
    assert "MCU" in run.error_lines[0]
    assert (tmp_path / "out" / "v.jpg").exists()
    assert not (tmp_path / "out" / "u.jpg").exists()


def test_require_rejects_lossy_operation(imgq, tmp_path):
    (tmp_path / "in").mkdir()
    write_jpeg(tmp_path / "in" / "a.jpg")
    run = imgq("resize", "50%", tmp_path / "in", "-o", tmp_path / "out", "--lossless", "require")
    assert run.returncode == 2
    assert "--lossless require" in run.stderr


def test_never_re_encodes(jpegtran, imgq, tmp_path):
    (tmp_path / "in").mkdir()
    write_jpeg(tmp_path / "in" / "n.jpg")
    run = imgq("rotate", "90", tmp_path / "in", "-o", tmp_path / "out", "--lossless", "never", "--quality", "50")
    assert run.returncode == 0, run.stderr

    expected = jpegtran_output(jpegtran, tmp_path / "in" / "n.jpg", ["-rotate", "90"], tmp_path / "jt.jpg")
    assert ImageChops.difference(decoded(tmp_path / "out" / "n.jpg"), decoded(expected)).getbbox() is not None


def test_missing_jpegtran_named(imgq, tmp_path):
    (tmp_path / "in").mkdir()
    write_jpeg(tmp_path / "in" / "a.jpg")
    # A PATH without jpegtran: only the folder of this Python.
    env = dict(os.environ, PATH=os.path.dirname(sys.executable))
    run = imgq("rotate", "90", tmp_path / "in", "-o", tmp_path / "require", "--lossless", "require", env=env)
    assert run.returncode == 1
    assert "libjpeg-turbo-progs" in run.error_lines[0]

    run = imgq("rotate", "90", tmp_path / "in", "-o", tmp_path / "auto", env=env)
    assert run.returncode == 0, run.stderr
    with Image.open(tmp_path / "auto" / "a.jpg") as image:
        assert image.size == (48, 64)


def test_missing_jpegtran_warned_once(imgq, tmp_path):
    (tmp_path / "in").mkdir()
    for index in range(3):
        write_jpeg(tmp_path / "in" / f"p{index}.jpg")
    empty = tmp_path / "empty-path"
    empty.mkdir()

    run = imgq("rotate", "90", tmp_path / "in", "-o", tmp_path / "out", env=dict(os.environ, PATH=str(empty)))

    assert run.returncode == 0, run.stderr
    warnings = [line for line in run.stderr.splitlines() if "re-encoded, not transformed losslessly" in line]
    assert len(warnings) == 1
    assert "libjpeg-turbo-progs" in warnings[0]
    assert len(list((tmp_path / "out").iterdir())) == 3

"""The real-world corpus: every file is written or reported with a reason, never a hang."""

from __future__ import annotations

import csv
import shutil

import pytest
from PIL import Image, ImageChops, ImageStat

from conftest import temp_files

# Files a folder walk passes over: the manifest, notes, and an ICC profile.
NOT_IMAGES = {"MANIFEST.tsv", "SOURCES.md", "sGrey-v2-nano.icc"}

# Inputs in formats Pillow cannot write come out as PNG.
RENAMED = {"rgba.psd": "rgba.png"}


def manifest(corpus):
    with open(corpus / "MANIFEST.tsv", newline="", encoding="utf-8") as stream:
        return list(csv.DictReader(stream, delimiter="\t"))


def expected_rejects(corpus) -> set[str]:
    return {row["file"] for row in manifest(corpus) if row["expected"].startswith("reject")}


def test_every_corpus_file_accounted_for(tmp_path, imgq, corpus):
    run = imgq("auto-orient", corpus, "-o", tmp_path / "out", "-j", "2")

    assert "Traceback" not in run.stderr
    assert run.returncode == 1
    images = sorted(RENAMED.get(path.name, path.name) for path in corpus.iterdir() if path.name not in NOT_IMAGES)
    written = {path.name for path in (tmp_path / "out").iterdir()}
    failed = {line.split(": ", 2)[1].rsplit("/", 1)[-1] for line in run.error_lines}

    assert written.isdisjoint(failed)
    assert sorted(written | failed) == images
    assert failed == expected_rejects(corpus)
    for line in run.error_lines:
        assert len(line.split(": ", 2)[2]) > 10, line
    assert temp_files(tmp_path / "out") == []


def test_rejects_named_one_by_one(tmp_path, imgq, corpus):
    for name in sorted(expected_rejects(corpus)):
        run = imgq("rotate", "90", corpus / name, "-o", tmp_path / "out", "-j", "1")

        assert run.returncode == 1, name
        assert len(run.error_lines) == 1, run.stderr
        assert name in run.error_lines[0]
        assert "Traceback" not in run.stderr
        assert not (tmp_path / "out" / name).exists()
    assert temp_files(tmp_path / "out") == []


def test_icc_profile_file_named_directly_is_rejected(tmp_path, imgq, corpus):
    run = imgq("rotate", "90", corpus / "sGrey-v2-nano.icc", "-o", tmp_path / "out")

    assert run.returncode == 1
    assert run.error_lines == [f"imgq: {corpus / 'sGrey-v2-nano.icc'}: not an image, or a format Pillow cannot read"]


def grey_thumbnail(path) -> Image.Image:
    with Image.open(path) as image:
        return image.convert("L").resize((48, 48), Image.Resampling.BILINEAR)


def mean_difference(first: Image.Image, second: Image.Image) -> float:
    return ImageStat.Stat(ImageChops.difference(first, second)).mean[0]


@pytest.mark.parametrize("orientation", range(2, 9))
def test_hopper_orientations_match_reference(tmp_path, imgq, corpus, orientation):
    name = f"hopper_orientation_{orientation}.jpg"

    run = imgq("auto-orient", corpus / name, "-o", tmp_path)

    assert run.returncode == 0, run.stderr
    with Image.open(tmp_path / name) as result:
        assert result.size == (128, 128)
        assert result.getexif().get(0x0112) in (None, 1)
    # The manifest states about 1 for a correct result, 50 to 80 for an ignored tag.
    assert mean_difference(grey_thumbnail(tmp_path / name), grey_thumbnail(corpus / "hopper.jpg")) < 6


@pytest.mark.parametrize("orientation", [3, 6, 8])
def test_camera_landscapes_match_reference(tmp_path, imgq, corpus, orientation):
    name = f"exifsamples_landscape_{orientation}.jpg"

    run = imgq("auto-orient", corpus / name, "-o", tmp_path)

    assert run.returncode == 0, run.stderr
    with Image.open(tmp_path / name) as result:
        assert result.size == (600, 450)
    reference = grey_thumbnail(corpus / "exifsamples_landscape_1.jpg")
    # The manifest states about 14 for the right orientation, 42 and more otherwise.
    assert mean_difference(grey_thumbnail(tmp_path / name), reference) < 25


def test_invalid_orientation_zero_is_upright(tmp_path, imgq, corpus):
    run = imgq("auto-orient", corpus / "recurser_Landscape_0.jpg", "-o", tmp_path)

    assert run.returncode == 0, run.stderr
    assert run.stderr.count("\n") <= 1
    with Image.open(tmp_path / "recurser_Landscape_0.jpg") as result:
        assert result.size == (1800, 1200)
        assert result.getexif().get(0x0112) in (None, 1)


def test_tiny_sideways_image_orients_and_enlarges(tmp_path, imgq, corpus):
    run = imgq("resize", "20x20", corpus / "orientation_rectangle.jpg", "-o", tmp_path)

    assert run.returncode == 0, run.stderr
    with Image.open(tmp_path / "orientation_rectangle.jpg") as result:
        assert result.size == (10, 20)
        red, green, blue = result.getpixel((5, 10))
        assert red > 200 and green < 40 and blue < 40


def test_wrong_extension_read_by_content(tmp_path, imgq, corpus):
    run = imgq("convert", "webp", corpus / "flower_is_jpeg.png", "-o", tmp_path)

    assert run.returncode == 0, run.stderr
    with Image.open(tmp_path / "flower_is_jpeg.webp") as result:
        assert result.format == "WEBP"
        assert result.size == (480, 360)


def test_awkward_names_kept_intact(tmp_path, imgq, corpus):
    source = tmp_path / "in"
    source.mkdir()
    for name in ["Crémieux11.tiff", "DSCN0010.JPG", "Olympus C8080WZ copy (1).jpg"]:
        shutil.copy(corpus / name, source / name)

    run = imgq("rotate", "180", source, "-o", tmp_path / "out")

    assert run.returncode == 0, run.stderr
    assert sorted(path.name for path in (tmp_path / "out").iterdir()) == [
        "Crémieux11.tiff", "DSCN0010.JPG", "Olympus C8080WZ copy (1).jpg",
    ]


def test_large_photo_resized_to_width(tmp_path, imgq, corpus):
    run = imgq("resize", "1024", corpus / "Reconyx_HC500_Hyperfire.jpg", "-o", tmp_path)

    assert run.returncode == 0, run.stderr
    assert Image.open(tmp_path / "Reconyx_HC500_Hyperfire.jpg").size == (1024, 768)


def test_shared_stem_collides_when_converting(tmp_path, imgq, corpus):
    run = imgq("convert", "webp", corpus, "-o", tmp_path / "out")

    collisions = [line for line in run.error_lines if "output name collision" in line]
    hopper_sources = {"hopper.jpg", "hopper.png", "hopper.gif", "hopper.webp", "hopper.bmp", "hopper.tif"}
    named = {line.split(": ", 2)[1].rsplit("/", 1)[-1] for line in collisions}
    assert hopper_sources <= named
    assert not (tmp_path / "out" / "hopper.webp").exists()
    assert "Traceback" not in run.stderr

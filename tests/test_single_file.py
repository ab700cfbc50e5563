"""The one-file form: with one input file, -o names the output file itself."""

from __future__ import annotations

import os

import pytest
from PIL import Image

from conftest import temp_files
from imgq import heif

# A 3x2 image with six distinct colours; turned by 90 degrees clockwise it
# becomes the 2x3 image below, pixel for pixel.
PIXELS = [(255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 0), (0, 255, 255), (255, 0, 255)]
ROTATED_90 = [(255, 255, 0), (255, 0, 0), (0, 255, 255), (0, 255, 0), (255, 0, 255), (0, 0, 255)]


def make_image(path, pixels=PIXELS, size=(3, 2)):
    path.parent.mkdir(parents=True, exist_ok=True)
    image = Image.new("RGB", size)
    image.putdata(pixels)
    image.save(path)
    return path


def rgb_pixels(image):
    """Return the pixels of ``image`` in RGB, row by row."""
    rgb = image.convert("RGB")
    return [rgb.getpixel((x, y)) for y in range(rgb.height) for x in range(rgb.width)]


def test_output_file_named_exactly(imgq, tmp_path):
    source = make_image(tmp_path / "src" / "a.png")
    output = tmp_path / "out" / "deep" / "b.png"

    run = imgq("rotate", "90", source, "-o", output)

    assert run.returncode == 0, run.stderr
    assert sorted(p.name for p in (tmp_path / "out").rglob("*")) == ["b.png", "deep"]
    with Image.open(output) as image:
        assert image.size == (2, 3)
        assert rgb_pixels(image) == ROTATED_90


def test_format_from_output_extension(imgq, tmp_path):
    source = make_image(tmp_path / "a.png")
    output = tmp_path / "out" / "a.webp"

    run = imgq("rotate", "90", source, "-o", output)

    assert run.returncode == 0, run.stderr
    with Image.open(output) as image:
        assert image.format == "WEBP"
        assert image.size == (2, 3)


def test_name_without_extension_is_a_file(imgq, tmp_path):
    source = make_image(tmp_path / "a.png")
    output = tmp_path / "result"

    run = imgq("rotate", "90", source, "-o", output)

    assert run.returncode == 0, run.stderr
    assert output.is_file()
    with Image.open(output) as image:
        assert image.format == "PNG"


def test_existing_folder_stays_a_folder(imgq, tmp_path):
    source = make_image(tmp_path / "a.png")
    folder = tmp_path / "out"
    folder.mkdir()

    run = imgq("rotate", "90", source, "-o", folder)

    assert run.returncode == 0, run.stderr
    assert (folder / "a.png").is_file()


def test_trailing_slash_means_folder(imgq, tmp_path):
    source = make_image(tmp_path / "a.png")

    run = imgq("rotate", "90", source, "-o", f"{tmp_path / 'new'}/")

    assert run.returncode == 0, run.stderr
    assert (tmp_path / "new" / "a.png").is_file()


def test_bare_file_names_into_folder(imgq, tmp_path):
    make_image(tmp_path / "a.png")
    make_image(tmp_path / "b.png")

    run = imgq("rotate", "90", "a.png", "b.png", "-o", "out", cwd=tmp_path)

    assert run.returncode == 0, run.stderr
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["a.png", "b.png"]


def test_existing_output_file_replaced(imgq, tmp_path):
    source = make_image(tmp_path / "a.png")
    output = make_image(tmp_path / "b.png", [(0, 0, 0)] * 6)

    run = imgq("rotate", "90", source, "-o", output)

    assert run.returncode == 0, run.stderr
    with Image.open(output) as image:
        assert rgb_pixels(image) == ROTATED_90


@pytest.mark.parametrize(
    "arguments, message",
    [
        (["a.png", "b.png", "-o", "out.jpg"], "names an image file, but 2 inputs were given"),
        (["folder", "-o", "out.webp"], "names an image file, but folder is a folder"),
        (["a.png", "-o", "out.webp", "--format", "png"], "disagree"),
        (["a.png", "-o", "taken.jpg"], "existing folder, but named like an image file"),
        (["a.png", "-o", "b.png/c.png"], "exists and is not a folder"),
        (["a.png", "-o", "-"], "-o - needs --format"),
        (["a.png", "b.png", "-o", "-", "--format", "png"], "give exactly one input"),
        (["a.png", "-o", "out.psd"], "imgq cannot write PSD files such as out.psd"),
    ],
)
def test_ambiguous_call_is_usage_error(imgq, tmp_path, arguments, message):
    make_image(tmp_path / "a.png")
    make_image(tmp_path / "b.png")
    make_image(tmp_path / "folder" / "c.png")
    (tmp_path / "taken.jpg").mkdir()
    before = sorted(tmp_path.rglob("*"))

    run = imgq("rotate", "90", *arguments, cwd=tmp_path)

    assert run.returncode == 2
    assert message in run.stderr
    assert "Traceback" not in run.stderr
    assert run.stdout == ""
    assert sorted(tmp_path.rglob("*")) == before


def test_help_states_the_rule(imgq):
    run = imgq("rotate", "--help")

    assert run.returncode == 0
    text = " ".join(run.stdout.split())
    assert "With one input file: the output file" in text
    assert "With a folder or several inputs: the folder" in text


def test_failed_image_leaves_no_output(imgq, tmp_path):
    source = tmp_path / "bad.png"
    source.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 40)
    output = tmp_path / "out" / "bad.png"

    run = imgq("rotate", "90", source, "-o", output)

    assert run.returncode == 1
    assert len(run.error_lines) == 1
    assert str(source) in run.error_lines[0]
    assert not output.exists()
    assert temp_files(tmp_path) == []


def test_failed_image_keeps_older_output_whole(imgq, tmp_path):
    source = tmp_path / "bad.png"
    good = make_image(tmp_path / "good.png")
    output = tmp_path / "out.png"
    assert imgq("rotate", "90", good, "-o", output).returncode == 0
    older = output.read_bytes()
    os.utime(output, ns=(1_000_000_000, 1_000_000_000))
    # The source is a whole PNG header followed by a truncated image, so the
    # failure happens while decoding, after the output was planned.
    data = good.read_bytes()
    source.write_bytes(data[: len(data) // 2])

    run = imgq("rotate", "90", source, "-o", output)

    assert run.returncode == 1
    assert output.read_bytes() == older
    assert output.stat().st_mtime_ns == 1_000_000_000
    assert temp_files(tmp_path) == []


@pytest.mark.parametrize(("name", "expected"), [("a.xyz", "unknown output extension '.xyz'"), ("a.heic", "pillow-heif")])
def test_unknown_output_extension_is_usage_error(tmp_path, imgq, name, expected):
    if name.endswith(".heic") and heif.AVAILABLE:
        pytest.skip("pillow-heif is installed, so imgq writes .heic files")
    source = make_image(tmp_path / "a.png")

    run = imgq("rotate", "90", source, "-o", tmp_path / name)

    assert run.returncode == 2
    assert expected in run.stderr
    assert not (tmp_path / name).exists()

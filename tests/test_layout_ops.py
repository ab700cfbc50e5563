"""Crop, extent, pad, fit, sharpen, blur, watermark and linear-light resize through the CLI."""

from __future__ import annotations

import pytest
from PIL import Image, ImageChops, ImageFilter, ImageStat

from imgq.layout import parse_box, parse_gravity, place


def quadrants(size=(40, 20)) -> Image.Image:
    """Return an image with four coloured quarters: red, green / blue, white."""
    width, height = size
    image = Image.new("RGB", size)
    image.paste((255, 0, 0), (0, 0, width // 2, height // 2))
    image.paste((0, 255, 0), (width // 2, 0, width, height // 2))
    image.paste((0, 0, 255), (0, height // 2, width // 2, height))
    image.paste((255, 255, 255), (width // 2, height // 2, width, height))
    return image


@pytest.mark.parametrize(
    "text, expected",
    [("SouthEast", "south-east"), ("north_west", "north-west"), ("centre", "center"), ("East", "east")],
)
def test_gravity_names(text, expected):
    assert parse_gravity(text) == expected


@pytest.mark.parametrize("text", ["middle", "", "up"])
def test_gravity_rejected(text):
    with pytest.raises(ValueError, match="invalid gravity"):
        parse_gravity(text)


@pytest.mark.parametrize(
    "gravity, offset, expected",
    [("north-west", (0, 0), (0, 0)), ("center", (0, 0), (30, 15)), ("south-east", (5, 2), (55, 28)), ("east", (5, 0), (55, 15))],
)
def test_gravity_placement(gravity, offset, expected):
    assert place(gravity, (100, 50), (40, 20), offset) == expected


@pytest.mark.parametrize("text", ["10", "10x", "0x5", "10x10+5", "axb"])
def test_box_rejected(text):
    with pytest.raises(ValueError, match="invalid box"):
        parse_box(text)


def run_op(imgq, tmp_path, image, *arguments, name="q.png"):
    (tmp_path / "in").mkdir(exist_ok=True)
    image.save(tmp_path / "in" / name)
    run = imgq("run", tmp_path / "in", "-o", tmp_path / "out", "--overwrite", *arguments)
    assert run.returncode == 0, run.stderr
    return Image.open(tmp_path / "out" / name)


def test_crop_with_offset_exact(imgq, tmp_path):
    with run_op(imgq, tmp_path, quadrants(), "--op", "crop=10x6+15+7") as image:
        assert image.size == (10, 6)
        expected = quadrants().crop((15, 7, 25, 13))
        assert ImageChops.difference(image.convert("RGB"), expected).getbbox() is None


def test_crop_by_gravity(imgq, tmp_path):
    with run_op(imgq, tmp_path, quadrants(), "--op", "crop=8x4", "--gravity", "south-east") as image:
        assert image.size == (8, 4)
        assert image.convert("RGB").getextrema() == ((255, 255), (255, 255), (255, 255))


def test_crop_outside_fails_one_file(imgq, tmp_path):
    (tmp_path / "in").mkdir()
    quadrants().save(tmp_path / "in" / "small.png")
    quadrants((400, 200)).save(tmp_path / "in" / "large.png")
    run = imgq("run", tmp_path / "in", "-o", tmp_path / "out", "--op", "crop=10x10+100+100")
    assert run.returncode == 1
    assert len(run.error_lines) == 1
    assert "small.png" in run.error_lines[0]
    assert "outside" in run.error_lines[0]
    assert (tmp_path / "out" / "large.png").exists()


def test_extent_centres_on_fill(imgq, tmp_path):
    with run_op(imgq, tmp_path, quadrants(), "--op", "extent=60x40", "--fill", "black") as image:
        assert image.size == (60, 40)
        assert image.getpixel((0, 0)) == (0, 0, 0)
        assert image.getpixel((10, 10)) == (255, 0, 0)
        assert image.getpixel((49, 29)) == (255, 255, 255)
        assert image.getpixel((50, 30)) == (0, 0, 0)


def test_pad_never_crops(imgq, tmp_path):
    with run_op(imgq, tmp_path, quadrants(), "--op", "pad=20x30", "--gravity", "north", "--fill", "#00ffff") as image:
        assert image.size == (40, 30)
        assert image.getpixel((0, 0)) == (255, 0, 0)
        assert image.getpixel((0, 29)) == (0, 255, 255)


def test_fit_letterboxes(imgq, tmp_path):
    with run_op(imgq, tmp_path, quadrants(), "--op", "fit=80x80", "--fill", "black") as image:
        assert image.size == (80, 80)
        assert image.getpixel((40, 5)) == (0, 0, 0)  # the bar above
        assert image.getpixel((40, 75)) == (0, 0, 0)  # the bar below
        red, green, blue = image.getpixel((10, 30))
        assert red > 240 and green < 15 and blue < 15


def test_sharpen_and_blur_match_pillow(imgq, tmp_path):
    picture = quadrants((64, 64))
    with run_op(imgq, tmp_path, picture, "--op", "blur=2") as image:
        expected = picture.filter(ImageFilter.GaussianBlur(2))
        assert ImageChops.difference(image, expected).getbbox() is None
    with run_op(imgq, tmp_path, picture, "--op", "sharpen=1.5,200,0") as image:
        expected = picture.filter(ImageFilter.UnsharpMask(1.5, 200, 0))
        assert ImageChops.difference(image, expected).getbbox() is None


def test_watermark_at_gravity(imgq, tmp_path):
    Image.new("RGBA", (10, 5), (0, 0, 0, 255)).save(tmp_path / "mark.png")
    picture = Image.new("RGB", (60, 40), (255, 255, 255))
    mark = f"watermark={tmp_path / 'mark.png'},gravity=south-east,opacity=0.5,margin=4"
    with run_op(imgq, tmp_path, picture, "--op", mark) as image:
        # 50 % black over white, 4 pixels from the bottom-right corner.
        assert abs(image.getpixel((60 - 4 - 5, 40 - 4 - 3))[0] - 128) <= 1
        assert image.getpixel((60 - 3, 40 - 3)) == (255, 255, 255)
        assert image.getpixel((5, 5)) == (255, 255, 255)


def test_watermark_missing_file_is_usage_error(imgq, tmp_path):
    quadrants().save(tmp_path / "q.png")
    run = imgq("run", tmp_path / "q.png", "-o", tmp_path / "out", "--op", f"watermark={tmp_path / 'none.png'}")
    assert run.returncode == 2
    assert "none.png" in run.stderr


def test_linear_resize_keeps_brightness(imgq, tmp_path):
    stripes = Image.new("L", (64, 64), 0)
    for x in range(0, 64, 2):
        stripes.paste(255, (x, 0, x + 1, 64))
    with run_op(imgq, tmp_path, stripes, "--op", "resize=32x32", "--linear") as image:
        # Half the light of white is sRGB level 188; averaging levels gives 128.
        assert abs(ImageStat.Stat(image).mean[0] - 188) < 3
    with run_op(imgq, tmp_path, stripes, "--op", "resize=32x32") as image:
        assert abs(ImageStat.Stat(image).mean[0] - 128) < 3


def test_run_help_lists_operations(imgq):
    run = imgq("run", "--help")
    assert run.returncode == 0
    lines = run.stdout.splitlines()
    heading = next(number for number, line in enumerate(lines) if line.strip() == "Operations:")
    listed = [line.split()[0] for line in lines[heading + 1 : heading + 14]]
    assert listed[0] == "rotate=DEGREES"
    assert "crop=WxH[+X+Y]" in listed
    assert listed[-1].startswith("watermark=")

"""Pixel-exact checks of the image operations, in process and through the CLI."""

from __future__ import annotations

import pytest
from PIL import Image

from imgq import ops
from imgq.geometry import parse_geometry

RED, GREEN, BLUE = (255, 0, 0), (0, 255, 0), (0, 0, 255)
WHITE, BLACK, GREY = (255, 255, 255), (0, 0, 0), (128, 128, 128)

# A 3x2 image, row by row: R G B / W K Y.
PIXELS_3X2 = [RED, GREEN, BLUE, WHITE, BLACK, GREY]

# Stored raster -> upright is the inverse of these transposes, per EXIF
# Orientation value: how a camera stores an upright scene.
STORE_FOR_ORIENTATION = {
    1: [],
    2: [Image.Transpose.FLIP_LEFT_RIGHT],
    3: [Image.Transpose.ROTATE_180],
    4: [Image.Transpose.FLIP_TOP_BOTTOM],
    5: [Image.Transpose.TRANSPOSE],
    6: [Image.Transpose.ROTATE_90],
    7: [Image.Transpose.TRANSVERSE],
    8: [Image.Transpose.ROTATE_270],
}


def image_3x2() -> Image.Image:
    image = Image.new("RGB", (3, 2))
    for index, colour in enumerate(PIXELS_3X2):
        image.putpixel((index % 3, index // 3), colour)
    return image


def rows(image: Image.Image) -> list[list[tuple]]:
    return [[image.getpixel((x, y)) for x in range(image.width)] for y in range(image.height)]


def test_rotate_90_clockwise_exact():
    rotated = ops.rotate(image_3x2(), 90)
    assert rotated.size == (2, 3)
    assert rows(rotated) == [[WHITE, RED], [BLACK, GREEN], [GREY, BLUE]]


def test_rotate_180_exact():
    assert rows(ops.rotate(image_3x2(), 180)) == [[GREY, BLACK, WHITE], [BLUE, GREEN, RED]]


def test_rotate_270_and_minus_90_agree():
    expected = [[BLUE, GREY], [GREEN, BLACK], [RED, WHITE]]
    assert rows(ops.rotate(image_3x2(), 270)) == expected
    assert rows(ops.rotate(image_3x2(), -90)) == expected


def test_rotate_360_returns_same_pixels():
    assert rows(ops.rotate(image_3x2(), 360)) == rows(image_3x2())


def test_rotate_arbitrary_expands_canvas_with_fill():
    square = Image.new("RGB", (100, 100), RED)
    rotated = ops.rotate(square, 45, fill=(0, 0, 255))
    assert rotated.size == (142, 142)
    assert rotated.getpixel((0, 0)) == BLUE
    assert rotated.getpixel((71, 71)) == RED


def test_rotate_arbitrary_transparent_corners_with_alpha():
    square = Image.new("RGBA", (50, 50), (255, 0, 0, 255))
    rotated = ops.rotate(square, 30)
    assert rotated.mode == "RGBA"
    assert rotated.getpixel((0, 0))[3] == 0


def test_flip_and_flop_exact():
    assert rows(ops.flip(image_3x2())) == [[WHITE, BLACK, GREY], [RED, GREEN, BLUE]]
    assert rows(ops.flop(image_3x2())) == [[BLUE, GREEN, RED], [GREY, BLACK, WHITE]]


def stored_with_orientation(upright: Image.Image, orientation: int) -> Image.Image:
    stored = upright
    for method in STORE_FOR_ORIENTATION[orientation]:
        stored = stored.transpose(method)
    exif = Image.Exif()
    exif[ops.ORIENTATION_TAG] = orientation
    exif[0x010F] = "imgq-test"
    stored.info["exif"] = exif.tobytes()
    return stored


@pytest.mark.parametrize("orientation", range(1, 9))
def test_auto_orient_all_eight_values(orientation):
    upright = image_3x2()
    stored = stored_with_orientation(upright, orientation)

    oriented = ops.auto_orient(stored)

    assert oriented.size == (3, 2)
    assert rows(oriented) == rows(upright)
    assert oriented.getexif().get(ops.ORIENTATION_TAG) in (None, 1)


@pytest.mark.parametrize("value", [0, 9, 65535])
def test_auto_orient_invalid_value_is_no_rotation(value):
    image = image_3x2()
    exif = Image.Exif()
    exif[ops.ORIENTATION_TAG] = value
    image.info["exif"] = exif.tobytes()
    assert rows(ops.auto_orient(image)) == rows(image_3x2())


def test_resize_fit_inside():
    image = Image.new("RGB", (400, 300), GREEN)
    resized = ops.resize(image, parse_geometry("100x100"))
    assert resized.size == (100, 75)
    assert resized.getpixel((50, 37)) == GREEN


def test_resize_palette_image_is_smooth():
    # Pillow resizes P images with nearest neighbour only; imgq converts first.
    image = Image.new("P", (64, 64))
    image.putpalette([0, 0, 0, 255, 255, 255] + [0] * 762)
    image.paste(1, (0, 0, 32, 64))
    resized = ops.resize(image, parse_geometry("16x16"))
    assert resized.mode == "RGB"
    assert resized.size == (16, 16)


def test_grayscale_keeps_alpha():
    image = Image.new("RGBA", (4, 4), (255, 0, 0, 100))
    grey = ops.grayscale(image)
    assert grey.mode == "LA"
    assert grey.getpixel((0, 0)) == (76, 100)


def test_grayscale_rgb_to_l():
    assert ops.grayscale(Image.new("RGB", (2, 2), (0, 255, 0))).getpixel((0, 0)) == 150


def test_cli_rotate_90_exact_png(tmp_path, imgq):
    source = tmp_path / "in" / "small.png"
    source.parent.mkdir()
    image_3x2().save(source)

    run = imgq("rotate", "90", source, "-o", f"{tmp_path / 'out'}/")

    assert run.returncode == 0, run.stderr
    with Image.open(tmp_path / "out" / "small.png") as result:
        assert rows(result.convert("RGB")) == [[WHITE, RED], [BLACK, GREEN], [GREY, BLUE]]


@pytest.mark.parametrize("orientation", range(1, 9))
def test_cli_auto_orient_png_exact(tmp_path, imgq, orientation):
    upright = Image.new("RGB", (30, 20))
    upright.putdata([(x * 8, y * 12, (x + y) * 3) for y in range(20) for x in range(30)])
    stored = stored_with_orientation(upright, orientation)
    source = tmp_path / f"orient_{orientation}.png"
    stored.save(source, exif=stored.info["exif"])

    run = imgq("auto-orient", source, "-o", f"{tmp_path / 'out'}/", "-j", "1")

    assert run.returncode == 0, run.stderr
    with Image.open(tmp_path / "out" / source.name) as result:
        assert result.size == (30, 20)
        assert result.convert("RGB").tobytes() == upright.tobytes()
        assert result.getexif().get(ops.ORIENTATION_TAG) in (None, 1)
        assert result.getexif().get(0x010F) == "imgq-test"

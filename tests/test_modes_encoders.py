"""Image modes kept where the operation allows, encoder settings kept or set, HEIC without the extra."""

from __future__ import annotations

import pytest
from PIL import Image, ImageChops, JpegImagePlugin, features


def save_input(tmp_path, image, name, **options):
    (tmp_path / "in").mkdir(exist_ok=True)
    image.save(tmp_path / "in" / name, **options)
    return tmp_path / "in" / name


def picture(mode="RGB", size=(48, 32)) -> Image.Image:
    image = Image.linear_gradient("L").resize(size).convert("RGB")
    image.paste((255, 0, 0), (0, 0, size[0] // 3, size[1] // 3))
    return image.convert(mode) if mode != "RGB" else image


@pytest.mark.parametrize("mode", ["1", "P", "L", "LA", "RGBA"])
def test_mode_kept_through_rotation(imgq, tmp_path, mode):
    source = picture(mode)
    save_input(tmp_path, source, "m.png")
    run = imgq("rotate", "90", tmp_path / "in", "-o", tmp_path / "out")
    assert run.returncode == 0, run.stderr

    with Image.open(tmp_path / "out" / "m.png") as image:
        assert image.mode == mode
        expected = source.transpose(Image.Transpose.ROTATE_270)
        assert ImageChops.difference(image.convert("RGBA"), expected.convert("RGBA")).getbbox() is None


def test_cmyk_tiff_to_rgb_formats(imgq, tmp_path):
    cmyk = Image.new("CMYK", (20, 10), (0, 255, 255, 0))  # red
    cmyk.paste((255, 0, 255, 0), (10, 0, 20, 10))  # green
    save_input(tmp_path, cmyk, "c.tif")
    run = imgq("convert", "png", tmp_path / "in", "-o", tmp_path / "png")
    assert run.returncode == 0, run.stderr
    run = imgq("flip", tmp_path / "in", "-o", tmp_path / "tif")
    assert run.returncode == 0, run.stderr

    with Image.open(tmp_path / "png" / "c.png") as image:
        assert image.mode == "RGB"
        assert image.getpixel((2, 2)) == (255, 0, 0)
        assert image.getpixel((15, 2)) == (0, 255, 0)
    with Image.open(tmp_path / "tif" / "c.tif") as image:
        assert image.mode == "CMYK"


def test_jpeg_subsampling_and_progressive_kept(imgq, tmp_path):
    save_input(tmp_path, picture(size=(60, 44)), "s.jpg", quality=90, subsampling=0, progressive=True)
    run = imgq("resize", "50%", tmp_path / "in", "-o", tmp_path / "out")
    assert run.returncode == 0, run.stderr

    with Image.open(tmp_path / "out" / "s.jpg") as image:
        assert JpegImagePlugin.get_sampling(image) == 0
        assert image.info.get("progressive") or image.info.get("progression")


def test_jpeg_subsampling_option(imgq, tmp_path):
    save_input(tmp_path, picture(size=(60, 44)), "s.jpg", quality=90, subsampling=0)
    run = imgq("resize", "50%", tmp_path / "in", "-o", tmp_path / "out", "--subsampling", "4:2:0", "--baseline")
    assert run.returncode == 0, run.stderr

    with Image.open(tmp_path / "out" / "s.jpg") as image:
        assert JpegImagePlugin.get_sampling(image) == 2
        assert not image.info.get("progressive")


def test_png_compression_level(imgq, tmp_path):
    save_input(tmp_path, picture(size=(200, 200)), "p.png")
    assert imgq("flip", tmp_path / "in", "-o", tmp_path / "fast", "--compress-level", "0").returncode == 0
    assert imgq("flip", tmp_path / "in", "-o", tmp_path / "small", "--compress-level", "9").returncode == 0

    assert (tmp_path / "fast" / "p.png").stat().st_size > 2 * (tmp_path / "small" / "p.png").stat().st_size
    with Image.open(tmp_path / "fast" / "p.png") as fast, Image.open(tmp_path / "small" / "p.png") as small:
        assert ImageChops.difference(fast, small).getbbox() is None


def test_webp_lossless_exact(imgq, tmp_path):
    source = picture()
    save_input(tmp_path, source, "w.png")
    run = imgq("convert", "webp", tmp_path / "in", "-o", tmp_path / "out", "--webp-lossless", "--webp-method", "6")
    assert run.returncode == 0, run.stderr

    with Image.open(tmp_path / "out" / "w.webp") as image:
        assert ImageChops.difference(image.convert("RGB"), source).getbbox() is None


def test_tiff_compression_option(imgq, tmp_path):
    save_input(tmp_path, picture(), "t.png")
    run = imgq("convert", "tif", tmp_path / "in", "-o", tmp_path / "out", "--tiff-compression", "lzw")
    assert run.returncode == 0, run.stderr

    with Image.open(tmp_path / "out" / "t.tif") as image:
        assert image.info["compression"] == "tiff_lzw"


@pytest.mark.skipif(not features.check("avif"), reason="this Pillow was built without AVIF support")
def test_avif_output(imgq, tmp_path):
    save_input(tmp_path, picture(), "a.png")
    run = imgq("convert", "avif", tmp_path / "in", "-o", tmp_path / "out", "--quality", "80")
    assert run.returncode == 0, run.stderr

    with Image.open(tmp_path / "out" / "a.avif") as image:
        assert image.size == (48, 32)


def test_heic_without_extra_names_it(imgq, tmp_path):
    try:
        import pillow_heif  # noqa: F401
    except ImportError:
        pass
    else:
        pytest.skip("pillow-heif is installed, so HEIC files are read")
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "phone.heic").write_bytes(b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + b"\x00" * 64)
    picture().save(tmp_path / "in" / "ok.png")
    run = imgq("convert", "jpg", tmp_path / "in", "-o", tmp_path / "out")
    assert run.returncode == 1
    assert len(run.error_lines) == 1
    assert "phone.heic" in run.error_lines[0]
    assert "imgq[heif]" in run.error_lines[0]
    assert (tmp_path / "out" / "ok.jpg").exists()


@pytest.mark.parametrize(
    "mode, value, expected",
    [("I;16B", 4660, 18), ("I", 4660, 18), ("F", 0.5, 128), ("F", 30000.0, 117)],
)
def test_deep_grey_scaled_to_eight_bits(imgq, tmp_path, mode, value, expected):
    save_input(tmp_path, Image.new(mode, (16, 8), value), "deep.tif")
    run = imgq("convert", "jpg", tmp_path / "in", "-o", tmp_path / "out", "--quality", "95")
    assert run.returncode == 0, run.stderr

    with Image.open(tmp_path / "out" / "deep.jpg") as image:
        low, high = image.convert("L").getextrema()
        assert abs(low - expected) <= 1
        assert abs(high - expected) <= 1


def test_large_ico_scaled_with_warning(imgq, tmp_path):
    save_input(tmp_path, picture(size=(480, 640)), "big.png")

    run = imgq("convert", "ico", tmp_path / "in" / "big.png", "-o", tmp_path / "big.ico")

    assert run.returncode == 0, run.stderr
    assert "ICO holds at most 256x256 pixels, so the 480x640 image is scaled down to fit" in run.stderr
    with Image.open(tmp_path / "big.ico") as image:
        assert image.size == (192, 256)

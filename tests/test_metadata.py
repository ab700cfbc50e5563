"""Metadata through the CLI: EXIF, thumbnail, XMP, ICC, comment, DPI, --strip, --keep, mtime, sRGB."""

from __future__ import annotations

import io
import os
import shutil

import pytest
from PIL import ExifTags, Image, ImageChops, ImageCms, ImageStat

from imgq.metadata import profile_fits_mode

ORIENTATION = 0x0112
MAKE = 0x010F
MODEL = 0x0110
DATETIME = 0x0132
EXIF_IFD = 0x8769
PIXEL_X = 0xA002
PIXEL_Y = 0xA003
EXPOSURE_TIME = 0x829A
GPS_IFD = 0x8825

XMP_TEMPLATE = (
    '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
    '<rdf:Description xmlns:tiff="http://ns.adobe.com/tiff/1.0/" xmlns:dc="http://purl.org/dc/elements/1.1/" '
    'tiff:Orientation="{orientation}" dc:format="image/jpeg"/></rdf:RDF></x:xmpmeta>'
)


def upright_picture(size=(64, 48)) -> Image.Image:
    """Return a picture whose top-left quarter is red, so orientation shows."""
    image = Image.new("RGB", size, (128, 128, 128))
    image.paste((255, 0, 0), (0, 0, size[0] // 2, size[1] // 2))
    return image


def camera_exif(orientation: int, size: tuple[int, int]) -> Image.Exif:
    exif = Image.Exif()
    exif[MAKE] = "imgq-test"
    exif[MODEL] = "metadata"
    exif[DATETIME] = "2024:05:06 07:08:09"
    exif[ORIENTATION] = orientation
    sub = exif.get_ifd(EXIF_IFD)
    sub[EXPOSURE_TIME] = 0.004
    sub[PIXEL_X], sub[PIXEL_Y] = size
    exif.get_ifd(GPS_IFD)[2] = (48.0, 51.0, 24.0)
    return exif


def stored_for(orientation_6: Image.Image) -> Image.Image:
    """Return the raster a camera stores for an upright picture with Orientation 6."""
    return orientation_6.transpose(Image.Transpose.ROTATE_90)


def red_corner_is_top_left(image: Image.Image) -> bool:
    red, green, blue = image.convert("RGB").getpixel((2, 2))
    return red > 200 and green < 60 and blue < 60


def test_exif_tags_kept_after_rotation(imgq, tmp_path):
    (tmp_path / "in").mkdir()
    stored = stored_for(upright_picture())
    stored.save(tmp_path / "in" / "a.jpg", quality=92, exif=camera_exif(6, stored.size))
    run = imgq("rotate", "90", tmp_path / "in", "-o", f"{tmp_path / 'out'}/", "--lossless", "never")
    assert run.returncode == 0, run.stderr

    with Image.open(tmp_path / "in" / "a.jpg") as original, Image.open(tmp_path / "out" / "a.jpg") as image:
        before, after = original.getexif(), image.getexif()
        assert image.size == (48, 64)
        assert after.get(ORIENTATION, 1) == 1
        for tag in (MAKE, MODEL, DATETIME):
            assert after[tag] == before[tag], tag
        assert after.get_ifd(EXIF_IFD)[EXPOSURE_TIME] == before.get_ifd(EXIF_IFD)[EXPOSURE_TIME]
        assert after.get_ifd(EXIF_IFD)[PIXEL_X] == 48
        assert after.get_ifd(EXIF_IFD)[PIXEL_Y] == 64
        assert after.get_ifd(GPS_IFD) == before.get_ifd(GPS_IFD)


def test_exif_thumbnail_dropped(corpus, imgq, tmp_path):
    shutil.copy(corpus / "Canon_40D.jpg", tmp_path / "c.jpg")
    with Image.open(tmp_path / "c.jpg") as original:
        assert original.getexif().get_ifd(ExifTags.IFD.IFD1)  # the input has a thumbnail
    run = imgq("rotate", "90", tmp_path / "c.jpg", "-o", f"{tmp_path / 'out'}/")
    assert run.returncode == 0, run.stderr

    with Image.open(tmp_path / "out" / "c.jpg") as image:
        exif = image.getexif()
        assert exif[MAKE] == "Canon"
        assert not exif.get_ifd(ExifTags.IFD.IFD1)


def test_xmp_orientation_applied_and_removed(imgq, tmp_path):
    (tmp_path / "in").mkdir()
    stored = stored_for(upright_picture())
    xmp = XMP_TEMPLATE.format(orientation=6).encode()
    stored.save(tmp_path / "in" / "x.jpg", quality=92, xmp=xmp)
    run = imgq("auto-orient", tmp_path / "in", "-o", f"{tmp_path / 'out'}/", "--lossless", "never")
    assert run.returncode == 0, run.stderr

    with Image.open(tmp_path / "out" / "x.jpg") as image:
        assert image.size == (64, 48)
        assert red_corner_is_top_left(image)
        assert b"tiff:Orientation" not in image.info["xmp"]
        assert b'dc:format="image/jpeg"' in image.info["xmp"]


@pytest.mark.parametrize("fmt", ["png", "webp"])
def test_exif_chunk_orientation_applied(imgq, tmp_path, fmt):
    (tmp_path / "in").mkdir()
    stored = stored_for(upright_picture())
    stored.save(tmp_path / "in" / f"e.{fmt}", exif=camera_exif(6, stored.size), **({"lossless": True} if fmt == "webp" else {}))
    run = imgq("auto-orient", tmp_path / "in", "-o", f"{tmp_path / 'out'}/")
    assert run.returncode == 0, run.stderr

    with Image.open(tmp_path / "out" / f"e.{fmt}") as image:
        assert image.size == (64, 48)
        assert red_corner_is_top_left(image)
        exif = image.getexif()
        assert exif.get(ORIENTATION, 1) == 1
        assert exif[MAKE] == "imgq-test"


def make_rich_jpeg(path, corpus):
    """Write a JPEG with EXIF, an ICC profile, XMP, a comment and 300 DPI."""
    with Image.open(corpus / "pil_sample_rgb.jpg") as reference:
        profile = reference.info["icc_profile"]
    image = upright_picture()
    image.save(
        path,
        quality=92,
        exif=camera_exif(1, image.size),
        icc_profile=profile,
        xmp=XMP_TEMPLATE.format(orientation=1).encode(),
        comment=b"shot for a test",
        dpi=(300, 300),
    )
    return profile


def test_metadata_all_kept_by_default(corpus, imgq, tmp_path):
    (tmp_path / "in").mkdir()
    profile = make_rich_jpeg(tmp_path / "in" / "r.jpg", corpus)
    run = imgq("resize", "50%", tmp_path / "in", "-o", f"{tmp_path / 'out'}/")
    assert run.returncode == 0, run.stderr

    with Image.open(tmp_path / "out" / "r.jpg") as image:
        assert image.getexif()[MAKE] == "imgq-test"
        assert image.info["icc_profile"] == profile
        assert b"dc:format" in image.info["xmp"]
        assert image.info["comment"] == b"shot for a test"
        assert image.info["dpi"] == pytest.approx((300, 300))


def test_strip_removes_metadata(corpus, imgq, tmp_path):
    (tmp_path / "in").mkdir()
    make_rich_jpeg(tmp_path / "in" / "r.jpg", corpus)
    run = imgq("resize", "50%", tmp_path / "in", "-o", f"{tmp_path / 'out'}/", "--strip")
    assert run.returncode == 0, run.stderr

    with Image.open(tmp_path / "out" / "r.jpg") as image:
        assert not image.getexif()
        assert "icc_profile" not in image.info
        assert "xmp" not in image.info
        assert "comment" not in image.info
        assert image.info["dpi"] == pytest.approx((300, 300))


def test_keep_only_icc(corpus, imgq, tmp_path):
    (tmp_path / "in").mkdir()
    profile = make_rich_jpeg(tmp_path / "in" / "r.jpg", corpus)
    run = imgq("resize", "50%", tmp_path / "in", "-o", f"{tmp_path / 'out'}/", "--keep", "icc")
    assert run.returncode == 0, run.stderr

    with Image.open(tmp_path / "out" / "r.jpg") as image:
        assert not image.getexif()
        assert image.info["icc_profile"] == profile
        assert "xmp" not in image.info
        assert "comment" not in image.info


def test_keep_rejects_unknown_kind(imgq, tmp_path):
    (tmp_path / "in").mkdir()
    upright_picture().save(tmp_path / "in" / "a.png")
    run = imgq("resize", "50%", tmp_path / "in", "-o", f"{tmp_path / 'out'}/", "--keep", "exif,gps")
    assert run.returncode == 2
    assert "gps" in run.stderr


def test_strip_keeps_pictures_upright(imgq, tmp_path):
    (tmp_path / "in").mkdir()
    stored = stored_for(upright_picture())
    stored.save(tmp_path / "in" / "s.jpg", quality=92, exif=camera_exif(6, stored.size))
    run = imgq("resize", "50%", tmp_path / "in", "-o", f"{tmp_path / 'up'}/", "--strip")
    assert run.returncode == 0, run.stderr
    run = imgq("resize", "50%", tmp_path / "in", "-o", f"{tmp_path / 'raw'}/", "--strip", "--no-auto-orient")
    assert run.returncode == 0, run.stderr

    with Image.open(tmp_path / "up" / "s.jpg") as image:
        assert image.size == (32, 24)
        assert red_corner_is_top_left(image)
    assert "s.jpg" in run.stderr
    assert "Orientation 6" in run.stderr


def test_keep_mtime(imgq, tmp_path):
    (tmp_path / "in").mkdir()
    upright_picture().save(tmp_path / "in" / "m.png")
    os.utime(tmp_path / "in" / "m.png", (1_000_000_000, 1_000_000_000))
    run = imgq("flip", tmp_path / "in", "-o", f"{tmp_path / 'out'}/", "--keep-mtime")
    assert run.returncode == 0, run.stderr

    assert os.stat(tmp_path / "out" / "m.png").st_mtime == 1_000_000_000


def test_to_srgb_converts_pixels(corpus, imgq, tmp_path):
    shutil.copy(corpus / "icc_profile_big.jpg", tmp_path / "big.jpg")
    run = imgq("convert", "png", tmp_path / "big.jpg", "-o", f"{tmp_path / 'out'}/", "--to-srgb")
    assert run.returncode == 0, run.stderr

    with Image.open(tmp_path / "big.jpg") as original:
        source_profile = ImageCms.ImageCmsProfile(io.BytesIO(original.info["icc_profile"]))
        expected = ImageCms.profileToProfile(original, source_profile, ImageCms.createProfile("sRGB"))
    with Image.open(tmp_path / "out" / "big.png") as image:
        profile = ImageCms.ImageCmsProfile(io.BytesIO(image.info["icc_profile"]))
        assert "sRGB" in ImageCms.getProfileDescription(profile)
        assert max(ImageStat.Stat(ImageChops.difference(image.convert("RGB"), expected)).mean) < 1.5


GHOSTSCRIPT_CMYK_PROFILE = "/usr/share/color/icc/ghostscript/default_cmyk.icc"


def test_cmyk_profile_not_kept_on_rgb_output(imgq, tmp_path):
    if not os.path.exists(GHOSTSCRIPT_CMYK_PROFILE):
        pytest.skip(f"no CMYK ICC profile at {GHOSTSCRIPT_CMYK_PROFILE} (Debian package libgs-common)")
    with open(GHOSTSCRIPT_CMYK_PROFILE, "rb") as stream:
        profile = stream.read()
    Image.new("CMYK", (8, 8), (0, 0, 255, 0)).save(tmp_path / "cmyk.jpg", icc_profile=profile)

    run = imgq("convert", "png", tmp_path / "cmyk.jpg", "-o", tmp_path / "out.png")

    assert run.returncode == 0, run.stderr
    with Image.open(tmp_path / "out.png") as image:
        assert image.mode == "RGB"
        output_profile = image.info.get("icc_profile")
    assert output_profile is None or output_profile[16:20] == b"RGB "


@pytest.mark.parametrize(
    ("space", "mode", "fits"),
    [(b"RGB ", "RGB", True), (b"RGB ", "RGBA", True), (b"CMYK", "RGB", False), (b"CMYK", "CMYK", True),
     (b"GRAY", "L", True), (b"GRAY", "RGB", False), (b"RGB ", "L", False)],
)
def test_profile_fits_mode_by_colour_space(space, mode, fits):
    header = bytes(16) + space + bytes(108)

    assert profile_fits_mode(header, mode) is fits

"""The corpus expectations on orientation, ICC profiles, CMYK, 16-bit, transparency and frames."""

from __future__ import annotations

import shutil

import pytest
from PIL import Image, ImageChops, ImageStat

ORIENTATION = 0x0112


def copy_inputs(corpus, folder, names):
    """Copy the named corpus files into ``folder`` and return it."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        shutil.copy(corpus / name, folder / name)
    return folder


def thumbnail_difference(first: Image.Image, second: Image.Image) -> float:
    """Return the mean absolute difference of 48x48 grey thumbnails, 0-255."""
    small = [image.convert("L").resize((48, 48), Image.Resampling.BILINEAR) for image in (first, second)]
    return ImageStat.Stat(ImageChops.difference(*small)).mean[0]


def transparent_count(image: Image.Image) -> int:
    return image.convert("RGBA").getchannel("A").histogram()[0]


def test_hopper_orientations_upright(corpus, imgq, tmp_path):
    names = [f"hopper_orientation_{tag}.jpg" for tag in range(2, 9)]
    source = copy_inputs(corpus, tmp_path / "in", names)
    run = imgq("auto-orient", source, "-o", f"{tmp_path / 'out'}/", "--format", "png")
    assert run.returncode == 0, run.stderr

    with Image.open(corpus / "hopper.jpg") as reference:
        reference.load()
        for name in names:
            with Image.open(tmp_path / "out" / name.replace(".jpg", ".png")) as image:
                assert image.size == (128, 128), name
                assert thumbnail_difference(image, reference) < 4, name
                assert image.getexif().get(ORIENTATION, 1) == 1, name
            with Image.open(corpus / name) as stored:
                # The check above can fail: the stored raster differs a lot.
                assert thumbnail_difference(stored, reference) > 20, name


def test_camera_orientations_keep_icc(corpus, imgq, tmp_path):
    names = [f"exifsamples_landscape_{tag}.jpg" for tag in (3, 6, 8)]
    source = copy_inputs(corpus, tmp_path / "in", names)
    run = imgq("auto-orient", source, "-o", f"{tmp_path / 'out'}/")
    assert run.returncode == 0, run.stderr

    with Image.open(corpus / "exifsamples_landscape_1.jpg") as reference:
        reference.load()
        for name in names:
            with Image.open(tmp_path / "out" / name) as image:
                assert image.size == (600, 450), name
                assert thumbnail_difference(image, reference) < 25, name
                assert len(image.info.get("icc_profile", b"")) == 1960, name
                assert image.getexif().get(ORIENTATION, 1) == 1, name


def test_odd_orientation_files(corpus, imgq, tmp_path):
    names = ["recurser_Landscape_0.jpg", "orientation_rectangle.jpg", "empty_gps_ifd.jpg"]
    source = copy_inputs(corpus, tmp_path / "in", names)
    run = imgq("auto-orient", source, "-o", f"{tmp_path / 'out'}/", "--format", "png", "-j", "1")
    assert run.returncode == 0, run.stderr
    assert "recurser" not in run.stderr

    with Image.open(tmp_path / "out" / "recurser_Landscape_0.png") as image:
        assert image.size == (1800, 1200)
    with Image.open(tmp_path / "out" / "orientation_rectangle.png") as image:
        assert image.size == (1, 2)
        for y in (0, 1):
            red, green, blue = image.convert("RGB").getpixel((0, y))
            assert red > 230 and green < 25 and blue < 25
    with Image.open(tmp_path / "out" / "empty_gps_ifd.png") as image:
        assert image.size == (10, 10)

    run = imgq("resize", "40x40", source / "orientation_rectangle.jpg", "-o", f"{tmp_path / 'big'}/")
    assert run.returncode == 0, run.stderr
    with Image.open(tmp_path / "big" / "orientation_rectangle.jpg") as image:
        assert image.size == (20, 40)


def test_icc_profiles_kept(corpus, imgq, tmp_path):
    names = ["icc_profile_big.jpg", "pil_sample_rgb.jpg", "icc_profile.png", "icc-after-SOF.jpg", "Canon_40D.jpg"]
    source = copy_inputs(corpus, tmp_path / "in", names)
    run = imgq("rotate", "90", source, "-o", f"{tmp_path / 'out'}/", "-j", "1")
    assert run.returncode == 0, run.stderr
    assert "icc-after-SOF.jpg" in run.stderr  # the invalid profile is named in a warning

    for name in ["icc_profile_big.jpg", "pil_sample_rgb.jpg", "icc_profile.png"]:
        with Image.open(corpus / name) as original, Image.open(tmp_path / "out" / name) as image:
            assert image.info["icc_profile"] == original.info["icc_profile"], name
    with Image.open(tmp_path / "out" / "icc_profile_big.jpg") as image:
        assert len(image.info["icc_profile"]) == 399_788
        assert image.size == (250, 425)
    with Image.open(tmp_path / "out" / "icc-after-SOF.jpg") as image:
        assert image.size == (10, 10)
    with Image.open(tmp_path / "out" / "Canon_40D.jpg") as image:
        exif = image.getexif()
        assert exif.get(0x010F) == "Canon"
        assert exif.get(0x0110) == "Canon EOS 40D"
        assert exif.get(0x0132)


@pytest.mark.parametrize("fmt", ["jpg", "webp"])
def test_png_icc_profile_to_other_formats(corpus, imgq, tmp_path, fmt):
    source = copy_inputs(corpus, tmp_path / "in", ["icc_profile.png"])
    run = imgq("convert", fmt, source, "-o", f"{tmp_path / 'out'}/")
    assert run.returncode == 0, run.stderr

    with Image.open(corpus / "icc_profile.png") as original:
        with Image.open(tmp_path / "out" / f"icc_profile.{fmt}") as image:
            assert image.info["icc_profile"] == original.info["icc_profile"]


def test_cmyk_jpeg_matches_rgb_reference(corpus, imgq, tmp_path):
    source = copy_inputs(corpus, tmp_path / "in", ["pil_sample_cmyk.jpg"])
    run = imgq("convert", "png", source, "-o", f"{tmp_path / 'out'}/")
    assert run.returncode == 0, run.stderr

    with Image.open(tmp_path / "out" / "pil_sample_cmyk.png") as image, \
            Image.open(corpus / "pil_sample_rgb.jpg") as reference:
        assert image.mode == "RGB"
        difference = ImageStat.Stat(ImageChops.difference(image, reference.convert("RGB"))).mean
        assert sum(difference) / 3 < 15


def test_sixteen_bit_files_scaled(corpus, imgq, tmp_path):
    names = ["pngsuite_basn0g16.png", "uint16_1_4660.tif", "16bit.cropped.tif", "tiff_16bit_RGB.tiff"]
    source = copy_inputs(corpus, tmp_path / "in", names)
    run = imgq("convert", "jpg", source, "-o", f"{tmp_path / 'out'}/", "--quality", "95", "-j", "1")
    assert run.returncode == 0, run.stderr

    with Image.open(tmp_path / "out" / "pngsuite_basn0g16.jpg") as image:
        assert abs(ImageStat.Stat(image.convert("L")).mean[0] - 143.9) < 2
    with Image.open(tmp_path / "out" / "uint16_1_4660.jpg") as image:
        assert image.convert("L").getextrema() == (18, 18)
    with Image.open(tmp_path / "out" / "16bit.cropped.jpg") as image:
        low, high = image.convert("L").getextrema()
        assert high <= 4
    with Image.open(tmp_path / "out" / "tiff_16bit_RGB.jpg") as image:
        assert image.size == (100, 40)


def test_sixteen_bit_tiff_keeps_depth(corpus, imgq, tmp_path):
    source = copy_inputs(corpus, tmp_path / "in", ["uint16_1_4660.tif", "16bit.cropped.tif"])
    run = imgq("flip", source, "-o", f"{tmp_path / 'out'}/", "-j", "1")
    assert run.returncode == 0, run.stderr

    with Image.open(tmp_path / "out" / "uint16_1_4660.tif") as image:
        assert image.mode.startswith("I;16")
        assert image.getextrema() == (4660, 4660)
    with Image.open(tmp_path / "out" / "16bit.cropped.tif") as image, \
            Image.open(corpus / "16bit.cropped.tif") as original:
        assert image.mode.startswith("I;16")
        assert image.getextrema() == original.getextrema()


TRANSPARENT = {
    "transparent.png": 20101,
    "p_trns_single.png": 876,
    "rgb_trns.png": 876,
    "uncompressed_la.png": 8863,
    "1_trns.png": 1994,
    "pngsuite_basn6a16.png": 124,
    "rgba.psd": 8704,
}


def test_transparency_kept_in_png(corpus, imgq, tmp_path):
    source = copy_inputs(corpus, tmp_path / "in", list(TRANSPARENT))
    run = imgq("rotate", "180", source, "-o", f"{tmp_path / 'out'}/", "--format", "png", "-j", "1")
    assert run.returncode == 0, run.stderr

    for name, count in TRANSPARENT.items():
        with Image.open(tmp_path / "out" / name.replace(".psd", ".png")) as image:
            assert transparent_count(image) == count, name
    with Image.open(tmp_path / "out" / "1_trns.png") as image:
        assert image.mode == "1"


def test_transparency_kept_in_webp_and_gif(corpus, imgq, tmp_path):
    source = copy_inputs(corpus, tmp_path / "in", ["rgb_trns.png", "transparent.gif"])
    run = imgq("convert", "webp", source / "rgb_trns.png", "-o", f"{tmp_path / 'webp'}/", "--webp-lossless")
    assert run.returncode == 0, run.stderr
    run = imgq("flop", source / "transparent.gif", "-o", f"{tmp_path / 'gif'}/")
    assert run.returncode == 0, run.stderr

    with Image.open(tmp_path / "webp" / "rgb_trns.webp") as image:
        assert transparent_count(image) == 876
    with Image.open(tmp_path / "gif" / "transparent.gif") as image:
        assert transparent_count(image) == 20114


def test_transparency_flattened_in_jpeg(corpus, imgq, tmp_path):
    source = copy_inputs(corpus, tmp_path / "in", list(TRANSPARENT))
    run = imgq("convert", "jpg", source, "-o", f"{tmp_path / 'out'}/", "-j", "1")
    assert run.returncode == 0, run.stderr

    for name in TRANSPARENT:
        with Image.open(corpus / name) as original:
            mask = original.convert("RGBA").getchannel("A").point(lambda alpha: 255 if alpha == 0 else 0)
        with Image.open(tmp_path / "out" / (name.rsplit(".", 1)[0] + ".jpg")) as image:
            hidden = ImageStat.Stat(image.convert("RGB"), mask).mean
            # Fully transparent pixels show the white background, not the
            # hidden colour (black, green or red) underneath.
            assert min(hidden) > 230, (name, hidden)


def read_frames(path):
    with Image.open(path) as image:
        result = []
        for index in range(getattr(image, "n_frames", 1)):
            image.seek(index)
            result.append((image.convert("RGBA"), image.info.get("duration")))
        return result


@pytest.mark.parametrize("fmt", ["gif", "webp", "png"])
def test_animated_gif_keeps_frames(corpus, imgq, tmp_path, fmt):
    source = copy_inputs(corpus, tmp_path / "in", ["iss634.gif"])
    run = imgq("resize", "50%", source, "-o", f"{tmp_path / 'out'}/", "--format", fmt)
    assert run.returncode == 0, run.stderr

    frames = read_frames(tmp_path / "out" / f"iss634.{fmt}")
    assert len(frames) == 42
    assert sum(duration for _, duration in frames) == pytest.approx(2730, abs=1)
    assert {frame.size for frame, _ in frames} == {(123, 123)}


@pytest.mark.parametrize("fmt", ["gif", "png", "webp"])
def test_disposal_frames_composited(corpus, imgq, tmp_path, fmt):
    source = copy_inputs(corpus, tmp_path / "in", ["dispose_bgnd.gif"])
    extra = ["--webp-lossless"] if fmt == "webp" else []
    run = imgq("rotate", "90", source, "-o", f"{tmp_path / 'out'}/", "--format", fmt, *extra)
    assert run.returncode == 0, run.stderr

    expected = read_frames(corpus / "dispose_bgnd.gif")
    written = read_frames(tmp_path / "out" / f"dispose_bgnd.{fmt}")
    assert len(written) == 5
    assert [duration for _, duration in written] == [1000] * 5
    for index, ((frame, _), (original, _)) in enumerate(zip(written, expected)):
        turned = original.transpose(Image.Transpose.ROTATE_270)
        difference = ImageStat.Stat(ImageChops.difference(frame, turned)).mean
        assert max(difference) < 2, index


def test_animated_webp_input_keeps_frames(corpus, imgq, tmp_path):
    source = copy_inputs(corpus, tmp_path / "in", ["iss634.gif"])
    run = imgq("convert", "webp", source, "-o", f"{tmp_path / 'webp'}/", "--webp-lossless")
    assert run.returncode == 0, run.stderr
    run = imgq("rotate", "270", tmp_path / "webp", "-o", f"{tmp_path / 'out'}/")
    assert run.returncode == 0, run.stderr

    frames = read_frames(tmp_path / "out" / "iss634.webp")
    assert len(frames) == 42
    assert sum(duration for _, duration in frames) == pytest.approx(2730, abs=1)
    with Image.open(tmp_path / "out" / "iss634.webp") as image:
        assert image.info.get("loop") == 0


def test_apng_keeps_frames(corpus, imgq, tmp_path):
    source = copy_inputs(corpus, tmp_path / "in", ["apng_delay.png"])
    run = imgq("flip", source, "-o", f"{tmp_path / 'out'}/")
    assert run.returncode == 0, run.stderr

    frames = read_frames(tmp_path / "out" / "apng_delay.png")
    assert len(frames) == 5
    assert sum(duration for _, duration in frames) == pytest.approx(3000, abs=1)
    assert frames[0][0].size == (128, 64)


def test_multipage_tiff_keeps_pages(corpus, imgq, tmp_path):
    source = copy_inputs(corpus, tmp_path / "in", ["multipage.tiff"])
    run = imgq("rotate", "90", source, "-o", f"{tmp_path / 'tif'}/")
    assert run.returncode == 0, run.stderr
    run = imgq("convert", "png", source, "-o", f"{tmp_path / 'png'}/")
    assert run.returncode == 0, run.stderr
    assert "first of 3 pages" in run.stderr

    with Image.open(tmp_path / "tif" / "multipage.tiff") as image:
        sizes = []
        for index in range(image.n_frames):
            image.seek(index)
            sizes.append(image.size)
    assert sizes == [(10, 10), (10, 10), (20, 20)]
    with Image.open(tmp_path / "png" / "multipage.png") as image:
        assert image.size == (10, 10)


def test_mpo_is_a_jpeg_photo(corpus, imgq, tmp_path):
    source = copy_inputs(corpus, tmp_path / "in", ["sugarshack.mpo"])
    run = imgq("convert", "jpg", source, "-o", f"{tmp_path / 'out'}/")
    assert run.returncode == 0, run.stderr
    assert "warning" not in run.stderr

    with Image.open(tmp_path / "out" / "sugarshack.jpg") as image:
        assert image.format == "JPEG"
        assert image.size == (640, 480)
        assert getattr(image, "n_frames", 1) == 1


def test_odd_jpegs_re_encode_and_keep_exif(corpus, imgq, tmp_path):
    names = ["hopper_16bit_qtables.jpg", "hopper_bad_exif.jpg", "junk_jpeg_header.jpg", "DSCN0010.JPG"]
    source = copy_inputs(corpus, tmp_path / "in", names)
    for lossless in ("auto", "never"):
        run = imgq("rotate", "90", source, "-o", f"{tmp_path / lossless}/", "--lossless", lossless, "--quality", "85")
        assert run.returncode == 0, run.stderr
        run = imgq("auto-orient", source, "-o", f"{tmp_path / (lossless + '-plain')}/", "--lossless", lossless)
        assert run.returncode == 0, run.stderr

    sizes = {"hopper_16bit_qtables.jpg": (128, 128), "hopper_bad_exif.jpg": (500, 500),
             "junk_jpeg_header.jpg": (768, 1024), "DSCN0010.JPG": (480, 640)}
    for name, size in sizes.items():
        for folder in ("auto", "never"):
            with Image.open(tmp_path / folder / name) as image:
                assert image.size == size, (folder, name)
                image.load()
    with Image.open(tmp_path / "auto-plain" / "DSCN0010.JPG") as image:
        exif = image.getexif()
        assert exif[0x010F].startswith("NIKON")
        assert exif.get_ifd(0x8825)  # GPS


def test_tiff_icc_profile_kept(corpus, imgq, tmp_path):
    source = copy_inputs(corpus, tmp_path / "in", ["Crémieux11.tiff"])
    run = imgq("flop", source, "-o", f"{tmp_path / 'out'}/")
    assert run.returncode == 0, run.stderr

    with Image.open(corpus / "Crémieux11.tiff") as original, Image.open(tmp_path / "out" / "Crémieux11.tiff") as image:
        assert image.mode == "RGBA"
        assert len(image.info["icc_profile"]) == 4380
        assert image.info["icc_profile"] == original.info["icc_profile"]

"""JPEG draft decoding before a downscale: sizes stay exact, pixels stay close."""

from __future__ import annotations

from PIL import Image, ImageChops, ImageOps, ImageStat


def _photo(path, size=(400, 300)):
    image = Image.linear_gradient("L").resize(size).convert("RGB")
    image.paste((200, 40, 40), (50, 50, 200, 150))
    image.save(path, quality=95)


def test_draft_percentage_of_stored_size(imgq, tmp_path):
    _photo(tmp_path / "a.jpg")

    run = imgq("resize", "25%", tmp_path / "a.jpg", "-o", f"{tmp_path / 'out'}/")

    assert run.returncode == 0, run.stderr
    with Image.open(tmp_path / "out" / "a.jpg") as image:
        assert image.size == (100, 75)


def test_draft_fit_close_to_full_decode(imgq, tmp_path):
    _photo(tmp_path / "a.jpg")

    run = imgq("resize", "100x100", tmp_path / "a.jpg", "-o", f"{tmp_path / 'out'}/", "--quality", "100")

    assert run.returncode == 0, run.stderr
    with Image.open(tmp_path / "a.jpg") as source:
        full = ImageOps.contain(source.convert("RGB"), (100, 100), Image.Resampling.LANCZOS)
    with Image.open(tmp_path / "out" / "a.jpg") as image:
        assert image.size == (100, 75)
        difference = ImageStat.Stat(ImageChops.difference(image.convert("RGB"), full))
        # The decoder's 1/2 and 1/4 scaling averages in the DCT domain, so the
        # result stays within a few levels of a full decode on average.
        assert max(difference.mean) < 4, difference.mean

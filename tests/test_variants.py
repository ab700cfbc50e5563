"""Variants: one decode, several outputs, named by a template that stays in the output folder."""

from __future__ import annotations

import pytest
from PIL import Image

from imgq.variants import parse_variant


@pytest.mark.parametrize(
    "text, message",
    [
        ("1600x1600>", "GEOMETRY:TEMPLATE"),
        ("800:../{stem}.jpg", "inside the output folder"),
        ("800:/tmp/{stem}.jpg", "inside the output folder"),
        ("800:{size}.jpg", "unknown field"),
        ("800:{stem}.txt", "image extension"),
        ("8y:{stem}.jpg", "invalid geometry"),
    ],
)
def test_variant_rejected(text, message):
    with pytest.raises(ValueError, match=message):
        parse_variant(text)


def make_tree(root):
    (root / "trip").mkdir(parents=True)
    Image.new("RGB", (400, 300), (200, 10, 10)).save(root / "a.jpg")
    Image.new("RGB", (300, 400), (10, 200, 10)).save(root / "trip" / "b.png")


def test_variants_written_with_sizes(imgq, tmp_path):
    make_tree(tmp_path / "in")
    run = imgq(
        "auto-orient", tmp_path / "in", "-o", tmp_path / "out",
        "--variant", "200x200>:{stem}-{width}.jpg",
        "--variant", "50x50^:thumbs/{stem}.webp",
        "--variant", ":{reldir}/full/{name}",
    )
    assert run.returncode == 0, run.stderr
    assert "2 written" in run.stderr

    expected = {
        "a-200.jpg": (200, 150),
        "thumbs/a.webp": (67, 50),
        "full/a.jpg": (400, 300),
        "trip/b-200.jpg": (150, 200),
        "trip/thumbs/b.webp": (50, 67),
        "trip/full/b.png": (300, 400),
    }
    written = sorted(str(path.relative_to(tmp_path / "out")) for path in (tmp_path / "out").rglob("*") if path.is_file())
    assert written == sorted(expected)
    for name, size in expected.items():
        with Image.open(tmp_path / "out" / name) as image:
            assert image.size == size, name


def test_variants_dry_run_lists_every_output(imgq, tmp_path):
    make_tree(tmp_path / "in")
    run = imgq("resize", "50%", tmp_path / "in", "-o", tmp_path / "out", "--dry-run",
               "--variant", "100:{stem}-s.jpg", "--variant", "200:{stem}-m.jpg")
    assert run.returncode == 0, run.stderr
    assert len(run.stdout.splitlines()) == 4
    assert not (tmp_path / "out").exists()


def test_variant_outside_output_is_usage_error(imgq, tmp_path):
    make_tree(tmp_path / "in")
    run = imgq("flip", tmp_path / "in", "-o", tmp_path / "out", "--variant", ":{reldir}/../../{name}")
    assert run.returncode == 2
    assert "inside the output folder" in run.stderr
    assert not (tmp_path / "a.jpg").exists()


def test_variants_skip_when_output_exists(imgq, tmp_path):
    make_tree(tmp_path / "in")
    arguments = ["flip", tmp_path / "in", "-o", tmp_path / "out", "--variant", "100:{stem}-s.jpg"]
    assert imgq(*arguments).returncode == 0
    run = imgq(*arguments)
    assert run.returncode == 0
    assert "0 written, 2 skipped" in run.stderr


def test_variants_same_name_collide(imgq, tmp_path):
    make_tree(tmp_path / "in")
    run = imgq("flip", tmp_path / "in", "-o", tmp_path / "out", "--variant", "100:{stem}.jpg",
               "--variant", "50:{stem}.jpg")
    assert run.returncode == 1
    assert "collision" in run.stderr


def test_variants_keep_animation(corpus, imgq, tmp_path):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "anim.gif").write_bytes((corpus / "iss634.gif").read_bytes())
    run = imgq("flop", tmp_path / "in", "-o", tmp_path / "out", "--variant", "100:{stem}.png",
               "--variant", "100:{stem}.jpg")
    assert run.returncode == 0, run.stderr
    assert "first of 42 frames" in run.stderr

    with Image.open(tmp_path / "out" / "anim.png") as image:
        assert image.n_frames == 42
    with Image.open(tmp_path / "out" / "anim.jpg") as image:
        assert image.size == (100, 100)


def test_variants_written_by_dask_client(imgq, tmp_path):
    distributed = pytest.importorskip("distributed", reason="Dask is not installed: pip install 'imgq[dask]'")
    make_tree(tmp_path / "in")
    with distributed.LocalCluster(
        n_workers=1, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address="127.0.0.1:0"
    ) as cluster:
        run = imgq("flip", tmp_path / "in", "-o", tmp_path / "out", "--scheduler", cluster.scheduler_address,
                   "--variant", "100:{stem}-s.jpg", "--variant", "200:{stem}-m.png")
    assert run.returncode == 0, run.stderr

    expected = {"a-s.jpg": (100, 75), "a-m.png": (200, 150), "trip/b-s.jpg": (100, 133), "trip/b-m.png": (200, 267)}
    for name, size in expected.items():
        with Image.open(tmp_path / "out" / name) as image:
            assert image.size == size, name
    assert not list((tmp_path / "out").rglob(".imgq-*"))

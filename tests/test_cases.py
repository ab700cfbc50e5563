"""Reproductions of failures users of other batch tools reported, with their right values."""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import time

import psutil
import pytest
from PIL import Image

from conftest import run_imgq, temp_files


def copy_case(cases, name, tmp_path, pattern="*"):
    """Copy a case's input files (not its scripts) into a fresh folder."""
    target = tmp_path / name
    target.mkdir(parents=True)
    for path in (cases / name).glob(pattern):
        if path.suffix not in {".py", ".md"} and path.is_file():
            shutil.copy(path, target / path.name)
    return target


# ---------------------------------------------------------------- queue deadlock


@pytest.mark.parametrize("jobs", [1, 2, 4, 8])
def test_large_results_do_not_deadlock(tmp_path, cases, jobs):
    source = copy_case(cases, "08-queue-deadlock/big", tmp_path)

    run = run_imgq("convert", "png", source, "-o", tmp_path / "out", "-j", jobs, "--chunk-size", "1", timeout=30)

    assert run.returncode == 0, run.stderr
    assert "8 written" in run.stderr
    for path in sorted(source.iterdir()):
        with Image.open(path) as original, Image.open(tmp_path / "out" / path.name) as copy:
            assert copy.tobytes() == original.tobytes()


def test_many_small_results_never_lost(tmp_path, cases):
    source = copy_case(cases, "08-queue-deadlock/many", tmp_path)

    for attempt in range(20):
        out = tmp_path / f"out{attempt}"
        run = run_imgq("convert", "png", source, "-o", out, "-j", "4", "--chunk-size", "3", timeout=60)

        assert run.returncode == 0, run.stderr
        assert "200 written, 0 skipped, 0 failed" in run.stderr
        assert len(list(out.iterdir())) == 200
    with Image.open(tmp_path / "out19" / "px_137.png") as pixel:
        assert pixel.getpixel((0, 0)) == (137, 0, 7)


def test_ctrl_c_ends_every_process(tmp_path, cases):
    originals = sorted((cases / "08-queue-deadlock/big").glob("*.png"))
    source = tmp_path / "in"
    source.mkdir()
    for copy in range(12):
        for path in originals:
            shutil.copy(path, source / f"{copy:02d}_{path.name}")
    out = tmp_path / "out"

    command = [sys.executable, "-m", "imgq", "run", str(source), "-o", str(out), "-j", "2",
               "--chunk-size", "2", "--op", "rotate=17", "--op", "resize=400%"]
    process = subprocess.Popen(command, stderr=subprocess.PIPE, text=True)
    children = _children_once_started(process, out)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=15)

    assert process.returncode == 130, stderr
    assert "interrupted" in stderr
    gone, alive = psutil.wait_procs(children, timeout=5)
    assert alive == []
    assert temp_files(out) == []
    for path in out.iterdir():
        with Image.open(path) as finished:
            finished.load()
            assert finished.size == (1000, 1000) or finished.size[0] > 640


def _children_once_started(process, out) -> list[psutil.Process]:
    parent = psutil.Process(process.pid)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if out.exists() and any(path.suffix == ".png" for path in out.iterdir()):
            return parent.children(recursive=True)
        time.sleep(0.02)
    raise AssertionError("imgq wrote no output within 30 s")


# ---------------------------------------------------------------- decompression bomb


def test_bomb_rejected_batch_continues(tmp_path, cases):
    source = copy_case(cases, "11-decompression-bomb", tmp_path)
    command = [sys.executable, "-W", "error", "-m", "imgq", "resize", "100", str(source), "-o", str(tmp_path / "out")]

    completed = subprocess.run(command, capture_output=True, text=True, timeout=60)

    assert completed.returncode == 1
    assert "Traceback" not in completed.stderr
    errors = [line for line in completed.stderr.splitlines() if "bomb_20000.png" in line]
    assert len(errors) == 1
    assert "400,000,000 pixels" in errors[0]
    with Image.open(tmp_path / "out" / "ok.png") as ok:
        assert ok.size == (100, 100)
        assert ok.getpixel((50, 50)) == (0, 128, 0)
    # Under the default limit, the 90-megapixel image is processed without a warning line.
    with Image.open(tmp_path / "out" / "warn_10000x9000.png") as large:
        assert large.size == (100, 90)
        assert abs(large.getpixel((50, 45)) - 200) <= 2
    assert "warning" not in completed.stderr.lower()
    assert not (tmp_path / "out" / "bomb_20000.png").exists()


def test_bomb_fails_quickly_alone(tmp_path, cases):
    started = time.monotonic()
    run = run_imgq("resize", "100", cases / "11-decompression-bomb" / "bomb_20000.png", "-o", tmp_path)

    assert time.monotonic() - started < 20  # a hang guard, not a speed target
    assert run.returncode == 1
    assert "too many pixels" in run.error_lines[0]


def test_bomb_with_raised_limit_fails_cleanly(tmp_path, cases):
    run = run_imgq(
        "resize", "100", cases / "11-decompression-bomb" / "bomb_20000.png", "-o", tmp_path, "--max-pixels", "0",
    )

    assert run.returncode == 1
    assert len(run.error_lines) == 1
    assert "Traceback" not in run.stderr
    assert temp_files(tmp_path) == []


def test_lowered_limit_rejects_large_image(tmp_path, cases):
    run = run_imgq(
        "resize", "100", cases / "11-decompression-bomb" / "warn_10000x9000.png", "-o", tmp_path,
        "--max-pixels", "50000000",
    )

    assert run.returncode == 1
    assert "90,000,000 pixels, above the limit of 50,000,000" in run.error_lines[0]
    assert not (tmp_path / "warn_10000x9000.png").exists()


# ---------------------------------------------------------------- truncated files


@pytest.mark.parametrize("jobs", [1, 3])
def test_truncated_files_fail_alone(tmp_path, cases, jobs):
    source = copy_case(cases, "12-truncated", tmp_path)

    run = run_imgq("rotate", "180", source, "-o", tmp_path / "out", "-j", jobs, "--chunk-size", "1")

    assert run.returncode == 1
    assert sorted(path.name for path in (tmp_path / "out").iterdir()) == ["good.jpg", "good2.png"]
    for name in ("cut60.jpg", "cut50.png"):
        lines = [line for line in run.error_lines if name in line]
        assert len(lines) == 1
        assert "truncated" in lines[0] or "corrupt" in lines[0]
    for name in ("good.jpg", "good2.png"):
        assert Image.open(tmp_path / "out" / name).size == (300, 200)
    assert temp_files(tmp_path / "out") == []


def test_truncated_order_does_not_matter(tmp_path, cases):
    for name in ("cut60.jpg", "good.jpg", "cut50.png", "good2.png"):
        run = run_imgq("rotate", "180", cases / "12-truncated" / name, "-o", f"{tmp_path / 'out'}/")
        assert run.returncode == (1 if name.startswith("cut") else 0)
    assert sorted(path.name for path in (tmp_path / "out").iterdir()) == ["good.jpg", "good2.png"]


# ---------------------------------------------------------------- name collisions


@pytest.mark.parametrize("jobs", [1, 4])
def test_colliding_names_all_refused(tmp_path, cases, jobs):
    source = copy_case(cases, "15-name-collision", tmp_path)

    run = run_imgq("convert", "webp", source, "-o", tmp_path / "out", "-j", jobs)

    assert run.returncode == 1
    assert len(run.error_lines) == 5
    for line in run.error_lines:
        assert "output name collision" in line
        assert "photo.png" in line
        assert "photo.jpg" in line
        assert "Photo.png" in line
    assert list((tmp_path / "out").iterdir()) == []


def test_input_folder_as_output_keeps_inputs(tmp_path, cases):
    source = copy_case(cases, "15-name-collision", tmp_path)
    before = {path.name: path.read_bytes() for path in source.iterdir()}

    run = run_imgq("convert", "webp", source, "-o", source, "--overwrite")

    assert run.returncode == 1
    assert {path.name: path.read_bytes() for path in source.iterdir()} == before
    with Image.open(source / "photo.webp") as white:
        assert white.getpixel((16, 16)) == (255, 255, 255)


def test_distinct_stems_convert_without_collision(tmp_path, cases):
    source = copy_case(cases, "15-name-collision", tmp_path, "photo.png")
    shutil.copy(cases / "15-name-collision" / "photo.jpg", source / "other.jpg")

    run = run_imgq("convert", "webp", source, "-o", tmp_path / "out")

    assert run.returncode == 0, run.stderr
    with Image.open(tmp_path / "out" / "photo.webp") as red:
        assert red.getpixel((16, 16))[0] > 240
    with Image.open(tmp_path / "out" / "other.webp") as green:
        assert green.getpixel((16, 16))[1] > 240

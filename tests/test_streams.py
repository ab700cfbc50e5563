"""Pipes: '-' reads the image from stdin, '-o -' writes it to stdout."""

from __future__ import annotations

import io
import subprocess
import sys

from PIL import Image

from conftest import RUN_TIMEOUT, temp_files
from test_single_file import PIXELS, ROTATED_90, make_image, rgb_pixels


def run_bytes(*args, data: bytes = b"", cwd=None) -> subprocess.CompletedProcess:
    """Run ``python -m imgq ARGS`` with binary stdin and stdout."""
    return subprocess.run(
        [sys.executable, "-m", "imgq", *map(str, args)],
        input=data,
        capture_output=True,
        cwd=cwd,
        timeout=RUN_TIMEOUT,
    )


def png_bytes(pixels=PIXELS, size=(3, 2)) -> bytes:
    image = Image.new("RGB", size)
    image.putdata(pixels)
    stream = io.BytesIO()
    image.save(stream, format="PNG")
    return stream.getvalue()


def test_stdin_to_stdout(tmp_path):
    run = run_bytes("rotate", "90", "-", "-o", "-", "--format", "png", data=png_bytes(), cwd=tmp_path)

    assert run.returncode == 0, run.stderr
    with Image.open(io.BytesIO(run.stdout)) as image:
        assert image.format == "PNG"
        assert rgb_pixels(image) == ROTATED_90
    assert list(tmp_path.iterdir()) == []


def test_stdout_carries_only_the_image(tmp_path):
    source = make_image(tmp_path / "a.png")

    run = run_bytes("rotate", "90", source, "-o", "-", "--format", "webp", "-v")

    assert run.returncode == 0, run.stderr
    assert run.stdout[:4] == b"RIFF"
    with Image.open(io.BytesIO(run.stdout)) as image:
        assert image.format == "WEBP"
        assert image.size == (2, 3)
    assert b"1 written" in run.stderr


def test_stdin_to_file(tmp_path):
    output = tmp_path / "out" / "a.png"

    run = run_bytes("rotate", "90", "-", "-o", output, data=png_bytes())

    assert run.returncode == 0, run.stderr
    with Image.open(output) as image:
        assert rgb_pixels(image) == ROTATED_90


def test_shell_pipe_through_two_commands(tmp_path):
    source = make_image(tmp_path / "a.png")
    imgq = f"{sys.executable} -m imgq"
    command = (
        f"cat {source} | {imgq} rotate 90 - -o - --format png"
        f" | {imgq} flop - -o - --format png > {tmp_path / 'b.png'}"
    )

    subprocess.run(command, shell=True, check=True, timeout=RUN_TIMEOUT, capture_output=True)

    with Image.open(tmp_path / "b.png") as image:
        assert image.size == (2, 3)
        assert rgb_pixels(image) == [
            ROTATED_90[1], ROTATED_90[0], ROTATED_90[3], ROTATED_90[2], ROTATED_90[5], ROTATED_90[4],
        ]


def test_corrupt_stdin_writes_nothing(tmp_path):
    run = run_bytes("rotate", "90", "-", "-o", "-", "--format", "png", data=b"not an image", cwd=tmp_path)

    assert run.returncode == 1
    assert run.stdout == b""
    errors = [line for line in run.stderr.decode().splitlines() if "failed in" not in line]
    assert errors == ["imgq: -: not an image, or a format Pillow cannot read"]
    assert list(tmp_path.iterdir()) == []
    assert temp_files(tmp_path) == []


def test_stdin_must_be_the_only_input(tmp_path):
    source = make_image(tmp_path / "a.png")

    run = run_bytes("rotate", "90", "-", source, "-o", tmp_path / "out", data=png_bytes())

    assert run.returncode == 2
    assert b"must be the only input" in run.stderr
    assert not (tmp_path / "out").exists()


def test_stdin_needs_format_for_unknown_name(tmp_path):
    run = run_bytes("rotate", "90", "-", "-o", tmp_path / "a.out", data=png_bytes())

    assert run.returncode == 2
    assert b"give --format" in run.stderr

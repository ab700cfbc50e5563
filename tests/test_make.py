"""imgq under a real make: one call per image, rebuilds, and a failing target."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest
from PIL import Image

from conftest import REPO, temp_files

IMAGES = 20


def readme_makefile() -> str:
    """Return the Makefile that the README shows as its make recipe."""
    text = (REPO / "README.md").read_text()
    start = text.index("```make\n") + len("```make\n")
    return text[start : text.index("```", start)]


@pytest.fixture
def project(tmp_path):
    """Return a folder with the README's Makefile and 20 small distinct PNG sources."""
    if shutil.which("make") is None:
        pytest.skip("make is not installed (Debian package make); .ci/run installs it")
    (tmp_path / "Makefile").write_text(readme_makefile())
    (tmp_path / "src").mkdir()
    for number in range(IMAGES):
        image = Image.new("RGB", (4, 3), (number * 12, 255 - number * 12, 7))
        image.putpixel((0, 0), (255, 255, 255))
        image.save(tmp_path / "src" / f"img{number:02}.png")
    return tmp_path


def make(folder, *args) -> subprocess.CompletedProcess:
    command = ["make", "-j2", f"IMGQ={sys.executable} -m imgq", *args]
    return subprocess.run(command, cwd=folder, capture_output=True, text=True, timeout=300)


def imgq_calls(run: subprocess.CompletedProcess) -> list[str]:
    """Return the recipe lines make echoed, one per imgq call."""
    return [line for line in run.stdout.splitlines() if " -m imgq rotate 90 " in line]


def assert_rotated(source, output):
    with Image.open(source) as original, Image.open(output) as result:
        assert result.size == (3, 4)
        assert result.tobytes() == original.transpose(Image.Transpose.ROTATE_270).tobytes()


def test_make_builds_every_image(project):
    run = make(project)

    assert run.returncode == 0, run.stderr
    assert len(imgq_calls(run)) == IMAGES
    for number in range(IMAGES):
        name = f"img{number:02}.png"
        assert_rotated(project / "src" / name, project / "out" / name)
    assert temp_files(project) == []


def test_make_rebuilds_one_touched_source(project):
    assert make(project).returncode == 0
    before = {path.name: path.stat().st_mtime_ns for path in (project / "out").iterdir()}
    touched = project / "src" / "img07.png"
    later = touched.stat().st_mtime + 10
    os.utime(touched, (later, later))

    run = make(project)

    assert run.returncode == 0, run.stderr
    calls = imgq_calls(run)
    assert len(calls) == 1
    assert "src/img07.png -o out/img07.png" in calls[0]
    after = {path.name: path.stat().st_mtime_ns for path in (project / "out").iterdir()}
    changed = [name for name in before if after[name] != before[name]]
    assert changed == ["img07.png"]


def test_make_reports_corrupt_source(project):
    (project / "src" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 30)

    run = make(project, "-k")

    assert run.returncode != 0
    assert "out/broken.png" in run.stderr
    assert "Error 1" in run.stderr
    assert "imgq: src/broken.png:" in run.stderr
    assert not (project / "out" / "broken.png").exists()
    for number in range(IMAGES):
        name = f"img{number:02}.png"
        assert_rotated(project / "src" / name, project / "out" / name)
    assert temp_files(project) == []

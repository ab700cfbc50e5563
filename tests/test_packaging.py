"""Packaging: the version, python -m imgq, shell completion, and a built wheel that installs."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest
from PIL import Image

from conftest import REPO, RUN_TIMEOUT
from imgq import __version__
from test_single_file import ROTATED_90, make_image, rgb_pixels

# The console script that the editable install of the test environment made.
CONSOLE_SCRIPT = Path(sys.executable).parent / "imgq"


def run(command, **options) -> subprocess.CompletedProcess:
    return subprocess.run(command, capture_output=True, text=True, timeout=RUN_TIMEOUT, **options)


def test_version_printed(imgq):
    result = imgq("--version")

    assert result.returncode == 0
    assert result.stdout.strip() == f"imgq, version {__version__}"


def test_python_m_imgq_shows_help(imgq):
    result = imgq("--help")

    assert result.returncode == 0
    assert "Usage:" in result.stdout
    assert "rotate" in result.stdout


@pytest.mark.parametrize(
    "shell, marker",
    [
        ("bash", "complete -o nosort -F _imgq_completion imgq"),
        ("zsh", "#compdef imgq"),
        ("fish", "complete --no-files --command imgq"),
    ],
)
def test_completion_script_produced(shell, marker):
    if not CONSOLE_SCRIPT.exists():
        pytest.skip(f"no imgq console script next to {sys.executable}; install imgq with pip first")
    env = dict(os.environ, _IMGQ_COMPLETE=f"{shell}_source")

    result = run([str(CONSOLE_SCRIPT)], env=env)

    assert result.returncode == 0, result.stderr
    assert marker in result.stdout


def test_completion_offers_commands():
    if not CONSOLE_SCRIPT.exists():
        pytest.skip(f"no imgq console script next to {sys.executable}; install imgq with pip first")
    env = dict(os.environ, _IMGQ_COMPLETE="bash_complete", COMP_WORDS="imgq ro", COMP_CWORD="1")

    result = run([str(CONSOLE_SCRIPT)], env=env)

    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["plain,rotate"]


@pytest.fixture(scope="module")
def dist(tmp_path_factory) -> Path:
    """Build the sdist and the wheel from a copy of the tracked files; return the dist folder."""
    pytest.importorskip("build", reason="the 'build' package is missing; install imgq[test]")
    if shutil.which("git") is None or not (REPO / ".git").exists():
        pytest.skip("needs a git checkout to list the tracked files")
    source = tmp_path_factory.mktemp("source")
    listed = run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=REPO)
    for name in filter(None, listed.stdout.split("\0")):
        if (REPO / name).is_file():
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, source / name)

    # --no-isolation builds with the setuptools of this environment, so the
    # test needs no network.
    built = run([sys.executable, "-m", "build", "--no-isolation", "--outdir", "dist", "."], cwd=source)
    assert built.returncode == 0, built.stdout + built.stderr
    return source / "dist"


def test_build_makes_wheel_and_sdist(dist):
    version = __version__
    wheel = dist / f"imgq-{version}-py3-none-any.whl"
    sdist = dist / f"imgq-{version}.tar.gz"

    assert wheel.is_file()
    assert sdist.is_file()
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        entry_points = archive.read(f"imgq-{version}.dist-info/entry_points.txt").decode()
    assert "imgq/__main__.py" in names
    assert "imgq/cli.py" in names
    assert "imgq = imgq.cli:main" in entry_points


def test_installed_wheel_runs(dist, tmp_path):
    wheel = next(dist.glob("*.whl"))
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=RUN_TIMEOUT)
    python = venv / "bin" / "python"
    installed = run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "--no-index", str(wheel)])
    assert installed.returncode == 0, installed.stderr
    # Pillow, click, tqdm and psutil come from the test environment, by a
    # path entry that does not run its .pth files, so the editable install
    # of the repository stays out of the new environment.
    site_packages = run([str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"]).stdout.strip()
    Path(site_packages, "dependencies.pth").write_text(sysconfig.get_path("purelib") + "\n")
    source = make_image(tmp_path / "a.png")
    output = tmp_path / "b.png"

    # Run outside the repository, where "import imgq" would find its source.
    version = run([str(venv / "bin" / "imgq"), "--version"], cwd=tmp_path)
    rotated = run([str(venv / "bin" / "imgq"), "rotate", "90", str(source), "-o", str(output)], cwd=tmp_path)
    located = run([str(python), "-c", "import imgq; print(imgq.__file__)"], cwd=tmp_path)

    assert version.stdout.strip() == f"imgq, version {__version__}"
    assert rotated.returncode == 0, rotated.stderr
    assert located.stdout.startswith(site_packages)
    with Image.open(output) as image:
        assert rgb_pixels(image) == ROTATED_90

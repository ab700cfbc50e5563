"""Shared fixtures: run the real imgq CLI in a subprocess, find oracles and test data."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
# The shared test data sits beside the repository; IMGQ_SHARED points elsewhere.
SHARED = Path(os.environ.get("IMGQ_SHARED", REPO.parent / "shared"))
CORPUS = SHARED / "corpus"
CASES = SHARED / "cases"

# A run that takes longer than this is a hang, not a slow machine.
RUN_TIMEOUT = 120


@dataclass
class Run:
    """The outcome of one imgq subprocess."""

    returncode: int
    stdout: str
    stderr: str

    @property
    def error_lines(self) -> list[str]:
        """Return the stderr lines that report a failed image."""
        return [
            line
            for line in self.stderr.splitlines()
            if line.startswith("imgq: ") and not line.startswith(("imgq: warning:", "imgq: skipped", "imgq: ignored"))
            and " written, " not in line
        ]


def run_imgq(*args, cwd=None, env=None, timeout=RUN_TIMEOUT, input=None) -> Run:
    """Run ``python -m imgq ARGS`` and return its exit code and output."""
    command = [sys.executable, "-m", "imgq", *map(str, args)]
    completed = subprocess.run(
        command,
        cwd=cwd,
        env=env,
        input=input,
        capture_output=True,
        timeout=timeout,
        text=True,
        errors="backslashreplace",
    )
    return Run(completed.returncode, completed.stdout, completed.stderr)


@pytest.fixture
def imgq():
    """Return the function that runs the imgq CLI in a subprocess."""
    return run_imgq


def find_imagemagick() -> list[str] | None:
    """Return the command that runs ImageMagick's convert, or None when missing."""
    for name in ("magick", "convert-im6.q16", "convert-im7.q16"):
        path = shutil.which(name)
        if path:
            return [path]
    # /usr/local/bin/convert may be a stand-in on some machines; only trust
    # Debian's alternatives link.
    if os.path.exists("/usr/bin/convert"):
        return ["/usr/bin/convert"]
    return None


@pytest.fixture
def magick():
    """Return ImageMagick's convert command, or skip the test where it is missing."""
    command = find_imagemagick()
    if command is None:
        pytest.skip("ImageMagick is not installed (Debian package imagemagick); .ci/run installs it")
    return command


@pytest.fixture
def corpus():
    """Return the shared corpus folder, or skip where it is absent (a user's clone)."""
    if not (CORPUS / "MANIFEST.tsv").exists():
        pytest.skip(f"test corpus not found at {CORPUS}; it sits beside the repository in CI")
    return CORPUS


@pytest.fixture
def cases():
    """Return the shared reproductions folder, or skip where it is absent."""
    if not CASES.is_dir():
        pytest.skip(f"reproduction cases not found at {CASES}; they sit beside the repository in CI")
    return CASES


def temp_files(folder: Path) -> list[Path]:
    """Return imgq temporary files left anywhere under ``folder``."""
    return [path for path in folder.rglob(".imgq-*") if path.is_file()]

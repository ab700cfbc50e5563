"""Helpers of the fault-injection tests: image trees, runs in the background, reports."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import psutil
from PIL import Image

from conftest import RUN_TIMEOUT, temp_files


def make_tree(folder: Path, count: int, size=(8, 8), prefix="img") -> list[Path]:
    """Write ``count`` small PNGs of distinct colours; return their paths."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for number in range(count):
        path = folder / f"{prefix}{number:04d}.png"
        Image.new("RGB", size, colour(number)).save(path)
        paths.append(path)
    return paths


def colour(number: int) -> tuple[int, int, int]:
    """Return the colour that ``make_tree`` gives image ``number``."""
    return (number % 256, (number // 256) % 256, 200)


def start_imgq(*args, env_extra=None, **popen) -> subprocess.Popen:
    """Start ``python -m imgq ARGS`` in the background, stderr captured."""
    env = dict(os.environ)
    env.update(env_extra or {})
    return subprocess.Popen(
        [sys.executable, "-m", "imgq", *map(str, args)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        **popen,
    )


def finish(process: subprocess.Popen) -> tuple[int, str, str]:
    """Wait for a background run; return its exit code, stdout and stderr."""
    stdout, stderr = process.communicate(timeout=RUN_TIMEOUT)
    return process.returncode, stdout.decode(errors="replace"), stderr.decode(errors="replace")


def wait_for(condition, what: str, limit: float = 60.0) -> None:
    """Poll ``condition`` until it holds; fail the test after ``limit`` seconds."""
    deadline = time.monotonic() + limit
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.02)


def children(process: subprocess.Popen, name: str | None = None) -> list[psutil.Process]:
    """Return the live child processes of a run, optionally only those named ``name``."""
    try:
        found = psutil.Process(process.pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []
    if name is None:
        return found
    alive = []
    for child in found:
        try:
            if child.name() == name:
                alive.append(child)
        except psutil.NoSuchProcess:
            pass
    return alive


def gone(processes: list[psutil.Process]) -> bool:
    """Return True when none of ``processes`` runs any more (zombies count as gone)."""
    for child in processes:
        try:
            if child.status() != psutil.STATUS_ZOMBIE:
                return False
        except psutil.NoSuchProcess:
            pass
    return True


def read_report(path: Path) -> tuple[list[dict], dict | None]:
    """Return the image records and the summary of a JSON Lines report file."""
    return parse_report(path.read_text() if path.exists() else "")


def parse_report(text: str) -> tuple[list[dict], dict | None]:
    """Return the image records and the summary of JSON Lines report text."""
    images, summary = [], None
    for line in text.splitlines():
        item = json.loads(line)
        if item["type"] == "summary":
            summary = item
        else:
            images.append(item)
    return images, summary


def image_lines(path: Path) -> int:
    """Return how many image records a report file being written has so far."""
    try:
        return path.read_text().count('"type": "image"')
    except OSError:
        return 0


def assert_accounted(images: list[dict], summary: dict, inputs: list[Path]) -> None:
    """Check that the report names every input exactly once and sums up to the summary."""
    names = sorted(os.fsencode(item["input"]) for item in images)
    assert len(names) == len(set(names)), "an input is reported twice"
    assert summary["written"] + summary["skipped"] + summary["failed"] == len(images)
    assert len(images) + summary["not_processed"] == len(inputs)
    if summary["not_processed"] == 0:
        assert names == sorted(os.fsencode(str(path)) for path in inputs)


def assert_clean(folder: Path) -> None:
    """Check that no temporary file is left anywhere under ``folder``."""
    assert temp_files(folder) == []


def assert_outputs_complete(out: Path, inputs: list[Path]) -> int:
    """Check that every output present decodes with its input's colour; return how many."""
    count = 0
    for number, source in enumerate(inputs):
        target = out / source.name
        if target.exists():
            with Image.open(target) as image:
                image = image.convert("RGB")
                assert image.getpixel((0, 0)) == colour(number), target
            count += 1
    return count

"""Fast start: a one-image run stays in one process and loads no batch-only modules.

Python's ``-X importtime`` lists every module a run imports, so these tests
check what was loaded instead of how long it took.
"""

from __future__ import annotations

import subprocess
import sys

from conftest import RUN_TIMEOUT
from test_single_file import make_image

# Modules that only a batch needs: the process pool, the progress bar, the
# CPU count fallback, the cluster client, the shard hash, and Pillow plugins
# beyond the ones that Image.open loads.
BATCH_MODULES = [
    "multiprocessing", "tqdm", "psutil", "dask", "hashlib", "PIL.TiffImagePlugin", "PIL.PdfImagePlugin",
]

# Modules that only some images or options need: colour management, the
# extra operations, the result channel, the process names, and JSON for
# --manifest and --report.
OPTIONAL_MODULES = [
    "PIL.ImageCms", "PIL.ImageFilter", "PIL.ImageMath", "imgq.colour", "imgq.layout", "imgq.filters",
    "imgq.linear", "imgq.results", "ctypes", "pickle", "json", "shutil",
]


def imported_modules(*args, cwd) -> set[str]:
    """Run imgq under ``-X importtime`` and return the names of the modules it imported."""
    run = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "imgq", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=RUN_TIMEOUT,
    )
    assert run.returncode == 0, run.stderr
    return {
        line.rsplit("|", 1)[1].strip()
        for line in run.stderr.splitlines()
        if line.startswith("import time:") and "|" in line
    }


def test_one_image_skips_batch_modules(tmp_path):
    source = make_image(tmp_path / "a.png")

    modules = imported_modules("rotate", "90", source, "-o", tmp_path / "b.png", cwd=tmp_path)

    assert "imgq.work" in modules
    for name in BATCH_MODULES:
        assert name not in modules


def test_one_png_loads_no_optional_modules(tmp_path):
    source = make_image(tmp_path / "a.png")

    modules = imported_modules("rotate", "90", source, "-o", tmp_path / "b.png", cwd=tmp_path)

    for name in OPTIONAL_MODULES:
        assert name not in modules


def test_one_image_into_folder_stays_serial(tmp_path):
    source = make_image(tmp_path / "a.png")

    modules = imported_modules("rotate", "90", source, "-o", f"{tmp_path / 'out'}/", "-j", "4", cwd=tmp_path)

    assert (tmp_path / "out" / "a.png").is_file()
    assert "multiprocessing" not in modules
    assert "tqdm" not in modules


def test_batch_starts_worker_processes(tmp_path):
    for name in ("a", "b", "c", "d"):
        make_image(tmp_path / "src" / f"{name}.png")

    modules = imported_modules(
        "rotate", "90", tmp_path / "src", "-o", tmp_path / "out", "-j", "2", "--chunk-size", "1", cwd=tmp_path
    )

    assert len(list((tmp_path / "out").iterdir())) == 4
    assert "multiprocessing" in modules

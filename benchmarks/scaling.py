"""Measure the local engine against a Dask LocalCluster, and model large clusters.

Writes docs/scaling.md: job R (rotate 12-megapixel JPEGs by 90 degrees,
quality 90) on the local engine with 1 and 2 workers and on a LocalCluster
with 1 and 2 worker processes, the Dask overhead per task and per image,
and a model of the time for one million such images on 10, 100 and 1,000
worker cores built from those figures.

Usage: python benchmarks/scaling.py [--images N] [--repeats N]
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from PIL import Image

REPO = Path(__file__).resolve().parent.parent
SMALL_IMAGES = 2000

# Assumptions of the model that this machine cannot measure; each is stated in the output.
ASSUMED_STORAGE_BYTES_PER_S = 2e9  # a parallel filesystem or object store, read plus write
ASSUMED_CLIENT_NETWORK_BYTES_PER_S = 1.25e9  # one 10 Gbit/s link into the client


def load_photo_generator():
    spec = importlib.util.spec_from_file_location("make_samples", REPO / "sample_images" / "make_samples.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.photo_like


def make_inputs(folder: Path, count: int) -> None:
    photo_like = load_photo_generator()
    rng = random.Random(7)
    (folder / "large").mkdir(parents=True)
    (folder / "small").mkdir()
    # Sensor-like noise brings the JPEGs to a camera's size (about 3 MB);
    # the smooth test scene alone compresses far better than photos do.
    noise = Image.effect_noise((4000, 3000), 40).convert("RGB")
    for index in range(count):
        photo = Image.blend(photo_like((4000, 3000), rng), noise, 0.25)
        photo.save(folder / "large" / f"photo{index:02d}.jpg", quality=90)
    tile = photo_like((64, 64), rng)
    for index in range(SMALL_IMAGES):
        tile.save(folder / "small" / f"tile{index:04d}.png")


def timed_run(args: list[str], output: Path) -> float:
    shutil.rmtree(output, ignore_errors=True)
    started = time.perf_counter()
    completed = subprocess.run([sys.executable, "-m", "imgq", *args, "-o", str(output), "--quiet"], capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if completed.returncode != 0:
        raise RuntimeError(f"imgq {' '.join(args)} failed: {completed.stderr.strip()}")
    return elapsed


def median_time(args: list[str], output: Path, repeats: int) -> float:
    return statistics.median(timed_run(args, output) for _ in range(repeats))


def measure(work: Path, count: int, repeats: int) -> dict:
    from distributed import LocalCluster

    large = ["rotate", "90", str(work / "large"), "--quality", "90"]
    small = ["rotate", "90", str(work / "small")]
    figures = {"images": count}
    figures["local_1"] = median_time(large + ["-j", "1"], work / "out", repeats)
    figures["local_2"] = median_time(large + ["-j", "2"], work / "out", repeats)
    figures["local_small"] = median_time(small + ["-j", "2"], work / "out", repeats)

    for workers in (1, 2):
        with LocalCluster(n_workers=workers, threads_per_worker=1, host="127.0.0.1", dashboard_address="127.0.0.1:0") as cluster:
            address = ["--scheduler", cluster.scheduler_address]
            figures[f"dask_{workers}"] = median_time(large + address + ["--chunk-size", "1"], work / "out", repeats)
            figures[f"dask_{workers}_workers"] = median_time(
                large + address + ["--chunk-size", "1", "--write-on", "workers"], work / "out", repeats
            )
            if workers == 2:
                figures["dask_small_1"] = median_time(small + address + ["--chunk-size", "1"], work / "out", repeats)
                figures["dask_small_16"] = median_time(small + address + ["--chunk-size", "16"], work / "out", repeats)

    sizes = [path.stat().st_size for path in (work / "large").iterdir()]
    figures["bytes_per_image"] = statistics.mean(sizes)
    return figures


def model_rows(figures: dict) -> list[tuple]:
    """Return (cores, compute h, scheduler h, client-write h, storage h) for one million images."""
    images = 1_000_000
    seconds_per_image_core = figures["dask_1"] / figures["images"]
    tasks_small = SMALL_IMAGES
    per_task = max(0.0, (figures["dask_small_1"] - figures["dask_small_16"]) / (tasks_small - tasks_small / 16))
    bytes_moved = 2 * figures["bytes_per_image"]
    rows = []
    for cores in (10, 100, 1000):
        compute = images * seconds_per_image_core / cores
        scheduler_chunk1 = images * per_task
        scheduler_chunk16 = images / 16 * per_task
        client = images * figures["bytes_per_image"] / ASSUMED_CLIENT_NETWORK_BYTES_PER_S
        storage = images * bytes_moved / ASSUMED_STORAGE_BYTES_PER_S
        rows.append((cores, compute, scheduler_chunk1, scheduler_chunk16, client, storage))
    return rows


def hours(seconds: float) -> str:
    return f"{seconds / 3600:.2f} h"


def write_report(figures: dict, path: Path, repeats: int) -> None:
    per_task = (figures["dask_small_1"] - figures["dask_small_16"]) / (SMALL_IMAGES - SMALL_IMAGES / 16)
    per_image = (figures["dask_small_16"] - figures["local_small"]) / SMALL_IMAGES
    count = figures["images"]
    lines = [
        "# How imgq scales",
        "",
        f"Measured by `python benchmarks/scaling.py` on {platform.node() and 'this machine'}: "
        f"{os.cpu_count()} cores, {platform.processor() or platform.machine()}, Python {platform.python_version()}. "
        f"Medians of {repeats} runs. The machine is shared, so compare the ratios within this page "
        "rather than the seconds.",
        "",
        f"## Job R on one machine ({count} JPEGs of 12 megapixels, rotate 90, quality 90)",
        "",
        "| engine | workers | seconds | images/s | relative to local, 1 worker |",
        "| --- | --- | --- | --- | --- |",
    ]
    base = figures["local_1"]
    for label, workers, key in [
        ("local processes", 1, "local_1"),
        ("local processes", 2, "local_2"),
        ("Dask LocalCluster, client writes", 1, "dask_1"),
        ("Dask LocalCluster, client writes", 2, "dask_2"),
        ("Dask LocalCluster, workers write", 1, "dask_1_workers"),
        ("Dask LocalCluster, workers write", 2, "dask_2_workers"),
    ]:
        value = figures[key]
        lines.append(f"| {label} | {workers} | {value:.2f} | {count / value:.2f} | {base / value:.2f}x |")

    lines += [
        "",
        "## Dask overhead",
        "",
        f"{SMALL_IMAGES} images of 64x64 pixels, rotate 90, 2 workers:",
        "",
        f"- local engine: {figures['local_small']:.2f} s",
        f"- Dask, one image per task: {figures['dask_small_1']:.2f} s",
        f"- Dask, 16 images per task: {figures['dask_small_16']:.2f} s",
        f"- cost of one task (difference between the two chunk sizes, per task saved): {per_task * 1000:.2f} ms",
        f"- cost per image beyond the local engine at 16 images per task: {per_image * 1000:.2f} ms",
        "",
        "## A model for one million 12-megapixel images",
        "",
        "Built from the figures above: compute time is the Dask time per image on one worker core, "
        "spread over the cores; the scheduler's share is the measured cost of one task times the "
        "number of tasks, and the scheduler handles tasks one at a time; the client's share is the "
        "encoded bytes it must receive with `--write-on client`; storage must read each input and "
        "write each output. The two bandwidths are assumptions, not measurements: "
        f"{ASSUMED_CLIENT_NETWORK_BYTES_PER_S / 1e9:.2f} GB/s into the client (10 Gbit/s) and "
        f"{ASSUMED_STORAGE_BYTES_PER_S / 1e9:.0f} GB/s of shared storage. "
        f"Average JPEG size here: {figures['bytes_per_image'] / 1e6:.1f} MB.",
        "",
        "| worker cores | compute | scheduler, 1 image/task | scheduler, 16 images/task | client writes | storage |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for cores, compute, chunk1, chunk16, client, storage in model_rows(figures):
        lines.append(
            f"| {cores} | {hours(compute)} | {hours(chunk1)} | {hours(chunk16)} | {hours(client)} | {hours(storage)} |"
        )
    lines += ["", "The run takes about the largest figure in its row, since the parts overlap:", ""]
    names = {
        1: "compute: add cores",
        3: "the scheduler at 16 images per task: raise --chunk-size",
        4: "the client receiving every encoded image (--write-on client): use --write-on workers, "
        "or split the tree with --shard K/N so that several clients share the writing",
        5: "storage bandwidth: no option of imgq's moves it; faster storage or fewer bytes (lower quality) do",
    }
    for row in model_rows(figures):
        # The scheduler at one image per task (column 2) is what --chunk-size avoids, so it is
        # reported separately below rather than as the limit of the default run.
        limit = max((1, 3, 4, 5), key=lambda column: row[column])
        lines.append(f"- {row[0]} worker cores: the first limit is {names[limit]}.")
    lines += [
        "- With one image per task the scheduler alone would need "
        f"{hours(model_rows(figures)[0][2])}, whatever the number of cores; the default of "
        f"{16} images per task (`--chunk-size`) cuts that sixteen-fold.",
        "- The compute column counts each image's share of a short run, start-up included, so it "
        "overestimates long runs (an estimate on the safe side).",
        "",
    ]
    path.write_text("\n".join(lines), encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=12, help="12-megapixel JPEGs to rotate (default 12)")
    parser.add_argument("--repeats", type=int, default=3, help="runs per figure; the median is kept (default 3)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="imgq-scaling-") as work:
        make_inputs(Path(work), args.images)
        figures = measure(Path(work), args.images, args.repeats)
    write_report(figures, REPO / "docs" / "scaling.md", args.repeats)
    print(f"wrote {REPO / 'docs' / 'scaling.md'}")


if __name__ == "__main__":
    main()

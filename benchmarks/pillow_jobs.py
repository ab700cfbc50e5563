"""Plain Pillow scripts that the benchmark compares imgq with.

This is what a user writes instead of installing a tool: a loop over the
files, or the same work under ``multiprocessing.Pool(N).imap_unordered``.
Run as ``python pillow_jobs.py JOB SRC OUT [--jobs N] [--draft]``; ``ceiling``
instead prints the single-core decode, transform and encode times as JSON.
"""

from __future__ import annotations

import argparse
import io
import json
import multiprocessing
import os
import sys
import time

from PIL import Image, ImageOps

THUMBNAIL_BOX = (1600, 1600)


def list_images(folder: str, extension: str) -> list[str]:
    """Return the files under ``folder`` with ``extension``, recursively, sorted."""
    found = []
    for root, dirs, files in os.walk(folder):
        dirs.sort()
        found += [os.path.join(root, name) for name in sorted(files) if name.endswith(extension)]
    return found


def fit_size(size: tuple[int, int], box: tuple[int, int]) -> tuple[int, int]:
    """Return the largest size with the aspect ratio of ``size`` that fits in ``box``."""
    scale = min(box[0] / size[0], box[1] / size[1])
    return max(1, round(size[0] * scale)), max(1, round(size[1] * scale))


def rotate(source: str, target: str, draft: bool = False) -> None:
    """Rotate by 90 degrees clockwise and save as JPEG quality 90 (jobs R and S)."""
    with Image.open(source) as image:
        image.transpose(Image.Transpose.ROTATE_270).save(target, "JPEG", quality=90)


def thumbnail(source: str, target: str, draft: bool = False) -> None:
    """Auto-orient, fit within 1600x1600 with Lanczos, save as JPEG quality 85 (job T)."""
    with Image.open(source) as image:
        if draft:
            # The decoder scales by 1/2, 1/4 or 1/8 while keeping at least the
            # final size. The box is square, so the stored orientation fits
            # the same way as the upright one.
            image.draft("RGB", fit_size(image.size, THUMBNAIL_BOX))
        upright = ImageOps.exif_transpose(image)
        size = fit_size(upright.size, THUMBNAIL_BOX)
        upright.resize(size, Image.Resampling.LANCZOS).save(target, "JPEG", quality=85)


def to_webp(source: str, target: str, draft: bool = False) -> None:
    """Convert to WebP quality 90, keeping alpha (job C)."""
    with Image.open(source) as image:
        image.save(target, "WEBP", quality=90)


JOBS = {"rotate": (rotate, ".jpg", ".jpg"), "thumbnail": (thumbnail, ".jpg", ".jpg"), "webp": (to_webp, ".png", ".webp")}


def _task(arguments: tuple[str, str, str, bool]) -> None:
    job, source, target, draft = arguments
    JOBS[job][0](source, target, draft)


def run(job: str, source_dir: str, output_dir: str, jobs: int, draft: bool) -> int:
    """Process every matching file; one process when ``jobs`` is 0, else a Pool."""
    function, extension, out_extension = JOBS[job]
    tasks = []
    for source in list_images(source_dir, extension):
        name = os.path.splitext(os.path.basename(source))[0] + out_extension
        tasks.append((job, source, os.path.join(output_dir, name), draft))
    os.makedirs(output_dir, exist_ok=True)

    if jobs == 0:
        for task in tasks:
            _task(task)
    else:
        chunksize = max(1, min(64, len(tasks) // (jobs * 4)))
        with multiprocessing.Pool(jobs) as pool:
            for _ in pool.imap_unordered(_task, tasks, chunksize=chunksize):
                pass
    return len(tasks)


def measure_ceiling(source_dir: str) -> dict:
    """Time decode, transpose and JPEG q90 encode of each JPEG on one core.

    Files are read into memory first, so no file system time is counted,
    and each stage keeps its best of two passes.
    """
    payloads = [open(path, "rb").read() for path in list_images(source_dir, ".jpg")]
    best = {"decode": float("inf"), "transform": float("inf"), "encode": float("inf")}
    megapixels = 0.0
    for _ in range(2):
        totals = dict.fromkeys(best, 0.0)
        megapixels = 0.0
        for payload in payloads:
            started = time.perf_counter()
            image = Image.open(io.BytesIO(payload))
            image.load()
            decoded = time.perf_counter()
            rotated = image.transpose(Image.Transpose.ROTATE_270)
            transformed = time.perf_counter()
            rotated.save(io.BytesIO(), "JPEG", quality=90)
            encoded = time.perf_counter()
            totals["decode"] += decoded - started
            totals["transform"] += transformed - decoded
            totals["encode"] += encoded - transformed
            megapixels += image.width * image.height / 1e6
        best = {stage: min(best[stage], totals[stage]) for stage in best}
    return {"megapixels": megapixels, "images": len(payloads), "seconds": best}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("job", choices=[*JOBS, "ceiling"])
    parser.add_argument("source")
    parser.add_argument("output", nargs="?")
    parser.add_argument("--jobs", type=int, default=0, help="Pool size; 0 runs a plain loop")
    parser.add_argument("--draft", action="store_true", help="let the JPEG decoder scale down")
    arguments = parser.parse_args()

    if arguments.job == "ceiling":
        print(json.dumps(measure_ceiling(arguments.source)))
        return 0
    count = run(arguments.job, arguments.source, arguments.output, arguments.jobs, arguments.draft)
    print(f"{count} images", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())

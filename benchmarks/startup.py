"""Measure the per-call cost of imgq against other one-image commands.

The job is the one a Makefile pattern rule pays per image: one call that
rotates a 64x64 PNG by 90 degrees. Every command runs the same number of
times, in turns, so that load from other processes falls on all of them
alike, and each row reports the median wall time of its calls.

Run it alone to print a Markdown table:

    .venv/bin/python benchmarks/startup.py [--runs 30] [--workdir DIR]

``measure_startup(workdir)`` returns the same rows for the benchmark runner.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# At least 20 timed calls per command; more give a steadier median.
DEFAULT_RUNS = 30
WARMUP_RUNS = 3
BASELINE = "python -c 'import PIL.Image, click'"
FLOOR = "python -c: import click, Image.open, transpose, save"

# The minimum work of any click command built on Pillow for this job: the
# imports, one decode, one transpose and one encode, with nothing checked.
FLOOR_SCRIPT = (
    "import sys, click\n"
    "from PIL import Image\n"
    "Image.open(sys.argv[1]).transpose(Image.Transpose.ROTATE_270).save(sys.argv[2])\n"
)


def imgq_command() -> list[str]:
    """Return the imgq command a user runs: the console script, else python -m imgq."""
    script = Path(sys.executable).parent / "imgq"
    if script.exists():
        return [str(script)]
    return [sys.executable, "-m", "imgq"]


def imagemagick_command() -> list[str] | None:
    """Return ImageMagick's convert (version 6 or 7), or None when missing."""
    for name in ("convert-im6.q16", "magick"):
        path = shutil.which(name)
        if path:
            return [path]
    return None


def commands(workdir: Path) -> dict[str, list[str] | None]:
    """Return each measured tool's command line; None marks a tool that is not installed."""
    source = str(workdir / "in.png")
    vips = shutil.which("vips")
    magick = imagemagick_command()
    return {
        "imgq rotate 90": [*imgq_command(), "rotate", "90", source, "-o", str(workdir / "imgq.png"), "--quiet"],
        "vips rot": [vips, "rot", source, str(workdir / "vips.png"), "d90"] if vips else None,
        "ImageMagick convert -rotate 90": (
            [*magick, source, "-rotate", "90", str(workdir / "magick.png")] if magick else None
        ),
        FLOOR: [sys.executable, "-c", FLOOR_SCRIPT, source, str(workdir / "floor.png")],
        "python -c pass": [sys.executable, "-c", "pass"],
        BASELINE: [sys.executable, "-c", "import PIL.Image, click"],
    }


def make_input(workdir: Path) -> None:
    """Write the 64x64 PNG that every command rotates."""
    from PIL import Image

    image = Image.new("RGB", (64, 64))
    image.putdata([(x * 4, y * 4, (x + y) * 2) for y in range(64) for x in range(64)])
    image.save(workdir / "in.png")


def time_call(command: list[str], env: dict[str, str]) -> float:
    """Run ``command`` once and return its wall time in milliseconds; raise on failure."""
    started = time.perf_counter()
    subprocess.run(command, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    return (time.perf_counter() - started) * 1000


def measure_startup(workdir, runs: int = DEFAULT_RUNS) -> list[dict]:
    """Time each command ``runs`` times in turns; return rows of tool, median_ms, ratio_to_pil_click.

    A tool that is not installed gets a row with None for both numbers.
    """
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    make_input(workdir)
    # Installed packages carry compiled bytecode, so the measured calls read
    # .pyc files as a user's would, even where the caller turned writing off.
    env = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}

    present = {tool: command for tool, command in commands(workdir).items() if command}
    times: dict[str, list[float]] = {tool: [] for tool in present}
    for round_number in range(WARMUP_RUNS + max(20, runs)):
        for tool, command in present.items():
            elapsed = time_call(command, env)
            if round_number >= WARMUP_RUNS:
                times[tool].append(elapsed)

    medians = {tool: statistics.median(values) for tool, values in times.items()}
    baseline = medians[BASELINE]
    rows = []
    for tool in commands(workdir):
        median = medians.get(tool)
        rows.append({
            "tool": tool,
            "median_ms": None if median is None else round(median, 1),
            "ratio_to_pil_click": None if median is None else round(median / baseline, 2),
        })
    return rows


def markdown_table(rows: list[dict]) -> str:
    """Return the rows as a Markdown table."""
    lines = ["| command | median ms | ratio to `import PIL.Image, click` |", "| --- | ---: | ---: |"]
    for row in rows:
        if row["median_ms"] is None:
            lines.append(f"| {row['tool']} | not installed | |")
        else:
            lines.append(f"| {row['tool']} | {row['median_ms']:.1f} | {row['ratio_to_pil_click']:.2f} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=DEFAULT_RUNS, help="timed calls per command (at least 20)")
    parser.add_argument("--workdir", help="folder for the input and outputs [default: a new temporary folder]")
    args = parser.parse_args()

    if args.workdir:
        rows = measure_startup(args.workdir, args.runs)
    else:
        with tempfile.TemporaryDirectory(prefix="imgq-startup-") as workdir:
            rows = measure_startup(workdir, args.runs)
    print(markdown_table(rows))
    print(f"\nMedian of {max(20, args.runs)} calls each, {sys.executable}, Python {sys.version.split()[0]}.")


if __name__ == "__main__":
    main()

"""The tools under comparison, and the command each one runs for each job.

Jobs:

* R: rotate every JPEG by 90 degrees clockwise, JPEG quality 90
* T: auto-orient, fit within 1600x1600, JPEG quality 85
* C: convert the PNGs to WebP quality 90
* S: rotate 10,000 images of 64x64 by 90 degrees (cost per image outside the codecs)
* L: lossless rotate of the JPEGs by 90 degrees

On R, ``--quality 90`` makes imgq decode and re-encode, as the other tools
do, instead of taking its lossless JPEG path.

R and S leave EXIF Orientation alone (imgq runs with ``--no-auto-orient``),
because mogrify, vips and jpegtran do not apply it on a plain rotate.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from typing import Callable

from corpus import Corpus
from pillow_jobs import list_images

HERE = os.path.dirname(os.path.abspath(__file__))
PILLOW_JOBS = os.path.join(HERE, "pillow_jobs.py")
JOB_NAMES = {
    "R": "rotate JPEGs 90, q90",
    "T": "thumbnail: auto-orient, fit 1600x1600, q85",
    "C": "PNG to WebP q90",
    "S": "10,000 images of 64x64, rotate 90",
    "L": "lossless rotate JPEGs 90",
}
# Pillow reads this at import; it keeps up to 32 freed image blocks for reuse.
BLOCK_CACHE = {"PILLOW_BLOCKS_MAX": "32"}


@dataclass
class Command:
    """One tool's command for one job, and where its outputs appear."""

    argv: list[str]
    output_dir: str
    output_suffix: str
    env: dict[str, str] = field(default_factory=dict)
    prepare: Callable[[], None] | None = None


@dataclass
class Tool:
    """A tool in the comparison: a name and a command builder per job it can run."""

    name: str
    builders: dict[str, Callable[[Corpus, str], Command]]
    version: str = ""
    missing: str = ""


def _source(corpus: Corpus, job: str) -> tuple[str, str]:
    if job == "C":
        return corpus.png_dir, ".png"
    if job == "S":
        return corpus.tiny_dir, ".jpg"
    return corpus.jpeg_dir, ".jpg"


def pillow_tool(name: str, jobs: int, draft: bool = False, block_cache: bool = False, only: str = "RTCS") -> Tool:
    """Return a plain Pillow script: a loop when ``jobs`` is 0, else Pool(jobs)."""
    scripts = {"R": "rotate", "S": "rotate", "T": "thumbnail", "C": "webp"}

    def build(job: str):
        def command(corpus: Corpus, out: str) -> Command:
            source, _ = _source(corpus, job)
            argv = [sys.executable, PILLOW_JOBS, scripts[job], source, out, "--jobs", str(jobs)]
            if draft:
                argv.append("--draft")
            suffix = ".webp" if job == "C" else ".jpg"
            return Command(argv, out, suffix, BLOCK_CACHE if block_cache else {})

        return command

    return Tool(name, {job: build(job) for job in only})


def imgq_tool(name: str, jobs: int, only: str = "RTCS", extra_env: dict | None = None) -> Tool:
    """Return imgq with ``-j jobs``."""
    base = [sys.executable, "-m", "imgq"]
    common = ["-j", str(jobs), "--quiet"]

    def build(job: str):
        def command(corpus: Corpus, out: str) -> Command:
            source, _ = _source(corpus, job)
            if job in "RS":
                argv = [*base, "rotate", "90", source, "-o", out, "--no-auto-orient", "--quality", "90"]
            elif job == "T":
                argv = [*base, "resize", "1600x1600", source, "-o", out, "--quality", "85"]
            elif job == "C":
                argv = [*base, "convert", "webp", source, "-o", out, "--quality", "90"]
            else:
                # The default, --lossless auto: lossless where the size allows,
                # re-encoded (with a warning) where it does not.
                argv = [*base, "rotate", "90", source, "-o", out, "--no-auto-orient"]
            return Command(argv + common, out, ".webp" if job == "C" else ".jpg", extra_env or {})

        return command

    builders = {job: build(job) for job in only}
    if "L" in only and not imgq_has_lossless():
        builders.pop("L")
    return Tool(name, builders)


def imgq_has_lossless() -> bool:
    """Return True if this imgq's rotate command has a ``--lossless`` option."""
    completed = subprocess.run(
        [sys.executable, "-m", "imgq", "rotate", "--help"], capture_output=True, text=True, check=False
    )
    return "--lossless" in completed.stdout


def imgp_tool(jobs: int) -> Tool:
    """Return imgp; it writes NAME_IMGP.jpg beside each source, so it works on a copy."""
    program = shutil.which("imgp", path=os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", ""))
    if program is None:
        return Tool("imgp", {}, missing="imgp is not installed (pip install imgp)")

    def build(job: str):
        def command(corpus: Corpus, out: str) -> Command:
            source, suffix = _source(corpus, job)

            def copy_sources():
                shutil.copytree(source, out)

            # -s 1: also process files under imgp's default minimum of 1024 bytes.
            if job == "T":
                options = ["-x", "1600x1600", "-q", "85"]
            else:
                options = ["-o", "90", "-q", "90"]
            argv = [program, *options, "-m", "-s", "1", "-r", out]
            return Command(argv, out, "_IMGP.jpg", prepare=copy_sources)

        return command

    return Tool("imgp", {job: build(job) for job in "RTS"}, version=_version([program, "--version"]))


def mogrify_tool() -> Tool:
    """Return ImageMagick's mogrify, given every file on its command line."""
    program = shutil.which("mogrify-im6.q16") or shutil.which("mogrify")
    if program is None:
        return Tool("mogrify", {}, missing="ImageMagick mogrify is not installed (apt-get install imagemagick)")
    options = {
        "R": ["-rotate", "90", "-quality", "90"],
        "S": ["-rotate", "90", "-quality", "90"],
        "T": ["-auto-orient", "-resize", "1600x1600", "-quality", "85"],
        "C": ["-format", "webp", "-quality", "90"],
    }

    def build(job: str):
        def command(corpus: Corpus, out: str) -> Command:
            source, suffix = _source(corpus, job)
            # About 0.8 MB of arguments for job S, well under Linux's 2 MB default.
            argv = [program, "-path", out, *options[job], *list_images(source, suffix)]
            return Command(argv, out, ".webp" if job == "C" else ".jpg", prepare=lambda: os.makedirs(out))

        return command

    version = _version([program, "-version"]).removeprefix("Version: ")
    return Tool("mogrify", {job: build(job) for job in options}, version=version)


def vips_tool(jobs: int) -> Tool:
    """Return vips (vipsthumbnail for T) run per file under GNU parallel."""
    missing = [name for name in ("vips", "vipsthumbnail", "parallel") if shutil.which(name) is None]
    if missing:
        return Tool(f"vips, parallel -j{jobs}", {}, missing=f"{', '.join(missing)} not installed (apt-get install libvips-tools parallel)")
    parallel = ["parallel", "--will-cite", "--halt", "now,fail=1", "-j", str(jobs)]

    def build(job: str):
        def command(corpus: Corpus, out: str) -> Command:
            source, suffix = _source(corpus, job)
            files = list_images(source, suffix)
            if job == "R":
                argv = [*parallel, "vips", "rot", "{}", os.path.join(out, "{/}") + "[Q=90]", "d90", ":::", *files]
            elif job == "T":
                # Batches of 10 files per vipsthumbnail process.
                target = os.path.join(out, "%s.jpg") + "[Q=85]"
                argv = [*parallel, "-n", "10", "vipsthumbnail", "-s", "1600x1600", "-o", target, ":::", *files]
            else:
                argv = [*parallel, "vips", "copy", "{}", os.path.join(out, "{/.}.webp") + "[Q=90]", ":::", *files]
            return Command(argv, out, ".webp" if job == "C" else ".jpg", prepare=lambda: os.makedirs(out))

        return command

    return Tool(f"vips, parallel -j{jobs}", {job: build(job) for job in "RTC"}, version=_version(["vips", "--version"]))


def jpegtran_tool(jobs: int) -> Tool:
    """Return jpegtran under GNU parallel: lossless rotate, all markers copied."""
    if shutil.which("jpegtran") is None or shutil.which("parallel") is None:
        return Tool(f"jpegtran, parallel -j{jobs}", {}, missing="jpegtran or parallel not installed (apt-get install libjpeg-turbo-progs parallel)")

    def command(corpus: Corpus, out: str) -> Command:
        files = list_images(corpus.jpeg_dir, ".jpg")
        argv = [
            "parallel", "--will-cite", "--halt", "now,fail=1", "-j", str(jobs),
            "jpegtran", "-rotate", "90", "-copy", "all", "-outfile", os.path.join(out, "{/}"), "{}",
            ":::", *files,
        ]
        return Command(argv, out, ".jpg", prepare=lambda: os.makedirs(out))

    version = _version(["jpegtran", "-version"])
    return Tool(f"jpegtran, parallel -j{jobs}", {"L": command}, version=version)


def _version(argv: list[str]) -> str:
    try:
        completed = subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False)
    except OSError:
        return ""
    lines = (completed.stdout + completed.stderr).strip().splitlines()
    return lines[0].strip() if lines else ""

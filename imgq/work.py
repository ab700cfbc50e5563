"""Work: open, transform and encode one image, and the worker process loop around it.

A bad image is data, not an exception: every per-image error becomes a
failed ``ImageResult`` with a one-line reason, and the worker goes on with
the next image. The encoded output goes to a temporary file in the output
folder, which the collector moves into place.
"""

from __future__ import annotations

import contextlib
import functools
import io
import os
import re
import struct
import sys
import time
import warnings
import zlib

from PIL import Image, ImageFile, UnidentifiedImageError

from imgq import heif, lossless_jpeg, testhooks
from imgq.children import prepare_child
from imgq.encode import encode
from imgq.frames import FrameError
from imgq.memory import MemoryGate, MemoryLimitError
from imgq.ops import OperationError, exif_orientation
from imgq.pipeline import Pipeline
from imgq.plan import ImageJob
from imgq.render import Rendered, render, render_variants
from imgq.report import ImageResult, Outcome
from imgq.streams import open_source, source_stat

# Errors that damaged or hostile files raise from Pillow's decoders. Several
# are not OSError: PNG text-chunk bombs raise ValueError, some TIFFs raise
# TypeError while counting frames, and bad headers raise SyntaxError.
DECODE_ERRORS = (
    OSError,
    ValueError,
    TypeError,
    SyntaxError,
    EOFError,
    IndexError,
    KeyError,
    ZeroDivisionError,
    struct.error,
    zlib.error,
    MemoryError,
    Image.DecompressionBombError,
)


# Freed image blocks (16 MB each by default) that a process keeps for reuse:
# enough for a 24-megapixel image and its transformed copy.
BLOCK_CACHE_BLOCKS = 16


class OutputError(Exception):
    """Writing the encoded output to the temporary file failed."""


class ImageTimeout(Exception):
    """The ``-j 1`` run's alarm fired: one image took longer than --timeout."""


def configure_pillow(pipeline: Pipeline) -> None:
    """Set Pillow's process-wide limits from the pipeline, once per process."""
    # Pillow raises DecompressionBombError above twice MAX_IMAGE_PIXELS and only
    # warns below that, so half the limit makes the error fire at the limit.
    Image.MAX_IMAGE_PIXELS = None if pipeline.max_pixels is None else pipeline.max_pixels // 2
    ImageFile.LOAD_TRUNCATED_IMAGES = False

    # Pillow frees every image block by default, so each image faults in
    # fresh pages. Keeping freed blocks for reuse cut the CPU time of a
    # 12-megapixel JPEG rotate by about a quarter (benchmarks/run.py, job R).
    # The cache keeps only blocks the process already had at its peak.
    if "PILLOW_BLOCKS_MAX" not in os.environ:
        Image.core.set_blocks_max(BLOCK_CACHE_BLOCKS)


def worker_main(worker_id: int, connection, result_queue, pipeline: Pipeline, gate: MemoryGate, parent_pid: int) -> None:
    """Run one worker process: request a chunk, process it, repeat until sent None."""
    prepare_child("imgq-worker", parent_pid)
    configure_pillow(pipeline)
    while True:
        try:
            connection.send(worker_id)
            chunk = connection.recv()
        except (EOFError, OSError):
            return
        if chunk is None:
            return
        for job in chunk:
            gate.begin(job.index)
            testhooks.before_image(job.source, in_worker=True)
            result = process_image(job, pipeline, gate)
            gate.end()
            result_queue.put(result)


def process_image(
    job: ImageJob, pipeline: Pipeline, gate: MemoryGate | None = None, in_memory: bool = False
) -> ImageResult:
    """Process one image into its temporary output file and return the result record.

    With ``in_memory``, the encoded output is returned in ``ImageResult.data``
    instead, for a collector on another machine to write. ``gate`` reserves
    memory for the decoded image first.
    """
    started = time.perf_counter()
    result = ImageResult(job.index, job.source, job.output, Outcome.FAILED)
    try:
        result.bytes_in, result.mtime_ns = source_stat(job.source)
        if result.bytes_in == 0:
            result.reason = "empty file (0 bytes)"
        else:
            _convert(job, pipeline, result, gate, in_memory)
            result.outcome = Outcome.WRITTEN
    except (OutputError, FrameError, OperationError, lossless_jpeg.LosslessError, MemoryLimitError, ImageTimeout) as exc:
        result.reason = str(exc)
    except DECODE_ERRORS as exc:
        result.reason = describe_error(exc)
        if isinstance(exc, UnidentifiedImageError) and not heif.AVAILABLE and heif.is_heif_file(job.source):
            result.reason = heif.MISSING_MESSAGE
    except Exception as exc:  # noqa: BLE001 - one bad image must not end the run
        result.reason = f"unexpected error: {type(exc).__name__}: {exc}"
        import traceback

        result.detail = traceback.format_exc()

    if result.outcome is not Outcome.WRITTEN:
        for temp in job.temps:
            _remove_quietly(temp)
    result.reason = " ".join(result.reason.split())
    result.milliseconds = (time.perf_counter() - started) * 1000
    return result


def _convert(job: ImageJob, pipeline: Pipeline, result: ImageResult, gate: MemoryGate | None, in_memory: bool) -> None:
    notes: list[str] = []
    with _quiet_native_stderr(), warnings.catch_warnings():
        # Pillow warns about large images (imgq applies --max-pixels itself)
        # and about damaged EXIF (which is dropped); neither is an error.
        warnings.simplefilter("ignore")
        with Image.open(open_source(job.source)) as source:
            _check_pixels(source, pipeline)
            output = None if job.variants else lossless_jpeg.transform(source, job, pipeline, notes)
            if output is None:
                _request_draft(source, pipeline)
                if gate is not None:
                    gate.reserve(source)
                # Load before anything else reads the image: after a failed first
                # load, a second load can "succeed" with rows silently missing.
                source.load()
                outputs = _render_all(source, job, pipeline)
            else:
                outputs = [output]

    # The frames are copies, so encoding after the source file is closed is safe.
    targets = job.variants or (job,)
    result.bytes_out = 0
    written = []
    for target, rendered in zip(targets, outputs):
        notes += getattr(rendered, "notes", [])
        data = None
        if in_memory:
            # NOTE: here the collector writes the file, and --keep-mtime is
            # not applied to it.
            data = _encode_to_bytes(target.output_format, rendered)
            result.bytes_out += len(data)
        else:
            result.bytes_out += _write_temp(target.temp, target.output, target.output_format, rendered)
            if pipeline.keep_mtime:
                _copy_mtime(job.source, target.temp)
        written.append((target.temp, target.output, data))

    result.temp = job.temp
    result.data = written[0][2]
    result.extra_outputs = tuple(written[1:])
    result.width, result.height = outputs[0].size
    result.notes = tuple(dict.fromkeys(notes))


def _encode_to_bytes(fmt: str, output: Rendered | lossless_jpeg.LosslessOutput) -> bytes:
    if not isinstance(output, Rendered):
        return output.data
    buffer = io.BytesIO()
    encode(output.frames[0], fmt, buffer, output.options)
    return buffer.getvalue()


def _render_all(source: Image.Image, job: ImageJob, pipeline: Pipeline) -> list[Rendered]:
    if job.variants:
        return render_variants(source, job.variants, pipeline)
    return [render(source, job.output_format, pipeline)]


def _check_pixels(image: Image.Image, pipeline: Pipeline) -> None:
    pixels = image.width * image.height
    if pipeline.max_pixels is not None and pixels > pipeline.max_pixels:
        raise Image.DecompressionBombError(
            f"{image.width}x{image.height} is {pixels:,} pixels, above the limit of {pipeline.max_pixels:,}"
        )


def _request_draft(image: Image.Image, pipeline: Pipeline) -> None:
    """Let the JPEG decoder scale down by 1/2, 1/4 or 1/8 when a resize comes first.

    The draft keeps at least the final size, and the Lanczos resize that
    follows does the rest. The decoder's scaling averages in the DCT domain,
    so a 12-megapixel photo fitted into 1600x1600 differs from a full decode
    by about 48 dB PSNR, and takes a third of the time.
    """
    if image.format != "JPEG":
        return
    # Track whether the steps before the resize turn the image sideways.
    sideways = pipeline.auto_orient and exif_orientation(image) in (5, 6, 7, 8)
    for operation in pipeline.operations:
        if operation.name == "resize":
            if operation.argument.percent:
                # A percentage applies to the size the resize sees, which
                # the draft would already have divided.
                return
            size = image.size[::-1] if sideways else image.size
            width, height = operation.argument.target_size(size)
            if width < size[0] and height < size[1]:
                image.draft(image.mode, (height, width) if sideways else (width, height))
            return
        if operation.name == "rotate" and operation.argument % 90 == 0:
            sideways ^= operation.argument % 180 != 0
        elif operation.name not in ("flip", "flop", "auto-orient"):
            return


def _write_temp(temp: str, final: str, fmt: str, output: Rendered | lossless_jpeg.LosslessOutput) -> int:
    try:
        stream = _create_temp(temp)
    except OSError as exc:
        raise OutputError(f"cannot write {final}: {exc.strerror or exc}") from exc

    with stream:
        try:
            if isinstance(output, Rendered):
                encode(output.frames[0], fmt, stream, output.options)
            else:
                stream.write(output.data)
            stream.flush()
        except OSError as exc:
            _remove_quietly(temp)
            if exc.errno is not None:
                raise OutputError(f"cannot write {final}: {exc.strerror or exc}") from exc
            raise
        except BaseException:
            _remove_quietly(temp)
            raise
        return stream.tell()


def _create_temp(temp: str) -> io.BufferedRandom:
    """Open ``temp`` for writing, creating its folder first if it is missing.

    Trying the open first costs one system call per image where the folder
    exists, and a Dask worker that outlives a run creates a deleted folder again.
    """
    # Multi-page TIFF writing reads back what it wrote, so the file is opened
    # for reading too.
    try:
        return open(temp, "w+b")
    except FileNotFoundError:
        os.makedirs(os.path.dirname(temp) or ".", exist_ok=True)
        return open(temp, "w+b")


def _copy_mtime(source: str, target: str) -> None:
    """Give ``target`` the access and modification times of ``source`` (``--keep-mtime``)."""
    stat = os.stat(source)
    os.utime(target, ns=(stat.st_atime_ns, stat.st_mtime_ns))


def describe_error(exc: BaseException) -> str:
    """Return a one-line reason for a per-image error, without the path."""
    message = str(exc) or type(exc).__name__
    if isinstance(exc, Image.DecompressionBombError):
        return f"too many pixels: {_bomb_message(message)} (raise --max-pixels to allow larger images)"
    if isinstance(exc, UnidentifiedImageError):
        return "not an image, or a format Pillow cannot read"
    if isinstance(exc, MemoryError):
        return "out of memory while decoding"
    if isinstance(exc, OSError) and exc.errno is not None:
        return f"cannot read file: {exc.strerror}"
    if isinstance(exc, OSError) and "truncated" in message.lower():
        return f"truncated image: {message}"
    if isinstance(exc, OSError):
        return f"corrupt or unsupported image: {message}"
    return f"corrupt image: {message} ({type(exc).__name__})"


def _bomb_message(message: str) -> str:
    """Restate Pillow's decompression-bomb message in imgq's own words."""
    found = re.search(r"Image size \((\d+) pixels\) exceeds limit of (\d+) pixels", message)
    if found is None:
        return message
    pixels, limit = int(found[1]), int(found[2])
    return f"{pixels:,} pixels, above the limit of {limit:,}"


@contextlib.contextmanager
def _quiet_native_stderr():
    """Send file descriptor 2 to /dev/null while C decoders run.

    libtiff and some other codecs print warnings straight to the process's
    stderr, hundreds of lines for one damaged file; imgq reports each failure
    in one line of its own instead.
    """
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        os.dup2(_devnull(), 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


@functools.lru_cache(maxsize=None)
def _devnull() -> int:
    """Return a descriptor open on /dev/null, opened once per process.

    Opening a file can cost a quarter of a millisecond on some filesystems,
    as much as a small image's whole transform.
    """
    return os.open(os.devnull, os.O_WRONLY)


def _remove_quietly(path: str) -> None:
    with contextlib.suppress(FileNotFoundError, IsADirectoryError):
        os.remove(path)

"""Work: open, transform and encode one image, and the worker process loop around it.

A bad image is data, not an exception: every per-image error becomes a
failed ``ImageResult`` with a one-line reason, and the worker goes on with
the next image. The encoded output goes to a temporary file in the output
folder, which the collector moves into place.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import struct
import sys
import time
import traceback
import warnings
import zlib

from PIL import Image, ImageFile, UnidentifiedImageError

from imgq import testhooks
from imgq.children import prepare_child
from imgq.encode import encode, prepare_for_format, save_options
from imgq.memory import MemoryGate, MemoryLimitError
from imgq.metadata import collect_metadata
from imgq.ops import exif_orientation
from imgq.pipeline import Pipeline
from imgq.plan import ImageJob
from imgq.report import ImageResult, Outcome

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


def worker_main(worker_id: int, connection, result_queue, pipeline: Pipeline, gate: MemoryGate, parent_pid: int) -> None:
    """Run one worker process: ask for a chunk, process it, repeat until told to stop."""
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
        stat = os.stat(job.source)
        result.bytes_in = stat.st_size
        result.mtime_ns = stat.st_mtime_ns
        if result.bytes_in == 0:
            result.reason = "empty file (0 bytes)"
        else:
            _convert(job, pipeline, result, gate, in_memory)
            result.outcome = Outcome.WRITTEN
    except (OutputError, MemoryLimitError, ImageTimeout) as exc:
        result.reason = str(exc)
    except DECODE_ERRORS as exc:
        result.reason = describe_error(exc)
    except Exception as exc:  # noqa: BLE001 - one bad image must not end the run
        result.reason = f"unexpected error: {type(exc).__name__}: {exc}"
        result.detail = traceback.format_exc()

    if result.outcome is not Outcome.WRITTEN:
        _remove_quietly(job.temp)
    result.reason = " ".join(result.reason.split())
    result.milliseconds = (time.perf_counter() - started) * 1000
    return result


def _convert(job: ImageJob, pipeline: Pipeline, result: ImageResult, gate: MemoryGate | None, in_memory: bool) -> None:
    notes = []
    with _quiet_native_stderr(), warnings.catch_warnings():
        # Pillow warns about large images (imgq applies --max-pixels itself)
        # and about damaged EXIF (which is dropped); neither is an error.
        warnings.simplefilter("ignore")
        with Image.open(job.source) as source:
            _check_pixels(source, pipeline)
            _request_draft(source, pipeline)
            if gate is not None:
                gate.reserve(source)
            # Load before anything else reads the image: after a failed first
            # load, a second load can "succeed" with rows silently missing.
            source.load()
            frames = _frame_count(source)
            if frames > 1 and source.format != "MPO":
                notes.append(f"kept only the first of {frames} frames")

            image = pipeline.transform(source)
            image = prepare_for_format(image, job.output_format, pipeline.background)
            metadata = collect_metadata(source, image, pipeline.changes_geometry, pipeline.strip)
            if metadata.note:
                notes.append(metadata.note)

            options = save_options(job.output_format, pipeline.quality)
            options.update(metadata.save_options(job.output_format))
            options.update(pipeline.extra_save_options)
            # Encode while the source file is open: an untouched image is the
            # source itself, and some plugins read the file again on save.
            if in_memory:
                buffer = io.BytesIO()
                encode(image, job.output_format, buffer, options)
                result.data = buffer.getvalue()
                result.bytes_out = len(result.data)
            else:
                result.bytes_out = _write_temp(job, image, options)

    result.temp = job.temp
    result.width, result.height = image.size
    result.notes = tuple(notes)


def _check_pixels(image: Image.Image, pipeline: Pipeline) -> None:
    pixels = image.width * image.height
    if pipeline.max_pixels is not None and pixels > pipeline.max_pixels:
        raise Image.DecompressionBombError(
            f"{image.width}x{image.height} is {pixels:,} pixels, above the limit of {pipeline.max_pixels:,}"
        )


def _request_draft(image: Image.Image, pipeline: Pipeline) -> None:
    """Let the JPEG decoder scale down by 1/2, 1/4 or 1/8 when a resize comes first.

    The draft keeps at least twice the final size, so the Lanczos resize that
    follows sees enough detail; decoding fewer pixels is much faster.
    """
    if image.format != "JPEG":
        return
    # Track whether the steps before the resize turn the image sideways.
    sideways = pipeline.auto_orient and exif_orientation(image) in (5, 6, 7, 8)
    for operation in pipeline.operations:
        if operation.name == "resize":
            size = image.size[::-1] if sideways else image.size
            width, height = operation.argument.target_size(size)
            if width * 2 <= size[0] and height * 2 <= size[1]:
                request = (height * 2, width * 2) if sideways else (width * 2, height * 2)
                image.draft(image.mode, request)
            return
        if operation.name == "rotate" and operation.argument % 90 == 0:
            sideways ^= operation.argument % 180 != 0
        elif operation.name not in ("flip", "flop", "auto-orient"):
            return


def _frame_count(image: Image.Image) -> int:
    try:
        return int(getattr(image, "n_frames", 1))
    except DECODE_ERRORS:
        return 1


def _write_temp(job: ImageJob, image: Image.Image, options: dict) -> int:
    folder = os.path.dirname(job.temp) or "."
    try:
        os.makedirs(folder, exist_ok=True)
        stream = open(job.temp, "wb")
    except OSError as exc:
        raise OutputError(f"cannot write {job.output}: {exc.strerror or exc}") from exc

    with stream:
        try:
            encode(image, job.output_format, stream, options)
            stream.flush()
        except OSError as exc:
            _remove_quietly(job.temp)
            if exc.errno is not None:
                raise OutputError(f"cannot write {job.output}: {exc.strerror or exc}") from exc
            raise
        except BaseException:
            _remove_quietly(job.temp)
            raise
        return stream.tell()


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
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def _remove_quietly(path: str) -> None:
    with contextlib.suppress(FileNotFoundError, IsADirectoryError):
        os.remove(path)

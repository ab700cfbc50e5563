"""Collection: move finished outputs into place, count outcomes, show progress.

The collector is the only writer of final output names. It takes one
``ImageResult`` per image, renames the worker's temporary file onto the
output path with ``os.replace`` (atomic within one folder), prints one line
per failure, and drives the progress bar. In a parallel run it is a process
of its own; ``-j 1`` uses the same class inside the main process.
"""

from __future__ import annotations

import contextlib
import os
import sys
from dataclasses import dataclass

from imgq.children import COLLECTOR_NAME, parent_alive, prepare_child
from imgq.formats import format_for_extension
from imgq.jsonreport import JsonReport
from imgq.manifest import Journal
from imgq.pipeline import Pipeline
from imgq.progress import ProgressLines
from imgq.report import ImageResult, Outcome, Report, display_path


@dataclass(frozen=True)
class OutputSettings:
    """Output settings of the collector: verbosity, progress display, report and manifest."""

    quiet: bool = False
    verbose: bool = False
    progress: bool | None = None
    in_place: bool = False
    report: str | None = None
    manifest_root: str | None = None
    pipeline: Pipeline | None = None


@dataclass(frozen=True)
class WorkerLost:
    """Control message from the main process: a worker died holding these jobs.

    The collector takes in every result already on the queue and replies
    with ``Unfinished``, which lists the jobs that still have no result.
    """

    worker_id: int
    indices: tuple[int, ...]


@dataclass(frozen=True)
class Unfinished:
    """Control reply to ``WorkerLost``: the dead worker's jobs without a result."""

    worker_id: int
    indices: tuple[int, ...]


@dataclass(frozen=True)
class FailJobs:
    """Control message from the main process: these jobs failed without a result.

    Each item is ``(index, source, output, reason)``.
    """

    jobs: tuple[tuple[int, str, str, str], ...]


@dataclass(frozen=True)
class Notice:
    """Control message from the main process: a warning line to print."""

    text: str


STOP = "stop"


class IndexSet:
    """A set of job indices from 0 to ``total`` - 1, one byte each.

    A Python set takes about 70 bytes per index, which on a run of 100,000
    images is 7 MB in the collector. Indices outside the range go to a set.
    """

    def __init__(self, total: int):
        self._flags = bytearray(total)
        self._others: set[int] = set()
        self._count = 0

    def __contains__(self, index: int) -> bool:
        if 0 <= index < len(self._flags):
            return bool(self._flags[index])
        return index in self._others

    def __len__(self) -> int:
        return self._count

    def add(self, index: int) -> None:
        """Add ``index``; adding it again changes nothing."""
        if index in self:
            return
        if 0 <= index < len(self._flags):
            self._flags[index] = 1
        else:
            self._others.add(index)
        self._count += 1


class Collector:
    """Places outputs and keeps the report; owns the progress bar."""

    def __init__(self, total: int, settings: OutputSettings):
        self.report = Report()
        self.settings = settings
        self.received = IndexSet(total)
        self._bar = _make_bar(total, settings)
        self._lines = _make_lines(total, settings) if self._bar is None else None
        self._json = JsonReport(settings.report) if settings.report else None
        self._journal = None
        if settings.manifest_root and settings.pipeline is not None:
            self._journal = Journal(settings.manifest_root, settings.pipeline)

    def handle(self, result: ImageResult) -> None:
        """Account for one image's result: place its output or report its failure."""
        if result.index in self.received:
            return
        self.received.add(result.index)

        if result.outcome is Outcome.WRITTEN:
            self._place(result)
        self.report.count(result)
        self._record(result)

        if result.outcome is Outcome.FAILED:
            self.write(f"imgq: {display_path(result.source)}: {display_path(result.reason)}")
            if result.detail and self.settings.verbose:
                self.write(result.detail.rstrip())
        for note in result.notes:
            self.write(f"imgq: warning: {display_path(result.source)}: {note}", always=False)
        if self._bar is not None:
            self._bar.update(1)
        elif self._lines is not None:
            self._lines.update(result.outcome is Outcome.FAILED)

    def unfinished(self, lost: WorkerLost) -> Unfinished:
        """Return which jobs of a dead worker have no result yet."""
        return Unfinished(lost.worker_id, tuple(index for index in lost.indices if index not in self.received))

    def fail_jobs(self, message: FailJobs) -> None:
        """Account for jobs that no worker will finish as failed."""
        for index, source, output, reason in message.jobs:
            if index not in self.received:
                self.handle(ImageResult(index, source, output, Outcome.FAILED, reason))

    def write(self, line: str, always: bool = True) -> None:
        """Print a line on stderr without tearing the progress bar."""
        if self.settings.quiet and not always:
            return
        if self._bar is not None:
            self._bar.write(line, file=sys.stderr)
        else:
            print(line, file=sys.stderr, flush=True)

    def close(self) -> Report:
        """Close the progress bar, the JSON report and the manifest, and return the report."""
        if self._bar is not None:
            self._bar.close()
        if self._json is not None:
            self._json.close()
        if self._journal is not None:
            self._journal.close()
        return self.report

    def _record(self, result: ImageResult) -> None:
        """Write the image's JSON report line and, for a written output, its manifest line."""
        if self._json is not None:
            self._json.image(result)
        if self._journal is not None and result.outcome is Outcome.WRITTEN:
            fmt = self.settings.pipeline.output_format or format_for_extension(result.output) or "PNG"
            warning = self._journal.record(result.output, fmt, result.bytes_in, result.mtime_ns)
            if warning:
                self.write(f"imgq: warning: {warning}")

    def _place(self, result: ImageResult) -> None:
        try:
            place_output(result, self.settings.in_place)
        except PlacementError as exc:
            for temp in [result.temp, *(extra[0] for extra in result.extra_outputs)]:
                if temp is not None:
                    with contextlib.suppress(OSError):
                        os.remove(temp)
            result.outcome = Outcome.FAILED
            result.reason = str(exc)


class PlacementError(OSError):
    """Writing or renaming one output onto its final name failed."""


def place_output(result: ImageResult, in_place: bool) -> None:
    """Move a written result's outputs (one, or one per variant) onto their final names.

    Raise ``PlacementError`` naming the output that failed. Afterwards
    ``result.temp`` is None, so that placing it again does nothing.
    """
    if result.temp is None:
        return
    moves = [(result.temp, result.output, result.data), *result.extra_outputs]
    for temp, output, data in moves:
        try:
            if data is not None:
                _write_file(temp, data)
            if in_place and os.path.exists(result.source):
                import shutil

                shutil.copymode(result.source, temp)
            os.replace(temp, output)
        except OSError as exc:
            raise PlacementError(f"cannot write {output}: {exc.strerror or exc}") from exc
    result.data = None
    result.temp = None
    result.extra_outputs = ()


def _write_file(path: str, data: bytes) -> None:
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    try:
        with open(path, "wb") as stream:
            stream.write(data)
    except OSError:
        with contextlib.suppress(OSError):
            os.remove(path)
        raise


def _make_lines(total: int, settings: OutputSettings) -> ProgressLines | None:
    if settings.quiet or settings.progress is False:
        return None
    return ProgressLines(total)


def _make_bar(total: int, settings: OutputSettings):
    if settings.quiet or settings.progress is False:
        return None
    # Without --progress, the bar shows only on a terminal and only for a
    # batch; deciding that here spares a one-image run the tqdm import.
    if settings.progress is None and (total <= 1 or not sys.stderr.isatty()):
        return None
    from tqdm import tqdm

    return tqdm(
        total=total,
        unit="img",
        file=sys.stderr,
        # None hides the bar when stderr is not a terminal (cron, CI, pipes).
        disable=None if settings.progress is None else False,
        dynamic_ncols=True,
        bar_format="{l_bar}{bar}| {n_fmt}/{total_fmt} images [{elapsed}<{remaining}, {rate_fmt}]",
    )


def collector_main(result_queue, control, report_connection, total: int, settings: OutputSettings, parent_pid: int) -> None:
    """Run the collector process until every planned image is accounted for.

    The run ends by accounting, never by ``Queue.empty()``: the loop stops
    when ``total`` distinct results have arrived, or when the main process
    sends STOP or is gone.
    """
    import queue

    prepare_child(COLLECTOR_NAME, parent_pid)
    collector = Collector(total, settings)
    while len(collector.received) < total:
        try:
            collector.handle(result_queue.get(timeout=0.05))
        except queue.Empty:
            if not parent_alive(parent_pid):
                break
        try:
            if control.poll() and not _obey(control, control.recv(), result_queue, collector):
                break
        except (EOFError, OSError):
            break
    with contextlib.suppress(OSError):
        report_connection.send(collector.close())


def _obey(control, message, result_queue, collector: Collector) -> bool:
    """Carry out one control message; return False on STOP."""
    if message == STOP:
        return False
    if isinstance(message, WorkerLost):
        # Every result the dead worker wrote is whole in the pipe by now;
        # take them in before naming the unfinished jobs.
        _drain(result_queue, collector)
        control.send(collector.unfinished(message))
    elif isinstance(message, FailJobs):
        collector.fail_jobs(message)
    elif isinstance(message, Notice):
        collector.write(message.text, always=False)
    return True


def _drain(result_queue, collector: Collector) -> None:
    import queue

    while True:
        try:
            collector.handle(result_queue.get(block=False))
        except queue.Empty:
            return

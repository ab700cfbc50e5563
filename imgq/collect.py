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
import signal
import sys
from dataclasses import dataclass

from imgq.report import ImageResult, Outcome, Report


@dataclass(frozen=True)
class OutputSettings:
    """How the collector talks to the person running imgq."""

    quiet: bool = False
    verbose: bool = False
    progress: bool | None = None
    in_place: bool = False


@dataclass(frozen=True)
class WorkerLost:
    """Control message: a worker died; its listed jobs without a result have failed."""

    jobs: tuple[tuple[int, str, str], ...]
    reason: str


STOP = "stop"


class Collector:
    """Places outputs and keeps the report; owns the progress bar."""

    def __init__(self, total: int, settings: OutputSettings):
        self.report = Report()
        self.settings = settings
        self.received: set[int] = set()
        self._bar = _make_bar(total, settings)

    def handle(self, result: ImageResult) -> None:
        """Account for one image's result: place its output or report its failure."""
        if result.index in self.received:
            return
        self.received.add(result.index)

        if result.outcome is Outcome.WRITTEN:
            self._place(result)
        self.report.count(result)

        if result.outcome is Outcome.FAILED:
            self.write(f"imgq: {result.source}: {result.reason}")
            if result.detail and self.settings.verbose:
                self.write(result.detail.rstrip())
        for note in result.notes:
            self.write(f"imgq: warning: {result.source}: {note}", always=False)
        if self._bar is not None:
            self._bar.update(1)

    def fail_unfinished(self, lost: WorkerLost) -> None:
        """Mark each job of a dead worker that has no result yet as failed."""
        for index, source, output in lost.jobs:
            if index not in self.received:
                self.handle(ImageResult(index, source, output, Outcome.FAILED, lost.reason))

    def write(self, line: str, always: bool = True) -> None:
        """Print a line on stderr without tearing the progress bar."""
        if self.settings.quiet and not always:
            return
        if self._bar is not None:
            self._bar.write(line, file=sys.stderr)
        else:
            print(line, file=sys.stderr, flush=True)

    def close(self) -> Report:
        """Close the progress bar and return the report."""
        if self._bar is not None:
            self._bar.close()
        return self.report

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


def collector_main(result_queue, control, report_connection, total: int, settings: OutputSettings) -> None:
    """Run the collector process until every planned image is accounted for.

    The run ends by accounting, never by ``Queue.empty()``: the loop stops
    when ``total`` distinct results have arrived, or when the main process
    sends STOP.
    """
    import queue

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    collector = Collector(total, settings)
    while len(collector.received) < total:
        try:
            _handle_message(collector, result_queue.get(timeout=0.05))
        except queue.Empty:
            pass
        if control.poll():
            message = control.recv()
            if message == STOP:
                break
            # Everything the dead worker sent is already in the pipe, because
            # it sent it before it died; take that in before failing the rest.
            _drain(result_queue, collector)
            collector.fail_unfinished(message)
    report_connection.send(collector.close())


def _handle_message(collector: Collector, message) -> None:
    """Handle one queue message: a list of results, or a single result."""
    if isinstance(message, list):
        for result in message:
            collector.handle(result)
    else:
        collector.handle(message)


def _drain(result_queue, collector: Collector) -> None:
    import queue

    while True:
        try:
            _handle_message(collector, result_queue.get(block=False))
        except queue.Empty:
            return

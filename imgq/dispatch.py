"""Dispatch: split the jobs into chunks and run them, serially or on worker processes.

The parallel engine has three kinds of process:

* the main process, which hands out chunks, one at a time, to workers that
  ask for one, and watches every process for an unexpected exit;
* worker processes, which process a chunk and put one ``ImageResult`` per
  image on a bounded ``multiprocessing.Queue``;
* the collector process, which takes results off that queue and sends the
  final ``Report`` back when every job is accounted for.

Because the main process knows which jobs each worker was given, a worker
that dies (killed, out of memory, segfault) cannot hang the run: its jobs
without a result are reported as failed, and a replacement worker takes the
remaining chunks.
"""

from __future__ import annotations

import contextlib
import math
import os
import signal
from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING

from imgq.collect import STOP, Collector, OutputSettings, WorkerLost, collector_main
from imgq.pipeline import Pipeline
from imgq.plan import ImageJob
from imgq.report import Report
from imgq.work import configure_pillow, process_image, worker_main

if TYPE_CHECKING:
    import multiprocessing.process

# Seconds to wait for processes to end after a stop, before forcing them.
SHUTDOWN_GRACE = 3.0

# Automatic chunks are small enough that each worker gets several, so that a
# slow chunk does not leave the other workers idle at the end, and large
# enough that the per-chunk messages cost little on runs of tiny images.
MAX_AUTO_CHUNK = 32
CHUNKS_PER_WORKER = 4

# On a cluster the number of workers is not known when chunks are made; each
# Dask task costs the scheduler about a millisecond, so chunks are larger.
DASK_CHUNK_SIZE = 16


class FatalError(Exception):
    """The engine itself failed (not one image); the run cannot go on."""


class SchedulerError(Exception):
    """The Dask scheduler cannot be reached, or the Dask extra is not installed."""


@dataclass(frozen=True)
class EngineSettings:
    """How many workers and how large the chunks are; None means automatic."""

    jobs: int | None = None
    chunk_size: int | None = None
    dask: object | None = None  # a dask_engine.DaskSettings, to run on a Dask cluster


def available_cpus() -> int:
    """Return how many CPUs this process may use: affinity, then the cgroup quota."""
    try:
        count = len(os.sched_getaffinity(0))
    except AttributeError:
        import psutil

        count = psutil.cpu_count() or 1

    quota = _cgroup_cpu_quota()
    if quota is not None:
        count = min(count, max(1, math.ceil(quota)))
    return max(1, count)


def _cgroup_cpu_quota() -> float | None:
    """Return the cgroup v2 CPU quota in CPUs, or None when there is none."""
    try:
        with open("/sys/fs/cgroup/cpu.max", encoding="ascii") as stream:
            quota, period = stream.read().split()[:2]
    except (OSError, ValueError):
        return None
    if quota == "max":
        return None
    return int(quota) / int(period)


def make_chunks(jobs: list[ImageJob], chunk_size: int | None, workers: int) -> list[list[ImageJob]]:
    """Split ``jobs`` into chunks of ``chunk_size`` (automatic when None)."""
    if chunk_size is None:
        chunk_size = max(1, min(MAX_AUTO_CHUNK, math.ceil(len(jobs) / (workers * CHUNKS_PER_WORKER))))
    return [jobs[start : start + chunk_size] for start in range(0, len(jobs), chunk_size)]


def run_jobs(
    jobs: list[ImageJob], pipeline: Pipeline, engine: EngineSettings, output: OutputSettings, report: Report
) -> None:
    """Process every job and add the outcomes to ``report``, even when interrupted."""
    if not jobs:
        return

    if engine.dask is not None:
        from imgq.dask_engine import run_on_dask

        chunk_size = engine.chunk_size or DASK_CHUNK_SIZE
        run_on_dask(make_chunks(jobs, chunk_size, 1), pipeline, engine.dask, output, report)
        return

    wanted = engine.jobs if engine.jobs is not None else available_cpus()
    chunks = make_chunks(jobs, engine.chunk_size, wanted)
    workers = max(1, min(wanted, len(chunks)))
    if workers == 1:
        run_serial(jobs, pipeline, output, report)
    else:
        ProcessEngine(chunks, pipeline, workers, output).run(report)


def run_serial(jobs: list[ImageJob], pipeline: Pipeline, output: OutputSettings, report: Report) -> None:
    """Process the jobs in this process, through the same worker and collector code."""
    configure_pillow(pipeline)
    collector = Collector(len(jobs), output)
    try:
        for job in jobs:
            collector.handle(process_image(job, pipeline))
    finally:
        report.merge(collector.close())


@dataclass
class _Worker:
    process: multiprocessing.process.BaseProcess
    connection: object
    jobs: list[ImageJob]


class ProcessEngine:
    """Worker processes and a collector process around one bounded result queue."""

    def __init__(self, chunks: list[list[ImageJob]], pipeline: Pipeline, workers: int, output: OutputSettings):
        self.pending = deque(chunks)
        self.total = sum(len(chunk) for chunk in chunks)
        self.pipeline = pipeline
        self.worker_count = workers
        self.output = output
        # Imported here, so that a run on one image never loads multiprocessing.
        import multiprocessing

        methods = multiprocessing.get_all_start_methods()
        self.context = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
        # A few results per worker keep every worker busy while the collector
        # writes; more would only hold encoded files waiting in memory.
        self.results = self.context.Queue(maxsize=4 * workers)
        self.workers: dict[int, _Worker] = {}
        self.next_worker_id = 0
        self.report: Report | None = None

    def run(self, report: Report) -> None:
        """Run every chunk into ``report``; on any exit, including Ctrl-C, end every child."""
        self.control, collector_control = self.context.Pipe()
        self.report_reader, report_writer = self.context.Pipe(duplex=False)
        self.collector = self._start(
            collector_main,
            (self.results, collector_control, report_writer, self.total, self.output),
        )
        collector_control.close()
        report_writer.close()
        try:
            for _ in range(self.worker_count):
                self._start_worker()
            self._loop()
        except BaseException:
            self._stop()
            raise
        finally:
            self._end_workers()
            if self.report is not None:
                report.merge(self.report)

    def _loop(self) -> None:
        from multiprocessing.connection import wait

        while self.report is None:
            live = list(self.workers.values())
            watched = [self.report_reader, self.collector.sentinel]
            watched += [worker.process.sentinel for worker in live]
            watched += [worker.connection for worker in live]
            ready = set(wait(watched, timeout=1.0))

            if self.report_reader in ready:
                self._receive_report()
                return
            if self.collector.sentinel in ready:
                raise FatalError(f"the collector process died ({_exit_reason(self.collector.exitcode)})")
            for worker_id, worker in list(self.workers.items()):
                if worker.process.sentinel in ready:
                    self._worker_exited(worker_id, worker)
                elif worker.connection in ready:
                    self._serve(worker)

    def _serve(self, worker: _Worker) -> None:
        """Answer a worker's request for work with the next chunk, or None to stop."""
        try:
            worker.connection.recv()
        except (EOFError, OSError):
            return
        chunk = self.pending.popleft() if self.pending else None
        if chunk is not None:
            worker.jobs.extend(chunk)
        with contextlib.suppress(OSError):
            worker.connection.send(chunk)

    def _worker_exited(self, worker_id: int, worker: _Worker) -> None:
        worker.process.join()
        worker.connection.close()
        del self.workers[worker_id]
        code = worker.process.exitcode
        if code != 0 and worker.jobs:
            reason = f"worker process died ({_exit_reason(code)})"
            lost = tuple((job.index, job.source, job.output) for job in worker.jobs)
            self.control.send(WorkerLost(lost, reason))
        if self.pending:
            self._start_worker()

    def _start_worker(self) -> None:
        parent_end, child_end = self.context.Pipe()
        worker_id = self.next_worker_id
        self.next_worker_id += 1
        process = self._start(worker_main, (worker_id, child_end, self.results, self.pipeline))
        child_end.close()
        self.workers[worker_id] = _Worker(process, parent_end, [])

    def _start(self, target, args):
        # Children start with SIGINT ignored, so that Ctrl-C reaches only the
        # main process, which then ends them in order.
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
        try:
            process = self.context.Process(target=target, args=args, daemon=True)
            process.start()
        finally:
            signal.signal(signal.SIGINT, previous)
        return process

    def _receive_report(self) -> None:
        try:
            self.report = self.report_reader.recv()
        except (EOFError, OSError) as exc:
            raise FatalError("the collector process ended without a report") from exc
        self.collector.join(SHUTDOWN_GRACE)

    def _stop(self) -> None:
        """Stop early: end the workers, then ask the collector for its counts so far."""
        self._end_workers(force=True)
        if not self.collector.is_alive():
            return
        with contextlib.suppress(OSError):
            self.control.send(STOP)
        if self.report_reader.poll(SHUTDOWN_GRACE):
            with contextlib.suppress(EOFError, OSError):
                self.report = self.report_reader.recv()
        self.collector.join(SHUTDOWN_GRACE)
        if self.collector.is_alive():
            self.collector.kill()
            self.collector.join()

    def _end_workers(self, force: bool = False) -> None:
        for worker in self.workers.values():
            if force:
                worker.process.terminate()
            else:
                with contextlib.suppress(OSError):
                    worker.connection.send(None)
        for worker in self.workers.values():
            worker.process.join(SHUTDOWN_GRACE)
            if worker.process.is_alive():
                worker.process.kill()
                worker.process.join()
        self.workers.clear()


def _exit_reason(code: int | None) -> str:
    if code is None:
        return "still running"
    if code < 0:
        return f"signal {-code}"
    return f"exit code {code}"

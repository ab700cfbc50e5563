"""Dispatch: split the jobs into chunks and run them, serially or on worker processes.

The parallel engine has three kinds of process:

* the main process, which hands out chunks, one at a time, to workers that
  ask for one, and watches every process for an unexpected exit;
* worker processes, which process a chunk and put one ``ImageResult`` per
  image into a bounded result channel (``results.ResultChannel``, one pipe
  with atomic writes, so a worker killed at any moment cannot jam it);
* the collector process, which takes results off that channel and sends the
  final ``Report`` back when every job is accounted for.

Because the main process records which jobs each worker was given, a worker
that dies (killed, out of memory, segfault) cannot hang the run. The main
process asks the collector which of the dead worker's jobs have no result,
and hands each of them out again, alone in a chunk of its own, to a
replacement worker. A job that was already on its second try when its
worker died is reported as failed. A worker stuck on one image for longer
than ``--timeout`` is killed the same way, and that image is reported as
timed out.
"""

from __future__ import annotations

import contextlib
import gc
import math
import os
import signal
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from imgq import testhooks
from imgq.collect import STOP, Collector, FailJobs, Notice, OutputSettings, Unfinished, WorkerLost, collector_main
from imgq.memory import INDEX, SLOT_FIELDS, STARTED, MemoryGate, clear_slot, default_budget, make_slots
from imgq.pipeline import Pipeline
from imgq.plan import ImageJob
from imgq.report import ImageResult, Outcome, Report
from imgq.work import ImageTimeout, configure_pillow, process_image, worker_main

if TYPE_CHECKING:
    import multiprocessing.process

# Seconds to wait for processes to end after a stop, before forcing them.
SHUTDOWN_GRACE = 3.0

# Automatic chunks are small enough that each worker gets several, so that a
# slow chunk does not leave the other workers idle at the end, and large
# enough that the per-chunk messages cost little on runs of tiny images.
MAX_AUTO_CHUNK = 32
CHUNKS_PER_WORKER = 4

# An automatic chunk contains about this much input: one 12-megapixel JPEG,
# or a few dozen thumbnails. Decoding that much takes milliseconds, so the
# worker's request for its next chunk adds little (an estimate, not measured).
AUTO_CHUNK_BYTES = 256 * 1024
SIZE_SAMPLE = 32

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
    timeout: float | None = None
    max_memory: int | None = None
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


def make_chunks(jobs: Sequence[ImageJob], chunk_size: int | None, workers: int) -> list[range]:
    """Split ``jobs`` into chunks of ``chunk_size`` (automatic when None), as ranges of job indices.

    A range costs the same for 1 job or 32, so the main process keeps no
    per-image record for the chunks it has still to hand out.
    """
    if chunk_size is None:
        chunk_size = auto_chunk_size(jobs, workers)
    return [range(start, min(start + chunk_size, len(jobs))) for start in range(0, len(jobs), chunk_size)]


def auto_chunk_size(jobs: Sequence[ImageJob], workers: int) -> int:
    """Return a chunk size that gives each worker several chunks of about AUTO_CHUNK_BYTES each.

    Large images go one to a chunk, so that the last chunks finish together
    instead of one worker decoding a chunk of five photos while the others wait.
    """
    balanced = math.ceil(len(jobs) / (workers * CHUNKS_PER_WORKER))
    by_size = AUTO_CHUNK_BYTES // max(1, mean_input_size(jobs))
    return max(1, min(MAX_AUTO_CHUNK, balanced, by_size))


def mean_input_size(jobs: Sequence[ImageJob]) -> int:
    """Return the mean size in bytes of up to SIZE_SAMPLE inputs spread over ``jobs`` (0 if none is known)."""
    step = max(1, len(jobs) // SIZE_SAMPLE)
    sizes = []
    for job in jobs[::step][:SIZE_SAMPLE]:
        try:
            sizes.append(os.stat(job.source).st_size)
        except OSError:
            continue
    return sum(sizes) // len(sizes) if sizes else 0


def run_jobs(
    jobs: Sequence[ImageJob], pipeline: Pipeline, engine: EngineSettings, output: OutputSettings, report: Report
) -> None:
    """Process every job and add the outcomes to ``report``, even when interrupted."""
    if not jobs:
        return

    if engine.dask is not None:
        from imgq.dask_engine import run_on_dask

        chunk_size = engine.chunk_size or DASK_CHUNK_SIZE
        chunks = [jobs[chunk.start : chunk.stop] for chunk in make_chunks(jobs, chunk_size, 1)]
        run_on_dask(chunks, pipeline, engine.dask, output, report)
        return

    wanted = engine.jobs if engine.jobs is not None else available_cpus()
    chunks = make_chunks(jobs, engine.chunk_size, wanted)
    workers = max(1, min(wanted, len(chunks)))
    if workers == 1:
        run_serial(jobs, pipeline, engine, output, report)
    else:
        ProcessEngine(jobs, chunks, pipeline, workers, output, engine).run(report)


def run_serial(
    jobs: Sequence[ImageJob], pipeline: Pipeline, engine: EngineSettings, output: OutputSettings, report: Report
) -> None:
    """Process the jobs in this process, through the same worker and collector code."""
    configure_pillow(pipeline)
    # One image at a time needs no gate unless --max-memory is given, and
    # skipping it spares a one-image run the psutil import.
    gate = MemoryGate(default_budget(engine.max_memory)) if engine.max_memory or len(jobs) > 1 else None
    collector = Collector(len(jobs), output)
    try:
        for job in jobs:
            collector.handle(_process_with_alarm(job, pipeline, gate, engine.timeout))
    finally:
        report.merge(collector.close())


def _process_with_alarm(job: ImageJob, pipeline: Pipeline, gate: MemoryGate | None, timeout: float | None) -> ImageResult:
    """Process one image in this process, interrupted by SIGALRM after ``timeout`` seconds.

    NOTE: the alarm interrupts Python code only; a decoder that loops inside
    one C call is stopped only by the process engine's kill.
    """
    if not timeout:
        testhooks.before_image(job.source, in_worker=False)
        return process_image(job, pipeline, gate)

    def expire(signum, frame):
        raise ImageTimeout(f"timed out after {timeout:g} s (--timeout)")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, timeout)
    try:
        testhooks.before_image(job.source, in_worker=False)
        return process_image(job, pipeline, gate)
    except ImageTimeout as exc:
        with contextlib.suppress(OSError):
            os.remove(job.temp)
        return ImageResult(job.index, job.source, job.output, Outcome.FAILED, str(exc))
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@dataclass
class _Worker:
    process: multiprocessing.process.BaseProcess
    connection: object
    chunks: list[Sequence[int]]
    slot: int
    timed_out: int | None = None


class ProcessEngine:
    """Worker processes and a collector process around one bounded result channel."""

    def __init__(
        self, jobs: Sequence[ImageJob], chunks: list[Sequence[int]], pipeline: Pipeline, workers: int,
        output: OutputSettings, engine: EngineSettings = EngineSettings(),
    ):
        # A chunk is a sequence of job indices, and jobs[index] is that job.
        self.jobs = jobs
        self.pending = deque(chunks)
        self.total = sum(len(chunk) for chunk in chunks)
        self.pipeline = pipeline
        self.worker_count = workers
        self.output = output
        # Imported here, so that a run on one image never loads multiprocessing.
        import multiprocessing

        from imgq.results import ResultChannel

        self.timeout = engine.timeout
        self.budget = default_budget(engine.max_memory)
        # Jobs handed out again after their worker died, and the workers whose
        # unfinished jobs the collector has not named yet.
        self.retried: set[int] = set()
        self.lost: dict[int, tuple[str, int | None]] = {}
        methods = multiprocessing.get_all_start_methods()
        self.context = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
        self.results = ResultChannel(self.context)
        self.workers: dict[int, _Worker] = {}
        self.next_worker_id = 0
        self.slots = make_slots(self.context, workers)
        self.free_slots = list(range(workers))
        self.report: Report | None = None

    def run(self, report: Report) -> None:
        """Run every chunk into ``report``; on any exit, including Ctrl-C, end every child."""
        # The forked children share the plan's pages with this process until
        # they write to them, and a garbage collection in a child writes to
        # every object it visits. Frozen objects are never visited.
        gc.freeze()
        self.control, collector_control = self.context.Pipe()
        self.report_reader, report_writer = self.context.Pipe(duplex=False)
        self.collector = self._start(
            collector_main,
            (self.results, collector_control, report_writer, self.total, self.output, os.getpid()),
        )
        collector_control.close()
        report_writer.close()
        try:
            self._top_up_workers()
            self._loop()
        except BaseException:
            self._stop_quickly()
            raise
        finally:
            self._end_workers()
            gc.unfreeze()
            if self.report is not None:
                report.merge(self.report)

    def _loop(self) -> None:
        from multiprocessing.connection import wait

        # With --timeout, look at the workers often enough to end a stuck
        # one within about a tenth of the limit.
        tick = min(1.0, max(0.05, self.timeout / 10)) if self.timeout else 1.0
        while self.report is None:
            live = list(self.workers.values())
            watched = [self.report_reader, self.collector.sentinel, self.control]
            watched += [worker.process.sentinel for worker in live]
            watched += [worker.connection for worker in live]
            ready = set(wait(watched, timeout=tick))

            if self.report_reader in ready:
                self._receive_report()
                return
            if self.collector.sentinel in ready:
                raise FatalError(f"the collector process died ({_exit_reason(self.collector.exitcode)})")
            if self.control in ready:
                self._receive_control()
            for worker_id, worker in list(self.workers.items()):
                if worker.process.sentinel in ready:
                    self._worker_exited(worker_id, worker)
                elif worker.connection in ready:
                    self._serve(worker)
            if self.timeout:
                self._end_stuck_workers()

    def _serve(self, worker: _Worker) -> None:
        """Send a worker that requests work the next chunk, or None to stop it."""
        try:
            worker.connection.recv()
        except (EOFError, OSError):
            return
        chunk = self.pending.popleft() if self.pending else None
        if chunk is not None:
            worker.chunks.append(chunk)
        with contextlib.suppress(OSError):
            worker.connection.send(None if chunk is None else [self.jobs[index] for index in chunk])

    def _worker_exited(self, worker_id: int, worker: _Worker) -> None:
        worker.process.join()
        worker.connection.close()
        del self.workers[worker_id]
        clear_slot(self.slots, worker.slot)
        self.free_slots.append(worker.slot)

        code = worker.process.exitcode
        if code != 0 and worker.chunks:
            self.lost[worker_id] = (_exit_reason(code), worker.timed_out)
            self.control.send(WorkerLost(worker_id, tuple(index for chunk in worker.chunks for index in chunk)))
        self._top_up_workers()

    def _receive_control(self) -> None:
        """Take the collector's list of a dead worker's unfinished jobs, and retry or fail each."""
        try:
            message = self.control.recv()
        except (EOFError, OSError):
            return
        if not isinstance(message, Unfinished) or message.worker_id not in self.lost:
            return

        exit_reason, timed_out = self.lost.pop(message.worker_id)
        reason = f"worker process died ({exit_reason})"
        failed, retries = [], []
        for index in message.indices:
            job = self.jobs[index]
            if index == timed_out:
                failed.append((index, job.source, job.output, f"timed out after {self.timeout:g} s (--timeout)"))
            elif index in self.retried:
                failed.append((index, job.source, job.output, reason))
            else:
                self.retried.add(index)
                retries.append([index])

        if retries:
            cause = "was stuck past --timeout and ended" if timed_out is not None else f"ended ({exit_reason})"
            self.control.send(Notice(
                f"imgq: warning: a worker {cause}; retrying its unfinished images ({len(retries)}) one at a time"
            ))
        if failed:
            self.control.send(FailJobs(tuple(failed)))
        # Retries go first, each alone, so that a second death names its image.
        self.pending.extendleft(reversed(retries))
        self._top_up_workers()

    def _end_stuck_workers(self) -> None:
        """Kill each worker that has spent longer than --timeout on one image."""
        now = time.monotonic()
        for worker in self.workers.values():
            base = worker.slot * SLOT_FIELDS
            started = self.slots[base + STARTED]
            index = int(self.slots[base + INDEX])
            if worker.timed_out is None and index >= 0 and started and now - started > self.timeout:
                worker.timed_out = index
                worker.process.kill()

    def _top_up_workers(self) -> None:
        """Start workers until there are enough for the chunks still to hand out."""
        wanted = min(self.worker_count, len(self.workers) + len(self.pending))
        while len(self.workers) < wanted and self.free_slots:
            self._start_worker()

    def _start_worker(self) -> None:
        parent_end, child_end = self.context.Pipe()
        worker_id = self.next_worker_id
        self.next_worker_id += 1
        slot = self.free_slots.pop()
        gate = MemoryGate(self.budget, self.slots, slot)
        process = self._start(worker_main, (worker_id, child_end, self.results, self.pipeline, gate, os.getpid()))
        child_end.close()
        self.workers[worker_id] = _Worker(process, parent_end, [], slot)

    def _start(self, target, args):
        # Children start with SIGINT and SIGTERM blocked until they ignore
        # SIGINT (children.prepare_child), so that Ctrl-C reaches only the
        # main process, which then ends them in order. Blocking rather than
        # ignoring them here keeps a signal sent to the main process during
        # the fork pending instead of lost.
        blocked = {signal.SIGINT, signal.SIGTERM}
        previous = signal.pthread_sigmask(signal.SIG_BLOCK, blocked)
        try:
            process = self.context.Process(target=target, args=args, daemon=True)
            process.start()
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, previous)
        return process

    def _receive_report(self) -> None:
        try:
            self.report = self.report_reader.recv()
        except (EOFError, OSError) as exc:
            # NOTE: the collector's counts die with it, so the summary then
            # shows outputs it had already moved into place as not processed.
            # The per-image lines of --report still list them.
            raise FatalError("the collector process ended without a report") from exc
        self.collector.join(SHUTDOWN_GRACE)

    def _stop_quickly(self) -> None:
        """Stop early; a second SIGINT or SIGTERM meanwhile kills every child at once."""
        previous = {number: signal.getsignal(number) for number in (signal.SIGINT, signal.SIGTERM)}

        def kill_children(signum, frame):
            for process in [self.collector] + [worker.process for worker in self.workers.values()]:
                with contextlib.suppress(OSError, ValueError):
                    process.kill()

        for number in previous:
            signal.signal(number, kill_children)
        try:
            self._stop()
        finally:
            for number, handler in previous.items():
                signal.signal(number, handler)

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

"""Dispatch to a Dask distributed cluster instead of local worker processes.

Each chunk becomes one Dask task that runs the same ``process_image`` as the
local engine. With ``--write-on client`` (the default) the task returns the
encoded bytes and the collector in this process writes them; with
``--write-on workers`` each task writes its outputs atomically on a shared
filesystem and returns only the result records.

The scheduler's retries rerun the chunks of a worker that was lost; results
are accounted by image index, so a rerun chunk never counts an image twice.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass

from imgq.collect import Collector, OutputSettings, place_output
from imgq.dispatch import SchedulerError
from imgq.pipeline import Pipeline
from imgq.plan import ImageJob
from imgq.report import ImageResult, Outcome, Report
from imgq.work import configure_pillow, process_image

INSTALL_HINT = "pip install 'imgq[dask]'"

# How often the scheduler reruns a chunk whose worker died before the chunk fails.
TASK_RETRIES = 2


@dataclass(frozen=True)
class DaskSettings:
    """Scheduler address and the side (client or workers) that writes outputs."""

    address: str
    write_on: str = "client"
    connect_timeout: float = 10.0


def require_dask() -> None:
    """Raise SchedulerError naming the extra when Dask's distributed is missing."""
    try:
        import distributed  # noqa: F401
    except ImportError as exc:
        raise SchedulerError(f"--scheduler needs the Dask extra, which is not installed: {INSTALL_HINT}") from exc


def valid_address(address: str) -> bool:
    """Return True if ``address`` parses as a Dask scheduler address with a port."""
    from distributed.comm.addressing import parse_address, parse_host_port

    try:
        protocol, location = parse_address(address)
        if protocol in {"tcp", "tls", "ws", "wss"}:
            parse_host_port(location)
    except ValueError:
        return False
    return True


def process_chunk(chunk: list[ImageJob], pipeline: Pipeline, write_on: str, run_started_ns: int) -> list[ImageResult]:
    """Process one chunk on a Dask worker and return its result records."""
    configure_pillow(pipeline)
    results = []
    for job in chunk:
        if write_on == "workers" and _written_in_this_run(job, run_started_ns):
            results.append(_already_written(job))
            continue

        result = process_image(job, pipeline, in_memory=(write_on == "client"))
        if write_on == "workers" and result.outcome is Outcome.WRITTEN:
            try:
                place_output(result, in_place=False)
            except OSError as exc:
                result.outcome = Outcome.FAILED
                result.reason = f"cannot write {job.output}: {exc.strerror or exc}"
        results.append(result)
    return results


def _written_in_this_run(job: ImageJob, run_started_ns: int) -> bool:
    """Return True if an earlier attempt of this chunk already placed the output."""
    try:
        return os.stat(job.output).st_mtime_ns >= run_started_ns
    except OSError:
        return False


def _already_written(job: ImageJob) -> ImageResult:
    return ImageResult(
        job.index,
        job.source,
        job.output,
        Outcome.WRITTEN,
        bytes_out=os.path.getsize(job.output),
        notes=(),
    )


def run_on_dask(
    chunks: list[list[ImageJob]], pipeline: Pipeline, dask: DaskSettings, output: OutputSettings, report: Report
) -> None:
    """Run every chunk as a Dask task and add the outcomes to ``report``."""
    require_dask()
    from distributed import Client, as_completed

    try:
        client = Client(dask.address, timeout=dask.connect_timeout)
    except (OSError, TimeoutError, ValueError) as exc:
        raise SchedulerError(f"cannot reach the Dask scheduler at {dask.address}: {exc}") from exc

    total = sum(len(chunk) for chunk in chunks)
    collector = Collector(total, output)
    started_ns = time.time_ns()
    futures = []
    try:
        futures = client.map(
            process_chunk,
            chunks,
            pipeline=pipeline,
            write_on=dask.write_on,
            run_started_ns=started_ns,
            retries=TASK_RETRIES,
            pure=False,
        )
        chunk_of = {future.key: chunk for future, chunk in zip(futures, chunks)}
        for future in as_completed(futures):
            _collect_future(future, chunk_of[future.key], collector)
    finally:
        # After Ctrl-C or SIGTERM, tasks not yet started must not write later.
        # NOTE: a task already running on a worker finishes its chunk; Dask
        # cannot stop Python code inside a running task.
        if any(not future.done() for future in futures):
            client.cancel(futures)
        report.merge(collector.close())
        client.close()


def _collect_future(future, chunk: list[ImageJob], collector: Collector) -> None:
    try:
        results = future.result()
    except Exception as exc:  # noqa: BLE001 - a lost chunk fails its images, not the run
        reason = f"Dask task failed ({type(exc).__name__}: {exc})"
        results = [ImageResult(job.index, job.source, job.output, Outcome.FAILED, reason) for job in chunk]
    for result in results:
        collector.handle(result)

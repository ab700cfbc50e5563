"""Measurement: run one command and record wall time, CPU time and peak memory.

Peak memory is the largest sum of resident set sizes over the command's
whole process tree, sampled every ``SAMPLE_SECONDS``. ``ru_maxrss`` would be
the peak of the largest single process, which hides the workers. A sum of
RSS counts pages that forked processes share once per process, so it is an
upper bound of the memory in use.
"""

from __future__ import annotations

import os
import resource
import subprocess
import threading
import time
from dataclasses import dataclass, field

import psutil

# Each sample reads /proc for every process on the machine and costs about
# 1 ms of CPU. Sampled every 10 ms, that took 12% of a core from the tool
# measured, and more from tools with more processes. Every 50 ms it takes
# under 3%.
SAMPLE_SECONDS = 0.05


@dataclass
class ProcessPeak:
    """The largest RSS seen for one process of the tree, and its last CPU times."""

    created: float
    rss: int = 0
    uss: int = 0
    cpu_seconds: float = 0.0


@dataclass
class Measurement:
    """The cost of one run of one command."""

    wall: float
    cpu: float
    peak_rss: int
    returncode: int
    stderr: str = ""
    processes: dict[int, ProcessPeak] = field(default_factory=dict)
    root: int = 0

    def helper_processes(self) -> list[ProcessPeak]:
        """Return the root's descendants, oldest first."""
        return sorted((peak for pid, peak in self.processes.items() if pid != self.root), key=lambda p: p.created)


def run_measured(
    command: list[str] | str, env: dict | None = None, cwd: str | None = None, unique: bool = False
) -> Measurement:
    """Run ``command`` to the end while sampling its process tree.

    With ``unique``, each process's unique set size (USS: the pages no other
    process maps) is sampled too. It costs about 0.2 ms per process and
    sample, so it is kept for the memory measurements.
    """
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    process = subprocess.Popen(
        command,
        shell=isinstance(command, str),
        env=env,
        cwd=cwd,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    peaks: dict[int, ProcessPeak] = {}
    peak_total = 0
    root = psutil.Process(process.pid)
    # Read stderr while the command runs: a full pipe would block it.
    chunks: list[bytes] = []
    reader = threading.Thread(target=lambda: chunks.extend(iter(lambda: process.stderr.read(65536), b"")))
    reader.start()

    while process.poll() is None:
        peak_total = max(peak_total, _sample(root, peaks, unique))
        time.sleep(SAMPLE_SECONDS)
    reader.join()
    stderr = b"".join(chunks)[-65536:].decode("utf-8", "replace")
    process.stderr.close()
    wall = time.perf_counter() - started

    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return Measurement(wall, cpu, peak_total, process.returncode, stderr, peaks, process.pid)


def _sample(root: psutil.Process, peaks: dict[int, ProcessPeak], unique: bool) -> int:
    """Add one sample of the tree to ``peaks`` and return the tree's RSS sum."""
    total = 0
    try:
        tree = [root, *root.children(recursive=True)]
    except psutil.Error:
        return 0
    for process in tree:
        try:
            with process.oneshot():
                rss = process.memory_info().rss
                uss = process.memory_full_info().uss if unique else 0
                times = process.cpu_times()
                created = process.create_time()
        except psutil.Error:
            continue
        total += rss
        peak = peaks.setdefault(process.pid, ProcessPeak(created))
        peak.rss = max(peak.rss, rss)
        peak.uss = max(peak.uss, uss)
        peak.cpu_seconds = times.user + times.system
    return total


def environment(**overrides: str) -> dict:
    """Return a copy of this process's environment with ``overrides`` set."""
    env = dict(os.environ)
    env.update(overrides)
    return env

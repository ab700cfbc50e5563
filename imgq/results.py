"""The result channel: one pipe that every worker writes result records into, and the collector reads.

Each record goes into the pipe in one ``write`` of at most ``PIPE_BUF``
bytes, which POSIX makes atomic: concurrent writers never interleave, and a
writer killed with SIGKILL has written a whole record or nothing. So the
channel needs no lock and no feeder thread, unlike ``multiprocessing.Queue``,
whose shared write lock stays taken when a worker dies holding it and then
blocks every other worker for good. The pipe's capacity (64 KiB on Linux,
a few hundred records) bounds how far the workers run ahead of the
collector: a write into a full pipe blocks until the collector reads.
"""

from __future__ import annotations

import pickle
import queue
import select
from dataclasses import replace

from imgq.report import ImageResult

# Connection.send_bytes prefixes a 4-byte length, and for messages of up to
# 16 KiB writes both in one call (CPython 3.10 to 3.13, connection.py).
MAX_RECORD = getattr(select, "PIPE_BUF", 512) - 4


class ResultChannel:
    """A bounded, lock-free channel of ``ImageResult`` records from workers to the collector."""

    def __init__(self, context):
        self._reader, self._writer = context.Pipe(duplex=False)
        # Only records that cannot be made small enough (paths near PATH_MAX)
        # take this lock, so that their several writes do not interleave.
        self._large_lock = context.Lock()

    def put(self, result: ImageResult) -> None:
        """Write one record, blocking while the pipe is full."""
        data = _small_pickle(result)
        if len(data) <= MAX_RECORD:
            self._writer.send_bytes(data)
            return
        # NOTE: a worker killed during this rare write leaves the lock taken.
        with self._large_lock:
            self._writer.send_bytes(data)

    def get(self, block: bool = True, timeout: float | None = None) -> ImageResult:
        """Return the next record; raise ``queue.Empty`` when none arrives in time."""
        if not self._reader.poll(timeout if block else 0):
            raise queue.Empty
        return pickle.loads(self._reader.recv_bytes())


def _small_pickle(result: ImageResult) -> bytes:
    """Pickle ``result``, shortening its traceback, notes and reason until it fits one write."""
    data = pickle.dumps(result)
    if len(data) <= MAX_RECORD:
        return data

    smaller = replace(result, detail=None, notes=tuple(note[:200] for note in result.notes[:3]))
    data = pickle.dumps(smaller)
    if len(data) <= MAX_RECORD:
        return data
    return pickle.dumps(replace(smaller, notes=(), reason=result.reason[:300]))

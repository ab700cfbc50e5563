"""Progress for logs: a timestamped line every few seconds when stderr is not a terminal.

On a terminal the collector draws a tqdm bar instead. In cron mail, CI logs
and pipes a bar would be a wall of carriage returns, so these lines say the
same in at most one line per ``interval`` seconds: 10, or the value of the
environment variable ``IMGQ_PROGRESS_INTERVAL``.
"""

from __future__ import annotations

import os
import sys
import time

DEFAULT_INTERVAL = 10.0


class ProgressLines:
    """Prints ``2026-01-31 02:00:10 imgq: 1200/5000 images, 3 failed`` now and then."""

    def __init__(self, total: int, interval: float | None = None):
        self.total = total
        self.interval = interval if interval is not None else _interval_from_environment()
        self.done = 0
        self.failed = 0
        self.last = time.monotonic()

    def update(self, failed: bool) -> None:
        """Count one accounted image, and print a line if the interval has passed."""
        self.done += 1
        self.failed += failed
        now = time.monotonic()
        if now - self.last >= self.interval and self.done < self.total:
            self.last = now
            stamp = time.strftime("%Y-%m-%d %H:%M:%S")
            print(f"{stamp} imgq: {self.done}/{self.total} images, {self.failed} failed", file=sys.stderr, flush=True)


def _interval_from_environment() -> float:
    try:
        return max(0.0, float(os.environ.get("IMGQ_PROGRESS_INTERVAL", DEFAULT_INTERVAL)))
    except ValueError:
        return DEFAULT_INTERVAL

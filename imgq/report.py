"""Outcomes of a run: one record per image, the counts, the summary and the exit code."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

# Exit codes, as documented in the README and in ``imgq --help``.
EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_FATAL = 3
EXIT_UNAVAILABLE = 69  # sysexits.h EX_UNAVAILABLE: the Dask scheduler cannot be reached
EXIT_LOCKED = 75
EXIT_INTERRUPTED = 130
EXIT_TERMINATED = 143


def display_path(path: str) -> str:
    """Return ``path`` printable on one line: control characters and undecodable bytes escaped.

    A byte that is not UTF-8 (kept by ``surrogateescape``) shows as ``\\xNN``
    and a newline as ``\\n``, so one failure stays one line of a log.
    """
    parts = []
    for char in path:
        code = ord(char)
        if 0xDC80 <= code <= 0xDCFF:
            parts.append(f"\\x{code - 0xDC00:02x}")
        elif char.isprintable():
            parts.append(char)
        else:
            parts.append(repr(char)[1:-1])
    return "".join(parts)


class Outcome(str, enum.Enum):
    """Outcome of one planned image: written, skipped or failed."""

    WRITTEN = "written"
    SKIPPED = "skipped"
    FAILED = "failed"


@dataclass
class ImageResult:
    """The result for one image, sent from a worker to the collector.

    A written result names the temporary file the worker encoded into. It is
    a small record, so that it crosses the result queue in one pipe write.
    Only engines whose workers cannot reach the output folder send the
    encoded bytes in ``data`` instead; ``temp`` is then where to write them.
    """

    index: int
    source: str
    output: str
    outcome: Outcome
    reason: str = ""
    temp: str | None = None
    width: int | None = None
    height: int | None = None
    bytes_in: int | None = None
    bytes_out: int | None = None
    mtime_ns: int | None = None
    milliseconds: float = 0.0
    notes: tuple[str, ...] = ()
    # (temporary file, output, encoded bytes or None) of each variant after
    # the first; the bytes travel as ``data`` does.
    extra_outputs: tuple[tuple[str, str, bytes | None], ...] = ()
    detail: str | None = None
    data: bytes | None = None


@dataclass
class Report:
    """Counts of outcomes for a run; derives the summary line and the exit code."""

    planned: int = 0
    written: int = 0
    skipped: int = 0
    failed: int = 0
    elapsed: float = 0.0
    interrupted_by: int | None = None
    fatal: str | None = None
    fatal_code: int = EXIT_FATAL
    failures: list[tuple[str, str]] = field(default_factory=list)

    def count(self, result: ImageResult) -> None:
        """Add one image's outcome to the counts."""
        if result.outcome is Outcome.WRITTEN:
            self.written += 1
        elif result.outcome is Outcome.SKIPPED:
            self.skipped += 1
        else:
            self.failed += 1
            self.failures.append((result.source, result.reason))

    def merge(self, other: Report) -> None:
        """Add the counts of ``other`` (the collector's) to this report."""
        self.written += other.written
        self.skipped += other.skipped
        self.failed += other.failed
        self.failures.extend(other.failures)

    @property
    def unaccounted(self) -> int:
        """Return how many planned images have no outcome, as after an interruption."""
        return max(0, self.planned - self.written - self.skipped - self.failed)

    @property
    def exit_code(self) -> int:
        """Return the process exit code for this run."""
        if self.fatal is not None:
            return self.fatal_code
        if self.interrupted_by is not None:
            return self.interrupted_by
        if self.failed or self.unaccounted:
            return EXIT_FAILED
        return EXIT_OK

    def summary(self) -> str:
        """Return the one-line summary, such as ``12 written, 1 failed in 2.0 s``."""
        parts = [f"{self.written} written", f"{self.skipped} skipped", f"{self.failed} failed"]
        if self.unaccounted:
            parts.append(f"{self.unaccounted} not processed")
        rate = self.written / self.elapsed if self.elapsed > 0 else 0.0
        text = f"{', '.join(parts)} in {self.elapsed:.2f} s ({rate:.1f} images/s)"
        if self.interrupted_by == EXIT_INTERRUPTED:
            text += ", interrupted"
        elif self.interrupted_by == EXIT_TERMINATED:
            text += ", terminated"
        return text

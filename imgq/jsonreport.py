"""The JSON Lines report (``--report FILE`` or ``--report -`` for stdout).

One object per planned image, in the order outcomes become known, then one
summary object::

    {"type": "image", "input": "src/a.jpg", "output": "out/a.webp", "outcome": "written",
     "reason": "", "width": 800, "height": 600, "bytes_in": 81234, "bytes_out": 40211,
     "milliseconds": 12.5}
    {"type": "summary", "planned": 10, "written": 9, "skipped": 0, "failed": 1,
     "not_processed": 0, "seconds": 1.25, "exit_code": 1, "interrupted": false}

File names that are not valid UTF-8 keep their bytes as the escapes
``\\udc80`` to ``\\udcff`` (Python's ``surrogateescape``); ``os.fsencode``
turns such a string back into the original bytes.

The main process writes the records that planning decides, the collector
appends one per image as it accounts for it, and the main process appends
the summary; each writer flushes every line, so the file is complete up to
the moment a run was killed.
"""

from __future__ import annotations

import sys

from imgq.report import ImageResult, Report


class JsonReport:
    """An append-only JSON Lines writer on a file or on stdout."""

    def __init__(self, target: str, truncate: bool = False):
        self.target = target
        if target == "-":
            self.stream = sys.stdout
        else:
            self.stream = open(target, "w" if truncate else "a", encoding="utf-8")

    def image(self, result: ImageResult) -> None:
        """Write the record of one image's outcome."""
        self._write(
            {
                "type": "image",
                "input": result.source,
                "output": result.output or None,
                "outcome": result.outcome.value,
                "reason": result.reason,
                "width": result.width,
                "height": result.height,
                "bytes_in": result.bytes_in,
                "bytes_out": result.bytes_out,
                "milliseconds": round(result.milliseconds, 3),
            }
        )

    def summary(self, report: Report) -> None:
        """Write the final summary object."""
        self._write(
            {
                "type": "summary",
                "planned": report.planned,
                "written": report.written,
                "skipped": report.skipped,
                "failed": report.failed,
                "not_processed": report.unaccounted,
                "seconds": round(report.elapsed, 3),
                "exit_code": report.exit_code,
                "interrupted": report.interrupted_by is not None,
            }
        )

    def close(self) -> None:
        """Flush, and close the file unless it is stdout."""
        if self.stream is sys.stdout:
            self.stream.flush()
        else:
            self.stream.close()

    def _write(self, item: dict) -> None:
        import json  # only runs with --report write JSON

        self.stream.write(json.dumps(item) + "\n")
        self.stream.flush()

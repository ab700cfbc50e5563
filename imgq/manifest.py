"""The manifest: what each output in an output folder was made from, for incremental runs.

With ``--manifest``, the output folder contains ``.imgq.manifest.jsonl``,
one JSON object per line::

    {"output": "a/b.webp", "size": 1234, "mtime_ns": 1700000000000000000, "digest": "9f2c..."}

``output`` is relative to the output folder; ``size`` and ``mtime_ns`` are
the input's when it was read, and ``digest`` covers the operations and
every option that changes the output's bytes. The collector appends one
line as it moves each output into place, and flushes it, so a run killed
at any moment loses at most the line being written; a torn last line is
ignored when the manifest is read. A later line for the same output
replaces an earlier one, and the file is rewritten without the old lines
at the end of a run that added any.

A re-run skips an output whose line still matches its input and options
("up to date"), and replaces one whose line does not, even without
--overwrite, because imgq made that file. An output without a line is not
imgq's to replace, and the usual rule applies (skipped unless --overwrite).
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass

from imgq import __version__
from imgq.pipeline import Pipeline

MANIFEST_NAME = ".imgq.manifest.jsonl"
LOCK_NAME = ".imgq.manifest.lock"


def options_digest(pipeline: Pipeline, output_format: str) -> str:
    """Return a digest of everything that decides an output's bytes.

    The pipeline is a frozen dataclass of values whose ``repr`` is stable
    from run to run, so its ``repr`` covers every operation and option.
    """
    import hashlib  # imported here, so that a one-image run does not load it

    text = "|".join([__version__, output_format, repr(pipeline)])
    return hashlib.sha256(text.encode("utf-8", "surrogateescape")).hexdigest()[:32]


@dataclass(frozen=True)
class Entry:
    """The input's size and modification time, and the options digest, of one output."""

    size: int
    mtime_ns: int
    digest: str


def load(root: str) -> dict[str, Entry]:
    """Read the manifest in ``root``; a missing file or a torn line reads as no entry."""
    # json loads only for runs with --manifest.
    import json

    entries: dict[str, Entry] = {}
    try:
        stream = open(os.path.join(root, MANIFEST_NAME), encoding="utf-8", errors="surrogateescape")
    except OSError:
        return entries
    with stream:
        for line in stream:
            try:
                item = json.loads(line)
                entries[item["output"]] = Entry(int(item["size"]), int(item["mtime_ns"]), str(item["digest"]))
            except (ValueError, KeyError, TypeError):
                continue
    return entries


class Freshness:
    """Decides, while planning, which existing outputs are up to date and which are stale."""

    def __init__(self, root: str | None, pipeline: Pipeline, update: bool):
        self.root = root
        self.pipeline = pipeline
        self.update = update
        self.entries = load(root) if root else {}

    def check(self, source: str, output: str, output_format: str) -> tuple[str, bool]:
        """Return ``(skip reason, may replace)`` for an output that exists."""
        entry = self.entries.get(os.path.relpath(output, self.root)) if self.root else None
        try:
            stat = os.stat(source)
            output_mtime = os.stat(output).st_mtime_ns
        except OSError:
            return "", False

        if entry is not None:
            current = (
                entry.size == stat.st_size
                and entry.mtime_ns == stat.st_mtime_ns
                and entry.digest == options_digest(self.pipeline, output_format)
            )
            if current:
                return "up to date (input and options unchanged since the last run)", False
            return "", True
        if self.update:
            if output_mtime >= stat.st_mtime_ns:
                return "output is newer than input (--update)", False
            return "", True
        return "", False


class Journal:
    """Appends manifest lines as outputs land; runs in the collector."""

    def __init__(self, root: str, pipeline: Pipeline):
        self.root = root
        self.pipeline = pipeline
        self.path = os.path.join(root, MANIFEST_NAME)
        self.appended = 0
        self.error: str | None = None

    def record(self, output: str, output_format: str, size: int | None, mtime_ns: int | None) -> str | None:
        """Append the line for one written output; return a warning once if that fails."""
        if self.error is not None or size is None or mtime_ns is None:
            return None
        import json

        line = json.dumps(
            {
                "output": os.path.relpath(output, self.root),
                "size": size,
                "mtime_ns": mtime_ns,
                "digest": options_digest(self.pipeline, output_format),
            }
        )
        try:
            # Opened for each line: another run's compaction may replace the
            # file at any time, and a long-lived handle would then append to
            # the replaced copy.
            with _manifest_lock(self.root, exclusive=False):
                with open(self.path, "a", encoding="utf-8", errors="surrogateescape") as stream:
                    stream.write(line + "\n")
        except OSError as exc:
            self.error = f"cannot update the manifest {self.path}: {exc.strerror or exc}; the next run redoes or skips these outputs by the usual rules"
            return self.error
        self.appended += 1
        return None

    def close(self) -> None:
        """Rewrite the manifest without replaced lines if this run added any."""
        if self.appended and self.error is None:
            compact(self.root)


@contextlib.contextmanager
def _manifest_lock(root: str, exclusive: bool):
    """Hold the manifest's lock file: shared to append a line, exclusive to rewrite the file.

    Runs such as shards of one tree may share an output folder and its
    manifest. Where ``fcntl`` is missing (Windows) no lock is taken.
    """
    try:
        import fcntl
    except ImportError:
        yield
        return
    descriptor = os.open(os.path.join(root, LOCK_NAME), os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
        yield
    finally:
        os.close(descriptor)


def compact(root: str) -> None:
    """Rewrite the manifest with one line per output, atomically."""
    with _manifest_lock(root, exclusive=True):
        _rewrite(root)


def _rewrite(root: str) -> None:
    import json

    entries = load(root)
    path = os.path.join(root, MANIFEST_NAME)
    temp = f"{path}.{os.getpid()}.tmp"
    try:
        with open(temp, "w", encoding="utf-8", errors="surrogateescape") as stream:
            for output in sorted(entries):
                entry = entries[output]
                item = {"output": output, "size": entry.size, "mtime_ns": entry.mtime_ns, "digest": entry.digest}
                stream.write(json.dumps(item) + "\n")
        os.replace(temp, path)
    except OSError:
        with contextlib.suppress(OSError):
            os.remove(temp)

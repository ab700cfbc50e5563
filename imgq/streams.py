"""Standard input and output: read the image from a pipe, write the result into one.

``-`` as the input reads one image from standard input, and ``-o -`` writes
the encoded result to standard output. The result is encoded into a
temporary file first and copied to standard output only once it is
complete, so a failed image writes nothing there.
"""

from __future__ import annotations

import atexit
import functools
import io
import os
import sys
from typing import BinaryIO

# The input argument that reads the image from standard input, and the -o
# value that writes it to standard output.
STDIN = "-"
STDOUT = "-"


@functools.lru_cache(maxsize=1)
def stdin_bytes() -> bytes:
    """Read standard input to the end, once per process."""
    return sys.stdin.buffer.read()


def open_source(path: str) -> str | BinaryIO:
    """Return what ``Image.open`` reads for an input: its path, or the bytes from stdin."""
    if path == STDIN:
        return io.BytesIO(stdin_bytes())
    return path


def source_stat(path: str) -> tuple[int, int | None]:
    """Return an input's size in bytes and its modification time (None for stdin); raise OSError."""
    if path == STDIN:
        return len(stdin_bytes()), None
    stat = os.stat(path)
    return stat.st_size, stat.st_mtime_ns


def stdout_staging_file(extension: str) -> str:
    """Return a path in a new private folder for the image that goes to stdout.

    The folder is removed when the process exits.
    """
    import shutil
    import tempfile

    folder = tempfile.mkdtemp(prefix="imgq-stdout-")
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return os.path.join(folder, "output" + extension)


def copy_to_stdout(path: str) -> None:
    """Copy the finished image at ``path`` to standard output.

    Raises BrokenPipeError when the reader closed the pipe early. Standard
    output then points at /dev/null, so the interpreter's final flush does
    not raise a second time.
    """
    import shutil

    try:
        with open(path, "rb") as stream:
            shutil.copyfileobj(stream, sys.stdout.buffer)
        sys.stdout.buffer.flush()
    except BrokenPipeError:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
        raise

"""Input lists: ``--files-from FILE`` (or ``-`` for stdin), one path a line or NUL-separated.

Paths are read as bytes and decoded the way the operating system's own
names are (``os.fsdecode``), so a name that is not valid UTF-8 reaches the
output with its original bytes. A relative path keeps its folders under the
output folder, as ``rsync --files-from`` does (``photos/2024/a.jpg`` goes to
``OUT/photos/2024/a.jpg``); an absolute path, or one that climbs out with
``..``, goes to the top of the output folder.
"""

from __future__ import annotations

import os
import sys
from typing import Iterator

from imgq.discover import Found


def read_list(source: str, null_separated: bool) -> list[str]:
    """Return the paths listed in ``source`` (a file name, or ``-`` for stdin)."""
    if source == "-":
        data = sys.stdin.buffer.read()
    else:
        with open(source, "rb") as stream:
            data = stream.read()

    if null_separated:
        items = data.split(b"\0")
    else:
        items = [line.rstrip(b"\r") for line in data.split(b"\n")]
    return [os.fsdecode(item) for item in items if item]


def listed(paths: list[str]) -> Iterator[Found]:
    """Yield each listed path as found, with the root that decides its output folder."""
    for path in paths:
        normal = os.path.normpath(path)
        if os.path.isabs(normal) or normal.split(os.sep)[0] == os.pardir:
            yield Found(path, os.path.dirname(path))
        else:
            yield Found(path, ".")

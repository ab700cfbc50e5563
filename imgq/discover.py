"""Discovery: walk the input files and folders and yield the image files found.

Folders are walked recursively in sorted order, so that two runs over the
same tree see the same images in the same order. Files named directly on
the command line are always taken; inside folders, files are kept by
extension. Content is checked later, when a worker opens the file, so that a
JPEG named ``.png`` is read as a JPEG and a text file named ``.jpg`` becomes
a per-file error.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Iterator

from imgq.formats import is_readable_extension
from imgq.streams import STDIN

# Workers encode into hidden files named like this, in the output folder.
TEMP_PREFIX = ".imgq-"
TEMP_SUFFIX = ".tmp"


def temp_token() -> str:
    """Return ``<host>-<pid>`` for temporary names: a hash of the host name, then the process id.

    Runs on several machines can share one output folder (shards), so a
    later run may remove a temporary file at once only when the file comes
    from its own host and its process is gone.
    """
    import zlib  # already loaded by Pillow, unlike hashlib

    name = os.uname().nodename if hasattr(os, "uname") else os.environ.get("COMPUTERNAME", "")
    host = f"{zlib.crc32(name.encode()):08x}"[:6]
    return f"{host}-{os.getpid():x}"


@dataclass(frozen=True, slots=True)
class Found:
    """A path met during discovery; ``root`` is the input it was found under.

    ``skip_reason`` is empty for an image to process; otherwise it is the
    reason the path was passed over. ``error`` is set for a folder that
    could not be read or a named input that does not exist, either of which
    fails the run instead of being passed over.
    """

    path: str
    root: str
    skip_reason: str = ""
    error: str = ""


def discover(inputs: list[str], follow_links: bool = False, exclude: str | None = None) -> Iterator[Found]:
    """Yield every path under ``inputs``, images first-class, the rest with a reason.

    A folder walk passes over hidden files and folders, as a shell's ``*``
    does, and the folder ``exclude`` (the output folder), so that a second
    run does not take the first run's outputs for inputs.
    """
    excluded = os.path.realpath(exclude) if exclude else None
    for given in inputs:
        if given != STDIN and os.path.isdir(given):
            yield from _walk(given, follow_links, excluded)
        elif given != STDIN and not os.path.lexists(given):
            yield Found(given, os.path.dirname(given), error="no such file or folder")
        else:
            # A named file is tried even with an unknown extension.
            yield Found(given, os.path.dirname(given))


def _walk(root: str, follow_links: bool, excluded: str | None) -> Iterator[Found]:
    seen_dirs: set[tuple[int, int]] = set()
    real_root = os.path.realpath(root)
    # Without onerror, os.walk passes over a folder it cannot list. Each one
    # becomes a failure, so that a run missing its images does not exit 0.
    errors: list[OSError] = []
    for folder, dirs, files in os.walk(root, followlinks=follow_links, onerror=errors.append):
        yield from _unreadable_folders(errors, root)
        if follow_links:
            # Followed links can lead back up the tree; visit each folder once.
            stat = os.stat(folder)
            if (stat.st_dev, stat.st_ino) in seen_dirs:
                dirs[:] = []
                continue
            seen_dirs.add((stat.st_dev, stat.st_ino))

        for name in list(dirs):
            path = os.path.join(folder, name)
            reason = _folder_skip_reason(name, path, real_root, excluded, follow_links)
            if reason:
                dirs.remove(name)
                yield Found(path, root, reason)
        dirs.sort()
        for name in sorted(files):
            path = os.path.join(folder, name)
            reason = _skip_reason(name)
            if not reason and not follow_links and _leaves_root(path, real_root):
                reason = "link to a file outside the input folder, not followed (use --follow-links)"
            yield Found(path, root, reason)
    yield from _unreadable_folders(errors, root)


def _unreadable_folders(errors: list[OSError], root: str) -> Iterator[Found]:
    while errors:
        error = errors.pop(0)
        yield Found(error.filename or root, root, error=f"cannot read folder: {error.strerror or error}")


def _leaves_root(path: str, real_root: str) -> bool:
    """Return True for a symbolic link whose target lies outside ``real_root``."""
    if not os.path.islink(path):
        return False
    target = os.path.realpath(path)
    return os.path.commonpath([target, real_root]) != real_root


def _folder_skip_reason(name: str, path: str, real_root: str, excluded: str | None, follow_links: bool) -> str:
    if name.startswith("."):
        return "hidden folder (name it as an input to process it)"
    if not follow_links and os.path.islink(path):
        # os.walk would pass over it in silence, and -v lists the reason.
        return "link to a folder, not followed (use --follow-links)"
    if excluded is not None and excluded != real_root and os.path.realpath(path) == excluded:
        return "the output folder"
    return ""


def _skip_reason(name: str) -> str:
    if name.startswith(TEMP_PREFIX) and name.endswith(TEMP_SUFFIX):
        return "temporary file of an imgq run"
    if name.startswith("."):
        return "hidden file (name it as an input to process it)"
    if not is_readable_extension(os.path.splitext(name)[1].lower()):
        return "not an image extension"
    return ""

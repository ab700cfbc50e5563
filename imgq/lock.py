"""The run lock: ``--lock FILE`` keeps two overlapping runs (cron) from working at once.

The lock is an advisory ``flock`` on FILE, held until the process exits, so
a run killed with SIGKILL releases it too; FILE itself stays, holding the
holder's process id for the message of the run that finds it taken.
"""

from __future__ import annotations

import fcntl
import os


class LockHeld(Exception):
    """Another process holds the lock."""


def acquire(path: str) -> int:
    """Take the lock at ``path`` without waiting; return its file descriptor.

    Raise ``LockHeld`` when another run holds it, and ``OSError`` when the
    file cannot be opened.
    """
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = _read_holder(descriptor)
        os.close(descriptor)
        raise LockHeld(f"another imgq run{holder} holds the lock {path}; not starting") from None

    os.ftruncate(descriptor, 0)
    os.write(descriptor, f"{os.getpid()}\n".encode())
    return descriptor


def _read_holder(descriptor: int) -> str:
    try:
        text = os.pread(descriptor, 32, 0).decode("ascii").strip()
    except (OSError, UnicodeDecodeError):
        return ""
    return f" (process {text})" if text.isdigit() else ""

"""The output folder: check that it can be written, and clear what killed runs left in it."""

from __future__ import annotations

import contextlib
import os
import re

from imgq.discover import TEMP_PREFIX

# Temporary names of workers (".imgq-<pid in hex>-<index>[-<variant>].tmp") and of the
# manifest rewrite (".imgq.manifest.jsonl.<pid>.tmp").
_TEMP_NAME = re.compile(re.escape(TEMP_PREFIX) + r"(?P<hex>[0-9a-f]+)-\d+(?:-\d+)?\.tmp|\.imgq\.manifest\.jsonl\.(?P<dec>\d+)\.tmp")


def probe(root: str) -> str | None:
    """Write and remove one byte in ``root``; return why that failed, or None."""
    path = os.path.join(root, f"{TEMP_PREFIX}{os.getpid():x}-probe.tmp")
    try:
        with open(path, "wb") as stream:
            stream.write(b"\0")
            stream.flush()
    except OSError as exc:
        return exc.strerror or str(exc)
    finally:
        with contextlib.suppress(OSError):
            os.remove(path)
    return None


def remove_stale_temporary_files(folders: set[str]) -> int:
    """Remove temporary files of imgq runs that no longer run; return how many."""
    removed = 0
    for folder in folders:
        try:
            names = os.listdir(folder)
        except OSError:
            continue
        for name in names:
            match = _TEMP_NAME.fullmatch(name)
            if match is None:
                continue
            import psutil  # imported only when a temporary file is found

            pid = int(match["hex"], 16) if match["hex"] else int(match["dec"])
            if pid != os.getpid() and psutil.pid_exists(pid):
                continue
            with contextlib.suppress(OSError):
                os.remove(os.path.join(folder, name))
                removed += 1
    return removed

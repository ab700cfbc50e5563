"""The output folder: check that it can be written, and clear what killed runs left in it."""

from __future__ import annotations

import contextlib
import os
import re
import time

from imgq.discover import TEMP_PREFIX, temp_token

# Temporary names of workers (".imgq-<host>-<pid in hex>-<index>[-<variant>].tmp") and of the
# manifest rewrite (".imgq.manifest.jsonl.<pid>.tmp").
_TEMP_NAME = re.compile(
    re.escape(TEMP_PREFIX) + r"(?P<host>[0-9a-f]{6})-(?P<hex>[0-9a-f]+)-\d+(?:-\d+)?\.tmp"
    r"|\.imgq\.manifest\.jsonl\.(?P<dec>\d+)\.tmp"
)

# A temporary file of another host, or of the manifest, is removed only when
# nothing has written it for this long: such a file is written in one go and
# renamed within seconds, so one this old belongs to a run that died.
STALE_SECONDS = 15 * 60


def probe(root: str) -> str | None:
    """Write and remove one byte in ``root``; return why that failed, or None."""
    path = os.path.join(root, f"{TEMP_PREFIX}{temp_token()}-probe.tmp")
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
            path = os.path.join(folder, name)
            if _is_stale(match, path):
                with contextlib.suppress(OSError):
                    os.remove(path)
                    removed += 1
    return removed


def _is_stale(match: re.Match, path: str) -> bool:
    own_host = match["host"] is not None and match["host"] == temp_token().split("-")[0]
    if own_host:
        import psutil  # imported only when a temporary file is found

        pid = int(match["hex"], 16)
        return pid != os.getpid() and not psutil.pid_exists(pid)
    try:
        return time.time() - os.stat(path).st_mtime > STALE_SECONDS
    except OSError:
        return False

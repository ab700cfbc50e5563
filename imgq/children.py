"""Child processes: name them for ps and top, and end them with the main process.

On Linux each child asks the kernel to send it SIGKILL when the main
process dies (``PR_SET_PDEATHSIG``), so that a main process killed with
SIGKILL, as by the OOM killer, leaves no worker or collector behind. The
name set with ``PR_SET_NAME`` (``imgq-worker``, ``imgq-collector``) is what
``ps -o comm`` and ``psutil.Process.name()`` show.
"""

from __future__ import annotations

import os
import signal
import sys

PR_SET_PDEATHSIG = 1
PR_SET_NAME = 15

COLLECTOR_NAME = "imgq-collector"


def prepare_child(role: str, parent_pid: int) -> None:
    """Name this child process and tie its life to ``parent_pid``."""
    # Ctrl-C reaches only the main process, which ends the children in
    # order; SIGTERM from it (or anyone) ends a worker at once, without the
    # main process's handler inherited through fork. The collector ignores
    # SIGTERM too: `timeout` and service managers signal the whole process
    # group, and the collector must live to hand its counts to the main
    # process, which then stops it (or it dies with the main process).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN if role == COLLECTOR_NAME else signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT, signal.SIGTERM})
    if sys.platform.startswith("linux"):
        import ctypes

        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(PR_SET_NAME, role.encode()[:15], 0, 0, 0)
            libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        except (OSError, AttributeError):
            pass

    # The main process may have died before the death signal was armed.
    if os.getppid() != parent_pid:
        os._exit(1)


def parent_alive(parent_pid: int) -> bool:
    """Return True while the process that started this one still runs."""
    return os.getppid() == parent_pid

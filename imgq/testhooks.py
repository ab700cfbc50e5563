"""Fault injection for the test suite only; every hook is off unless its variable is set.

The fault tests need a worker that dies or hangs on a chosen image, every
time, to show that the run survives it. Each variable holds a substring of
the input path it applies to:

* ``IMGQ_TEST_CRASH_ON``: the worker kills itself with SIGKILL, as the OOM
  killer would;
* ``IMGQ_TEST_HANG_ON``: the worker sleeps for an hour, as on a decoder stuck
  in a loop;
* ``IMGQ_TEST_DELAY``: seconds each image takes longer, so that a test can
  act while a run is in the middle of its chunks.

The hooks run in worker processes only, never in a ``-j 1`` run, except the
hang, which ``--timeout`` also ends there.
"""

from __future__ import annotations

import os
import signal
import time


def before_image(source: str, in_worker: bool) -> None:
    """Apply the fault hooks that the environment asks for to the image at ``source``."""
    crash_on = os.environ.get("IMGQ_TEST_CRASH_ON")
    if crash_on and in_worker and crash_on in source:
        os.kill(os.getpid(), signal.SIGKILL)

    hang_on = os.environ.get("IMGQ_TEST_HANG_ON")
    if hang_on and hang_on in source:
        time.sleep(3600)

    delay = os.environ.get("IMGQ_TEST_DELAY")
    if delay:
        time.sleep(float(delay))

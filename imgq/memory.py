"""Memory gating: keep the estimated decoded size of images in flight within a budget.

Each worker has a slot in a shared array of doubles: the index of the image
it is processing (-1 when idle), when it started that image (``time.monotonic``,
which is system-wide on Linux), and the bytes it has reserved for decoding.
A worker reserves an image's estimated decoded size before loading the
pixels, and waits while the other workers' reservations leave too little
room, so that several huge images are decoded one after another instead of
letting the OOM killer choose a victim. The main process reads the same
slots to find a worker stuck past ``--timeout``, and clears the slot of a
worker that died, so that a dead worker's reservation is never leaked.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from PIL import Image

SLOT_FIELDS = 3
INDEX, STARTED, RESERVED = range(SLOT_FIELDS)

# Fraction of the memory available at the start of a run that images in
# flight may use; the rest is left to the rest of the machine.
DEFAULT_SHARE = 0.8

WAIT_STEP = 0.02


class MemoryLimitError(Exception):
    """One image needs more memory to decode than the whole budget."""


@dataclass(frozen=True)
class MemoryBudget:
    """Bytes that the decoded images in flight may use together."""

    limit: int
    from_option: bool = False

    def describe(self) -> str:
        """Return the limit in MiB and where it comes from, for messages."""
        origin = "--max-memory" if self.from_option else "memory available at start"
        return f"{_mib(self.limit)} ({origin})"


def default_budget(limit: int | None) -> MemoryBudget:
    """Return the budget from ``--max-memory``, or a share of the memory available now."""
    if limit:
        return MemoryBudget(limit, from_option=True)
    import psutil

    return MemoryBudget(int(psutil.virtual_memory().available * DEFAULT_SHARE))


def estimate_bytes(image: Image.Image) -> int:
    """Estimate the bytes that decoding and transforming ``image`` takes.

    Pillow stores 1 byte per pixel for modes 1, L and P and 4 bytes for the
    others; the transformed copy needs about as much again.
    """
    per_pixel = 1 if image.mode in ("1", "L", "P") else 4
    return image.width * image.height * per_pixel * 2


def make_slots(context, count: int):
    """Return a shared, locked array with one idle slot per worker."""
    slots = context.Array("d", SLOT_FIELDS * count)
    for slot in range(count):
        clear_slot(slots, slot)
    return slots


def clear_slot(slots, slot: int) -> None:
    """Mark a slot idle and release its reservation."""
    with slots.get_lock():
        base = slot * SLOT_FIELDS
        slots[base + INDEX] = -1
        slots[base + STARTED] = 0.0
        slots[base + RESERVED] = 0.0


class MemoryGate:
    """One worker's view of the shared slots: mark images, reserve memory."""

    def __init__(self, budget: MemoryBudget, slots=None, slot: int = 0):
        self.budget = budget
        self.slots = slots
        self.base = slot * SLOT_FIELDS

    def begin(self, index: int) -> None:
        """Mark the image this worker starts on, for the --timeout watch."""
        if self.slots is not None:
            self.slots[self.base + STARTED] = time.monotonic()
            self.slots[self.base + INDEX] = index

    def reserve(self, image: Image.Image) -> None:
        """Wait until the estimated decoded size of ``image`` fits, then reserve it."""
        need = estimate_bytes(image)
        if need > self.budget.limit:
            raise MemoryLimitError(
                f"{image.width}x{image.height} needs about {_mib(need)} to decode, "
                f"more than the memory limit of {self.budget.describe()}; raise --max-memory"
            )
        if self.slots is None:
            return

        while not self._try_reserve(need):
            # Time spent waiting for memory does not count towards --timeout.
            self.slots[self.base + STARTED] = time.monotonic()
            time.sleep(WAIT_STEP)
        self.slots[self.base + STARTED] = time.monotonic()

    def end(self) -> None:
        """Mark this worker idle and release its reservation."""
        if self.slots is not None:
            clear_slot(self.slots, self.base // SLOT_FIELDS)

    def _try_reserve(self, need: int) -> bool:
        with self.slots.get_lock():
            used = sum(self.slots[RESERVED::SLOT_FIELDS])
            # An image that fits the budget alone gets in as soon as no other
            # worker holds a reservation, so a worker waits only on images
            # in progress (which --timeout bounds).
            if used and used + need > self.budget.limit:
                return False
            self.slots[self.base + RESERVED] = need
            return True


def _mib(size: int) -> str:
    return f"{size / 2**20:.1f} MiB"


def parse_size(text: str) -> int:
    """Parse a size in bytes with an optional K, M or G suffix (powers of 1024); raise ValueError."""
    units = {"": 1, "K": 2**10, "M": 2**20, "G": 2**30, "T": 2**40}
    cleaned = text.strip().upper().removesuffix("B").removesuffix("I")
    number, unit = cleaned, ""
    if cleaned and cleaned[-1] in units:
        number, unit = cleaned[:-1], cleaned[-1]
    try:
        value = float(number)
    except ValueError:
        raise ValueError(f"invalid size {text!r}: expected bytes or a number with K, M or G, such as 512M") from None
    if not value > 0 or value == float("inf"):
        raise ValueError(f"invalid size {text!r}: must be more than 0")
    return int(value * units[unit])

"""Give the C heap's free pages back to the operating system.

CPython hands objects larger than 512 bytes (message bytes, JSON text, SQL rows) to glibc's
malloc, which keeps pages freed in the middle of its heaps: after a burst (a backlog drained, a
load peak) a process keeps its peak RSS although the memory is free.  ``malloc_trim(0)`` returns
every whole free page of every arena; it takes a few milliseconds on a 150 MB heap, so the
services call it every ``memory_release_every_s`` seconds, from a worker thread.  On a C library
without ``malloc_trim`` (musl, macOS) it does nothing.
"""

from __future__ import annotations

import asyncio
import ctypes
import functools
import logging
from collections.abc import Callable

log = logging.getLogger(__name__)


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    try:
        fn = ctypes.CDLL(None).malloc_trim  # the C library the interpreter is linked against
    except (OSError, AttributeError):
        return None
    fn.argtypes = [ctypes.c_size_t]
    fn.restype = ctypes.c_int
    trim: Callable[[int], int] = fn
    return trim


def release_free_memory() -> bool:
    """Return free heap pages to the OS; True if any were released."""
    trim = _malloc_trim()
    return bool(trim(0)) if trim is not None else False


async def release_periodically(every_s: float) -> None:
    """Run until cancelled; ``every_s <= 0`` disables it."""
    if every_s <= 0 or _malloc_trim() is None:
        return
    while True:
        await asyncio.sleep(every_s)
        try:
            await asyncio.to_thread(release_free_memory)
        except Exception as exc:  # pragma: no cover - never expected; must not stop the service
            log.debug("malloc_trim failed: %s", exc)

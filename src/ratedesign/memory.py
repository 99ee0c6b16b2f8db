"""Give the memory a worker freed back to the operating system (glibc's per-thread heaps).

A worker's chunk tasks allocate and free, per building, hourly arrays of 8760 float64 (70 KB, under
glibc's mmap threshold of 128 KB, which Dask's nanny fixes with ``MALLOC_TRIM_THRESHOLD_``), so
they live in glibc's heaps. glibc keeps one heap ("arena") per thread, up to 8 per core, and a run
that waits for its chunks secedes from Dask's thread pool, so a worker's tasks run on ever new
threads: every one of those arenas keeps the holes its freed arrays left between the load cache's
long-lived columns, and returns only the free memory at its top. Measured on the ten-utility study
(issue 14): worker RSS 4.61 GB with 0.6 GB of live arrays; one ``malloc_trim(0)`` on a ConEd worker
took its RSS from 2.41 GB to 1.06 GB. :func:`trim_heap` returns those free pages (``malloc_trim``
hands back whole free pages inside every arena, not only at the top), at most once per
``min_interval_s`` per process, after a task that read hourly loads.

Best effort: ``malloc_trim`` exists only in glibc (elsewhere nothing is trimmed).
"""

from __future__ import annotations

import ctypes
import threading
import time

#: calls of :func:`trim_heap` that trimmed, and the seconds they took, in this process
TRIMS = {"calls": 0, "seconds": 0.0}
#: default minimum seconds between two trims of one process
MIN_INTERVAL_S = 1.0

_LOCK = threading.Lock()
_LAST = [0.0]
_LIBC: list = []


def _malloc_trim():
    if not _LIBC:
        try:
            _LIBC.append(ctypes.CDLL("libc.so.6").malloc_trim)
        except (OSError, AttributeError):  # not glibc (macOS, musl): nothing to trim
            _LIBC.append(None)
    return _LIBC[0]


def trim_heap(min_interval_s: float = MIN_INTERVAL_S) -> bool:
    """Return this process's free heap pages to the operating system (glibc ``malloc_trim(0)``).

    Parameters
    ----------
    min_interval_s : float, default MIN_INTERVAL_S
        Skip when the last trim of this process is more recent than this, s (0: always trim).

    Returns
    -------
    bool
        True when the heap was trimmed; False when skipped or not glibc.

    References
    ----------
    .. [1] ``malloc_trim(3)``, ``mallopt(3)`` (``M_MMAP_THRESHOLD``, ``M_ARENA_MAX``), GNU C Library manual.
    .. [2] Dask distributed, "Worker Memory Management": memory not released back to the OS,
       https://distributed.dask.org/en/stable/worker-memory.html
    """
    fn = _malloc_trim()
    if fn is None:
        return False
    now = time.monotonic()
    with _LOCK:
        if now - _LAST[0] < min_interval_s:
            return False
        _LAST[0] = now
    t0 = time.perf_counter()
    fn(0)
    with _LOCK:
        TRIMS["calls"] += 1
        TRIMS["seconds"] += time.perf_counter() - t0
        _LAST[0] = time.monotonic()
    return True


__all__ = ["MIN_INTERVAL_S", "TRIMS", "trim_heap"]

"""Loads read once per worker: a bounded in-memory cache of load files, keyed by file identity.

The runs of one study read the same load files again and again (RI's chain reads upgrade 00 in
every precalc run; a demand-flex or ``top:N`` peak run reads its chunk twice). Each worker process
keeps the columns it read (total, PV, gas; kWh, float64, as stored in the file) of the files it
read last, up to a memory budget, and serves later reads of the same file from memory.

A cached file is used only while it is unchanged: the entry is keyed by the file's path and
checked against its identity, ``(size, modification time in ns)`` for a local file or
``(size, ETag)`` for an object (from one directory listing per run and worker), so a rewritten or
touched file is read again.

Budget: ``ratedesign.loads-cache`` in Dask's configuration (bytes or a string like ``"1GiB"``;
``0`` turns the cache off). It is read where the loads are read, i.e. on the workers: set it in a
Dask YAML file or as the environment variable ``DASK_RATEDESIGN__LOADS_CACHE=2GiB`` before the
workers start. Least recently used files are dropped first. All-zero columns (no PV, no gas) are
stored as nothing, so a building without PV or gas costs one or two columns (70 KB each).
"""

from __future__ import annotations

import collections
import threading

import dask.config
import numpy as np

#: default budget per worker process for cached load columns
DEFAULT_BUDGET = "256MiB"

dask.config.update_defaults({"ratedesign": {"loads-cache": DEFAULT_BUDGET}})


def budget_bytes() -> int:
    """The cache budget of this process from ``ratedesign.loads-cache``.

    Returns
    -------
    int
        Bytes (0: no cache).

    Raises
    ------
    ValueError
        The configured value is not a number of bytes.
    """
    return config_bytes("ratedesign.loads-cache", DEFAULT_BUDGET)


def config_bytes(key: str, default) -> int:
    """A byte budget from Dask's config (``"256MiB"``, an int, or 0/None/"" for none).

    Parameters
    ----------
    key : str
        The config key, e.g. ``ratedesign.loads-cache``.
    default : int or str
        The value when the key is not set.

    Returns
    -------
    int
        Bytes (0: none).

    Raises
    ------
    ValueError
        The configured value is not a number of bytes.
    """
    from dask.utils import parse_bytes

    value = dask.config.get(key, default=default)
    if value in (None, False, "", 0, "0"):
        return 0
    return int(parse_bytes(value)) if isinstance(value, str) else int(value)


class CachedFile:
    """The columns of one load file as read (before year shift, scaling and netting).

    Parameters
    ----------
    source_year : int
        Year of the file's first timestamp.
    total : ndarray, shape (H,)
        Total electricity, kWh per hour.
    pv : ndarray, shape (H,), or None
        PV, kWh per hour as stored; None when the column is missing or all zero.
    gas : ndarray, shape (H,), or None
        Natural gas, kWh per hour; None when all zero.
    """

    __slots__ = ("source_year", "total", "pv", "gas")

    def __init__(self, source_year: int, total: np.ndarray, pv: np.ndarray | None, gas: np.ndarray | None):
        self.source_year = int(source_year)
        self.total = total
        self.pv = pv if pv is not None and pv.any() else None
        self.gas = gas if gas is not None and gas.any() else None

    @property
    def nbytes(self) -> int:
        """Bytes held by the arrays."""
        return sum(a.nbytes for a in (self.total, self.pv, self.gas) if a is not None)


class LoadCache:
    """Least-recently-used cache of :class:`CachedFile` by path, checked against file identity.

    Parameters
    ----------
    budget : int
        Bytes of arrays to keep at most.
    """

    def __init__(self, budget: int):
        self.budget = int(budget)
        self.nbytes = 0
        self.hits = 0
        self.misses = 0
        self._entries: collections.OrderedDict = collections.OrderedDict()
        self._lock = threading.Lock()

    def get(self, path: str, identity) -> CachedFile | None:
        """The cached columns of ``path`` if its identity is still ``identity``, else None.

        Parameters
        ----------
        path : str
            The load file.
        identity : tuple
            Its current ``(size, mtime_ns or ETag)``.

        Returns
        -------
        CachedFile or None
            None when absent or when the file changed (the stale entry is dropped).
        """
        with self._lock:
            item = self._entries.get(path)
            if item is None or item[0] != identity:
                if item is not None:
                    self._drop(path)
                self.misses += 1
                return None
            self._entries.move_to_end(path)
            self.hits += 1
            return item[1]

    def put(self, path: str, identity, entry: CachedFile) -> None:
        """Keep (or re-account after an update) ``entry`` for ``path``, dropping least recently
        used entries beyond the budget. Its size (``entry.nbytes``) is taken now.

        Parameters
        ----------
        path : str
            The load file (or any hashable key).
        identity : tuple
            Its identity when it was read.
        entry : CachedFile
            Its columns (not copied: the caller must not modify the arrays).
        """
        size = entry.nbytes
        with self._lock:
            if path in self._entries:
                self._drop(path)
            if size > self.budget:
                return
            while self._entries and self.nbytes + size > self.budget:
                self._drop(next(iter(self._entries)))
            self._entries[path] = (identity, entry, size)
            self.nbytes += size

    def _drop(self, path: str) -> None:
        _, _, size = self._entries.pop(path)
        self.nbytes -= size

    def __len__(self) -> int:
        return len(self._entries)

    def clear(self) -> None:
        """Drop every entry."""
        with self._lock:
            self._entries.clear()
            self.nbytes = 0


_CACHE: LoadCache | None = None
_CACHE_LOCK = threading.Lock()
#: load files actually read (opened and decoded) by this process, by path
READS: collections.Counter = collections.Counter()
#: bytes fetched from object stores by this process's load reader (footers + column chunks)
FETCHED = {"bytes": 0, "requests": 0, "needed_bytes": 0}


def process_cache() -> LoadCache | None:
    """This process's load cache (created on first use with :func:`budget_bytes`), or None if off.

    Returns
    -------
    LoadCache or None
        The cache; None when ``ratedesign.loads-cache`` is 0.
    """
    global _CACHE
    budget = budget_bytes()
    with _CACHE_LOCK:
        if budget <= 0:
            _CACHE = None
            return None
        if _CACHE is None:
            _CACHE = LoadCache(budget)
        elif _CACHE.budget != budget:
            _CACHE.budget = budget
        return _CACHE


def reader_stats() -> dict:
    """What this process's load reader did: files read, cache hits and misses, bytes fetched.

    Returns
    -------
    dict
        ``reads`` ({path: times read}), ``hits``, ``misses``, ``cached_bytes``, ``cached_files``,
        and ``fetched_bytes``, ``requests``, ``needed_bytes`` (object stores: bytes of the footers
        and column chunks fetched, ranged GET requests, bytes of the needed column chunks).
    """
    c = _CACHE
    return {"reads": dict(READS), "hits": c.hits if c else 0, "misses": c.misses if c else 0,
            "cached_bytes": c.nbytes if c else 0, "cached_files": len(c) if c else 0,
            "fetched_bytes": FETCHED["bytes"], "requests": FETCHED["requests"],
            "needed_bytes": FETCHED["needed_bytes"]}


def reset_reader_stats(clear_cache: bool = False) -> None:
    """Zero the counters of :func:`reader_stats` (and empty the cache with ``clear_cache``).

    Parameters
    ----------
    clear_cache : bool, default False
        Also drop every cached file.
    """
    READS.clear()
    for k in FETCHED:
        FETCHED[k] = 0
    if _CACHE is not None:
        _CACHE.hits = _CACHE.misses = 0
        if clear_cache:
            _CACHE.clear()


__all__ = ["CachedFile", "DEFAULT_BUDGET", "LoadCache", "budget_bytes", "config_bytes", "process_cache", "reader_stats",
           "reset_reader_stats"]

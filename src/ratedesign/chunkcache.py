"""Per-worker cache of the reductions of a chunk's loads that every run of a study needs.

A run's chunk pass needs, per building, only sums of its processed hourly loads: kWh by tariff
period, month and tier (bills, unity bills), annual kWh, the economic burden ``net @ MC`` and the
kWh in the peak hours, plus the chunk's weighted hourly system demand. Tariff periods depend on
the hour only through (month, weekday or weekend, hour of day) (URDB 12x24 schedules), so the
576 **hour-class sums** of a building's year (12 months x 2 day types x 24 hours) give the kWh by
period of *any* tariff with one small matrix product. What depends on the whole hourly profile
(``net @ MC_h`` for a marginal-cost vector, ``w @ net`` for a weight vector, the kWh in a set of
peak hours) is kept per vector, keyed by a digest of that vector.

So the second run over the same chunk (same files, run year, scale factor and floor; the chunks
of a utility's runs are the same and go to the same worker, see ``ChunkTask.affinity``) does not
read its load files at all: a few matrix products on (n, 576) arrays. A run that needs a vector
not seen yet (another marginal-cost file) reads the chunk once more. Entries are used only while
every file of the chunk is unchanged (the same identities as :mod:`ratedesign.loadcache`).

Budget: ``ratedesign.reductions-cache`` in Dask's configuration (bytes or ``"512MiB"``; 0 turns it
off), per worker process; about 9 KB per building and load directory (net and gas class sums).
"""

from __future__ import annotations

import collections
import hashlib
import threading

import dask.config
import numpy as np

from ratedesign.loadcache import LoadCache, config_bytes

#: default budget per worker process for cached chunk reductions
DEFAULT_BUDGET = "768MiB"

dask.config.update_defaults({"ratedesign": {"reductions-cache": DEFAULT_BUDGET}})


def digest(a) -> str:
    """A short content digest of an array (the key of a per-vector reduction).

    Parameters
    ----------
    a : array_like
        Any array.

    Returns
    -------
    str
        Hex digest of its dtype, shape and bytes.
    """
    a = np.ascontiguousarray(a)
    h = hashlib.blake2b(digest_size=16)
    h.update(f"{a.dtype.str}{a.shape}".encode())
    h.update(a.data)
    return h.hexdigest()


class ChunkReductions:
    """The reductions of one chunk's processed loads.

    Parameters
    ----------
    identity : tuple
        The identities of the chunk's files when they were read.
    net_classes : ndarray, shape (n, C)
        Net (grid) kWh per hour class (:func:`ratedesign.kernels.hour_classes`).
    gas_classes : ndarray, shape (n, C), or None
        Gas kWh per hour class; None when the chunk uses no gas.
    q : ndarray, shape (n,)
        Annual net kWh.
    load_data : ndarray, shape (n,)
        Annual total kWh.
    pv : ndarray, shape (n,)
        Annual PV kWh.
    """

    def __init__(self, identity, net_classes, gas_classes, q, load_data, pv):
        self.identity = identity
        self.net_classes = net_classes
        self.gas_classes = gas_classes
        self.q = q
        self.load_data = load_data
        self.pv = pv
        self.vectors: dict = {}   # (kind, digest) -> array: "eb" (n,), "demand" (H,), "cp" (n,)

    @property
    def nbytes(self) -> int:
        """Bytes held by the arrays."""
        arrs = [self.net_classes, self.gas_classes, self.q, self.load_data, self.pv, *self.vectors.values()]
        return sum(a.nbytes for a in arrs if a is not None)


class ReductionCache(LoadCache):
    """Least-recently-used cache of :class:`ChunkReductions` by chunk key, within a byte budget
    (the load cache's mechanism; an entry is checked against its files' identity).

    Parameters
    ----------
    budget : int
        Bytes of arrays to keep at most.
    """

    def put(self, key, entry: ChunkReductions) -> None:  # type: ignore[override]
        """Keep (or re-account after an update) ``entry`` under ``key``, dropping least recently used ones.

        Parameters
        ----------
        key : tuple
            The chunk key.
        entry : ChunkReductions
            Its reductions (their ``identity`` is the files' when read).
        """
        super().put(key, entry.identity, entry)


#: marginal-cost vectors ("eb") and peak-hour masks ("cp") of recent runs in this process, by digest
_RECENT: dict = {"eb": collections.OrderedDict(), "cp": collections.OrderedDict()}
#: how many of each kind are remembered
RECENT_VECTORS = 6


def remember(kind: str, vector: np.ndarray) -> str:
    """Remember a run's marginal-cost vector (``"eb"``) or peak mask (``"cp"``) in this process.

    A chunk read later for another run gets these reductions too (a utility's delivery and supply
    runs then read each chunk once).

    Parameters
    ----------
    kind : {"eb", "cp"}
        What the vector is for.
    vector : ndarray, shape (H,)
        MC_h in $/kWh, or the peak-hour mask.

    Returns
    -------
    str
        Its digest.
    """
    d = digest(vector)
    with _CACHE_LOCK:
        rec = _RECENT[kind]
        rec[d] = vector
        rec.move_to_end(d)
        while len(rec) > RECENT_VECTORS:
            rec.popitem(last=False)
    return d


def recent() -> dict:
    """Every remembered vector (:func:`remember`).

    Returns
    -------
    dict
        ``{(kind, digest): vector}``.
    """
    with _CACHE_LOCK:
        return {(k, d): v for k, rec in _RECENT.items() for d, v in rec.items()}


_CACHE: ReductionCache | None = None
_CACHE_LOCK = threading.Lock()


def budget_bytes() -> int:
    """The budget of this process from ``ratedesign.reductions-cache``.

    Returns
    -------
    int
        Bytes (0: no cache).

    Raises
    ------
    ValueError
        The configured value is not a number of bytes.
    """
    return config_bytes("ratedesign.reductions-cache", DEFAULT_BUDGET)


def process_cache() -> ReductionCache | None:
    """This process's reduction cache (created on first use), or None when the budget is 0.

    Returns
    -------
    ReductionCache or None
        The cache.
    """
    global _CACHE
    budget = budget_bytes()
    with _CACHE_LOCK:
        if budget <= 0:
            _CACHE = None
            return None
        if _CACHE is None:
            _CACHE = ReductionCache(budget)
        elif _CACHE.budget != budget:
            _CACHE.budget = budget
        return _CACHE


def cache_stats() -> dict:
    """Hits, misses, entries and bytes of this process's reduction cache.

    Returns
    -------
    dict
        ``hits``, ``misses``, ``entries``, ``bytes``.
    """
    c = _CACHE
    return {"hits": c.hits if c else 0, "misses": c.misses if c else 0, "entries": len(c) if c else 0,
            "bytes": c.nbytes if c else 0}


__all__ = ["ChunkReductions", "DEFAULT_BUDGET", "RECENT_VECTORS", "ReductionCache", "budget_bytes", "cache_stats",
           "digest", "process_cache", "recent", "remember"]

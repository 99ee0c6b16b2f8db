"""``mapper(fn, items) -> list`` callables: how the pipeline fans chunks out.

The pipeline only ever calls ``mapper(fn, items)`` and expects the results in order, so the same
code runs serially, through a runfleet ``RunContext.map`` or on a plain ``distributed.Client``.
"""

from __future__ import annotations

import zlib

#: priority of the chunk tasks a run fans out: runfleet's nested priority (``RunContext.map``), so
#: runs that already started finish before new runs take the slots
NESTED_PRIORITY = 10


def serial_mapper(fn, items):
    """Run ``fn`` on every item in this process, in order.

    Parameters
    ----------
    fn : callable
        Function of one item.
    items : iterable
        The items (e.g. building chunks).

    Returns
    -------
    list
        ``[fn(item) for item in items]``.
    """
    return [fn(it) for it in items]


def client_mapper(client):
    """Mapper on a ``distributed.Client``: one task per item (``pure=False``), results in order.

    Parameters
    ----------
    client : distributed.Client
        A connected client.

    Returns
    -------
    callable
        ``mapper(fn, items) -> list``.

    References
    ----------
    .. [1] Dask distributed, ``Client.map``,
       https://distributed.dask.org/en/stable/api.html#distributed.Client.map
    """

    def mapper(fn, items):
        items = list(items)
        if not items:
            return []
        futures = client.map(fn, items, pure=False)
        return client.gather(futures)

    return mapper


def context_mapper(ctx):
    """Mapper through a runfleet ``RunContext`` (nested map on the run's cluster).

    Items with an ``affinity()`` method (building chunks: ``(group key, chunk index)``) are sent
    to a preferred worker, the same one for the same chunk of the same loads in every run, so the
    worker's load cache (:mod:`ratedesign.loadcache`) serves later runs; consecutive chunks go to
    consecutive workers so one run still uses them all. The preference is loose: a worker that
    left is replaced by any other.

    Parameters
    ----------
    ctx : runfleet.RunContext
        The run's context (``ctx.map`` fans out on the same cluster, serially outside one).

    Returns
    -------
    callable
        ``mapper(fn, items) -> list``.

    References
    ----------
    .. [1] Dask distributed, ``Client.submit`` (``workers=``, ``allow_other_workers=``),
       https://distributed.dask.org/en/stable/api.html#distributed.Client.submit
    """

    def mapper(fn, items):
        items = list(items)
        if items and all(hasattr(it, "affinity") for it in items):
            out = _affinity_map(fn, items)
            if out is not None:
                return out
        return list(ctx.map(fn, items))

    return mapper


def _affinity_map(fn, items):
    """Submit each item to its preferred worker from inside a worker; None outside a cluster."""
    try:
        from distributed import get_worker, worker_client

        get_worker()
    except (ImportError, ValueError):
        return None
    with worker_client() as client:
        addrs = sorted(client.scheduler_info(n_workers=-1).get("workers", {}))
        if len(addrs) < 2:
            return None
        futures = []
        for it in items:
            group, index = it.affinity()
            w = addrs[(zlib.crc32(str(group).encode()) + int(index)) % len(addrs)]
            futures.append(client.submit(fn, it, pure=False, priority=NESTED_PRIORITY, workers=[w],
                                         allow_other_workers=True))
        try:
            return client.gather(futures)
        finally:
            for f in futures:
                f.release()


__all__ = ["client_mapper", "context_mapper", "serial_mapper"]

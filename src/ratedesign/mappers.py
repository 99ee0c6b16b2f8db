"""``mapper(fn, items) -> list`` callables: how the pipeline fans chunks out.

The pipeline only ever calls ``mapper(fn, items)`` and expects the results in order, so the same
code runs serially, through a runfleet ``RunContext.map`` or on a plain ``distributed.Client``.
"""

from __future__ import annotations


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

    Items with an ``affinity()`` method (building chunks: ``(group key, chunk index)``) are
    placed with ``ctx.map(..., affinity=...)``: the same chunk of the same loads goes to the same
    worker in every run, so the worker's load cache (:mod:`ratedesign.loadcache`) serves later
    runs, and consecutive chunks go to consecutive workers so one run still uses them all.

    Parameters
    ----------
    ctx : runfleet.RunContext
        The run's context (``ctx.map`` fans out on the same cluster, serially outside one).

    Returns
    -------
    callable
        ``mapper(fn, items) -> list``.
    """

    def mapper(fn, items):
        items = list(items)
        if items and all(hasattr(it, "affinity") for it in items):
            return list(ctx.map(fn, items, affinity=_affinity_of))
        return list(ctx.map(fn, items))

    return mapper


def _affinity_of(item):
    return item.affinity()


__all__ = ["client_mapper", "context_mapper", "serial_mapper"]

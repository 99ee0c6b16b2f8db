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
        return list(ctx.map(fn, list(items)))

    return mapper


__all__ = ["client_mapper", "context_mapper", "serial_mapper"]

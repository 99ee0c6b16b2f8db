"""Split a big per-key stage (e.g. per building) into chunks and run them on the cluster.

Chunks are contiguous, so results concatenate back in the original order, and the split depends
only on the items and the chunk count, never on the workers: the same inputs give the same
chunks, and a reduction over chunk partials gives the same totals whatever the cluster.
"""
from __future__ import annotations

import math
from typing import Callable, Sequence


def split(items: Sequence, n_chunks: int) -> list[list]:
    """Contiguous chunks of near-equal size (sizes differ by at most one); no empty chunks."""
    items = list(items)
    if not items:
        return []
    n = max(1, min(int(n_chunks), len(items)))
    base, extra = divmod(len(items), n)
    out, start = [], 0
    for i in range(n):
        size = base + (1 if i < extra else 0)
        out.append(items[start:start + size])
        start += size
    return out


def map_chunks(ctx, fn: Callable, items: Sequence, chunk_size: int | None = None,
               n_chunks: int | None = None, **kwargs) -> list:
    """``[fn(chunk, **kwargs) for chunk in split(items, ...)]`` through ``ctx.map``.

    chunk_size: items per chunk; n_chunks: number of chunks (default: 2 per worker thread so
    uneven chunks still balance). Give at most one of the two.
    """
    items = list(items)
    if chunk_size is not None and n_chunks is not None:
        raise ValueError("give chunk_size or n_chunks, not both")
    if chunk_size is not None:
        n_chunks = math.ceil(len(items) / max(1, int(chunk_size)))
    elif n_chunks is None:
        n_chunks = 2 * ctx.n_slots
    return ctx.map(fn, split(items, n_chunks), **kwargs)

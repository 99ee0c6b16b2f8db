"""kind -> backend entry point, derived from the one table of kinds (:data:`runfleet.config.KINDS`).

Each entry is ``"module:function"`` imported on first use, so a missing optional dependency
(dask-jobqueue, dask-gateway, ...) only matters to its own kind. Every entry has the signature
``open_<kind>(profile, *, workers=None, env=None) -> ClusterSession`` where ``env`` is the fully
resolved worker environment.
"""
from __future__ import annotations

import importlib
from typing import Callable, Iterator, Mapping

from ..config import KINDS, Kind, _adapter


class _Backends(Mapping):
    """Read-only live view ``kind -> "module:function"`` of :data:`KINDS`."""

    def __getitem__(self, kind: str) -> str:
        return KINDS[kind].target

    def __iter__(self) -> Iterator[str]:
        return iter(KINDS)

    def __len__(self) -> int:
        return len(KINDS)


BACKENDS = _Backends()


def register(kind: str, target: str, model: type, install: str | None = None, *, replace: bool = False) -> None:
    """Add a cluster kind (a third-party backend).

    Parameters
    ----------
    kind : str
        The ``kind:`` value profiles use.
    target : str
        ``"package.module:function"`` with the signature of the other backends.
    model : type
        A pydantic model of its profile: a subclass of one of :mod:`runfleet.config`'s models
        with ``kind: Literal["<kind>"]``.
    install : str, optional
        pip requirement named when its library is missing.
    replace : bool
        Replace an existing kind; without it an existing kind is an error.

    Raises
    ------
    ValueError
        ``kind`` exists and ``replace`` is false, or ``target`` is not ``module:function``.
    """
    if kind in KINDS and not replace:
        raise ValueError(f"cluster kind {kind!r} is already registered (by {KINDS[kind].target}); "
                         "pass replace=True to replace it")
    if ":" not in target:
        raise ValueError(f"cluster kind {kind!r}: target must be 'module:function', got {target!r}")
    KINDS[kind] = Kind(kind, target, install, model)
    _adapter.cache_clear()


def backend_for(kind: str) -> Callable:
    """The opener of ``kind`` (imported now; ``ImportError`` when its library is missing)."""
    try:
        target = KINDS[kind].target
    except KeyError:
        raise ValueError(f"no cluster backend for kind {kind!r}; known: {', '.join(KINDS)}") from None
    mod, _, attr = target.partition(":")
    return getattr(importlib.import_module(mod), attr)


__all__ = ["BACKENDS", "KINDS", "backend_for", "register"]

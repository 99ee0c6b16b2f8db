"""Execution backends: where the engine's tasks run (see :mod:`runfleet.backends.base`).

``cluster="serial"`` selects :class:`SerialBackend` (in this process, one run at a time);
anything else (None, ``"local"``, a profile name, a ``distributed.Client``) selects
:class:`DaskBackend`.
"""
from __future__ import annotations

from .base import ExecutionBackend, Task

SERIAL = "serial"


def make_backend(cluster=None, *, workers: int | None = None, env: dict | None = None, store=None,
                 study: str = "") -> ExecutionBackend:
    """The backend for a ``cluster`` argument (see the module docstring); nothing is started.

    Parameters
    ----------
    cluster : None, str, runfleet.config.Profile or distributed.Client
        ``"serial"``, ``None``/``"local"`` (embedded cluster), a profile name or a client.
    workers : int, optional
        Worker count for Dask backends that start workers.
    env : dict, optional
        Extra environment of worker processes.
    store : runfleet.store.Store
        The study's store.
    study : str
        The study's name.

    Returns
    -------
    ExecutionBackend
    """
    if isinstance(cluster, str) and cluster == SERIAL:
        from .serial import SerialBackend

        return SerialBackend(store=store, study=study)
    from .dask import DaskBackend

    return DaskBackend(cluster, workers=workers, env=env, store=store, study=study)


__all__ = ["ExecutionBackend", "SERIAL", "Task", "make_backend"]

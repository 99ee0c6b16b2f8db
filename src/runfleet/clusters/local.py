"""``kind: local`` — the embedded LocalCluster (processes), the default when no profile is named.

Workers are separate processes (one per core by default, one thread each), so CPU-bound runs
do not fight over the GIL. If the driver is killed (even with SIGKILL) the workers exit instead
of finishing and committing runs nobody waits for: Dask's own process handling does that (each
worker process exits when the pipe from its parent closes; tests/test_driver_death.py).
"""
from __future__ import annotations

import os

import dask

from distributed import Client, LocalCluster

from .base import ClusterSession


def default_workers() -> int:
    """One worker per core this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - non-Linux
        return max(1, os.cpu_count() or 1)


def start_local(
    name: str = "local",
    *,
    workers: int | None = None,
    threads_per_worker: int = 1,
    memory_limit: str | float | None = "auto",
    env: dict[str, str] | None = None,
    dashboard_address: str | None = ":0",
    **cluster_kwargs,
) -> ClusterSession:
    """Start an embedded LocalCluster on 127.0.0.1 and return its session.

    workers: worker processes (default: one per core). threads_per_worker: threads in each.
    env: environment variables set in the worker processes (e.g. PYTHONPATH for study modules).
    """
    n = default_workers() if workers is None else workers
    worker_env = dict(env or {})
    # A task whose worker dies fails at once (KilledWorker) and runfleet's retry policy decides;
    # Dask's default would silently re-run it up to 3 more times, killing a worker each time.
    with dask.config.set({"distributed.scheduler.allowed-failures": 0}):
        cluster = _local_cluster(n, threads_per_worker, dashboard_address, memory_limit, worker_env, cluster_kwargs)
    client = Client(cluster)
    session = ClusterSession(client=client, kind="local", name=name, cluster=cluster)
    session.on_close(cluster.close)
    return session


def open_local(profile, *, workers: int | None = None, env: dict[str, str] | None = None) -> ClusterSession:
    """Backend entry for ``kind: local`` profiles (env: LocalCluster's own ``env=``)."""
    o = profile.options
    adaptive = profile.adapt is not None and workers is None
    n = profile.adapt.minimum if adaptive else (workers if workers is not None else o.get("workers"))
    session = start_local(
        profile.name,
        workers=n,
        threads_per_worker=o.get("threads_per_worker") or 1,
        memory_limit=o.get("memory_limit", "auto"),
        env=env,
        dashboard_address=o.get("dashboard_address", ":0"),
    )
    session.profile = profile
    if adaptive:
        session.adapt(profile.adapt.minimum, profile.adapt.maximum)
    return session


def _local_cluster(n, threads_per_worker, dashboard_address, memory_limit, env, cluster_kwargs):
    return LocalCluster(
        n_workers=n,
        threads_per_worker=threads_per_worker,
        processes=True,
        host="127.0.0.1",
        dashboard_address=dashboard_address,
        memory_limit=memory_limit,
        env=env,
        **cluster_kwargs,
    )

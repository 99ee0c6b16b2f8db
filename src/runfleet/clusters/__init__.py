"""Cluster backends behind one interface, and the registry that picks one by profile.

``open_cluster(None)`` starts the embedded LocalCluster. ``open_cluster("name")`` looks the
profile up in the config file and starts or connects the backend of its ``kind``.
"""
from __future__ import annotations

from distributed import Client

from .base import ClusterSession
from .local import start_local


def open_cluster(profile: str | Client | None = None, *, workers: int | None = None,
                 env: dict[str, str] | None = None) -> ClusterSession:
    """Start or connect the cluster a study runs on.

    profile: ``None`` for the embedded local cluster, a profile name from the config file, or an
        existing ``distributed.Client`` (used as is, never closed by runfleet).
    workers: worker count override for backends that start workers.
    env: extra environment for the workers (e.g. PYTHONPATH so study modules import).
    """
    if isinstance(profile, Client):
        return ClusterSession(client=profile, kind="client", name="client", owns_client=False)
    if profile is None or profile == "local":
        return start_local(workers=workers, env=env)
    raise ValueError(f"unknown cluster profile {profile!r}")


__all__ = ["ClusterSession", "open_cluster", "start_local"]

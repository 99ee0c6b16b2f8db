"""kind -> backend entry point. Each entry is ``"module:function"`` imported on first use, so a
missing optional dependency (dask-jobqueue, dask-gateway, ...) only matters to its own kind.

Every entry has the signature ``open_<kind>(profile, *, workers=None, env=None) -> ClusterSession``
where ``env`` is the fully resolved worker environment.
"""
from __future__ import annotations

import importlib
from typing import Callable

BACKENDS: dict[str, str] = {
    "local": "runfleet.clusters.local:open_local",
    "address": "runfleet.clusters.address:open_address",
    "slurm": "runfleet.clusters.slurm:open_slurm",
    "pbs": "runfleet.clusters.pbs:open_pbs",
    "sge": "runfleet.clusters.sge:open_sge",
    "lsf": "runfleet.clusters.lsf:open_lsf",
    "gateway": "runfleet.clusters.gateway:open_gateway",
    "ec2": "runfleet.clusters.ec2:open_ec2",
    "fargate": "runfleet.clusters.fargate:open_fargate",
    "kubernetes": "runfleet.clusters.kubernetes:open_kubernetes",
    "ssh": "runfleet.clusters.ssh:open_ssh",
}

EXTRAS = {"slurm": "dask-jobqueue", "pbs": "dask-jobqueue", "sge": "dask-jobqueue", "lsf": "dask-jobqueue",
          "gateway": "dask-gateway", "ec2": "dask-cloudprovider[aws]", "fargate": "dask-cloudprovider[aws]",
          "kubernetes": "dask-kubernetes", "ssh": "asyncssh"}


def register(kind: str, target: str) -> None:
    """Add or replace a backend (``"package.module:function"``)."""
    BACKENDS[kind] = target


def backend_for(kind: str) -> Callable:
    try:
        target = BACKENDS[kind]
    except KeyError:
        raise ValueError(f"no cluster backend for kind {kind!r}; known: {', '.join(BACKENDS)}") from None
    mod, _, attr = target.partition(":")
    return getattr(importlib.import_module(mod), attr)

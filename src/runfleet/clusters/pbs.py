"""``kind: pbs`` — dask-jobqueue's PBSCluster (see :mod:`.jobqueue` for env, walltime, death)."""
from __future__ import annotations

from .jobqueue import open_jobqueue


def open_pbs(profile, *, workers=None, env=None):
    from dask_jobqueue import PBSCluster

    return open_jobqueue(PBSCluster, profile, workers=workers, env=env, account_key="account")

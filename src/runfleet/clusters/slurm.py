"""``kind: slurm`` — dask-jobqueue's SLURMCluster (see :mod:`.jobqueue` for env, walltime, death)."""
from __future__ import annotations

from .jobqueue import open_jobqueue


def open_slurm(profile, *, workers=None, env=None):
    from dask_jobqueue import SLURMCluster

    return open_jobqueue(SLURMCluster, profile, workers=workers, env=env, account_key="account")

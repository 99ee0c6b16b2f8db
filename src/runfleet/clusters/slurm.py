"""``kind: slurm`` — dask-jobqueue's SLURMCluster (see :mod:`.jobqueue` for env, walltime, death)."""
from __future__ import annotations

from .jobqueue import job_script, open_jobqueue


def open_slurm(profile, *, workers=None, env=None):
    from dask_jobqueue import SLURMCluster

    return open_jobqueue(SLURMCluster, profile, workers=workers, env=env, account_key="account")


def preview(profile, env=None) -> str:
    """The batch script a job of this profile would run (nothing is submitted)."""
    from dask_jobqueue.slurm import SLURMJob

    return job_script(SLURMJob, profile, env or {}, account_key="account")

"""``kind: pbs`` — dask-jobqueue's PBSCluster (see :mod:`.jobqueue` for env, walltime, death)."""
from __future__ import annotations

from .jobqueue import job_script, open_jobqueue


def open_pbs(profile, *, workers=None, env=None):
    from dask_jobqueue import PBSCluster

    return open_jobqueue(PBSCluster, profile, workers=workers, env=env, account_key="account")


def preview(profile, env=None) -> str:
    """The batch script a job of this profile would run (nothing is submitted)."""
    from dask_jobqueue.pbs import PBSJob

    return job_script(PBSJob, profile, env or {}, account_key="account")

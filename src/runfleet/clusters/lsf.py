"""``kind: lsf`` — dask-jobqueue's LSFCluster; ``account`` becomes LSF's ``project`` (-P)."""
from __future__ import annotations

from .jobqueue import hm, job_script, open_jobqueue


def open_lsf(profile, *, workers=None, env=None):
    from dask_jobqueue import LSFCluster

    return open_jobqueue(LSFCluster, profile, workers=workers, env=env, account_key="project", walltime_fmt=hm)


def preview(profile, env=None) -> str:
    """The batch script a job of this profile would run (nothing is submitted)."""
    from dask_jobqueue.lsf import LSFJob

    return job_script(LSFJob, profile, env or {}, account_key="project", walltime_fmt=hm)

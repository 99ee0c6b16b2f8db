"""``kind: sge`` — dask-jobqueue's SGECluster; ``account`` becomes SGE's ``project`` (-P)."""
from __future__ import annotations

from .jobqueue import job_script, open_jobqueue


def open_sge(profile, *, workers=None, env=None):
    from dask_jobqueue import SGECluster

    return open_jobqueue(SGECluster, profile, workers=workers, env=env, account_key="project")


def preview(profile, env=None) -> str:
    """The batch script a job of this profile would run (nothing is submitted)."""
    from dask_jobqueue.sge import SGEJob

    return job_script(SGEJob, profile, env or {}, account_key="project")

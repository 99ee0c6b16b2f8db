"""``kind: lsf`` — dask-jobqueue's LSFCluster; ``account`` becomes LSF's ``project`` (-P)."""
from __future__ import annotations

from .jobqueue import hm, open_jobqueue


def open_lsf(profile, *, workers=None, env=None):
    from dask_jobqueue import LSFCluster

    return open_jobqueue(LSFCluster, profile, workers=workers, env=env, account_key="project", walltime_fmt=hm)

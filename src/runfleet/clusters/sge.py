"""``kind: sge`` — dask-jobqueue's SGECluster; ``account`` becomes SGE's ``project`` (-P)."""
from __future__ import annotations

from .jobqueue import open_jobqueue


def open_sge(profile, *, workers=None, env=None):
    from dask_jobqueue import SGECluster

    return open_jobqueue(SGECluster, profile, workers=workers, env=env, account_key="project")

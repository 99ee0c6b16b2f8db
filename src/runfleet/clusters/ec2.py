"""``kind: ec2`` — dask-cloudprovider's EC2Cluster: one VM for the scheduler, one per worker.

Commands are the ``python -m distributed.cli.dask_scheduler`` / ``dask_worker`` forms (no
removed scripts). The worker environment becomes ``docker run -e`` flags in the VMs' user data,
which anyone allowed ``ec2:DescribeInstanceAttribute`` can read: give workers S3 access with
``iam_instance_profile`` rather than forwarding ``AWS_*`` keys. The scheduler gets
``--idle-timeout`` and ``auto_shutdown``: a driver that died leaves an idle scheduler, which
exits, and its VM powers off.
"""
from __future__ import annotations

from ..config import parse_duration_s
from .aws import require_credentials
from .base import ClusterSession, initial_workers

_DIRECT = ("region", "ami", "instance_type", "scheduler_instance_type", "worker_instance_type", "docker_image",
           "security_groups", "subnet_id", "vpc", "key_name", "iam_instance_profile", "filesystem_size",
           "bootstrap", "auto_shutdown")


def ec2_kwargs(profile, env: dict[str, str], workers: int | None = None) -> dict:
    """Keyword arguments for ``EC2Cluster`` built from the profile."""
    o = profile.options
    kw = {k: o[k] for k in _DIRECT if o.get(k) not in (None, [], {})}
    if kw.get("instance_type"):
        kw.pop("scheduler_instance_type", None)
        kw.pop("worker_instance_type", None)
    worker_options = {}
    if o.get("worker_nthreads"):
        worker_options["nthreads"] = o["worker_nthreads"]
    if o.get("worker_memory"):
        worker_options["memory_limit"] = o["worker_memory"]
    kw.update(
        env_vars=dict(env),
        worker_options=worker_options,
        scheduler_options={"idle_timeout": f"{int(parse_duration_s(o['idle_timeout']))}s"},
        n_workers=initial_workers(profile, workers),
    )
    kw.update(o.get("extra") or {})
    return kw


def open_ec2(profile, *, workers: int | None = None, env: dict[str, str] | None = None) -> ClusterSession:
    from dask_cloudprovider.aws import EC2Cluster
    from distributed import Client

    require_credentials(profile)  # one line 'no AWS credentials found' instead of a TypeError later
    cluster = EC2Cluster(**ec2_kwargs(profile, env or {}, workers))
    session = ClusterSession(client=Client(cluster), kind="ec2", name=profile.name, cluster=cluster, profile=profile)
    session.on_close(cluster.close)
    session.apply_scaling(profile, workers)
    return session


def preview(profile, env=None) -> str:
    """The ``EC2Cluster`` keyword arguments this profile gives (secret env values masked)."""
    from .base import launch_config_text

    return launch_config_text("EC2Cluster", ec2_kwargs(profile, env or {}), env_key="env_vars")

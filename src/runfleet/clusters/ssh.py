"""``kind: ssh`` — distributed's SSHCluster: scheduler on ``hosts[0]``, one worker process
group (a Nanny) on each further host.

The worker environment is handed to each Nanny (``env=``), which sets it in the worker process.
The spec travels on the ssh command line, so other users of those hosts could see it in ``ps``:
do not forward credentials with this kind; use the hosts' own credential files or roles.
The scheduler gets ``idle_timeout`` (a driver that died leaves it idle; it exits, the workers
follow after their death timeout).
"""
from __future__ import annotations

from ..config import parse_duration_s
from .base import ClusterSession


def ssh_kwargs(profile, env: dict[str, str]) -> dict:
    """Keyword arguments for ``distributed.SSHCluster`` built from the profile."""
    o = profile.options
    worker_options = dict(o.get("worker_options") or {})
    if env:
        worker_options["env"] = {**worker_options.get("env", {}), **env}
    worker_options.setdefault("death_timeout", 60)
    scheduler_options = {"dashboard_address": ":8787", **(o.get("scheduler_options") or {})}
    scheduler_options.setdefault("idle_timeout", f"{int(parse_duration_s(o['idle_timeout']))}s")
    kw = dict(hosts=list(o["hosts"]), connect_options=dict(o.get("connect_options") or {}),
              worker_options=worker_options, scheduler_options=scheduler_options,
              worker_class="distributed.Nanny")
    if o.get("remote_python"):
        kw["remote_python"] = o["remote_python"]
    return kw


def open_ssh(profile, *, workers: int | None = None, env: dict[str, str] | None = None) -> ClusterSession:
    from distributed import Client, SSHCluster

    cluster = SSHCluster(**ssh_kwargs(profile, env or {}))
    session = ClusterSession(client=Client(cluster), kind="ssh", name=profile.name, cluster=cluster, profile=profile)
    session.on_close(cluster.close)
    return session

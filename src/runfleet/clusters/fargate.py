"""``kind: fargate`` — dask-cloudprovider's FargateCluster (ECS on Fargate).

dask-cloudprovider 2025.9 writes ``dask-scheduler`` / ``dask-worker`` into its task definitions
and task overrides; those scripts are gone from distributed 2026.x images. The cluster class here
rewrites them to ``dask scheduler`` / ``dask worker`` at the ECS API boundary (register_task_definition
and run_task), so every path that launches a container is covered.

The worker environment goes into the task definitions' ``environment`` (visible to anyone who
can describe them: prefer ``task_role_arn`` / ``task_role_policies`` for S3 over forwarding
``AWS_*`` keys). The scheduler runs with ``--idle-timeout``: a driver that died leaves it idle,
it exits, and ECS stops the task.
"""
from __future__ import annotations

from ..config import parse_duration_s
from .aws import require_credentials
from .base import ClusterSession, initial_workers

_RENAMES = {"dask-scheduler": ["dask", "scheduler"], "dask-worker": ["dask", "worker"]}


def fix_command(cmd):
    """``["dask-worker", ...]`` -> ``["dask", "worker", ...]`` (same for the scheduler)."""
    if isinstance(cmd, list) and cmd and cmd[0] in _RENAMES:
        return _RENAMES[cmd[0]] + list(cmd[1:])
    return cmd


class _EcsCommandFixer:
    """Wraps an aiobotocore ECS client; rewrites container commands on the two calls that carry them."""

    def __init__(self, client):
        self._c = client

    def __getattr__(self, name):
        return getattr(self._c, name)

    async def register_task_definition(self, **kw):
        for c in kw.get("containerDefinitions", []):
            if "command" in c:
                c["command"] = fix_command(c["command"])
        return await self._c.register_task_definition(**kw)

    async def run_task(self, **kw):
        for c in kw.get("overrides", {}).get("containerOverrides", []):
            if "command" in c:
                c["command"] = fix_command(c["command"])
        return await self._c.run_task(**kw)


class _FixingContext:
    def __init__(self, cm):
        self._cm = cm

    async def __aenter__(self):
        return _EcsCommandFixer(await self._cm.__aenter__())

    async def __aexit__(self, *exc):
        return await self._cm.__aexit__(*exc)


_cls = None


def fargate_class():
    """FargateCluster with the command fix (built on first use: the import is slow)."""
    global _cls
    if _cls is None:
        from dask_cloudprovider.aws import FargateCluster

        class RunfleetFargateCluster(FargateCluster):
            def _client(self, name: str):
                cm = super()._client(name)
                return _FixingContext(cm) if name == "ecs" else cm

        _cls = RunfleetFargateCluster
    return _cls


def fargate_kwargs(profile, env: dict[str, str], workers: int | None = None) -> dict:
    o = profile.options
    kw = {k: o[k] for k in ("image", "scheduler_cpu", "scheduler_mem", "worker_cpu", "worker_mem",
                            "worker_nthreads", "vpc", "subnets", "security_groups", "task_role_arn",
                            "execution_role_arn", "task_role_policies", "fargate_spot")
          if o.get(k) not in (None, [], {})}
    if o.get("region"):
        kw["region_name"] = o["region"]
    kw.update(environment=dict(env), n_workers=initial_workers(profile, workers),
              scheduler_timeout=f"{int(parse_duration_s(o['idle_timeout']))}s")
    kw.update(o.get("extra") or {})
    return kw


def open_fargate(profile, *, workers: int | None = None, env: dict[str, str] | None = None) -> ClusterSession:
    from distributed import Client

    require_credentials(profile)  # one line 'no AWS credentials found' instead of a TypeError later
    cluster = fargate_class()(**fargate_kwargs(profile, env or {}, workers))
    session = ClusterSession(client=Client(cluster), kind="fargate", name=profile.name, cluster=cluster,
                             profile=profile)
    session.on_close(cluster.close)
    session.apply_scaling(profile, workers)
    return session


def preview(profile, env=None) -> str:
    """The ``FargateCluster`` keyword arguments this profile gives (secret env values masked)."""
    from .base import launch_config_text

    return launch_config_text("FargateCluster", fargate_kwargs(profile, env or {}), env_key="environment")

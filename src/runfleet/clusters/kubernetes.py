"""``kind: kubernetes`` — dask-kubernetes' operator ``KubeCluster`` from a generated spec.

``make_cluster_spec`` still writes ``dask-scheduler`` and ``dask-worker`` (gone from
distributed 2026.x images); :func:`cluster_spec` rewrites both to ``dask scheduler`` /
``dask worker`` and adds the worker env, resources, extra worker args and ``idleTimeout``
(the operator deletes an idle cluster, e.g. after its driver died). The env ends up in the
DaskCluster resource: for credentials prefer a service account / IRSA or a Secret mounted by
your cluster admin over forwarding keys.
"""
from __future__ import annotations

import re
import uuid

from ..config import parse_duration_s
from .base import ClusterSession, initial_workers


def k8s_name(profile_name: str) -> str:
    base = re.sub(r"[^a-z0-9-]+", "-", profile_name.lower()).strip("-")[:40] or "cluster"
    return f"rf-{base}-{uuid.uuid4().hex[:6]}"


def cluster_spec(profile, env: dict[str, str], workers: int | None = None, name: str | None = None) -> dict:
    from dask_kubernetes.operator import make_cluster_spec

    o = profile.options
    spec = make_cluster_spec(
        name=name or k8s_name(profile.name),
        image=o["image"],
        n_workers=initial_workers(profile, workers),
        resources=o.get("resources") or None,
        env=dict(env),
        worker_command=["dask", "worker", *list(o.get("worker_args") or [])],
        scheduler_service_type=o.get("scheduler_service_type") or "ClusterIP",
        idle_timeout=int(parse_duration_s(o["idle_timeout"])),
    )
    for role in ("scheduler", "worker"):
        for c in spec["spec"][role]["spec"]["containers"]:
            args = c.get("args") or []
            if args and args[0] in ("dask-scheduler", "dask-worker"):
                c["args"] = ["dask", args[0].split("-", 1)[1], *args[1:]]
    return spec


def open_kubernetes(profile, *, workers: int | None = None, env: dict[str, str] | None = None) -> ClusterSession:
    from dask_kubernetes.operator import KubeCluster
    from distributed import Client

    spec = cluster_spec(profile, env or {}, workers)
    kw = {"custom_cluster_spec": spec, "shutdown_on_close": True}
    if profile.options.get("namespace"):
        kw["namespace"] = profile.options["namespace"]
    cluster = KubeCluster(**kw)
    session = ClusterSession(client=Client(cluster), kind="kubernetes", name=profile.name, cluster=cluster,
                             profile=profile)
    session.on_close(cluster.close)
    session.apply_scaling(profile, workers)
    return session


def preview(profile, env=None) -> str:
    """The DaskCluster resource this profile gives (secret env values masked)."""
    from ..config import looks_secret
    from .base import launch_config_text

    spec = cluster_spec(profile, env or {}, name=k8s_name(profile.name))
    for role in ("scheduler", "worker"):
        for c in spec["spec"][role]["spec"]["containers"]:
            for item in c.get("env") or []:
                if looks_secret(str(item.get("name", ""))):
                    item["value"] = "***"
    return launch_config_text("DaskCluster", spec)

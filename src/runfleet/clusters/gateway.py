"""``kind: gateway`` — Dask Gateway (JupyterHub, Nebari, Purdue AF, ...).

Creates a new gateway cluster with the profile's ``cluster_options`` (the options the server
declares: worker_cores, conda_environment, profile, ...) or, with ``cluster_name``, connects to
one that is already running (``auto``: the only running one).

Worker environment goes through the server's own env option (``environment_vars`` on Nebari,
``env`` on Purdue; ``env_option`` names it when it is called something else). A server that
declares none, and an existing cluster (its options are fixed), get a worker plugin instead.

A cluster runfleet created gets a scheduler ``idle_timeout``: when the driver dies its futures
are released, the scheduler goes idle and closes, and the gateway stops the workers. Closing the
session shuts such a cluster down; a connected one is left running.
"""
from __future__ import annotations

import logging

from ..config import ConfigError, parse_duration_s
from .base import ClusterSession
from .remote import EnvPlugin, set_idle_timeout, ship_by_value

log = logging.getLogger(__name__)
ENV_OPTION_NAMES = ("environment_vars", "env", "environment")


def make_gateway(profile):
    from dask_gateway import Gateway
    from dask_gateway.auth import BasicAuth, get_auth

    o = profile.options
    auth = o.get("auth")
    if auth == "basic":
        auth = BasicAuth(username=o.get("username")) if o.get("username") else get_auth("basic")
    elif auth is not None:
        auth = get_auth(auth)
    return Gateway(address=o.get("address"), proxy_address=o.get("proxy_address"),
                   public_address=o.get("public_address"), auth=auth)


def build_options(gateway, profile, env: dict[str, str]):
    """The server's cluster options filled from the profile; returns (options, env_applied)."""
    o = profile.options
    opts = gateway.cluster_options()
    known = list(opts)
    for key, value in (o.get("cluster_options") or {}).items():
        if key not in known:
            raise ConfigError(f"{profile.where('cluster_options.' + key)}: this gateway declares no such option; "
                              f"it has: {', '.join(known) or 'none'}")
        try:
            opts[key] = value
        except Exception as e:  # noqa: BLE001 - the server's validation message names what it wants
            raise ConfigError(f"{profile.where('cluster_options.' + key)}: rejected by the gateway "
                              f"({type(e).__name__}: {str(e)[:200]})") from None
    env_key = o.get("env_option") or next((k for k in ENV_OPTION_NAMES if k in known), None)
    if o.get("env_option") and env_key not in known:
        raise ConfigError(f"{profile.where('env_option')}: this gateway declares no option {env_key!r}; "
                          f"it has: {', '.join(known) or 'none'}")
    if env and env_key:
        current = dict(opts[env_key] or {})
        current.update(env)
        opts[env_key] = current
        return opts, True
    return opts, not env


def open_gateway(profile, *, workers: int | None = None, env: dict[str, str] | None = None) -> ClusterSession:
    o = profile.options
    env = dict(env or {})
    gateway = make_gateway(profile)
    name = o.get("cluster_name")
    created = name is None
    if created:
        opts, env_applied = build_options(gateway, profile, env)
        shutdown = True if o.get("shutdown_on_close") is None else o["shutdown_on_close"]
        cluster = gateway.new_cluster(opts, shutdown_on_close=shutdown)
    else:
        if name == "auto":
            running = gateway.list_clusters()
            if len(running) != 1:
                gateway.close()
                raise ConfigError(f"{profile.where('cluster_name')}: 'auto' needs exactly one running gateway "
                                  f"cluster, found {len(running)}: {', '.join(c.name for c in running) or 'none'}")
            name = running[0].name
        shutdown = bool(o.get("shutdown_on_close"))
        cluster = gateway.connect(name, shutdown_on_close=shutdown)
        env_applied = not env
    client = cluster.get_client(set_as_default=False)
    session = ClusterSession(client=client, kind="gateway", name=profile.name, cluster=cluster, profile=profile)

    def _finish():
        if shutdown:
            cluster.shutdown()
        else:
            cluster.close()
        gateway.close()

    session.on_close(_finish)
    try:
        ship_by_value()
        if not env_applied:
            client.register_plugin(EnvPlugin(env), name="runfleet-env")
        if created and o.get("idle_timeout"):
            client.run_on_scheduler(set_idle_timeout, seconds=parse_duration_s(o["idle_timeout"]))
        if workers is not None:
            if profile.adapt is not None:
                session.adapt(min(profile.adapt.minimum, workers), workers)
            else:
                session.scale(workers)
        elif profile.adapt is not None:
            session.adapt(profile.adapt.minimum, profile.adapt.maximum)
        elif created:
            session.scale(o.get("workers") or 1)
    except BaseException:
        session.close()
        raise
    return session

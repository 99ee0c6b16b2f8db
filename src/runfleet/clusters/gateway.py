"""``kind: gateway`` — Dask Gateway (JupyterHub, Nebari, Purdue AF, ...).

Creates a new gateway cluster with the profile's ``cluster_options`` (the options the server
declares: worker_cores, conda_environment, profile, ...) or, with ``cluster_name``, connects to
one that is already running (``auto``: the only running one).

Worker environment goes through the server's own env option (``environment_vars`` on Nebari,
``env`` on Purdue; ``env_option`` names it when it is called something else). A server that
declares none, and an existing cluster (its options are fixed), carry it with the study's tasks
instead (:mod:`.secrets`: nothing registered on the scheduler, values gone with the study).

Every failure to obtain the cluster is one :class:`~runfleet.errors.ClusterUnavailable` line
(gateway not reachable, cluster name not found with the running ones listed, options rejected).

A cluster runfleet created gets a scheduler ``idle_timeout``: when the driver dies its futures
are released, the scheduler goes idle and closes, and the gateway stops the workers. Closing the
session shuts such a cluster down; a connected one is left running.
"""
from __future__ import annotations

import logging

from ..config import ConfigError, parse_duration_s
from ..errors import ClusterUnavailable
from .base import ClusterSession
from .remote import set_idle_timeout, ship_by_value
from .secrets import SecretEnv

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


def _cause(e: BaseException) -> str:
    text = str(e).strip().splitlines()
    return f"{type(e).__name__}: {text[0][:200]}" if text else type(e).__name__


def _running_names(gateway) -> str:
    try:
        return ", ".join(sorted(c.name for c in gateway.list_clusters())) or "none"
    except Exception:  # noqa: BLE001 - best effort, for the message only
        return "unknown"


def close_quietly(gateway) -> None:
    """Close a ``dask_gateway.Gateway`` so that nothing is printed when it is garbage collected.

    dask-gateway 2026.3's ``Gateway.__del__`` calls ``close()`` again, which raises on the loop it
    already stopped ("Exception ignored in Gateway.__del__" at every exit). After closing, the
    object becomes a :class:`_ClosedGateway`, whose finalisation does nothing.
    """
    try:
        gateway.close()
    except Exception:  # noqa: BLE001
        pass
    gateway.__class__ = _ClosedGateway


class _ClosedGateway:
    """What a closed ``Gateway`` becomes: no ``__del__``, so no 'Exception ignored' at exit."""

    asynchronous = False

    def close(self):
        pass


def _connect(gateway, profile, name: str, shutdown: bool):
    where = profile.where("cluster_name")
    if name == "auto":
        running = gateway.list_clusters()
        if len(running) != 1:
            raise ClusterUnavailable(f"{where}: 'auto' needs exactly one running gateway cluster, found "
                                     f"{len(running)}: {', '.join(sorted(c.name for c in running)) or 'none'}")
        name = running[0].name
    try:
        return gateway.connect(name, shutdown_on_close=shutdown)
    except ValueError:
        raise ClusterUnavailable(f"{where}: gateway cluster {name!r} not found; running clusters: "
                                 f"{_running_names(gateway)}") from None


def open_gateway(profile, *, workers: int | None = None, env: dict[str, str] | None = None) -> ClusterSession:
    """Create or connect a Dask Gateway cluster for ``profile``.

    Raises
    ------
    ClusterUnavailable
        The gateway is not reachable, the named cluster does not exist, or the cluster could not
        be created; one line naming the profile and field.
    ConfigError
        A ``cluster_options`` entry the gateway does not declare or rejects.
    """
    o = profile.options
    env = dict(env or {})
    try:
        gateway = make_gateway(profile)
    except (ValueError, OSError) as e:
        raise ClusterUnavailable(f"{profile.where('address')}: cannot set up the gateway client "
                                 f"({_cause(e)})") from None
    name = o.get("cluster_name")
    created = name is None
    try:
        if created:
            opts, env_applied = build_options(gateway, profile, env)
            shutdown = True if o.get("shutdown_on_close") is None else o["shutdown_on_close"]
            cluster = gateway.new_cluster(opts, shutdown_on_close=shutdown)
        else:
            shutdown = bool(o.get("shutdown_on_close"))
            cluster = _connect(gateway, profile, name, shutdown)
            env_applied = not env
    except (ClusterUnavailable, ConfigError):
        close_quietly(gateway)
        raise
    except Exception as e:  # noqa: BLE001 - aiohttp/OS errors: the gateway is not there
        close_quietly(gateway)
        field = "cluster_options" if created else "cluster_name"
        what = "not reachable" if isinstance(e, OSError) else "refused the request"
        raise ClusterUnavailable(f"{profile.where(field)}: gateway {gateway.address} {what} "
                                 f"({_cause(e)})") from None
    client = cluster.get_client(set_as_default=False)
    session = ClusterSession(client=client, kind="gateway", name=profile.name, cluster=cluster, profile=profile)

    def _finish():
        try:
            if shutdown:
                cluster.shutdown()
            else:
                cluster.close()
        finally:
            close_quietly(gateway)
            inner = getattr(cluster, "gateway", None)  # GatewayCluster keeps a Gateway of its own
            if inner is not None and inner is not gateway:
                close_quietly(inner)

    session.on_close(_finish)
    try:
        ship_by_value()
        if not env_applied:
            session.secret_env = SecretEnv(client, env)
        if created and o.get("idle_timeout"):
            client.run_on_scheduler(set_idle_timeout, seconds=parse_duration_s(o["idle_timeout"]))
        session.apply_scaling(profile, workers, fixed_default=(o.get("workers") or 1) if created else None)
    except BaseException:
        session.close()
        raise
    return session


def preview(profile, env=None) -> str:
    """What runfleet would ask the gateway for (nothing is contacted; secret env values masked).

    Options the profile leaves out come from dask-gateway's own configuration (``gateway.*``).
    """
    from .base import launch_config_text

    o = profile.options
    doc = {k: o.get(k) for k in ("address", "proxy_address", "public_address", "auth", "username")
           if o.get(k) is not None}
    if o.get("cluster_name"):
        doc["connect_to"] = o["cluster_name"]
    else:
        doc["cluster_options"] = dict(o.get("cluster_options") or {})
        doc["idle_timeout_s"] = parse_duration_s(o["idle_timeout"])
    doc["env"] = dict(env or {})
    doc["env_route"] = (f"cluster option {o['env_option']}" if o.get("env_option") else
                        f"first declared of {', '.join(ENV_OPTION_NAMES)}, else with the study's tasks")
    return launch_config_text("Dask Gateway", doc, env_key="env")

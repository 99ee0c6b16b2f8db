"""Cluster backends behind one interface, and the registry that picks one by profile.

``open_cluster(None)`` starts the embedded LocalCluster. ``open_cluster("name")`` looks the
profile up in the config file (:mod:`runfleet.config`) and starts or connects the backend of its
``kind`` (:mod:`.registry`). Every backend returns a :class:`ClusterSession`; every failure to
obtain a cluster is a one-line :class:`~runfleet.errors.ClusterUnavailable` (exit 3).

:func:`resolve_cluster` is the one way a user names a cluster (``--cluster`` in every CLI).
"""
from __future__ import annotations

import logging
import os

from distributed import Client

from ..config import BUILTIN, ConfigError, Profile, get_profile, validate_profile
from ..errors import ClusterUnavailable, RunfleetError
from .base import ClusterSession
from .local import start_local
from .registry import BACKENDS, KINDS, backend_for, register

log = logging.getLogger(__name__)

def resolve_cluster(spec: str | None, config_path=None):
    """Turn a user's cluster name into what ``run_study(cluster=...)`` and :func:`open_cluster` take.

    Parameters
    ----------
    spec : str or None
        ``None`` or ``"local"`` (embedded LocalCluster), ``"serial"`` (runs in the driver
        process), ``"tcp://host:port"`` (or another Dask protocol: a running scheduler),
        ``"scheduler-file:PATH"``, or a profile name from the config file.
    config_path : path, optional
        Profiles file (default: the one :func:`runfleet.config.find_config_path` finds).

    Returns
    -------
    None, str or Profile
        ``None`` for the embedded cluster, ``"serial"``, or a validated :class:`Profile`
        (an ``address`` profile for scheduler addresses and files).

    Raises
    ------
    ConfigError
        Unknown profile name or a malformed address (exit 2).
    """
    if spec is None:
        return None
    if spec == "local":  # the embedded cluster, unless the profiles file redefines `local`
        prof = get_profile("local", config_path)
        return None if prof.source == BUILTIN else prof
    if not isinstance(spec, str) or not spec.strip():
        raise ConfigError("--cluster: expected a profile name, tcp://host:port, scheduler-file:PATH, local or serial")
    spec = spec.strip()
    if spec == "serial":
        return "serial"
    if spec.startswith("scheduler-file:"):
        path = spec.split(":", 1)[1]
        if not path:
            raise ConfigError("--cluster: scheduler-file: expected a path after the colon")
        return validate_profile("scheduler-file", {"kind": "address", "scheduler_file": os.path.abspath(
            os.path.expanduser(path))}, source="--cluster")
    if "://" in spec:
        return validate_profile("address", {"kind": "address", "address": spec}, source="--cluster")
    return get_profile(spec, config_path)


def _first_line(e: BaseException) -> str:
    lines = str(e).strip().splitlines()
    return f"{type(e).__name__}: {lines[0][:200]}" if lines else type(e).__name__


def worker_environment(prof: Profile, env: dict[str, str] | None = None) -> dict[str, str]:
    """The full worker environment of a profile: forwarded, set, the engine's ``env``, and the
    resolved ``aws_profile`` credentials (values; callers never print them)."""
    _, missing = prof.env.forwarded()
    if missing:  # names only, never values
        log.warning("cluster profile %r: forwarded variables not set on the driver: %s",
                    prof.name, ", ".join(missing))
    worker_env = prof.env.resolve(extra=env)
    if prof.aws_profile:
        from .aws import resolve_profile

        worker_env.update(resolve_profile(prof.aws_profile, prof.where("aws_profile"), ConfigError).env())
    return worker_env


def open_cluster(profile: str | Profile | Client | None = None, *, workers: int | None = None,
                 env: dict[str, str] | None = None, config_path=None) -> ClusterSession:
    """Start or connect the cluster a study runs on.

    Parameters
    ----------
    profile : None, str, Profile or distributed.Client
        ``None`` for the embedded local cluster, anything :func:`resolve_cluster` takes, a
        :class:`runfleet.config.Profile`, or an existing ``distributed.Client`` (used as is,
        never closed by runfleet).
    workers : int, optional
        Worker count override. Adaptive profiles use it as the adapt maximum; fixed-size ones
        start exactly that many.
    env : dict, optional
        Extra environment for the workers (e.g. PYTHONPATH so study modules import); merged over
        the profile's ``env:`` (PYTHONPATH entries are joined).

    Returns
    -------
    ClusterSession

    Raises
    ------
    ConfigError
        Unknown or invalid profile (exit 2).
    ClusterUnavailable
        The cluster could not be obtained: one line naming the profile, the field when there is
        one, and the cause (exit 3). Also for a backend library that is not installed.
    """
    if isinstance(profile, Client):
        return ClusterSession(client=profile, kind="client", name="client", owns_client=False)
    if isinstance(profile, str):
        profile = resolve_cluster(profile, config_path)
    if profile is None:
        return start_local(workers=workers, env=env)
    if profile == "serial":
        raise ConfigError("--cluster serial runs in the driver process: it has no Dask cluster to open")
    prof = profile
    worker_env = worker_environment(prof, env)
    try:
        opener = backend_for(prof.kind)
    except ImportError as e:
        raise ClusterUnavailable(f"{prof.where('kind')}: kind {prof.kind} needs {KINDS[prof.kind].install}: "
                                 f"pip install '{KINDS[prof.kind].install}' ({_first_line(e)})") from None
    try:
        return opener(prof, workers=workers, env=worker_env)
    except RunfleetError:
        raise
    except ImportError as e:
        raise ClusterUnavailable(f"{prof.where('kind')}: kind {prof.kind} needs {KINDS[prof.kind].install} "
                                 f"({_first_line(e)})") from None
    except Exception as e:  # noqa: BLE001 - one line with the cause, never a traceback
        raise ClusterUnavailable(f"{prof.where('kind')}: cannot start a {prof.kind} cluster "
                                 f"({_first_line(e)})") from None


__all__ = ["BACKENDS", "ClusterSession", "ClusterUnavailable", "ConfigError",
           "KINDS", "backend_for", "open_cluster", "register", "resolve_cluster", "start_local",
           "worker_environment"]

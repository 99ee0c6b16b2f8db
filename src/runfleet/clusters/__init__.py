"""Cluster backends behind one interface, and the registry that picks one by profile.

``open_cluster(None)`` starts the embedded LocalCluster. ``open_cluster("name")`` looks the
profile up in the config file (:mod:`runfleet.config`) and starts or connects the backend of its
``kind`` (:mod:`.registry`). Every backend returns a :class:`ClusterSession`.
"""
from __future__ import annotations

import logging

from distributed import Client

from ..config import ConfigError, Profile, get_profile
from .base import ClusterSession
from .local import start_local
from .registry import BACKENDS, EXTRAS, backend_for, register

log = logging.getLogger(__name__)


def open_cluster(profile: str | Profile | Client | None = None, *, workers: int | None = None,
                 env: dict[str, str] | None = None, config_path=None) -> ClusterSession:
    """Start or connect the cluster a study runs on.

    profile: ``None`` for the embedded local cluster, a profile name from the config file (or a
        :class:`runfleet.config.Profile`), or an existing ``distributed.Client`` (used as is, never
        closed by runfleet).
    workers: worker count override. Adaptive profiles use it as the adapt maximum; fixed-size ones
        start exactly that many.
    env: extra environment for the workers (e.g. PYTHONPATH so study modules import); merged over
        the profile's ``env:`` (PYTHONPATH entries are joined).

    Raises :class:`runfleet.config.ConfigError` for an unknown or invalid profile, and an
    ``ImportError`` naming the pip package when the backend's library is missing.
    """
    if isinstance(profile, Client):
        return ClusterSession(client=profile, kind="client", name="client", owns_client=False)
    if profile is None:
        return start_local(workers=workers, env=env)
    prof = profile if isinstance(profile, Profile) else get_profile(profile, config_path)
    _, missing = prof.env.forwarded()
    if missing:  # names only, never values
        log.warning("cluster profile %r: forwarded variables not set on the driver: %s",
                    prof.name, ", ".join(missing))
    worker_env = prof.env.resolve(extra=env)
    try:
        opener = backend_for(prof.kind)
    except ImportError as e:
        raise ImportError(f"cluster profile {prof.name!r} (kind {prof.kind}) needs {EXTRAS.get(prof.kind, '?')}: "
                          f"pip install 'runfleet[clusters]' ({e})") from None
    return opener(prof, workers=workers, env=worker_env)


__all__ = ["BACKENDS", "ClusterSession", "ConfigError", "backend_for", "open_cluster",
           "register", "start_local"]

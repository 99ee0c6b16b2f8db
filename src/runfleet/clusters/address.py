"""``kind: address`` — connect to a scheduler somebody already started.

``address: tcp://host:8786`` or ``scheduler_file: /shared/scheduler.json``. runfleet never scales
or closes such a cluster; closing the session only closes the client. The profile's ``env``
travels with the study's tasks (:mod:`.secrets`): nothing is registered on the shared scheduler,
workers' environments hold the values only while one of the study's runs executes, and
everything goes with the study's client.
"""
from __future__ import annotations

import json
import os

import dask.config
from dask.utils import parse_timedelta
from distributed import Client

from ..errors import ClusterUnavailable
from .base import ClusterSession
from .secrets import SecretEnv


def scheduler_address(profile) -> str:
    """The scheduler address of an ``address`` profile (read from ``scheduler_file`` if given).

    Raises
    ------
    ClusterUnavailable
        When the scheduler file is missing or holds no address.
    """
    o = profile.options
    if not o.get("scheduler_file"):
        return o["address"]
    path = os.path.expanduser(o["scheduler_file"])
    where = profile.where("scheduler_file")
    try:
        with open(path) as f:
            doc = json.load(f)
    except FileNotFoundError:
        raise ClusterUnavailable(f"{where}: scheduler file {path} does not exist "
                                 "(is the scheduler running with --scheduler-file?)") from None
    except (OSError, ValueError) as e:
        raise ClusterUnavailable(f"{where}: scheduler file {path} cannot be read ({type(e).__name__})") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("address"), str):
        raise ClusterUnavailable(f"{where}: scheduler file {path} holds no 'address'")
    return doc["address"]


def connect(address: str, timeout: float, where: str) -> Client:
    """A client of the scheduler at ``address``; one-line :class:`ClusterUnavailable` when it is not there."""
    try:
        return Client(address, timeout=timeout, set_as_default=False)
    except (OSError, TimeoutError) as e:
        raise ClusterUnavailable(f"{where}: scheduler {address} not reachable within {timeout:g} s "
                                 f"({type(e).__name__})") from None


def open_address(profile, *, workers: int | None = None, env: dict[str, str] | None = None) -> ClusterSession:
    o = profile.options
    timeout = float(o.get("timeout") or parse_timedelta(dask.config.get("distributed.comm.timeouts.connect")))
    address = scheduler_address(profile)
    field = "scheduler_file" if o.get("scheduler_file") else "address"
    client = connect(address, timeout, profile.where(field))
    session = ClusterSession(client=client, kind="address", name=profile.name, cluster=None, profile=profile)
    if env:
        session.secret_env = SecretEnv(client, env)
    if workers:
        try:
            client.wait_for_workers(min(workers, 1), timeout=timeout)
        except (OSError, TimeoutError):
            session.close()
            raise ClusterUnavailable(f"{profile.where(field)}: scheduler {address} has no worker "
                                     f"(none joined within {timeout:g} s)") from None
    return session

"""``kind: address`` — connect to a scheduler somebody already started.

``address: tcp://host:8786`` or ``scheduler_file: /shared/scheduler.json``. runfleet never scales
or closes such a cluster; closing the session only closes the client. The profile's ``env`` is
applied with a worker plugin (os.environ + sys.path in each worker process), the only mechanism
an existing cluster offers; it also reaches workers that join later.
"""
from __future__ import annotations

import os

from distributed import Client

from .base import ClusterSession
from .remote import EnvPlugin, ship_by_value


def open_address(profile, *, workers: int | None = None, env: dict[str, str] | None = None) -> ClusterSession:
    o = profile.options
    timeout = o.get("timeout") or 30
    if o.get("scheduler_file"):
        path = os.path.expanduser(o["scheduler_file"])
        client = Client(scheduler_file=path, timeout=timeout)
    else:
        client = Client(o["address"], timeout=timeout)
    session = ClusterSession(client=client, kind="address", name=profile.name, cluster=None, profile=profile)
    if env:
        ship_by_value()
        client.register_plugin(EnvPlugin(env), name="runfleet-env")
    if workers:
        client.wait_for_workers(min(workers, 1), timeout=timeout)
    return session

"""The one interface every cluster backend implements.

A backend turns a validated profile into a running (or connected) Dask cluster and hands back a
:class:`ClusterSession`: the ``distributed.Client`` the engine submits to, plus what a user needs
to see (dashboard link, kind) and the knobs the engine may turn (scale, adapt). Closing the
session releases everything the backend started, and nothing it merely connected to.

Batch backends (slurm, pbs, sge, lsf) also know each worker's walltime: see
:meth:`ClusterSession.walltime_remaining_s`, :meth:`ClusterSession.workers_for` and
:meth:`ClusterSession.can_start`.
"""
from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Callable

from distributed import Client


def initial_workers(profile, workers: int | None) -> int:
    """Workers to start with, for backends that take a count at creation (cloud, Kubernetes):
    the adapt minimum (capped at ``workers``) for elastic profiles, else ``workers`` or the
    profile's ``workers`` option."""
    if workers is not None:
        return min(workers, profile.adapt.minimum) if profile.adapt else workers
    return profile.adapt.minimum if profile.adapt else (profile.options.get("workers") or 1)


def launch_config_text(what: str, config: dict, env_key: str | None = None) -> str:
    """YAML of a cloud launch configuration for ``--job-script``; env values whose names look
    secret are shown as ``***``."""
    import copy

    import yaml

    from ..config import looks_secret

    doc = copy.deepcopy(config)
    if env_key and isinstance(doc.get(env_key), dict):
        doc[env_key] = {k: ("***" if looks_secret(k) else v) for k, v in doc[env_key].items()}
    return f"# {what} launch configuration (nothing is started)\n" + yaml.safe_dump(doc, sort_keys=False, default_flow_style=False)


@dataclass
class ClusterSession:
    """A live connection to a cluster.

    client: the Dask client runs are submitted through.
    kind: backend kind (``local``, ``address``, ``slurm``, ...).
    name: profile name (``local`` for the embedded default).
    cluster: the deploy object when the backend started one (LocalCluster, SLURMCluster, ...),
        ``None`` when it only connected to an existing scheduler.
    profile: the :class:`runfleet.config.Profile` it was opened from (``None`` for a bare client).
    walltime_s: batch job walltime in seconds (``None``: workers live as long as they like).
    retire_margin_s: workers retire this long before their walltime ends.
    secret_env: a :class:`runfleet.clusters.secrets.SecretEnv` when the worker environment travels
        with the study's tasks (clusters runfleet did not start); ``None`` when the backend gave
        it to the workers at launch. The engine passes :meth:`task_env` to every task.
    """

    client: Client
    kind: str
    name: str
    cluster: Any = None
    owns_client: bool = True
    profile: Any = None
    walltime_s: float | None = None
    retire_margin_s: float = 0.0
    adapt_range: tuple[int, int] | None = None
    secret_env: Any = None
    scale_jobs: bool = False
    _closers: list[Callable[[], None]] = field(default_factory=list, repr=False)
    _deadlines: dict[str, float | None] = field(default_factory=dict, repr=False)

    def task_env(self):
        """What the engine passes to each task as ``secret_env=`` (``None``: nothing to apply).

        The executor applies it around the task's runs with
        :func:`runfleet.clusters.secrets.applied`.
        """
        if self.secret_env is None:
            return None
        if not self.secret_env.scattered and not self.client.scheduler_info(n_workers=-1).get("workers"):
            self.ensure_workers(1)  # the ciphertext needs a worker to live on (adapt from 0: raise the floor)
        return self.secret_env.task_arg()

    @property
    def dashboard_link(self) -> str | None:
        try:
            return self.client.dashboard_link
        except Exception:  # noqa: BLE001 - some backends have no dashboard
            return None

    def scale(self, n: int) -> None:
        if self.cluster is None:
            raise RuntimeError(f"cluster profile {self.name!r} ({self.kind}) cannot be scaled from here")
        if self.scale_jobs:  # dask-jobqueue: n batch jobs (each runs `processes` workers)
            self.cluster.scale(jobs=n)
        else:
            self.cluster.scale(n)
        self.adapt_range = None

    def adapt(self, minimum: int, maximum: int) -> None:
        """Let the cluster keep between ``minimum`` and ``maximum`` workers (jobs), with the
        profile's adaptive knobs (``adapt: {interval, wait_count, target_duration}``; unset ones
        come from Dask's ``distributed.adaptive`` configuration)."""
        if self.cluster is None:
            raise RuntimeError(f"cluster profile {self.name!r} ({self.kind}) cannot adapt from here")
        self.cluster.adapt(minimum=minimum, maximum=maximum, **self._adapt_knobs())
        self.adapt_range = (minimum, maximum)

    def _adapt_knobs(self) -> dict:
        adapt = getattr(self.profile, "adapt", None)
        return adapt.knobs() if adapt is not None else {}

    def apply_scaling(self, profile, workers: int | None, fixed_default: int | None = None) -> None:
        """The one sizing rule of every backend that starts workers.

        Parameters
        ----------
        profile : runfleet.config.Profile
            Its ``adapt`` range (``None``: fixed size).
        workers : int or None
            The caller's worker count (``--workers``): the adapt maximum of an elastic profile
            (the minimum is capped at it), the exact size of a fixed one.
        fixed_default : int or None
            Size of a fixed profile when ``workers`` is not given (``None``: leave it as started).
        """
        if workers is not None:
            if profile.adapt is not None:
                self.adapt(min(profile.adapt.minimum, workers), workers)
            else:
                self.scale(workers)
        elif profile.adapt is not None:
            self.adapt(profile.adapt.minimum, profile.adapt.maximum)
        elif fixed_default is not None:
            self.scale(fixed_default)

    def ensure_workers(self, n: int = 1, timeout: float = 120) -> None:
        """Make sure at least ``n`` workers are connected (scaling up a cluster at zero when the
        backend can), waiting up to ``timeout`` seconds. Used by preflight."""
        have = len(self.client.scheduler_info(n_workers=-1).get("workers", {}))
        if have < n and self.cluster is not None:
            if self.adapt_range is not None:  # raise adapt's floor until the workers arrived
                lo, hi = self.adapt_range
                self.cluster.adapt(minimum=max(lo, n), maximum=max(hi, n), **self._adapt_knobs())
                try:
                    self.client.wait_for_workers(n, timeout=timeout)
                finally:
                    self.cluster.adapt(minimum=lo, maximum=hi, **self._adapt_knobs())
                return
            self.cluster.scale(n)
        if have < n and self.cluster is None:
            # a scheduler somebody else scales (adaptive address or gateway cluster at zero): a
            # queued task is what makes its autoscaler add workers
            wake = [self.client.submit(len, (), pure=False, key=f"runfleet-wake-{uuid.uuid4().hex[:8]}")
                    for _ in range(n - have)]
            try:
                self.client.wait_for_workers(n, timeout=timeout)
            finally:
                for f in wake:
                    f.release()
            return
        self.client.wait_for_workers(n, timeout=timeout)

    # ------------------------------------------------------------------ walltime
    def _refresh_deadlines(self, addresses: list[str]) -> None:
        from .remote import ship_by_value, worker_deadline

        ship_by_value()
        unknown = [a for a in addresses if a not in self._deadlines]
        if unknown:
            got = self.client.run(worker_deadline, workers=unknown, on_error="return")
            for addr, v in got.items():
                self._deadlines[addr] = v if isinstance(v, (int, float)) else None

    def walltime_remaining_s(self, worker_address: str) -> float | None:
        """Seconds until ``worker_address``'s batch job hits its walltime (``None``: no limit)."""
        if self.walltime_s is None:
            return None
        self._refresh_deadlines([worker_address])
        deadline = self._deadlines.get(worker_address)
        return None if deadline is None else deadline - time.time()

    def workers_for(self, expected_duration_s: float | None) -> list[str] | None:
        """Workers that can still finish a run of ``expected_duration_s`` before they retire.

        ``None`` = no restriction (not a batch backend, or no estimate): submit normally.
        A list (maybe empty) = pass it as ``client.submit(..., workers=that, allow_other_workers=False)``;
        when empty, hold the run until :meth:`can_start` says yes (adapt brings fresh jobs).
        """
        if self.walltime_s is None or expected_duration_s is None:
            return None
        workers = list(self.client.scheduler_info(n_workers=-1).get("workers", {}))
        self._refresh_deadlines(workers)
        now = time.time()
        out = []
        for w in workers:
            deadline = self._deadlines.get(w)
            if deadline is None or deadline - self.retire_margin_s - now >= expected_duration_s:
                out.append(w)
        for gone in set(self._deadlines) - set(workers):
            self._deadlines.pop(gone, None)
        return out

    def can_start(self, expected_duration_s: float | None) -> bool:
        """True when some connected worker can finish a run of ``expected_duration_s`` before
        it retires (always True off batch backends or without an estimate)."""
        workers = self.workers_for(expected_duration_s)
        return workers is None or bool(workers)

    def fits_walltime(self, expected_duration_s: float | None) -> bool:
        """False only when a run is longer than a whole job's usable walltime, so no fresh
        worker could ever take it (run it anyway with a warning, or raise the walltime)."""
        if self.walltime_s is None or expected_duration_s is None:
            return True
        return expected_duration_s <= self.walltime_s - self.retire_margin_s

    # ------------------------------------------------------------------ closing
    def on_close(self, fn: Callable[[], None]) -> None:
        """Register a callable run at :meth:`close`, after the client is closed (LIFO)."""
        self._closers.append(fn)

    def close(self) -> None:
        if self.secret_env is not None:
            self.secret_env.release()
        if self.owns_client:
            try:
                self.client.close()
            except Exception:  # noqa: BLE001 - closing must not mask the study's own outcome
                pass
        while self._closers:
            fn = self._closers.pop()
            try:
                fn()
            except Exception:  # noqa: BLE001
                pass

    def __enter__(self) -> "ClusterSession":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

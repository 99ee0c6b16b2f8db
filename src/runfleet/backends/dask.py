"""The Dask backend: tasks are ``client.submit(execute, ...)`` on any Dask cluster runfleet opens.

The cluster is started (or connected) by :meth:`DaskBackend.start`, never as a side effect.
Finished futures are reported through a done-callback queue, so waiting costs nothing per
in-flight task; results of a loop turn are gathered in one round trip.

Scheduler loss: when the client loses its scheduler, ``distributed`` cancels every future with
reason ``scheduler-connection-lost`` (their done-callbacks wake the engine at once) and the
client's status leaves ``running``. :meth:`DaskBackend.lost` says so; :meth:`DaskBackend.reconnect`
opens the same cluster again (a new client of the same address or scheduler file, a new gateway
join, a new embedded cluster) within ``reconnect_s`` seconds, or raises :class:`SchedulerLost`.
"""
from __future__ import annotations

import logging
import queue
import threading
import time
import uuid
from typing import Any, Iterable

from ..errors import ClusterUnavailable, LostWorker, PreflightFailed, SchedulerLost
from ..executor import Specs, execute
from ..failures import out_of_memory
from .base import ExecutionBackend, Task


class DaskBackend(ExecutionBackend):
    """Execute tasks on a Dask cluster.

    Parameters
    ----------
    cluster : None, str, runfleet.config.Profile or distributed.Client
        ``None``: the embedded LocalCluster; a profile name (``"local"`` included); or an existing
        client (used as is, never closed).
    workers : int, optional
        Worker count for backends that start workers.
    env : dict, optional
        Extra environment for worker processes (e.g. ``PYTHONPATH``).
    store : runfleet.store.Store
        The study's store (tasks write their markers there).
    study : str
        The study's name.
    """

    tracks_attempt_starts = True

    def __init__(self, cluster=None, *, workers: int | None = None, env: dict | None = None, store=None,
                 study: str = ""):
        self._cluster_arg = cluster
        self._workers = workers
        self._env = env
        self.store = store
        self.study = study
        self.session = None
        self._finished: queue.Queue = queue.Queue()
        self._live: set = set()
        self._slots = 0
        self._slots_checked = 0.0
        self._fn_paths: set = set()
        self._lost = False
        self._where = ""
        self._accounting = None
        self._direct = False  # results fetched from the workers directly (not through the scheduler)

    # -- lifecycle -------------------------------------------------------------------------------
    @property
    def started(self) -> bool:
        return self.session is not None

    @property
    def kind(self) -> str:  # type: ignore[override]
        return self.session.kind if self.session is not None else "dask"

    @property
    def client(self):
        """The ``distributed.Client`` (after :meth:`start`)."""
        return self.session.client

    def start(self, fn_paths: Iterable[str] = ()) -> None:
        """Start or connect the cluster and warm-import the run functions' modules on its workers."""
        if self.session is not None:
            return
        from ..clusters import open_cluster
        from ..warmup import warm_imports

        self._fn_paths = set(fn_paths)
        self.session = open_cluster(self._cluster_arg, workers=self._workers, env=self._env)
        self._attach_accounting()
        self.start_may_overlap = _scheduler_never_retries(self.session.client)
        warm_imports(self.session.client, self._fn_paths)
        self._lost = False
        self._where = _describe_scheduler(self.session)
        self._direct = _workers_reachable(self.session.client)

    # -- scheduler loss --------------------------------------------------------------------------
    def lost(self) -> bool:
        """True when the connection to the scheduler is gone (the client is reconnecting or closed)."""
        if self.session is None:
            return False
        if self._lost:
            return True
        status = getattr(self.session.client, "status", "running")
        if status in ("connecting", "closing", "closed", "failed"):
            self._lost = True
        return self._lost

    def lost_what(self) -> str:
        """What was lost, for the one-line message (``scheduler tcp://... of cluster 'x' (address)``)."""
        return self._where or "the Dask scheduler"

    def reconnect(self, within_s: float) -> None:
        """Open the same cluster again after its scheduler was lost.

        Connection profiles (``address``, ``scheduler_file``, gateway) get a new client of the same
        scheduler (the scheduler file is read again); the embedded cluster and clusters runfleet
        started are re-created. Tries until ``within_s`` seconds have passed.

        Parameters
        ----------
        within_s : float
            Seconds to keep trying (``runfleet.reconnect-s``).

        Raises
        ------
        SchedulerLost
            When no scheduler answered in time (the message ends with what was lost and how long
            was waited; the caller adds the committed count and the command to resume).
        """
        from ..clusters import open_cluster
        from ..warmup import warm_imports

        import dask.config

        old, self.session = self.session, None
        owned_client = old is not None and old.owns_client
        if self._accounting is not None:
            self._accounting.workers_lost()
        self._live.clear()
        self._drop_session(old)
        deadline = time.monotonic() + within_s
        while True:
            remaining = deadline - time.monotonic()
            try:
                if not owned_client and old is not None:
                    # a client the caller gave us: it reconnects by itself or never
                    if old.client.status == "running":
                        self.session = old
                    else:
                        raise ClusterUnavailable("the given client is not connected")
                else:
                    with dask.config.set({"distributed.comm.timeouts.connect": f"{max(1.0, min(10.0, remaining)):.1f}s"}):
                        self.session = open_cluster(self._cluster_arg, workers=self._workers, env=self._env)
                self._attach_accounting()
                warm_imports(self.session.client, self._fn_paths)
                self._lost = False
                self._direct = _workers_reachable(self.session.client)
                self._slots_checked = 0.0
                return
            except (ClusterUnavailable, OSError, TimeoutError) as e:  # not back yet
                last = e
                if self.session is not None and self.session is not old:
                    self._drop_session(self.session)
                self.session = None
            if time.monotonic() >= deadline:
                raise SchedulerLost(f"lost {self.lost_what()} and it did not come back within {within_s:g} s "
                                    f"({type(last).__name__})")
            time.sleep(min(1.0, max(0.0, deadline - time.monotonic())))

    @staticmethod
    def _drop_session(session) -> None:
        """Close a session whose scheduler is gone, in a daemon thread bounded to a few seconds."""
        if session is None:
            return

        def close():
            try:
                session.close()
            except Exception:  # noqa: BLE001 - its scheduler is gone already
                pass

        # the client logs its interrupted reconnection attempt as an ERROR with a traceback
        log = logging.getLogger("distributed.client")
        level = log.level
        log.setLevel(logging.CRITICAL)
        try:
            t = threading.Thread(target=close, daemon=True, name="runfleet-drop-session")
            t.start()
            t.join(10.0)
            time.sleep(0.2)  # let the client's cancelled tasks finish logging
        finally:
            log.setLevel(level)

    def describe(self) -> str | None:
        s = self.session
        return f"cluster: {s.kind} ({s.name}); dashboard: {s.dashboard_link or 'n/a'}" if s is not None else None

    def preflight(self, store, modules: list[str], progress=None) -> None:
        """Check imports, versions, store access and env on the workers (see :mod:`runfleet.preflight`)."""
        from ..preflight import run_preflight

        session = self.session
        session.ensure_workers(1)
        env_names = session.profile.env.exact_names() if getattr(session, "profile", None) else []
        report = run_preflight(session.client, store.url, store.storage_options, modules=modules,
                               env_names=env_names, secret_env=session.task_env())
        if not report.ok:
            self.close()
            raise PreflightFailed("preflight failed on the cluster's workers:\n" + report.format_table()
                                  + "\n" + "\n".join(report.problems))
        if progress is not None:
            n = sum(1 for w in report.workers if w.address != "driver")
            progress.message(f"preflight: {n} worker(s) ok (imports, versions, store, env)")

    def close(self) -> None:
        if self.session is not None and self.lost():
            self._live.clear()
            self._drop_session(self.session)
            self.session = None
            return
        for fut in list(self._live):
            try:
                fut.cancel()
            except Exception:  # noqa: BLE001 - closing must not hide the outcome
                pass
        self._live.clear()
        if self.session is not None:
            self.session.close()
            self.session = None

    # -- tasks -----------------------------------------------------------------------------------
    def submit(self, task: Task):
        specs = task.specs if isinstance(task.specs, Specs) else Specs(task.specs)
        fut = self.client.submit(execute, specs, self.store, self.study, task.pack_id,
                                 secret_env=self.session.task_env(), pure=False,
                                 key=f"run-{task.label}-{uuid.uuid4().hex[:8]}", retries=0,
                                 **self._placement(task.expected_s))
        self._live.add(fut)
        fut.add_done_callback(self._finished.put)
        return fut

    def wait(self, timeout_s: float) -> list:
        try:
            ready = [self._finished.get(timeout=timeout_s)]
        except queue.Empty:
            return []
        while True:
            try:
                ready.append(self._finished.get_nowait())
            except queue.Empty:
                return ready

    def results(self, handles: list) -> list[Any]:
        ok = [f for f in handles if f.status == "finished"]
        fetched: dict = {}
        if ok:
            try:
                fetched = dict(zip(ok, self.client.gather(ok, errors="raise", direct=self._direct)))
            except Exception:  # noqa: BLE001 - one was lost between done and fetch: go one by one
                fetched = {}
        out = []
        for fut in handles:
            if fut in fetched:
                out.append(fetched[fut])
            elif fut.status == "finished":
                try:
                    out.append(fut.result())
                except BaseException as e:  # noqa: BLE001 - result lost between done and fetch
                    out.append(e)
            elif fut.status not in ("error", "cancelled"):
                # it finished, then its result was lost with its worker before it was fetched
                # (Dask would compute it again): a lost-worker case; the engine takes its runs
                # back uncharged (their start markers are gone) and they run again, their commit
                # finding the first one's (docs/engine.md)
                out.append(LostWorker(f"its result was lost with its worker before it was fetched "
                                      f"(task {fut.status})"))
            else:
                exc = _future_exception(fut)
                if getattr(exc, "reason", None) == "scheduler-connection-lost":
                    self._lost = True
                out.append(exc)
            self._live.discard(fut)
            fut.release()
        return out

    def slots(self) -> int:
        """Worker threads on the cluster, refreshed every few seconds."""
        now = time.monotonic()
        if self.session is not None and (now - self._slots_checked > 3.0 or not self._slots):
            try:
                info = self.client.scheduler_info(n_workers=-1)
                self._slots = sum(w.get("nthreads", 1) for w in info.get("workers", {}).values())
                if self._accounting is not None:
                    self._accounting.note_threads(info.get("workers", {}))
            except Exception:  # noqa: BLE001 - keep the last known value
                pass
            self._slots_checked = now
        return self._slots if self.session is not None else 0

    # -- cost accounting -------------------------------------------------------------------------
    def _attach_accounting(self) -> None:
        from ..accounting import WorkerAccounting

        if self._accounting is None:
            self._accounting = WorkerAccounting(adaptive=self.session.adapt_range is not None)
        # one mechanism on every cluster: the scheduler's worker events pulled on a cadence
        self._accounting.attach(self.session.client)

    def finish_accounting(self):
        """Worker-seconds paid, busy and idle of this invocation (see :mod:`runfleet.accounting`).

        Called once, before :meth:`close` (the task stream is read from the live scheduler).

        Returns
        -------
        runfleet.accounting.CostSummary or None
            ``None`` when the backend never started.
        """
        acct, self._accounting = self._accounting, None
        if acct is None:
            return None
        live = self.session is not None and not self.lost()
        try:
            # the embedded cluster is closed right after: its workers end now
            return acct.finish(self.session.client if live else None,
                               closing=live and self.session.kind == "local" and self.session.owns_client)
        except Exception:  # noqa: BLE001 - accounting never fails a study
            return None

    # -- hooks -----------------------------------------------------------------------------------
    def refine_failure(self, failure: dict) -> dict:
        """``OutOfMemory`` when the lost worker was restarted by its nanny for memory."""
        if failure.get("error_class") != "LostWorker" or self.session is None:
            return failure
        try:
            events = self.client.get_events("worker-restart-memory")
        except Exception:  # noqa: BLE001 - no events: keep LostWorker
            return failure
        return out_of_memory(failure, events) or failure

    def _placement(self, expected_s: float | None) -> dict:
        """On batch clusters, when some worker is too close to its walltime for the task's expected
        duration (seconds), only the workers with room may take it. Otherwise no restriction, so
        that workers added later by adapt also take queued tasks."""
        workers_for = getattr(self.session, "workers_for", None)
        if workers_for is None or expected_s is None:
            return {}
        try:
            workers = workers_for(expected_s)
            if not workers:
                return {}
            connected = self.client.scheduler_info(n_workers=-1).get("workers", {})
        except Exception:  # noqa: BLE001 - placement is an optimisation, never a failure
            return {}
        if len(workers) >= len(connected):
            # every worker has room: no restriction, so workers that adapt adds later can take it
            return {}
        return {"workers": workers, "allow_other_workers": False}


def _workers_reachable(client) -> bool:
    """True when the client's cluster is a ``LocalCluster`` of this process (the embedded
    cluster): its workers listen on this host, so finished tasks' rows are fetched from them
    directly rather than relayed by the scheduler, which runs in this process too (the rows
    would cross the driver's event loop twice). Elsewhere workers may not be reachable from
    the driver (a gateway, a cluster behind a login node): through the scheduler, as Dask does
    by default."""
    try:
        from distributed import LocalCluster
    except ImportError:  # pragma: no cover - distributed is what this backend runs on
        return False
    return isinstance(getattr(client, "cluster", None), LocalCluster)


def _scheduler_never_retries(client) -> bool:
    """True when the scheduler's ``allowed-failures`` is 0 (it never re-runs a task whose worker
    died); False when it may, or when the scheduler does not say (``run_on_scheduler`` refused)."""
    try:
        return client.run_on_scheduler(_allowed_failures) == 0
    except Exception:  # noqa: BLE001 - a scheduler that does not answer is assumed to retry
        return False


def _allowed_failures(dask_scheduler=None) -> int:
    return int(dask_scheduler.allowed_failures)


def _describe_scheduler(session) -> str:
    try:
        address = session.client.scheduler.address
    except Exception:  # noqa: BLE001 - only for the message
        address = None
    where = f"scheduler {address}" if address else "the scheduler"
    return f"{where} of cluster {session.name!r} ({session.kind})"


def _future_exception(fut) -> BaseException:
    try:
        exc = fut.exception(timeout=5)
    except BaseException as e:  # noqa: BLE001 - cancelled futures raise here
        return e
    if exc is None and fut.status == "cancelled":
        # cancelled by the scheduler, e.g. its input (the study's scattered env) was lost with a
        # worker: a lost-worker case, and the run is taken back uncharged if it never started
        import concurrent.futures

        return concurrent.futures.CancelledError("the task was cancelled by the scheduler (an input of it "
                                                 "was lost with a worker)")
    return exc if exc is not None else RuntimeError(f"task ended with status {fut.status}")


__all__ = ["DaskBackend"]

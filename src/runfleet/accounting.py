"""What a study paid for on its Dask cluster: worker-seconds paid, busy and idle.

Our users want a cluster to cost only while runs run. :class:`WorkerAccounting` measures that
from Dask's own records, for one invocation of a study on one cluster:

- **paid**: for every worker, from its join to its leave as the scheduler sees them (the
  scheduler's ``add-worker`` / ``remove-worker`` events on its ``all`` topic, received through
  ``Client.subscribe_topic``), times its threads. Workers already connected when the study's
  cluster opened count from then; workers still connected at the end count until then.
- **busy**: for every worker, the time at least one task executed on it (the scheduler's task
  stream: each finished task's ``compute`` start and stop on its worker), at most ``threads``
  tasks counted at once. A run that waits in ``ctx.map`` for its chunks has seceded from its
  thread (its slot serves the chunks), so it is not counted twice.
- **idle** = paid - busy; **busy/paid** the fraction of paid time that ran tasks.
- **to zero**: seconds from the last task's end to the moment no worker was left (adapt scaled
  to zero), ``None`` when workers were still connected at the end.

The numbers are written to ``<study>/_cost/<invocation start>.json`` (one file per invocation,
:func:`write_cost`), shown on the study's last progress line (:meth:`CostSummary.line`) and in
the HTML report (:func:`read_costs`). Times are in the scheduler's clock (seconds).
"""
from __future__ import annotations

import json
import threading
import time
from dataclasses import asdict, dataclass

#: directory of the per-invocation cost records, under the study's directory
COST_DIR = "_cost"


@dataclass
class CostSummary:
    """Worker-seconds of one study invocation on one cluster.

    Parameters
    ----------
    paid_s : float
        Worker-seconds (x threads per worker) from each worker's join to its leave, s.
    busy_s : float
        Worker-seconds during which a task executed (at most one per thread), s.
    idle_s : float
        ``paid_s - busy_s``, s.
    workers : int
        Distinct workers that were connected at some point.
    peak_workers : int
        Most workers connected at once.
    adaptive : bool
        The cluster was adaptive (``adapt:`` in its profile).
    started, ended : float
        Start and end of the accounting window (epoch s, scheduler clock).
    last_task_end : float or None
        When the last task ended (epoch s).
    to_zero_s : float or None
        Seconds from the last task's end to zero workers; ``None`` when workers were left at the
        end (``workers_at_end``).
    workers_at_end : int
        Workers still connected when the accounting ended.
    tasks : int
        Tasks whose compute time was counted.
    """

    paid_s: float
    busy_s: float
    idle_s: float
    workers: int
    peak_workers: int
    adaptive: bool
    started: float
    ended: float
    last_task_end: float | None
    to_zero_s: float | None
    workers_at_end: int
    tasks: int

    @property
    def busy_fraction(self) -> float | None:
        """``busy_s / paid_s`` (``None`` when nothing was paid)."""
        return self.busy_s / self.paid_s if self.paid_s > 0 else None

    def line(self) -> str:
        """``paid 123.4 worker-s, busy 110.0 (0.89), idle 13.4; to zero workers 3.1 s``."""
        frac = self.busy_fraction
        text = f"paid {self.paid_s:.1f} worker-s, busy {self.busy_s:.1f}"
        if frac is not None:
            text += f" ({frac:.2f})"
        text += f", idle {self.idle_s:.1f}"
        if self.to_zero_s is not None:
            text += f"; last run to zero workers {self.to_zero_s:.1f} s"
        elif self.workers_at_end:
            text += f"; {self.workers_at_end} worker(s) up at the end"
        return text

    def to_dict(self) -> dict:
        """The record written to the store (plus ``busy_fraction``)."""
        out = asdict(self)
        out["busy_fraction"] = self.busy_fraction
        return out


class WorkerAccounting:
    """Collects worker joins and leaves of a Dask cluster while a study runs.

    Parameters
    ----------
    adaptive : bool
        Whether the cluster adapts (recorded, and decides where the numbers are shown).

    Notes
    -----
    :meth:`attach` subscribes to the scheduler's ``all`` event topic (worker joins and leaves to
    the scheduler's clock) and registers Dask's task stream plugin. With ``events=False`` (every
    cluster but the embedded one runfleet owns: on a shared scheduler a client subscribed to
    ``all`` had a secret environment's scattered ciphertext released under it, "lost
    dependencies", and a user's client closed right after the study makes the scheduler log a
    CRITICAL traceback) joins and leaves are taken from the backend's periodic
    ``scheduler_info`` polls instead (:meth:`note_threads`, every 3 s, so paid time is known to
    about 3 s per join or leave); :meth:`finish` reads the task stream once (records since :meth:`attach`;
    Dask keeps at most ``distributed.scheduler.dashboard.tasks.task-stream-length`` of them,
    100,000 by default, so busy time of older tasks of a longer invocation is not counted).
    """

    def __init__(self, adaptive: bool = False):
        self.adaptive = adaptive
        self._lock = threading.Lock()
        self._live: dict[str, float] = {}          # worker address -> joined (s)
        self._spans: list[tuple[str, float, float]] = []  # (address, joined, left)
        self._threads: dict[str, int] = {}
        self._zero_at: float | None = None
        self._peak = 0
        self._clients: list = []
        self._stream_start: dict[int, tuple[str, float]] = {}
        self._previous: dict[int, object] = {}  # a handler of the "all" topic that was there before
        self._polled = False  # joins and leaves from note_threads' polls, not from events
        self.started: float | None = None

    # ------------------------------------------------------------------ collecting
    def attach(self, client, events: bool = True) -> None:
        """Start counting on ``client``'s cluster (again after a reconnect: the old one's workers
        were closed by :meth:`detach`).

        Parameters
        ----------
        client : distributed.Client
            The study's client.
        events : bool
            Subscribe to the scheduler's worker events (else: polls, see the class notes).
        """
        now = time.time()
        if self.started is None:
            self.started = now
        try:
            info = client.scheduler_info(n_workers=-1).get("workers", {})
        except Exception:  # noqa: BLE001 - accounting never fails a study
            info = {}
        with self._lock:
            for addr, w in info.items():
                self._live.setdefault(addr, now)
                self._threads[addr] = int(w.get("nthreads") or 1)
            self._peak = max(self._peak, len(self._live))
        if not events:
            self._polled = True
        else:
            try:
                # one handler per topic and client: chain to one already there (a user's, or
                # another accounting on the same client) and restore it in detach()
                previous = getattr(client, "_event_handlers", {}).get("all")
                self._previous[id(client)] = previous
                client.subscribe_topic("all", self._on_event if previous is None else _Chained(self._on_event, previous))
                self._clients.append(client)
            except Exception:  # noqa: BLE001 - a client that cannot subscribe: workers present now only
                pass
        try:  # an index cursor into the task stream (it also registers Dask's task stream plugin)
            self._stream_start[id(client)] = ("index", client.sync(client.scheduler.get_task_stream_index))
        except Exception:  # noqa: BLE001 - an older scheduler: records by time instead
            try:
                client.get_task_stream(start=now)
                self._stream_start[id(client)] = ("time", now)
            except Exception:  # noqa: BLE001 - no task stream at all: busy stays 0
                pass

    def _on_event(self, event) -> None:
        ts, msg = event
        if not isinstance(msg, dict) or "worker" not in msg:
            return
        action, addr = msg.get("action"), msg["worker"]
        with self._lock:
            if action == "add-worker":
                self._live.setdefault(addr, ts)
                self._peak = max(self._peak, len(self._live))
                self._zero_at = None
            elif action == "remove-worker" and addr in self._live:
                self._spans.append((addr, self._live.pop(addr), ts))
                if not self._live:
                    self._zero_at = ts

    def workers_lost(self) -> None:
        """The scheduler was lost: its workers are no longer paid from now (a new cluster's
        workers are counted after the next :meth:`attach`)."""
        now = time.time()
        with self._lock:
            self._spans.extend((a, t, now) for a, t in self._live.items())
            self._live.clear()
        self._clients.clear()

    def note_threads(self, workers: dict) -> None:
        """Remember threads per worker from a ``scheduler_info()["workers"]`` mapping (and, when
        polled, the workers that joined or left since the last poll)."""
        now = time.time()
        with self._lock:
            for addr, w in workers.items():
                self._threads[addr] = int(w.get("nthreads") or 1)
                if self._polled and addr not in self._live:
                    self._live[addr] = now
                    self._zero_at = None
            if self._polled:
                for addr in [a for a in self._live if a not in workers]:
                    self._spans.append((addr, self._live.pop(addr), now))
                if not self._live:
                    self._zero_at = now
                self._peak = max(self._peak, len(self._live))

    def _task_stream(self, client) -> list[dict]:
        start = self._stream_start.get(id(client))
        if start is None:
            return []
        try:
            if start[0] == "index":
                return list(client.sync(client.scheduler.get_task_stream, start_index=start[1]))
            return list(client.get_task_stream(start=start[1]))
        except Exception:  # noqa: BLE001 - no busy time rather than a failed study
            return []

    def detach(self, client) -> list[dict]:
        """Stop listening to ``client`` (its workers end now); return its task-stream records."""
        records = self._task_stream(client)
        try:
            info = client.scheduler_info(n_workers=-1).get("workers", {})
            self.note_threads(info)
        except Exception:  # noqa: BLE001
            pass
        try:
            previous = self._previous.pop(id(client), None)
            if previous is not None:
                client.subscribe_topic("all", previous)
            else:
                client.unsubscribe_topic("all")
        except Exception:  # noqa: BLE001
            pass
        if client in self._clients:
            self._clients.remove(client)
        return records

    # ------------------------------------------------------------------ result
    def finish(self, client=None, records: list[dict] | None = None, closing: bool = False) -> CostSummary:
        """Close the window now and compute the summary.

        Parameters
        ----------
        client : distributed.Client, optional
            The live client: its task stream is read and its events unsubscribed.
        records : list of dict, optional
            Task-stream records collected earlier (e.g. from a client lost mid-study).
        closing : bool
            The caller closes the cluster's workers now (runfleet started the cluster): the
            workers still connected reach zero now.

        Returns
        -------
        CostSummary
        """
        records = list(records or [])
        if client is not None:
            records += self.detach(client)
        now = time.time()
        with self._lock:
            spans = list(self._spans) + [(a, t, now) for a, t in self._live.items()]
            at_end = 0 if closing else len(self._live)
            zero_at = self._zero_at if not self._live else (now if closing else None)
            threads = dict(self._threads)
            peak = self._peak
        default_threads = max(set(threads.values()), key=list(threads.values()).count) if threads else 1
        paid = sum((t1 - t0) * threads.get(a, default_threads) for a, t0, t1 in spans)
        busy, last_end, n = _busy_seconds(records, spans, threads, default_threads)
        to_zero = (zero_at - last_end) if zero_at is not None and last_end is not None and zero_at >= last_end else None
        if to_zero is None and zero_at is not None and last_end is None:
            to_zero = 0.0
        return CostSummary(paid_s=paid, busy_s=busy, idle_s=paid - busy, workers=len({a for a, _, _ in spans}),
                           peak_workers=peak, adaptive=self.adaptive, started=self.started or now, ended=now,
                           last_task_end=last_end, to_zero_s=to_zero, workers_at_end=at_end, tasks=n)


class _Chained:
    """An event handler calling ours, then the one that was subscribed before (maybe async)."""

    def __init__(self, ours, previous):
        self.ours, self.previous = ours, previous

    def __call__(self, event):
        self.ours(event)
        return self.previous(event)


def _busy_seconds(records, spans, threads, default_threads) -> tuple[float, float | None, int]:
    """Seconds during which tasks executed, per worker at most ``threads`` at once, inside the
    worker's paid spans; also the last compute end and the number of tasks counted."""
    by_worker: dict[str, list[tuple[float, int]]] = {}
    last_end = None
    n = 0
    for rec in records:
        addr = rec.get("worker")
        for ss in rec.get("startstops") or ():
            if ss.get("action") != "compute":
                continue
            t0, t1 = float(ss["start"]), float(ss["stop"])
            if t1 <= t0:
                continue
            ev = by_worker.setdefault(addr, [])
            ev.append((t0, 1))
            ev.append((t1, -1))
            last_end = t1 if last_end is None else max(last_end, t1)
            n += 1
    windows: dict[str, list[tuple[float, float]]] = {}
    for a, t0, t1 in spans:
        windows.setdefault(a, []).append((t0, t1))
    busy = 0.0
    for addr, events in by_worker.items():
        cap = threads.get(addr, default_threads)
        events.sort()
        active, prev = 0, None
        for t, d in events:
            if prev is not None and active > 0:
                busy += _inside(prev, t, windows.get(addr, [])) * min(active, cap)
            active += d
            prev = t
    return busy, last_end, n


def _inside(t0: float, t1: float, windows: list[tuple[float, float]]) -> float:
    """Length of [t0, t1] inside the union of ``windows`` (they do not overlap)."""
    return sum(max(0.0, min(t1, b) - max(t0, a)) for a, b in windows)


def cost_path(root: str, started: float) -> str:
    """``<root>/_cost/<UTC start, YYYYmmddTHHMMSS.ffffff>.json`` of one invocation."""
    stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime(started)) + f".{int((started % 1) * 1e6):06d}"
    return f"{root}/{COST_DIR}/{stamp}.json"


def write_cost(store, root: str, summary: CostSummary) -> str:
    """Write one invocation's cost record next to the study's records.

    Parameters
    ----------
    store : runfleet.store.Store
        The study's store.
    root : str
        The study's directory in the store.
    summary : CostSummary
        What to write.

    Returns
    -------
    str
        The record's path.
    """
    path = cost_path(root, summary.started)
    store.write_bytes_atomic(path, json.dumps(summary.to_dict(), allow_nan=False).encode())
    return path


def read_costs(store, root: str) -> list[dict]:
    """The cost records of a study's invocations, oldest first (``[]`` when there are none).

    Parameters
    ----------
    store : runfleet.store.Store
        The study's store.
    root : str
        The study's directory in the store.

    Returns
    -------
    list of dict
        :meth:`CostSummary.to_dict` of each invocation.
    """
    prefix = f"{root}/{COST_DIR}/"
    paths = sorted(p for p in store.find(f"{root}/{COST_DIR}") if p.startswith(prefix) and p.endswith(".json"))
    out = []
    for p in paths:
        doc = store.read_json(p)
        if isinstance(doc, dict):
            out.append(doc)
    return out


def finish_accounting(backend, store, root: str, write: bool = True) -> CostSummary | None:
    """The engine's hook at the end of an invocation: compute and write the cost record.

    Parameters
    ----------
    backend : runfleet.backends.ExecutionBackend
        The study's backend; only a Dask backend that started has an accounting.
    store : runfleet.store.Store
        The study's store.
    root : str
        The study's directory in the store.
    write : bool
        Write the record (``False`` when the store was lost: do not wait on it again).

    Returns
    -------
    CostSummary or None
        ``None`` for backends without workers (serial) or when nothing started.
    """
    finish = getattr(backend, "finish_accounting", None)
    summary = finish() if finish is not None else None
    if summary is None or not write:
        return summary
    try:
        write_cost(store, root, summary)
    except Exception:  # noqa: BLE001 - the study's own records matter, the cost record is extra
        pass
    return summary


__all__ = ["COST_DIR", "CostSummary", "WorkerAccounting", "cost_path", "finish_accounting", "read_costs",
           "write_cost"]

"""What a study paid for on its Dask cluster: worker-seconds paid, busy and idle.

Our users want a cluster to cost only while runs run. :class:`WorkerAccounting` measures that
from Dask's own records, for one invocation of a study on one cluster:

- **paid**: for every worker, from its join to its leave as the scheduler saw them, times its
  threads. The same mechanism on every cluster (embedded, address, gateway, batch): the driver
  polls the scheduler's worker list (``Client.scheduler_info``, every ``poll_s`` seconds from a
  daemon thread, and once at the end); for a worker that appeared or disappeared it reads that
  worker's own event topic (``Client.get_events(<address>)``: a pull of a few small events) for
  the scheduler's timestamp of its ``add-worker`` / ``remove-worker``, so the times are the
  scheduler's, not the poll's. Nothing is subscribed to, and the scheduler's ``all`` topic is
  never read: Dask logs its ``replicate`` event there (every ``scatter(broadcast=True)``, which
  a forwarded secret environment makes) with ``WorkerState`` objects that cannot be serialised,
  so a client subscribed to ``all`` (or pulling it) made the scheduler log a CRITICAL
  ``Failed to Serialize`` and broke that client's connection, releasing its scattered
  ciphertext ("lost dependencies"). A worker that joins and leaves between two polls is not
  seen. Workers already connected when the study's cluster opened count from then; workers
  still connected at the end count until then.
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
    poll_s : float
        Seconds between two polls of the scheduler's worker list (s); ``0``: no polling
        thread, only :meth:`poll` calls and the final one in :meth:`finish`.

    Notes
    -----
    :meth:`attach` reads the workers connected now and the task stream cursor (it registers
    Dask's task stream plugin), then polls ``Client.scheduler_info`` every ``poll_s`` seconds
    and reads a joining or leaving worker's own event topic (:meth:`poll`). Nothing is subscribed or
    registered on the scheduler but Dask's own task stream plugin, so a shared scheduler, a
    forwarded secret environment (:mod:`runfleet.clusters.secrets`) and a user's client closed
    right after the study are not affected. :meth:`finish` polls once more and reads the task
    stream once (records since :meth:`attach`; Dask keeps at most
    ``distributed.scheduler.dashboard.tasks.task-stream-length`` of them, 100,000 by default, so
    busy time of older tasks of a longer invocation is not counted).
    """

    def __init__(self, adaptive: bool = False, poll_s: float = 3.0):
        self.adaptive = adaptive
        self.poll_s = poll_s
        self._lock = threading.Lock()
        self._live: dict[str, float] = {}          # worker address -> joined (s)
        self._spans: list[tuple[str, float, float]] = []  # (address, joined, left)
        self._threads: dict[str, int] = {}
        self._zero_at: float | None = None
        self._peak = 0
        self._stream_start: dict[int, tuple[str, float]] = {}
        self._pollers: dict[int, tuple[threading.Thread, threading.Event]] = {}
        self.started: float | None = None

    # ------------------------------------------------------------------ collecting
    def attach(self, client) -> None:
        """Start counting on ``client``'s cluster (again after a reconnect: the old one's workers
        were closed by :meth:`workers_lost`).

        Parameters
        ----------
        client : distributed.Client
            The study's client.
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
        try:  # an index cursor into the task stream (it also registers Dask's task stream plugin)
            self._stream_start[id(client)] = ("index", client.sync(client.scheduler.get_task_stream_index))
        except Exception:  # noqa: BLE001 - an older scheduler: records by time instead
            try:
                client.get_task_stream(start=now)
                self._stream_start[id(client)] = ("time", now)
            except Exception:  # noqa: BLE001 - no task stream at all: busy stays 0
                pass
        if self.poll_s > 0 and id(client) not in self._pollers:
            stop = threading.Event()
            thread = threading.Thread(target=self._poll_loop, args=(client, stop), daemon=True,
                                      name="runfleet-accounting")
            self._pollers[id(client)] = (thread, stop)
            thread.start()

    def _poll_loop(self, client, stop: threading.Event) -> None:
        while not stop.wait(self.poll_s):
            if getattr(client, "status", "running") != "running":
                continue  # reconnecting or closed: the backend calls workers_lost / finish
            self.poll(client)

    def poll(self, client) -> None:
        """Apply the worker joins and leaves since the last poll.

        Parameters
        ----------
        client : distributed.Client
            An attached client.

        Notes
        -----
        The scheduler's worker list says who joined or left; each such worker's own event topic
        says when (its last ``add-worker`` / ``remove-worker``, scheduler clock). Without such an
        event (the scheduler's per-topic log is bounded) the poll's time counts.
        """
        try:
            info = client.scheduler_info(n_workers=-1).get("workers", {})
        except Exception:  # noqa: BLE001 - no answer: next time
            return
        now = time.time()
        with self._lock:
            joined = [a for a in info if a not in self._live]
            left = [a for a in self._live if a not in info]
            start = self.started or now
        changes = []  # (time, address, joined?) in the scheduler's order
        for addr in joined:
            ts = _event_time(client, addr, "add-worker", after=start)
            changes.append((min(ts, now) if ts is not None else now, addr, True))
        for addr in left:
            with self._lock:
                since = self._live.get(addr, start)
            ts = _event_time(client, addr, "remove-worker", after=since)
            changes.append((min(ts, now) if ts is not None else now, addr, False))
        with self._lock:
            for addr, w in info.items():
                self._threads[addr] = int(w.get("nthreads") or 1)
            for ts, addr, is_join in sorted(changes):
                if is_join:
                    self._live.setdefault(addr, ts)
                    self._zero_at = None
                elif addr in self._live:
                    joined_at = self._live.pop(addr)
                    self._spans.append((addr, joined_at, max(ts, joined_at)))
                    if not self._live:
                        self._zero_at = ts
            self._peak = max(self._peak, len(self._live))

    def workers_lost(self) -> None:
        """The scheduler was lost: its workers are no longer paid from now (a new cluster's
        workers are counted after the next :meth:`attach`)."""
        now = time.time()
        self._stop_pollers()
        with self._lock:
            self._spans.extend((a, t, now) for a, t in self._live.items())
            self._live.clear()

    def note_threads(self, workers: dict) -> None:
        """Remember threads per worker from a ``scheduler_info()["workers"]`` mapping."""
        with self._lock:
            for addr, w in workers.items():
                self._threads[addr] = int(w.get("nthreads") or 1)

    def _stop_pollers(self, client=None) -> None:
        keys = [id(client)] if client is not None else list(self._pollers)
        for key in keys:
            entry = self._pollers.pop(key, None)
            if entry is not None:
                thread, stop = entry
                stop.set()
                if thread is not threading.current_thread():
                    thread.join(30)

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
        """Stop polling ``client`` (after a last poll); return its task-stream records."""
        self._stop_pollers(client)
        records = self._task_stream(client)
        self.poll(client)
        return records

    # ------------------------------------------------------------------ result
    def finish(self, client=None, records: list[dict] | None = None, closing: bool = False) -> CostSummary:
        """Close the window now and compute the summary.

        Parameters
        ----------
        client : distributed.Client, optional
            The live client: its task stream and worker events are read a last time.
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
        self._stop_pollers()
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


def _event_time(client, address: str, action: str, after: float) -> float | None:
    """The scheduler's time of the last ``action`` event (``add-worker`` / ``remove-worker``) in
    worker ``address``'s own topic at or after ``after`` (a pull, ``Client.get_events``);
    ``None`` when there is none or the scheduler does not answer."""
    try:
        events = client.get_events(address)
    except Exception:  # noqa: BLE001 - accounting never fails a study
        return None
    times = [float(ts) for ts, msg in events
             if isinstance(msg, dict) and msg.get("action") == action and float(ts) >= after - 1e-3]
    return max(times) if times else None


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

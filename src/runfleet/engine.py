"""The engine: submits ready runs to a Dask client, bounded in flight, retries, skips dependents.

One mechanism serves both static studies and dynamic submission: a :class:`Fleet` accepts runs
at any time (``submit``) and reports each run's end (``as_completed``). ``run_study`` submits a
whole study and drains it.

- Bounded submission: at most ``max_in_flight`` tasks are in the scheduler at once; the window
  is topped up as tasks finish, so 100,000 runs never become one giant graph.
- Packing: runs of the same function that take less than ``pack_target_s`` are executed several
  to a task (their markers committed together), so per-run overhead stays small.
- Failure is a row: a run that raises, loses its worker or times out is retried by its policy,
  then recorded with class and traceback; only its dependents are skipped.
- The driver holds only small status rows; results stay in the store.
"""
from __future__ import annotations

import collections
import heapq
import math
import os
import queue
import re
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Iterable, Iterator

from .clusters import ClusterSession, open_cluster
from .errors import InputError, PreflightFailed
from .executor import TIMEOUT_MARK, Specs, execute, now_iso
from .ledger import Ledger, Record
from .plan import KeyedRun, key_runs, rerun_reason
from .progress import Progress
from .study import RetryPolicy, Run, Study, check_run_fields, resolve_after, resolve_fn, topological_order
from .warmup import warm_imports

TERMINAL = ("done", "failed", "skipped")


MAX_PACK = 2000


@dataclass
class RunOutcome:
    """How a run ended in this invocation.

    status: ``done`` | ``failed`` | ``skipped``. value: the returned value when done.
    error_class / error: the last error (failed) or the reason (skipped).
    attempts: attempts made in this invocation (0 when resumed from the store).
    duration_s: the successful (or last) attempt's duration in seconds.
    resumed: True when the run was already done in the store and did not execute.
    """

    name: str
    status: str
    value: Any = None
    error_class: str | None = None
    error: str | None = None
    attempts: int = 0
    duration_s: float | None = None
    resumed: bool = False


@dataclass
class _State:
    kr: KeyedRun
    policy: RetryPolicy
    packable: bool
    state: str = "waiting"  # waiting | ready | running | backoff | done | failed | skipped
    attempts: int = 0
    value: Any = None
    dirty: bool = False
    dependents: list[str] = field(default_factory=list)
    last_error: dict | None = None


class Fleet:
    """A live study: runs can be submitted at any time; ``as_completed`` yields their outcomes.

    name: study name (its records live under ``<store>/<name>/``). store: directory or URL.
    seed: study seed. defaults: retry policy fields. cluster: None (embedded local), a profile
    name or a ``distributed.Client``. workers: worker count for backends that start workers.
    max_in_flight: tasks in the scheduler at once (default: max(32, 4 x worker threads)).
    pack_target_s: runs shorter than this (seconds, from earlier durations) are packed.
    """

    def __init__(self, name: str, store: str, *, seed: int = 0, storage_options: dict | None = None,
                 cluster=None, workers: int | None = None, defaults: dict | None = None,
                 version: str | None = None, max_in_flight: int | None = None, pack_target_s: float = 0.2,
                 progress: Progress | None = None, worker_env: dict | None = None, source: str = "fleet",
                 check_store: bool = True, preflight: bool = False):
        from .store import Store

        self.study = Study(name=name, store=store, seed=seed, defaults=defaults, version=version,
                           storage_options=storage_options, source=source)
        if not isinstance(name, str) or not name:
            raise InputError(f"{source}: name: expected a study name")
        self.store = Store(store, storage_options)
        if check_store:
            self.store.check_writable()
        self.ledger = Ledger(self.store, name)
        self.records, self.dirty_dirs = self.ledger.load()
        self.states: dict[str, _State] = {}
        self.ready: collections.deque[str] = collections.deque()
        self.retry_heap: list[tuple[float, str]] = []
        self.in_flight: dict[Any, list[str]] = {}
        self.outcomes: collections.deque[RunOutcome] = collections.deque()
        self.finished_q: queue.Queue = queue.Queue()
        self.counts = collections.Counter()
        self.group_stats: dict[str, float] = {}  # fn path -> expected run duration (s, moving average)
        self.probing: collections.Counter = collections.Counter()  # fn path -> probe tasks in flight
        self.probes: dict[Any, str] = {}  # probe future -> fn path
        self._cluster_arg = cluster
        self._workers = workers
        self._worker_env = worker_env
        self._session: ClusterSession | None = None
        self._max_in_flight = max_in_flight
        self._preflight = preflight
        self.pack_target_s = pack_target_s
        self.progress = progress
        self._study_dirty = False
        self._study_flushed = 0.0
        self._flush_interval_s = 5.0
        self._slots = 0
        self._slots_checked = 0.0
        self._seed_group_stats()

    # -- cluster ---------------------------------------------------------------------------------
    @property
    def session(self) -> ClusterSession:
        """The cluster, started on first need (a study that is already done starts none)."""
        if self._session is None:
            self._session = open_cluster(self._cluster_arg, workers=self._workers, env=self._worker_env)
            warm_imports(self._session.client, {s.kr.fn_path for s in self.states.values()})
            if self.progress is not None:
                self.progress.message(f"cluster: {self._session.kind} ({self._session.name}); "
                                      f"dashboard: {self._session.dashboard_link or 'n/a'}")
            if self._preflight:
                self._run_preflight()
            if self.progress is not None:
                self.progress.cluster_ready()
        return self._session

    def _run_preflight(self) -> None:
        """Check imports, versions, store access and env on the workers before the first run."""
        from .preflight import run_preflight

        session = self._session
        session.ensure_workers(1)
        modules = sorted({s.kr.fn_path.split(":")[0] for s in self.states.values()
                          if isinstance(s.kr.run.fn, str)})
        env_names = session.profile.env.exact_names() if getattr(session, "profile", None) else []
        report = run_preflight(session.client, self.store.url, self.store.storage_options,
                               modules=modules, env_names=env_names)
        if not report.ok:
            session.close()
            self._session = None
            raise PreflightFailed("preflight failed on the cluster's workers:\n" + report.format_table()
                                  + "\n" + "\n".join(report.problems))
        if self.progress is not None:
            n = sum(1 for w in report.workers if w.address != "driver")
            self.progress.message(f"preflight: {n} worker(s) ok (imports, versions, store, env)")

    @property
    def client(self):
        return self.session.client

    def slots(self) -> int:
        """Worker threads on the cluster, refreshed every few seconds."""
        now = time.monotonic()
        if self._session is not None and (now - self._slots_checked > 3.0 or not self._slots):
            try:
                info = self.client.scheduler_info(n_workers=-1)
                self._slots = sum(w.get("nthreads", 1) for w in info.get("workers", {}).values())
            except Exception:  # noqa: BLE001 - keep the last known value
                pass
            self._slots_checked = now
        return self._slots

    @property
    def max_in_flight(self) -> int:
        return self._max_in_flight or max(32, 4 * self.slots())

    # -- submission ------------------------------------------------------------------------------
    def submit(self, runs: Iterable[Run], *, checked: bool = False) -> list[str]:
        """Add runs. ``after`` may name runs of this call or earlier calls. Runs already done in
        the store with the same key are reported done (``resumed``) without executing.
        Raises InputError (nothing submitted) on a bad run."""
        batch: dict[str, Run] = {}
        src = self.study.source
        for run in runs:
            if run.name in self.states or run.name in batch:
                raise InputError(f"{src}: runs: duplicate run name {run.name!r}")
            if not checked:  # run_study has validated the whole study already
                check_run_fields(run, src)
            batch[run.name] = run
        deps = resolve_after(batch, src, known=self.states.keys())
        order = topological_order(deps, src)
        fns = {n: resolve_fn(batch[n].fn, f"{src}: run {n!r}: fn") for n in order}
        known = {n: s.kr.key for n, s in self.states.items()}
        keyed = key_runs(batch, {n: deps[n] for n in order}, fns, known, self.study.version, self.study.seed)
        for name in order:
            kr = keyed[name]
            run = kr.run
            pack = run.pack if run.pack is not None else self.study.pack_default
            st = _State(kr=kr, policy=self.study.policy_for(run), packable=pack is not False,
                        dirty=name in self.dirty_dirs)
            self.states[name] = st
            self.counts["total"] += 1
            for u in kr.upstream:
                self.states[u].dependents.append(name)
            record = self.records.get(name)
            if record is not None and record.status == "done" and record.key == kr.key:
                st.state = "done"
                st.value = record.data.get("value")
                self.counts["done"] += 1
                self.counts["resumed"] += 1
                self.outcomes.append(RunOutcome(name, "done", st.value, attempts=0,
                                                duration_s=record.data.get("duration_s"), resumed=True))
                continue
            up_states = [self.states[u].state for u in kr.upstream]
            bad = [u for u in kr.upstream if self.states[u].state in ("failed", "skipped")]
            if bad:
                self._skip(name, bad[0])
            elif all(s == "done" for s in up_states):
                st.state = "ready"
                self.ready.append(name)
            else:
                st.state = "waiting"
        self._study_dirty = True
        return order

    # -- the loop --------------------------------------------------------------------------------
    def as_completed(self) -> Iterator[RunOutcome]:
        """Yield each run's outcome as it ends, until nothing is left to do. Submitting more runs
        while iterating is allowed."""
        while True:
            while self.outcomes:
                yield self.outcomes.popleft()
            if not self._busy():
                break
            self._promote_retries()
            self._top_up()
            wait_s = 0.5
            if self.retry_heap:
                wait_s = max(0.0, min(wait_s, self.retry_heap[0][0] - time.monotonic()))
            if self.in_flight:
                try:
                    ready = [self.finished_q.get(timeout=wait_s)]
                except queue.Empty:
                    ready = []
                while True:
                    try:
                        ready.append(self.finished_q.get_nowait())
                    except queue.Empty:
                        break
                if ready:
                    self._finished_many(ready)
            elif self.retry_heap:
                time.sleep(wait_s)
            elif not self.ready:
                stuck = [n for n, s in self.states.items() if s.state == "waiting"]
                raise RuntimeError(f"runs waiting on runs that can never finish: {stuck[:5]}")
            self._tick()
        self._tick(force=True)

    def wait(self) -> dict:
        """Drain everything submitted; return the counts."""
        for _ in self.as_completed():
            pass
        return dict(self.counts)

    def _busy(self) -> bool:
        return bool(self.ready or self.in_flight or self.retry_heap or
                    any(s.state == "waiting" for s in self.states.values()))

    def _promote_retries(self) -> None:
        now = time.monotonic()
        while self.retry_heap and self.retry_heap[0][0] <= now:
            _, name = heapq.heappop(self.retry_heap)
            st = self.states[name]
            if st.state == "backoff":
                st.state = "ready"
                self.ready.appendleft(name)

    def _pack_size(self, st: _State) -> int:
        if not st.packable or st.attempts > 0:
            return 1
        mean = self.group_stats.get(st.kr.fn_path)
        if mean is None:
            return 1
        size = int(self.pack_target_s / max(mean, 1e-6))
        spread = math.ceil(len(self.ready) / max(self.slots(), 1))
        return max(1, min(size, MAX_PACK, spread))

    def _top_up(self) -> None:
        while self.ready and len(self.in_flight) < self.max_in_flight:
            name = self.ready[0]
            st = self.states[name]
            group = st.kr.fn_path
            if st.packable and st.attempts == 0 and group not in self.group_stats:
                # unknown duration: probe with one run per slot before packing the rest. A cluster
                # at zero workers (adapt from 0) gets a full window of single runs instead, so
                # its adaptive scaling sees the real queue and starts enough workers.
                if self.probing[group] >= (self.slots() or self.max_in_flight):
                    if not self._rotate_ready(group):
                        return
                    continue
                self.probing[group] += 1
                self.ready.popleft()
                self._submit_task([name], probe=True)
                continue
            size = self._pack_size(st)
            names = [self.ready.popleft()]
            while len(names) < size and self.ready:
                nxt = self.states[self.ready[0]]
                if nxt.kr.fn_path != group or not nxt.packable or nxt.attempts > 0:
                    break
                names.append(self.ready.popleft())
            self._submit_task(names)

    def _rotate_ready(self, group: str) -> bool:
        """Move a ready run of another group to the front; False if every ready run is in ``group``."""
        for i, n in enumerate(self.ready):
            if self.states[n].kr.fn_path != group:
                del self.ready[i]
                self.ready.appendleft(n)
                return True
        return False

    def _spec(self, name: str) -> dict:
        st = self.states[name]
        kr = st.kr
        fn = kr.run.fn if isinstance(kr.run.fn, str) else kr.fn
        return {
            "name": name, "fn": fn, "fn_path": kr.fn_path, "params": kr.run.params,
            "params_hash": kr.params_hash, "code": kr.code, "key": kr.key,
            "upstream": {u: self.states[u].value for u in kr.upstream}, "upstream_keys": kr.upstream_keys,
            "study_seed": self.study.seed, "attempt": st.attempts, "timeout_s": st.policy.timeout_s,
            "clear": st.dirty,
        }

    def _submit_task(self, names: list[str], probe: bool = False) -> None:
        for n in names:
            st = self.states[n]
            st.state = "running"
            st.attempts += 1
            st.dirty = st.dirty or st.attempts > 1
        specs = [self._spec(n) for n in names]
        pack_id = None if len(names) == 1 else f"{uuid.uuid4().hex}"
        label = names[0] if len(names) == 1 else f"pack-{names[0]}+{len(names) - 1}"
        fut = self.client.submit(execute, Specs(specs), self.store, self.study.name, pack_id, pure=False,
                                 key=f"run-{label}-{uuid.uuid4().hex[:8]}", retries=0,
                                 **self._placement(names))
        self.in_flight[fut] = names
        if probe:
            self.probes[fut] = self.states[names[0]].kr.fn_path
        fut.add_done_callback(self.finished_q.put)

    def _placement(self, names: list[str]) -> dict:
        """On batch clusters, when some worker is too close to its walltime for the task's expected
        duration (moving average of earlier runs of the same fn x runs in the task, seconds),
        only the workers with room may take it. Otherwise no restriction, so that workers added
        later by adapt also take queued tasks."""
        workers_for = getattr(self.session, "workers_for", None)
        mean = self.group_stats.get(self.states[names[0]].kr.fn_path)
        if workers_for is None or mean is None:
            return {}
        expected_s = mean * len(names)
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

    def _finished_many(self, futures: list) -> None:
        """Process finished tasks; results of the successful ones are fetched in one round trip."""
        ok = [f for f in futures if f.status == "finished" and f in self.in_flight]
        results: dict = {}
        if ok:
            try:
                results = dict(zip(ok, self.client.gather(ok, errors="raise")))
            except Exception:  # noqa: BLE001 - one was lost between done and fetch: go one by one
                results = {}
        for fut in futures:
            self._finished(fut, results)

    def _finished(self, fut, results: dict) -> None:
        names = self.in_flight.pop(fut, None)
        if names is None:
            return
        group = self.probes.pop(fut, None)
        if group is not None:
            self.probing[group] -= 1
        if fut.status == "finished":
            try:
                rows = results[fut] if fut in results else fut.result()
            except Exception as e:  # noqa: BLE001 - result lost between done and fetch
                for n in names:
                    self._failed_attempt(n, _infra_error(e))
                return
            for row in rows:
                if row["status"] == "done":
                    self._done(row)
                else:
                    self._failed_attempt(row["name"], row)
        else:
            err = _infra_error(_future_exception(fut))
            for n in names:
                self._failed_attempt(n, err)
        fut.release()

    def _done(self, row: dict) -> None:
        name = row["name"]
        st = self.states[name]
        st.state = "done"
        st.value = row.get("value")
        self.counts["done"] += 1
        self.counts["executed"] += 1
        self._observe(st.kr.fn_path, row.get("duration_s") or 0.0)
        self.outcomes.append(RunOutcome(name, "done", st.value, attempts=st.attempts,
                                        duration_s=row.get("duration_s")))
        for d in st.dependents:
            dst = self.states[d]
            if dst.state == "waiting" and all(self.states[u].state == "done" for u in dst.kr.upstream):
                dst.state = "ready"
                self.ready.append(d)

    def _failed_attempt(self, name: str, err: dict) -> None:
        st = self.states[name]
        if err.get("kind") == "lost_worker" and st.policy.timeout_s:
            # the worker ended itself because the run ignored its timeout (blocked in C code)
            if self.store.exists(f"{self.ledger.run_dir(name)}/{TIMEOUT_MARK}"):
                err = {"kind": "timeout", "error_class": "RunTimeout", "traceback": "",
                       "message": f"run exceeded its timeout of {st.policy.timeout_s} s and did not stop; "
                                  "its worker process was ended"}
        if err.get("error_class") == "LostWorker":
            err = self._memory_kill(err) or err
        st.last_error = err
        st.dirty = True
        if st.attempts <= st.policy.retries:
            st.state = "backoff"
            delay = st.policy.backoff_s * (2 ** (st.attempts - 1))
            heapq.heappush(self.retry_heap, (time.monotonic() + delay, name))
            self.counts["retried"] += 1
            return
        st.state = "failed"
        self.counts["failed"] += 1
        kr = st.kr
        self.ledger.record_error(name, {
            "name": name, "status": "failed", "key": kr.key, "fn": kr.fn_path, "params_hash": kr.params_hash,
            "code": kr.code, "upstream": kr.upstream_keys, "kind": err.get("kind"),
            "error_class": err.get("error_class"), "message": err.get("message"),
            "traceback": err.get("traceback", ""), "attempts": st.attempts,
            "duration_s": err.get("duration_s"), "host": err.get("host"), "finished": now_iso(),
        })
        self.outcomes.append(RunOutcome(name, "failed", error_class=err.get("error_class"),
                                        error=err.get("message"), attempts=st.attempts,
                                        duration_s=err.get("duration_s")))
        for d in st.dependents:
            self._skip(d, name)

    def _memory_kill(self, err: dict) -> dict | None:
        """An OutOfMemory error when the worker named in a LostWorker error was restarted by its
        nanny for exceeding its memory budget (Dask's ``worker-restart-memory`` event), else None."""
        addresses = set(_WORKER_ADDRESS.findall(err.get("message") or ""))
        if not addresses or self._session is None:
            return None
        try:
            events = self.client.get_events("worker-restart-memory")
        except Exception:  # noqa: BLE001 - no events: keep LostWorker
            return None
        for _, event in reversed(events or ()):
            if isinstance(event, dict) and event.get("worker") in addresses:
                rss = event.get("rss") or 0
                return {**err, "kind": "lost_worker", "error_class": "OutOfMemory",
                        "message": f"the worker running it ({event['worker']}) was restarted for using too much "
                                   f"memory ({rss / 1e9:.2f} GB resident, above its memory limit's terminate "
                                   "threshold); this run or one beside it on that worker outgrew it: give "
                                   "workers more memory (the profile's memory_limit or job memory) or make "
                                   "the run use less"}
        return None

    def _skip(self, name: str, because: str) -> None:
        st = self.states[name]
        if st.state in TERMINAL:
            return
        if st.state == "ready":
            self.ready.remove(name)
        st.state = "skipped"
        self.counts["skipped"] += 1
        kr = st.kr
        upstream_state = self.states[because].state
        reason = f"upstream {because!r} {upstream_state}"
        self.ledger.record_error(name, {
            "name": name, "status": "skipped", "key": kr.key, "fn": kr.fn_path, "params_hash": kr.params_hash,
            "code": kr.code, "upstream": kr.upstream_keys, "reason": reason, "error_class": None,
            "attempts": 0, "finished": now_iso(),
        })
        self.outcomes.append(RunOutcome(name, "skipped", error=reason))
        for d in st.dependents:
            self._skip(d, name)

    # -- bookkeeping -----------------------------------------------------------------------------
    def _observe(self, fn_path: str, duration_s: float, weight: float = 0.3) -> None:
        """Update the expected duration of a run of ``fn_path`` (seconds): an exponential moving
        average, so a slow first call (imports, caches) stops counting after a few runs."""
        old = self.group_stats.get(fn_path)
        self.group_stats[fn_path] = duration_s if old is None else (1 - weight) * old + weight * duration_s

    def _seed_group_stats(self) -> None:
        """Durations of earlier runs of the same function (from the store) seed packing."""
        for rec in self.records.values():
            if rec.status == "done" and rec.data.get("fn") and rec.data.get("duration_s") is not None:
                self._observe(rec.data["fn"], float(rec.data["duration_s"]))

    def running_count(self) -> int:
        return sum(len(v) for v in self.in_flight.values())

    def _tick(self, force: bool = False) -> None:
        """Refresh progress (rate-limited; the final line comes from ``close``) and, every few
        seconds or when ``force``, the study record."""
        if self.progress is not None:
            self.progress.update(self.snapshot())
        now = time.monotonic()
        if self._study_dirty and (force or now - self._study_flushed > self._flush_interval_s):
            self.flush_study()

    def snapshot(self) -> dict:
        c = self.counts
        running = self.running_count()
        slots = self._slots if self._session is not None else 0
        if slots:
            running = min(running, slots)  # the rest of the window waits in the scheduler's queue
        return {"total": c["total"], "done": c["done"], "failed": c["failed"], "skipped": c["skipped"],
                "running": running, "resumed": c["resumed"],
                "pending": c["total"] - c["done"] - c["failed"] - c["skipped"] - running}

    def flush_study(self) -> None:
        runs = []
        for name, st in self.states.items():
            kr = st.kr
            runs.append({"name": name, "fn": kr.fn_path, "params": kr.run.params, "after": kr.upstream,
                         "key": kr.key, "retries": st.policy.retries, "timeout_s": st.policy.timeout_s})
        t0 = time.monotonic()
        self.ledger.write_study({"name": self.study.name, "seed": self.study.seed, "store": self.store.url,
                                 "updated": now_iso(), "runs": runs})
        self._study_dirty = False
        self._study_flushed = time.monotonic()
        # a big study record (10,000s of runs on S3) is rewritten less often: at most ~2% of the time
        self._flush_interval_s = max(5.0, 50 * (self._study_flushed - t0))

    def close(self) -> None:
        if self._study_dirty:
            try:
                self.flush_study()
            except Exception:  # noqa: BLE001 - closing must not hide the outcome
                pass
        for fut in list(self.in_flight):
            fut.cancel()
        self.in_flight.clear()
        if self._session is not None:
            self._session.close()
            self._session = None
        if self.progress is not None:
            self.progress.close(self.snapshot())

    def __enter__(self) -> "Fleet":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


#: a Dask worker address in an error message ("... was tcp://127.0.0.1:38113.")
_WORKER_ADDRESS = re.compile(r"\b((?:tcp|tls|ucx|inproc)://[\w.\-\[\]:/]*\d)")


def _future_exception(fut) -> BaseException:
    try:
        exc = fut.exception(timeout=5)
    except Exception as e:  # noqa: BLE001 - cancelled futures raise here
        return e
    return exc if exc is not None else RuntimeError(f"task ended with status {fut.status}")


def _infra_error(exc: BaseException) -> dict:
    """Classify an exception raised outside the run function (the run's own errors are rows)."""
    cls = type(exc).__name__
    if cls == "KilledWorker":
        return {"kind": "lost_worker", "error_class": "LostWorker",
                "message": f"the worker running it died ({exc})", "traceback": ""}
    if cls in ("CancelledError", "FutureCancelledError", "CommClosedError"):
        return {"kind": "lost_worker", "error_class": "LostWorker",
                "message": f"the task was cancelled or its worker was lost ({cls}: {exc})", "traceback": ""}
    return {"kind": "infrastructure", "error_class": cls, "message": str(exc)[:2000], "traceback": ""}


def open_fleet(name: str, store: str, **kwargs) -> Fleet:
    """A :class:`Fleet` for dynamic submission; use it as a context manager."""
    return Fleet(name, store, **kwargs)


@dataclass
class StudySummary:
    """The end of ``run_study``: counts, exit code (0 all done, 1 some failed or skipped), where."""

    study_url: str
    counts: dict
    outcomes: dict[str, RunOutcome]

    @property
    def exit_code(self) -> int:
        return 0 if self.counts.get("failed", 0) == 0 and self.counts.get("skipped", 0) == 0 else 1


def prepare(study: Study, store: str | None, storage_options: dict | None):
    """Validate a study and its store (nothing written); return (store url, storage options)."""
    study.validate()
    url = store or study.store
    if not url:
        raise InputError(f"{study.source}: store: no store given (set 'store:' in the study or pass --store)")
    options = dict(study.storage_options)
    options.update(storage_options or {})
    return url, options


def run_study(study: Study, *, cluster=None, store: str | None = None, storage_options: dict | None = None,
              workers: int | None = None, progress: bool | Progress = True, max_in_flight: int | None = None,
              pack_target_s: float = 0.2, keep_outcomes: bool = True, preflight: bool = False) -> StudySummary:
    """Run a study to the end on a cluster (default: embedded local) and return its summary.

    Raises InputError before anything is written if the study, the store or the cluster profile
    is bad; PreflightFailed (with the table) if ``preflight`` and the workers cannot run it.
    """
    url, options = prepare(study, store, storage_options)
    if isinstance(cluster, str) and cluster != "local":
        from .config import get_profile

        get_profile(cluster)  # an unknown or invalid profile is bad input, before anything is written
    prog = progress if isinstance(progress, Progress) else (Progress(study.name) if progress else None)
    env = _worker_env(study)
    fleet = Fleet(study.name, url, seed=study.seed, storage_options=options, cluster=cluster, workers=workers,
                  defaults={"retries": study.policy.retries, "backoff_s": study.policy.backoff_s,
                            "timeout_s": study.policy.timeout_s, "pack": study.pack_default},
                  version=study.version, max_in_flight=max_in_flight, pack_target_s=pack_target_s,
                  progress=prog, worker_env=env, source=study.source, preflight=preflight)
    outcomes: dict[str, RunOutcome] = {}
    with fleet:
        fleet.submit(study.runs.values(), checked=True)
        for o in fleet.as_completed():
            if keep_outcomes:
                outcomes[o.name] = o
        counts = fleet.snapshot()
    return StudySummary(study_url=fleet.ledger.root, counts=counts, outcomes=outcomes)


def _worker_env(study: Study) -> dict:
    """PYTHONPATH for embedded workers: the study file's directory and the current directory."""
    paths = [p for p in (getattr(study, "directory", None), os.getcwd()) if p]
    existing = os.environ.get("PYTHONPATH")
    if existing:
        paths.append(existing)
    return {"PYTHONPATH": os.pathsep.join(dict.fromkeys(paths))}


def plan_study(study: Study, store: str | None = None, storage_options: dict | None = None) -> list[dict]:
    """What ``run_study`` would do, without running anything or writing to the store.

    One row per run in topological order: ``name``, ``action`` (``run`` | ``done``) and ``reason``.
    """
    from .store import Store

    url, options = prepare(study, store, storage_options)
    ledger = Ledger(Store(url, options), study.name)
    records, _ = ledger.load()
    deps = study.validate()
    fns = {n: resolve_fn(study.runs[n].fn, n) for n in deps}
    keyed = key_runs(study.runs, deps, fns, {}, study.version, study.seed)
    rows = []
    will_run: set[str] = set()
    for name, kr in keyed.items():
        reason = rerun_reason(kr, records.get(name))
        if reason is None and any(u in will_run for u in kr.upstream):
            reason = "upstream will re-run"
        if reason is not None:
            will_run.add(name)
        rows.append({"name": name, "action": "run" if reason else "done", "reason": reason or "done, same key"})
    return rows


__all__ = ["Fleet", "RunOutcome", "StudySummary", "open_fleet", "run_study", "plan_study", "Record"]

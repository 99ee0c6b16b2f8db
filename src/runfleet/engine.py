"""The engine: runs a fleet's ready runs on an execution backend, bounded in flight, with retries.

One mechanism serves both static studies and dynamic submission: a :class:`Fleet` accepts runs
at any time (``submit``) and reports each run's end (``as_completed``). ``run_study`` submits a
whole study and drains it. The engine is the loop; each decision lives in its own module:

- :mod:`runfleet.runstate` - the run state machine (one transition method, counts per state);
- :mod:`runfleet.packing` - how many short runs share a task;
- :mod:`runfleet.failures` - which error class an attempt's exception is;
- :mod:`runfleet.backends` - where tasks execute (Dask cluster, or serially in this process);
- :mod:`runfleet.ledger` - the records in the store (markers, failures, skips).

Behaviour:

- Bounded submission: at most ``max_in_flight`` tasks are in the backend at once; the window
  is topped up as tasks finish, so 100,000 runs never become one giant graph.
- Failure is a row: a run that raises, loses its worker or times out is retried by its policy,
  then recorded with class and traceback; only its dependents are skipped.
- The driver holds only small status rows; results stay in the store.
- Open, then write: the backend (cluster) is started, and preflight passed, before the fleet
  writes anything to the store.
"""
from __future__ import annotations

import collections
import heapq
import itertools
import os
import time
import uuid
from dataclasses import dataclass
from typing import Any, Iterable, Iterator

from .accounting import finish_accounting
from .backends import ExecutionBackend, Task, make_backend
from .errors import InputError, SchedulerLost, StoreUnavailable, _first_line
from .executor import PackRows, Specs
from .failures import task_failure, timeout_failure
from .ledger import Ledger, Record, RunRecord, attempt_entry
from .packing import MAX_PACK, PackingPolicy
from .plan import KeyedRun, PlainKeyer, iter_key_runs, key_run, needs_run, plain_chunks, rerun_reason
from .progress import Progress
from .values import decode_value
from .studyrecord import SHARD_ROWS
from .runstate import RunState, RunTable
from .study import (AfterGroup, Run, Study, call_style, check_run_fields, resolve_after_groups, resolve_fn,
                    topological_order)

S = RunState

#: ``distributed.admin.low-level-log-length`` while runfleet runs: distributed keeps the last
#: N messages of every batched stream (client -> scheduler, scheduler -> each worker) for
#: debugging; each of runfleet's messages is a pack of up to 2,000 run specs, so distributed's
#: default of 1,000 kept every spec of a 1,000,000-run study alive in the driver (the embedded
#: cluster's scheduler runs in it). A value the user set (anything but that default) is kept.
LOW_LEVEL_LOG_LENGTH = 10


def _bound_low_level_logs() -> None:
    import dask.config

    if dask.config.get("distributed.admin.low-level-log-length", None) in (None, 1000):
        dask.config.set({"distributed.admin.low-level-log-length": LOW_LEVEL_LOG_LENGTH})


_bound_low_level_logs()
#: runs in flight at most (beyond the tasks that keep every slot busy): a window of 32 packs of
#: 2,000 runs would hold 64,000 specs on the driver
MAX_RUNS_IN_FLIGHT = 16_000
#: a batch of more runs than this is keyed and added in bulk (:meth:`Fleet.submit`)
PLAIN_BULK_MIN = 10_000


@dataclass(slots=True)
class RunOutcome:
    """How a run ended in this invocation.

    Parameters
    ----------
    name : str
        The run.
    status : str
        ``done`` | ``failed`` | ``skipped``.
    value : Any
        The returned value when done.
    error_class, error : str or None
        The last error's class and message (failed), or the reason (skipped, in ``error``).
    attempts : int
        Attempts made in this invocation (0 when resumed from the store).
    duration_s : float or None
        The successful (or last) attempt's duration in seconds.
    resumed : bool
        True when the run was already done in the store and did not execute.
    """

    name: str
    status: str
    value: Any = None
    error_class: str | None = None
    error: str | None = None
    attempts: int = 0
    duration_s: float | None = None
    resumed: bool = False


class _DoneBatch:
    """The done runs of one pack, queued for :meth:`Fleet.as_completed` (their
    :class:`RunOutcome` objects are made when yielded, not kept per run)."""

    __slots__ = ("names", "positions", "values", "durations", "next")

    def __init__(self, names, positions, values, durations):
        self.names, self.positions, self.values, self.durations = names, positions, values, durations
        self.next = 0  # the next one to yield


class Fleet:
    """A live study: runs can be submitted at any time; ``as_completed`` yields their outcomes.

    Build one with :func:`open_fleet` (dynamic submission) or let :func:`run_study` do it.

    Parameters
    ----------
    study : Study
        The study, its header validated (name, seed); its runs, if any, are not submitted here.
    store : runfleet.store.Store
        The resolved store (checked writable by the entry point).
    cluster : None, str, runfleet.config.Profile or distributed.Client
        ``"serial"`` (in this process), None/``"local"`` (embedded LocalCluster), a profile name
        or an existing client.
    workers : int, optional
        Worker count for backends that start workers.
    max_in_flight : int, optional
        Tasks in the backend at once (default: max(32, 4 x worker threads)).
    pack_target_s : float
        Runs shorter than this (seconds, from earlier durations) are packed several to a task.
    progress : Progress, optional
        Where counts are reported.
    worker_env : dict, optional
        Extra environment for worker processes.
    preflight : bool
        Check the workers (imports, versions, store, env) when the backend starts.
    backend : ExecutionBackend, optional
        Use this backend instead of the one ``cluster`` selects.
    """

    def __init__(self, study: Study, store, *, cluster=None, workers: int | None = None,
                 max_in_flight: int | None = None, pack_target_s: float = 0.2, progress: Progress | None = None,
                 worker_env: dict | None = None, preflight: bool = False, backend: ExecutionBackend | None = None):
        self.study = study
        self.store = store
        self.ledger = Ledger(store, study.name)
        self.records, self.dirty_dirs = self.ledger.load()
        self.runs = RunTable()
        self.ready: collections.deque[str] = collections.deque()
        self.retry_heap: list[tuple[float, str]] = []
        self.in_flight: dict[Any, list[str]] = {}
        self.probes: dict[Any, str] = {}  # probe handle -> fn path
        self._runs_in_flight = 0  # runs in the tasks of in_flight (their specs live in the driver until done)
        self._saturated_at = None  # the state in which no ready run could be brought forward
        self.outcomes: collections.deque = collections.deque()  # RunOutcome, a resumed run's name, or a _DoneBatch
        self.counts = collections.Counter()
        self.packing = PackingPolicy(pack_target_s, MAX_PACK)
        self.backend = backend or make_backend(cluster, workers=workers, env=worker_env, store=store,
                                               study=study.name)
        if max_in_flight is not None and (isinstance(max_in_flight, bool) or not isinstance(max_in_flight, int)
                                          or max_in_flight < 1):
            raise InputError(f"max_in_flight: expected a positive number of tasks, got {max_in_flight!r}")
        self._max_in_flight = max_in_flight
        self._preflight = preflight
        self.progress = progress
        self._may_write = False  # set once the backend started (open, then write)
        self._study_dirty = False
        self._study_written = False
        self._record = None  # the study record's writer (created at the first flush)
        self._recorded = 0  # runs of the table already in the study record
        self._study_flushed = 0.0
        self._store_checked = False  # the writability probe: before the first write, only if one happens
        self._flush_interval_s = 5.0
        self.cost = None  # runfleet.accounting.CostSummary of this invocation, after close()

    # -- compatibility views -----------------------------------------------------------------------
    @property
    def states(self) -> RunTable:
        """The run table (name -> :class:`~runfleet.runstate.RunEntry`)."""
        return self.runs

    @property
    def pack_target_s(self) -> float:
        return self.packing.target_s

    # -- backend ---------------------------------------------------------------------------------
    def start(self) -> None:
        """Start the execution backend (start or connect the cluster) and, if asked, run preflight.

        Called by :func:`run_study` before anything is written, and by :meth:`as_completed` when
        the first task must be submitted and ``start`` was not called yet. Idempotent.

        Raises
        ------
        runfleet.errors.InputError, runfleet.errors.ClusterUnavailable, runfleet.errors.PreflightFailed
            When the cluster cannot be obtained or its workers cannot run the study; nothing has
            been written to the store by the fleet then.
        """
        if self.backend.started:
            return
        self._check_writable()
        self._seed_durations()  # only a fleet that executes something packs (not a resume with nothing to do)
        self.backend.start(self.runs.fn_paths())
        line = self.backend.describe()
        if self.progress is not None and line:
            self.progress.message(line)
        if self._preflight:
            modules = sorted({p.split(":")[0] for p in self.runs.fn_paths(by_name=True)})
            self.backend.preflight(self.store, modules, self.progress)
        if self.progress is not None:
            self.progress.cluster_ready()
        self._may_write = True

    def _check_writable(self) -> None:
        """Probe the store's writability once, before the fleet's first write (a resume with
        nothing to do writes nothing and makes no probe: docs/requests.md)."""
        if not self._store_checked:
            self.store.check_writable()
            self._store_checked = True

    def slots(self) -> int:
        """Tasks the backend can execute at once (0 before it started or while no worker is connected)."""
        return self.backend.slots() if self.backend.started else 0

    @property
    def max_in_flight(self) -> int:
        return self._max_in_flight or max(32, 4 * self.slots())

    # -- submission ------------------------------------------------------------------------------
    def submit(self, runs: Iterable[Run], *, checked: bool = False, resolved: tuple | None = None) -> list[str]:
        """Add runs; return their names in topological order.

        ``after`` may name runs of this call or earlier calls. Runs already done in the store
        with the same key are reported done (``resumed``) without executing.

        Parameters
        ----------
        runs : iterable of Run, or dict
            The runs, or ``{name: Run}`` (e.g. ``Study.runs``: used as is, not copied).
        checked : bool
            True when the runs were validated already (``run_study`` validates the whole study).
        resolved : tuple, optional
            ``(deps, groups, order)`` from :meth:`runfleet.study.Study.checked` of these runs, into
            a fleet with no runs yet: their ``after`` is not resolved again.

        Raises
        ------
        InputError
            On a bad run; nothing of the call is submitted then.
        """
        src = self.study.source
        if isinstance(runs, dict):  # {name: Run}: no second dict of a million runs
            batch: dict[str, Run] = runs
            taken = self.runs.keys()
            # the common case checked in bulk (a study's runs into a new fleet); else run by run
            clean = (checked and all(name == run.name for name, run in runs.items())
                     and (not taken or taken.isdisjoint(runs)))
            for name, run in (() if clean else runs.items()):
                if name != run.name:
                    raise InputError(f"{src}: runs: run {run.name!r} is given under the name {name!r}")
                if name in self.runs:
                    raise InputError(f"{src}: runs: duplicate run name {name!r}")
                if not checked:
                    check_run_fields(run, src)
        else:
            batch = {}
            for run in runs:
                if run.name in self.runs or run.name in batch:
                    raise InputError(f"{src}: runs: duplicate run name {run.name!r}")
                if not checked:
                    check_run_fields(run, src)
                batch[run.name] = run
        if resolved is not None and not len(self.runs):
            deps, groups, order = resolved
        else:
            deps, groups = resolve_after_groups(batch, src, known=self.runs.keys())
            order = topological_order(deps, src)
        if len(order) != len(deps) or any(a is not b for a, b in zip(order, deps)):
            deps = {n: deps[n] for n in order}  # keyed in topological order
        fns: dict = {}

        def fn_of(n: str):  # resolved once per distinct fn, not once per run
            fn = batch[n].fn
            try:
                got = fns.get(fn)
            except TypeError:  # an unhashable callable
                return resolve_fn(fn, f"{src}: run {n!r}: fn")
            if got is None:
                got = fns[fn] = resolve_fn(fn, f"{src}: run {n!r}: fn")
            return got

        table = self.runs
        if len(order) > PLAIN_BULK_MIN:
            # a big batch: runs without upstreams (most of a grid) keyed and added in bulk, the
            # others one at a time as they come in topological order; nothing kept per run
            if not checked:
                for n in order:  # what keying checks, before anything is added
                    call_style(batch[n], fn_of(n), src)
            keyer = PlainKeyer(fn_of, self.study.version, self.study.seed, src, check_calls=False)
            for chunk in plain_chunks(deps, batch):
                if not isinstance(chunk, str):
                    self._add_plain(chunk, batch, keyer)
                    continue
                self._add_keyed(key_run(batch[chunk], deps[chunk], fn_of(chunk), lambda u: table[u].kr.key,
                                        self.study.version, self.study.seed, src, self.study.storage_options), groups)
        else:  # a small batch is keyed first, so a bad run leaves the fleet untouched
            for kr in list(iter_key_runs(batch, deps, fn_of, lambda u: table[u].kr.key, self.study.version,
                                         self.study.seed, src, self.study.storage_options)):
                self._add_keyed(kr, groups)
        self._study_dirty = True
        return order

    def _add_keyed(self, kr: KeyedRun, groups: dict) -> None:
        """Add one keyed run to the table and move it on: done (resumed), ready or waiting."""
        table = self.runs
        counts = self.counts
        name = kr.name
        run = kr.run
        pack = run.pack if run.pack is not None else self.study.pack_default
        g = groups.get(name)
        policy = (self.study.policy if run.retries is None and run.backoff_s is None and run.timeout_s is None
                  else self.study.policy_for(run))  # the default is shared by every run that sets none
        entry = table.add_keyed(name, kr, policy, packable=pack is not False, dirty=name in self.dirty_dirs,
                                after_groups=g, tolerated=frozenset(AfterGroup.tolerated(g)) if g else None)
        counts["total"] += 1
        for u in kr.upstream:
            table.add_dependent(u, name)
        record = self.records.get(name)
        if record is not None and record.status == "done" and record.key == kr.key and (
                not kr.upstream or not needs_run(kr, record, (u for u in kr.upstream
                                                              if not table[u].resumed))):
            # the same rule as plan_study (the dry run): done in the store with this key
            table.move(name, S.DONE)
            entry.value = record.value
            entry.resumed = True
            counts["done"] += 1
            counts["resumed"] += 1
            self.outcomes.append(name)  # its RunOutcome is made when it is yielded
            return
        if not kr.upstream and not run.skip_reason:  # nothing to wait for (what _place decides)
            table.move(name, S.READY)
            self.ready.append(name)
            return
        table.move(name, S.WAITING)
        self._place(name)

    def _add_plain(self, names: list[str], batch: dict, keyer: PlainKeyer) -> None:
        """Add runs without upstreams, input files or skip reason (:func:`runfleet.plan.is_plain`)
        in bulk: the same keys, states, counts and outcomes as :meth:`_add_keyed` run by run."""
        table = self.runs
        runs = [batch[n] for n in names]
        keys, phashes, frames = keyer.key(names, runs)
        single, positions, stored_keys, stored_values, _ = self.records.done_columns()
        single_get, pos_get = single.get, positions.get
        dirty = self.dirty_dirs
        pack_default = self.study.pack_default
        default_policy = table.shared_policy(self.study.policy)
        policy_for = self.study.policy_for
        infos: dict = {}
        info_col, policies, values, resumed, ready = [], [], [], [], []
        flags, states = bytearray(), bytearray()
        done_code, ready_code = table.state_code(S.DONE), table.state_code(S.READY)
        add_info, add_policy, add_value = info_col.append, policies.append, values.append
        add_flag, add_state = flags.append, states.append
        last_fr = info = None
        plain_types = (dict, list)  # values decode_value changes; others are stored as they are
        for name, run, key, fr in zip(names, runs, keys, frames):
            if fr is not last_fr:
                info = infos.get(id(fr))
                if info is None:
                    info = infos[id(fr)] = table.fn_info(fr[0], fr[1], fr[2], fr[3], isinstance(run.fn, str))
                last_fr = fr
            add_info(info)
            add_policy(default_policy if run.retries is None and run.backoff_s is None
                       and run.timeout_s is None else table.shared_policy(policy_for(run)))
            pack = run.pack
            flag = (0 if (pack if pack is not None else pack_default) is False else 1) | (2 if name in dirty else 0)
            # the same rule as _add_keyed for a run without upstreams: done in the store with this key
            rec = single_get(name)
            if rec is None:
                p = pos_get(name)
                if p is not None and stored_keys[p] == key:
                    value = stored_values[p]
                    add_value(decode_value(value) if value.__class__ in plain_types else value)
                    add_flag(flag | 4)
                    add_state(done_code)
                    resumed.append(name)
                    continue
            elif rec.status == "done" and rec.key == key:
                add_value(rec.value)
                add_flag(flag | 4)
                add_state(done_code)
                resumed.append(name)
                continue
            add_value(None)
            add_flag(flag)
            add_state(ready_code)
            ready.append(name)
        table.add_plain(names, runs, info_col, bytes.fromhex("".join(keys)), bytes.fromhex("".join(phashes)),
                        policies, bytes(flags), bytes(states), values)
        counts = self.counts
        counts["total"] += len(names)
        counts["done"] += len(resumed)
        counts["resumed"] += len(resumed)
        self.outcomes.extend(resumed)  # their RunOutcomes are made when yielded
        self.ready.extend(ready)

    def _place(self, name: str, ended: str | None = None) -> None:
        """Move a waiting run on as its upstreams allow: ready (all done, or, for an aggregator
        over survivors, all terminal and enough done), skipped (a required upstream failed or
        was skipped, or too few done), else leave it waiting. ``ended``: the upstream that just
        ended (only it is checked for failure; None checks them all)."""
        entry = self.runs[name]
        if entry.state is not S.WAITING:
            return
        if entry.kr.run.skip_reason:  # declared skipped at plan time: never executed
            self._skip(name, None, reason=" ".join(entry.kr.run.skip_reason.split()))
            return
        ups = entry.kr.upstream
        tolerated = entry.tolerated
        for u in (ups if ended is None else (ended,)):
            if u not in tolerated and self.runs[u].state in (S.FAILED, S.SKIPPED):
                self._skip(name, u)
                return
        if not all(self.runs[u].state.terminal for u in ups):
            return
        groups = entry.after_groups
        for g in groups or ():
            if g.min_done is None or not g.names:
                continue
            done = sum(1 for u in g.names if self.runs[u].state is S.DONE)
            if done / len(g.names) < g.min_done:
                self._skip(name, None, reason=f"only {done} of {len(g.names)} upstream runs matching {g.pattern!r} "
                                              f"done ({done / len(g.names):.2f} < min_done {g.min_done:g})")
                return
        self.runs.move(name, S.READY)
        self.ready.append(name)

    def has_work(self) -> bool:
        """True while some run is ready, running, waiting or backing off."""
        return bool(self.ready or self.in_flight or self.retry_heap or self.runs.count(S.WAITING))

    # -- the loop --------------------------------------------------------------------------------
    def as_completed(self) -> Iterator[RunOutcome]:
        """Yield each run's outcome as it ends, until nothing is left to do.

        Submitting more runs while iterating is allowed. The backend is started (:meth:`start`)
        when the first task must be submitted.
        """
        return self._loop(yield_outcomes=True)

    def _loop(self, yield_outcomes: bool) -> Iterator[RunOutcome]:
        """The engine's loop; ``yield_outcomes`` False: drain without making an outcome per run
        (:meth:`wait`: a resume of 1,000,000 runs makes no million ``RunOutcome``)."""
        while True:
            if not yield_outcomes:
                self.outcomes.clear()
            while self.outcomes:
                o = self.outcomes[0]
                if isinstance(o, _DoneBatch):  # a pack's done runs: their outcomes made as yielded
                    attempts = self.runs.attempts_at
                    while o.next < len(o.names):  # the rest stays queued if the caller stops iterating
                        k = o.next
                        o.next = k + 1
                        yield RunOutcome(o.names[k], "done", o.values[k], attempts=attempts(o.positions[k]),
                                         duration_s=o.durations[k])
                    self.outcomes.popleft()
                    continue
                self.outcomes.popleft()
                yield self._resumed_outcome(o) if isinstance(o, str) else o
            if not self.has_work():
                break
            if self.ready and not self.backend.started:
                self.start()
            self._promote_retries()
            try:
                self._top_up()
            except Exception:
                if not self.backend.lost():
                    raise
            if self.backend.lost():
                self._scheduler_lost()
                continue
            wait_s = 0.5
            if self.retry_heap:
                wait_s = max(0.0, min(wait_s, self.retry_heap[0][0] - time.monotonic()))
            if self.in_flight:
                finished = self.backend.wait(wait_s)
                if self.backend.lost():  # cancelled with the scheduler: not an attempt of theirs
                    self._scheduler_lost()
                    continue
                if finished:
                    self._finished(finished)
            elif self.retry_heap:
                time.sleep(wait_s)
            elif not self.ready:
                stuck = self.runs.names_in(S.WAITING)
                raise RuntimeError(f"runs waiting on runs that can never finish: {stuck[:5]}")
            self._tick()
        if not self.backend.started:
            self._may_write = True  # nothing needed a cluster: every run was already in the store
        self._verify_record()
        self._tick(force=True)

    def _resumed_outcome(self, name: str) -> RunOutcome:
        """The outcome of a run found done in the store (made when yielded, not kept per run)."""
        lookup = self._resume_lookup
        if lookup is None:
            single, positions, _, _, durations = self.records.done_columns()
            lookup = self._resume_lookup = (single.get, positions.get, durations, *self.runs.value_lookup())
        single_get, pos_get, durations, position, values = lookup
        record = single_get(name)
        if record is not None:
            duration = record.duration_s
        else:
            p = pos_get(name)
            duration = None if p is None else durations[p]
        return RunOutcome(name, "done", values[position(name)], attempts=0, duration_s=duration, resumed=True)

    #: (single.get, positions.get, durations, value_of) for :meth:`_resumed_outcome`, made once
    _resume_lookup = None

    def wait(self) -> dict:
        """Drain everything submitted; return the counts (no outcome is made)."""
        for _ in self._loop(yield_outcomes=False):
            pass
        return dict(self.counts)

    def _promote_retries(self) -> None:
        now = time.monotonic()
        while self.retry_heap and self.retry_heap[0][0] <= now:
            _, name = heapq.heappop(self.retry_heap)
            if self.runs[name].state is S.BACKOFF:
                self.runs.move(name, S.READY)
                self.ready.appendleft(name)

    def _top_up(self) -> None:
        policy = self.packing
        busy = 2 * max(1, self.slots())  # tasks that keep every slot busy, whatever their size
        while self.ready and len(self.in_flight) < self.max_in_flight and (
                self._runs_in_flight < MAX_RUNS_IN_FLIGHT or len(self.in_flight) < busy):
            name = self.ready[0]
            entry = self.runs[name]
            group = entry.kr.fn_path
            fresh = entry.packable and entry.attempts == 0
            if fresh and not policy.known(group):
                # unknown duration: probe with one run per slot before packing the rest. A cluster
                # at zero workers (adapt from 0) gets a full window of single runs instead, so
                # its adaptive scaling sees the real queue and starts enough workers.
                if not policy.may_probe(group, self._probe_limit()):
                    # this group has a probe per slot already: bring forward a run whose group is
                    # not saturated, else stop topping up this turn (a probe ending frees a slot)
                    if not self._bring_forward_unsaturated():
                        return
                    continue
                policy.probe_started(group)
                self.ready.popleft()
                self._submit_task([name], probe=True)
                continue
            size = policy.pack_size(group, len(self.ready), self.slots()) if fresh else 1
            ready = self.ready
            names = [ready.popleft()]
            if size > 1:  # the fresh runs of the same function that follow it at the head of the queue
                k = self.runs.fresh_prefix(ready, group, size - 1)
                names += [ready.popleft() for _ in range(k)]
            self._submit_task(names)

    def _probe_limit(self) -> int:
        return self.slots() or self.max_in_flight

    def _bring_forward_unsaturated(self) -> bool:
        """Move the first ready run that may be submitted now to the front of the queue.

        A run may be submitted now unless it is a fresh packable run of a function whose duration
        is unknown and which has a probe in flight per slot already (a *saturated* group).
        Returns False when every ready run is in a saturated group: moving any of them to the
        front would only rotate the queue forever.
        """
        policy = self.packing
        limit = self._probe_limit()
        ready = self.ready
        # what the answer depends on: the queue's length and ends, probes in flight, durations
        # known (a done run), the probe limit. An unchanged state has the same (negative) answer:
        # a million ready runs of one function are not scanned again on every loop turn
        state = (len(ready), ready[0] if ready else None, ready[-1] if ready else None, len(self.probes),
                 self.counts["done"], self.counts["failed"], limit)
        if state == self._saturated_at:
            return False
        pack_group = self.runs.pack_group
        for i, n in enumerate(ready):
            g, fresh = pack_group(n)
            if not fresh or policy.known(g) or policy.may_probe(g, limit):
                if i:
                    del ready[i]
                    ready.appendleft(n)
                return True
        self._saturated_at = state
        return False

    def _task_specs(self, positions: list[int]) -> Specs:
        """The specs of a task's runs (started already), encoded once (:class:`~runfleet.executor.Specs`:
        the wire format, docs/engine.md)."""
        shared, columns, sparse = self.runs.task_columns(positions)
        shared["study_seed"] = self.study.seed
        if "attempt_id" in sparse and self.backend.start_may_overlap:
            sparse["overlap_start"] = dict.fromkeys(sparse["attempt_id"], True)
        return Specs.from_columns(len(positions), shared, columns, sparse)

    def _submit_task(self, names: list[str], probe: bool = False) -> None:
        table = self.runs
        positions = table.positions(names)
        table.begin_attempts(positions)
        if len(names) == 1 and self.backend.tracks_attempt_starts:
            # a single run's start is recorded in the store (packs record none: docs/engine.md)
            entry = table[names[0]]
            entry.attempt_id = f"{uuid.uuid4().hex[:24]}{0:08x}-{entry.attempts}"
        group = table.fn_path_at(positions[0])
        mean = self.packing.expected_s(group)
        task = Task(specs=self._task_specs(positions), pack_id=None if len(names) == 1 else uuid.uuid4().hex,
                    label=names[0] if len(names) == 1 else f"pack-{names[0]}+{len(names) - 1}",
                    expected_s=None if mean is None else mean * len(names), names=names)
        handle = self.backend.submit(task)
        self.in_flight[handle] = names
        self._runs_in_flight += len(names)
        if probe:
            self.probes[handle] = group

    def _finished(self, handles: list) -> None:
        """Process finished tasks (their results fetched in one round trip)."""
        handles = [h for h in handles if h in self.in_flight]
        if not handles:
            return
        outcomes = self.backend.results(handles)
        if self.backend.lost():  # the scheduler went away while fetching: the store decides
            self._scheduler_lost()
            return
        for handle, outcome in zip(handles, outcomes):
            names = self.in_flight.pop(handle)
            self._runs_in_flight -= len(names)
            group = self.probes.pop(handle, None)
            if group is not None:
                self.packing.probe_ended(group)
            if isinstance(outcome, BaseException):
                failure = task_failure(outcome)
                if failure.get("kind") == "lost_worker" and len(names) > 1:
                    # a pack lost with its worker: none of its runs committed, and which one was
                    # executing is not known; none is charged, each runs again alone, where a run
                    # that kills its worker is charged (docs/requests.md, "A packed run")
                    for n in names:
                        self._take_back(n, alone=True)
                    continue
                for n in names:
                    if failure.get("kind") == "lost_worker" and not self._attempt_started(n):
                        self._take_back(n)  # only queued on the dead worker: not an attempt
                    else:
                        self._failed_attempt(n, failure)
                continue
            if isinstance(outcome, PackRows):
                self._pack_done(names, outcome)
                for k in sorted(outcome.errors):
                    self._failed_attempt(names[k], outcome.errors[k])
                continue
            for row in outcome:
                if row["status"] == "done":
                    self._done(row)
                else:
                    self._failed_attempt(row["name"], row)

    def _attempt_started(self, name: str) -> bool:
        """True unless the run's current attempt provably never started executing (no start
        marker in the store); without attempt tracking every attempt counts."""
        attempt_id = self.runs[name].attempt_id
        if attempt_id is None:
            return True
        from .store import store_errors

        with store_errors(self.store.url):
            return self.ledger.attempt_started(attempt_id)

    def _take_back(self, name: str, alone: bool = False) -> None:
        """Back to the ready queue without charging an attempt (its task never ran it, or it was
        in a pack lost with its worker); ``alone``: it is not packed again in this invocation."""
        entry = self.runs[name]
        if alone:
            entry.packable = False
        self.runs.move(name, S.READY)
        entry.attempts -= 1
        entry.attempt_id = None
        entry.dirty = True
        self.ready.appendleft(name)
        self.counts["requeued"] += 1

    def _scheduler_lost(self) -> None:
        """The backend lost its scheduler: take back every in-flight run without charging it an
        attempt (runs whose marker is in the store are done: the store is the truth), then
        reconnect within ``runfleet.reconnect-s`` seconds.

        Raises
        ------
        SchedulerLost
            When the scheduler did not come back; the message says what was lost and how many
            runs are committed (the CLI adds the command that resumes).
        """
        from .config import setting

        names = [n for ns in self.in_flight.values() for n in ns]
        for group in self.probes.values():
            self.packing.probe_ended(group)
        self.in_flight.clear()
        self._runs_in_flight = 0
        self.probes.clear()
        records, _ = self.ledger.load()
        for name in names:
            entry = self.runs[name]
            rec = records.get(name)
            if rec is not None and rec.status == "done" and rec.key == entry.kr.key:
                self._done({"name": name, "value": rec.value, "duration_s": rec.duration_s})
                continue
            self._take_back(name)
        within = float(setting("reconnect-s"))
        if self.progress is not None:
            self.progress.message(f"lost {self.backend.lost_what()}; {len(names)} run(s) taken back, "
                                  f"reconnecting for up to {within:g} s")
        try:
            self.backend.reconnect(within)
        except SchedulerLost as e:
            committed = sum(1 for r in records.values() if r.status == "done")
            committed = max(committed, self.counts["done"])
            raise SchedulerLost(f"{e}; {committed} of {self.counts['total']} runs are committed in "
                                f"{self.ledger.root}") from None
        if self.progress is not None:
            self.progress.message(f"reconnected: {self.backend.describe() or 'cluster back'}; resubmitting")

    def _done(self, row: dict) -> None:
        name = row["name"]
        entry = self.runs.move(name, S.DONE)
        entry.value = row.get("value")
        entry.attempt_id = None  # only a run in flight needs it: nothing kept per finished run
        self.counts["done"] += 1
        self.counts["executed"] += 1
        self.packing.observe(entry.kr.fn_path, row.get("duration_s") or 0.0)
        self.outcomes.append(RunOutcome(name, "done", entry.value, attempts=entry.attempts,
                                        duration_s=row.get("duration_s")))
        for d in entry.dependents:
            self._place(d, name)

    def _pack_done(self, names: list[str], rows: PackRows) -> None:
        """The done runs of a finished pack, at once: moved to DONE with their values, counted,
        their mean duration observed once for packing, their outcomes queued as one batch, their
        dependents placed."""
        table = self.runs
        positions = table.positions(names)
        errors = rows.errors
        if errors:
            done = [k for k in range(len(names)) if k not in errors]
            positions = [positions[k] for k in done]
            names = [names[k] for k in done]
            values = [rows.values[k] for k in done]
            durations = [rows.durations[k] for k in done]
        else:
            values, durations = rows.values, rows.durations
        if not positions:
            return
        table.complete(positions, values)
        self.counts["done"] += len(positions)
        self.counts["executed"] += len(positions)
        self.packing.observe(table.fn_path_at(positions[0]), sum(durations) / len(durations))
        self.outcomes.append(_DoneBatch(names, positions, values, durations))
        if table.has_dependents():
            for name, i in zip(names, positions):
                for d in table.dependents_at(i):
                    self._place(d, name)

    def _failed_attempt(self, name: str, failure: dict) -> None:
        entry = self.runs[name]
        if failure.get("error_class") == "StoreUnavailable":
            # the worker could not reach the store: infrastructure, not the run's attempt
            raise StoreUnavailable(_first_line(failure.get("message")) or f"store {self.store.url}: not reachable")
        if failure.get("kind") == "lost_worker" and entry.policy.timeout_s:
            # the worker ended itself because the run ignored its timeout (blocked in C code)
            if self.ledger.timeout_marked(name):
                failure = timeout_failure(entry.policy.timeout_s, ended_worker=True)
        if failure.get("error_class") == "LostWorker":
            failure = self.backend.refine_failure(failure)
        self.runs.add_attempt(name, attempt_entry(entry.attempts, failure))
        entry.dirty = True
        if (entry.attempts <= entry.policy.retries and failure.get("kind") != "unstorable"
                and failure.get("retryable", True)):
            self.runs.move(name, S.BACKOFF)
            delay = entry.policy.backoff_s * (2 ** (entry.attempts - 1))
            heapq.heappush(self.retry_heap, (time.monotonic() + delay, name))
            self.counts["retried"] += 1
            return
        self.runs.move(name, S.FAILED)
        entry.attempt_id = None
        self.counts["failed"] += 1
        self.ledger.record_failure(entry.kr.identity(), failure, attempts=entry.attempts, history=entry.history,
                                   params=entry.kr.run.params)
        self.outcomes.append(RunOutcome(name, "failed", error_class=failure.get("error_class"),
                                        error=failure.get("message"), attempts=entry.attempts,
                                        duration_s=failure.get("duration_s")))
        for d in entry.dependents:
            self._place(d, name)

    def _skip(self, name: str, because: str | None, reason: str | None = None) -> None:
        entry = self.runs[name]
        if entry.state.terminal:
            return
        if entry.state is S.READY:
            self.ready.remove(name)
        self.runs.move(name, S.SKIPPED)
        self.counts["skipped"] += 1
        reason = reason or f"upstream {because!r} {self.runs[because].state.value}"
        self.ledger.record_skip(entry.kr.identity(), reason, params=entry.kr.run.params)
        self.outcomes.append(RunOutcome(name, "skipped", error=reason))
        for d in entry.dependents:
            self._place(d, name)

    # -- bookkeeping -----------------------------------------------------------------------------
    def _seed_durations(self) -> None:
        """Durations of earlier runs of the same function (from the store) seed packing."""
        # the moving average forgets old durations within a few dozen: the last records read suffice
        for rec in list(itertools.islice(reversed(self.records.values()), 10_000))[::-1]:
            if rec.status == "done" and rec.duration_s is not None:
                fn = rec.fn
                if fn:
                    self.packing.observe(fn, float(rec.duration_s))

    def running_count(self) -> int:
        """Runs in tasks submitted to the backend (a counter)."""
        return self.runs.count(S.RUNNING)

    def _tick(self, force: bool = False) -> None:
        """Refresh progress (rate-limited; the final line comes from ``close``) and, every few
        seconds or when ``force``, the study record."""
        if self.progress is not None:
            self.progress.update(self.snapshot())
        now = time.monotonic()
        if self._study_dirty and self._may_write and (force or now - self._study_flushed > self._flush_interval_s):
            self.flush_study()
        elif self._study_written and now - self._study_flushed > self._flush_interval_s:
            self._check_store()

    def _check_store(self) -> None:
        """Heartbeat while nothing needs writing: the store still answers and ``study.json`` is
        still there (a stopped store is found within ``runfleet.store-retry-s`` plus one call's
        timeouts, not only when a run ends).

        Raises
        ------
        StoreUnavailable
            The store does not answer, or the study's record vanished.
        """
        from .store import store_errors

        with store_errors(self.store.url):
            there = self.store.exists(self.ledger.study_path)
        self._study_flushed = time.monotonic()
        if not there:
            raise StoreUnavailable(f"store {self.store.url}: {self.study.name}/study.json vanished while the "
                                   "study ran (bucket re-created or files removed); not reported as done, "
                                   "rerun to redo what is missing")

    def snapshot(self) -> dict:
        """Counts: ``total``, ``done``, ``failed``, ``skipped``, ``running``, ``resumed``, ``pending``."""
        c = self.counts
        running = self.running_count()
        slots = self.slots()
        if slots:
            running = min(running, slots)  # the rest of the window waits in the scheduler's queue
        return {"total": c["total"], "done": c["done"], "failed": c["failed"], "skipped": c["skipped"],
                "running": running, "resumed": c["resumed"],
                "pending": c["total"] - c["done"] - c["failed"] - c["skipped"] - running}

    def _verify_record(self) -> None:
        """Before the summary: every run this fleet counts as done has its record in the store,
        and ``study.json`` is still there (a bucket re-created or files removed while the study
        ran must never be reported as done).

        Raises
        ------
        StoreUnavailable
            Naming what vanished (exit 4); rerunning the same command redoes the missing runs.
        """
        if not self.backend.started and not self._study_written:
            return
        from .store import store_errors

        found = bytearray(len(self.runs))  # by table position: nothing kept per run but a byte
        index = self.runs.index_of
        with store_errors(self.store.url):
            for n in self.ledger.committed_names():
                i = index(n)
                if i is not None:
                    found[i] = 1
            study_there = self.store.exists(self.ledger.study_path) if self._study_written else True
        done = self.runs.positions_in(S.DONE)
        missing = [self.runs.name_at(i) for i in done if not found[i]]
        if missing or not study_there:
            what = [] if study_there else ["study.json"]
            if missing:
                what.append(f"{len(missing)} of {len(done)} done runs' markers (e.g. {missing[0]!r})")
            raise StoreUnavailable(f"store {self.store.url}: the study's record vanished while it ran "
                                   f"({' and '.join(what)} gone: bucket re-created or files removed); "
                                   "not reported as done, rerun to redo what is missing")


    def flush_study(self) -> None:
        """Write the study record (``study.json`` and its shards, incrementally: each flush adds
        the runs submitted since the last one): every run's name, fn, params, after, key, policy.

        Raises
        ------
        StoreUnavailable
            When ``study.json`` written earlier by this fleet is gone (the record vanished), or the
            store does not answer within ``runfleet.store-retry-s``.
        """
        if self._study_written:
            self._check_store()
        t0 = time.monotonic()
        if self._record is None:
            self._record = self.ledger.study_writer({"name": self.study.name, "seed": self.study.seed,
                                                     "store": self.store.url}, before_write=self._check_writable)
        # runs added since the last flush, a shard's worth at a time: the columns of a
        # 1,000,000-run study are never all built in memory at once
        stop = len(self.runs)
        start = self._recorded
        stored = start == 0 and stop > SHARD_ROWS and self._record.already_stored(
            self.runs.record_columns(a, min(stop, a + SHARD_ROWS), params=False) for a in range(0, stop, SHARD_ROWS))
        if stored:  # a resume of an unchanged record: nothing is written
            self._recorded = stop
        while not stored:
            end = min(stop, start + SHARD_ROWS)
            self._record.append_columns(self.runs.record_columns(start, end))
            self._record.flush()
            start = self._recorded = end
            if end >= stop:
                break
        self._study_dirty = False
        self._study_written = True
        self._study_flushed = time.monotonic()
        # a big study record (10,000s of runs on S3) is rewritten less often: at most ~2% of the time
        self._flush_interval_s = max(5.0, 50 * (self._study_flushed - t0))

    def close(self, quiet: bool = False, flush: bool = True, stopped: bool = False) -> None:
        """Write the study record (if the backend was opened and ``flush``), cancel what is in
        flight, close the backend, end the progress output (unless ``quiet``: the cluster could
        not be opened, and the one-line error is all the user should see; ``stopped``: the study
        did not run to its end, and the last line must not say it finished)."""
        if flush and self._study_dirty and self._may_write:
            try:
                self.flush_study()
            except Exception:  # noqa: BLE001 - closing must not hide the outcome
                pass
        self.in_flight.clear()
        self.cost = finish_accounting(self.backend, self.store, self.ledger.root, write=flush) if self._may_write else None
        self._runs_in_flight = 0
        self.backend.close()
        if self.progress is not None and not quiet:
            cost = self.cost.line() if self.cost is not None and self.cost.adaptive else ""
            self.progress.close(self.snapshot(), "stopped" if stopped else "finished", cost=cost)

    def __enter__(self) -> "Fleet":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        self.close(quiet=exc_type is not None and not self.backend.started,
                   flush=not (exc_type is not None and issubclass(exc_type, StoreUnavailable)),
                   stopped=exc_type is not None)


@dataclass
class StudySummary:
    """The end of ``run_study``: counts, exit code (0 all done, 1 some failed or skipped), where.

    Parameters
    ----------
    study_url : str
        ``<store>/<study name>``.
    counts : dict
        ``total``, ``done``, ``failed``, ``skipped``, ``running``, ``resumed``, ``pending``.
    outcomes : dict
        ``{run name: RunOutcome}`` (empty with ``keep_outcomes=False``).
    cost : runfleet.accounting.CostSummary or None
        Worker-seconds paid, busy and idle on a Dask cluster (``None``: serial, or nothing ran).
    """

    study_url: str
    counts: dict
    outcomes: dict[str, RunOutcome]
    cost: Any = None

    @property
    def exit_code(self) -> int:
        return 0 if self.counts.get("failed", 0) == 0 and self.counts.get("skipped", 0) == 0 else 1


def resolve_store(study: Study, store: str | None = None, storage_options: dict | None = None):
    """The study's :class:`~runfleet.store.Store`: ``store`` (or the study's ``store:``) opened
    with the study's storage options updated by ``storage_options``. Nothing is written.

    Raises
    ------
    InputError
        When no store is given.
    """
    from .store import Store

    url = store or study.store
    if not url:
        raise InputError(f"{study.source}: store: no store given (set 'store:' in the study or pass --store)")
    options = dict(study.storage_options)
    options.update(storage_options or {})
    return Store(url, options)


def _check_cluster(cluster):
    """Resolve a cluster name (profile, ``tcp://...``, ``scheduler-file:PATH``, ``local``, ``serial``).

    An unknown or invalid profile is bad input, found before anything is written. Returns what
    the backends take: the argument itself unless it is a string naming a profile or a scheduler.
    """
    from .backends import SERIAL

    if isinstance(cluster, str) and cluster not in ("local", SERIAL):
        from .clusters import resolve_cluster

        return resolve_cluster(cluster)
    return cluster


def open_fleet(name: str, store: str, *, seed: int = 0, storage_options: dict | None = None,
               defaults: dict | None = None, version: str | None = None, source: str = "fleet",
               check_store: bool = True, **engine) -> Fleet:
    """A :class:`Fleet` for dynamic submission; use it as a context manager.

    Parameters
    ----------
    name : str
        The study's name (a plain directory name: letters, digits and ``._=+,@-``).
    store : str
        Store directory or URL.
    seed : int
        Study seed.
    storage_options : dict, optional
        fsspec options for the store (credentials: never printed).
    defaults : dict, optional
        Retry policy fields (``retries``, ``backoff_s``, ``timeout_s``), ``pack`` and ``version``.
    version : str, optional
        Code version token for the content keys.
    source : str
        Where the study comes from, for messages.
    check_store : bool
        Check that the store can be written (a probe file, removed at once).
    **engine
        :class:`Fleet` options: ``cluster``, ``workers``, ``max_in_flight``, ``pack_target_s``,
        ``progress``, ``worker_env``, ``preflight``.

    Returns
    -------
    Fleet

    Raises
    ------
    InputError
        For a bad name (``../escape``), seed, defaults or store, and an unknown cluster profile;
        nothing is written then.
    """
    study = Study(name=name, store=store, seed=seed, defaults=defaults, version=version,
                  storage_options=storage_options, source=source)
    study.validate_header()
    st = resolve_store(study)
    if "cluster" in engine:
        engine["cluster"] = _check_cluster(engine["cluster"])
    if check_store:
        st.check_writable()
    fleet = Fleet(study, st, **engine)
    fleet._store_checked = True  # checked above, or not wanted
    return fleet


def run_study(study: Study, *, cluster=None, store: str | None = None, storage_options: dict | None = None,
              workers: int | None = None, progress: bool | Progress = True, max_in_flight: int | None = None,
              pack_target_s: float = 0.2, keep_outcomes: bool = True, preflight: bool = False) -> StudySummary:
    """Run a study to the end on a cluster (default: embedded local) and return its summary.

    The study is validated, the store checked, the cluster opened and (with ``preflight``) its
    workers checked before anything is written to the store ("open, then write"). A study whose
    runs are all in the store already starts no cluster.

    Parameters
    ----------
    study : Study
        The study.
    cluster : None, str or distributed.Client
        ``"serial"`` (in this process, one run at a time), None/``"local"`` (embedded
        LocalCluster), a profile name, or an existing client.
    store : str, optional
        Store URL overriding the study's ``store:``.
    storage_options : dict, optional
        fsspec options, over the study's.
    workers : int, optional
        Worker count for backends that start workers.
    progress : bool or Progress
        Report progress (a :class:`Progress` of its own when True).
    max_in_flight : int, optional
        Tasks in the backend at once.
    pack_target_s : float
        Target task duration for packing short runs, seconds.
    keep_outcomes : bool
        Keep every run's :class:`RunOutcome` in the summary.
    preflight : bool
        Check the workers before the first run.

    Returns
    -------
    StudySummary

    Raises
    ------
    InputError
        Bad study, store or cluster profile (nothing written).
    runfleet.errors.PreflightFailed
        With the table, if ``preflight`` and the workers cannot run it (nothing written).
    """
    resolved = study.checked()
    st = resolve_store(study, store, storage_options)
    cluster = _check_cluster(cluster)
    prog = progress if isinstance(progress, Progress) else (Progress(study.name) if progress else None)
    from .store import store_errors

    with store_errors(st.url):  # the store is read first; it is probed only before something is written
        fleet = Fleet(study, st, cluster=cluster, workers=workers, max_in_flight=max_in_flight,
                      pack_target_s=pack_target_s, progress=prog, worker_env=_worker_env(study),
                      preflight=preflight)
    outcomes: dict[str, RunOutcome] = {}
    with fleet:
        fleet.submit(study.runs, checked=True, resolved=resolved)
        del resolved
        if fleet.has_work():
            fleet.start()  # open, then write
        if keep_outcomes:
            for o in fleet.as_completed():
                outcomes[o.name] = o
        else:
            fleet.wait()
        counts = fleet.snapshot()
    return StudySummary(study_url=fleet.ledger.root, counts=counts, outcomes=outcomes, cost=fleet.cost)


def _worker_env(study: Study) -> dict:
    """PYTHONPATH for embedded workers: the study file's directory and the current directory."""
    paths = [p for p in (getattr(study, "directory", None), os.getcwd()) if p]
    existing = os.environ.get("PYTHONPATH")
    if existing:
        paths.append(existing)
    return {"PYTHONPATH": os.pathsep.join(dict.fromkeys(paths))}


def plan_study(study: Study, store: str | None = None, storage_options: dict | None = None) -> list[dict]:
    """What ``run_study`` would do, without running anything or writing to the store.

    Parameters
    ----------
    study : Study
        The study.
    store : str, optional
        Store URL overriding the study's.
    storage_options : dict, optional
        fsspec options, over the study's.

    Returns
    -------
    list of dict
        One row per run in topological order: ``name``, ``action`` (``run`` | ``done`` |
        ``skip``, a run declared skipped with ``Run.skip_reason``) and ``reason`` (``new``,
        ``parameters changed: a, b``, ``upstream changed (x)``, the skip reason, ...).
    """
    deps = study.validate()
    ledger = Ledger(resolve_store(study, store, storage_options), study.name)
    records, _ = ledger.load()
    fns: dict = {}

    def fn_of(n: str):  # resolved once per distinct fn
        fn = study.runs[n].fn
        try:
            got = fns.get(fn)
        except TypeError:
            return resolve_fn(fn, n)
        if got is None:
            got = fns[fn] = resolve_fn(fn, n)
        return got

    rows = []
    will_run: set[str] = set()
    runs = study.runs
    keys: dict[str, str] = {}  # of the runs others follow
    followed = {u for ups in deps.values() for u in ups}
    keyer = PlainKeyer(fn_of, study.version, study.seed, study.source, check_calls=False)  # validated above
    single, positions, stored_keys, _, _ = records.done_columns()

    def plain_rows(plain: list[str]) -> None:  # runs without upstreams, keyed in bulk (byte for byte the same keys)
        chunk = [runs[n] for n in plain]
        got, phashes, frames = keyer.key(plain, chunk)
        for name, run, key, ph, fr in zip(plain, chunk, got, phashes, frames):
            if name in followed:
                keys[name] = key
            rec = single.get(name)
            if rec is None:
                p = positions.get(name)
                if p is not None and stored_keys[p] == key:  # needs_run: done in the store with this key
                    rows.append({"name": name, "action": "done", "reason": "done, same key"})
                    continue
                rec = records.get(name)
            reason = rerun_reason(keyer.keyed_run(run, key, ph, fr), rec)
            if reason is not None:
                will_run.add(name)
            rows.append({"name": name, "action": "run" if reason else "done", "reason": reason or "done, same key"})

    for name in plain_chunks(deps, runs):
        if not isinstance(name, str):
            plain_rows(name)
            continue
        kr = key_run(runs[name], deps[name], fn_of(name), keys.__getitem__, study.version, study.seed, study.source,
                     study.storage_options)
        if name in followed:
            keys[name] = kr.key
        executing = [u for u in kr.upstream if u in will_run] if kr.upstream else ()
        reason = rerun_reason(kr, records.get(name), executing)  # needs_run: the rule the engine follows
        if reason is not None and kr.run.skip_reason:
            rows.append({"name": name, "action": "skip", "reason": kr.run.skip_reason})
            continue
        if reason is not None:
            will_run.add(name)
        rows.append({"name": name, "action": "run" if reason else "done", "reason": reason or "done, same key"})
    return rows


def prepare(study: Study, store: str | None, storage_options: dict | None):
    """Validate a study and resolve its store (nothing written); return (store url, storage options).

    Kept for callers of earlier versions; the entry points use :func:`resolve_store`.
    """
    study.validate()
    st = resolve_store(study, store, storage_options)
    return st.url, st.storage_options


__all__ = ["Fleet", "KeyedRun", "Record", "RunOutcome", "RunRecord", "StudySummary", "open_fleet", "plan_study",
           "resolve_store", "run_study"]

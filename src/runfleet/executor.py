"""What runs on a worker: execute one run or a pack of short runs, and commit their markers.

A run's attempt: clear what an earlier attempt may have left in its directory, call
``fn(ctx, **params)`` (or ``fn(**params)`` for a plain function, as the spec's ``takes_ctx`` says)
with a timeout, then write the log and, last, the commit marker. User
exceptions do not escape: they come back to the driver as a small status row with the class and
the traceback. A pack commits all its successful markers in one file, with one write.

Store requests are a budget (docs/requests.md): no request whose answer is known (no clearing of
a directory that never had files, no removal of a failure record that cannot exist), and the
requests that do not depend on each other overlap (:func:`runfleet.store.in_background`): logs
are uploaded while the next run executes and a single run's start marker is removed while its
commit marker is written; the commit marker is still written after everything else of its run(s)
is stored. A pack writes one object: its pack file.
"""
from __future__ import annotations

import ctypes
import os
import platform
import socket
import threading
import time
import traceback
from typing import Any, Callable

from .context import RunContext, seed_globals
from .errors import RunTimeout, StoreUnavailable, UnstorableResult
from .failures import classify, timeout_failure
from .ledger import ERROR, LOG, MARKER, TIMEOUT_MARK, Ledger, RunRecord, now_iso
from .store import Store, in_background
from .values import stored_value

MAX_VALUE_BYTES = 1_000_000  # a returned value is a small status, not a result

_FN_CACHE: dict[str, Callable] = {}
_VERSIONS: dict[str, str] | None = None


def versions() -> dict[str, str]:
    """Versions recorded in every marker (python, runfleet, numpy, pandas, dask)."""
    global _VERSIONS
    if _VERSIONS is None:
        from importlib.metadata import PackageNotFoundError, version

        out = {"python": platform.python_version()}
        for pkg in ("runfleet", "numpy", "pandas", "dask"):
            try:
                out[pkg] = version(pkg)
            except PackageNotFoundError:
                pass
        _VERSIONS = out
    return _VERSIONS


_HOST: str | None = None


def _host() -> str:
    """This machine's host name (asked once per process: every record carries it)."""
    global _HOST
    if _HOST is None:
        _HOST = socket.gethostname()
    return _HOST


def _resolve(fn) -> Callable:
    if callable(fn):
        return fn
    cached = _FN_CACHE.get(fn)
    if cached is None:
        import importlib

        module_name, _, attr = fn.partition(":")
        obj = importlib.import_module(module_name)
        for part in attr.split("."):
            obj = getattr(obj, part)
        _FN_CACHE[fn] = cached = obj
    return cached


def timeout_grace_s() -> float:
    """Seconds a run may keep running after its timeout before its worker process is ended
    (``RUNFLEET_TIMEOUT_GRACE_S`` on the workers, default 30)."""
    return float(os.environ.get("RUNFLEET_TIMEOUT_GRACE_S", "30"))


class _Deadline:
    """Raise RunTimeout in the calling thread after ``seconds``.

    That interrupts Python code. Code blocked in C (a long sleep, a hung extension) does not see
    it: if the run is still going ``timeout_grace_s()`` later and ``hard_kill``, a mark is left in
    its directory and the worker process exits, so the study is never held up forever; the nanny
    restarts the worker and the driver records the run as timed out.
    """

    def __init__(self, seconds: float | None, ledger: Ledger | None = None, name: str | None = None,
                 hard_kill: bool = True):
        self.seconds = seconds
        self.ledger = ledger
        self.name = name
        self.hard_kill = hard_kill
        self.timers: list[threading.Timer] = []
        self.fired = False

    def __enter__(self):
        if self.seconds:
            tid = threading.get_ident()

            def fire():
                self.fired = True
                ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(tid), ctypes.py_object(RunTimeout))

            def kill():
                try:
                    if self.ledger is not None and self.name:
                        self.ledger.mark_timeout(self.name)
                finally:
                    os._exit(75)

            actions = [(self.seconds, fire)]
            if self.hard_kill:
                actions.append((self.seconds + timeout_grace_s(), kill))
            for delay, action in actions:
                timer = threading.Timer(delay, action)
                timer.daemon = True
                timer.start()
                self.timers.append(timer)
        return self

    def __exit__(self, *exc):
        for timer in self.timers:
            timer.cancel()


class _NoDeadline:
    """The deadline of a run without a timeout: nothing to arm (shared by every such run)."""

    fired = False

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return None


_NO_DEADLINE = _NoDeadline()


class AttemptRefused(BaseException):
    """The attempt's start marker existed already: the scheduler re-ran a task whose worker died
    (a ``BaseException``, so a run's ``except Exception`` does not swallow it)."""


class _StartGate:
    """The answer of an attempt's start-marker write (a future of ``Ledger.mark_started``).

    The write is started before the run and overlaps its first steps; :meth:`wait` is called
    before the run's first store access (``ctx.out`` paths, ``ctx.store``, ``ctx.fs``), before
    its log and its commit, so an attempt the store refuses writes nothing (it raises
    :class:`AttemptRefused` there; a store failure is raised as it came).
    """

    def __init__(self, future):
        self.future = future
        self.ok: bool | None = None
        self.error: BaseException | None = None  # the store's failure writing the marker
        self.waited_s = 0.0  # time the run spent waiting here (not the run's own duration), s

    def wait(self) -> None:
        if self.error is not None:
            raise self.error
        if self.ok is None:
            t0 = time.perf_counter()
            try:
                self.ok = bool(self.future.result())
            except BaseException as e:  # noqa: BLE001 - raised to the executor, not the run
                self.error = e
                raise
            finally:
                self.waited_s = time.perf_counter() - t0
        if not self.ok:
            raise AttemptRefused()


def _attempt(spec: dict, ledger: Ledger, store: Store, serial: bool = False,
             pending: list | None = None, gate: _StartGate | None = None,
             commit_id: str | None = None) -> tuple[dict, RunRecord | None]:
    """Run one attempt; return (status row for the driver, record to commit or None). The log's
    upload is appended to ``pending`` (a future) when given, else written before returning.
    ``gate``: the attempt's start marker being written (raises :class:`AttemptRefused`).
    ``commit_id``: the id of the commit the record goes into (a pack's id; a new one when None)."""
    name = spec["name"]
    run_dir = ledger.run_dir(name)
    if spec.get("clear"):
        if gate is not None:
            gate.wait()
        ledger.clear_run(name)
    ctx = RunContext(name=name, study=ledger.study, out=run_dir, storage_options=store.storage_options,
                     study_seed=spec["study_seed"], params=spec["params"], upstream=spec["upstream"],
                     attempt=spec["attempt"], serial=serial, upstream_status=spec.get("upstream_status"))
    if gate is not None:
        ctx._before_write = gate.wait
    started, t0 = now_iso(), time.perf_counter()
    row: dict[str, Any] = {"name": name, "attempt": spec["attempt"], "started": started,
                           "host": _host(), "pid": os.getpid()}
    timeout_s = spec.get("timeout_s")
    deadline = _Deadline(timeout_s, ledger, name, hard_kill=not serial) if timeout_s else _NO_DEADLINE
    try:
        try:
            fn = _resolve(spec["fn"])  # importing the run's module does not count against its timeout
            with deadline:
                if spec.get("takes_ctx", True):
                    value = fn(ctx, **spec["params"])
                else:  # a plain function: its global random generators are seeded like ctx.rng
                    seed_globals(ctx.seed)
                    value = fn(**spec["params"])
        except (RunTimeout, AttemptRefused):
            raise
        except BaseException:
            if deadline.fired:  # the timeout landed while the run was handling another exception
                raise RunTimeout() from None
            if gate is not None:  # a refused attempt reports that, not what it ran into meanwhile
                gate.wait()
            raise
        if gate is not None:
            gate.wait()
        stored, size = stored_value(value)  # NaN/inf tagged; UnstorableResult naming the key path
        if size > MAX_VALUE_BYTES:
            raise UnstorableResult(f"returned value is {size} bytes of JSON; runs must return a small "
                             f"status (< {MAX_VALUE_BYTES} bytes) and write results under ctx.out")
    except AttemptRefused:
        ctx._close()
        raise
    except RunTimeout:
        if gate is not None:
            gate.wait()
        row.update(timeout_failure(spec.get("timeout_s"), ended_worker=False),
                   duration_s=time.perf_counter() - t0, finished=now_iso())
        row["status"] = "error"
        _write_log(ctx, ledger, pending)
        return row, None
    except (KeyboardInterrupt, SystemExit) as e:
        raise e
    except BaseException as e:  # noqa: BLE001 - user code may raise anything
        if gate is not None and gate.error is not None:  # the store failed, not the run
            raise gate.error from None
        kind, error_class = classify(e, in_run=True)  # e.g. a chunk it fanned out lost its worker
        row.update(status="error", kind=kind, error_class=error_class, message=str(e)[:2000],
                   traceback=traceback.format_exc()[-20000:], duration_s=time.perf_counter() - t0,
                   finished=now_iso())
        if getattr(e, "retryable", True) is False:  # a bad input fails the same way every time
            row["retryable"] = False
        details = getattr(e, "details", None)  # e.g. CommandFailed: exit_code, stderr_tail
        if isinstance(details, dict):
            row["details"] = {str(k): v for k, v in details.items() if v is None or isinstance(v, (str, int, float))}
        _write_log(ctx, ledger, pending)
        return row, None
    duration = time.perf_counter() - t0 - (gate.waited_s if gate is not None else 0.0)
    _write_log(ctx, ledger, pending)
    finished = now_iso()
    record = RunRecord.done(spec["identity"], value=stored, attempt=spec["attempt"], started=started,
                            finished=finished, duration_s=duration, host=row["host"], pid=row["pid"],
                            seed=ctx.seed, versions=versions(), history=spec.get("history"), params=spec["params"],
                            commit_id=commit_id)
    upstream_status = spec.get("upstream_status")
    missing = sorted(u for u, st in upstream_status.items() if st != "done") if upstream_status else None
    if missing:  # an aggregator over survivors: re-runs when one of these executes again
        record.data["upstream_missing"] = missing
    row.update(status="done", value=value, duration_s=duration, finished=finished)
    return row, record


def _refused(spec: dict) -> dict:
    """The row of an attempt the scheduler re-ran after its worker died (Dask's
    ``allowed-failures`` on clusters runfleet does not configure): it is not executed again; the
    attempt is recorded as the ``LostWorker`` it was."""
    now = now_iso()
    return {"name": spec["name"], "attempt": spec["attempt"], "status": "error", "kind": "lost_worker",
            "error_class": "LostWorker", "traceback": "", "duration_s": None, "started": now, "finished": now,
            "host": _host(),
            "message": (f"the worker running attempt {spec['attempt']} died; the scheduler then re-ran the "
                        "task, which runfleet refused (each attempt runs once; retries are the run's policy)")}


def _write_log(ctx: RunContext, ledger: Ledger, pending: list | None = None) -> None:
    """Save the run's log (one PUT, none when it logged nothing); in the background when
    ``pending`` is given (the caller waits for it before the commit marker)."""
    text = ctx._log_text()
    ctx._close()
    if text:
        if pending is None:
            ledger.write_log(ctx.name, text)
        else:
            pending.append(in_background(ledger.write_log, ctx.name, text))


def _wait(pending: list) -> None:
    """Wait for background writes; raise the first failure (after all of them ended)."""
    error = None
    for future in pending:
        try:
            future.result()
        except BaseException as e:  # noqa: BLE001 - re-raised below, once every write ended
            error = error or e
    pending.clear()
    if error is not None:
        raise error


class Specs:
    """The specs of one task, opaque to Dask (it does not walk them looking for nested tasks)."""

    __slots__ = ("items",)

    def __init__(self, items: list[dict]):
        self.items = items

    def __getstate__(self):
        return self.items

    def __setstate__(self, items):
        self.items = items


def execute(specs: Specs | list[dict], store: Store, study: str, pack_id: str | None,
            serial: bool = False, secret_env=None) -> list[dict]:
    """Run the specs in order in this process; commit their records; return one status row per run.

    Parameters
    ----------
    specs : Specs or list of dict
        Run specs built by the engine: ``name``, ``fn``, ``params``, ``identity`` (key parts, see
        :meth:`runfleet.plan.KeyedRun.identity`), ``upstream`` ({name: value}), ``study_seed``,
        ``attempt``, ``timeout_s``, ``clear``, ``history`` (failed earlier attempts) and, on
        clusters, ``attempt_id``: a single run's start is recorded exclusively in the store, so a
        scheduler that re-runs the task after its worker died does not run the attempt twice
        (that execution returns a ``LostWorker`` row instead). Packs record no start.
    store : runfleet.store.Store
        The study's store.
    study : str
        The study's name.
    pack_id : str or None
        None for a single run: its marker is ``runs/<name>/_result.json``, created exclusively
        (a marker that already exists means another attempt committed it first: reported as
        such). Else the markers of the pack's successful runs go to ``_packs/<pack_id>.json.gz``
        in one write, the pack's only object.
    serial : bool
        True when executed in the driver's process (serial backend): ``ctx.map`` loops, and a
        run blocked past its timeout is not ended by ending the process.
    secret_env : optional
        The study's worker environment for clusters that do not own their workers' environment
        (``ClusterSession.task_env()``): applied only while these runs execute, then restored
        (:func:`runfleet.clusters.secrets.applied`).

    Returns
    -------
    list of dict
        Status rows: ``name``, ``status`` (``done`` | ``error``), ``value`` or the failure's
        ``kind``, ``error_class``, ``message``, ``traceback``; ``duration_s`` (s) and times.
    """
    if secret_env is not None:
        from .clusters.secrets import applied

        with applied(secret_env):
            return execute(specs, store, study, pack_id, serial)
    if isinstance(specs, Specs):
        specs = specs.items
    try:
        return _execute(specs, store, study, pack_id, serial)
    except (StoreUnavailable, OSError) as e:  # runs' own errors are rows already (_attempt)
        # the store is gone: a row per run (nothing of this task is committed), not a task that
        # raises, whose traceback the worker would log on the user's terminal; the driver stops
        # with one line when its own writes find the store gone
        if isinstance(e, StoreUnavailable):  # its message names the store (the driver's one line)
            cls, message = "StoreUnavailable", " ".join(str(e).split())[:500]
        else:
            cls, message = type(e).__name__, f"the store could not be written: {' '.join(str(e).split())[:500]}"
        return [{"name": spec["name"], "status": "error", "kind": "infrastructure", "error_class": cls,
                 "message": message, "traceback": "", "finished": now_iso()} for spec in specs]


def _execute(specs: list[dict], store: Store, study: str, pack_id: str | None, serial: bool) -> list[dict]:
    if pack_id is not None:
        return _execute_pack(specs, store, study, pack_id, serial)
    ledger = Ledger(store, study)
    rows = []
    for spec in specs:
        attempt_id = spec.get("attempt_id")
        # the start marker's PUT overlaps the run's start; the run's first store access and
        # everything after it wait for its answer (_StartGate)
        gate = (_StartGate(in_background(ledger.mark_started, attempt_id, _start_info(spec)))
                if attempt_id is not None else None)
        pending: list = []
        ended = None
        try:
            try:
                if gate is not None and not spec.get("overlap_start"):
                    gate.wait()  # the scheduler may re-run this task: nothing of the run before the marker
                row, record = _attempt(spec, ledger, store, serial, pending, gate)
            except AttemptRefused:
                rows.append(_refused(spec))
                continue
            finally:
                if attempt_id is not None and gate.ok:  # overlaps the log and the commit below; best effort
                    ended = in_background(ledger.end_started, attempt_id)
            if not serial and not store.is_local and spec is specs[-1]:
                _free_slot()  # the store writes left overlap the worker's next task
            _wait(pending)  # the log, before the marker
            # the directory was cleared (spec["clear"]) or never had files: no failure record to remove
            if record is not None and not ledger.commit(record, remove_error=False):
                row["already_committed"] = True
        finally:
            if ended is not None:
                ended.result()
        rows.append(row)
    return rows


def _execute_pack(specs: list[dict], store: Store, study: str, pack_id: str, serial: bool) -> list[dict]:
    """A pack: the runs in order with their logs uploaded in the background, then one write of
    all their commit markers: one PUT per pack (docs/requests.md). No start marker: a pack lost
    with its worker is known to the driver from Dask (the task fails with the lost worker), and
    none of its runs is charged an attempt for it; each runs again alone (docs/engine.md)."""
    ledger = Ledger(store, study)
    rows, records, pending = [], [], []
    for spec in specs:
        row, record = _attempt(spec, ledger, store, serial, pending, commit_id=pack_id)
        if record is not None:
            records.append(record)
        if row["status"] == "done":
            row = {"name": row["name"], "status": "done", "value": row["value"], "duration_s": row["duration_s"]}
        rows.append(row)
    if not serial and not store.is_local:
        _free_slot()  # the pack's write overlaps the worker's next task
    _wait(pending)  # logs, before the pack's markers
    if records:
        ledger.commit_pack(pack_id, records)
    return rows


def _free_slot() -> None:
    """Leave the Dask worker's thread pool for the rest of this task: its runs have executed and
    what is left is waiting for the store (logs, then the commit marker or pack file). The slot
    starts the worker's next task meanwhile, so a commit's round trip to an object store overlaps
    the next run instead of adding to it (docs/requests.md, "Overlap"). Called for object stores
    only (a local write takes microseconds, and each secession makes the worker start a new
    thread). A no-op outside a Dask worker's task (serial backend, job-array elements).

    References
    ----------
    Dask, ``distributed.secede``: "This opens up a new scheduling slot and a new thread for a new
    task", https://distributed.dask.org/en/stable/api.html#distributed.secede
    """
    try:
        from distributed import get_worker, secede
        from distributed.threadpoolexecutor import thread_state

        get_worker()
    except (ImportError, ValueError):
        return
    if getattr(thread_state, "proceed", False):  # in the pool (a run may have seceded already)
        secede()


def _start_info(spec: dict | None) -> dict:
    info = {"started": now_iso(), "host": _host(), "pid": os.getpid()}
    if spec is not None:
        info = {"name": spec["name"], "attempt": spec["attempt"], **info}
    return info


# The filenames are part of the store contract; re-exported for tests and tools.
__all__ = ["execute", "MARKER", "ERROR", "LOG", "TIMEOUT_MARK", "now_iso"]

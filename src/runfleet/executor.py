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

import array
import ctypes
import math
import os
import platform
import socket
import threading
import time
import traceback
from collections.abc import Sequence
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


#: the wire format of :class:`Specs` (docs/engine.md, "The wire format of a task")
SPECS_FORMAT = 1
#: spec fields that :meth:`Specs.from_columns` takes either once for the task (``shared``) or
#: as a per-run list (``columns``)
_SCALAR_FIELDS = ("fn", "fn_path", "code", "takes_ctx", "study_seed", "timeout_s", "attempt", "clear")
#: spec fields only some runs have (``sparse``: ``{position: value}``)
_SPARSE_FIELDS = ("history", "upstream_status", "attempt_id", "overlap_start")


def _encode(obj) -> bytes:
    """Pickle a task's specs as Dask pickles a task: plain pickle, or cloudpickle when that fails
    or refers to ``__main__`` (a run function defined in the user's script is sent by value; a
    worker has no such ``__main__``)."""
    try:
        from distributed.protocol.pickle import dumps
    except ImportError:  # no distributed: the serial backend
        import pickle

        return pickle.dumps(obj, protocol=5)
    return dumps(obj, protocol=5)


class Specs:
    """The run specs of one task, encoded once into one ``bytes`` object (its wire format).

    A task of a pack holds up to 2,000 runs. Dask pickles a task's arguments on the client,
    the scheduler unpickles and pickles them again for the worker: with a list of spec dicts
    that was every run's dicts three times over in the driver (the embedded scheduler runs
    there). A :class:`Specs` pickles as its ``bytes`` (a copy, whoever pickles it) and is
    decoded once, on the worker, when iterated.

    The engine builds it with :meth:`from_columns`: the fields every run of the task shares
    (function, code token, seed, timeout, attempt, ...) once, per-run columns (names, params,
    16-byte keys and params hashes) and the fields few runs have as ``{position: value}``.
    ``Specs(list_of_dicts)`` is kept for callers with ready specs (tests, job arrays).

    Parameters
    ----------
    items : list of dict, optional
        Ready specs (the fields :func:`execute` documents).
    blob : bytes, optional
        An encoded task (what :meth:`from_columns` and pickling make).
    """

    __slots__ = ("_items", "_blob")

    def __init__(self, items: list[dict] | None = None, *, blob: bytes | None = None):
        if (items is None) == (blob is None):
            raise TypeError("Specs: give the specs or their encoding, exactly one")
        self._items = items
        self._blob = blob

    @classmethod
    def from_columns(cls, n: int, shared: dict, columns: dict, sparse: dict | None = None) -> "Specs":
        """Encode the specs of ``n`` runs given column by column.

        Parameters
        ----------
        n : int
            Runs in the task.
        shared : dict
            Fields equal for every run: ``fn`` (``"module:attr"`` or the callable), ``fn_path``,
            ``code``, ``takes_ctx``, ``study_seed``, ``timeout_s`` (s), ``attempt``, ``clear``.
        columns : dict
            ``name`` and ``params`` (lists of ``n``), ``key`` and ``params_hash`` (``bytes`` of
            16 per run); a field of ``shared`` that differs between runs is given here instead, as
            a list of ``n``.
        sparse : dict, optional
            ``{field: {position: value}}`` for what few runs have: ``upstream`` (upstream values),
            ``upstream_keys``, ``files_hash``, ``history``, ``upstream_status``, ``attempt_id``,
            ``overlap_start``.

        Returns
        -------
        Specs
        """
        return cls(blob=_encode((SPECS_FORMAT, n, shared, columns, sparse or {})))

    @property
    def blob(self) -> bytes:
        """The encoded task (made once)."""
        if self._blob is None:
            self._blob = _encode((SPECS_FORMAT, -1, self._items, None, None))
        return self._blob

    @property
    def items(self) -> list[dict]:
        """The specs, decoded on first use (on the worker)."""
        if self._items is None:
            self._items = _decode_specs(self._blob)
        return self._items

    def __len__(self) -> int:
        return len(self.items)

    def __iter__(self):
        return iter(self.items)

    def __getstate__(self):
        return self.blob

    def __setstate__(self, blob):
        self._blob = blob
        self._items = None


def _decode_specs(blob: bytes) -> list[dict]:
    import pickle

    fmt, n, shared, columns, sparse = pickle.loads(blob)
    if fmt != SPECS_FORMAT:
        raise ValueError(f"task specs of format {fmt}; this runfleet reads format {SPECS_FORMAT} "
                         "(the driver and the workers run different runfleet versions)")
    if n < 0:  # ready specs
        return shared
    names, params = columns["name"], columns["params"]
    keys, phashes = columns["key"], columns["params_hash"]
    fn, fn_path, code, takes_ctx, seed, timeout, attempt, clear = (
        columns[f] if f in columns else [shared[f]] * n for f in _SCALAR_FIELDS)
    ups, up_keys, files = sparse.get("upstream", {}), sparse.get("upstream_keys", {}), sparse.get("files_hash", {})
    others = [(f, sparse[f]) for f in _SPARSE_FIELDS if sparse.get(f)]
    out = []
    for i in range(n):
        name = names[i]
        ident = {"name": name, "key": keys[16 * i:16 * i + 16].hex(), "fn": fn_path[i],
                 "params_hash": phashes[16 * i:16 * i + 16].hex(), "upstream": up_keys.get(i) or {},
                 "code": code[i]}
        if files and i in files:
            ident["files_hash"] = files[i]
        spec = {"name": name, "fn": fn[i], "params": params[i], "identity": ident, "upstream": ups.get(i) or {},
                "study_seed": seed[i], "attempt": attempt[i], "timeout_s": timeout[i], "clear": clear[i],
                "takes_ctx": takes_ctx[i]}
        for field, values in others:
            if i in values:
                spec[field] = values[i]
        out.append(spec)
    return out


class PackRows(Sequence):
    """The status rows of a pack, column by column (what a pack's task returns).

    A done run is its value and duration; only a failed run has a row of its own. Indexing
    gives the same dicts as a list of rows (``name``, ``status``, ``value``, ``duration_s``).

    Parameters
    ----------
    names : list of str
        The pack's runs, in order.
    values : list
        Each run's returned value (None for a failed run).
    durations : array.array
        Each done run's duration, s (``'d'``; NaN for a failed run).
    errors : dict
        ``{position: status row}`` of the runs that failed (see :func:`execute`).
    """

    __slots__ = ("names", "values", "durations", "errors")

    def __init__(self, names: list[str], values: list, durations, errors: dict[int, dict]):
        self.names, self.values, self.durations, self.errors = names, values, durations, errors

    def __len__(self) -> int:
        return len(self.names)

    def __getitem__(self, k):
        if isinstance(k, slice):
            return [self[i] for i in range(*k.indices(len(self)))]
        if k < 0:
            k += len(self)
        row = self.errors.get(k)
        if row is not None:
            return row
        return {"name": self.names[k], "status": "done", "value": self.values[k], "duration_s": self.durations[k]}

    def __getstate__(self):
        return (self.names, self.values, self.durations, self.errors)

    def __setstate__(self, state):
        self.names, self.values, self.durations, self.errors = state


def execute(specs: Specs | list[dict], store: Store, study: str, pack_id: str | None,
            serial: bool = False, secret_env=None) -> Sequence[dict]:
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
    sequence of dict
        Status rows: ``name``, ``status`` (``done`` | ``error``), ``value`` or the failure's
        ``kind``, ``error_class``, ``message``, ``traceback``; ``duration_s`` (s) and times.
        A pack's rows are a :class:`PackRows` (its done runs as columns: value and duration).
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


def _execute(specs: list[dict], store: Store, study: str, pack_id: str | None, serial: bool) -> Sequence[dict]:
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


def _execute_pack(specs: list[dict], store: Store, study: str, pack_id: str, serial: bool) -> PackRows:
    """A pack: the runs in order with their logs uploaded in the background, then one write of
    all their commit markers: one PUT per pack (docs/requests.md). No start marker: a pack lost
    with its worker is known to the driver from Dask (the task fails with the lost worker), and
    none of its runs is charged an attempt for it; each runs again alone (docs/engine.md).
    Returns the rows column by column (:class:`PackRows`)."""
    ledger = Ledger(store, study)
    records, pending = [], []
    n = len(specs)
    names, values = [None] * n, [None] * n
    durations = array.array("d", bytes(8 * n))
    errors: dict[int, dict] = {}
    for k, spec in enumerate(specs):
        row, record = _attempt(spec, ledger, store, serial, pending, commit_id=pack_id)
        if record is not None:
            records.append(record)
        names[k] = row["name"]
        if row["status"] == "done":
            values[k] = row["value"]
            durations[k] = row["duration_s"]
        else:
            errors[k] = row
            durations[k] = math.nan
    if not serial and not store.is_local:
        _free_slot()  # the pack's write overlaps the worker's next task
    _wait(pending)  # logs, before the pack's markers
    if records:
        ledger.commit_pack(pack_id, records)
    return PackRows(names, values, durations, errors)


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
__all__ = ["execute", "PackRows", "Specs", "MARKER", "ERROR", "LOG", "TIMEOUT_MARK", "now_iso"]

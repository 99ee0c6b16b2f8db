"""What runs on a worker: execute one run or a pack of short runs, and commit their markers.

A run's attempt: clear what an earlier attempt may have left in its directory, call
``fn(ctx, **params)`` with a timeout, then write the log and, last, the commit marker. User
exceptions do not escape: they come back to the driver as a small status row with the class and
the traceback. A pack commits all its successful markers in one file, with one write.
"""
from __future__ import annotations

import ctypes
import json
import os
import platform
import socket
import threading
import time
import traceback
import uuid
from datetime import datetime, timezone
from typing import Any, Callable

from .context import RunContext
from .errors import RunTimeout
from .keys import canonical_json
from .ledger import ERROR, LOG, MARKER, Ledger
from .store import Store

MAX_VALUE_BYTES = 1_000_000  # a returned value is a small status, not a result

_FN_CACHE: dict[str, Callable] = {}
_VERSIONS: dict[str, str] | None = None


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="microseconds")


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


TIMEOUT_MARK = "_timeout_kill"


def timeout_grace_s() -> float:
    """Seconds a run may keep running after its timeout before its worker process is ended
    (``RUNFLEET_TIMEOUT_GRACE_S`` on the workers, default 30)."""
    return float(os.environ.get("RUNFLEET_TIMEOUT_GRACE_S", "30"))


class _Deadline:
    """Raise RunTimeout in the calling thread after ``seconds``.

    That interrupts Python code. Code blocked in C (a long sleep, a hung extension) does not see
    it: if the run is still going ``timeout_grace_s()`` later, a mark is left in its directory
    and the worker process exits, so the study is never held up forever; the nanny restarts the
    worker and the driver records the run as timed out.
    """

    def __init__(self, seconds: float | None, mark_path: str | None = None, store: Store | None = None):
        self.seconds = seconds
        self.mark_path = mark_path
        self.store = store
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
                    if self.store is not None and self.mark_path:
                        self.store.write_bytes_atomic(self.mark_path, b"timeout")
                finally:
                    os._exit(75)

            for delay, action in ((self.seconds, fire), (self.seconds + timeout_grace_s(), kill)):
                timer = threading.Timer(delay, action)
                timer.daemon = True
                timer.start()
                self.timers.append(timer)
        return self

    def __exit__(self, *exc):
        for timer in self.timers:
            timer.cancel()


def _attempt(spec: dict, ledger: Ledger, store: Store) -> tuple[dict, dict | None]:
    """Run one attempt; return (status row for the driver, marker to commit or None)."""
    name = spec["name"]
    run_dir = ledger.run_dir(name)
    if spec.get("clear"):
        store.remove_tree(run_dir)
    ctx = RunContext(name=name, study=ledger.study, out=run_dir, storage_options=store.storage_options,
                     study_seed=spec["study_seed"], params=spec["params"], upstream=spec["upstream"],
                     attempt=spec["attempt"])
    started, t0 = now_iso(), time.perf_counter()
    row: dict[str, Any] = {"name": name, "attempt": spec["attempt"], "started": started,
                           "host": socket.gethostname(), "pid": os.getpid()}
    deadline = _Deadline(spec.get("timeout_s"), f"{run_dir}/{TIMEOUT_MARK}", store)
    try:
        try:
            with deadline:
                value = _resolve(spec["fn"])(ctx, **spec["params"])
        except RunTimeout:
            raise
        except BaseException:
            if deadline.fired:  # the timeout landed while the run was handling another exception
                raise RunTimeout() from None
            raise
        encoded = canonical_json(value)  # JSON-able or TypeError/ValueError
        if len(encoded) > MAX_VALUE_BYTES:
            raise ValueError(f"returned value is {len(encoded)} bytes of JSON; runs must return a small "
                             f"status (< {MAX_VALUE_BYTES} bytes) and write results under ctx.out")
    except RunTimeout:
        row.update(status="error", kind="timeout", error_class="RunTimeout",
                   message=f"run exceeded its timeout of {spec.get('timeout_s')} s",
                   traceback="", duration_s=time.perf_counter() - t0, finished=now_iso())
        _write_log(ctx, store, run_dir)
        return row, None
    except (KeyboardInterrupt, SystemExit) as e:
        raise e
    except BaseException as e:  # noqa: BLE001 - user code may raise anything
        lost = type(e).__name__ == "KilledWorker"  # a chunk it fanned out lost its worker
        row.update(status="error", kind="lost_worker" if lost else "user_error",
                   error_class="LostWorker" if lost else type(e).__name__, message=str(e)[:2000],
                   traceback=traceback.format_exc()[-20000:], duration_s=time.perf_counter() - t0,
                   finished=now_iso())
        _write_log(ctx, store, run_dir)
        return row, None
    duration = time.perf_counter() - t0
    _write_log(ctx, store, run_dir)
    marker = {
        "name": name, "status": "done", "key": spec["key"], "fn": spec["fn_path"],
        "params_hash": spec["params_hash"], "upstream": spec["upstream_keys"], "code": spec["code"],
        "value": value, "attempt": spec["attempt"], "started": started, "finished": now_iso(),
        "duration_s": duration, "host": row["host"], "pid": row["pid"], "seed": ctx.seed,
        "versions": versions(), "commit_id": uuid.uuid4().hex,
    }
    row.update(status="done", value=value, duration_s=duration, finished=marker["finished"])
    return row, marker


def _write_log(ctx: RunContext, store: Store, run_dir: str) -> None:
    text = ctx._log_text()
    ctx._close()
    if text:
        store.write_bytes_atomic(f"{run_dir}/{LOG}", text.encode("utf-8"))


class Specs:
    """The specs of one task, opaque to Dask (it does not walk them looking for nested tasks)."""

    __slots__ = ("items",)

    def __init__(self, items: list[dict]):
        self.items = items

    def __getstate__(self):
        return self.items

    def __setstate__(self, items):
        self.items = items


def execute(specs: Specs | list[dict], store: Store, study: str, pack_id: str | None) -> list[dict]:
    """Run the specs in order on this worker; commit markers; return one status row per run.

    Single run (``pack_id`` None): its marker is ``runs/<name>/_result.json``, created exclusively
    (a marker that already exists means another attempt committed it first: reported as such).
    Pack: the markers of its successful runs go to ``_packs/<pack_id>.json`` in one write.
    """
    if isinstance(specs, Specs):
        specs = specs.items
    ledger = Ledger(store, study)
    rows, markers = [], {}
    for spec in specs:
        row, marker = _attempt(spec, ledger, store)
        if marker is not None:
            if pack_id is None:
                created = store.create_exclusive(ledger.marker_path(spec["name"]),
                                                 json.dumps(marker, indent=1, default=str).encode("utf-8"))
                if not created:
                    row["already_committed"] = True
                store.remove(f"{ledger.run_dir(spec['name'])}/{ERROR}")
            else:
                markers[spec["name"]] = marker
        if row["status"] == "done" and pack_id is not None:
            row = {"name": row["name"], "status": "done", "value": row["value"], "duration_s": row["duration_s"]}
        rows.append(row)
    if pack_id is not None and markers:
        blob = json.dumps({"markers": markers, "finished": now_iso()}, separators=(",", ":"), default=str)
        store.write_bytes_atomic(ledger.pack_path(pack_id), blob.encode("utf-8"))  # compact: C encoder
    return rows


# The filenames are part of the store contract; re-exported for tests and tools.
__all__ = ["execute", "MARKER", "ERROR", "LOG"]

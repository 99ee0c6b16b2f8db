"""One array element: run its slice of a wave with runfleet's executor.

``python -m runfleet.arrays.element --store URL --study NAME --submission ID --wave K --round R
[--offset O] [--index I]``

The element's slice is entry ``O + $SLURM_ARRAY_TASK_ID`` (or ``--index``) of the manifest
``_arrays/<ID>/w<K>-r<R>.json`` (one shard of it is read). For each run, in order:

1. its upstream runs are looked up in the store: values of runs done before the submission are
   in the manifest, the others are read from their markers. An upstream that failed or was
   skipped makes this run a skip, recorded with the reason (``upstream 'x' failed``);
2. a run already committed with its key (a resubmitted element whose run did commit) is left alone;
3. an attempt record is written, then :func:`runfleet.executor.execute` runs and commits it
   exactly as a Dask worker would (same markers, logs, seeds, timeouts);
4. a failed attempt with retries left stays an attempt record (the wave's final job resubmits
   it after the backoff); the last failed attempt writes ``_error.json``.

Storage options reach the element through ``RUNFLEET_STORAGE_OPTIONS`` (JSON) in the job's
0600 environment file, never on the command line or in the store. The element's output is its
log (SLURM writes it under ``_arrays/<ID>/logs/`` for local stores).
"""
from __future__ import annotations

import argparse
import os
import socket
import sys
import time

from ..executor import execute, now_iso
from ..ledger import Ledger, attempt_entry
from ..store import Store
from .manifest import Submissions
from .submitter import storage_options_from_env


def job_label() -> str:
    """``<array job>_<task>`` inside SLURM, else the host and pid."""
    if os.environ.get("SLURM_ARRAY_JOB_ID"):
        return f"{os.environ['SLURM_ARRAY_JOB_ID']}_{os.environ.get('SLURM_ARRAY_TASK_ID', '')}"
    return os.environ.get("SLURM_JOB_ID") or f"{socket.gethostname()}:{os.getpid()}"


class UpstreamLookup:
    """State and value of upstream runs, read from the store once per element."""

    def __init__(self, ledger: Ledger, known: dict):
        self.ledger = ledger
        self.known = known
        self.cache: dict[str, tuple[str, object]] = {}

    def get(self, name: str, key: str) -> tuple[str, object]:
        """``("done", value)``, ``("failed"|"skipped", None)`` or ``("missing", None)``."""
        if name in self.known:
            return "done", self.known[name]
        hit = self.cache.get(name)
        if hit is None:
            hit = self._read(name, key)
            self.cache[name] = hit
        return hit

    def _read(self, name: str, key: str) -> tuple[str, object]:
        store = self.ledger.store
        marker = _read_json(store, self.ledger.marker_path(name))
        if marker is not None and marker.get("key") == key:
            return "done", marker.get("value")
        error = _read_json(store, self.ledger.error_path(name))
        if error is not None and error.get("key") == key and error.get("status") in ("failed", "skipped"):
            return error["status"], None
        return "missing", None


def _read_json(store: Store, path: str) -> dict | None:
    try:
        doc = store.read_json(path)
    except ValueError:
        return None
    return doc if isinstance(doc, dict) else None


def record_skip(ledger: Ledger, spec: dict, reason: str) -> None:
    """Write the skip record of ``spec``'s run through the ledger (the same record as on Dask)."""
    ledger.record_skip(spec["identity"], reason, params=spec["params"])


def record_failure(ledger: Ledger, spec: dict, err: dict, attempts: int) -> None:
    """Write the failure record of ``spec``'s run through the ledger (the same record as on Dask);
    the attempt history holds the attempts this wave's records know of."""
    history = [*spec.get("history", ()), attempt_entry(attempts, err)]
    ledger.record_failure(spec["identity"], err, attempts=attempts, history=history, params=spec["params"])


def _warm_imports(specs: list[dict]) -> None:
    """Import the runs' modules before the first run, so its duration is the run's, not the
    import's (Dask workers do the same with runfleet.warmup); failures are left to the run."""
    import importlib

    for module in dict.fromkeys(s["fn"].partition(":")[0] for s in specs):
        try:
            importlib.import_module(module)
        except Exception:  # noqa: BLE001 - the run reports it, with its traceback
            pass


def run_element(store: Store, study: str, sub: str, wave: int, rnd: int, index: int, out=sys.stdout) -> dict:
    """Run element ``index`` of round ``rnd`` of ``wave``; return counts of what happened.

    Returns
    -------
    dict
        ``{"done": n, "failed": n, "retry": n, "skipped": n, "already": n}``.
    """
    subs = Submissions(store, study)
    ledger = subs.ledger
    entry = subs.read_element(sub, wave, rnd, index)
    if entry is None:
        raise SystemExit(f"runfleet element: no element {index} in {subs.manifest_path(sub, wave, rnd)}")
    counts = {"done": 0, "failed": 0, "retry": 0, "skipped": 0, "already": 0}
    if subs.marked(sub, "cancelled"):
        print(f"submission {sub} was cancelled; nothing to do", file=out, flush=True)
        return counts
    specs, known = entry
    _warm_imports(specs)
    label = job_label()
    lookup = UpstreamLookup(ledger, known)
    print(f"element {index} of wave {wave} round {rnd} ({label}): {len(specs)} runs", file=out, flush=True)
    for spec in specs:
        name = spec["name"]
        mine = _read_json(store, ledger.marker_path(name))
        if mine is not None and mine.get("key") == spec["key"]:
            counts["already"] += 1
            subs.remove_attempt(sub, name)
            print(f"  {name}: already committed", file=out, flush=True)
            continue
        upstream, reason = {}, spec.get("skip_reason")  # declared skipped at plan time: never executed
        for u in ([] if reason else spec["upstream_names"]):
            state, value = lookup.get(u, spec["upstream_keys"][u])
            if state != "done":
                reason = (f"upstream {u!r} {state}" if state != "missing"
                          else f"upstream {u!r} has no record (its array element was lost)")
                break
            upstream[u] = value
        if reason is not None:
            record_skip(ledger, spec, reason)
            subs.remove_attempt(sub, name)
            counts["skipped"] += 1
            print(f"  {name}: skipped ({reason})", file=out, flush=True)
            continue
        subs.write_attempt(sub, name, {"name": name, "attempt": spec["attempt"], "state": "running",
                                       "job": label, "host": socket.gethostname(), "pid": os.getpid(),
                                       "wave": wave, "round": rnd, "element": index, "started": now_iso()})
        full = {k: spec[k] for k in ("name", "fn", "params", "identity", "study_seed", "attempt", "timeout_s",
                                     "clear")}
        full["upstream"] = upstream
        t0 = time.perf_counter()
        row = execute([full], store, study, None)[0]
        if row["status"] == "done":
            subs.remove_attempt(sub, name)
            counts["done"] += 1
            note = " (already committed by another attempt)" if row.get("already_committed") else ""
            print(f"  {name}: done in {time.perf_counter() - t0:.3f} s{note}", file=out, flush=True)
            continue
        err = {k: row.get(k) for k in ("kind", "error_class", "message", "traceback", "duration_s", "host")}
        if spec["attempt"] <= spec["retries"]:
            subs.write_attempt(sub, name, {"name": name, "attempt": spec["attempt"], "state": "error",
                                           "job": label, "wave": wave, "round": rnd, "element": index,
                                           "finished": now_iso(), **err})
            counts["retry"] += 1
            print(f"  {name}: attempt {spec['attempt']} failed ({err['error_class']}); will be retried",
                  file=out, flush=True)
        else:
            record_failure(ledger, spec, err, spec["attempt"])
            subs.remove_attempt(sub, name)
            counts["failed"] += 1
            first = (err["message"] or "").splitlines()[:1]
            print(f"  {name}: failed ({err['error_class']}: {first[0][:200] if first else ''})", file=out, flush=True)
    print(f"element {index} finished: " + ", ".join(f"{v} {k}" for k, v in counts.items() if v), file=out, flush=True)
    return counts


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m runfleet.arrays.element")
    p.add_argument("--store", required=True)
    p.add_argument("--study", required=True)
    p.add_argument("--submission", required=True)
    p.add_argument("--wave", type=int, required=True)
    p.add_argument("--round", type=int, required=True)
    p.add_argument("--offset", type=int, default=0)
    p.add_argument("--index", type=int, help="element index (default: offset + $SLURM_ARRAY_TASK_ID)")
    args = p.parse_args(argv)
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    index = args.index if args.index is not None else args.offset + int(os.environ["SLURM_ARRAY_TASK_ID"])
    store = Store(args.store, storage_options_from_env())
    run_element(store, args.study, args.submission, args.wave, args.round, index)
    return 0


if __name__ == "__main__":
    sys.exit(main())

__all__ = ["run_element", "main", "record_skip", "record_failure"]

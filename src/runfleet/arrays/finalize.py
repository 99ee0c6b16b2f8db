"""The small final job of each wave round: account for every run, resubmit what the policy allows.

``python -m runfleet.arrays.finalize --store URL --study NAME --submission ID --wave K --round R``

It runs after all elements of the round ended (``--dependency=afterany``), whatever their fate.
For each run of the round's manifest, from the store:

* committed with its key, or recorded as failed/skipped by its element: nothing to do;
* an attempt that failed with retries left (the element left an ``error`` attempt record): retried;
* an attempt still marked ``running``: its element died under it (``scancel``, walltime, node
  failure, out of memory, or the executor ending a run stuck past its timeout): the attempt
  counts (error class ``LostWorker``, ``OutOfMemory`` or ``RunTimeout``) and it is retried while the
  policy allows, else recorded as failed;
* never started (its element died before reaching it): resubmitted without counting an attempt,
  unless no run of the round started at all (the elements cannot start: recorded as failed).

Retries go into round R+1 of the same wave: a held array (``--begin`` = the backoff) plus its own
final job; the next wave's first array is re-pointed to wait for that final job
(``scontrol update Dependency=``), then the array is released. The last final job of the last
wave writes ``finished.json`` and deletes the 0600 environment file.
"""
from __future__ import annotations

import argparse
import os
import sys

from ..executor import TIMEOUT_MARK, now_iso
from ..store import Store
from . import slurm
from .element import _read_json, record_failure
from .manifest import Submissions
from .submitter import storage_options_from_env, submit_round

MAX_ROUNDS = 25  # a wave whose elements keep dying gives up after this many rounds

_LOST_STATES = {"OUT_OF_MEMORY": "OutOfMemory"}


def _element_job(jobs: dict | None, index: int) -> str | None:
    for a in (jobs or {}).get("arrays", []):
        if a["offset"] <= index < a["offset"] + a["count"]:
            return f"{a['job']}_{index - a['offset']}"
    return None


def lost_error(store: Store, ledger, spec: dict, attempt_doc: dict, jobs: dict | None) -> dict:
    """The error of an attempt whose element ended while the run was going."""
    if store.exists(f"{ledger.run_dir(spec['name'])}/{TIMEOUT_MARK}"):
        return {"kind": "timeout", "error_class": "RunTimeout", "traceback": "", "host": attempt_doc.get("host"),
                "message": f"run exceeded its timeout of {spec.get('timeout_s')} s and did not stop; "
                           "its array element was ended"}
    job = _element_job(jobs, attempt_doc.get("element", -1)) or attempt_doc.get("job")
    state = slurm.job_state(job) if job else None
    cls = _LOST_STATES.get(state or "", "LostWorker")
    why = {"TIMEOUT": "reached its walltime", "CANCELLED": "was cancelled", "NODE_FAIL": "lost its node",
           "OUT_OF_MEMORY": "ran out of memory", "FAILED": "failed"}.get(state or "", "ended")
    return {"kind": "lost_worker", "error_class": cls, "traceback": "", "host": attempt_doc.get("host"),
            "message": f"its array element {job} {why} ({state or 'state unknown'}) while the run was going"}


def finalize(store: Store, study: str, sub: str, wave: int, rnd: int, out=sys.stdout) -> dict:
    """Account for the runs of one round and submit the next round if needed; return counts."""
    subs = Submissions(store, study)
    ledger = subs.ledger
    doc = subs.read_submission(sub)
    manifest = subs.read_manifest(sub, wave, rnd)
    jobs = subs.read_jobs(sub, wave, rnd)
    counts = {"done": 0, "terminal": 0, "retry": 0, "unstarted": 0, "failed_now": 0}
    if doc is None or manifest is None:
        raise SystemExit(f"runfleet finalize: records of submission {sub} wave {wave} round {rnd} missing")
    if subs.marked(sub, "cancelled"):
        print(f"submission {sub} was cancelled; nothing to do", file=out, flush=True)
        return counts
    created = manifest.get("created", "")
    retry: list[dict] = []
    unstarted: list[dict] = []
    delay = 0.0
    for element in manifest["elements"]:
        for spec in element:
            name = spec["name"]
            marker = _read_json(store, ledger.marker_path(name))
            if marker is not None and marker.get("key") == spec["key"]:
                counts["done"] += 1
                continue
            error = _read_json(store, ledger.error_path(name))
            if (error is not None and error.get("key") == spec["key"] and error.get("status") in ("failed", "skipped")
                    and (error.get("finished") or "") >= created):
                counts["terminal"] += 1
                continue
            att = subs.read_attempt(sub, name)
            if att is None or att.get("attempt", 0) < spec["attempt"]:
                unstarted.append(spec)
                continue
            if att.get("state") == "running":
                err = lost_error(store, ledger, spec, att, jobs)
            else:
                err = {k: att.get(k) for k in ("kind", "error_class", "message", "traceback", "duration_s", "host")}
            if spec["attempt"] <= spec["retries"] and rnd + 1 < MAX_ROUNDS:
                retry.append({**spec, "attempt": spec["attempt"] + 1, "clear": True})
                delay = max(delay, spec["backoff_s"] * 2 ** (spec["attempt"] - 1))
                counts["retry"] += 1
                print(f"  {name}: attempt {spec['attempt']} {err.get('error_class')}: retry "
                      f"{spec['attempt'] + 1} of {spec['retries'] + 1}", file=out, flush=True)
            else:
                record_failure(ledger, spec, err, spec["attempt"])
                subs.remove_attempt(sub, name)
                counts["failed_now"] += 1
                print(f"  {name}: failed after {spec['attempt']} attempt(s): {err.get('error_class')}: "
                      f"{err.get('message')}", file=out, flush=True)
    progress = counts["done"] + counts["terminal"] + counts["retry"] + counts["failed_now"]
    if unstarted and (progress == 0 or rnd + 1 >= MAX_ROUNDS):
        for spec in unstarted:  # the elements cannot even start their runs: say so, do not loop
            err = {"kind": "lost_worker", "error_class": "LostWorker", "traceback": "",
                   "message": f"no array element of wave {wave} round {rnd} started its runs; see the element "
                              f"logs in {subs.logs_dir(sub)} (or the profile's log_directory)"}
            record_failure(ledger, spec, err, spec["attempt"])
            counts["failed_now"] += 1
        unstarted = []
    counts["unstarted"] = len(unstarted)
    _copy_logs(store, subs, sub, doc, jobs)
    todo = retry + unstarted
    last_wave = wave == len(doc["waves"]) - 1
    if todo and not subs.marked(sub, "cancelled"):
        _submit_retries(subs, sub, doc, wave, rnd + 1, todo, manifest, int(delay), out)
    elif last_wave:
        subs.mark(sub, "finished", {"finished": now_iso(), "wave": wave, "round": rnd})
        env_file = doc["template"].get("env_file")
        if env_file:
            try:
                os.unlink(env_file)
            except FileNotFoundError:
                pass
    print(f"wave {wave} round {rnd}: " + ", ".join(f"{v} {k}" for k, v in counts.items() if v), file=out, flush=True)
    return counts


def _submit_retries(subs: Submissions, sub: str, doc: dict, wave: int, rnd: int, specs: list[dict],
                    manifest: dict, delay_s: int, out) -> None:
    per = max(1, int(doc.get("runs_per_element") or 1))
    elements = [specs[i:i + per] for i in range(0, len(specs), per)]
    subs.write_manifest(sub, wave, rnd, {"wave": wave, "round": rnd, "created": now_iso(),
                                         "known": manifest.get("known", {}), "elements": elements})
    submitted: list[str] = []
    try:
        jobs = submit_round(subs, sub, doc, wave, rnd, len(elements), hold=True, begin_s=delay_s or None,
                            submitted=submitted)
        if wave + 1 < len(doc["waves"]):
            nxt = subs.read_jobs(sub, wave + 1, 0)
            if nxt and nxt.get("arrays"):
                slurm.set_dependency(nxt["arrays"][0]["job"], f"afterany:{jobs['finalizer']}")
        slurm.release(jobs["arrays"][0]["job"])
    except Exception:
        slurm.cancel(submitted)
        raise
    print(f"wave {wave}: round {rnd} submitted: {len(specs)} runs in {len(elements)} element(s), jobs "
          f"{', '.join(a['job'] for a in jobs['arrays'])} (final job {jobs['finalizer']})"
          + (f", starting in {delay_s} s" if delay_s else ""), file=out, flush=True)


def _copy_logs(store: Store, subs: Submissions, sub: str, doc: dict, jobs: dict | None) -> None:
    """Copy the round's element logs into the store when SLURM wrote them elsewhere."""
    log_dir = doc["template"]["log_dir"]
    target = subs.logs_dir(sub)
    if store.is_local and os.path.abspath(log_dir) == os.path.abspath(target):
        return
    ids = {a["job"] for a in (jobs or {}).get("arrays", [])}
    try:
        names = os.listdir(log_dir)
    except OSError:
        return
    for fname in names:
        if any(f"-{i}_" in fname for i in ids):
            with open(os.path.join(log_dir, fname), "rb") as f:
                store.write_bytes_atomic(f"{target}/{fname}", f.read())


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m runfleet.arrays.finalize")
    p.add_argument("--store", required=True)
    p.add_argument("--study", required=True)
    p.add_argument("--submission", required=True)
    p.add_argument("--wave", type=int, required=True)
    p.add_argument("--round", type=int, required=True)
    args = p.parse_args(argv)
    store = Store(args.store, storage_options_from_env())
    finalize(store, args.study, args.submission, args.wave, args.round)
    return 0


if __name__ == "__main__":
    sys.exit(main())

__all__ = ["finalize", "lost_error", "main"]

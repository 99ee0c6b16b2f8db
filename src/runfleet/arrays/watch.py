"""Follow an array submission from the store (the truth) and SLURM's queue; cancel it.

Without ``--detach`` the driver polls the store and shows progress until the last final job has
written ``finished.json``. ``runfleet status`` adds :func:`batch_line`; ``runfleet cancel`` is
:func:`cancel_study`.
"""
from __future__ import annotations

import time
from pathlib import Path

from ..errors import InfrastructureLost, InputError
from ..executor import now_iso
from ..ledger import Ledger
from ..progress import Progress
from ..store import Store
from . import slurm
from .driver import Submitted
from .manifest import Submissions

POLL_S = 2.0
QUEUE_CHECK_S = 10.0


# --------------------------------------------------------------------------- progress / wait
def store_counts(sub: Submitted) -> dict:
    """Counts of the submission's runs from the store: total, done, failed, skipped, running,
    pending, resumed (the Progress snapshot format), plus ``failures`` ``[(name, class, message)]``."""
    ledger = Ledger(sub.store, sub.study)
    records, _ = ledger.load()
    c = {"total": sub.total, "done": sub.resumed, "failed": 0, "skipped": 0, "running": 0, "resumed": sub.resumed}
    terminal, failures = set(), []
    for name, key in sub.keys.items():
        rec = records.get(name)
        if rec is None or rec.key != key:
            continue
        if rec.status == "done":
            c["done"] += 1
            terminal.add(name)
        elif rec.status in ("failed", "skipped") and rec.finished >= sub.started:
            c[rec.status] += 1
            terminal.add(name)
            if rec.status == "failed":
                failures.append((name, rec.data.get("error_class"), rec.data.get("message") or ""))
    if sub.submission:
        started = Submissions(sub.store, sub.study).started_runs(sub.submission)
        c["running"] = len(set(started) - terminal)
    c["pending"] = c["total"] - c["done"] - c["failed"] - c["skipped"] - c["running"]
    c["failures"] = failures
    return c


def wait_study(sub: Submitted, progress: Progress | None = None, poll_s: float = POLL_S) -> dict:
    """Poll the store until the submission's last final job is done; return :func:`store_counts`.

    Raises
    ------
    InfrastructureLost
        The submission's jobs left the queue without finishing it (cancelled, or final jobs
        that failed): exit 4, resumable by running the same command again.
    """
    if sub.submission is None:
        return store_counts(sub)
    subs = Submissions(sub.store, sub.study)
    last_queue = time.monotonic()
    while True:
        t0 = time.monotonic()
        if not sub.store.is_local:  # s3fs answers from its listing cache: a poller must not
            sub.store.fs.invalidate_cache()
        counts = store_counts(sub)
        read_s = time.monotonic() - t0
        if progress is not None:
            progress.update(counts)
        if subs.marked(sub.submission, "finished"):
            return store_counts(sub)
        if subs.marked(sub.submission, "cancelled"):
            raise InfrastructureLost(f"study {sub.study}: its array jobs were cancelled; {counts['done']} of "
                                     f"{counts['total']} runs are done; run the same command again to resume")
        if time.monotonic() - last_queue > QUEUE_CHECK_S:
            last_queue = time.monotonic()
            if slurm.queue_states(subs.all_job_ids(sub.submission)) == {}:  # None: squeue cannot say
                time.sleep(poll_s)
                if subs.marked(sub.submission, "finished"):
                    continue
                raise InfrastructureLost(
                    f"study {sub.study}: its SLURM jobs left the queue before the study finished "
                    f"({counts['done']} of {counts['total']} runs done); see the element logs under "
                    f"{subs.logs_dir(sub.submission)}; run the same command again to resume")
        time.sleep(max(poll_s, 10 * read_s))  # a big study on an object store is read less often


# --------------------------------------------------------------------------- cancel / view
def _study_at(study_url: str, storage_options: dict | None) -> tuple[Store, str]:
    url = study_url.rstrip("/")
    if "/" not in url.split("://")[-1]:
        raise InputError(f"{study_url}: expected <store>/<study name>")
    store_url, name = url.rsplit("/", 1)
    return Store(store_url, storage_options), name


def cancel_study(study_url: str, storage_options: dict | None = None) -> tuple[str, list[str]]:
    """Cancel every SLURM job of the study's current array submission; return (submission, job ids).

    Final jobs submit nothing after the ``cancelled`` mark; the jobs' environment file is deleted.
    Raises InputError when the study has no array submission recorded.
    """
    store, name = _study_at(study_url, storage_options)
    subs = Submissions(store, name)
    sub = subs.current()
    if sub is None:
        raise InputError(f"{study_url}: no array submission recorded for study {name!r} (nothing to cancel)")
    slurm.require_sbatch()
    subs.mark(sub, "cancelled", {"cancelled": now_iso()})
    ids = subs.all_job_ids(sub)
    slurm.cancel(ids)
    time.sleep(1.0)  # a final job that was already running may have submitted a round: cancel it too
    more = [i for i in subs.all_job_ids(sub) if i not in ids]
    slurm.cancel(more)
    doc = subs.read_submission(sub) or {}
    env_file = (doc.get("template") or {}).get("env_file")
    if env_file:
        Path(env_file).unlink(missing_ok=True)
    return sub, ids + more


def batch_view(study_url: str, storage_options: dict | None = None) -> dict | None:
    """The batch system's view of the study's current array submission (None when it has none).

    Returns
    -------
    dict or None
        ``{"submission": id, "finished": bool, "cancelled": bool, "pending": n, "running": n,
        "jobs": [ids]}``; ``pending`` / ``running`` count array elements and final jobs in the queue
        (``None`` when squeue cannot be read).
    """
    import shutil

    store, name = _study_at(study_url, storage_options)
    subs = Submissions(store, name)
    sub = subs.current()
    if sub is None:
        return None
    finished, cancelled = bool(subs.marked(sub, "finished")), bool(subs.marked(sub, "cancelled"))
    ids = subs.all_job_ids(sub)
    states = slurm.queue_states(ids) if shutil.which("squeue") and not (finished or cancelled) else None
    view = {"submission": sub, "finished": finished, "cancelled": cancelled, "jobs": ids,
            "pending": None, "running": None}
    if states is not None:
        view.update(pending=states.get("PENDING", 0), running=states.get("RUNNING", 0) + states.get("COMPLETING", 0))
    return view


def batch_line(study_url: str, storage_options: dict | None = None) -> str | None:
    """One line for ``runfleet status``: the SLURM view of the study's array jobs (None if none)."""
    view = batch_view(study_url, storage_options)
    if view is None:
        return None
    if view["finished"] or view["cancelled"]:
        return f"SLURM: submission {view['submission']} {'finished' if view['finished'] else 'cancelled'}"
    if view["running"] is None:
        return f"SLURM: submission {view['submission']}: the queue cannot be read here (squeue unavailable)"
    return (f"SLURM: submission {view['submission']}: {view['running']} job(s) running, {view['pending']} pending "
            f"(jobs {', '.join(view['jobs'][:6])}{', ...' if len(view['jobs']) > 6 else ''})")


__all__ = ["batch_line", "batch_view", "cancel_study", "store_counts", "wait_study"]

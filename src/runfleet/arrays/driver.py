"""Submit a study as SLURM job arrays, wait for it (or not), cancel it, show the batch system's view.

The driver only plans and submits: every wave's array and final job are in SLURM's queue before
the first element starts (the first array is submitted held, then released), so the driver can
exit (``--detach``) and the study still runs to its end. Without ``--detach`` it polls the store
(the truth) and shows progress until the last final job has written ``finished.json``.

Checks before anything is written or submitted (one line each): the study and store (exit 2),
the profile (exit 2), ``sbatch`` on PATH (exit 3), the profile's ``max_array_size`` against the
site's ``MaxArraySize`` (exit 2), a job script ``sbatch --test-only`` accepts (exit 3), and no
earlier submission of the same study still queued (exit 2).
"""
from __future__ import annotations

import json
import os
import shlex
import sys
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from ..config import Profile, get_profile
from ..errors import ClusterUnavailable, InfrastructureLost, InputError
from ..executor import now_iso
from ..ledger import Ledger
from ..progress import Progress
from ..store import Store
from ..study import Study
from . import slurm
from .manifest import Submissions
from .planner import ArrayPlan, chunk_counts, plan_waves, run_spec
from .profile import KIND, SlurmArrayOptions, parse_options
from .submitter import ELEMENT_MODULE, STORAGE_OPTIONS_ENV, submit_round

POLL_S = 2.0
QUEUE_CHECK_S = 10.0


@dataclass
class Submitted:
    """The result of :func:`submit_study`.

    study_url: ``<store>/<study>``. submission: its id, ``None`` when nothing needed running.
    total / resumed: runs in the study / already done in the store. keys: content key of each
    run to do. waves: ``[(wave index, runs, elements, jobs record)]``. started: ISO time.
    """

    study: str
    study_url: str
    store: Store
    submission: str | None
    total: int
    resumed: int
    keys: dict[str, str] = field(default_factory=dict)
    waves: list[tuple[int, int, int, dict]] = field(default_factory=list)
    started: str = ""

    @property
    def job_ids(self) -> list[str]:
        ids = []
        for _, _, _, jobs in self.waves:
            ids += [a["job"] for a in jobs["arrays"]] + [jobs["finalizer"]]
        return ids


# --------------------------------------------------------------------------- helpers
def array_profile(profile: str | Profile) -> tuple[Profile, SlurmArrayOptions]:
    """The profile (by name or object) and its validated options; InputError if another kind."""
    prof = profile if isinstance(profile, Profile) else get_profile(profile)
    if prof.kind != KIND:
        raise InputError(f"{prof.where('kind')}: expected {KIND!r} to run as job arrays, got {prof.kind!r}")
    return prof, parse_options(prof.options, f"{prof.source}: clusters.{prof.name}")


def _prepare(study: Study, store: str | None, storage_options: dict | None) -> tuple[str, dict]:
    study.validate()
    url = store or study.store
    if not url:
        raise InputError(f"{study.source}: store: no store given (set 'store:' in the study or pass --store)")
    options = dict(study.storage_options)
    options.update(storage_options or {})
    return url, options


def _runs(n: int) -> str:
    return f"{n} run" if n == 1 else f"{n} runs"


def _hms(seconds: float) -> str:
    s = int(seconds)
    days, s = divmod(s, 86400)
    hms = f"{s // 3600:02d}:{s % 3600 // 60:02d}:{s % 60:02d}"
    return f"{days}-{hms}" if days else hms


def _worker_pythonpath(study: Study) -> str:
    """The study file's directory, the current directory and the driver's PYTHONPATH."""
    paths = [p for p in (getattr(study, "directory", None), os.getcwd()) if p]
    if os.environ.get("PYTHONPATH"):
        paths.append(os.environ["PYTHONPATH"])
    return os.pathsep.join(dict.fromkeys(paths))


def write_env_file(env: dict[str, str], directory: str | None, label: str, where: str = "secrets_dir") -> Path:
    """Write the jobs' environment (``export`` lines) to a new 0600 file; return its path.

    Jobs run with ``--export=NONE`` and source this file, so forwarded credentials and storage
    options reach the elements without being in a job script, SLURM's state or the store.
    """
    import platformdirs

    d = Path(os.path.expanduser(directory)) if directory else Path(platformdirs.user_cache_dir("runfleet")) / "job-env"
    path = d / f"{label}-{uuid.uuid4().hex[:12]}.env"
    try:
        d.mkdir(parents=True, exist_ok=True)
        os.chmod(d, 0o700)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError as e:
        raise InputError(f"{where}: cannot write the jobs' environment file in {d} ({e.strerror})") from None
    with os.fdopen(fd, "w") as f:
        f.writelines(f"export {k}={shlex.quote(v)}\n" for k, v in env.items())
    return path


def _template(prof: Profile, opts: SlurmArrayOptions, env_file: str | None, log_dir: str) -> slurm.JobTemplate:
    directives = ["--ntasks=1", f"--cpus-per-task={opts.cores}", f"--mem={opts.memory_mib}M",
                  f"--time={_hms(opts.walltime_s)}"]
    if opts.queue:
        directives.append(f"--partition={opts.queue}")
    if opts.account:
        directives.append(f"--account={opts.account}")
    directives += list(opts.job_extra_directives)
    return slurm.JobTemplate(directives=directives, prologue=list(opts.job_script_prologue), env_file=env_file,
                             python=opts.python or sys.executable, cwd=os.getcwd(), log_dir=log_dir,
                             final_walltime=_hms(min(opts.walltime_s, 900)))


def _active_jobs(subs: Submissions) -> tuple[str | None, dict[str, int]]:
    sub = subs.current()
    if sub is None or subs.marked(sub, "finished") or subs.marked(sub, "cancelled"):
        return sub, {}
    states = slurm.queue_states(subs.all_job_ids(sub))
    if states is None:
        raise ClusterUnavailable(f"squeue cannot tell whether the jobs of submission {sub} are still queued "
                                 "(is slurmctld reachable?); nothing submitted")
    return sub, states


def _study_doc(study: Study, url: str, plan: ArrayPlan) -> dict:
    """``study.json`` in the Dask engine's format, so ``runfleet status`` / ``report`` read it."""
    runs = []
    for name, kr in plan.keyed.items():
        policy = study.policy_for(kr.run)
        runs.append({"name": name, "fn": kr.fn_path, "params": kr.run.params, "after": kr.upstream,
                     "key": kr.key, "retries": policy.retries, "timeout_s": policy.timeout_s})
    return {"name": study.name, "seed": study.seed, "store": url, "updated": now_iso(), "runs": runs}


def describe_waves(study: Study, profile: str | Profile, *, store: str | None = None,
                   storage_options: dict | None = None) -> list[str]:
    """Lines for ``--dry-run``: the arrays a submission would make (nothing written or submitted)."""
    prof, opts = array_profile(profile)
    url, options = _prepare(study, store, storage_options)
    records, dirty = Ledger(Store(url, options), study.name).load()
    plan = plan_waves(study, records, dirty, opts.runs_per_element)
    if not plan.waves:
        return [f"arrays ({prof.name}): nothing to submit"]
    size = opts.max_array_size or slurm.DEFAULT_MAX_ARRAY_SIZE
    lines = []
    for w in plan.waves:
        n_arrays = len(chunk_counts(len(w.elements), size))
        lines.append(f"arrays ({prof.name}): wave {w.index}: {_runs(len(w.runs))} in {len(w.elements)} element(s)"
                     + (f" ({n_arrays} arrays)" if n_arrays > 1 else "")
                     + (f", at most {opts.max_concurrent} at once" if opts.max_concurrent else ""))
    return lines


# --------------------------------------------------------------------------- submit
def submit_study(study: Study, profile: str | Profile, *, store: str | None = None,
                 storage_options: dict | None = None) -> Submitted:
    """Submit the runs of ``study`` that lack a valid marker as SLURM job arrays, one wave per
    dependency level, each wave after the previous wave's final job.

    Parameters
    ----------
    study : Study
        The study (validated here; nothing is written when it is bad).
    profile : str or Profile
        A ``kind: slurm-array`` profile.
    store, storage_options : optional
        Override the study's store; extra fsspec options (they reach the elements through the
        0600 environment file only).

    Returns
    -------
    Submitted
        With ``submission`` None when every run is already done (nothing submitted).

    Raises
    ------
    InputError
        Bad study, store or profile; ``max_array_size`` above the site's; jobs of an earlier
        submission of this study still queued (exit 2, nothing written).
    ClusterUnavailable
        ``sbatch`` missing or refusing the job script (exit 3, nothing written).
    """
    prof, opts = array_profile(profile)
    url, options = _prepare(study, store, storage_options)
    st = Store(url, options)
    ledger = Ledger(st, study.name)
    records, dirty = ledger.load()
    plan = plan_waves(study, records, dirty, opts.runs_per_element)
    result = Submitted(study=study.name, study_url=ledger.root, store=st, submission=None,
                       total=len(plan.keyed), resumed=len(plan.done_values))
    if not plan.waves:  # every run is done with its key: nothing to submit, sbatch or not
        st.check_writable()
        ledger.write_study(_study_doc(study, st.url, plan))
        return result
    slurm.require_sbatch()
    site_max = slurm.site_max_array_size()
    if opts.max_array_size and opts.max_array_size > site_max:
        raise InputError(f"{prof.where('max_array_size')}: {opts.max_array_size} is above this site's MaxArraySize "
                         f"({site_max}, scontrol show config); set at most {site_max}, or leave it unset")
    max_array = opts.max_array_size or site_max
    subs = Submissions(st, study.name)
    active_sub, queued = _active_jobs(subs)
    if queued:
        n = sum(queued.values())
        raise InputError(f"{ledger.root}: study {study.name!r} already has {n} SLURM job(s) queued or running "
                         f"(submission {active_sub}); wait (runfleet status {ledger.root}) or cancel them "
                         f"(runfleet cancel {ledger.root})")
    st.check_writable()
    sub = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:6]
    log_dir = subs.logs_dir(sub) if st.is_local else os.path.expanduser(
        opts.log_directory or os.path.join(os.getcwd(), "runfleet-array-logs"))
    # the job script sbatch would get, checked before anything is written
    probe = _template(prof, opts, None, log_dir)
    slurm.submit(probe.script("rf-check", ELEMENT_MODULE, ["--help"], array=True), array="0-0", test_only=True)

    _, missing = prof.env.forwarded()
    if missing:
        print(f"runfleet: warning: profile {prof.name!r}: forwarded variables not set here: {', '.join(missing)}",
              file=sys.stderr)
    env = prof.env.resolve(extra={"PYTHONPATH": _worker_pythonpath(study)})
    env[STORAGE_OPTIONS_ENV] = json.dumps(options, default=str)
    env_file = write_env_file(env, opts.secrets_dir, f"{study.name}-{sub}", prof.where("secrets_dir"))
    submitted: list[str] = []
    try:
        try:
            os.makedirs(log_dir, exist_ok=True)  # SLURM does not create it
        except OSError as e:
            raise InputError(f"{prof.where('log_directory')}: cannot create {log_dir} ({e.strerror})") from None
        ledger.write_study(_study_doc(study, st.url, plan))
        template = _template(prof, opts, str(env_file), log_dir)
        doc = {"id": sub, "study": study.name, "store": st.url, "profile": prof.name, "created": now_iso(),
               "template": template.to_dict(), "max_array_size": max_array, "max_concurrent": opts.max_concurrent,
               "runs_per_element": opts.runs_per_element,
               "waves": [{"wave": w.index, "runs": len(w.runs), "elements": len(w.elements)} for w in plan.waves]}
        subs.write_submission(sub, doc)
        created = now_iso()
        for w in plan.waves:
            known = {u: plan.done_values[u] for n in w.runs for u in plan.keyed[n].upstream if u in plan.done_values}
            elements = [[run_spec(study, plan.keyed[n], 1, n in plan.dirty) for n in e] for e in w.elements]
            subs.write_manifest(sub, w.index, 0, {"wave": w.index, "round": 0, "created": created, "known": known,
                                                  "elements": elements})
        subs.set_current(sub)
        after = None
        for w in plan.waves:
            jobs = submit_round(subs, sub, doc, w.index, 0, len(w.elements), after=after, hold=w.index == 0,
                                submitted=submitted)
            result.waves.append((w.index, len(w.runs), len(w.elements), jobs))
            after = jobs["finalizer"]
        slurm.release(result.waves[0][3]["arrays"][0]["job"])
    except BaseException:
        slurm.cancel(submitted)
        env_file.unlink(missing_ok=True)
        if submitted:
            subs.mark(sub, "cancelled", {"cancelled": now_iso(), "why": "submission failed"})
        raise
    result.submission = sub
    result.keys = {n: plan.keyed[n].key for n in plan.to_run}
    result.started = created
    return result


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


# --------------------------------------------------------------------------- CLI
def cli_run(study: Study, profile: str | Profile, *, store: str | None = None, storage_options: dict | None = None,
            detach: bool = False, progress_mode: str = "auto") -> int:
    """``runfleet run STUDY --cluster <slurm-array profile> [--detach]``; returns the exit code."""
    sub = submit_study(study, profile, store=store, storage_options=storage_options)
    if sub.submission is None:
        print(f"study {study.name}: {sub.total} done ({sub.resumed} already in the store), 0 failed, 0 skipped "
              f"-> {sub.study_url} (nothing to submit)")
        return 0
    todo = sub.total - sub.resumed
    lines = [f"study {study.name}: submitted {_runs(todo)} ({sub.resumed} already in the store) as "
             f"{len(sub.waves)} wave(s) of SLURM job arrays (submission {sub.submission})"]
    for wave, n_runs, n_el, jobs in sub.waves:
        arrays = ", ".join(f"{a['job']} [{a['array']}]" for a in jobs["arrays"])
        lines.append(f"  wave {wave}: {_runs(n_runs)} in {n_el} element(s): array job(s) {arrays}, "
                     f"final job {jobs['finalizer']}")
    print("\n".join(lines), flush=True)
    if detach:
        print(f"status: runfleet status {sub.study_url}")
        print(f"cancel: runfleet cancel {sub.study_url}")
        return 0
    progress = Progress(study.name, mode=progress_mode)
    try:
        counts = wait_study(sub, progress)
    except KeyboardInterrupt:
        progress.message("stopped waiting; the jobs keep running: "
                         f"runfleet status {sub.study_url} / runfleet cancel {sub.study_url}")
        return 130
    progress.close(counts)
    print(f"study {study.name}: {counts['done']} done ({counts['resumed']} already in the store), "
          f"{counts['failed']} failed, {counts['skipped']} skipped -> {sub.study_url}")
    for name, cls, message in counts["failures"][:10]:
        print(f"  failed: {name}: {cls}: {message.splitlines()[0] if message else ''}")
    if len(counts["failures"]) > 10:
        print(f"  ... and {len(counts['failures']) - 10} more; see: runfleet status {sub.study_url}")
    return 0 if counts["failed"] == 0 and counts["skipped"] == 0 else 1


__all__ = ["Submitted", "array_profile", "batch_line", "batch_view", "cancel_study", "cli_run", "describe_waves",
           "store_counts", "submit_study", "wait_study", "write_env_file"]

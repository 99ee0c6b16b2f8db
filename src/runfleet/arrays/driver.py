"""Submit a study as SLURM job arrays (the driver's only job; :mod:`.watch` waits and cancels).

The driver plans and submits: every wave's array and final job are in SLURM's queue before the
first element starts (the first array is submitted held, then released), so the driver can exit
(``--detach``) and the study still runs to its end.

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
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from ..config import Profile, get_profile
from ..errors import ClusterUnavailable, InputError
from ..executor import now_iso
from ..ledger import Ledger
from ..store import Store
from ..study import Study
from . import slurm
from .manifest import Submissions
from .planner import ArrayPlan, chunk_counts, plan_waves, run_spec
from .profile import KIND, SlurmArrayOptions, parse_options
from .submitter import ELEMENT_MODULE, STORAGE_OPTIONS_ENV, submit_round

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


def plural_runs(n: int) -> str:
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
        lines.append(f"arrays ({prof.name}): wave {w.index}: {plural_runs(len(w.runs))} in {len(w.elements)} element(s)"
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


__all__ = ["Submitted", "array_profile", "describe_waves", "submit_study", "write_env_file"]

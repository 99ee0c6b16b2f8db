"""``runfleet run STUDY --cluster <slurm-array profile> [--detach]``: submit, then print or wait."""
from __future__ import annotations

from ..config import Profile
from ..progress import Progress
from ..study import Study
from .driver import plural_runs, submit_study
from .watch import wait_study


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
    lines = [f"study {study.name}: submitted {plural_runs(todo)} ({sub.resumed} already in the store) as "
             f"{len(sub.waves)} wave(s) of SLURM job arrays (submission {sub.submission})"]
    for wave, n_runs, n_el, jobs in sub.waves:
        arrays = ", ".join(f"{a['job']} [{a['array']}]" for a in jobs["arrays"])
        lines.append(f"  wave {wave}: {plural_runs(n_runs)} in {n_el} element(s): array job(s) {arrays}, "
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


__all__ = ["cli_run"]

"""Submit one round of a wave: its element array(s) and the small final job after them.

Used by the driver (round 0 of every wave) and by final jobs (retry rounds). The first array
can be submitted held, so a whole chain is in place before anything starts.
"""
from __future__ import annotations

from datetime import datetime, timezone

from . import slurm
from .manifest import Submissions
from .planner import chunk_counts

ELEMENT_MODULE = "runfleet.arrays.element"
FINAL_MODULE = "runfleet.arrays.finalize"
#: JSON of the study's storage options, set in the jobs' 0600 environment file only
STORAGE_OPTIONS_ENV = "RUNFLEET_STORAGE_OPTIONS"


def storage_options_from_env() -> dict:
    """The storage options a job got through its environment file (``{}`` when none)."""
    import json
    import os

    raw = os.environ.get(STORAGE_OPTIONS_ENV)
    return json.loads(raw) if raw else {}


def job_name(study: str, wave: int, final: bool = False) -> str:
    return f"rf-{study}-w{wave}" + ("-final" if final else "")


def submit_round(subs: Submissions, sub: str, doc: dict, wave: int, rnd: int, n_elements: int, *,
                 after: str | None = None, hold: bool = False, begin_s: int | None = None,
                 submitted: list[str] | None = None) -> dict:
    """Submit the arrays of round ``rnd`` of ``wave`` (``n_elements`` elements, cut by the
    submission's ``max_array_size`` and chained) and its final job; record and return the jobs.

    Parameters
    ----------
    subs, sub, doc : the study's array records, the submission id and its ``submission.json``.
    after : str, optional
        Job id the first array waits for (``afterany``): the previous wave's final job.
    hold : bool
        Submit the first array held (the caller releases it once everything is in place).
    begin_s : int, optional
        The first array starts no earlier than this many seconds from now (retry backoff).
    submitted : list, optional
        Job ids are appended as they are submitted, so a caller can cancel them on failure.
    """
    template = slurm.JobTemplate.from_dict(doc["template"])
    base = ["--store", doc["store"], "--study", doc["study"], "--submission", sub, "--wave", str(wave),
            "--round", str(rnd)]
    throttle = f"%{doc['max_concurrent']}" if doc.get("max_concurrent") else ""
    arrays, prev = [], after
    for i, (offset, count) in enumerate(chunk_counts(n_elements, doc["max_array_size"])):
        script = template.script(job_name(doc["study"], wave), ELEMENT_MODULE, [*base, "--offset", str(offset)],
                                 array=True)
        spec = f"0-{count - 1}{throttle}"
        job = slurm.submit(script, array=spec, dependency=f"afterany:{prev}" if prev else None,
                           hold=hold and i == 0, begin_s=begin_s if i == 0 else None)
        if submitted is not None:
            submitted.append(job)
        arrays.append({"job": job, "offset": offset, "count": count, "array": spec})
        prev = job
    final_script = template.script(job_name(doc["study"], wave, final=True), FINAL_MODULE, base, array=False,
                                   final=True)
    final = slurm.submit(final_script, dependency="afterany:" + ":".join(a["job"] for a in arrays))
    if submitted is not None:
        submitted.append(final)
    jobs = {"arrays": arrays, "finalizer": final,
            "submitted": datetime.now(timezone.utc).isoformat(timespec="microseconds")}
    subs.write_jobs(sub, wave, rnd, jobs)
    return jobs


__all__ = ["ELEMENT_MODULE", "FINAL_MODULE", "STORAGE_OPTIONS_ENV", "job_name", "storage_options_from_env", "submit_round"]

"""The SLURM commands array submissions use: ``sbatch``, ``scontrol``, ``squeue``, ``scancel``.

Job scripts are sent on ``sbatch``'s standard input. They hold the ``#SBATCH`` directives, the
profile's prologue, one line sourcing the 0600 environment file, and the ``python -m`` command;
never a secret. Every job is submitted with ``--export=NONE`` (SLURM would otherwise copy the
driver's whole environment, credentials included, into its state files) and ``--no-requeue``
(a requeued element would run its runs a second time behind the final job's back).
"""
from __future__ import annotations

import re
import shlex
import shutil
import subprocess
from dataclasses import dataclass

from ..errors import ClusterUnavailable

DEFAULT_MAX_ARRAY_SIZE = 1001  # SLURM's default MaxArraySize
TIMEOUT_S = 60


def _run(cmd: list[str], stdin: str | None = None, check: bool = True) -> subprocess.CompletedProcess:
    try:
        proc = subprocess.run(cmd, input=stdin, capture_output=True, text=True, timeout=TIMEOUT_S)
    except FileNotFoundError:
        raise ClusterUnavailable(f"{cmd[0]} not found on PATH: run on a SLURM login node "
                                 "(or load the site's slurm module)") from None
    except subprocess.TimeoutExpired:
        raise ClusterUnavailable(f"{cmd[0]} did not answer within {TIMEOUT_S} s (is slurmctld up?)") from None
    if check and proc.returncode != 0:
        first = (proc.stderr.strip() or proc.stdout.strip() or f"exit {proc.returncode}").splitlines()[0]
        raise ClusterUnavailable(f"{cmd[0]} failed: {first[:300]}")
    return proc


def require_sbatch() -> None:
    """Raise ClusterUnavailable (exit 3) when ``sbatch`` is not on PATH."""
    if shutil.which("sbatch") is None:
        raise ClusterUnavailable("sbatch not found on PATH: kind slurm-array submits with sbatch; run on a "
                                 "SLURM login node (or load the site's slurm module)")


def site_max_array_size() -> int:
    """``MaxArraySize`` from ``scontrol show config`` (array indices run 0..MaxArraySize-1)."""
    proc = _run(["scontrol", "show", "config"], check=False)
    m = re.search(r"^MaxArraySize\s*=\s*(\d+)", proc.stdout, re.M)
    return int(m.group(1)) if m else DEFAULT_MAX_ARRAY_SIZE


@dataclass
class JobTemplate:
    """How every job of a submission looks (stored in ``submission.json``; holds no secrets).

    directives: ``#SBATCH`` options of an element (partition, account, cpus, mem, time, extras).
    prologue: shell lines before the command. env_file: the 0600 file the job sources.
    python: interpreter on the nodes. cwd: working directory of the jobs. log_dir: SLURM output dir.
    final_walltime: ``-t`` of the small final jobs.
    """

    directives: list[str]
    prologue: list[str]
    env_file: str | None
    python: str
    cwd: str
    log_dir: str
    final_walltime: str

    def script(self, name: str, module: str, args: list[str], *, array: bool, final: bool = False) -> str:
        """The job script of an element array (``array``) or a final job."""
        out = f"{self.log_dir}/{name}-%A_%a.out" if array else f"{self.log_dir}/{name}-%j.out"
        directives = [d for d in self.directives if not (final and d.startswith("--time="))]
        if final:
            directives.append(f"--time={self.final_walltime}")
        lines = ["#!/bin/bash", f"#SBATCH --job-name={name}", f"#SBATCH --output={out}",
                 "#SBATCH --export=NONE", "#SBATCH --no-requeue", f"#SBATCH --chdir={self.cwd}"]
        lines += [f"#SBATCH {d}" for d in directives]
        lines += list(self.prologue)
        if self.env_file:
            lines.append(f". {shlex.quote(self.env_file)}")
        lines.append(" ".join(["exec", shlex.quote(self.python), "-m", module, *map(shlex.quote, args)]))
        return "\n".join(lines) + "\n"

    def to_dict(self) -> dict:
        return dict(self.__dict__)

    @classmethod
    def from_dict(cls, doc: dict) -> "JobTemplate":
        return cls(**doc)


def submit(script: str, *, array: str | None = None, dependency: str | None = None, hold: bool = False,
           begin_s: int | None = None, test_only: bool = False) -> str:
    """Submit a job script; returns its job id (``""`` with ``test_only``).

    array: ``"0-N%M"``. dependency: ``"afterany:123:124"``. hold: submit held (``scontrol
    release`` starts it). begin_s: start no earlier than this many seconds from now.
    """
    cmd = ["sbatch", "--parsable"]
    if array:
        cmd.append(f"--array={array}")
    if dependency:
        cmd.append(f"--dependency={dependency}")
    if hold:
        cmd.append("--hold")
    if begin_s:
        cmd.append(f"--begin=now+{int(begin_s)}")
    if test_only:
        cmd.append("--test-only")
    proc = _run(cmd, stdin=script)
    if test_only:
        return ""
    return proc.stdout.strip().split(";")[0]


def release(job_id: str) -> None:
    _run(["scontrol", "release", str(job_id)])


def set_dependency(job_id: str, dependency: str) -> None:
    """Replace the dependency of a pending job (``scontrol update``)."""
    _run(["scontrol", "update", f"JobId={job_id}", f"Dependency={dependency}"])


def queue_states(job_ids: list[str]) -> dict[str, int] | None:
    """``{state: count}`` of the jobs (array elements counted one by one) still in the queue;
    ``None`` when ``squeue`` cannot say (controller unreachable), which is not an empty queue."""
    if not job_ids:
        return {}
    proc = _run(["squeue", "-h", "-r", "-o", "%i %T", "-j", ",".join(job_ids)], check=False)
    if proc.returncode != 0:
        return None
    counts: dict[str, int] = {}
    for line in proc.stdout.splitlines():
        parts = line.split()
        if len(parts) == 2:
            counts[parts[1]] = counts.get(parts[1], 0) + 1
    return counts


def job_state(job_id: str) -> str | None:
    """``JobState`` of a job or array element (``123_4``) while SLURM still remembers it."""
    proc = _run(["scontrol", "show", "job", "-o", str(job_id)], check=False)
    m = re.search(r"\bJobState=(\S+)", proc.stdout)
    return m.group(1) if m else None


def cancel(job_ids: list[str]) -> None:
    if job_ids:
        _run(["scancel", *job_ids], check=False)


__all__ = ["JobTemplate", "cancel", "job_state", "queue_states", "release", "require_sbatch", "set_dependency",
           "site_max_array_size", "submit"]

"""Shared core of the batch backends (``slurm``, ``pbs``, ``sge``, ``lsf``) on dask-jobqueue.

Each job runs ``python -m distributed.cli.dask_worker`` (never the removed ``dask-worker``
script). The scheduler lives in the driver process: if the driver dies, the scheduler dies with
it and every worker exits ``death_timeout`` seconds later, so no job keeps burning allocation.

Worker environment goes through the job script prologue: plain values as ``export`` lines,
values whose names look secret (``*_KEY``, ``*TOKEN*``, ...) into a 0600 file that the job
sources (dask-jobqueue logs job scripts at debug level, and schedulers keep them). The file is
deleted when the session closes; it must be on a filesystem the compute nodes see (home dirs are
on HPC clusters; set ``secrets_dir`` otherwise).

Walltime: each job exports ``RUNFLEET_WALLTIME_DEADLINE`` (epoch seconds) before starting its
worker, and the worker gets ``--lifetime`` so it retires ``walltime_margin`` before the batch
system would kill it; with ``adapt`` a fresh job replaces it.
"""
from __future__ import annotations

import logging
import os
import shlex
import uuid
from pathlib import Path

from distributed import Client

from ..config import looks_secret, parse_duration_s, parse_walltime_s
from ..errors import ClusterUnavailable
from .base import ClusterSession
from .remote import DEADLINE_ENV

log = logging.getLogger(__name__)

WORKER_MODULE = "distributed.cli.dask_worker"  # `python -m` form; `dask-worker` is gone in 2026.x


def retire_schedule(walltime_s: float, margin_s: float) -> tuple[float, float]:
    """(lifetime_s, stagger_s): workers retire between lifetime-stagger and lifetime+stagger
    seconds after start, always before the walltime. The margin is capped at half the walltime."""
    margin = max(0.0, min(float(margin_s), walltime_s / 2))
    stagger = margin / 4
    return walltime_s - margin, stagger


def _secrets_dir(option: str | None) -> Path:
    if option:
        return Path(os.path.expanduser(option))
    import platformdirs

    return Path(platformdirs.user_cache_dir("runfleet")) / "job-env"


def env_prologue(env: dict[str, str], profile_name: str, secrets_dir: str | None,
                 dry_run: bool = False) -> tuple[list[str], Path | None]:
    """Shell lines that give a job the worker environment, and the secrets file they source.

    ``dry_run``: name the file the job would source, but write nothing (``--job-script``).
    """
    lines: list[str] = []
    secret = {k: v for k, v in env.items() if looks_secret(k)}
    plain = {k: v for k, v in env.items() if k not in secret}
    path = None
    if secret and dry_run:
        path = _secrets_dir(secrets_dir) / f"{profile_name}-<random>.env"
        lines.append(f". {shlex.quote(str(path))}  # 0600 file with {', '.join(sorted(secret))}")
        path = None
    elif secret:
        d = _secrets_dir(secrets_dir)
        d.mkdir(parents=True, exist_ok=True)
        os.chmod(d, 0o700)
        path = d / f"{profile_name}-{uuid.uuid4().hex[:12]}.env"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.writelines(f"export {k}={shlex.quote(v)}\n" for k, v in secret.items())
        lines.append(f". {shlex.quote(str(path))}")
    lines.extend(f"export {k}={shlex.quote(v)}" for k, v in plain.items())
    return lines, path


def check_interface(profile) -> None:
    """Raise :class:`ClusterUnavailable` when the profile's ``interface`` does not exist on this
    host (the scheduler runs here and listens on it)."""
    name = profile.options.get("interface")
    if not name:
        return
    import psutil

    have = sorted(psutil.net_if_addrs())
    if name not in have:
        raise ClusterUnavailable(f"{profile.where('interface')}: network interface {name!r} does not exist on "
                                 f"this host (it has: {', '.join(have)})")


def jobqueue_kwargs(profile, env: dict[str, str], account_key: str = "account",
                    walltime_fmt=None, dry_run: bool = False) -> tuple[dict, Path | None, float, float]:
    """Keyword arguments for the dask-jobqueue cluster class, the secrets file, walltime_s and
    the retire margin (seconds) the session uses for walltime-aware scheduling.

    Job script prologue: the site's lines, then the profile's, then runfleet's (environment,
    walltime deadline). ``dry_run`` writes no secrets file (for ``--job-script``).
    """
    o = dict(profile.options)
    walltime_s = parse_walltime_s(o["walltime"], profile.where("walltime"))
    lifetime, stagger = retire_schedule(walltime_s, parse_duration_s(o["walltime_margin"]))
    prologue, secrets_file = env_prologue(env, profile.name, o.get("secrets_dir"), dry_run=dry_run)
    prologue.append(f"export {DEADLINE_ENV}=$(( $(date +%s) + {int(walltime_s)} ))")
    prologue = list(o.get("job_script_prologue") or []) + prologue
    worker_args = list(o.get("worker_extra_args") or [])
    if not any(a.startswith("--lifetime") for a in worker_args):
        worker_args += ["--lifetime", f"{int(lifetime)}s", "--lifetime-stagger", f"{int(stagger)}s"]
    scheduler_options = {"dashboard_address": ":0"}
    if o.get("host"):
        scheduler_options["host"] = o["host"]
        if "--host" not in worker_args:
            worker_args += ["--host", o["host"]]
    kw = dict(
        cores=o["cores"],
        processes=o["processes"],
        memory=o["memory"],
        walltime=(walltime_fmt or _hms)(walltime_s),
        queue=o.get("queue"),
        interface=o.get("interface"),
        local_directory=o.get("local_directory"),
        log_directory=o.get("log_directory"),
        death_timeout=o.get("death_timeout"),
        job_extra_directives=list(o.get("job_extra_directives") or []),
        job_directives_skip=list(o.get("job_directives_skip") or []),
        job_script_prologue=prologue,
        worker_extra_args=worker_args,
        worker_command=WORKER_MODULE,
        scheduler_options=scheduler_options,
        python=o.get("python"),
        job_name=f"rf-{profile.name}",
    )
    if o.get("account"):
        kw[account_key] = o["account"]
    return {k: v for k, v in kw.items() if v is not None}, secrets_file, walltime_s, lifetime_margin(walltime_s, lifetime, stagger)


def lifetime_margin(walltime_s: float, lifetime: float, stagger: float) -> float:
    """Seconds before the walltime at which a worker may already be retiring."""
    return walltime_s - (lifetime - stagger)


def _hms(seconds: float) -> str:
    """HH:MM:SS (SLURM, PBS, SGE)."""
    s = int(seconds)
    return f"{s // 3600:02d}:{s % 3600 // 60:02d}:{s % 60:02d}"


def hm(seconds: float) -> str:
    """HH:MM (LSF's -W)."""
    s = int(seconds)
    return f"{s // 3600:02d}:{s % 3600 // 60:02d}"


def open_jobqueue(cluster_cls, profile, *, workers: int | None = None, env: dict[str, str] | None = None,
                  account_key: str = "account", walltime_fmt=None) -> ClusterSession:
    """Start a dask-jobqueue cluster for ``profile`` (adaptive unless adapt is off or ``workers`` given)."""
    check_interface(profile)
    kw, secrets_file, walltime_s, margin = jobqueue_kwargs(profile, env or {}, account_key, walltime_fmt)
    try:
        cluster = cluster_cls(**kw)
    except BaseException:
        if secrets_file is not None:
            secrets_file.unlink(missing_ok=True)
        raise
    client = Client(cluster)
    session = ClusterSession(client=client, kind=profile.kind, name=profile.name, cluster=cluster,
                             profile=profile, walltime_s=walltime_s, retire_margin_s=margin, scale_jobs=True)
    session.on_close(cluster.close)
    if secrets_file is not None:
        session.on_close(lambda: secrets_file.unlink(missing_ok=True))
    session.apply_scaling(profile, workers, fixed_default=profile.options.get("workers") or 1)
    return session


def job_script(job_cls, profile, env: dict[str, str], account_key: str = "account", walltime_fmt=None) -> str:
    """The exact batch script a job of ``profile`` would run, without submitting anything.

    Parameters
    ----------
    job_cls : type
        dask-jobqueue's job class (``SLURMJob``, ``PBSJob``, ...).
    profile : runfleet.config.Profile
    env : dict
        The worker environment; secret-looking names are shown only as the 0600 file the job
        would source (no file is written).

    Returns
    -------
    str
        The script; the scheduler address is the placeholder ``tcp://<scheduler>:<port>``
        (the real one exists once the driver starts it).
    """
    kw, _, _, _ = jobqueue_kwargs(profile, env, account_key, walltime_fmt, dry_run=True)
    kw.pop("scheduler_options", None)
    return job_cls(scheduler="tcp://<scheduler>:<port>", name="dummy-name", **kw).job_script()

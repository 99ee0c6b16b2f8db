"""kind: slurm — real single-node SLURM (munge + slurmctld + slurmd) driving dask-jobqueue via a profile."""
from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from cluster_fixtures import *  # noqa: F401,F403
from cluster_fixtures import REPO, committed, kill_when

from runfleet import Run, Study, run_study
from runfleet.clusters import open_cluster
from waiting import wait_until

pytestmark = [pytest.mark.root, pytest.mark.slow]


def _jobs() -> list[str]:
    out = subprocess.run(["squeue", "-h", "-o", "%i %T"], capture_output=True, text=True).stdout.split("\n")
    return [line.split()[0] for line in out if line.strip().endswith("RUNNING")]


def test_slurm_profile_adapt_study_survives_scancel(slurm, tmp_path, profiles_file, monkeypatch):
    monkeypatch.setenv("RF_SLURM_TOKEN", "slurm-secret-token-value")
    profiles_file({"hpc": {
        "kind": "slurm", "cores": 1, "processes": 1, "memory": "1GB", "queue": "debug",
        "walltime": "00:10:00", "walltime_margin": 60, "host": "127.0.0.1",
        "local_directory": str(tmp_path / "local"), "log_directory": str(tmp_path / "logs"),
        "secrets_dir": str(tmp_path / "secrets"),
        # two jobs are kept up, so a scancel mid-study is deterministic; scaling from zero is
        # covered by the gateway test (adapt from 0 with Dask's own adaptive logic)
        "adapt": {"minimum": 2, "maximum": 2},
        "env": {"forward": ["RF_SLURM_TOKEN"], "set": {"RF_SLURM_PLAIN": "plain"},
                "pythonpath": [str(REPO / "tests"), str(REPO / "src")]},
    }})
    session = open_cluster("hpc")
    try:
        assert session.kind == "slurm" and session.walltime_s == 600
        script = session.cluster.job_script()
        command = script.strip().splitlines()[-1]
        assert " -m distributed.cli.dask_worker " in command and "://127.0.0.1:" in command
        assert "#SBATCH -J rf-hpc" in script
        assert "--lifetime" in script and "export RF_SLURM_PLAIN=plain" in script
        assert "RUNFLEET_WALLTIME_DEADLINE" in script and "#SBATCH -t 00:10:00" in script
        assert "slurm-secret-token-value" not in script            # secrets via a 0600 file, not the script
        secret_files = list((tmp_path / "secrets").glob("*.env"))
        assert len(secret_files) == 1 and oct(secret_files[0].stat().st_mode & 0o777) == "0o600"

        store = tmp_path / "store"
        study = Study(name="hpc", store=str(store), seed=3, defaults={"retries": 3})
        names = ["RF_SLURM_TOKEN", "RF_SLURM_PLAIN"]
        # long enough (30 runs x 1.5 s on at most 2 one-core jobs) that adapt has the second job
        # up well before the end, whatever the machine's speed
        study.add_many([Run(f"sq-{i:02d}", "cluster_fixtures:square_run",
                            params={"i": i, "sleep_s": 1.5, "env_names": names}) for i in range(30)])

        cancelled = []

        def cancel_one():
            jobs = _jobs()
            subprocess.run(["scancel", jobs[0]], check=True)
            cancelled.append(jobs[0])

        fired = kill_when(lambda: committed(store, "hpc") >= 3 and len(_jobs()) >= 2, cancel_one, timeout=150)
        summary = run_study(study, cluster=session.client, progress=False)
        assert fired.is_set(), "no worker job was cancelled mid-study"
        assert summary.exit_code == 0, summary.counts
        assert summary.counts.get("done") == 30
        values = [o.value for o in summary.outcomes.values()]
        assert all(v["job"] for v in values)                       # ran inside SLURM jobs
        assert all(v["env"] == {"RF_SLURM_TOKEN": "slurm-secret-token-value", "RF_SLURM_PLAIN": "plain"}
                   for v in values)
        for i in range(30):
            assert (store / "hpc" / "runs" / f"sq-{i:02d}" / "out.txt").read_text() == f"{i * i}\n"

        # adapt replaces the cancelled job: two workers again, neither from the cancelled job
        session.client.wait_for_workers(2, timeout=120)
        wait_until(lambda: cancelled[0] not in _jobs(), 60, f"cancelled job {cancelled[0]} gone from the queue",
                   interval=0.5)
        assert len(_jobs()) == 2 and cancelled[0] not in _jobs()

        # walltime-aware scheduling helpers
        session.ensure_workers(1, timeout=60)
        worker = next(iter(session.client.scheduler_info(n_workers=-1)["workers"]))
        remaining = session.walltime_remaining_s(worker)
        assert remaining is not None and 0 < remaining <= 600
        assert worker in session.workers_for(5.0)
        assert session.workers_for(remaining) == []                # would hit the retire margin
        assert session.can_start(5.0) and not session.can_start(10_000)
        assert not session.fits_walltime(600)
    finally:
        session.close()
    assert not list((tmp_path / "secrets").glob("*.env"))        # removed at close


SITE_JOBQUEUE = """
jobqueue:
  slurm:
    account: site-acct
    job-script-prologue:
      - export RF_SITE_MARK=from-site
    job-extra-directives: ["--comment=site-comment"]
"""


def test_site_jobqueue_config_layered_under_the_profile(slurm, tmp_path, profiles_file):
    """A site jobqueue.yaml in a DASK_CONFIG directory: its prologue line and directive reach the
    submitted job along with the profile's; the profile's account overrides the site's."""
    import dask.config
    import yaml

    from conftest import run_cli, worker_env

    site = tmp_path / "dask-site"
    site.mkdir()
    (site / "jobqueue.yaml").write_text(SITE_JOBQUEUE)
    path = profiles_file({"hpc": {
        "kind": "slurm", "cores": 1, "processes": 1, "memory": "1GB", "queue": "debug", "walltime": 10,
        "host": "127.0.0.1", "account": "prof-acct", "log_directory": str(tmp_path / "logs"),
        "job_script_prologue": ["export RF_PROFILE_MARK=from-profile"], "adapt": False, "workers": 1,
        "env": {"pythonpath": [str(REPO / "tests"), str(REPO / "src")]}}})
    r = run_cli("clusters", "--job-script", "hpc",
                env={**worker_env(), "DASK_CONFIG": str(site), "RUNFLEET_CONFIG": str(path)})
    assert r.returncode == 0, r.stderr
    for line in ("export RF_SITE_MARK=from-site", "export RF_PROFILE_MARK=from-profile", "#SBATCH -A prof-acct",
                 "#SBATCH --comment=site-comment", "#SBATCH -t 00:10:00"):
        assert line in r.stdout.splitlines(), line
    assert "site-acct" not in r.stdout
    dask.config.refresh(paths=[*dask.config.paths, str(site)])
    try:
        with open_cluster("hpc") as session:
            script = session.cluster.job_script()
            assert "export RF_SITE_MARK=from-site" in script and "export RF_PROFILE_MARK=from-profile" in script
            session.client.wait_for_workers(1, timeout=120)
            marks = session.client.run(lambda: (os.environ.get("RF_SITE_MARK"), os.environ.get("RF_PROFILE_MARK")))
            assert list(marks.values()) == [("from-site", "from-profile")]  # both ran in the submitted job
            jobs = _jobs()
            shown = subprocess.run(["scontrol", "show", "job", jobs[0]], capture_output=True, text=True).stdout
            assert "Account=prof-acct" in shown and "Comment=site-comment" in shown
    finally:
        dask.config.refresh()

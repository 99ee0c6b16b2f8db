"""kind: address — `dask scheduler` + `dask worker` processes on 127.0.0.1, opened by profile name."""
from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from cluster_fixtures import *  # noqa: F401,F403
from cluster_fixtures import REPO, committed, kill_when

from runfleet import Run, Study, run_study
from runfleet.clusters import open_cluster

WORKER_PATH = os.pathsep.join([str(REPO / "tests"), str(REPO / "src")])


def test_study_on_address_profile_survives_sigkill_of_a_worker(tmp_path, dask_processes, profiles_file):
    procs = dask_processes(2, worker_env={"PYTHONPATH": WORKER_PATH})
    profiles_file({"shared": {"kind": "address", "address": procs.address}})
    store = tmp_path / "store"
    study = Study(name="addr", store=str(store), seed=7, defaults={"retries": 3})
    study.add_many([Run(f"sq-{i:02d}", "cluster_fixtures:square_run", params={"i": i, "sleep_s": 0.4})
                    for i in range(20)])
    victim = procs.workers[0]
    fired = kill_when(lambda: committed(store, "addr") >= 4, lambda: os.kill(victim.pid, signal.SIGKILL))
    summary = run_study(study, cluster="shared", progress=False)
    assert fired.is_set(), "the worker was not killed mid-study"
    assert victim.poll() is not None
    assert summary.exit_code == 0, summary.counts
    assert summary.counts.get("done") == 20
    for i in range(20):
        assert (store / "addr" / "runs" / f"sq-{i:02d}" / "out.txt").read_text() == f"{i * i}\n"
    # the scheduler and the surviving worker are somebody else's: still up after the study
    assert procs.scheduler.poll() is None and procs.workers[1].poll() is None


def _env_in_run(secret_env):
    from runfleet.clusters.secrets import applied

    with applied(secret_env):
        return os.environ.get("RF_ADDR_FORWARDED"), os.environ.get("RF_ADDR_SET"), __import__("sys").path[0]


def test_scheduler_file_and_env_with_the_tasks(tmp_path, dask_processes, profiles_file, monkeypatch):
    procs = dask_processes(1, worker_env={"PYTHONPATH": WORKER_PATH})
    sched_file = tmp_path / "scheduler.json"
    import json

    sched_file.write_text(json.dumps({"address": procs.address}))
    monkeypatch.setenv("RF_ADDR_FORWARDED", "forwarded-value")
    profiles_file({"existing": {"kind": "address", "scheduler_file": str(sched_file),
                                "env": {"forward": ["RF_ADDR_*"], "set": {"RF_ADDR_SET": "1"},
                                        "pythonpath": ["extra-dir"]}}})
    with open_cluster("existing") as session:
        assert session.kind == "address" and session.cluster is None
        session.ensure_workers(1, timeout=30)
        fwd, setv, p0 = session.client.submit(_env_in_run, session.task_env(), pure=False).result()
        assert (fwd, setv) == ("forwarded-value", "1")
        assert p0 == str(tmp_path / "extra-dir")  # relative to the profiles file
        # outside a run the workers' environment has none of it
        (outside,), = [tuple(v) for v in session.client.run(
            lambda: [os.environ.get("RF_ADDR_FORWARDED")]).values()]
        assert outside is None
        with pytest.raises(RuntimeError, match="cannot be scaled"):
            session.scale(3)
    assert procs.scheduler.poll() is None  # closing the session leaves the cluster running


def test_runfleet_cli_cluster_tcp_and_scheduler_file(tmp_path, dask_processes):
    """`--cluster tcp://host:port` and `--cluster scheduler-file:PATH` against a real `dask scheduler`."""
    import json

    from conftest import run_cli, worker_env

    procs = dask_processes(1, worker_env={"PYTHONPATH": WORKER_PATH})
    sched_file = tmp_path / "scheduler.json"
    sched_file.write_text(json.dumps({"address": procs.address}))
    for i, spec in enumerate((procs.address, f"scheduler-file:{sched_file}")):
        study = tmp_path / f"s{i}.yaml"
        study.write_text(f"name: cli{i}\nstore: {tmp_path / 'store'}\nruns:\n"
                         f"  - {{name: a, fn: cluster_fixtures:square_run, params: {{i: {i + 2}, sleep_s: 0}}}}\n")
        r = run_cli("run", study, "--cluster", spec, "--progress", "none", env=worker_env(), timeout=300)
        assert r.returncode == 0, r.stderr
        assert (tmp_path / "store" / f"cli{i}" / "runs" / "a" / "out.txt").read_text() == f"{(i + 2) ** 2}\n"
    assert procs.scheduler.poll() is None  # somebody else's scheduler: left running

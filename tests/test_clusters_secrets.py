"""Secrets leave with the study (issue 11): real `dask scheduler` + `dask worker` processes.

A sentinel secret forwarded through an ``address`` profile reaches the study's runs; a second,
plain client finds it neither in the scheduler's plugins or task specs nor in any worker's
environment or memory, during the study and after it; a worker started afterwards with an empty
environment does not get it; the same after the driver is SIGKILLed.
"""
from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
import uuid

import pytest
from distributed import Client

from cluster_fixtures import *  # noqa: F401,F403
from cluster_fixtures import DASK, REPO, run_with_secret_env, scheduler_holds, worker_holds

from runfleet.clusters import open_cluster
from runfleet.clusters.secrets import applied, seal, unseal
from waiting import wait_until

WORKER_PATH = os.pathsep.join([str(REPO / "tests"), str(REPO / "src")])
NAME = "RF_SENTINEL_TOKEN"


def _wait(pred, timeout=20.0, what="condition"):
    return wait_until(pred, timeout, what)


def _plain_env() -> dict:
    """A worker environment with no trace of the sentinel (and no AWS variables)."""
    return {"PATH": os.environ["PATH"], "PYTHONPATH": WORKER_PATH, "HOME": os.environ.get("HOME", "/tmp")}


def _assert_nowhere(address: str, sentinel: str, expect_tasks: bool | None = None) -> None:
    needle = sentinel.encode()
    with Client(address, timeout=10, set_as_default=False) as c2:
        sched = c2.run_on_scheduler(scheduler_holds, needle=needle)
        assert not sched["in_worker_plugins"] and not sched["in_nanny_plugins"], sched
        assert "runfleet-env" not in sched["worker_plugins"], sched
        assert not sched["in_tasks"], "the secret is readable in a task spec on the scheduler"
        workers = c2.run(worker_holds, name=NAME, needle=needle)
        assert workers, "no workers to check"
        for addr, w in workers.items():
            assert not w["in_env"], f"{addr} has {NAME} in its environment"
            assert not w["in_data"] and not w["in_plugins"], f"{addr} holds the value in memory"


def test_seal_is_a_one_time_pad_and_applied_restores():
    env = {"RF_A": "value-a", "PYTHONPATH": "/rf/nowhere"}
    cipher, pad = seal(env)
    assert b"value-a" not in cipher and b"value-a" not in pad
    assert unseal(cipher, pad) == env
    os.environ.pop("RF_A", None)
    with applied((cipher, pad)) as got:
        assert got["RF_A"] == "value-a" and os.environ["RF_A"] == "value-a" and "/rf/nowhere" in sys.path
        with applied((cipher, pad)):  # a second run in the same process
            pass
        assert os.environ["RF_A"] == "value-a"  # the first is still running
    assert "RF_A" not in os.environ and "/rf/nowhere" not in sys.path


def test_secret_reaches_runs_and_leaves_with_the_study(dask_processes, profiles_file, monkeypatch, tmp_path):
    procs = dask_processes(2, worker_env=_plain_env(), clean_env=True)
    sentinel = f"sentinel-{uuid.uuid4().hex}"
    monkeypatch.setenv(NAME, sentinel)
    profiles_file({"shared": {"kind": "address", "address": procs.address, "env": {"forward": [NAME]}}})
    with open_cluster("shared") as session:
        session.ensure_workers(2, timeout=30)
        assert session.secret_env is not None and sentinel not in repr(session.secret_env)
        futs = [session.client.submit(run_with_secret_env, session.task_env(), NAME, 0.2, pure=False)
                for _ in range(6)]
        seen = session.client.gather(futs)
        assert seen == [hashlib.sha256(sentinel.encode()).hexdigest()] * 6  # every run had it
        del futs
        # during the study (its client connected, the channel open), between runs
        _assert_nowhere(procs.address, sentinel)
    # after the study: the ciphertext is released from the workers' memory too
    with Client(procs.address, timeout=10, set_as_default=False) as c2:
        _wait(lambda: all(w["n_data"] == 0 for w in c2.run(worker_holds, name=NAME, needle=b"x").values()),
              what="workers drop the study's data")
    _assert_nowhere(procs.address, sentinel)
    # a worker that joins afterwards with an empty environment gets nothing
    late = subprocess.Popen([DASK, "worker", procs.address, "--nthreads", "1", "--host", "127.0.0.1", "--name",
                             "late", "--no-nanny", "--dashboard-address", ":0"], env=_plain_env(),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        with Client(procs.address, timeout=10, set_as_default=False) as c2:
            c2.wait_for_workers(3, timeout=30)
        _assert_nowhere(procs.address, sentinel)
    finally:
        stop_process(late)


DRIVER = """
import os, sys, time
sys.path[:0] = {paths!r}
from cluster_fixtures import run_with_secret_env
from runfleet.clusters import open_cluster
session = open_cluster("shared")
fut = session.client.submit(run_with_secret_env, session.task_env(), {name!r}, {sleep}, {started!r}, pure=False)
print("submitted", flush=True)
time.sleep(600)  # a driver that holds its cluster until the test SIGKILLs it
"""


def test_secret_gone_after_driver_sigkill(dask_processes, profiles_file, tmp_path):
    procs = dask_processes(1, worker_env=_plain_env(), clean_env=True)
    sentinel = f"sentinel-{uuid.uuid4().hex}"
    path = profiles_file({"shared": {"kind": "address", "address": procs.address, "env": {"forward": [NAME]}}})
    started = tmp_path / "started"
    script = tmp_path / "driver.py"
    sleep_s = 3.0
    script.write_text(DRIVER.format(paths=[str(REPO / "tests"), str(REPO / "src")], name=NAME, sleep=sleep_s,
                                    started=str(started)))
    env = {**os.environ, NAME: sentinel, "RUNFLEET_CONFIG": str(path)}
    driver = subprocess.Popen([sys.executable, str(script)], env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.DEVNULL, text=True)
    try:
        _wait(started.exists, 60, "the run started")
        with Client(procs.address, timeout=10, set_as_default=False) as c2:  # while it runs: in the run's env
            assert any(w["in_env"] for w in c2.run(worker_holds, name=NAME, needle=b"x").values())
        os.kill(driver.pid, signal.SIGKILL)
        driver.wait(10)
        t_kill = time.time()
        # documented bound: the run executing at the kill ends (here <= 3 s), then nothing is left
        with Client(procs.address, timeout=10, set_as_default=False) as c2:
            _wait(lambda: not any(w["in_env"] or w["n_data"] for w in
                                  c2.run(worker_holds, name=NAME, needle=b"x").values()),
                  sleep_s + 10, "the env and the ciphertext leave the worker")
        assert time.time() - t_kill <= sleep_s + 10
        _assert_nowhere(procs.address, sentinel)
        late = subprocess.Popen([DASK, "worker", procs.address, "--nthreads", "1", "--host", "127.0.0.1",
                                 "--name", "late", "--no-nanny", "--dashboard-address", ":0"], env=_plain_env(),
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            with Client(procs.address, timeout=10, set_as_default=False) as c2:
                c2.wait_for_workers(2, timeout=30)
            _assert_nowhere(procs.address, sentinel)
        finally:
            stop_process(late)
    finally:
        if driver.poll() is None:
            driver.kill()


def test_runfleet_run_on_an_address_cluster_forwards_and_forgets(dask_processes, tmp_path):
    from conftest import run_cli, worker_env

    procs = dask_processes(2, worker_env=_plain_env(), clean_env=True)
    sentinel = f"sentinel-{uuid.uuid4().hex}"
    profiles = tmp_path / "profiles.yaml"
    profiles.write_text(f"clusters:\n  shared: {{kind: address, address: '{procs.address}', "
                        f"env: {{forward: [{NAME}]}}}}\n")
    study = tmp_path / "s.yaml"
    study.write_text("name: sec\nstore: " + str(tmp_path / "store") + "\nruns:\n"
                     + "".join(f"  - {{name: r{i}, fn: cluster_fixtures:square_run, "
                               f"params: {{i: {i}, sleep_s: 0.2, env_names: [{NAME}]}}}}\n" for i in range(6)))
    env = {**worker_env(), NAME: sentinel, "RUNFLEET_CONFIG": str(profiles)}
    r = run_cli("run", study, "--cluster", "shared", env=env, timeout=300)
    assert r.returncode == 0, r.stderr
    import json

    for i in range(6):
        marker = json.loads((tmp_path / "store" / "sec" / "runs" / f"r{i}" / "_result.json").read_text())
        assert sentinel in json.dumps(marker)  # the run saw the forwarded value
    _assert_nowhere(procs.address, sentinel)


ADAPTIVE = """
import sys, time
from distributed import LocalCluster
cluster = LocalCluster(n_workers=0, threads_per_worker=1, processes=True, host="127.0.0.1",
                       dashboard_address=":0")
cluster.adapt(minimum=0, maximum=2, interval="200ms", wait_count=3, target_duration="1s")
with open(sys.argv[1] + ".tmp", "w") as f:
    f.write(cluster.scheduler_address)
import os
os.replace(sys.argv[1] + ".tmp", sys.argv[1])
time.sleep(3600)  # the test stops this process
"""


def test_adaptive_address_cluster_forwards_env_to_runs_and_their_map_tasks_and_accounts(profiles_file, monkeypatch,
                                                                                       tmp_path):
    """A scheduler that scales itself (Dask's Adaptive, 0..2 worker processes) reached through an
    ``address`` profile that forwards a secret: the study starts at zero workers, every run and
    every ``ctx.map`` sub-task sees the variable, the cost is accounted from the scheduler's
    worker events, and after the study the scheduler holds nothing of it and its workers can
    retire (a ciphertext left behind would keep the last one: Dask does not retire the only
    holder of scattered data)."""
    from runfleet import Run, Study, run_study

    from cluster_fixtures import stop_process

    addr_file = tmp_path / "address"
    log = open(tmp_path / "adaptive.log", "w")
    proc = subprocess.Popen([sys.executable, "-c", ADAPTIVE, str(addr_file)], env=_plain_env(), stdout=log,
                            stderr=subprocess.STDOUT, cwd=str(tmp_path))
    try:
        _wait(addr_file.exists, 60, "the adaptive cluster's scheduler is up")
        address = addr_file.read_text()
        sentinel = f"sentinel-{uuid.uuid4().hex}"
        digest = hashlib.sha256(sentinel.encode()).hexdigest()
        monkeypatch.setenv(NAME, sentinel)
        profiles_file({"elastic": {"kind": "address", "address": address, "env": {"forward": [NAME]}}})
        study = Study("adaptive-secret", store=str(tmp_path / "store"), seed=1)
        for i in range(4):
            study.add(Run(f"r{i}", "cluster_fixtures:fanout_secret_run", params={"name": NAME, "n": 4, "i": i},
                          pack=False))
        summary = run_study(study, cluster="elastic", progress=False)
        assert summary.counts["done"] == 4, summary.counts
        for i in range(4):
            value = json.loads((tmp_path / "store" / "adaptive-secret" / "runs" / f"r{i}" / "_result.json")
                               .read_text())["value"]
            assert value["own"] == digest, f"r{i} did not see {NAME}"
            assert value["subs"] == [digest] * 4, f"a ctx.map sub-task of r{i} did not see {NAME}: {value['subs']}"
        cost = summary.cost
        assert cost is not None and cost.workers >= 1 and cost.tasks >= 4 * 5
        assert cost.paid_s >= cost.busy_s >= 4 * 4 * 0.3 * 0.95  # the sub-tasks slept on worker threads

        # after the study: nothing on the scheduler, and the workers retire to zero
        with Client(address, timeout=10, set_as_default=False) as c2:
            sched = c2.run_on_scheduler(scheduler_holds, needle=sentinel.encode())
            assert not sched["in_tasks"] and not sched["in_worker_plugins"], sched
            # (workers are not asked here: adapt retires them meanwhile, and their processes end)
            _wait(lambda: not c2.scheduler_info(n_workers=-1)["workers"], 120, "adapt retired every worker")
    finally:
        stop_process(proc)
        log.close()
    text = (tmp_path / "adaptive.log").read_text()
    assert "CRITICAL" not in text and "lost dependencies" not in text.lower(), text[-3000:]
    assert "Could not retire worker" not in text, text[-3000:]

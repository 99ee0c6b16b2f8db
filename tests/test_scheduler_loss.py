"""Scheduler lost mid-study: real `dask scheduler` + `dask worker` processes, `runfleet run` as a user types it.

* restarted on the same port within ``runfleet.reconnect-s``: the same invocation ends with exit 0,
  every output equal to a clean (serial) run's, each run committed once, no attempt charged;
* not restarted: one line naming what was lost, the committed count and the command to resume,
  exit 4; that command then completes the study.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

from cluster_fixtures import *  # noqa: F401,F403
from cluster_fixtures import DASK, REPO, committed, stop_process, wait_port
from conftest import BIN, worker_env
from waiting import wait_until

N = 24
WORKER_PATH = os.pathsep.join([str(REPO / "tests"), str(REPO / "src")])


def cube_run(ctx, i: int, sleep_s: float = 0.6):
    """A deterministic run: sleeps, writes i**3 to out.txt, returns it."""
    time.sleep(sleep_s)  # the run's duration: runs are in flight when the scheduler is killed
    with ctx.open("out.txt", "w") as f:
        f.write(f"{i ** 3}\n")
    return {"i": i, "cube": i ** 3}


def _study(path: Path, store: Path, name: str) -> Path:
    runs = "".join(f"  - {{name: c-{i:02d}, fn: test_scheduler_loss:cube_run, params: {{i: {i}}}}}\n"
                   for i in range(N))
    path.write_text(f"name: {name}\nstore: {store}\nseed: 3\nruns:\n{runs}")
    return path


def _start(port: int, logs: Path, n_workers: int = 2) -> list[subprocess.Popen]:
    """A scheduler on 127.0.0.1:``port`` and ``n_workers`` workers (scheduler first in the list)."""
    env = {**os.environ, "PYTHONPATH": WORKER_PATH}
    sched = subprocess.Popen([DASK, "scheduler", "--host", "127.0.0.1", "--port", str(port),
                              "--dashboard-address", ":0", "--no-show"], env=env,
                             stdout=open(logs / f"scheduler-{time.time():.0f}.log", "w"), stderr=subprocess.STDOUT)
    wait_port(port, 30, sched)
    procs = [sched]
    for i in range(n_workers):
        procs.append(subprocess.Popen(
            [DASK, "worker", f"tcp://127.0.0.1:{port}", "--nthreads", "1", "--host", "127.0.0.1",
             "--dashboard-address", ":0", "--no-nanny", "--death-timeout", "20"], env=env,
            stdout=open(logs / f"w{i}-{time.time():.0f}.log", "w"), stderr=subprocess.STDOUT))
    return procs


def _kill(procs: list[subprocess.Popen]) -> None:
    for p in procs:
        if p.poll() is None:
            p.send_signal(signal.SIGKILL)
            p.wait(10)


def _runfleet(args: list[str], env: dict) -> subprocess.Popen:
    return subprocess.Popen([str(BIN / "runfleet"), *args], cwd=str(REPO), env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def _wait_committed(store: Path, name: str, n: int, proc: subprocess.Popen, timeout: float = 120) -> None:
    def enough() -> bool:
        assert proc.poll() is None, proc.communicate()
        return committed(store, name) >= n

    wait_until(enough, timeout, f"{n} runs committed")


def _outputs(store: Path, name: str) -> dict:
    """{run: (out.txt bytes, recorded value)} read back from the store."""
    from runfleet.ledger import Ledger
    from runfleet.store import Store

    records, _ = Ledger(Store(str(store)), name).load()
    assert len(records) == N and all(r.status == "done" for r in records.values())
    return {n: ((store / name / "runs" / n / "out.txt").read_bytes(), r.value) for n, r in sorted(records.items())}


def _clean_run(tmp_path: Path) -> dict:
    from runfleet.studyfile import load_study
    from runfleet import run_study

    study = load_study(str(_study(tmp_path / "clean.yaml", tmp_path / "clean-store", "sl")))
    for run in study.runs.values():
        run.params["sleep_s"] = 0.0  # a parameter change would change the key, not the outputs
    summary = run_study(study, cluster="serial", progress=False)
    assert summary.exit_code == 0
    return _outputs(tmp_path / "clean-store", "sl")


def test_scheduler_restarted_within_reconnect_s_the_same_run_finishes(tmp_path):
    from cluster_fixtures import free_port

    logs = tmp_path / "logs"
    logs.mkdir()
    port = free_port()
    store = tmp_path / "store"
    study = _study(tmp_path / "sl.yaml", store, "sl")
    procs = _start(port, logs)
    env = {**worker_env(), "DASK_RUNFLEET__RECONNECT_S": "90"}
    proc = _runfleet(["run", str(study), "--cluster", f"tcp://127.0.0.1:{port}", "--progress", "log"], env)
    try:
        _wait_committed(store, "sl", 5, proc)
        _kill(procs)  # the scheduler and its workers, mid-study
        lost_at = committed(store, "sl")
        assert lost_at < N
        time.sleep(2)  # the outage itself: the scheduler stays down a while before it comes back
        procs = _start(port, logs)
        out, err = proc.communicate(timeout=300)
    finally:
        if proc.poll() is None:
            proc.kill()
        for p in procs:
            stop_process(p)
    assert proc.returncode == 0, err
    assert "Traceback" not in err, err
    assert f"{N} done" in out, out
    assert "lost scheduler tcp://127.0.0.1" in err + out  # the progress said what happened
    # every run committed once, none charged an attempt for the scheduler's death
    for d in (store / "sl" / "runs").iterdir():
        marker = json.loads((d / "_result.json").read_text())
        assert marker["attempt"] == 1, (d.name, marker)
        assert not (d / "_error.json").exists()
    assert _outputs(store, "sl") == _clean_run(tmp_path)


def test_scheduler_not_back_one_line_exit_4_then_the_command_resumes(tmp_path):
    from cluster_fixtures import free_port

    logs = tmp_path / "logs"
    logs.mkdir()
    port = free_port()
    store = tmp_path / "store"
    study = _study(tmp_path / "sl.yaml", store, "sl")
    procs = _start(port, logs)
    env = {**worker_env(), "DASK_RUNFLEET__RECONNECT_S": "3"}
    args = ["run", str(study), "--cluster", f"tcp://127.0.0.1:{port}", "--progress", "none"]
    proc = _runfleet(args, env)
    try:
        _wait_committed(store, "sl", 4, proc)
        _kill(procs)
        t0 = time.time()
        out, err = proc.communicate(timeout=120)
        took = time.time() - t0
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 4, (out, err)
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1, err
    line = lines[0]
    assert line.startswith("runfleet: lost scheduler tcp://127.0.0.1:"), line
    n = committed(store, "sl")
    assert f"{n} of {N} runs are committed" in line, line
    assert f"resume with: runfleet run {study} --cluster tcp://127.0.0.1:{port} --progress none" in line
    assert " done" not in out  # no summary
    assert took < 60, f"the driver took {took:.0f} s to give up with reconnect-s=3"
    # the scheduler comes back; the printed command finishes the study
    procs = _start(port, logs)
    try:
        r = subprocess.run([str(BIN / "runfleet"), *args], cwd=str(REPO), env=env, capture_output=True,
                           text=True, timeout=300)
    finally:
        for p in procs:
            stop_process(p)
    assert r.returncode == 0, r.stderr
    assert committed(store, "sl") == N
    assert _outputs(store, "sl") == _clean_run(tmp_path)

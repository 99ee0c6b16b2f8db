"""Users' scripts as they write them: no ``if __name__ == "__main__":`` guard, run as a file, with
``python -c`` and from stdin (like a notebook cell), on the embedded local cluster.

Before the embedded cluster started its workers with multiprocessing spawn, each worker re-ran
such a script as ``__mp_main__`` and printed hundreds of lines of "bootstrapping phase"
tracebacks. Now workers are Dask nannies started with subprocess (runfleet.clusters.local).
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap

import pytest

from conftest import worker_env
from waiting import wait_until

#: a script as a user writes it: run function defined in the script itself, no main guard
NO_GUARD = textwrap.dedent("""
    import json, sys
    from runfleet import Run, Study, run_study

    def double(ctx, i):
        return {"i": i, "twice": 2 * i}

    study = Study("noguard", store=sys.argv[1], seed=1)
    for i in range(200):
        study.add(Run(f"r-{i:03d}", double, params={"i": i}))
    summary = run_study(study, workers=2, progress=False)
    values = [summary.outcomes[f"r-{i:03d}"].value["twice"] for i in range(200)]
    print(json.dumps({"done": summary.counts["done"], "failed": summary.counts["failed"],
                      "ok": values == [2 * i for i in range(200)]}))
""")


def _check(proc: subprocess.CompletedProcess) -> None:
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr and "bootstrapping" not in proc.stderr, proc.stderr[-3000:]
    last = json.loads(proc.stdout.strip().splitlines()[-1])
    assert last == {"done": 200, "failed": 0, "ok": True}


def test_script_without_main_guard_runs_200_runs(tmp_path):
    script = tmp_path / "analysis.py"
    script.write_text(NO_GUARD)
    proc = subprocess.run([sys.executable, str(script), str(tmp_path / "store")], capture_output=True, text=True,
                          timeout=300, env=worker_env(), cwd=tmp_path)
    _check(proc)


def test_python_dash_c_runs_200_runs(tmp_path):
    proc = subprocess.run([sys.executable, "-c", NO_GUARD, str(tmp_path / "store")], capture_output=True,
                          text=True, timeout=300, env=worker_env(), cwd=tmp_path)
    _check(proc)


def test_script_from_stdin_like_a_notebook_cell(tmp_path):
    proc = subprocess.run([sys.executable, "-", str(tmp_path / "store")], input=NO_GUARD, capture_output=True,
                          text=True, timeout=300, env=worker_env(), cwd=tmp_path)
    _check(proc)


def test_module_run_with_dash_m_without_main_guard(tmp_path):
    """``python -m analysis`` made spawned workers import the module by name and run it again."""
    (tmp_path / "analysis.py").write_text(NO_GUARD)
    env = worker_env()
    env["PYTHONPATH"] = os.pathsep.join([str(tmp_path), env["PYTHONPATH"]])
    proc = subprocess.run([sys.executable, "-m", "analysis", str(tmp_path / "store")], capture_output=True,
                          text=True, timeout=300, env=env, cwd=tmp_path)
    _check(proc)


def test_workers_and_nannies_exit_when_the_driver_is_killed(tmp_path):
    """SIGKILL of a driver (no chance to clean up): its embedded workers and their nannies are
    gone a few seconds later."""
    script = tmp_path / "hold.py"
    script.write_text(textwrap.dedent("""
        import json, os, time
        import psutil
        from runfleet.clusters import start_local

        session = start_local(workers=2)
        pids = list(session.client.run(os.getpid).values())
        pids += [p.pid for p in psutil.Process().children()]
        print(json.dumps(pids), flush=True)
        time.sleep(600)  # a driver that holds its cluster until the test SIGKILLs it
    """))
    proc = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                            text=True, env=worker_env(), cwd=tmp_path)
    try:
        pids = json.loads(proc.stdout.readline())
        assert len(pids) == 4  # 2 workers + 2 nannies
        import psutil

        assert all(psutil.pid_exists(p) for p in pids)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)

        def alive() -> list:
            return [p for p in pids if psutil.pid_exists(p) and psutil.Process(p).status() != psutil.STATUS_ZOMBIE]

        try:
            wait_until(lambda: not alive(), 10, "the driver's workers and nannies gone", interval=0.2)
        except TimeoutError:
            raise AssertionError(f"processes left after the driver died: {alive()}") from None
    finally:
        if proc.poll() is None:
            proc.kill()


@pytest.mark.slow
def test_cholera_calibrate_at_module_level(tmp_path):
    """``cholera.api.calibrate`` called at module level in a script, as a notebook user would."""
    script = tmp_path / "calib.py"
    script.write_text(textwrap.dedent("""
        import sys
        from cholera.api import calibrate

        res = calibrate(["ETH"], sims=4, store=sys.argv[1], days=20, n_iter=2, batch=4, n_ppc=0, workers=2)
        print("RESULT", res["done"], res["failed"])
    """))
    proc = subprocess.run([sys.executable, str(script), str(tmp_path / "store")], capture_output=True, text=True,
                          timeout=600, env=worker_env(), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr and "bootstrapping" not in proc.stderr, proc.stderr[-3000:]
    assert "RESULT 4 0" in proc.stdout


def test_open_fleet_at_module_level_with_python_dash_c(tmp_path):
    code = textwrap.dedent("""
        import sys
        from runfleet import Run, open_fleet

        def inc(ctx, i):
            return i + 1

        with open_fleet("dyn", store=sys.argv[1], seed=2, workers=2) as fleet:
            fleet.submit([Run(f"r-{i}", inc, params={"i": i}) for i in range(10)])
            got = {}
            for o in fleet.as_completed():
                got[o.name] = o.value
                if o.name == "r-0":
                    fleet.submit([Run("late", inc, params={"i": 100})])
        print(len(got), got["late"], sum(got.values()))
    """)
    proc = subprocess.run([sys.executable, "-c", code, str(tmp_path / "store")], capture_output=True, text=True,
                          timeout=300, env=worker_env(), cwd=tmp_path)
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr[-3000:]
    assert proc.stdout.split() == ["11", "101", str(sum(range(1, 11)) + 101)]


def test_a_worker_that_cannot_start_is_cluster_unavailable():
    from runfleet.clusters import start_local
    from runfleet.errors import ClusterUnavailable

    with pytest.raises(ClusterUnavailable, match="worker process 0 exited with code 1"):
        start_local(workers=1, memory_limit="lots")

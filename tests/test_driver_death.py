"""What Dask itself does with embedded workers when their driver is SIGKILLed.

runfleet used to register a worker plugin (``DriverWatchdog``) that polled the driver's PID.
Dask's own ``AsyncProcess`` already gives every worker process a pipe from its parent and exits
the child as soon as that pipe closes (``distributed.process._immediate_exit_when_closed``).
This test checks that behaviour on a plain ``LocalCluster`` (no runfleet plugin): after the
driver is SIGKILLed, every worker process is gone within seconds and no task commits anything.
"""
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from conftest import worker_env
from waiting import alive_in_session, wait_until

DRIVER = textwrap.dedent("""
    import os, sys, time
    from pathlib import Path
    from distributed import Client, LocalCluster

    out = Path(sys.argv[1])

    def slow_commit(i, out=str(out)):
        import time
        from pathlib import Path
        time.sleep(0.4)  # the task's duration: tasks are in flight when the driver is killed
        Path(out, f"commit-{i}").write_text("x")
        return i

    if __name__ == "__main__":
        cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                               dashboard_address=":0")
        client = Client(cluster)
        pids = client.run(os.getpid)
        (out / "workers.txt").write_text(" ".join(str(p) for p in pids.values()))
        futures = client.map(slow_commit, range(200))
        client.gather(futures)
""")


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False
    return "\nState:\tZ" not in state  # a zombie has exited (PID 1 may not reap it here)


def test_embedded_workers_exit_when_the_driver_is_sigkilled(tmp_path):
    script = tmp_path / "driver.py"
    script.write_text(DRIVER)
    proc = subprocess.Popen([sys.executable, str(script), str(tmp_path)], env=worker_env(), cwd=tmp_path,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    wait_until(lambda: len(list(tmp_path.glob("commit-*"))) >= 4, 120, "4 tasks committed", interval=0.05)
    workers = [int(p) for p in (tmp_path / "workers.txt").read_text().split()]
    assert len(workers) == 2 and all(_alive(p) for p in workers)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    killed_at = time.monotonic()
    try:
        wait_until(lambda: not any(_alive(p) for p in workers), 10, "workers gone", interval=0.02)
    except TimeoutError:
        raise AssertionError("worker processes outlived their SIGKILLed driver") from None
    gone_after = time.monotonic() - killed_at  # how fast they go is what is measured here
    assert gone_after < 5, gone_after
    commits = set(tmp_path.glob("commit-*"))
    # nothing commits behind the next invocation's back: every process of the session has ended
    wait_until(lambda: not alive_in_session(proc.pid), 10, "every process of the driver's session gone")
    assert set(tmp_path.glob("commit-*")) == commits

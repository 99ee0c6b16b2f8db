"""Store lost mid-study: a real ``moto_server`` process per test, stopped (SIGSTOP), killed (SIGKILL)
or restarted empty while `runfleet run` commits to it.

What a user cares about: the driver stops within a bounded time with one line and exit 4 (never
a hang, a traceback, or exit 0 "all done" for a study whose record is gone), and the bucket is
not re-created behind their back.
"""
from __future__ import annotations

import os
import signal
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from conftest import BIN, REPO, free_port, worker_env
from waiting import answers, wait_until

N = 30


def _moto(port: int) -> subprocess.Popen:
    proc = subprocess.Popen([str(BIN / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    def up() -> bool:
        assert proc.poll() is None, f"moto_server exited with {proc.returncode}"
        return answers(lambda: urllib.request.urlopen(f"http://127.0.0.1:{port}/moto-api/", timeout=1).read())()

    try:
        wait_until(up, 30, "moto_server answering")
    except BaseException:
        proc.kill()
        raise
    return proc


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGCONT)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)


@pytest.fixture
def own_moto():
    """``start(port=None) -> (proc, port)``; every process started is killed at teardown."""
    started: list[subprocess.Popen] = []

    def start(port: int | None = None):
        port = port or free_port()
        proc = _moto(port)
        started.append(proc)
        return proc, port

    yield start
    for p in started:
        _stop(p)


def _setup(tmp_path: Path, port: int):
    import s3fs

    endpoint = f"http://127.0.0.1:{port}"
    so = {"key": "testing", "secret": "testing", "client_kwargs": {"endpoint_url": endpoint}}
    s3fs.S3FileSystem(**so).mkdir("loss")
    study = tmp_path / "s.yaml"
    runs = "".join(f"  - {{name: r-{i:02d}, fn: 'test_store_loss:slow_add', params: {{x: {float(i)}}}}}\n"
                   for i in range(N))
    study.write_text(f"name: st\nstore: s3://loss/p\nruns:\n{runs}")
    opts = ["--storage-option", "key=testing", "--storage-option", "secret=testing",
            "--storage-option", f"client_kwargs.endpoint_url={endpoint}",
            "--storage-option", "config_kwargs.read_timeout=5"]
    return so, study, opts


def slow_add(ctx, x: float):
    """A run that takes 0.4 s and writes a small output to the store."""
    time.sleep(0.4)  # the run's duration: runs are in flight when the store goes away
    with ctx.open("out.txt", "w") as f:
        f.write(f"{x + 1}\n")
    return x + 1


def _committed(so: dict) -> int:
    import s3fs

    try:
        fs = s3fs.S3FileSystem(**so, skip_instance_cache=True)
        return sum(1 for p in fs.find("loss/p/st/runs") if p.endswith("/_result.json"))
    except Exception:  # noqa: BLE001 - not there yet
        return 0


def _start_run(study: Path, opts: list[str], tmp_path: Path) -> subprocess.Popen:
    env = {**worker_env(), "DASK_RUNFLEET__STORE_RETRY_S": "5"}
    return subprocess.Popen([str(BIN / "runfleet"), "run", str(study), "--workers", "1", "--progress", "none",
                             "--no-preflight", *opts], cwd=str(tmp_path), env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def _wait_commits(so: dict, n: int, proc: subprocess.Popen) -> None:
    def enough() -> bool:
        assert proc.poll() is None, proc.communicate()
        return _committed(so) >= n

    wait_until(enough, 180, f"{n} runs committed", interval=0.3)


def _one_line_exit_4(proc: subprocess.Popen, bound_s: float) -> str:
    t0 = time.time()
    try:
        out, err = proc.communicate(timeout=bound_s + 60)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        pytest.fail(f"the driver hung for more than {bound_s + 60:.0f} s: {err[-2000:]}")
    took = time.time() - t0
    assert proc.returncode == 4, (proc.returncode, out, err[-3000:])
    assert "Traceback" not in err, err[-3000:]
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1, err
    assert "testing" not in out + err  # no credentials in the message
    assert f"{N} done" not in out and " 0 failed" not in out  # no summary claiming anything
    assert took < bound_s, f"stopped after {took:.0f} s (bound {bound_s:.0f} s)"
    return lines[0]


@pytest.mark.parametrize("how", ["SIGSTOP", "SIGKILL"])
def test_store_stops_answering_bounded_stop_exit_4(tmp_path, own_moto, how):
    moto, port = own_moto()
    so, study, opts = _setup(tmp_path, port)
    proc = _start_run(study, opts, tmp_path)
    try:
        _wait_commits(so, 4, proc)
        os.kill(moto.pid, getattr(signal, how))
        # documented bound: store-retry-s (5 here) + one blocked call (read_timeout 5 s x 2 attempts)
        line = _one_line_exit_4(proc, bound_s=90)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert line.startswith("runfleet: store s3://loss/p"), line
    assert "not reachable" in line or "vanished" in line, line
    assert "resume with: runfleet run" in line and "secret=***" in line, line


def test_store_restarted_empty_is_never_reported_done(tmp_path, own_moto):
    import s3fs

    moto, port = own_moto()
    so, study, opts = _setup(tmp_path, port)
    proc = _start_run(study, opts, tmp_path)
    try:
        _wait_commits(so, 4, proc)
        _stop(moto)
        own_moto(port)  # the same endpoint, empty: no bucket, no study.json, no markers
        line = _one_line_exit_4(proc, bound_s=90)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert "store s3://loss/p" in line, line
    # the bucket was not re-created by the study after it vanished
    assert not s3fs.S3FileSystem(**so, skip_instance_cache=True).exists("loss")

"""Shared fixtures: a real moto S3 server process, an embedded Dask cluster, CLI helpers.

Servers bind 127.0.0.1 only and are stopped by PID.
"""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
from waiting import answers, wait_until

REPO = Path(__file__).resolve().parents[1]
TESTS = REPO / "tests"
SHARED = REPO.parent / "shared"
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def worker_env() -> dict:
    """Environment for subprocesses and workers: the tests and the repo importable."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(TESTS), str(REPO)] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
    env.setdefault("RUNFLEET_PROGRESS_INTERVAL", "1")
    return env


def run_cli(*args, cwd=None, timeout=300, env=None, exe="runfleet") -> subprocess.CompletedProcess:
    """Run a console script of this venv as a user would; returns the completed process."""
    return subprocess.run([str(BIN / exe), *map(str, args)], cwd=cwd or REPO, capture_output=True, text=True,
                          timeout=timeout, env=env or worker_env())


@pytest.fixture(scope="session")
def moto_server():
    """A real ``moto_server`` process on 127.0.0.1; yields its endpoint URL."""
    port = free_port()
    proc = subprocess.Popen([str(BIN / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    def up() -> bool:
        assert proc.poll() is None, f"moto_server exited with {proc.returncode}"
        return answers(lambda: urllib.request.urlopen(f"{url}/moto-api/", timeout=1).read())()

    try:
        wait_until(up, 30, "moto_server answering")
    except BaseException:
        proc.kill()
        raise
    yield url
    os.kill(proc.pid, signal.SIGTERM)
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        os.kill(proc.pid, signal.SIGKILL)


@pytest.fixture
def moto_s3(moto_server):
    """A fresh bucket on the moto server: ``{"endpoint_url", "storage_options", "bucket"}``."""
    import uuid

    import s3fs

    so = {"key": "testing", "secret": "testing", "client_kwargs": {"endpoint_url": moto_server}}
    bucket = f"test-{uuid.uuid4().hex[:12]}"
    s3fs.S3FileSystem(**so).mkdir(bucket)
    return {"endpoint_url": moto_server, "storage_options": so, "bucket": bucket}


@pytest.fixture(scope="module")
def client():
    """An embedded 2-worker LocalCluster (processes) shared by a test module."""
    from runfleet.clusters import start_local

    session = start_local(workers=2, env={"PYTHONPATH": worker_env()["PYTHONPATH"]}, dashboard_address=":0")
    yield session.client
    session.close()


@pytest.fixture(autouse=True, scope="module")
def _isolated_dask_config():
    """Each test module starts from the same Dask config and no default client: libraries such as
    dask-gateway's client change process-wide state (TLS security, default client)."""
    import copy

    import dask

    saved = copy.deepcopy(dask.config.config)
    yield
    try:
        from distributed import default_client

        default_client().close()
    except ValueError:
        pass
    # restore what existed before; keep sections that library imports added meanwhile (e.g.
    # dask_jobqueue registers its 'jobqueue' defaults once, at import)
    for key in list(dask.config.config):
        if key in saved:
            dask.config.config[key] = saved[key]


def study_record_runs(study_dir) -> list[dict]:
    """The runs of a local study's record (``study.json`` and its shards), through the ledger."""
    from pathlib import Path

    from runfleet.ledger import Ledger
    from runfleet.store import Store

    study_dir = Path(study_dir)
    doc = Ledger(Store(str(study_dir.parent)), study_dir.name).read_study()
    return doc["runs"] if doc else []

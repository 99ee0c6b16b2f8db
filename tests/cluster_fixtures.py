"""Fixtures that start real cluster components on 127.0.0.1 and stop them by PID.

* ``dask_processes``: a factory for ``dask scheduler`` + N ``dask worker`` processes.
* ``gateway_server``: dask-gateway-server with the UnsafeLocalBackend (module scope).
* ``slurm``: single-node SLURM via scripts/slurm_up.sh (session scope; skips when not root or not installed).
* ``moto_aws``: an in-process moto server (S3, EC2, ECS, IAM, logs) on 127.0.0.1.
* ``profiles_file``: write a runfleet.yaml and point RUNFLEET_CONFIG at it.

Import them in a test module with ``from cluster_fixtures import *`` (or list the module in a
conftest's ``pytest_plugins``).
"""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import textwrap
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml
from waiting import answers, wait_until

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
DASK = str(BIN / "dask")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, timeout: float = 30.0, proc: subprocess.Popen | None = None) -> None:
    def listening() -> bool:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode} before listening on {port}")
        return answers(lambda: socket.create_connection(("127.0.0.1", port), timeout=0.5).close())()

    wait_until(listening, timeout, f"something listening on 127.0.0.1:{port}")


def _wait_http_ok(url: str, timeout: float, proc: subprocess.Popen | None = None) -> None:
    import urllib.request

    def ok() -> bool:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode} before {url} answered")
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                return r.status == 200
        except Exception:  # noqa: BLE001 - not up yet
            return False

    wait_until(ok, timeout, f"{url} answering 200", interval=0.2)


def stop_process(proc: subprocess.Popen, grace: float = 5.0) -> None:
    """SIGTERM by PID, then SIGKILL after ``grace`` seconds."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(grace)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


# --------------------------------------------------------------------------- run functions
def square_run(ctx, i: int, sleep_s: float = 0.3, env_names=()):
    """A study run: sleeps, writes i*i to out.txt, returns where it ran and selected env values."""
    time.sleep(sleep_s)  # the run's duration is what is tested (runs in flight when a job is cancelled)
    with ctx.open("out.txt", "w") as f:
        f.write(f"{i * i}\n")
    return {"i": i, "sq": i * i, "pid": os.getpid(), "job": os.environ.get("SLURM_JOB_ID"),
            "env": {n: os.environ.get(n) for n in env_names}}


def committed(store: Path, study: str) -> int:
    """Number of runs of ``study`` committed in a local store."""
    return len(list((Path(store) / study / "runs").glob("*/_result.json")))


def kill_when(predicate, action, timeout: float = 120.0):
    """Start a thread that calls ``action()`` once ``predicate()`` is true."""
    import threading

    fired = threading.Event()

    def loop():
        try:
            wait_until(predicate, timeout, "kill condition")
        except TimeoutError:
            return  # the test sees ``fired`` unset
        action()
        fired.set()

    threading.Thread(target=loop, daemon=True).start()
    return fired


# --------------------------------------------------------------------------- dask CLI processes
@dataclass
class DaskProcesses:
    address: str
    scheduler: subprocess.Popen
    workers: list[subprocess.Popen] = field(default_factory=list)
    logs: Path | None = None


@pytest.fixture
def dask_processes(tmp_path):
    """``start(n_workers=2, worker_env=None, nanny=False, clean_env=False) -> DaskProcesses``; all stopped
    at teardown. ``clean_env``: workers get ``worker_env`` only, nothing of this process's environment."""
    started: list[subprocess.Popen] = []

    def start(n_workers: int = 2, worker_env: dict | None = None, nanny: bool = False,
              clean_env: bool = False) -> DaskProcesses:
        port = free_port()
        logs = tmp_path / "dask-logs"
        logs.mkdir(exist_ok=True)
        # the scheduler unpickles task graphs: it imports the test helpers like the workers do
        sched_env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO / "tests"), str(REPO / "src")])}
        sched = subprocess.Popen(
            [DASK, "scheduler", "--host", "127.0.0.1", "--port", str(port), "--dashboard-address", ":0",
             "--no-show"],
            stdout=open(logs / "scheduler.log", "w"), stderr=subprocess.STDOUT, env=sched_env)
        started.append(sched)
        wait_port(port, 30, sched)
        address = f"tcp://127.0.0.1:{port}"
        env = {} if clean_env else dict(os.environ)
        env.update(worker_env or {})
        procs = []
        for i in range(n_workers):
            cmd = [DASK, "worker", address, "--nthreads", "1", "--host", "127.0.0.1", "--name", f"w{i}",
                   "--dashboard-address", ":0", "--death-timeout", "30"]
            if not nanny:
                cmd.append("--no-nanny")
            p = subprocess.Popen(cmd, env=env, stdout=open(logs / f"w{i}.log", "w"), stderr=subprocess.STDOUT,
                                 cwd=str(tmp_path))
            started.append(p)
            procs.append(p)
        return DaskProcesses(address, sched, procs, logs)

    yield start
    for p in reversed(started):  # workers first, the scheduler last
        stop_process(p)


# --------------------------------------------------------------------------- dask-gateway-server
@dataclass
class GatewayServer:
    address: str          # public proxy URL clients use
    api_address: str
    proc: subprocess.Popen
    workdir: Path


GATEWAY_CONFIG = """
import os, sys
from dask_gateway_server.options import Options, Integer, Mapping
BIN = {bin!r}
c.DaskGateway.address = "127.0.0.1:{api_port}"
c.Proxy.address = "127.0.0.1:{proxy_port}"
c.DaskGateway.backend_class = "dask_gateway_server.backends.local.UnsafeLocalBackend"
c.DaskGateway.authenticator_class = "dask_gateway_server.auth.SimpleAuthenticator"
c.SimpleAuthenticator.password = None
c.ClusterConfig.scheduler_cmd = [f"{{BIN}}/dask", "scheduler"]
c.ClusterConfig.worker_cmd = [f"{{BIN}}/dask", "worker"]
c.ClusterConfig.worker_cores = 1
c.ClusterConfig.worker_memory = "1 G"
c.ClusterConfig.idle_timeout = 600
c.ClusterConfig.environment = {{"PATH": os.environ.get("PATH", ""), "PYTHONPATH": {pythonpath!r}}}
c.LocalBackend.clusters_directory = {clusters!r}

def options_handler(options):
    env = {{"PATH": os.environ.get("PATH", ""), "PYTHONPATH": {pythonpath!r}}}
    env.update(options.environment_vars)
    return {{"worker_cores": options.worker_cores, "environment": env}}

# Like Nebari: worker env is a server-declared option called environment_vars.
c.Backend.cluster_options = Options(
    Integer("worker_cores", default=1, min=1, max=2, label="Worker cores"),
    Mapping("environment_vars", default={{}}, label="Environment variables"),
    handler=options_handler,
)
"""


@pytest.fixture(scope="module")
def gateway_server(tmp_path_factory):
    pytest.importorskip("dask_gateway_server")
    work = tmp_path_factory.mktemp("gateway")
    api_port, proxy_port = free_port(), free_port()
    src = str(REPO / "src")
    cfg = work / "dask_gateway_config.py"
    cfg.write_text(GATEWAY_CONFIG.format(bin=str(BIN), api_port=api_port, proxy_port=proxy_port,
                                         clusters=str(work / "clusters"),
                                         pythonpath=os.pathsep.join([src, str(REPO / "tests")])))
    proc = subprocess.Popen([str(BIN / "dask-gateway-server"), "-f", str(cfg)], cwd=str(work),
                            stdout=open(work / "server.log", "w"), stderr=subprocess.STDOUT)
    try:
        wait_port(proxy_port, 60, proc)
        wait_port(api_port, 60, proc)
        _wait_http_ok(f"http://127.0.0.1:{proxy_port}/api/health", 60, proc)
    except Exception:
        stop_process(proc, 20)
        raise
    yield GatewayServer(f"http://127.0.0.1:{proxy_port}", f"http://127.0.0.1:{api_port}", proc, work)
    stop_process(proc, 25)


# --------------------------------------------------------------------------- SLURM
def _slurm_skip_reason() -> str | None:
    if os.geteuid() != 0:
        return "SLURM tests need root (they start munged, slurmctld and slurmd)"
    missing = [b for b in ("slurmctld", "slurmd", "sinfo", "munged") if not shutil.which(b)
               and not Path("/usr/sbin", b).exists()]
    if missing:
        return f"SLURM not installed ({', '.join(missing)} missing): run scripts/system_deps.sh as root"
    return None


@pytest.fixture(scope="session")
def slurm():
    reason = _slurm_skip_reason()
    if reason:
        pytest.skip(reason)
    r = subprocess.run(["bash", str(REPO / "scripts" / "slurm_up.sh")], capture_output=True, text=True, timeout=120)
    if r.returncode == 3:
        pytest.skip(f"SLURM cannot start here: {r.stderr.strip()}")
    assert r.returncode == 0, f"slurm_up.sh failed: {r.stdout}\n{r.stderr}"
    yield
    subprocess.run(["bash", str(REPO / "scripts" / "slurm_down.sh")], capture_output=True, timeout=120)


# --------------------------------------------------------------------------- moto
@pytest.fixture
def moto_aws(monkeypatch):
    """In-process moto server on 127.0.0.1; AWS_* env points every boto/aiobotocore client at it."""
    monkeypatch.setenv("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")
    from moto.server import ThreadedMotoServer

    srv = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    srv.start()
    host, port = srv.get_host_and_port()
    endpoint = f"http://127.0.0.1:{port}"
    monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing-secret-value")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    yield endpoint
    srv.stop()


# --------------------------------------------------------------------------- profiles
@pytest.fixture
def profiles_file(tmp_path, monkeypatch):
    """``write(clusters: dict | str) -> Path``: a runfleet.yaml that RUNFLEET_CONFIG points at."""

    def write(clusters) -> Path:
        path = tmp_path / "runfleet.yaml"
        if isinstance(clusters, str):
            path.write_text(textwrap.dedent(clusters))
        else:
            path.write_text(yaml.safe_dump({"clusters": clusters}, sort_keys=False))
        monkeypatch.setenv("RUNFLEET_CONFIG", str(path))
        return path

    return write


__all__ = ["DaskProcesses", "committed", "kill_when", "square_run", "GatewayServer", "dask_processes", "free_port", "gateway_server", "moto_aws",
           "profiles_file", "slurm", "stop_process", "wait_port"]


# --------------------------------------------------------------------------- secrets
def run_with_secret_env(secret_env, name: str, sleep_s: float = 0.0, started: str | None = None):
    """A task as the executor runs it: the study's env applied around the run.

    Returns the sha256 of the variable's value as the run saw it (never the value), or None.
    """
    import hashlib

    from runfleet.clusters.secrets import applied

    with applied(secret_env):
        if started:
            Path(started).write_text("started")
        time.sleep(sleep_s)  # the run is in flight for this long: the secret must stay applied meanwhile
        value = os.environ.get(name)
    return None if value is None else hashlib.sha256(value.encode()).hexdigest()


def scheduler_holds(dask_scheduler=None, needle: bytes = b"") -> dict:
    """Run on the scheduler: does ``needle`` appear in its plugin registries or task specs?"""
    import pickle

    def contains(obj) -> bool:
        try:
            blob = pickle.dumps(obj)
        except Exception:  # noqa: BLE001
            import cloudpickle

            blob = cloudpickle.dumps(obj)
        return needle in blob or needle in repr(obj).encode()

    return {
        "worker_plugins": sorted(dask_scheduler.worker_plugins),
        "in_worker_plugins": contains(dict(dask_scheduler.worker_plugins)),
        "in_nanny_plugins": contains(dict(getattr(dask_scheduler, "nanny_plugins", {}))),
        "in_tasks": any(contains(getattr(ts, "run_spec", None)) for ts in dask_scheduler.tasks.values()),
        "n_tasks": len(dask_scheduler.tasks),
    }


def worker_holds(dask_worker=None, name: str = "", needle: bytes = b"") -> dict:
    """Run on a worker: is the variable in its environment, is the value anywhere in its data?"""
    data = dict(dask_worker.data.items()) if hasattr(dask_worker.data, "items") else {}
    in_data = any(isinstance(v, (bytes, str)) and needle in (v if isinstance(v, bytes) else v.encode())
                  for v in data.values())
    return {"in_env": name in os.environ, "in_data": in_data, "n_data": len(data),
            "in_plugins": any(needle in repr(vars(p)).encode() for p in dask_worker.plugins.values()
                              if hasattr(p, "__dict__"))}


def _secret_hash_item(i: int, name: str, sleep_s: float = 0.0):
    """A ``ctx.map`` sub-task: the sha256 of ``name`` in its environment (never the value), or None."""
    import hashlib

    time.sleep(sleep_s)  # in flight this long, so adapt adds a worker and the items spread
    value = os.environ.get(name)
    return None if value is None else hashlib.sha256(value.encode()).hexdigest()


def fanout_secret_run(ctx, name: str, n: int = 4, sleep_s: float = 0.3, i: int = 0):
    """A run that fans out ``n`` sub-tasks with ``ctx.map``: the sha256 of ``name`` as the run saw
    it and as each sub-task saw it."""
    subs = ctx.map(_secret_hash_item, range(n), name=name, sleep_s=sleep_s)
    return {"own": _secret_hash_item(-1, name), "subs": subs}

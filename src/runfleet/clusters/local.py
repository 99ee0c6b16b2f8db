"""``kind: local`` — the embedded LocalCluster (processes), the default when no profile is named.

Workers are separate processes (one per core by default, one thread each), so CPU-bound runs
do not fight over the GIL. The scheduler runs in the driver (its dashboard link is printed);
each worker is a Dask nanny started like ``dask worker``, in a fresh interpreter launched with
:mod:`subprocess` (:class:`NannyProcess`), never with multiprocessing from the driver. So a
user's script that calls ``run_study`` / ``runfleet.map`` at module level without
``if __name__ == "__main__":`` works: no worker ever re-imports the driver's ``__main__``.
The nanny keeps what LocalCluster's nannies give: a memory limit per worker and a restart when
the worker outgrows it (recorded as ``OutOfMemory``).

Workers exit when the driver dies, even by SIGKILL: each nanny watches its parent (the driver)
and ends its process group (``_nanny_process.py``); no worker plugin is needed for that.
"""
from __future__ import annotations

import asyncio
import json
import multiprocessing.spawn
import os
import signal
import sys

import dask

from distributed import Client, LocalCluster
from distributed.deploy.spec import ProcessInterface

from ..errors import ClusterUnavailable
from .base import ClusterSession

#: seconds a worker process may take to start and register with the scheduler
START_TIMEOUT_S = 120.0
#: what the nanny's fresh interpreter runs: _nanny_process.py by path, so the runfleet package
#: (numpy, pandas, ...) is not imported just to start a worker
_NANNY_CODE = "import runpy, sys; runpy.run_path(sys.argv[1])['main'](sys.argv[2])"
_NANNY_FILE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "_nanny_process.py")
#: Nanny options LocalCluster hands to its worker class that can cross a process boundary as JSON
_NANNY_OPTIONS = ("host", "nthreads", "memory_limit", "env", "silence_logs", "dashboard", "dashboard_address",
                  "resources", "lifetime", "lifetime_stagger", "lifetime_restart", "local_directory", "preload")
#: imported by each worker before it registers with the scheduler (Dask's worker ``preload``):
#: the module every task runs in, so a worker that joins can start its first task at once
#: instead of spending its first seconds of paid time importing runfleet (and pandas, pyarrow)
WORKER_PRELOAD = "runfleet.executor"


class NannyProcess(ProcessInterface):
    """One worker of the embedded cluster: a Dask nanny in its own interpreter and session.

    ``LocalCluster(worker_class=NannyProcess)`` creates one per worker with the options
    LocalCluster gives its nannies (``nthreads``, ``memory_limit``, ``env``, ...). :meth:`start`
    launches ``python -c`` running ``_nanny_process.py`` with :mod:`subprocess` (asyncio), and
    returns once the nanny's worker is registered with the scheduler (or raises, naming the
    exit code, if the process ends first; its stderr is the driver's). :meth:`close` ends the
    whole process group.

    The nanny process gets the driver's environment plus ``PYTHONPATH`` entries for the
    driver's ``sys.path`` outside the interpreter's own prefix (the script's directory, paths the
    user added), so ``"module:function"`` run functions import on the workers as they do on the
    driver; and the driver's Dask configuration (``DASK_INTERNAL_INHERIT_CONFIG``).
    """

    def __init__(self, scheduler: str, name=None, **options):
        super().__init__(scheduler=scheduler, name=name)
        self.scheduler = scheduler
        self.name = name
        self.options = {k: v for k, v in options.items()
                        if k in _NANNY_OPTIONS and (v is not None or k == "memory_limit")}
        if name is not None:
            self.options["name"] = name
        self.process: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        read_fd, write_fd = os.pipe()
        spec = {"scheduler": self.scheduler, "options": self.options, "parent_pid": os.getpid(),
                "ready_fd": write_fd}
        try:
            self.process = await asyncio.create_subprocess_exec(
                _python_executable(), "-c", _NANNY_CODE, _NANNY_FILE, json.dumps(spec),
                env=_nanny_environ(self.options.get("env")), pass_fds=(write_fd,), start_new_session=True,
                stdin=asyncio.subprocess.DEVNULL)
        except BaseException:
            os.close(read_fd)
            raise
        finally:
            os.close(write_fd)
        loop = asyncio.get_running_loop()
        reader = asyncio.StreamReader()
        transport, _ = await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader),
                                                    os.fdopen(read_fd, "rb"))
        try:
            line = await asyncio.wait_for(reader.readline(), START_TIMEOUT_S)
        except asyncio.TimeoutError:
            line = b""
        finally:
            transport.close()
        if not line.strip():
            try:  # EOF: the process ended (or closed the pipe); a timeout: it hangs
                code = await asyncio.wait_for(self.process.wait(), 5)
            except asyncio.TimeoutError:
                code = None
            await self._kill()
            what = f"exited with code {code}" if code is not None else f"did not start within {START_TIMEOUT_S:.0f} s"
            raise ClusterUnavailable(f"local cluster: worker process {self.name} {what} (its error is printed above)")
        self.address = line.decode().strip()
        await super().start()

    async def close(self) -> None:
        if self.process is not None and self.process.returncode is None:
            try:  # the scheduler usually closed the nanny already; give it a moment to exit by itself
                await asyncio.wait_for(self.process.wait(), 3)
            except asyncio.TimeoutError:
                self._signal_group(signal.SIGTERM)
                try:
                    await asyncio.wait_for(self.process.wait(), 5)
                except asyncio.TimeoutError:
                    await self._kill()
        self._signal_group(signal.SIGKILL)  # leftovers of the group (a worker the nanny lost track of)
        await super().close()

    async def _kill(self) -> None:
        if self.process is not None:
            self._signal_group(signal.SIGKILL)
            await self.process.wait()

    def _signal_group(self, sig: int) -> None:
        if self.process is None:
            return
        try:
            os.killpg(self.process.pid, sig)
        except (ProcessLookupError, PermissionError):
            pass


def _python_executable() -> str:
    """The interpreter multiprocessing would use (right also when Python is embedded, e.g. in R)."""
    try:
        return multiprocessing.spawn.get_executable() or sys.executable
    except Exception:  # noqa: BLE001
        return sys.executable


def _nanny_environ(worker_env: dict | None) -> dict:
    """Environment of a nanny process: the driver's, the worker ``env``, PYTHONPATH for the
    driver's own import paths, and the driver's Dask config."""
    env = dict(os.environ)
    env.update({k: str(v) for k, v in (worker_env or {}).items()})
    prefixes = {os.path.realpath(p) for p in (sys.prefix, sys.base_prefix, sys.exec_prefix)}
    extra = []
    for entry in sys.path:
        path = os.path.realpath(entry or os.getcwd())
        if os.path.isdir(path) and not any(path == p or path.startswith(p + os.sep) for p in prefixes):
            extra.append(path)
    paths = [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p] + extra
    if paths:
        env["PYTHONPATH"] = os.pathsep.join(dict.fromkeys(paths))
    try:
        env["DASK_INTERNAL_INHERIT_CONFIG"] = dask.config.serialize(_worker_config())
    except Exception:  # noqa: BLE001 - a config value that is not JSON: workers read their own files
        pass
    return env


#: loggers of the worker processes set quieter than Dask's defaults (``logging:`` of Dask's
#: configuration, applied when a worker process imports ``distributed``): a worker that adapt
#: retires logs ``distributed.core - INFO - Connection to <scheduler> has been closed.`` on the
#: user's terminal (the nanny's ``silence_logs`` reaches only the nanny's own loggers)
WORKER_LOG_LEVELS = {"distributed.core": "warning"}


def _worker_config() -> dict:
    """The driver's Dask configuration for the nanny processes, with :data:`WORKER_LOG_LEVELS`
    added to its ``logging`` levels (a level the user configured, a ``logging`` dictConfig with a
    ``version``, or a ``logging-file-config`` is left as it is)."""
    config = dict(dask.config.global_config)
    logging_cfg = config.get("logging")
    if "logging-file-config" in config or (isinstance(logging_cfg, dict) and "version" in logging_cfg):
        return config
    levels = dict(logging_cfg) if isinstance(logging_cfg, dict) else {}
    for name, level in WORKER_LOG_LEVELS.items():
        levels.setdefault(name, level)
    config["logging"] = levels
    return config


def default_workers() -> int:
    """One worker per core this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - non-Linux
        return max(1, os.cpu_count() or 1)


def start_local(
    name: str = "local",
    *,
    workers: int | None = None,
    threads_per_worker: int = 1,
    memory_limit: str | float | None = "auto",
    env: dict[str, str] | None = None,
    dashboard_address: str | None = ":0",
    **cluster_kwargs,
) -> ClusterSession:
    """Start an embedded LocalCluster on 127.0.0.1 and return its session.

    The scheduler runs in this process; each worker is a nanny started with subprocess
    (:class:`NannyProcess`), so this works from scripts without a main guard, ``python -c``,
    ``python -m``, stdin and notebooks. Returns once every worker is registered.

    workers: worker processes (default: one per core). threads_per_worker: threads in each.
    memory_limit: per worker (bytes, ``"4GB"``, ``"auto"``: this machine's memory shared by
        cores, or ``None``); a worker above it is restarted by its nanny.
    env: environment variables set in the worker processes (e.g. PYTHONPATH for study modules).
    """
    n = default_workers() if workers is None else workers
    worker_env = dict(env or {})
    # A task whose worker dies fails at once (KilledWorker) and runfleet's retry policy decides;
    # Dask's default would silently re-run it up to 3 more times, killing a worker each time.
    with dask.config.set({"distributed.scheduler.allowed-failures": 0}):
        cluster = _local_cluster(n, threads_per_worker, dashboard_address, memory_limit, worker_env, cluster_kwargs)
    client = Client(cluster)
    session = ClusterSession(client=client, kind="local", name=name, cluster=cluster)
    session.on_close(cluster.close)
    return session


def open_local(profile, *, workers: int | None = None, env: dict[str, str] | None = None) -> ClusterSession:
    """Backend entry for ``kind: local`` profiles (env: LocalCluster's own ``env=``)."""
    o = profile.options
    adaptive = profile.adapt is not None and workers is None
    n = profile.adapt.minimum if adaptive else (workers if workers is not None else o.get("workers"))
    session = start_local(
        profile.name,
        workers=n,
        threads_per_worker=o.get("threads_per_worker") or 1,
        memory_limit=o.get("memory_limit", "auto"),
        env=env,
        dashboard_address=o.get("dashboard_address", ":0"),
    )
    session.profile = profile
    if adaptive:
        session.adapt(profile.adapt.minimum, profile.adapt.maximum)  # with the profile's knobs
    return session


def _local_cluster(n, threads_per_worker, dashboard_address, memory_limit, env, cluster_kwargs):
    preload = list(dask.config.get("distributed.worker.preload", None) or [])
    cluster_kwargs = {"preload": preload + [m for m in (WORKER_PRELOAD,) if m not in preload], **cluster_kwargs}
    return LocalCluster(
        n_workers=n,
        threads_per_worker=threads_per_worker,
        processes=True,
        worker_class=NannyProcess,
        host="127.0.0.1",
        dashboard_address=dashboard_address,
        memory_limit=memory_limit,
        env=env,
        **cluster_kwargs,
    )

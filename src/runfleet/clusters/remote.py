"""Code that runs on workers and schedulers, shipped **by value**.

This module imports nothing from runfleet, and :func:`ship_by_value` registers it with
cloudpickle so its functions and plugins reach workers whose environment does not have runfleet
(or has another version): the preflight probe must be able to report exactly that.
"""
from __future__ import annotations

import os
import sys
import time


DEADLINE_ENV = "RUNFLEET_WALLTIME_DEADLINE"  # epoch seconds at which the batch job is killed
_shipped = False


def ship_by_value() -> None:
    """Make cloudpickle send this module's code itself instead of a reference to it."""
    global _shipped
    if not _shipped:
        import cloudpickle

        cloudpickle.register_pickle_by_value(sys.modules[__name__])
        _shipped = True


def worker_deadline() -> float | None:
    """Epoch seconds at which this worker's batch job ends (set by the job script), else None."""
    v = os.environ.get(DEADLINE_ENV)
    try:
        return float(v) if v else None
    except ValueError:
        return None


def set_idle_timeout(dask_scheduler=None, seconds: float | None = None) -> float | None:
    """Run on the scheduler: close it after ``seconds`` without work (driver gone = no work)."""
    dask_scheduler.idle_timeout = seconds
    return dask_scheduler.idle_timeout


def _version_of(name: str, mod) -> str | None:
    v = getattr(mod, "__version__", None)
    if isinstance(v, str):
        return v
    try:
        from importlib.metadata import PackageNotFoundError, version

        try:
            return version(name.split(".")[0])
        except PackageNotFoundError:
            return None
    except Exception:  # noqa: BLE001
        return None


def probe_environment(modules, store_url=None, storage_options=None, env_names=(), token="x",
                      dask_worker=None):
    """Run on a worker (or the driver, ``dask_worker=None``): imports and versions of ``modules``,
    presence of ``env_names`` (never their values), and a write/read/delete round trip in the
    store. Returns a plain dict; never raises."""
    import importlib
    import platform
    import socket
    import traceback

    out = {
        "host": socket.gethostname(),
        "pid": os.getpid(),
        "python": platform.python_version(),
        "modules": {},
        "env": {n: (n in os.environ and os.environ[n] != "") for n in env_names},
        "store": None,
        "deadline": worker_deadline(),
    }
    for name in modules:
        try:
            mod = importlib.import_module(name)
            out["modules"][name] = {"ok": True, "version": _version_of(name, mod)}
        except BaseException as e:  # noqa: BLE001 - report, never raise
            out["modules"][name] = {"ok": False, "error": f"{type(e).__name__}: {e}"[:300]}
    if store_url:
        step = "open"
        try:
            import fsspec

            fs, root = fsspec.core.url_to_fs(store_url, **(storage_options or {}))
            root = root.rstrip("/")
            step = "list"
            try:
                fs.ls(root, detail=False)
            except FileNotFoundError:
                # an object-store prefix exists only while it holds objects: another worker's
                # probe may have just deleted the last one. Absence is not a failure to list.
                pass
            step = "write"
            path = f"{root}/_preflight/{out['host']}-{out['pid']}-{token}.txt"
            payload = f"runfleet preflight {token} {time.time()}".encode()
            protos = fs.protocol if isinstance(fs.protocol, (tuple, list)) else (fs.protocol,)
            if any(p in ("file", "local") for p in protos):  # never create buckets on object stores
                fs.makedirs(f"{root}/_preflight", exist_ok=True)
            with fs.open(path, "wb") as f:
                f.write(payload)
            step = "read"
            fs.invalidate_cache()
            with fs.open(path, "rb") as f:
                back = f.read()
            if back != payload:
                raise OSError("read back different bytes than written")
            step = "delete"
            fs.rm(path)
            out["store"] = {"ok": True}
        except BaseException as e:  # noqa: BLE001
            msg = f"{type(e).__name__}: {e}"
            out["store"] = {"ok": False, "step": step, "error": msg[:400],
                            "trace": traceback.format_exc(limit=3)[-800:]}
    return out

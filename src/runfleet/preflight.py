"""Preflight: before thousands of runs are launched, check on every worker that

* the key packages (and any named modules) import, with the driver's versions,
* the store is readable and writable with the given ``storage_options``,
* the forwarded / set environment variables are present (names only; values never leave workers).

``run_preflight(client, ...) -> PreflightReport``; ``report.ok``, ``report.problems`` (one line
each, with the cause), ``report.format_table()``. The probe is shipped by value, so a worker
without runfleet (or with another version) is reported, not a deserialisation error.
"""
from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

from .clusters.remote import probe_environment, ship_by_value

KEY_PACKAGES = ("dask", "distributed", "cloudpickle", "msgpack", "tornado", "numpy", "pandas", "pyarrow",
                "fsspec", "runfleet")
EXACT = {"dask", "distributed", "cloudpickle", "msgpack", "tornado", "runfleet"}  # must match exactly
PROTOCOL_PACKAGES = {"s3": "s3fs", "s3a": "s3fs", "gs": "gcsfs", "gcs": "gcsfs", "az": "adlfs", "abfs": "adlfs",
                     "abfss": "adlfs"}


@dataclass
class WorkerCheck:
    """What one worker (or the driver, ``address == "driver"``) reported."""

    address: str
    host: str = "?"
    python: str = "?"
    missing: dict[str, str] = field(default_factory=dict)        # module -> import error
    mismatched: dict[str, tuple] = field(default_factory=dict)   # module -> (driver, worker)
    minor: dict[str, tuple] = field(default_factory=dict)        # patch-level differences (warnings)
    store: str | None = None                                     # None: not checked; "ok" or the cause
    env_missing: list[str] = field(default_factory=list)
    error: str | None = None                                     # the probe itself failed

    @property
    def ok(self) -> bool:
        return (not self.missing and not self.mismatched and self.store in (None, "ok")
                and not self.env_missing and self.error is None)


@dataclass
class PreflightReport:
    driver: dict[str, Any]
    workers: list[WorkerCheck]
    problems: list[str]
    warnings: list[str]
    store_url: str | None = None

    @property
    def ok(self) -> bool:
        return not self.problems

    def format_table(self) -> str:
        rows = [("WORKER", "HOST", "PYTHON", "IMPORTS", "VERSIONS", "STORE", "ENV")]
        for w in self.workers:
            if w.error:
                rows.append((w.address, w.host, w.python, "probe failed", "-", "-", "-"))
                continue
            rows.append((
                w.address, w.host, w.python,
                "ok" if not w.missing else "missing " + ",".join(sorted(w.missing)),
                "ok" if not w.mismatched else "differ " + ",".join(sorted(w.mismatched)),
                "-" if w.store is None else ("ok" if w.store == "ok" else "FAIL"),
                "ok" if not w.env_missing else "missing " + ",".join(w.env_missing),
            ))
        widths = [min(48, max(len(str(r[i])) for r in rows)) for i in range(len(rows[0]))]
        lines = ["  ".join(str(c)[:widths[i]].ljust(widths[i]) for i, c in enumerate(r)).rstrip() for r in rows]
        out = "\n".join(lines)
        if self.problems:
            out += "\n\nproblems:\n" + "\n".join(f"  - {p}" for p in self.problems)
        if self.warnings:
            out += "\n\nwarnings:\n" + "\n".join(f"  - {p}" for p in self.warnings)
        out += "\n\n" + ("preflight: ok" if self.ok else f"preflight: FAILED ({len(self.problems)} problem(s))")
        return out


def _secret_strings(obj: Any) -> list[str]:
    out: list[str] = []
    if isinstance(obj, Mapping):
        for v in obj.values():
            out.extend(_secret_strings(v))
    elif isinstance(obj, (list, tuple)):
        for v in obj:
            out.extend(_secret_strings(v))
    elif isinstance(obj, str) and len(obj) >= 4 and not re.match(r"^https?://", obj):
        out.append(obj)
    return out


def _scrub(text: str, secrets: list[str]) -> str:
    for s in sorted(secrets, key=len, reverse=True):
        text = text.replace(s, "***")
    return text


def _minor(v: str | None) -> tuple:
    return tuple((v or "").split(".")[:2])


def _modules_for(store_url: str | None, modules: Iterable[str]) -> list[str]:
    mods = list(KEY_PACKAGES)
    if store_url and "://" in store_url:
        pkg = PROTOCOL_PACKAGES.get(store_url.split("://", 1)[0])
        if pkg:
            mods.append(pkg)
    for m in modules:
        if m not in mods:
            mods.append(m)
    return mods


def run_preflight(client, store_url: str | None = None, storage_options: Mapping | None = None,
                  modules: Iterable[str] = (), env_names: Iterable[str] = (), *,
                  min_workers: int = 1, wait_s: float = 60, secret_env=None) -> PreflightReport:
    """Probe every connected worker; see the module docstring.

    client: a ``distributed.Client``. store_url: local path or fsspec URL (``s3://bucket/prefix``).
    modules: extra module names that must import with the driver's version (your model package).
    env_names: variables that must be set on workers (``Profile.env.exact_names()``).
    secret_env: ``session.task_env()`` when the session carries the environment with its tasks
        (:mod:`runfleet.clusters.secrets`): the names are then checked inside one task per worker,
        with the environment applied as a run would see it, instead of in the bare worker.
    min_workers: wait up to ``wait_s`` seconds for this many workers (0 = probe whoever is there).
    """
    ship_by_value()
    modules = list(modules)
    mods = _modules_for(store_url, modules)
    env_names = list(dict.fromkeys(env_names))
    so = dict(storage_options or {})
    secrets = _secret_strings(so)
    token = uuid.uuid4().hex[:8]
    problems: list[str] = []
    warnings: list[str] = []

    driver = probe_environment(mods, store_url, so, (), token)
    required = set(modules) | (set(_modules_for(store_url, ())) - set(KEY_PACKAGES)) | {"dask", "distributed"}
    for name, info in driver["modules"].items():  # what is not on the driver is not compared
        if not info["ok"] and name in required:
            problems.append(f"driver: cannot import {name} ({info['error'][:160]})")
    checks: list[WorkerCheck] = []
    dcheck = WorkerCheck("driver", driver["host"], driver["python"])
    if driver["store"] is not None:
        dcheck.store = "ok" if driver["store"]["ok"] else _scrub(
            f"{driver['store']['step']} failed: {driver['store']['error']}", secrets)
        if dcheck.store != "ok":
            problems.append(f"driver: store {store_url} {dcheck.store}")
    checks.append(dcheck)

    if min_workers:
        try:
            client.wait_for_workers(min_workers, timeout=wait_s)
        except Exception:  # noqa: BLE001 - reported below
            pass
    results = client.run(probe_environment, mods, store_url, so, [] if secret_env is not None else env_names,
                         token, on_error="return")
    if secret_env is not None and env_names:
        _env_in_tasks(client, results, secret_env, env_names)
    if not results:
        problems.append("no workers connected: nothing to check (scale the cluster up or check that workers "
                        "can reach the scheduler)")
    for addr, res in sorted(results.items()):
        w = WorkerCheck(addr)
        checks.append(w)
        if isinstance(res, BaseException) or not isinstance(res, dict):
            w.error = _scrub(f"{type(res).__name__}: {res}", secrets)[:300]
            problems.append(f"{addr}: the probe could not run ({w.error})")
            continue
        w.host, w.python = res["host"], res["python"]
        if _minor(w.python) != _minor(driver["python"]):
            w.mismatched["python"] = (driver["python"], w.python)
            problems.append(f"{addr}: python {w.python} but the driver has {driver['python']}")
        elif w.python != driver["python"]:
            w.minor["python"] = (driver["python"], w.python)
        for name, info in res["modules"].items():
            dinfo = driver["modules"].get(name, {})
            if not info["ok"]:
                if dinfo.get("ok"):
                    w.missing[name] = info["error"]
                    problems.append(f"{addr}: cannot import {name} ({info['error'][:160]})")
                continue
            if not dinfo.get("ok"):
                continue
            dv, wv = dinfo.get("version"), info.get("version")
            if dv == wv:
                continue
            if name in EXACT or name in modules or _minor(dv) != _minor(wv):
                w.mismatched[name] = (dv, wv)
                problems.append(f"{addr}: {name} {wv} but the driver has {dv}")
            else:
                w.minor[name] = (dv, wv)
        if res["store"] is not None and not res["store"]["ok"]:
            w.store = _scrub(f"{res['store']['step']} failed: {res['store']['error']}", secrets)
            problems.append(f"{addr}: store {store_url} not usable: {w.store[:240]}")
        elif res["store"] is not None:
            w.store = "ok"
        w.env_missing = [n for n, present in res["env"].items() if not present]
        if w.env_missing:
            problems.append(f"{addr}: environment variable(s) not set: {', '.join(w.env_missing)}")
    minors = sorted({f"{n} {a} vs {b}" for w in checks for n, (a, b) in w.minor.items()})
    if minors:
        warnings.append("patch-level version differences (driver vs worker): " + "; ".join(minors))
    return PreflightReport(driver=driver, workers=checks, problems=problems, warnings=warnings, store_url=store_url)


def _env_present(secret_env, names):
    """Run as a task: which ``names`` are set while the study's environment is applied."""
    from runfleet.clusters.secrets import applied

    with applied(secret_env):
        import os

        return {n: bool(os.environ.get(n)) for n in names}


def _env_in_tasks(client, results: dict, secret_env, env_names: list[str]) -> None:
    """Fill ``results[addr]["env"]`` from one task per worker that applies the study's env."""
    futures = {addr: client.submit(_env_present, secret_env, env_names, workers=[addr], allow_other_workers=False,
                                   pure=False, key=f"runfleet-preflight-env-{uuid.uuid4().hex}")
               for addr, res in results.items() if isinstance(res, dict)}
    for addr, fut in futures.items():
        try:
            results[addr]["env"] = fut.result(timeout=60)
        except Exception as e:  # noqa: BLE001 - reported as missing, with the cause
            results[addr]["env"] = {n: False for n in env_names}
            results[addr].setdefault("env_error", f"{type(e).__name__}")
        finally:
            fut.release()


__all__ = ["PreflightReport", "WorkerCheck", "run_preflight"]

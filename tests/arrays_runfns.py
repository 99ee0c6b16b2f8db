"""Run functions of the job-array tests: a chain prep -> sims -> summary with seeded parquet
outputs (byte-comparable across backends), plus a run that fails on purpose and a slow one."""
from __future__ import annotations

import os
import time

import pandas as pd


def _sibling(ctx, name: str) -> str:
    return f"{ctx.out.rsplit('/', 1)[0]}/{name}"


def _count(counter: str | None, name: str) -> None:
    if counter:
        with open(counter, "a") as f:
            f.write(name + "\n")


def prep(ctx, n: int = 64):
    shocks = ctx.rng.normal(size=n)
    ctx.write_parquet(pd.DataFrame({"shock": shocks}), "shocks.parquet")
    return {"n": n, "mean": float(shocks.mean())}


def sim(ctx, i: int, steps: int = 20, sleep_s: float = 0.0, counter: str | None = None):
    _count(counter, ctx.name)
    if sleep_s:
        time.sleep(sleep_s)  # the run's duration: elements are in flight when a job is cancelled
    path = f"{_sibling(ctx, 'prep')}/shocks.parquet"
    options = ctx.storage_options if "://" in path else None
    shocks = pd.read_parquet(path, storage_options=options)["shock"].to_numpy()
    noise = ctx.rng.normal(size=(steps, len(shocks)))
    x = (noise + shocks).cumsum(axis=0)[-1]
    ctx.write_parquet(pd.DataFrame({"x": x}), "path.parquet")
    ctx.log.info("sim %s done", i)
    return {"i": i, "var": float(x.var()), "job": os.environ.get("SLURM_ARRAY_JOB_ID")}


def summary(ctx):
    rows = sorted((v["i"], v["var"]) for v in ctx.upstream.values() if "i" in v)
    df = pd.DataFrame(rows, columns=["i", "var"])
    ctx.write_parquet(df, "summary.parquet")
    return {"n": len(rows), "mean_var": float(df["var"].mean())}


def flaky(ctx, marker_dir: str, fail_times: int = 1):
    """Fails its first ``fail_times`` attempts (counted in files), then succeeds."""
    os.makedirs(marker_dir, exist_ok=True)
    n = len(os.listdir(marker_dir))
    open(os.path.join(marker_dir, f"attempt-{n}"), "w").close()
    if n < fail_times:
        raise RuntimeError(f"flaky failure {n}")
    return {"attempts_seen": n + 1}


def boom(ctx, message: str = "bad parameter"):
    raise ValueError(message)


def env_probe(ctx, names=(), **_):
    """Which of ``names`` are set in the run's environment (never their values)."""
    return {"set": sorted(n for n in names if os.environ.get(n))}

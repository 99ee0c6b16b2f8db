"""The demo study's run functions: a chain prep -> sim-{alpha} (grid) -> summary.

Each run writes its outputs as parquet under ``ctx.out`` on the worker and returns a small,
JSON-able summary that dependents receive in ``ctx.upstream``.
"""
import numpy as np
import pandas as pd


def prep(ctx, n: int):
    """Draw ``n`` base shocks with the run's own seed; write them as parquet."""
    shocks = ctx.rng.normal(size=n)
    path = ctx.write_parquet(pd.DataFrame({"shock": shocks}), "shocks.parquet")
    ctx.log.info("wrote %d shocks to %s", n, path)
    return {"shocks": path, "n": n}


def simulate(ctx, alpha: float, steps: int = 200):
    """AR(1) paths x_t = alpha * x_{t-1} + shock, one path per base shock, plus run-seeded noise."""
    shocks = pd.read_parquet(ctx.upstream["prep"]["shocks"],
                             storage_options=ctx.storage_options or None)["shock"].to_numpy()
    noise = ctx.rng.normal(scale=0.1, size=(steps, shocks.size))
    x = np.zeros(shocks.size)
    means = np.empty(steps)
    for t in range(steps):
        x = alpha * x + shocks * 0.01 + noise[t]
        means[t] = x.mean()
    ctx.write_parquet(pd.DataFrame({"t": np.arange(steps), "mean": means}), "path.parquet")
    return {"alpha": alpha, "final_mean": float(means[-1]), "variance": float(x.var()), "seed": ctx.seed}


def summarize(ctx):
    """Collect the small returned values of every sim into one parquet table."""
    rows = sorted(ctx.upstream.values(), key=lambda r: r["alpha"])
    table = pd.DataFrame(rows)
    ctx.write_parquet(table, "summary.parquet")
    ctx.log.info("summary of %d runs", len(rows))
    return {"runs": len(rows), "variance_by_alpha": {str(r["alpha"]): round(r["variance"], 6) for r in rows}}

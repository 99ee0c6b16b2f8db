"""Run functions used by the tests (importable on worker processes via PYTHONPATH)."""
import os
import time

import numpy as np
import pandas as pd


def record(ctx, **params):
    """Append one line per execution to <out>/../../_executions.txt-like counter file given in params."""
    counter = params.get("counter")
    if counter:
        with open(counter, "a") as f:
            f.write(ctx.name + "\n")
    return {"name": ctx.name, "params": params, "upstream": sorted(ctx.upstream)}


def draw(ctx, n: int = 5, **_):
    """Random draws from the run's generator, written as parquet and returned."""
    x = ctx.rng.normal(size=n)
    ctx.write_parquet(pd.DataFrame({"x": x}), "draws.parquet")
    return {"seed": ctx.seed, "x": [float(v) for v in x]}


def add(ctx, x: float = 0.0, **_):
    """x plus the sum of the upstream values' 'total' fields."""
    total = x + sum(v["total"] for v in ctx.upstream.values())
    return {"total": total}


def boom(ctx, message: str = "bad parameter"):
    raise ValueError(message)


def flaky(ctx, marker_dir: str, fail_times: int = 1):
    """Fails the first ``fail_times`` attempts (counted in files), then succeeds."""
    os.makedirs(marker_dir, exist_ok=True)
    n = len(os.listdir(marker_dir))
    open(os.path.join(marker_dir, f"attempt-{n}"), "w").close()
    if n < fail_times:
        with ctx.open("partial.txt", "w") as f:
            f.write("partial output of a failed attempt")
        raise RuntimeError(f"flaky failure {n}")
    with ctx.open("final.txt", "w") as f:
        f.write("ok")
    return {"attempts_seen": n + 1}


def die(ctx):
    """Kill the worker process running this run."""
    os._exit(13)


def sleepy(ctx, seconds: float = 1.0, counter: str | None = None, **_):
    if counter:
        with open(counter, "a") as f:
            f.write(ctx.name + "\n")
    deadline = time.time() + seconds
    while time.time() < deadline:  # the run's duration is what is tested (short steps: interruptible)
        time.sleep(0.01)
    with ctx.open("done.txt", "w") as f:
        f.write(ctx.name)
    return {"slept": seconds}


def square(x):
    return x * x


def fan_out(ctx, n: int = 20, **_):
    """Nested parallelism: squares of 0..n-1 computed on the same cluster."""
    from runfleet.chunks import map_chunks

    squares = ctx.map(square, range(n))
    chunk_sums = map_chunks(ctx, _chunk_sum, list(range(n)), n_chunks=4)
    return {"sum": int(sum(squares)), "chunk_sum": int(sum(chunk_sums))}


def _chunk_sum(chunk):
    time.sleep(0.05)  # each chunk takes time, so chunks run in parallel
    return int(np.sum(np.square(chunk)))


def trivial(ctx, i: int = 0):
    return i


def write_s3(ctx, n: int = 10, **_):
    """Write parquet to the store (S3 in the test) from the worker and read it back."""
    df = pd.DataFrame({"i": np.arange(n), "v": ctx.rng.normal(size=n)})
    path = ctx.write_parquet(df, "data.parquet")
    back = pd.read_parquet(path, storage_options=ctx.storage_options)
    return {"path": path, "rows": len(back), "pid": os.getpid()}


def blocked(ctx, seconds: float = 60.0, **_):
    """Blocks in C (one long sleep): the timeout exception cannot interrupt it."""
    time.sleep(seconds)  # the blocking call is what is tested
    return {"slept": seconds}


def hog(ctx, mb: int = 800, hold_s: float = 30.0):
    """Touch ``mb`` MB of memory and hold it (the nanny should restart the worker first)."""
    block = np.ones(mb * 131072)  # 8 bytes each
    time.sleep(hold_s)  # holds the memory while the nanny notices
    return {"sum": float(block[:10].sum())}


def plot_png(ctx, title: str = "plot", **_):
    """Write ``plots/<title>.png`` (a matplotlib line plot, Agg backend) under the run's directory."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(4, 3), dpi=80)
    x = np.linspace(0, 6.28, 50)
    ax.plot(x, np.sin(x), color="tab:blue")
    ax.fill_between(x, 0, np.sin(x), color="tab:orange", alpha=0.6)
    ax.set_title(title)
    with ctx.open(f"plots/{title}.png", "wb") as f:
        fig.savefig(f, format="png")
    plt.close(fig)
    return {"title": title}


def noisy_mean(n, loc=0.0):
    """A plain function (no ctx) drawing from NumPy's global generator."""
    return {"mean": float(np.mean(np.random.normal(loc, 1.0, size=n)))}


def annotated(context: "RunContext", x=1):  # noqa: F821 - the annotation names the convention
    """Takes the run context under another name, by annotation."""
    return {"run": context.name, "x": x}


def loglik(ctx, which: str = "ninf"):
    """Non-finite values are normal results (a log-likelihood of -inf)."""
    return {"ninf": {"ll": float("-inf"), "grid": [1.0, float("inf"), float("nan")]},
            "nan": float("nan")}[which]


def reads_upstream(ctx):
    """What arrived in ctx.upstream, described with JSON-safe strings."""
    return {k: repr(v) for k, v in sorted(ctx.upstream.items())}


def unstorable(ctx, counter: str):
    with open(counter, "a") as f:
        f.write(ctx.name + "\n")
    return {"score": 1.0, "model": object()}


def step(ctx, x: float = 0.0, fail: bool = False):
    """x plus the sum of the upstream values; raises when ``fail`` (an upstream failed on purpose)."""
    if fail:
        raise ValueError(f"{ctx.name} fails on purpose")
    return x + sum(v for v in ctx.upstream.values())


def survivors(ctx):
    """An aggregator over survivors: sums the done upstream values, counts what happened."""
    counts = {}
    for status in ctx.upstream_status.values():
        counts[status] = counts.get(status, 0) + 1
    return {"n": len(ctx.upstream), "total": sum(ctx.upstream.values()), "status": counts}


class BadInputError(ValueError):
    """An input error that would fail the same way on every attempt."""

    retryable = False


def bad_input(ctx, counter: str):
    """Counts its executions in ``counter``, then raises a non-retryable error."""
    with open(counter, "a") as f:
        f.write(ctx.name + "\n")
    raise BadInputError(f"{ctx.name}: input.csv: column 'kwh' is missing")


def tick(ctx, i: int = 0, counter: str | None = None):
    """Append this run's name to ``counter`` (one line per execution) and return ``i * 3``."""
    if counter:
        with open(counter, "a") as f:
            f.write(ctx.name + "\n")
    return i * 3


def _where(item):
    from distributed import get_worker

    return get_worker().address


def placed(ctx, n=6, r=0):
    """Where ``ctx.map`` with ``affinity`` ran each of ``n`` chunks (worker addresses, in order)."""
    return ctx.map(_where, list(range(n)), affinity=lambda i: ("loads-a", i))

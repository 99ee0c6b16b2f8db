"""runfleet's per-run overhead vs raw Dask on the same LocalCluster, in the same process run.

1. 10,000 trivial runs through runfleet (commit markers in a local store) vs raw
   ``client.map`` + ``gather`` of the same trivial function.
2. 40 runs of ~0.5 s CPU work vs the ideal (runs x duration / workers), and vs raw client.map.

Usage: .venv/bin/python benchmarks/overhead.py [--runs 10000] [--cpu-runs 40] [--cpu-seconds 0.5]
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from runfleet import Study, grid, run_study  # noqa: E402
from runfleet.clusters import start_local  # noqa: E402


def trivial_task(i):
    return i


def trivial_run(ctx, i):
    return i


def burn(seconds: float) -> float:
    """Spin the CPU for ``seconds`` of wall time (pure Python)."""
    end = time.perf_counter() + seconds
    x = 0.0
    while time.perf_counter() < end:
        x += 1.0
    return x


def burn_task(i, seconds):
    return burn(seconds) and i


def burn_run(ctx, i, seconds):
    burn(seconds)
    return i


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=10_000)
    ap.add_argument("--cpu-runs", type=int, default=40)
    ap.add_argument("--cpu-seconds", type=float, default=0.5)
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()

    here = os.path.dirname(os.path.abspath(__file__))
    session = start_local(workers=args.workers, env={"PYTHONPATH": here}, dashboard_address=":0")
    client = session.client
    client.wait_for_workers(args.workers)
    tmp = tempfile.mkdtemp(prefix="runfleet-bench-")
    try:
        # warm both paths (imports, first task)
        client.gather(client.map(trivial_task, range(10), pure=False))

        # runfleet first, then raw Dask on the same (then equally warm) cluster
        study = Study("trivial", store=os.path.join(tmp, "store"), seed=0)
        study.add_many(grid("t-{i}", "overhead:trivial_run", {"i": list(range(args.runs))}))
        t0 = time.perf_counter()
        summary = run_study(study, cluster=client, progress=False, keep_outcomes=False)
        rf_s = time.perf_counter() - t0
        assert summary.counts["done"] == args.runs, summary.counts

        t0 = time.perf_counter()
        client.gather(client.map(trivial_task, range(args.runs), pure=False))
        raw_s = time.perf_counter() - t0
        print(f"trivial runs: {args.runs} on {args.workers} workers")
        print(f"  raw client.map+gather: {raw_s:7.2f} s  ({args.runs / raw_s:8.0f} tasks/s)")
        print(f"  runfleet (markers):    {rf_s:7.2f} s  ({args.runs / rf_s:8.0f} runs/s)")
        print(f"  speed-up vs raw client.map: {raw_s / rf_s:.1f}x")

        ideal = args.cpu_runs * args.cpu_seconds / args.workers
        t0 = time.perf_counter()
        client.gather(client.map(burn_task, range(args.cpu_runs), seconds=args.cpu_seconds, pure=False))
        raw_cpu = time.perf_counter() - t0
        study = Study("cpu", store=os.path.join(tmp, "store"), seed=0)
        study.add_many(grid("c-{i}", "overhead:burn_run", {"i": list(range(args.cpu_runs))},
                            params={"seconds": args.cpu_seconds}))
        t0 = time.perf_counter()
        summary = run_study(study, cluster=client, progress=False, keep_outcomes=False)
        rf_cpu = time.perf_counter() - t0
        assert summary.counts["done"] == args.cpu_runs
        print(f"cpu runs: {args.cpu_runs} x {args.cpu_seconds} s on {args.workers} workers; ideal {ideal:.2f} s")
        print(f"  raw client.map: {raw_cpu:6.2f} s  efficiency {ideal / raw_cpu:.3f}")
        print(f"  runfleet:       {rf_cpu:6.2f} s  efficiency {ideal / rf_cpu:.3f}")
    finally:
        session.close()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()

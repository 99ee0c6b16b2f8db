"""The worker's CPU cost per packed run: :func:`runfleet.executor.execute` on a pack of trivial runs.

What a worker does for each run of a pack, in this process: build the run's context, call the
function, check and encode its value, make its record (seed, parameter hashes, times), then for
the pack encode and write its one pack file to a local store. The specs are built as the engine
builds them (``Fleet._spec``: keys from :func:`runfleet.plan.key_runs`). Not included: Dask's own
task overhead and the specs' (de)serialization (the task payload).

Prints CPU microseconds per run (process time; the minimum and the median of ``--repeats``
packs, so a shared machine's noise shows), the peer (a plain Python loop calling the same
function once per run) and their ratio, and the pack file's bytes per run.

With ``--cluster N``: also N trivial runs through ``run_study`` on an embedded cluster of 2
workers (1 thread each), and the CPU time per run the workers spent in all (Dask's task handling,
the specs' deserialization and the workers' idle event loops included) and the driver's.

Usage: .venv/bin/python benchmarks/worker_cost.py [--runs 2000] [--repeats 15] [--profile] [--cluster 20000]
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)


def trivial_run(ctx, i):
    return i


def build_specs(runs: int, seed: int = 0) -> list[dict]:
    """The specs of ``runs`` trivial runs, as ``Fleet._spec`` builds them for a first attempt."""
    from runfleet import Study, grid
    from runfleet.plan import key_runs
    from runfleet.study import resolve_fn

    study = Study("worker-cost", store=tempfile.gettempdir(), seed=seed)
    study.add_many(grid("t-{i}", "worker_cost:trivial_run", {"i": list(range(runs))}))
    deps = study.validate()
    keyed = key_runs(study.runs, deps, {n: resolve_fn(study.runs[n].fn, n) for n in deps}, {}, None, seed)
    return [{"name": name, "fn": kr.run.fn, "params": kr.run.params, "identity": kr.identity(), "upstream": {},
             "study_seed": seed, "attempt": 1, "timeout_s": None, "clear": False, "takes_ctx": kr.takes_ctx}
            for name, kr in keyed.items()]


def _process_cpu() -> float:
    return time.process_time()


def cluster_cost(runs: int) -> None:
    """CPU per run of the workers (summed) and the driver for ``runs`` trivial runs on 2 workers."""
    from runfleet import Study, grid, run_study
    from runfleet.clusters import start_local

    session = start_local(workers=2, threads_per_worker=1, env={"PYTHONPATH": HERE}, dashboard_address=":0")
    client = session.client
    client.wait_for_workers(2)
    tmp = tempfile.mkdtemp(prefix="runfleet-worker-cost-")
    try:
        warm = Study("warm", store=os.path.join(tmp, "store"), seed=0)
        warm.add_many(grid("w-{i}", "worker_cost:trivial_run", {"i": list(range(2000))}))
        run_study(warm, cluster=client, progress=False, keep_outcomes=False)
        study = Study("trivial", store=os.path.join(tmp, "store"), seed=0)
        study.add_many(grid("t-{i}", "worker_cost:trivial_run", {"i": list(range(runs))}))
        before = client.run(_process_cpu)
        t0, d0 = time.perf_counter(), time.process_time()
        run_study(study, cluster=client, progress=False, keep_outcomes=False)
        wall, driver = time.perf_counter() - t0, time.process_time() - d0
        after = client.run(_process_cpu)
    finally:
        session.close()
        shutil.rmtree(tmp, ignore_errors=True)
    workers = sum(after[w] - before[w] for w in after)
    print(f"cluster, {runs} runs on 2 workers: {wall:.1f} s ({runs / wall:.0f} runs/s); workers "
          f"{workers / runs * 1e6:.0f} us CPU per run (both, summed); driver {driver / runs * 1e6:.0f} us per run; "
          f"load average {os.getloadavg()[0]:.2f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=2000)
    ap.add_argument("--repeats", type=int, default=15)
    ap.add_argument("--profile", action="store_true", help="print a cProfile of one pack (tottime)")
    ap.add_argument("--cluster", type=int, default=0, metavar="N",
                    help="also N trivial runs on an embedded cluster of 2 workers: their CPU per run")
    args = ap.parse_args()

    from runfleet.executor import Specs, execute
    from runfleet.store import Store

    specs = build_specs(args.runs)
    tmp = tempfile.mkdtemp(prefix="runfleet-worker-cost-")
    try:
        store = Store(os.path.join(tmp, "store"))
        rows = execute(Specs(specs), store, "worker-cost", "warmup")  # imports, caches
        assert all(r["status"] == "done" for r in rows), rows[:3]
        per_run = []
        for k in range(args.repeats):
            t0 = time.process_time()
            execute(Specs(specs), store, "worker-cost", f"pack{k:04d}")
            per_run.append((time.process_time() - t0) / args.runs * 1e6)
        peer = []
        for _ in range(args.repeats):
            t0 = time.process_time()
            for spec in specs:
                trivial_run(None, **spec["params"])
            peer.append((time.process_time() - t0) / args.runs * 1e6)
        pack_bytes = os.path.getsize(os.path.join(tmp, "store", "worker-cost", "_packs", "pack0000.json.gz"))
        if args.profile:
            import cProfile
            import pstats

            prof = cProfile.Profile()
            prof.enable()
            execute(Specs(specs), store, "worker-cost", "profiled")
            prof.disable()
            pstats.Stats(prof).sort_stats("tottime").print_stats(25)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    best, median = min(per_run), statistics.median(per_run)
    print(f"runs per pack: {args.runs}, repeats: {args.repeats}, load average: {os.getloadavg()[0]:.2f}")
    print(f"execute (packed): {best:.1f} us CPU per run (min), {median:.1f} (median)")
    print(f"peer, plain loop calling the function: {min(peer):.3f} us per call (min)")
    print(f"ratio: {best / min(peer):.0f}x the plain call; pack file {pack_bytes / args.runs:.1f} bytes per run")
    if args.cluster:
        cluster_cost(args.cluster)


if __name__ == "__main__":
    main()

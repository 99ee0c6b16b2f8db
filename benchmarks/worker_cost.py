"""The worker's CPU cost per packed run: :func:`runfleet.executor.execute` on a pack of trivial runs.

What a worker does for each run of a pack, in this process: build the run's context, call the
function, check and encode its value, make its record (seed, parameter hashes, times), then for
the pack encode and write its one pack file to a local store. The specs are built as the engine
builds them (``Fleet._spec``: keys from :func:`runfleet.plan.key_runs`). Not included: Dask's own
task overhead and the specs' (de)serialization (the task payload).

Prints CPU microseconds per run (process time; the minimum and the median of ``--repeats``
packs, so a shared machine's noise shows), the peer (a plain Python loop calling the same
function once per run) and their ratio, and the pack file's bytes per run.

Usage: .venv/bin/python benchmarks/worker_cost.py [--runs 2000] [--repeats 15] [--profile]
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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=2000)
    ap.add_argument("--repeats", type=int, default=15)
    ap.add_argument("--profile", action="store_true", help="print a cProfile of one pack (tottime)")
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


if __name__ == "__main__":
    main()

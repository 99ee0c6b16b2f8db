"""ratedesign study benchmark: RI's 16-run chain (1,910 buildings) and a 10-utility study on one cluster.

    .venv/bin/python benchmarks/study.py [--root /tmp/rd_study_bench] [--workers 2] [--fraction 0.05]
                                         [--skip-ri] [--skip-utilities]

1. RI, runs 1-16 (+ their 13 derivation steps) on the real RI config with synthetic loads for the
   1,910 real bldg_ids, on an embedded LocalCluster of ``--workers`` single-threaded workers:
   - chained: the study as ``ratedesign study`` runs it (every ready run in flight, chunks of all runs
     sharing the pool through ctx.map);
   - one after another: the same study in a fresh store with ``max_in_flight=1`` (each run still
     fans its chunks out over all workers, like the platform's sequential loop).
   Printed: wall time, the sum of the runs' own durations (sum / wall = how well runs overlap), and
   chained vs one-after-another. Target: chained < 180 s on a 2-core machine.
2. 10 synthetic utilities of the sizes of spec section 2 (829 ... 15,435 buildings) times
   ``--fraction`` (CI-sized by default), 16 runs each, as one study: wall time and overlap.

Synthetic data is generated once under --root and reused. Cluster start is included in wall times.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import argparse  # noqa: E402
import os  # noqa: E402
import shutil  # noqa: E402
import time  # noqa: E402

os.environ.setdefault("DASK_LOGGING__DISTRIBUTED", "warning")


def run_once(chains, name, store, workers, max_in_flight=None):
    from runfleet import run_study

    from ratedesign.chain import build_study

    shutil.rmtree(os.path.join(store, name), ignore_errors=True)
    study = build_study(chains, name, store)
    t0 = time.perf_counter()
    s = run_study(study, workers=workers, progress=False, max_in_flight=max_in_flight)
    wall = time.perf_counter() - t0
    if s.exit_code != 0:
        bad = {k: (o.status, o.error_class, (o.error or "")[-300:]) for k, o in s.outcomes.items() if o.status != "done"}
        raise SystemExit(f"{name}: not all runs done: {bad}")
    durs = [o.duration_s or 0.0 for o in s.outcomes.values()]
    scen = [s.outcomes[st.name].duration_s or 0.0 for ch in chains for st in ch.scenario_steps]
    return {"wall_s": wall, "sum_s": sum(durs), "sum_scenario_s": sum(scen), "n_runs": len(durs)}


def main(argv=None) -> int:
    from ratedesign import examples
    from ratedesign.chain import expand_file

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--root", default="/tmp/rd_study_bench")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--fraction", type=float, default=0.05, help="size fraction of the 10 synthetic utilities")
    ap.add_argument("--skip-ri", action="store_true")
    ap.add_argument("--skip-utilities", action="store_true")
    args = ap.parse_args(argv)
    root = os.path.abspath(args.root)
    store = os.path.join(root, "store")
    print(f"workers: {args.workers} (1 thread each); cpu count {os.cpu_count()}")
    if not args.skip_ri:
        if not examples.shared_available():
            print("RI: ../shared absent, skipped")
        else:
            t0 = time.perf_counter()
            prep = examples.prepare_ri(os.path.join(root, "data"))
            print(f"RI data: {prep.n_buildings} buildings x upgrades 00, 02 "
                  f"({'generated' if prep.generated else 'reused'}, {time.perf_counter() - t0:.1f} s)")
            chain = expand_file(prep.scenario, map_prefix=prep.map_prefix)
            chained = run_once([chain], "ri-chained", store, args.workers)
            serial = run_once([chain], "ri-serial", store, args.workers, max_in_flight=1)
            print(f"RI 16 runs + {chained['n_runs'] - 16} derivations, {prep.n_buildings} buildings:")
            print(f"  chained (one study)          wall {chained['wall_s']:7.1f} s   sum of run durations "
                  f"{chained['sum_s']:7.1f} s   overlap sum/wall {chained['sum_s'] / chained['wall_s']:.2f}")
            print(f"  one run after another        wall {serial['wall_s']:7.1f} s   sum of run durations "
                  f"{serial['sum_s']:7.1f} s")
            print(f"  chained vs one-after-another {serial['wall_s'] / chained['wall_s']:.2f}x faster; "
                  f"target chained < 180 s: {'met' if chained['wall_s'] < 180 else 'MISSED'}")
    if not args.skip_utilities:
        chains, total = [], 0
        t0 = time.perf_counter()
        for k, (u, n) in enumerate(examples.UTILITY_SIZES.items()):
            m = max(20, int(round(n * args.fraction)))
            prep = examples.prepare_synthetic_utility(os.path.join(root, "data"), f"syn{u}", m,
                                                      first_id=1_000_000 * (k + 1))
            chains.append(expand_file(prep.scenario))
            total += m
        print(f"10 synthetic utilities, {total} buildings (fraction {args.fraction}), data "
              f"{time.perf_counter() - t0:.1f} s")
        r = run_once(chains, "ten-utilities", store, args.workers)
        print(f"  {r['n_runs']} runs (160 scenario runs): wall {r['wall_s']:.1f} s, sum of run durations "
              f"{r['sum_s']:.1f} s, overlap sum/wall {r['sum_s'] / r['wall_s']:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

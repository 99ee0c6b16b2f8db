"""Benchmark: full-length laser-cholera calibration simulations through runfleet.

Compares, on one LocalCluster (processes, 1 thread per worker):

- ideal: sims x (median single-simulation time on a warm worker) / workers;
- raw: ``client.map`` of the same work (``cholera.sim.simulate`` writing its parquet row into a
  local directory), no runfleet;
- runfleet: ``cholera.calibrate`` (batches, stopping rule disabled so every simulation runs,
  commit markers, resume bookkeeping), on the same client.

Prints the efficiency ratios ideal/runfleet and raw/runfleet, the driver's peak RSS (sampled
every 0.2 s) at the start and during the runfleet calibration, and the store objects and bytes
per simulation (``calibration_runner.measured_calibration``, shared with ``benchmarks/elastic.py``).

    python benchmarks/cholera.py --sims 200 --workers 2          # about 5 minutes on 2 idle cores
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time

import psutil

# this file is named like the package it measures: keep its directory off the front of the import
# path (``import cholera`` must find the package), but after it for the shared runner
_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != _HERE]
sys.path.append(_HERE)

from calibration_runner import measured_calibration  # noqa: E402


def one_sim(index: int, out_dir: str, locations: list[str], priors: dict, n_iter: int, seed: int) -> float:
    """The work of one simulation outside runfleet; returns its duration in seconds."""
    from runfleet import RunContext

    from cholera.sim import simulate

    t0 = time.perf_counter()
    name = f"sim-{index:06d}"
    ctx = RunContext.local(os.path.join(out_dir, name), name=name, seed=seed)
    simulate(ctx, locations, priors, n_iter=n_iter, days=None, sim_index=index, study_seed=seed)
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sims", type=int, default=200)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--locations", default="all", help="ISO3 codes or 'all' (the 40 bundled countries)")
    ap.add_argument("--n-iter", type=int, default=1, help="stochastic iterations per simulation")
    ap.add_argument("--batch", type=int, default=50)
    args = ap.parse_args()

    from distributed import Client, LocalCluster

    from cholera.config import CalibrationConfig
    from cholera.model import available_locations
    from cholera.priors import load_priors

    locations = available_locations() if args.locations == "all" else args.locations.split(",")
    priors = load_priors().to_dict()
    rss_start = psutil.Process().memory_info().rss
    with LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
            Client(cluster) as client, tempfile.TemporaryDirectory() as tmp:
        # warm every worker (imports, numba compilation), then time single simulations on warm workers
        warm = client.map(one_sim, range(10**6, 10**6 + 2 * args.workers), out_dir=f"{tmp}/warm", locations=locations,
                          priors=priors, n_iter=args.n_iter, seed=99, pure=False)
        client.gather(warm)
        timed = client.map(one_sim, range(2 * 10**6, 2 * 10**6 + 2 * args.workers), out_dir=f"{tmp}/single",
                           locations=locations, priors=priors, n_iter=args.n_iter, seed=98, pure=False)
        single = statistics.median(client.gather(timed))
        ideal = args.sims * single / args.workers

        t0 = time.perf_counter()
        futures = client.map(one_sim, range(args.sims), out_dir=f"{tmp}/raw", locations=locations, priors=priors,
                             n_iter=args.n_iter, seed=7, pure=False)
        raw_task_s = client.gather(futures)
        del futures
        raw = time.perf_counter() - t0

        cfg = CalibrationConfig(locations=tuple(locations), sims=args.sims, store=f"{tmp}/store", seed=7,
                                n_iter=args.n_iter, batch=args.batch, ess_target=1e12, patience=0, n_ppc=0,
                                progress="none")
        m = measured_calibration(cfg, client=client)
        result, fleet = m["result"], m["wall_s"]
        assert result["done"] + result["failed"] == args.sims, result
        import pandas as pd

        fleet_task_s = pd.read_parquet(result["files"]["sims"])["wall_s"].tolist()

    mb = 1024 * 1024
    print(f"cholera benchmark: {args.sims} full-length sims ({len(locations)} locations, 1155 days, "
          f"{args.n_iter} iteration(s)) on {args.workers} workers")
    print(f"  single sim (warm worker, median): {single:.2f} s")
    print(f"  ideal  (sims x single / workers): {ideal:.1f} s")
    print(f"  raw client.map                  : {raw:.1f} s")
    print(f"  runfleet (cholera.calibrate)    : {fleet:.1f} s  ({result['done']} done, {result['failed']} failed)")
    print(f"  mean time inside a simulation   : raw {statistics.mean(raw_task_s):.2f} s, "
          f"runfleet {statistics.mean(fleet_task_s):.2f} s (contention shows here, overhead does not)")
    print(f"  worker busy fraction (sum of in-simulation time / workers x wall): "
          f"raw {sum(raw_task_s) / args.workers / raw:.3f}, runfleet {sum(fleet_task_s) / args.workers / fleet:.3f}")
    print(f"  efficiency ideal/runfleet       : {ideal / fleet:.3f}")
    print(f"  efficiency raw/runfleet         : {raw / fleet:.3f}")
    print(f"  driver RSS: {rss_start / mb:.0f} MB at start, {m['rss_start_mb']:.0f} MB before the calibration, "
          f"peak {m['rss_peak_mb']:.0f} MB during it")
    print(f"  store: {m['objects_per_sim']:.2f} objects and {m['bytes_per_sim']:.0f} bytes per simulation "
          f"({m['objects']})")


if __name__ == "__main__":
    main()

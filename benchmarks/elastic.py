"""Elastic cost and 10,000 simulations (issue 16): worker-seconds paid vs busy on an adaptive cluster.

    .venv/bin/python benchmarks/elastic.py --case chain   [--root /tmp/rd_study_bench]
    .venv/bin/python benchmarks/elastic.py --case cholera [--sims 1000]
    .venv/bin/python benchmarks/elastic.py --case cholera-scale [--sizes 1000,10000]

``chain`` and ``cholera`` run on an adaptive embedded cluster (a ``kind: local`` profile with
``adapt: {minimum: 0, maximum: 2}`` and Dask's default adaptive knobs unless ``--interval`` /
``--wait-count`` / ``--target-duration`` are given), opened by runfleet and kept open after the
study, so the scale-down is observed:

- the study's own cost (``StudySummary.cost`` / ``calibrate(...)["cost"]``: paid, busy, idle
  worker-seconds while the study ran, what the summary line and the report show);
- a :class:`runfleet.accounting.WorkerAccounting` attached to the same client from before the
  study until the cluster is back at zero workers (polled, deadline 300 s): the seconds from the
  last run's end to zero workers, and busy/paid including that tail.

``chain`` is RI's 16-run chain (+ 13 derivation runs, 1,910 buildings, synthetic loads, as in
``benchmarks/study.py``); ``cholera`` is ``--sims`` short simulations (ETH, ``--days 10``, 1
iteration, stopping rule off).

``cholera-scale`` runs each size in a fresh process on a fixed 2-worker embedded cluster and
prints the driver's peak RSS (psutil, every 0.2 s), wall time, busy fraction (runfleet's
accounting: busy / paid worker-seconds) and store objects and bytes per simulation
(``calibration_runner.measured_calibration``, shared with ``benchmarks/cholera.py``). Targets: RSS at 10,000
within 10% of 1,000; busy fraction >= 0.95.
"""
from __future__ import annotations

import sys
from pathlib import Path

# this directory holds cholera.py (a benchmark named like the package): keep it off the path
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.append(str(Path(__file__).resolve().parent))  # after the package: for calibration_runner

import argparse  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import shutil  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402

from calibration_runner import measured_calibration  # noqa: E402

os.environ.setdefault("DASK_LOGGING__DISTRIBUTED", "error")


def _profile_file(tmp: str, args) -> str:
    adapt = {"minimum": 0, "maximum": 2}
    for key in ("interval", "wait_count", "target_duration"):
        if getattr(args, key) is not None:
            adapt[key] = getattr(args, key)
    path = os.path.join(tmp, "runfleet.yaml")
    import yaml

    with open(path, "w") as f:
        yaml.safe_dump({"clusters": {"elastic": {"kind": "local", "adapt": adapt}}}, f)
    return path


def _wait_for_zero(client, deadline_s: float) -> float | None:
    """Seconds waited until no worker is connected (None: still workers at the deadline)."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < deadline_s:
        if not client.scheduler_info(n_workers=-1).get("workers"):
            return time.monotonic() - t0
        time.sleep(0.25)
    return None


def elastic(args, run) -> dict:
    """Open the adaptive profile, run ``run(client)`` (returns the study's cost dict), wait for
    zero workers; return the study's cost and the accounting with the tail."""
    import dask

    from runfleet.accounting import WorkerAccounting
    from runfleet.clusters import open_cluster, resolve_cluster

    with tempfile.TemporaryDirectory() as tmp:
        with dask.config.set({"runfleet.profiles-file": _profile_file(tmp, args)}):
            session = open_cluster(resolve_cluster("elastic"))
        try:
            acct = WorkerAccounting(adaptive=True)
            acct.attach(session.client)
            t0 = time.perf_counter()
            study_cost = run(session.client)
            wall = time.perf_counter() - t0
            waited = _wait_for_zero(session.client, 300)
            tail = acct.finish(session.client)
        finally:
            session.close()
    return {"wall_s": wall, "study": study_cost, "with_tail": tail.to_dict(), "waited_for_zero_s": waited}


def case_chain(args) -> dict:
    from runfleet import run_study

    from ratedesign import examples
    from ratedesign.chain import build_study, expand_file

    root = os.path.abspath(args.root)
    prep = examples.prepare_ri(os.path.join(root, "data"))
    chain = expand_file(prep.scenario, map_prefix=prep.map_prefix)
    store = os.path.join(root, "store")
    shutil.rmtree(os.path.join(store, "ri-elastic"), ignore_errors=True)
    study = build_study([chain], "ri-elastic", store)

    def run(client):
        s = run_study(study, cluster=client, progress=False)
        if s.exit_code != 0:
            raise SystemExit(f"chain: counts {s.counts}")
        return s.cost.to_dict()

    return {"case": f"RI chain ({len(study.runs)} runs, {prep.n_buildings} buildings)", **elastic(args, run)}


def case_cholera(args) -> dict:
    from cholera.calibrate import calibrate
    from cholera.config import CalibrationConfig

    with tempfile.TemporaryDirectory() as tmp:
        cfg = CalibrationConfig(locations=("ETH",), sims=args.sims, store=f"{tmp}/store", seed=7, days=args.days,
                                n_iter=1, batch=max(100, args.sims // 10), ess_target=1e12, patience=0, n_ppc=0,
                                progress="none")

        def run(client):
            r = calibrate(cfg, client=client)
            if r["done"] + r["failed"] != args.sims:
                raise SystemExit(f"cholera: {r['done']} done + {r['failed']} failed != {args.sims}")
            return r["cost"]

        return {"case": f"cholera {args.sims} sims (ETH, {args.days} days, 1 iteration)", **elastic(args, run)}


def case_cholera_size(args) -> dict:
    """One calibration of ``--sims`` short simulations on a fixed 2-worker cluster (own process)."""
    from cholera.config import CalibrationConfig

    with tempfile.TemporaryDirectory() as tmp:
        cfg = CalibrationConfig(locations=("ETH",), sims=args.sims, store=f"{tmp}/store", seed=7, days=args.days,
                                n_iter=1, batch=max(100, args.sims // 10), ess_target=1e12, patience=0, n_ppc=0,
                                progress="none", workers=2)
        m = measured_calibration(cfg)
    r = m.pop("result")
    return {"sims": args.sims, "done": r["done"], "failed": r["failed"], **m}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--case", choices=("chain", "cholera", "cholera-scale", "cholera-size"), required=True)
    ap.add_argument("--root", default="/tmp/rd_study_bench", help="chain: where RI's synthetic data is kept")
    ap.add_argument("--sims", type=int, default=1000)
    ap.add_argument("--sizes", default="1000,10000", help="cholera-scale: simulation counts")
    ap.add_argument("--days", type=int, default=10)
    ap.add_argument("--interval", default=None, help="adapt interval (e.g. 500ms); default: Dask's config")
    ap.add_argument("--wait-count", dest="wait_count", type=int, default=None)
    ap.add_argument("--target-duration", dest="target_duration", default=None)
    args = ap.parse_args(argv)
    load = os.getloadavg()
    if args.case == "cholera-scale":
        rows = []
        for n in [int(x) for x in args.sizes.split(",")]:
            out = subprocess.run([sys.executable, __file__, "--case", "cholera-size", "--sims", str(n),
                                  "--days", str(args.days)], capture_output=True, text=True, check=True)
            rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
            print(json.dumps(rows[-1]), flush=True)
        first, last = rows[0], rows[-1]
        print(f"driver peak RSS {first['sims']}: {first['rss_peak_mb']:.0f} MB, {last['sims']}: "
              f"{last['rss_peak_mb']:.0f} MB (ratio {last['rss_peak_mb'] / first['rss_peak_mb']:.3f}, target <= 1.10); "
              f"busy fraction {[round(r['busy_fraction'] or 0, 3) for r in rows]} (target >= 0.95); "
              f"store objects per simulation {[round(r['objects_per_sim'], 2) for r in rows]}, "
              f"bytes per simulation {[round(r['bytes_per_sim']) for r in rows]}")
    else:
        fn = {"chain": case_chain, "cholera": case_cholera, "cholera-size": case_cholera_size}[args.case]
        result = fn(args)
        if args.case == "cholera-size":
            print(json.dumps(result))
            return 0
        s, t = result["study"], result["with_tail"]
        print(result["case"] + f": wall {result['wall_s']:.1f} s")
        print(f"  study (summary line): paid {s['paid_s']:.1f} worker-s, busy {s['busy_s']:.1f}, idle {s['idle_s']:.1f}, "
              f"busy/paid {s['busy_fraction']:.3f} (target >= 0.85)")
        print(f"  until zero workers: paid {t['paid_s']:.1f}, busy {t['busy_s']:.1f}, busy/paid {t['busy_fraction']:.3f}; "
              f"last run's end to zero workers {t['to_zero_s'] if t['to_zero_s'] is None else round(t['to_zero_s'], 1)} s "
              f"(target < 60 s); peak workers {t['peak_workers']}")
    print(f"load average at start {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}; at end "
          + " ".join(f"{x:.1f}" for x in os.getloadavg()))
    return 0


if __name__ == "__main__":
    sys.exit(main())

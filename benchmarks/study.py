"""ratedesign study benchmark: RI's 16-run chain (1,910 buildings) and a 10-utility study on one cluster.

    .venv/bin/python benchmarks/study.py [--root /tmp/rd_study_bench] [--workers 2] [--fraction 0.05]
                                         [--skip-ri] [--skip-utilities]
    .venv/bin/python benchmarks/study.py --utilities all [--sample N] [--root DIR] [--workers 2]

``--utilities all`` (or a list, e.g. ``rie,coned``): the platform's real scenario files of those
utilities (all ten: RI 8 entries, NY 7 x 36, CT and MD 20 each) on synthetic ResStock-format loads
for their real samples (about 44,000 buildings, upgrades 00 and 02; ``--sample N`` = N per
utility), every entry, as one study. Printed: data generation time and disk, plan time, wall
time, runs, building-runs per second, peak RSS of the driver and of each worker process (polled
every 0.5 s with psutil). Targets (issue 14): < 15 min, worker RSS < 2 GB, driver RSS flat in the
number of utilities.

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


class RssPoller:
    """Peak resident memory of this process and of its descendant processes (the cluster's workers)."""

    def __init__(self, period_s: float = 0.5):
        import threading

        import psutil

        self.me = psutil.Process()
        self.driver_peak = 0
        self.children_peak: dict = {}
        self.children_cpu: dict = {}   # pid -> user + system CPU seconds (last seen)
        self.driver_cpu = 0.0
        self.period_s = period_s
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self) -> None:
        import psutil

        while not self.stop.is_set():
            try:
                self.driver_peak = max(self.driver_peak, self.me.memory_info().rss)
                for c in self.me.children(recursive=True):
                    try:
                        rss = c.memory_info().rss
                        ct = c.cpu_times()
                        self.children_cpu[c.pid] = ct.user + ct.system
                    except psutil.Error:
                        continue
                    self.children_peak[c.pid] = max(self.children_peak.get(c.pid, 0), rss)
            except psutil.Error:
                pass
            self.stop.wait(self.period_s)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join()
        ct = self.me.cpu_times()
        self.driver_cpu = ct.user + ct.system


def _du(path: str) -> int:
    total = 0
    for dp, _, files in os.walk(path):
        for f in files:
            try:
                total += os.path.getsize(os.path.join(dp, f))
            except OSError:
                pass
    return total


def platform_study(args) -> int:
    """The ten real scenario files (or a subset) on synthetic data, every entry, one study."""
    from runfleet import run_study

    from ratedesign import examples
    from ratedesign.chain import build_study, expand_files, study_name
    from ratedesign.plan import check_chains

    root = os.path.abspath(args.root)
    wanted = list(examples.PLATFORM_UTILITIES) if args.utilities == "all" else args.utilities.split(",")
    t0 = time.perf_counter()
    preps = examples.prepare_platform(os.path.join(root, "data"), wanted, sample=args.sample)
    gen_s = time.perf_counter() - t0
    disk = _du(os.path.join(root, "data", "platform"))
    n_bldg = {p.utility: p.n_buildings for p in preps}
    print(f"data: {sum(n_bldg.values()):,} buildings of {len(preps)} utilities x upgrades 00, 02: "
          f"{'generated' if any(p.generated for p in preps) else 'reused'} in {gen_s:.0f} s, "
          f"{disk / 1e9:.2f} GB on disk")
    t1 = time.perf_counter()
    chains = expand_files([p.scenario for p in preps], sample=args.sample, map_prefix=preps[0].map_prefix)
    problems = check_chains(chains, loads="all")
    plan_s = time.perf_counter() - t1
    if problems:
        raise SystemExit("plan: " + "; ".join(problems[:5]))
    n_skip = sum(len(c.skipped) for c in chains)
    name = "bench-" + study_name(chains)
    store = os.path.join(root, "store")
    shutil.rmtree(os.path.join(store, name), ignore_errors=True)
    study = build_study(chains, name, store)
    import psutil

    ct0 = psutil.Process().cpu_times()
    cpu0 = ct0.user + ct0.system
    with RssPoller() as rss:
        t2 = time.perf_counter()
        s = run_study(study, workers=args.workers, progress=False)
        wall = time.perf_counter() - t2
    done = [st for ch in chains for st in ch.scenario_steps if s.outcomes.get(st.name) and
            s.outcomes[st.name].status == "done"]
    bruns = sum(n_bldg[ch.utility] for ch in chains for st in ch.scenario_steps if st in done)
    workers = sorted(rss.children_peak.values(), reverse=True)
    print(f"plan (expand + input checks incl. every load footer): {plan_s:.1f} s; {n_skip} entries skipped at plan time")
    print(f"study: {len(s.outcomes)} runs ({len(done)} scenario runs done), counts {dict(s.counts)}")
    print(f"wall {wall:.0f} s ({wall / 60:.1f} min); {bruns:,} building-runs, {bruns / wall:,.0f} building-runs/s")
    cpu = rss.driver_cpu - cpu0 + sum(rss.children_cpu.values())
    print(f"CPU: {cpu:,.0f} s in all (driver {rss.driver_cpu - cpu0:,.0f} s, cluster processes "
          f"{sum(rss.children_cpu.values()):,.0f} s): {1000 * cpu / max(bruns, 1):.2f} ms per building-run; "
          f"load average {os.getloadavg()[0]:.1f} at the end")
    print(f"peak RSS: driver {rss.driver_peak / 1e9:.2f} GB; largest child processes (workers, nannies, "
          f"scheduler) {[round(x / 1e9, 2) for x in workers[:6]]} GB")
    print(f"targets: wall < 15 min {'met' if wall < 900 else 'MISSED'}; worker RSS < 2 GB "
          f"{'met' if (workers[0] if workers else 0) < 2e9 else 'MISSED'}")
    return 0 if s.exit_code in (0, 1) else s.exit_code


def main(argv=None) -> int:
    from ratedesign import examples
    from ratedesign.chain import expand_file

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--root", default="/tmp/rd_study_bench")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--fraction", type=float, default=0.05, help="size fraction of the 10 synthetic utilities")
    ap.add_argument("--skip-ri", action="store_true")
    ap.add_argument("--skip-utilities", action="store_true")
    ap.add_argument("--utilities", default=None, help="all | rie,coned,...: the platform's real scenario files")
    ap.add_argument("--sample", type=int, default=None, help="with --utilities: buildings per utility (default all)")
    args = ap.parse_args(argv)
    if args.utilities:
        return platform_study(args)
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

"""ratedesign benchmark: one precalc run end to end (1,910 and 15,000 synthetic buildings) and the
S2 + S7-S9 kernels against the long-format pandas reference at 10,000 buildings.

    .venv/bin/python benchmarks/ratedesign.py [--sizes 1910,15000] [--kernel-n 10000] [--root /tmp/rd_bench]
    .venv/bin/python benchmarks/ratedesign.py --s3 [--s3-n 1910] [--delay-ms 30] [--sizes ''] [--kernel-n 0]

End to end = ``ratedesign run`` as a subprocess (runfleet study on the embedded local cluster,
cluster start included), loads from local parquet. Peak RSS is sampled every 50 ms over the
driver process and each of its descendants (workers). Synthetic data goes under --root (/tmp).
Targets (2-core machine): 1,910 end to end < 6 s; kernels >= 100x faster than the reference;
peak worker RSS at 15,000 < 2 GB.

``--s3`` (issue 16): loads on a moto S3 server (every request reaches moto) behind the latency proxy
of ``benchmarks/latency_proxy.py``:

1. column projection: 200 buildings written narrow (the 7 columns of ``synth``) and wide (``synth
   --wide``, ~50 ResStock end-use columns), read by ``read_loads`` without cache: bytes fetched per
   building against the needed column chunks' bytes and the whole file (target <= 1.2x the needed
   columns whatever the width), and the GET requests the proxy saw;
2. a ``--s3-n``-building precalc run (``cairo_run`` through ``run_study``, embedded 2-worker
   cluster started fresh, so no load is cached) with its loads on S3, through the proxy without and
   with ``--delay-ms`` per request (target: within 1.2x).
"""

from __future__ import annotations

import sys
from pathlib import Path

# this file is named like the package: keep its own directory off the import path
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import argparse
import json
import resource
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import psutil
import yaml

REPO = Path(__file__).resolve().parents[1]
SHARED_RI = REPO.parent / "shared/data/rate-design-platform/rate_design/hp_rates/ri/config"


def write_config(root: Path, data: Path) -> Path:
    """Scenario YAML + flat tariff + RR + maps for a synthetic dataset at ``data``."""
    cfg = root / "config"
    (cfg / "tariffs/electric").mkdir(parents=True, exist_ok=True)
    (cfg / "tariffs/gas").mkdir(parents=True, exist_ok=True)
    flat = [[0] * 24 for _ in range(12)]
    (cfg / "tariffs/electric/rie_default.json").write_text(json.dumps({"items": [{
        "label": "rie_default", "energyweekdayschedule": flat, "energyweekendschedule": flat,
        "energyratestructure": [[{"rate": 0.14058, "adj": 0.0, "unit": "kWh"}]],
        "fixedchargefirstmeter": 10.01, "fixedchargeunits": "$/month"}]}))
    gsched = [[m // 3] * 24 for m in range(12)]
    (cfg / "tariffs/gas/rie_heating.json").write_text(json.dumps({"items": [{
        "energyweekdayschedule": gsched, "energyweekendschedule": gsched,
        "energyratestructure": [[{"rate": 1.9}], [{"rate": 1.7}], [{"rate": 1.5}], [{"rate": 1.8}]],
        "fixedchargefirstmeter": 14.79}]}))
    (cfg / "tariffs/gas/rie_nonheating.json").write_text(json.dumps({"items": [{
        "energyweekdayschedule": flat, "energyweekendschedule": flat, "energyratestructure": [[{"rate": 1.6}]],
        "fixedchargefirstmeter": 14.79}]}))
    (cfg / "tariffs/gas/null_gas_tariff.json").write_text(json.dumps({"items": [{
        "energyweekdayschedule": flat, "energyweekendschedule": flat, "energyratestructure": [[{"rate": 0.0}]],
        "fixedchargefirstmeter": 0.0}]}))
    (cfg / "rev_requirement").mkdir(exist_ok=True)
    (cfg / "rev_requirement/rr.yaml").write_text(
        "total_delivery_revenue_requirement: 446463143.03\ntest_year_customer_count: 419347.83\n"
        "resstock_kwh_scale_factor: 0.9594257590448669\n")
    ds = str(data / "data.sb/switchbox/marginal_costs/ri")
    run = {
        "run_name": "bench_precalc", "state": "RI", "utility": "rie", "run_type": "precalc",
        "path_resstock_metadata": str(data / "resstock/metadata/state=RI/upgrade=00/metadata-sb.parquet"),
        "path_resstock_loads": str(data / "resstock/load_curve_hourly/state=RI/upgrade=00/"),
        "path_utility_assignment": str(data / "resstock/metadata_utility/state=RI/utility_assignment.parquet"),
        "path_tariff_maps_electric": str(data / "tariff_maps/electric/synth_rie_default.csv"),
        "path_tariff_maps_gas": str(data / "tariff_maps/gas/synth_rie_u00.csv"),
        "path_tariffs_electric": {"all": "tariffs/electric/rie_default.json"},
        "path_tariffs_gas": "tariffs/gas",
        "utility_revenue_requirement": "rev_requirement/rr.yaml",
        "path_dist_and_sub_tx_mc": f"{ds}/dist_and_sub_tx/utility=rie/year=2025/data.parquet",
        "path_bulk_tx_mc": f"{ds}/bulk_tx/utility=rie/year=2025/data.parquet",
        "path_supply_energy_mc": f"{ds}/supply/energy/utility=rie/year=2025/zero.parquet",
        "path_supply_capacity_mc": f"{ds}/supply/capacity/utility=rie/year=2025/zero.parquet",
        "year_run": 2025, "year_dollar_conversion": 2025, "elasticity": 0.0,
    }
    (cfg / "scenarios").mkdir(exist_ok=True)
    path = cfg / "scenarios/scenarios_bench.yaml"
    path.write_text(yaml.safe_dump({"runs": {"bench_precalc": run}}, sort_keys=False))
    return path


def ensure_data(root: Path, n: int) -> Path:
    from ratedesign.synth import bldg_ids_from_map, synth_dataset
    data = root / f"n{n}"
    if (data / "tariff_maps/electric/synth_rie_default.csv").exists():
        return data
    real_map = SHARED_RI / "tariff_maps/electric/rie_default.csv"
    if n == 1910 and real_map.exists():
        ids, _ = bldg_ids_from_map(str(real_map))
    else:
        ids = list(range(100001, 100001 + n))
    t = time.perf_counter()
    synth_dataset(str(data), ids, upgrades=("00",), seed=42, total_kwh=3.17e9 * n / 1910)
    print(f"  synth {n} buildings: {time.perf_counter() - t:.1f} s -> {data}")
    return data


def run_end_to_end(scen: Path, out: Path) -> dict:
    exe = Path(sys.executable).parent / "ratedesign"
    cmd = [str(exe), "run", str(scen), "--run", "1", "--out", str(out)]
    peak = {"driver": 0, "worker": 0}
    t0 = time.perf_counter()
    proc = psutil.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    stop = threading.Event()

    def sample():
        while not stop.is_set():
            try:
                peak["driver"] = max(peak["driver"], proc.memory_info().rss)
                for c in proc.children(recursive=True):
                    try:
                        peak["worker"] = max(peak["worker"], c.memory_info().rss)
                    except psutil.Error:
                        pass
            except psutil.Error:
                pass
            stop.wait(0.05)

    th = threading.Thread(target=sample, daemon=True)
    th.start()
    stdout, stderr = proc.communicate()
    wall = time.perf_counter() - t0
    stop.set()
    th.join()
    if proc.returncode != 0:
        raise SystemExit(f"ratedesign run failed ({proc.returncode}): {stderr[-2000:]}")
    summary = json.loads((out / "run_summary.json").read_text())
    # stage timings are not in run_summary.json (kept byte-deterministic); the run's marker has them
    markers = sorted(out.glob(".runfleet/*/runs/*/_result.json"))
    timings = json.loads(markers[-1].read_text())["value"].get("timings", {}) if markers else {}
    return {"wall_s": wall, "driver_rss_gb": peak["driver"] / 1e9, "worker_rss_gb": peak["worker"] / 1e9,
            "n": summary["n_buildings"], "chunks": summary["n_chunks"], "timings": timings,
            "bill_sum": summary["weighted_bill_sum"], "bat_sum": summary["weighted_bat_sums"]["BAT_percustomer"]}


def kernels_vs_reference(n: int) -> dict:
    from ratedesign import kernels as K
    from ratedesign.reference import long_loads, reference_bat, reference_system_demand
    rng = np.random.default_rng(0)
    h = np.arange(8760)
    shape = 1.0 + 0.4 * np.sin(2 * np.pi * (h % 24 - 7) / 24) + 0.3 * np.cos(2 * np.pi * h / 8760)
    net = np.maximum(0.0, shape[None, :] * rng.lognormal(0, 0.4, (n, 1)) + rng.normal(0, 0.1, (n, 8760)))
    w = rng.uniform(30, 60, n)
    mc = np.where(shape > 1.6, 0.5, 0.03) + 0.01 * rng.random(8760)
    annual = net.sum(axis=1) * 0.14 + 120.12
    rr = float(w @ annual)

    def numpy_kernels():
        d = K.system_demand(net, w)
        eb = K.economic_burden(net, mc)
        q = net.sum(axis=1)
        r = rr - float(d @ mc)
        res = {"vol": K.residual_volumetric(r, q, float(w @ q)),
               "percustomer": K.residual_percustomer(r, w, float(w.sum())),
               "epmc": K.residual_epmc(r, eb, float(w @ eb))}
        return d, {k: K.bat(annual, eb, v) for k, v in res.items()}

    t = time.perf_counter()
    d, bats = numpy_kernels()
    t_np = time.perf_counter() - t
    ids = np.arange(n)
    rss0 = psutil.Process().memory_info().rss
    peak = [rss0]
    stop = threading.Event()

    def sample():
        while not stop.is_set():
            peak[0] = max(peak[0], psutil.Process().memory_info().rss)
            stop.wait(0.05)

    th = threading.Thread(target=sample, daemon=True)
    th.start()
    t = time.perf_counter()
    loads = long_loads(ids, net)
    dref = reference_system_demand(loads, pd.Series(w, index=ids))
    ref = reference_bat(loads, pd.Series(w, index=ids), pd.Series(mc), pd.Series(annual, index=ids), rr)
    t_ref = time.perf_counter() - t
    stop.set()
    th.join()
    del loads
    err = max(float(np.max(np.abs(dref.to_numpy() - d) / np.abs(d))),
              max(float(np.max(np.abs(ref[f"BAT_{k}"].to_numpy() - v))) / rr * n for k, v in bats.items()))
    return {"n": n, "numpy_s": t_np, "reference_s": t_ref, "ratio": t_ref / t_np,
            "reference_extra_gb": (peak[0] - rss0) / 1e9, "max_rel_diff": err}


def s3_benchmark(root: Path, n: int, delay_ms: float) -> None:
    import s3fs

    import importlib.util

    spec = importlib.util.spec_from_file_location("latency_proxy", Path(__file__).resolve().parent / "latency_proxy.py")
    lp = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(lp)
    LatencyProxy = lp.LatencyProxy
    start_moto = lp.start_moto
    from ratedesign.loadcache import reader_stats, reset_reader_stats
    from ratedesign.loads import load_path, loads_dir, read_loads
    from ratedesign.synth import synth_dataset
    from runfleet import Run, Study, run_study

    proc, port = start_moto()
    try:
        direct = {"key": "k", "secret": "s", "client_kwargs": {"endpoint_url": f"http://127.0.0.1:{port}"}}
        fs = s3fs.S3FileSystem(**direct)
        fs.mkdir("bench")
        # 1. bytes fetched per building, narrow and wide files
        ids = list(range(300001, 300201))
        for wide in (False, True):
            local = root / f"proj{'wide' if wide else 'narrow'}"
            ldir = loads_dir(str(local / "resstock"), "RI", "00")
            if not Path(ldir).exists():
                synth_dataset(str(local), ids, upgrades=("00",), seed=5, wide=wide)
            remote = f"s3://bench/proj{int(wide)}/upgrade=00"
            fs.put(ldir + "/", remote + "/", recursive=True)
            proxy = LatencyProxy("127.0.0.1", port, delay_ms / 1000).start()
            so = dict(direct, client_kwargs={"endpoint_url": proxy.url})
            reset_reader_stats()
            t0 = time.perf_counter()
            read_loads(remote, ids, "00", so, cache=False)
            wall = time.perf_counter() - t0
            st = reader_stats()
            size = sum(Path(load_path(ldir, b, "00")).stat().st_size for b in ids) / len(ids)
            print(f"  projection, {'wide' if wide else 'narrow'} files ({size / 1e3:,.0f} KB per file): fetched "
                  f"{st['fetched_bytes'] / len(ids) / 1e3:,.1f} KB per building for {st['needed_bytes'] / len(ids) / 1e3:,.1f} "
                  f"KB of needed column chunks ({st['fetched_bytes'] / st['needed_bytes']:.3f}x; whole file "
                  f"{size * len(ids) / st['fetched_bytes']:.1f}x more); {st['requests'] / len(ids):.2f} ranged GETs per file "
                  f"(proxy: {dict(proxy.counts)}, listing included); {len(ids)} files in {wall:.2f} s at +{delay_ms:g} ms")
            proxy.stop()
        # 2. one run with its loads on S3, without and with latency
        data = ensure_data(root, n)
        scen = write_config(root / f"cfg{n}", data)
        ldir = str(data / "resstock/load_curve_hourly/state=RI/upgrade=00")
        t0 = time.perf_counter()
        fs.put(ldir + "/", "s3://bench/loads/upgrade=00/", recursive=True)
        print(f"  uploaded {n} load files to moto in {time.perf_counter() - t0:.0f} s")
        from ratedesign.scenario import load_scenario
        walls = {}
        for delay in (0.0, delay_ms):
            proxy = LatencyProxy("127.0.0.1", port, delay / 1000).start()
            so = dict(direct, client_kwargs={"endpoint_url": proxy.url})
            p = load_scenario(str(scen), 1, sets=["path_resstock_loads=s3://bench/loads/upgrade=00/"]).to_params()
            p["storage_options"] = so  # dummy moto credentials: fine in a benchmark's params
            study = Study(f"s3-{int(delay)}ms", store=str(root / "s3store"), seed=0)
            study.add(Run("precalc", "ratedesign.runfn:cairo_run", params=p))
            subprocess.run(["rm", "-rf", str(root / "s3store")], check=True)
            before = dict(proxy.counts)
            t0 = time.perf_counter()
            summary = run_study(study, workers=2, progress=False)
            walls[delay] = time.perf_counter() - t0
            reqs = {k: v - before.get(k, 0) for k, v in proxy.counts.items() if v - before.get(k, 0)}
            proxy.stop()
            if summary.exit_code != 0:
                raise SystemExit(f"S3 run failed: {summary.outcomes}")
            print(f"  {n} buildings, loads on S3 at +{delay:g} ms per request: {walls[delay]:.1f} s wall incl. cluster "
                  f"start; requests {reqs} ({sum(reqs.values()) / n:.2f} per building)")
        print(f"  with / without latency: {walls[delay_ms] / walls[0.0]:.2f}x (target <= 1.2x)")
    finally:
        proc.kill()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="1910,15000")
    ap.add_argument("--kernel-n", type=int, default=10000)
    ap.add_argument("--root", default="/tmp/rd_bench")
    ap.add_argument("--s3", action="store_true", help="loads on moto S3 behind the latency proxy (issue 16)")
    ap.add_argument("--s3-n", type=int, default=1910)
    ap.add_argument("--delay-ms", type=float, default=30.0)
    args = ap.parse_args()
    root = Path(args.root)
    root.mkdir(parents=True, exist_ok=True)
    print("ratedesign benchmark")
    for n in [int(s) for s in args.sizes.split(",") if s]:
        data = ensure_data(root, n)
        scen = write_config(root / f"cfg{n}", data)
        out = root / f"out{n}"
        subprocess.run(["rm", "-rf", str(out)], check=True)
        r = run_end_to_end(scen, out)
        print(f"  end to end, {r['n']} buildings ({r['chunks']} chunks): {r['wall_s']:.2f} s wall incl. cluster start; "
              f"peak RSS driver {r['driver_rss_gb']:.2f} GB, worker {r['worker_rss_gb']:.2f} GB; "
              f"in-run {r['timings']}; sum w*bill = {r['bill_sum']:.2f}, sum w*BAT_pc = {r['bat_sum']:.2e}")
    if args.kernel_n:
        k = kernels_vs_reference(args.kernel_n)
        print(f"  S2+S7-S9 kernels at {k['n']} buildings: numpy {k['numpy_s']:.3f} s, long-format pandas reference "
              f"{k['reference_s']:.1f} s (+{k['reference_extra_gb']:.1f} GB) -> ratio {k['ratio']:.0f}x "
              f"(max rel diff {k['max_rel_diff']:.1e})")
    if args.s3:
        s3_benchmark(root, args.s3_n, args.delay_ms)
    print(f"  benchmark process peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6:.2f} GB")


if __name__ == "__main__":
    main()

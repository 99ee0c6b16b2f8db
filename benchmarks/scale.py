"""runfleet at scale: driver memory, throughput, store size and object-store requests per run.

Each case runs in a subprocess of its own so that its driver peak RSS is its own.

Cases (``--cases``, comma-separated; default: all but ``1m``):

- ``trivial``: N trivial runs (``--runs``, default 100,000) on 2 workers with a local store: wall,
  runs/s, driver peak RSS, CPU seconds of the driver and of the workers over ``run_study``, study record size (``study.json`` and its ``_study/`` shards), store
  bytes and objects, then the same N through
  raw ``client.map`` + ``gather`` on the same cluster for the ratio; then resume of the finished
  study (nothing to do), ``plan_study`` (dry run) and ``study_status`` + ``format_status``
  (what ``runfleet status`` prints) of it.
- ``1m``: the same at 1,000,000 runs, without the raw peer (it is known to choke there).
- ``s3``: on a moto S3 server behind :mod:`latency_proxy` (every request reaches moto), with
  and without ``--delay-ms`` (default 30) of latency per request: 2,000 trivial packed runs, and
  200 runs of 50 ms that each write one parquet output, then (with latency) the resume of each
  finished study. Prints wall times, the ratio with/without latency and the object-store requests
  per run by kind (PUT, GET, HEAD, LIST, DELETE; counted by the proxy: every request, not an
  estimate), and the requests of each resume (the budget: docs/requests.md).

Usage: .venv/bin/python benchmarks/scale.py [--cases trivial,s3] [--runs 100000] [--delay-ms 30] [--no-raw]
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)


# -- run functions (imported on workers as scale:...) -------------------------------------------
def trivial_run(ctx, i):
    return i


def trivial_task(i):
    return i


def parquet_run(ctx, i, sleep_s=0.05):
    import pandas as pd

    time.sleep(sleep_s)
    ctx.write_parquet(pd.DataFrame({"i": [i] * 100, "x": [float(i)] * 100}), "out.parquet")
    return i


# -- helpers -----------------------------------------------------------------------------------
def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _rss_mb() -> float:
    """The current resident set size (MB; Linux), for what the user's Study alone holds."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def _cpu_s() -> float:
    """CPU seconds (user + system) of this process so far: the driver's, with the embedded
    scheduler's event loop in it."""
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


def _workers_cpu_s(client) -> float:
    """CPU seconds (user + system) of the worker processes so far, summed."""
    def cpu():
        ru = resource.getrusage(resource.RUSAGE_SELF)
        return ru.ru_utime + ru.ru_stime

    return sum(client.run(cpu).values())


def _tree_size(path: str) -> tuple[int, int]:
    total = files = 0
    for root, _, names in os.walk(path):
        for n in names:
            total += os.path.getsize(os.path.join(root, n))
            files += 1
    return total, files


def _cluster(workers: int):
    from runfleet.clusters import start_local

    session = start_local(workers=workers, env={"PYTHONPATH": HERE}, dashboard_address=":0")
    session.client.wait_for_workers(workers)
    return session


# -- cases (each in its own process) ------------------------------------------------------------
def case_trivial(runs: int, workers: int, raw: bool) -> dict:
    from runfleet import Study, grid, plan_study, run_study, study_status

    session = _cluster(workers)
    client = session.client
    tmp = tempfile.mkdtemp(prefix="runfleet-scale-")
    out: dict = {"case": "trivial", "runs": runs, "workers": workers}
    try:
        client.gather(client.map(trivial_task, range(10), pure=False))
        rss0 = _peak_rss_mb()
        study = Study("trivial", store=os.path.join(tmp, "store"), seed=0)
        study.add_many(grid("t-{i}", "scale:trivial_run", {"i": list(range(runs))}))
        out["rss_before_mb"] = rss0
        out["rss_study_built_mb"] = _rss_mb()  # the user's Study (Run objects, params dicts)
        t0, c0, w0 = time.perf_counter(), _cpu_s(), _workers_cpu_s(client)
        summary = run_study(study, cluster=client, progress=False, keep_outcomes=False)
        out["wall_s"] = time.perf_counter() - t0
        out["driver_cpu_s"] = _cpu_s() - c0
        out["workers_cpu_s"] = _workers_cpu_s(client) - w0
        out["load_avg"] = os.getloadavg()
        out["done"] = summary.counts["done"]
        out["driver_peak_rss_mb"] = _peak_rss_mb()
        root = os.path.join(tmp, "store", "trivial")
        out["study_json_bytes"] = os.path.getsize(os.path.join(root, "study.json"))
        out["record_bytes"] = out["study_json_bytes"] + _tree_size(os.path.join(root, "_study"))[0]
        out["store_bytes"], out["store_objects"] = _tree_size(root)
        t0 = time.perf_counter()
        again = run_study(study, cluster=client, progress=False, keep_outcomes=False)
        out["resume_s"] = time.perf_counter() - t0
        out["resume_executed"] = again.counts["done"] - again.counts.get("resumed", 0)
        t0 = time.perf_counter()
        rows = plan_study(study)
        out["dry_run_s"] = time.perf_counter() - t0
        out["dry_run_would_run"] = sum(1 for r in rows if r["action"] == "run")
        from runfleet.status import format_status

        t0 = time.perf_counter()
        status = study_status(root)
        format_status(root, status)  # what `runfleet status` prints: counts, then 50 rows
        out["status_s"] = time.perf_counter() - t0
        out["status_rows"] = len(status)
        if raw:
            t0 = time.perf_counter()
            client.gather(client.map(trivial_task, range(runs), pure=False))
            out["raw_wall_s"] = time.perf_counter() - t0
    finally:
        session.close()
        shutil.rmtree(tmp, ignore_errors=True)
    return out


def case_s3(delay_ms: float, workers: int) -> dict:
    import s3fs

    from latency_proxy import LatencyProxy, start_moto
    from runfleet import Study, grid, run_study

    proc, port = start_moto()
    session = _cluster(workers)
    out: dict = {"case": "s3", "workers": workers}
    try:
        s3fs.S3FileSystem(key="k", secret="s", client_kwargs={"endpoint_url": f"http://127.0.0.1:{port}"}).mkdir(
            "bench")
        for delay in (0.0, delay_ms):
            proxy = LatencyProxy("127.0.0.1", port, delay / 1000).start()
            so = {"key": "k", "secret": "s", "client_kwargs": {"endpoint_url": proxy.url}}
            for label, fn, n, params in (("trivial2000", "scale:trivial_run", 2000, {}),
                                         ("parquet200", "scale:parquet_run", 200, {"sleep_s": [0.05]})):
                study = Study(f"{label}-{int(delay)}ms", store="s3://bench/runs", seed=0, storage_options=so)
                study.add_many(grid("r-{i}", fn, {"i": list(range(n)), **params}))
                mark, waits = proxy.mark(), proxy.continue_waits
                t0 = time.perf_counter()
                summary = run_study(study, cluster=session.client, progress=False, keep_outcomes=False)
                wall = time.perf_counter() - t0
                reqs = dict(proxy.since(mark))
                out[f"{label}_{int(delay)}ms"] = {"wall_s": wall, "done": summary.counts["done"],
                                                  "requests": reqs,
                                                  "requests_per_run": round(sum(reqs.values()) / n, 2),
                                                  "continue_waits": proxy.continue_waits - waits}
                if delay and label == "parquet200":  # the same runs one per task: a single run's budget
                    single = Study(f"single-{int(delay)}ms", store="s3://bench/runs", seed=0, storage_options=so)
                    single.add_many(grid("r-{i}", fn, {"i": list(range(50)), "sleep_s": [0.0]}, pack=False))
                    mark = proxy.mark()
                    run_study(single, cluster=session.client, progress=False, keep_outcomes=False)
                    reqs = dict(proxy.since(mark))
                    out["single50"] = {"requests": reqs, "requests_per_run": round(sum(reqs.values()) / 50, 2)}
                if delay:
                    mark = proxy.mark()
                    t0 = time.perf_counter()
                    again = run_study(study, cluster=session.client, progress=False, keep_outcomes=False)
                    out[f"{label}_resume"] = {"wall_s": time.perf_counter() - t0, "resumed": again.counts["resumed"],
                                              "requests": dict(proxy.since(mark))}
            proxy.stop()
    finally:
        session.close()
        proc.kill()
    return out


def _in_subprocess(args: list[str]) -> dict:
    res = subprocess.run([sys.executable, __file__, "--one", *args], capture_output=True, text=True,
                         env=dict(os.environ, PYTHONPATH=HERE + os.pathsep + os.environ.get("PYTHONPATH", "")))
    if res.returncode != 0:
        raise SystemExit(f"case {args} failed:\n{res.stderr[-3000:]}")
    return json.loads(res.stdout.strip().splitlines()[-1])


def _print_trivial(r: dict) -> None:
    n = r["runs"]
    print(f"trivial runs: {n:,} on {r['workers']} workers, local store")
    print(f"  runfleet:   {r['wall_s']:8.2f} s  ({n / r['wall_s']:,.0f} runs/s); driver peak RSS "
          f"{r['driver_peak_rss_mb']:,.0f} MB (before the study {r['rss_before_mb']:,.0f} MB; with the "
          f"Study built {r.get('rss_study_built_mb', float('nan')):,.0f} MB; peak - before = "
          f"{(r['driver_peak_rss_mb'] - r['rss_before_mb']) * 1048576 / n:,.0f} bytes per run)")
    if "driver_cpu_s" in r:
        print(f"  CPU: driver {r['driver_cpu_s']:.1f} s ({r['driver_cpu_s'] * 1e6 / n:.0f} us per run), workers "
              f"{r['workers_cpu_s']:.1f} s (both together); load average at the end "
              f"{', '.join(f'{x:.1f}' for x in r['load_avg'])}")
    print(f"  study record: {r.get('record_bytes', r['study_json_bytes']) / 1e6:.1f} MB (study.json "
          f"{r['study_json_bytes']:,} bytes); store {r['store_bytes'] / 1e6:.1f} MB in "
          f"{r['store_objects']:,} objects ({r['store_bytes'] / n:.0f} bytes per run)")
    print(f"  resume (nothing to do): {r['resume_s']:.2f} s, executed {r['resume_executed']}; "
          f"dry run {r['dry_run_s']:.2f} s ({r['dry_run_would_run']} would run); status {r['status_s']:.2f} s")
    if "raw_wall_s" in r:
        print(f"  raw client.map+gather: {r['raw_wall_s']:.2f} s ({n / r['raw_wall_s']:,.0f} tasks/s); "
              f"runfleet is {r['raw_wall_s'] / r['wall_s']:.1f}x faster")


def _print_s3(r: dict, delay_ms: float) -> None:
    print(f"S3 store (moto behind a latency proxy, +{delay_ms:g} ms per request), {r['workers']} workers")
    for label in ("trivial2000", "parquet200"):
        a, b = r[f"{label}_0ms"], r[f"{label}_{int(delay_ms)}ms"]
        n = 2000 if label == "trivial2000" else 200
        per_run = {k: round(v / n, 3) for k, v in sorted(b["requests"].items())}
        print(f"  {label}: {a['wall_s']:.2f} s without latency, {b['wall_s']:.2f} s with "
              f"({b['wall_s'] / a['wall_s']:.2f}x); requests per run {b['requests_per_run']} {per_run}; "
              f"requests that waited for 100 Continue (a second round trip): {b.get('continue_waits', 0)}")
        res = r.get(f"{label}_resume")
        if res:
            print(f"    resume ({res['resumed']} resumed): {res['wall_s']:.2f} s, requests {res['requests']}")


def _print_single(r: dict) -> None:
    s = r.get("single50")
    if s:
        per_run = {k: round(v / 50, 3) for k, v in sorted(s["requests"].items())}
        print(f"  single runs (pack: false), one parquet output each: requests per run {s['requests_per_run']} "
              f"{per_run} (driver's per-invocation requests included)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", default="trivial,s3")
    ap.add_argument("--runs", type=int, default=100_000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--delay-ms", type=float, default=30.0)
    ap.add_argument("--no-raw", action="store_true", help="skip the raw client.map peer of the trivial case")
    ap.add_argument("--one", nargs="*", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one is not None:
        kind = args.one[0]
        if kind == "trivial":
            res = case_trivial(int(args.one[1]), args.workers, raw=args.one[2] == "raw")
        else:
            res = case_s3(float(args.one[1]), args.workers)
        print(json.dumps(res))
        return
    for case in args.cases.split(","):
        if case == "trivial":
            _print_trivial(_in_subprocess(["trivial", str(args.runs), "noraw" if args.no_raw else "raw",
                                           "--workers", str(args.workers)]))
        elif case == "1m":
            _print_trivial(_in_subprocess(["trivial", "1000000", "noraw", "--workers", str(args.workers)]))
        elif case == "s3":
            res = _in_subprocess(["s3", str(args.delay_ms), "--workers", str(args.workers)])
            _print_s3(res, args.delay_ms)
            _print_single(res)
        else:
            raise SystemExit(f"--cases: unknown case {case!r} (trivial, 1m, s3)")


if __name__ == "__main__":
    main()

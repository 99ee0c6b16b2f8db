"""Start-up time of the embedded local cluster: runfleet's subprocess nannies vs Dask's LocalCluster.

Both start 2 single-threaded workers with nannies and memory limits on 127.0.0.1 and wait until
the workers are registered and have run one task. Prints seconds for each (median of 3) and the
ratio. Run: ``.venv/bin/python benchmarks/local_startup.py`` (the machine should be quiet).
"""
from __future__ import annotations

import statistics
import time


def _dask_local() -> float:
    from distributed import Client, LocalCluster

    t0 = time.perf_counter()
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=":0") as cluster, Client(cluster) as client:
        client.wait_for_workers(2)
        client.submit(sum, [1, 2]).result()
        return time.perf_counter() - t0


def _runfleet_local() -> float:
    from runfleet.clusters import start_local

    t0 = time.perf_counter()
    session = start_local(workers=2)
    try:
        session.client.wait_for_workers(2)
        session.client.submit(sum, [1, 2]).result()
        return time.perf_counter() - t0
    finally:
        session.close()


if __name__ == "__main__":
    import runfleet.clusters  # noqa: F401 - imports are not part of the start-up being measured

    dask_s = statistics.median(_dask_local() for _ in range(3))
    runfleet_s = statistics.median(_runfleet_local() for _ in range(3))
    print(f"Dask LocalCluster (multiprocessing spawn): {dask_s:.2f} s")
    print(f"runfleet local (subprocess nannies):       {runfleet_s:.2f} s  ({runfleet_s / dask_s:.2f}x)")

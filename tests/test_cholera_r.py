"""The R example (examples/cholera/calibrate.R) run with Rscript through reticulate.

It calibrates with MOSAIC-shaped ``config`` and ``priors`` R lists and reads the simulations back
from the store as an R data frame; once on the embedded local cluster, once on a running Dask
scheduler given by address.
"""
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from cluster_fixtures import dask_processes  # noqa: F401 - fixture
from conftest import worker_env

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "examples" / "cholera" / "calibrate.R"


def _reticulate_missing() -> str | None:
    if shutil.which("Rscript") is None:
        return "Rscript not found (Debian: apt-get install r-base-core r-cran-reticulate; make system-deps as root)"
    probe = subprocess.run(["Rscript", "-e", "quit(status = if (requireNamespace('reticulate', quietly = TRUE)) 0 else 3)"],
                           capture_output=True, text=True, timeout=120)
    if probe.returncode != 0:
        return "the R package reticulate is not installed (Debian: apt-get install r-cran-reticulate)"
    return None


def run_example(store: Path, sims: int, *extra: str) -> str:
    reason = _reticulate_missing()
    if reason:
        pytest.skip(reason)
    env = dict(worker_env(), RETICULATE_PYTHON=sys.executable)
    proc = subprocess.run(["Rscript", str(SCRIPT), str(store), str(sims), *extra], capture_output=True, text=True,
                          timeout=420, env=env)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    return proc.stdout


def check_calibration(store: Path, out: str, sims: int) -> None:
    # the R data frame has one row per simulation, read back from the store
    assert f"simulation rows: {sims} (sim, sim_index, seed, " in out and "beta_j0_hum[ETH]" in out
    assert f"stopped by cap after {sims} simulations: {sims} done, 0 failed" in out
    assert "effective sample size" in out and "posterior rows: 4;" in out
    rows = pd.read_parquet(store / "cholera" / "results" / "sims.parquet")
    assert len(rows) == sims and rows["sim"].is_unique and (rows["days"] == 20).all()
    meta = json.loads((store / "cholera" / "results" / "calibration.json").read_text())
    # the R config's values and priors are what the calibration used
    assert meta["settings"]["locations"] == ["ETH", "MOZ"] and meta["settings"]["days"] == 20
    assert meta["settings"]["model_overrides"] == {"rho_deaths": 0.6, "theta_j": [0.5, 0.6]}
    params = meta["priors"]["parameters"]
    assert params["rho"] == {"dist": "beta", "a": 4.0, "b": 11.0}
    assert params["beta_j0_hum"]["per_location"] is True and params["beta_j0_hum"]["by_location"]["MOZ"]["dist"] == "lognormal"


@pytest.mark.slow
@pytest.mark.root
def test_r_example_calibrates_with_mosaic_lists_on_the_local_cluster(tmp_path):
    store = tmp_path / "store"
    out = run_example(store, 4)
    check_calibration(store, out, 4)
    assert (store / "cholera" / "results" / "ppc.png").stat().st_size > 1000


@pytest.mark.slow
@pytest.mark.root
def test_r_example_runs_on_a_scheduler_address(tmp_path, dask_processes):  # noqa: F811 - fixture
    if _reticulate_missing():
        pytest.skip(_reticulate_missing())
    cluster = dask_processes(n_workers=2, worker_env={"PYTHONPATH": worker_env()["PYTHONPATH"]})
    store = tmp_path / "store"
    out = run_example(store, 3, cluster.address)
    check_calibration(store, out, 3)
    # the simulations ran through that scheduler (not on a cluster the example started), and the
    # cluster is left running when the client closes
    from distributed import Client

    assert cluster.scheduler.poll() is None
    with Client(cluster.address, timeout=30) as client:
        transitions = client.run_on_scheduler(lambda dask_scheduler: dask_scheduler.transition_counter)
        assert len(client.scheduler_info()["workers"]) == 2
    assert transitions >= 3 * 3  # at least released -> processing -> memory for each simulation

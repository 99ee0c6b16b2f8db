"""One way to name a cluster in every CLI: `ratedesign` and `cholera` take `--cluster tcp://host:port`
(like `runfleet run`, tested in test_clusters_address.py) against a real `dask scheduler` + `dask worker`."""
from __future__ import annotations

import json
import subprocess
import sys

import pandas as pd
import pytest
from cluster_fixtures import dask_processes  # noqa: F401 - fixture
from conftest import BIN, worker_env
from ratedesign_fixtures import CASE_IDS, synth_case  # noqa: F401 - fixture


def test_ratedesign_run_on_a_running_scheduler(synth_case, dask_processes, tmp_path):  # noqa: F811
    procs = dask_processes(2)
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "ratedesign.cli", "run", str(synth_case["yaml"]), "--run",
           "case_flat_precalc_supply", "--out", str(out), "--cluster", procs.address]
    for mp in synth_case["map_prefix"]:
        cmd += ["--map-prefix", mp]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=worker_env())
    assert p.returncode == 0, p.stderr
    bat = pd.read_csv(out / "cross_subsidization/cross_subsidization_BAT_values.csv")
    assert len(bat) == len(CASE_IDS)
    assert float((bat["weight"] * bat["Annual"]).sum()) == pytest.approx(60.0e6, rel=1e-9)  # = the RR
    marker = json.loads((out / ".runfleet").joinpath(
        next(d.name for d in (out / ".runfleet").iterdir()), "runs", "case_flat_precalc_supply",
        "_result.json").read_text())
    assert marker["host"] and marker["status"] == "done"
    assert procs.scheduler.poll() is None  # somebody else's scheduler: left running


def test_cholera_calibrate_on_a_running_scheduler(dask_processes, tmp_path):  # noqa: F811
    procs = dask_processes(2)
    store = tmp_path / "store"
    p = subprocess.run([str(BIN / "cholera"), "calibrate", "--locations", "ETH", "--sims", "2", "--days", "20",
                        "--store", str(store), "--cluster", procs.address, "--progress", "none"],
                       capture_output=True, text=True, timeout=600, env=worker_env())
    assert p.returncode == 0, p.stderr
    sims = list(store.rglob("sims.parquet"))
    assert sims and len(pd.read_parquet(sims[0])) == 2
    assert procs.scheduler.poll() is None

"""A calibration of a few hundred tiny simulations: rows go to the store from the workers, and the
driver receives no per-simulation parameters or rows (what made its memory grow with the sims)."""
import json
import os

import pandas as pd
import pytest

from cholera.calibrate import calibrate
from cholera.collect import TABLE_RUN
from cholera.config import CalibrationConfig
from cholera.priors import load_priors
from runfleet.ledger import pack_markers

SIMS = 240


@pytest.fixture(scope="module")
def calibrated(client, tmp_path_factory):
    store = tmp_path_factory.mktemp("store")
    cfg = CalibrationConfig(locations=("ETH",), sims=SIMS, store=str(store), seed=11, days=5, n_iter=1, batch=80,
                            ess_target=1e12, patience=0, n_ppc=2, progress="none")
    return calibrate(cfg, client=client), store / cfg.name


def test_every_simulation_row_is_in_the_store(calibrated):
    result, study = calibrated
    assert result["done"] + result["failed"] == SIMS and result["done"] > SIMS * 0.9
    sims = pd.read_parquet(result["files"]["sims"])
    assert len(sims) == result["done"]
    assert list(sims["sim_index"]) == sorted(sims["sim_index"])  # in simulation order
    assert set(load_priors().columns(["ETH"])) <= set(sims.columns)
    posterior = pd.read_csv(result["files"]["posterior"])
    assert not posterior.empty and result["ess"] > 0


def test_the_tables_are_written_by_a_worker_not_the_driver(calibrated):
    _, study = calibrated
    marker = json.loads((study / "runs" / TABLE_RUN / "_result.json").read_text())
    assert marker["pid"] != os.getpid()  # sims.parquet and the posterior were built on a worker
    assert marker["value"]["rows"] > SIMS * 0.9


def test_the_driver_receives_two_floats_per_simulation(calibrated):
    """What comes back to the driver (and is kept by runfleet's engine) per simulation is its
    value in the marker: ``ll`` and ``log_prior`` only, never the drawn parameters or the row."""
    _, study = calibrated
    values = []
    for path in (study / "_packs").glob("*.json*"):
        values += [m["value"] for name, m in pack_markers(path.read_bytes()).items() if name.startswith("sim-")]
    for path in (study / "runs").glob("sim-*/_result.json"):
        values.append(json.loads(path.read_text())["value"])
    assert len(values) >= SIMS * 0.9
    assert all(set(v) == {"ll", "log_prior"} for v in values)

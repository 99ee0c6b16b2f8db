"""A calibration of a few hundred tiny simulations: rows go to the store from the workers, and the
driver receives no per-simulation parameters or rows (what made its memory grow with the sims)."""
import gzip
import hashlib
import json
import os

import pandas as pd
import pytest

from cholera.calibrate import calibrate
from cholera.collect import TABLE_RUN
from cholera.config import CalibrationConfig
from cholera.priors import load_priors
from runfleet import study_params
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


def test_the_priors_are_stored_once_and_runs_reference_them_by_hash(calibrated):
    """Every simulation's params carry ``priors: sha256:<hex>``, not the mapping: the mapping is
    in one file under ``inputs/`` (and in ``results/calibration.json``, the user's record)."""
    _, study = calibrated
    params = study_params(str(study.parent), study.name)
    sims = [p for n, p in params.items() if n.startswith("sim-")]
    assert len(sims) == SIMS
    refs = {p["priors"] for p in sims} | {p["priors"] for n, p in params.items() if not n.startswith("sim-")}
    assert len(refs) == 1 and next(iter(refs)).startswith("sha256:")
    digest = next(iter(refs)).removeprefix("sha256:")
    stored = sorted((study / "inputs").iterdir())
    assert [p.name for p in stored] == [f"priors-{digest}.json"]
    assert hashlib.sha256(stored[0].read_bytes()).hexdigest() == digest
    assert json.loads(stored[0].read_bytes()) == load_priors().to_dict()
    # no marker, pack or run file repeats the mapping (a distribution name is in it)
    holders = []
    for path in study.rglob("*"):
        if path.is_file() and path.parts[len(study.parts)] not in ("inputs", "results"):
            data = path.read_bytes()
            if path.name.endswith(".gz"):
                data = gzip.decompress(data)
            if b"loguniform" in data:
                holders.append(str(path.relative_to(study)))
    assert not holders


def test_same_priors_resume_runs_nothing_and_a_changed_prior_reruns_every_sim(client, tmp_path):
    base = dict(locations=("ETH",), sims=4, batch=2, store=str(tmp_path), seed=3, days=5, n_iter=1,
                ess_target=1e12, patience=0, n_ppc=0, progress="none")
    first = calibrate(CalibrationConfig(**base), client=client)
    assert first["done"] == 4 and first["executed"] == 4
    again = calibrate(CalibrationConfig(**base), client=client)
    assert again["executed"] == 0 and again["resumed"] == 4
    changed = load_priors().to_dict()
    changed["parameters"]["rho"]["b"] = 12.0  # beta(4, 11) -> beta(4, 12)
    third = calibrate(CalibrationConfig(**base, priors=changed), client=client)
    assert third["resumed"] == 0 and third["executed"] == third["done"] == 4
    assert len(list((tmp_path / "cholera" / "inputs").glob("priors-*.json"))) == 2

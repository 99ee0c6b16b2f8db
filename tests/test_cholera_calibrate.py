"""Adaptive calibration on the embedded local cluster, with short simulations."""
import io
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cholera.calibrate import calibrate
from cholera.config import CalibrationConfig
from cholera.errors import CholeraError
from cholera.stopping import check_batch
from conftest import run_cli

SHORT = dict(locations=("ETH", "MOZ"), days=20, n_iter=2, progress="none")
#: columns that depend on where and when a simulation ran, not on what it computed
TIMING = ["wall_s", "model_s", "started_at", "host"]


def sim_files(store: Path, name: str = "cholera") -> list[Path]:
    return sorted((store / name / "runs").glob("sim-*/sim.parquet"))


@pytest.mark.slow
def test_rows_equal_sims_and_same_seed_same_rows_with_1_or_2_workers(client, tmp_path):
    two = calibrate(CalibrationConfig(sims=6, batch=3, store=str(tmp_path / "two"), seed=5, n_ppc=2, **SHORT), client=client)
    assert two["stop_reason"] == "cap" and two["done"] == 6 and two["failed"] == 0
    files = sim_files(tmp_path / "two")
    assert len(files) == 6 and all(len(pd.read_parquet(f)) == 1 for f in files)
    sims = pd.read_parquet(tmp_path / "two" / "cholera" / "results" / "sims.parquet")
    assert list(sims["sim"]) == [f"sim-{i:06d}" for i in range(6)]
    assert sims["ll"].notna().all() and (sims["ll"] < 0).all()

    one = calibrate(CalibrationConfig(sims=6, batch=3, store=str(tmp_path / "one"), seed=5, n_ppc=0, workers=1, **SHORT))
    sims_one = pd.read_parquet(tmp_path / "one" / "cholera" / "results" / "sims.parquet")
    pd.testing.assert_frame_equal(sims.drop(columns=TIMING), sims_one.drop(columns=TIMING))

    # outputs a user reads: posterior table, predictive check and plot
    post = pd.read_csv(two["files"]["posterior"])
    assert set(post["parameter"]) >= {"beta_j0_hum", "rho", "seasonality_amplitude"}
    assert set(post.loc[post["parameter"] == "beta_j0_hum", "location"]) == {"ETH", "MOZ"}
    assert (post["q2.5"] <= post["q50"]).all() and (post["q50"] <= post["q97.5"]).all()
    best = sims.loc[sims["ll"].idxmax()]
    assert post.set_index("parameter").loc["rho", "best"] == pytest.approx(best["rho"])
    ppc = pd.read_parquet(two["files"]["ppc"])
    assert list(ppc["location"]) == ["ETH", "MOZ"] and (ppc["obs_days"] == 20).all()
    assert Path(two["files"]["ppc_png"]).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    meta = json.loads((tmp_path / "two" / "cholera" / "results" / "calibration.json").read_text())
    assert [t["n_sims"] for t in meta["trace"]] == [3, 6]


def test_failing_draws_and_ess_1_are_reported_honestly(client, tmp_path):
    priors = tmp_path / "priors.yaml"
    # rho outside [0, 1] makes laser-cholera's parameter validation raise for about half the draws
    priors.write_text("parameters:\n  rho: {dist: uniform, low: 0.5, high: 1.5}\n")
    store = tmp_path / "store"
    # temperature 1e6 puts all the weight on the best simulation: the effective sample size is 1
    res = calibrate(CalibrationConfig(sims=8, batch=4, store=str(store), seed=2, priors=str(priors), n_ppc=2,
                                      temperature=1e6, **SHORT), client=client)
    assert res["failed"] >= 1 and res["done"] >= 2 and res["done"] + res["failed"] == 8
    assert res["stop_reason"] == "cap" and res["ess"] == pytest.approx(1.0)
    rows = pd.read_parquet(store / "cholera" / "results" / "sims.parquet")
    assert len(rows) == res["done"] and (rows["rho"] <= 1).all()
    errors = sorted((store / "cholera" / "runs").glob("sim-*/_error.json"))
    assert len(errors) == res["failed"]
    err = json.loads(errors[0].read_text())
    assert err["status"] == "failed" and err["error_class"] == "AssertionError" and "rho" in err["message"]
    meta = json.loads((store / "cholera" / "results" / "calibration.json").read_text())
    assert meta["errors"] == {"AssertionError": res["failed"]}
    assert meta["failures"]["AssertionError"]["count"] == res["failed"]
    assert "rho" in meta["failures"]["AssertionError"]["message"]
    assert meta["trace"][-1]["n_failed"] == res["failed"]
    # the predictive check does not re-run one simulation twice: one simulation carries the weight
    best = rows.loc[rows["ll"].idxmax(), "sim"]
    assert meta["ppc"]["sims"] == [best] and res["ppc_sims"] == [best]

    out = run_cli("summary", store, exe="cholera")
    assert out.returncode == 0, out.stderr
    text = out.stdout
    # failures by error class, with an example message that says what was wrong
    line = next(x for x in text.splitlines() if x.strip().startswith("AssertionError"))
    assert f" {res['failed']} " in line and "e.g. sim-" in line and "rho" in line
    assert f"{res['done']} done, {res['failed']} failed" in text
    # ESS 1: a warning, no quantile table, the best simulation labelled as such
    assert "WARNING: effective sample size 1 is below 10" in text
    assert "q2.5" not in text and "q97.5" not in text and " sd " not in text
    assert f"best-fitting simulation ({best}), not a posterior estimate" in text
    assert f"2 distinct simulations requested, only 1 carries weight ({best})" in text
    # no raw floats: every number in the text has at most 4 significant digits (log-likelihood 0.1)
    assert not re.search(r"\d\.\d{5,}", text), text
    assert f"{store}/cholera/results/" in text and "cholera/cholera" not in text

    # a calibration written before results/ existed (files in cholera/cholera/) still summarises
    (store / "cholera" / "results").rename(store / "cholera" / "cholera")
    legacy = run_cli("summary", store, exe="cholera")
    assert legacy.returncode == 0, legacy.stderr
    assert legacy.stdout.replace("/cholera/cholera/", "/cholera/results/") == text


def test_calibration_writes_to_s3(client, moto_s3):
    import s3fs

    url = f"s3://{moto_s3['bucket']}/calib"
    res = calibrate(CalibrationConfig(sims=2, batch=2, store=url, seed=1, n_ppc=0,
                                      storage_options=moto_s3["storage_options"], **SHORT), client=client)
    assert res["done"] == 2
    fs = s3fs.S3FileSystem(**moto_s3["storage_options"])
    assert len(fs.glob(f"{moto_s3['bucket']}/calib/cholera/runs/sim-*/sim.parquet")) == 2
    with fs.open(f"{moto_s3['bucket']}/calib/cholera/results/sims.parquet", "rb") as fh:
        assert len(pd.read_parquet(io.BytesIO(fh.read()))) == 2


def test_stopping_rule_by_hand():
    kw = dict(cap=100, ess_target=4.0, top_k=2, patience=2, tol=1.0)
    # equal log-likelihoods: ESS = n
    assert check_batch(0, np.full(4, -10.0), [], **kw).stop == "ess"
    assert check_batch(0, np.full(3, -10.0), [], **kw).stop is None
    # ll = [0, log 3]: weights 1/4, 3/4 -> ESS = 1 / (1/16 + 9/16) = 1.6
    c = check_batch(0, np.array([0.0, np.log(3)]), [], **kw)
    assert c.ess == pytest.approx(1.6) and c.top_k_mean == pytest.approx(np.log(3) / 2)
    # plateau: the best-2 mean moved by < 1 over the last 2 batches
    h = []
    # best-2 means: -45, -20.5, -20.5, -20.1; at batch 3 the gain over batch 1 is 0.4 < tol
    for b, ll in enumerate([[-50.0, -40.0], [-50, -40, -21, -20], [-50, -40, -21, -20, -1000, -1000],
                            [-50, -40, -21, -20, -1000, -1000, -20.2, -30]]):
        c = check_batch(b, np.array(ll, dtype=float), h, **{**kw, "ess_target": 1e9})
        h.append(c)
    assert [c.stop for c in h] == [None, None, None, "plateau"]
    # the cap, and failed simulations have zero weight
    c = check_batch(0, np.array([-5.0, np.nan, -np.inf]), [], **{**kw, "cap": 3})
    assert c.stop == "cap" and c.n_failed == 2 and c.ess == pytest.approx(1.0)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"sims": 0}, "sims (number of simulations) must be an integer >= 1, got 0"),
        ({"locations": ()}, "locations: give at least one ISO3 code"),
        ({"batch": -1}, "batch must be an integer >= 1"),
        ({"ess_target": 0}, "ess_target must be > 0"),
    ],
)
def test_bad_settings_name_the_field(kwargs, message):
    base = dict(locations=("ETH",), sims=2, store="/tmp/unused")
    with pytest.raises(CholeraError) as err:
        CalibrationConfig(**{**base, **kwargs})
    assert message in str(err.value)

"""The run function inside runfleet: RunContext.local (serial) and run_study on a LocalCluster."""

import json

import numpy as np
import pandas as pd
import pytest

from ratedesign.runfn import cairo_run
from ratedesign.scenario import load_scenario
from ratedesign_fixtures import CASE_IDS, rd_client, synth_case  # noqa: F401

runfleet = pytest.importorskip("runfleet")


def params(case, run=1, sets=()):
    return load_scenario(str(case["yaml"]), run, sets=list(sets), map_prefix=case["map_prefix"]).to_params()


def test_cairo_run_in_local_context(synth_case, tmp_path):
    from runfleet import RunContext
    ctx = RunContext.local(tmp_path / "run")
    p = params(synth_case, 1)
    json.dumps(p)  # params are JSON-able
    out = cairo_run(ctx, **p)
    assert out["n_buildings"] == len(CASE_IDS)
    assert out["weighted_bill_sum"] == pytest.approx(30.0e6, rel=1e-12)
    assert all(abs(v) < 1e-3 for v in out["weighted_bat_sums"].values())
    assert set(out["rate_levels"]) == {"case_flat", "case_tou", "case_tiered"}
    json.dumps(out)
    bat = pd.read_parquet(tmp_path / "run/cross_subsidization/cross_subsidization_BAT_values.parquet")
    assert len(bat) == len(CASE_IDS)


def test_cairo_run_through_run_study(synth_case, tmp_path, rd_client):
    from runfleet import Run, Study, run_study
    study = Study(name="rd", store=str(tmp_path / "store"), seed=1)
    p = params(synth_case, 3, ["chunk_size=40"])
    study.add(Run("subclass", "ratedesign.runfn:cairo_run", params=p))
    summary = run_study(study, cluster=rd_client, progress=False)
    assert summary.exit_code == 0, summary.outcomes
    value = summary.outcomes["subclass"].value
    assert value["n_chunks"] == 6
    assert value["revenue_requirement_by_tariff"] == {"case_tou": 8.0e6, "case_flat": 22.0e6}
    run_dir = tmp_path / "store/rd/runs/subclass"
    bills = pd.read_csv(run_dir / "bills/elec_bills_year_target.csv")
    ann = bills[bills["month"] == "Annual"]
    assert float(np.dot(ann["weight"], ann["bill_level"])) == pytest.approx(30.0e6, rel=1e-9)
    cfg = json.loads((run_dir / "tariff_final_config.json").read_text())
    assert set(cfg) == {"case_tou", "case_flat"}
    assert cfg["case_tou"]["ur_ec_tou_mat"][0][4] == pytest.approx(value["rate_levels"]["case_tou"] * round(0.10 / 0.098, 4))

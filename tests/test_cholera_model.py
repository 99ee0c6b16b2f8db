"""The laser-cholera wrapper and the run function, on short simulations (in-process)."""
import numpy as np
import pandas as pd
import pytest

from cholera.errors import CholeraError, UnknownLocationError
from cholera.model import build_inputs, iteration_seeds, observed_locations, run_iterations
from cholera.priors import load_priors
from cholera.sim import SIM_FILE, simulate


def test_build_inputs_subsets_locations_and_trims_days():
    inputs = build_inputs(["moz", "ETH"], days=30)
    assert inputs.locations == ("MOZ", "ETH")
    assert inputs.params["location_name"] == ["MOZ", "ETH"]
    assert inputs.params["date_stop"] == "2023-03-02"  # 30 days from 2023-02-01
    for key in ("b_jt", "psi_jt", "mu_jt", "reported_cases"):
        assert np.shape(inputs.params[key]) == (2, 30)
    assert len(inputs.params["beta_j0_hum"]) == 2
    assert {row["iso_code"] for row in inputs.params["epidemic_peaks"]} <= {"MOZ", "ETH"}
    assert inputs.observed_cases.shape == (2, 30)
    assert inputs.dates()[0] == np.datetime64("2023-02-01") and inputs.dates()[-1] == np.datetime64("2023-03-02")
    # bundled observations: Mozambique reported 8 cases on 2023-02-01 in MOSAIC's series
    assert np.nansum(inputs.observed_cases[0]) > 0


def test_bad_locations_and_days():
    with pytest.raises(UnknownLocationError, match="unknown location\\(s\\) XXX"):
        build_inputs(["ETH", "XXX"])
    with pytest.raises(CholeraError, match="duplicate"):
        build_inputs(["ETH", "eth"])
    with pytest.raises(CholeraError, match="days must be an integer in 1..1155"):
        build_inputs(["ETH"], days=0)
    with pytest.raises(CholeraError, match="days"):
        build_inputs(["ETH"], days=5000)
    assert observed_locations(["KEN", "ETH"])["KEN"] == 0  # Kenya has no reported series bundled


def test_iteration_seeds_are_derived_and_distinct():
    a = iteration_seeds(123, 3)
    assert a == iteration_seeds(123, 3) and len(set(a)) == 3
    assert iteration_seeds(123, 4)[:3] == a  # adding iterations keeps the first ones
    assert iteration_seeds(124, 3) != a


def test_same_seed_same_series_and_arrays_only():
    inputs = build_inputs(["ETH"], days=30)
    a = run_iterations(inputs.params, [5, 6])
    b = run_iterations(inputs.params, [5])
    assert isinstance(a.reported_cases, np.ndarray) and a.reported_cases.shape == (2, 1, 30)
    np.testing.assert_array_equal(a.reported_cases[0], b.reported_cases[0])
    assert not np.array_equal(a.reported_cases[0], a.reported_cases[1])
    assert a.reported_cases.sum() > 0


def test_invalid_parameter_draw_raises():
    inputs = build_inputs(["ETH"], days=10)
    with pytest.raises(AssertionError, match="rho"):
        run_iterations(dict(inputs.params, rho=1.4), [1])


def test_simulate_writes_one_row_and_returns_small_dict(tmp_path):
    from runfleet import RunContext

    priors = load_priors().to_dict()
    ctx = RunContext.local(tmp_path / "sim-000004", name="sim-000004", seed=9)
    value = simulate(ctx, ["ETH", "MOZ"], priors, n_iter=2, days=20, sim_index=4, study_seed=9)
    assert set(value) == {"ll", "log_prior"}  # the draw stays in sim.parquet, off the driver
    df = pd.read_parquet(tmp_path / "sim-000004" / SIM_FILE)
    assert len(df) == 1
    row = df.iloc[0]
    assert row["sim"] == "sim-000004" and row["sim_index"] == 4 and row["seed"] == ctx.seed
    assert row["ll"] == pytest.approx(value["ll"]) and len(row["ll_iter"]) == 2
    assert row["ll"] <= max(row["ll_iter"]) and row["ll"] >= min(row["ll_iter"])
    assert row["locations"] == "ETH,MOZ" and row["days"] == 20 and row["n_iter"] == 2
    columns = load_priors().columns(["ETH", "MOZ"])
    assert columns and all(np.isfinite(row[c]) for c in columns)
    # same run name and study seed: the same draw and result
    ctx2 = RunContext.local(tmp_path / "again", name="sim-000004", seed=9)
    assert simulate(ctx2, ["ETH", "MOZ"], priors, n_iter=2, days=20, sim_index=4) == value

"""MOSAIC-shaped config and priors (as R lists arrive through reticulate) -> calibration inputs."""
import copy
import math
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from cholera import api
from cholera.config import CalibrationConfig
from cholera.errors import CholeraError, ConfigError
from cholera.model import build_inputs
from cholera.priors import resolve_priors
from cholera.sim import simulate
from runfleet import RunContext

PRIORS = {
    "metadata": {"version": "test", "description": "as MOSAIC's priors_default"},
    "parameters_global": {
        "rho": {"description": "reporting", "distribution": "beta", "parameters": {"shape1": 4.0, "shape2": 11.0}},
        "alpha_1": {"distribution": "truncnorm", "parameters": {"mean": 0.3, "sd": 0.1, "a": 0.05, "b": 0.9}},
        "iota": {"distribution": "gamma", "parameters": {"shape": 4.0, "rate": 2.0}},
    },
    "parameters_location": {
        "beta_j0_hum": {"description": "transmission", "location": {
            "ETH": {"distribution": "lognormal", "parameters": {"meanlog": math.log(4e-6), "sdlog": 0.7}},
            "MOZ": {"distribution": "uniform", "parameters": {"min": 1e-6, "max": 2e-5}},
            "KEN": {"distribution": "gompertz", "parameters": {"b": 1.0, "eta": 2.0}},  # not calibrated: ignored
        }},
    },
}


def test_mosaic_priors_have_the_densities_mosaic_means():
    priors = resolve_priors(PRIORS, ["ETH", "MOZ"])
    assert priors.columns(["ETH", "MOZ"]) == ["rho", "alpha_1", "iota", "beta_j0_hum[ETH]", "beta_j0_hum[MOZ]"]
    draw = {"rho": 0.3, "alpha_1": 0.4, "iota": 1.5, "beta_j0_hum[ETH]": 5e-6, "beta_j0_hum[MOZ]": 1e-5}
    expected = (
        stats.beta(4, 11).logpdf(0.3)                                       # R: dbeta(x, shape1, shape2)
        + stats.truncnorm((0.05 - 0.3) / 0.1, (0.9 - 0.3) / 0.1, 0.3, 0.1).logpdf(0.4)  # truncnorm(a, b bounds)
        + stats.gamma(4, scale=1 / 2).logpdf(1.5)                           # R: dgamma(x, shape, rate)
        + stats.lognorm(0.7, scale=4e-6).logpdf(5e-6)                       # R: dlnorm(x, meanlog, sdlog)
        - math.log(2e-5 - 1e-6)                                             # R: dunif(x, min, max)
    )
    assert priors.log_density(draw, ["ETH", "MOZ"]) == pytest.approx(expected, rel=1e-12)


def _mutated(path: str, value):
    data = copy.deepcopy(PRIORS)
    *parents, last = path.split(".")
    node = data
    for key in parents:
        node = node[key]
    if value is None:
        del node[last]
    else:
        node[last] = value
    return data


@pytest.mark.parametrize(
    "path, value, message",
    [
        ("parameters_global.rho.parameters.shape2", None,
         "priors: parameters_global.rho: parameters.shape2: missing (required by beta)"),
        ("parameters_global.rho.distribution", "gompertz",
         "priors: parameters_global.rho.distribution: unsupported distribution 'gompertz'"),
        ("parameters_global.rho.parameters.shape1", -1.0, "priors: parameters_global.rho: parameters: shape1 must be > 0"),
        ("parameters_global.rho.parameters.scale", 2.0, "unknown hyperparameter(s) ['scale'] for beta"),
        ("parameters_global.rho.dist", "beta", "priors: parameters_global.rho.dist: unknown field"),
        ("parameters_location.beta_j0_hum.location.MOZ", None,
         "priors: parameters_location.beta_j0_hum.location.MOZ: missing (every calibrated location needs a prior)"),
        ("parameters_location.beta_j0_hum.location.MOZ.parameters.max", 1e-7, "max (1e-07) must be > min (1e-06)"),
        ("parameters_global.beta_j0_hum", {"distribution": "beta", "parameters": {"shape1": 1.0, "shape2": 1.0}},
         "priors: parameters_location.beta_j0_hum: also in parameters_global"),
    ],
)
def test_bad_mosaic_priors_are_one_line_naming_the_field(path, value, message):
    with pytest.raises(ConfigError) as err:
        resolve_priors(_mutated(path, value), ["ETH", "MOZ"])
    assert message in str(err.value) and "\n" not in str(err.value)


def test_config_gives_locations_period_and_parameter_values(tmp_path):
    got = api._resolve_inputs({"location_name": ["eth", "MOZ"], "date_start": "2023-02-01", "date_stop": "2023-03-02",
                               "rho_deaths": 0.5, "theta_j": [0.5, 0.6]}, None, None)
    assert got == {"locations": ("ETH", "MOZ"), "days": 30, "model_overrides": {"rho_deaths": 0.5, "theta_j": [0.5, 0.6]}}
    one = api._resolve_inputs({"location_name": "ETH"}, None, 12)  # R: a length-1 vector arrives as a string
    assert one == {"locations": ("ETH",), "days": 12, "model_overrides": {}}


@pytest.mark.parametrize(
    "config, kwargs, message",
    [
        ({"date_stop": "2023-03-02"}, {}, "config: location_name: missing (required)"),
        ({"location_name": "ETH", "date_start": "2024-01-01"}, {}, "config: date_start: must be 2023-02-01"),
        ({"location_name": "ETH", "date_stop": "soon"}, {}, "config: date_stop: expected a date"),
        ({"location_name": "ETH", "transmission": 1.0}, {}, "config: transmission: not a laser-cholera parameter"),
        ({"location_name": "ETH", "seed": 7.0}, {}, "config: seed: cannot be set from a config"),
        ({"location_name": "ETH", "b_jt": [1.0]}, {}, "config: b_jt: only scalar and per-location parameters"),
        ({"location_name": ["ETH", "MOZ"], "theta_j": [0.5]}, {}, "config: theta_j: expected 2 finite numbers"),
        ({"location_name": "ETH", "rho": "secret-value"}, {}, "config: rho: expected a finite number"),
        ({"location_name": "ETH"}, {"locations": ["MOZ"]}, "locations: given both as config location_name"),
        ({"location_name": "ETH"}, {"scheduler": "tcp://127.0.0.1:1", "cluster": "hpc"}, "scheduler, cluster: give one"),
        ({"location_name": "ETH"}, {"sims": 0}, "sims (number of simulations) must be an integer >= 1, got 0"),
        ({"location_name": "ETH"}, {"priors": {"parameters_global": {"rho": {"distribution": "beta"}}}},
         "priors: parameters_global.rho: parameters.shape1: missing (required by beta)"),
    ],
)
def test_bad_config_fails_before_anything_is_written(tmp_path, config, kwargs, message):
    store = tmp_path / "store"
    with pytest.raises(CholeraError) as err:
        api.calibrate(config=config, store=str(store), **{"sims": 2, **kwargs})
    text = str(err.value)
    assert message in text and "\n" not in text and "secret-value" not in text
    assert not store.exists()


def test_r_numbers_are_accepted_where_integers_are_expected():
    cfg = CalibrationConfig(locations=["ETH"], sims=20.0, store="/tmp/unused", days=30.0, seed=1.0, workers=2.0)
    assert (cfg.sims, cfg.days, cfg.seed, cfg.workers) == (20, 30, 1, 2) and isinstance(cfg.sims, int)
    for bad in (20.5, True, "20"):
        with pytest.raises(ConfigError, match="sims"):
            CalibrationConfig(locations=["ETH"], sims=bad, store="/tmp/unused")


def test_config_parameter_values_reach_the_model(tmp_path):
    priors = {"parameters": {"alpha_1": {"dist": "beta", "a": 3.0, "b": 8.0}}}  # rho is not sampled

    def run(overrides):
        ctx = RunContext(name="sim-000000", study="t", out=str(tmp_path / "out"), study_seed=5)
        return simulate(ctx, ["ETH"], priors, n_iter=1, days=15, overrides=overrides)["ll"]

    bundled = build_inputs(["ETH"], 15).params["rho"]
    base = run(None)
    assert run({"rho": bundled}) == base              # the bundled value: the same simulation
    assert run({"rho": 0.05}) != base                 # another reporting rate: another likelihood
    with pytest.raises(AssertionError, match="rho"):  # laser-cholera rejects a rate above 1
        run({"rho": 2.0})
    assert np.isfinite(base) and Path(tmp_path / "out" / "sim.parquet").exists()

"""Priors: YAML parsing with errors naming the file and field, sampling, log density, apply."""
import math

import numpy as np
import pytest
from scipy import stats

from cholera.errors import PriorsError
from cholera.model import available_locations, build_inputs, default_parameters
from cholera.priors import Priors, default_priors_path, load_priors


def write(tmp_path, text, name="priors.yaml"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_default_priors_load_and_target_real_model_parameters():
    priors = load_priors()
    assert default_priors_path().is_file()
    names = [e.name for e in priors.entries]
    assert {"beta_j0_hum", "beta_j0_env", "rho", "seasonality_amplitude"} <= set(names)
    priors.check_against(default_parameters(), len(available_locations()), ["ETH", "MOZ"])
    assert priors.columns(["ETH", "MOZ"])[:2] == ["beta_j0_hum[ETH]", "beta_j0_hum[MOZ]"]


def test_sampling_is_reproducible_and_inside_the_support():
    priors = load_priors()
    a = priors.sample(np.random.default_rng(11), ["ETH", "MOZ"])
    b = priors.sample(np.random.default_rng(11), ["ETH", "MOZ"])
    c = priors.sample(np.random.default_rng(12), ["ETH", "MOZ"])
    assert a == b and a != c
    draws = [priors.sample(np.random.default_rng(s), ["ETH"]) for s in range(200)]
    hum = np.array([d["beta_j0_hum[ETH]"] for d in draws])
    assert hum.min() >= 1e-6 and hum.max() <= 4e-5
    amp = np.array([d["seasonality_amplitude"] for d in draws])
    assert amp.min() >= 0.25 and amp.max() <= 1.5
    rho = np.array([d["rho"] for d in draws])
    assert 0 < rho.min() and rho.max() < 1 and abs(rho.mean() - 4 / 15) < 0.03  # beta(4, 11) mean


def test_log_density_matches_hand_values(tmp_path):
    path = write(tmp_path, """
parameters:
  u: {dist: uniform, low: 0, high: 2, targets: [rho]}
  b: {dist: beta, a: 2, b: 2, targets: [sigma]}
  g: {dist: gamma, shape: 2, rate: 3, targets: [iota]}
  lu: {dist: loguniform, low: 1, high: 2.718281828459045, targets: [epsilon]}
  tn: {dist: truncnorm, mean: 0, sd: 1, low: 0, targets: [kappa]}
  n: {dist: normal, mean: 1, sd: 2, targets: [zeta_1]}
  ln: {dist: lognormal, meanlog: 0, sdlog: 1, targets: [zeta_2]}
""")
    p = load_priors(path)
    draw = {"u": 1.5, "b": 0.5, "g": 1.0, "lu": 2.0, "tn": 0.0, "n": 1.0, "ln": 1.0}
    expected = (
        math.log(0.5)                       # uniform(0, 2)
        + math.log(1.5)                     # beta(2,2) at 0.5: 6 x (1 - x)
        + math.log(9) - 3                   # gamma(shape 2, rate 3) at 1: 9 x e^-3x
        - math.log(2)                       # loguniform(1, e) at 2: 1 / (x log(e/1))
        + math.log(2 / math.sqrt(2 * math.pi))   # half-normal at 0
        - math.log(2 * math.sqrt(2 * math.pi))   # normal(1, 2) at its mean
        - math.log(math.sqrt(2 * math.pi))       # standard lognormal at 1
    )
    assert p.log_density(draw, []) == pytest.approx(expected, abs=1e-9)
    assert p.log_density({**draw, "u": 3.0}, []) == -math.inf


def test_apply_set_multiply_global_and_per_location(tmp_path):
    path = write(tmp_path, """
parameters:
  beta_j0_hum: {dist: uniform, low: 0, high: 1, per_location: true,
                by_location: {MOZ: {dist: uniform, low: 5, high: 6}}}
  rho: {dist: beta, a: 2, b: 5}
  amp: {dist: uniform, low: 0.5, high: 1.5, targets: [a_1_j, b_1_j], mode: multiply}
  theta_j: {dist: uniform, low: 0, high: 1}
""")
    priors = load_priors(path)
    inputs = build_inputs(["ETH", "MOZ"], days=10)
    priors.check_against(default_parameters(), len(available_locations()), inputs.locations)
    draw = priors.sample(np.random.default_rng(3), inputs.locations)
    assert 5 <= draw["beta_j0_hum[MOZ]"] <= 6 and 0 <= draw["beta_j0_hum[ETH]"] <= 1
    out = priors.apply(draw, inputs.params, inputs.locations)
    assert out["beta_j0_hum"] == [draw["beta_j0_hum[ETH]"], draw["beta_j0_hum[MOZ]"]]
    assert out["rho"] == draw["rho"]
    assert out["a_1_j"] == pytest.approx([v * draw["amp"] for v in inputs.params["a_1_j"]])
    assert out["b_1_j"] == pytest.approx([v * draw["amp"] for v in inputs.params["b_1_j"]])
    assert out["theta_j"] == [draw["theta_j"]] * 2  # global value on a per-location vector
    assert inputs.params["rho"] == default_parameters()["rho"]  # input not mutated
    # the mapping form round-trips
    again = Priors.from_dict(priors.to_dict())
    assert again.sample(np.random.default_rng(3), inputs.locations) == draw


@pytest.mark.parametrize(
    "text, message",
    [
        ("parameters:\n  rho: {a: 1, b: 2}\n", "parameters.rho.dist: missing"),
        ("parameters:\n  rho: {dist: weibull, a: 1}\n", "parameters.rho.dist: unknown distribution 'weibull'"),
        ("parameters:\n  rho: {dist: beta, a: 1}\n", "parameters.rho.b: missing"),
        ("parameters:\n  rho: {dist: beta, a: x, b: 1}\n", "parameters.rho.a: must be a number"),
        ("parameters:\n  rho: {dist: uniform, low: 2, high: 1}\n", "parameters.rho: high (1.0) must be > low (2.0)"),
        ("parameters:\n  rho: {dist: beta, a: 1, b: 2, per_location: maybe}\n", "parameters.rho.per_location"),
        ("parameters:\n  rho: {dist: beta, a: 1, b: 2, mode: add}\n", "parameters.rho.mode"),
        ("parameters:\n  rho: {dist: beta, a: 1, b: 2, scale: 3}\n", "unknown field(s) ['scale']"),
        ("parameters:\n  b: {dist: loguniform, low: 1.0e-6, high: 1.0e-5, per_location: true,\n"
         "      by_location: {ETH: {dist: loguniform, low: 1.0e-6}}}\n",
         "parameters.b.by_location.ETH.high: missing (required by loguniform)"),
        ("parameters:\n  b: {dist: uniform, low: 0, high: 1, per_location: true, by_location: {ETH: {dist: uniform, low: 2, high: 1}}}\n",
         "parameters.b.by_location.ETH: high (1.0) must be > low (2.0)"),
        ("parameters:\n  rho: {dist: beta, a: .nan, b: 1}\n", "parameters.rho.a: must be a finite number"),
        ("parameters:\n  rho: {dist: beta, a: 1, b: 2, targets: []}\n", "parameters.rho.targets: expected a list"),
        ("nope: 1\n", "expected a mapping with a 'parameters' key"),
        ("parameters: [1, 2\n", "not valid YAML"),
    ],
)
def test_bad_priors_file_names_file_and_field(tmp_path, text, message):
    path = write(tmp_path, text)
    with pytest.raises(PriorsError) as err:
        load_priors(path)
    assert str(path) in str(err.value) and message in str(err.value)


def test_targets_are_checked_against_the_model(tmp_path):
    n = len(available_locations())
    bad_target = load_priors(write(tmp_path, "parameters:\n  transmission: {dist: uniform, low: 0, high: 1}\n"))
    with pytest.raises(PriorsError, match=r"parameters.transmission.targets: 'transmission' is not a laser-cholera parameter"):
        bad_target.check_against(default_parameters(), n)
    scalar_per_loc = load_priors(write(tmp_path, "parameters:\n  rho: {dist: uniform, low: 0, high: 1, per_location: true}\n"))
    with pytest.raises(PriorsError, match="rho.per_location: 'rho' is a scalar"):
        scalar_per_loc.check_against(default_parameters(), n)
    with pytest.raises(PriorsError, match="cannot read priors file"):
        load_priors(tmp_path / "missing.yaml")


def test_scipy_parameterisations_agree_with_numpy_draws():
    # gamma(shape, rate): mean shape / rate
    p = Priors.from_dict({"parameters": {"iota": {"dist": "gamma", "shape": 4.0, "rate": 2.0}}})
    x = [p.sample(np.random.default_rng(s), [])["iota"] for s in range(400)]
    assert abs(np.mean(x) - 2.0) < 0.15
    assert stats.gamma(4.0, scale=0.5).mean() == 2.0

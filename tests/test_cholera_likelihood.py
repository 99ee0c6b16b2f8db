"""Likelihood, log-mean-exp and importance-weight maths against hand-computed values."""
import math

import numpy as np
import pytest

from cholera.likelihood import LikelihoodSettings, iteration_loglik, log_mean_exp, negbin_loglik, negbin_logpmf
from cholera.weights import effective_sample_size, normalized_weights, top_k_mean, weighted_quantile


def test_negbin_logpmf_hand_values():
    # size 1 is the geometric law: p(3 | mu 2) = (1/3) * (2/3)^3 = 8/81
    assert negbin_logpmf(3, 2.0, 1.0) == pytest.approx(math.log(8 / 81), abs=1e-12)
    # p(0 | mu 4, k 2) = (2/6)^2 = 1/9
    assert negbin_logpmf(0, 4.0, 2.0) == pytest.approx(math.log(1 / 9), abs=1e-12)
    # p(2 | mu 1, k 3) = C(4, 2) (3/4)^3 (1/4)^2 = 162/1024
    assert negbin_logpmf(2, 1.0, 3.0) == pytest.approx(math.log(162 / 1024), abs=1e-12)


def test_negbin_approaches_poisson_for_large_k():
    # Poisson(3 | 2) = e^-2 2^3 / 3!
    assert negbin_logpmf(3, 2.0, 1e6) == pytest.approx(-2 + 3 * math.log(2) - math.log(6), abs=1e-4)


def test_missing_observations_are_skipped_and_zero_mean_is_floored():
    assert negbin_loglik([3, np.nan], [2.0, 5.0], 1.0) == pytest.approx(math.log(8 / 81), abs=1e-12)
    # simulated mean 0 with one observed case: floored at 1e-6 -> p(1) = k (k/(k+m))^k m/(k+m)
    m, k = 1e-6, 2.0
    expected = math.log(k * (k / (k + m)) ** k * m / (k + m))
    assert negbin_loglik([1.0], [0.0], k) == pytest.approx(expected, rel=1e-12)
    assert negbin_loglik([np.nan, np.nan], [1.0, 2.0], 1.0) == 0.0


def test_iteration_loglik_sums_weighted_cases_and_deaths():
    obs_cases = np.array([[3.0, np.nan]])
    sim_cases = np.array([[2, 5]])
    obs_deaths = np.array([[0.0, 2.0]])
    sim_deaths = np.array([[4, 1]])
    s = LikelihoodSettings(k_cases=1.0, k_deaths=2.0)
    cases = math.log(8 / 81)
    # deaths: p(0 | 4, 2) = 1/9; p(2 | 1, 2) = C(3, 2) (2/3)^2 (1/3)^2 = 12/81
    deaths = math.log(1 / 9) + math.log(12 / 81)
    assert iteration_loglik(obs_cases, obs_deaths, sim_cases, sim_deaths, s) == pytest.approx(cases + deaths, abs=1e-12)
    s2 = LikelihoodSettings(k_cases=1.0, k_deaths=2.0, weight_deaths=0.5)
    assert iteration_loglik(obs_cases, obs_deaths, sim_cases, sim_deaths, s2) == pytest.approx(cases + deaths / 2, abs=1e-12)
    with pytest.raises(ValueError, match="shape"):
        iteration_loglik(obs_cases, obs_deaths, np.zeros((2, 2)), sim_deaths, s)


def test_likelihood_settings_reject_bad_values():
    with pytest.raises(ValueError, match="k_cases"):
        LikelihoodSettings(k_cases=0)
    with pytest.raises(ValueError, match="unknown"):
        LikelihoodSettings.from_dict({"kcases": 1})


def test_log_mean_exp_hand_values():
    assert log_mean_exp([0.0, math.log(3)]) == pytest.approx(math.log(2), abs=1e-12)
    # stable far from zero: naive exp(-1000) underflows to 0
    assert log_mean_exp([-1000.0, -1000.0 + math.log(3)]) == pytest.approx(-1000 + math.log(2), abs=1e-9)
    # a NaN iteration counts as zero likelihood but still counts in n
    assert log_mean_exp([math.log(2), np.nan]) == pytest.approx(0.0, abs=1e-12)
    assert log_mean_exp([-np.inf, -np.inf]) == -np.inf
    assert log_mean_exp([5.0]) == 5.0
    with pytest.raises(ValueError):
        log_mean_exp([])


def test_importance_weights_and_ess():
    w = normalized_weights([0.0, math.log(3)])
    assert w == pytest.approx([0.25, 0.75])
    assert normalized_weights([0.0, 2 * math.log(3)], temperature=0.5) == pytest.approx([0.25, 0.75])
    assert normalized_weights([-5000.0, -np.inf, np.nan, -5000.0]) == pytest.approx([0.5, 0, 0, 0.5])
    assert effective_sample_size([1, 1, 1, 1]) == pytest.approx(4.0)
    assert effective_sample_size([1, 0, 0]) == pytest.approx(1.0)
    assert effective_sample_size([0.5, 0.25, 0.25]) == pytest.approx(1 / 0.375)
    assert effective_sample_size([0, 0]) == 0.0


def test_weighted_quantile_hand_values():
    # cumulative weights 0.25, 0.5, 1.0: the median is the first value reaching 0.5
    assert weighted_quantile([30, 10, 20], [2, 1, 1], 0.5) == 20
    assert weighted_quantile([10, 20, 30], [1, 1, 2], [0.2, 0.25, 0.51, 0.975]) == pytest.approx([10, 10, 30, 30])
    assert weighted_quantile([1, 2, 3, 4], [0, 0, 0, 1], [0.025, 0.5, 0.975]) == pytest.approx([4, 4, 4])
    # a point mass (ESS ~ 1) gives the same value for every quantile, not a spread
    assert weighted_quantile([1.0, 2.0, 3.0], [1e-300, 1.0, 1e-300], [0.025, 0.975]) == pytest.approx([2, 2])
    x = np.random.default_rng(0).normal(size=101)
    q = [0.1, 0.5, 0.9]
    assert weighted_quantile(x, np.ones_like(x), q) == pytest.approx(np.quantile(x, q, method="inverted_cdf"))


def test_top_k_mean():
    assert top_k_mean([-5, -1, -3, np.nan, -np.inf], 2) == pytest.approx(-2.0)
    assert top_k_mean([-5], 10) == -5

"""The calibration summary text and the predictive check's choice of draws, on hand-made values."""
import re

import numpy as np
import pandas as pd
import pytest

from cholera.posterior import ESS_MIN, posterior_table
from cholera.ppc import choose_draws
from cholera.priors import Priors
from cholera.report import fmt, render_summary

PRIORS = Priors.from_dict({"parameters": {
    "rho": {"dist": "beta", "a": 4.0, "b": 11.0},
    "beta_j0_hum": {"dist": "loguniform", "low": 1e-6, "high": 4e-5, "per_location": True},
}})


def sims_frame(ll) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    n = len(ll)
    return pd.DataFrame({
        "sim": [f"sim-{i:06d}" for i in range(n)],
        "rho": rng.uniform(0.1, 0.5, n),
        "beta_j0_hum[ETH]": rng.uniform(1e-6, 4e-5, n),
        "ll": np.asarray(ll, dtype=float),
    })


def meta_for(n_done: int, failures: dict | None = None, ppc: dict | None = None) -> dict:
    n_failed = sum(f["count"] for f in (failures or {}).values())
    return {
        "settings": {"name": "cholera", "locations": ["ETH"], "days": 30, "seed": 1, "n_iter": 2, "n_ppc": 4},
        "stop_reason": "cap", "sims_submitted": n_done + n_failed,
        "counts": {"done": n_done, "failed": n_failed},
        "failures": failures or {},
        "ppc": ppc or {"requested": 4, "sims": ["sim-000001", "sim-000002", "sim-000003", "sim-000004"]},
    }


def test_enough_ess_shows_the_quantile_table_next_to_the_ess():
    # equal log-likelihoods: every simulation weighs the same, ESS = n = 40
    sims = sims_frame(np.full(40, -751.2686691165409))
    table = posterior_table(sims, PRIORS, ["ETH"])
    assert table["ess"].iloc[0] == pytest.approx(40.0)
    text = render_summary(meta_for(40), sims, table, None, where="/s/cholera/results")
    assert "posterior (importance-weighted, ESS 40 of 40 simulations):" in text
    header = next(line for line in text.splitlines() if line.lstrip().startswith("parameter"))
    assert header.split() == ["parameter", "location", "prior_mean", "mean", "sd", "q2.5", "q50", "q97.5", "best"]
    assert "WARNING" not in text
    assert "best log-likelihood -751.3 (sim-000000)" in text and "751.26" not in text
    assert "posterior predictive check (4 distinct simulations" in text


def test_low_ess_warns_and_hides_the_quantiles():
    # one simulation 50 log-units above the others: ESS 1
    sims = sims_frame([-800.0, -750.0, -820.0, -900.0])
    table = posterior_table(sims, PRIORS, ["ETH"])
    assert table["ess"].iloc[0] < ESS_MIN
    text = render_summary(meta_for(4, ppc={"requested": 4, "sims": ["sim-000001"]}), sims, table, None,
                          where="/s/cholera/results")
    assert f"WARNING: effective sample size 1 is below {ESS_MIN:g}" in text
    assert "q2.5" not in text and "q97.5" not in text
    assert "best-fitting simulation (sim-000001), not a posterior estimate:" in text
    assert "4 distinct simulations requested, only 1 carries weight (sim-000001)" in text


def test_failures_are_grouped_by_class_with_one_example_each():
    long = "rho must be in [0, 1]: " + "x" * 400
    failures = {
        "AssertionError": {"count": 7, "sim": "sim-000003", "message": "Traceback...\nAssertionError: " + long},
        "FloatingPointError": {"count": 1, "sim": "sim-000009", "message": "log-likelihood is nan"},
    }
    sims = sims_frame(np.full(12, -10.0))
    text = render_summary(meta_for(12, failures), sims, posterior_table(sims, PRIORS, ["ETH"]), None, where="/s")
    lines = text.splitlines()
    assert "12 done, 8 failed" in text
    i = lines.index("failed simulations by error class (count, one example):")
    assert lines[i + 1].split()[:4] == ["AssertionError", "7", "e.g.", "sim-000003:"]
    assert "rho must be in [0, 1]" in lines[i + 1] and len(lines[i + 1]) < 220
    assert lines[i + 2].split()[:4] == ["FloatingPointError", "1", "e.g.", "sim-000009:"]


def test_fmt_uses_significant_digits():
    assert fmt(-751.2686691165409) == "-751.3"
    assert fmt(6.62e-06) == "6.62e-06"
    assert fmt(float("nan")) == "n/a" and fmt(None) == "n/a"
    assert not re.search(r"\d{6,}", fmt(1 / 3))


def test_predictive_draws_are_distinct_or_fewer():
    # spread weights: 4 distinct simulations, the same for the same seed
    w = np.full(50, 1 / 50)
    picks = choose_draws(w, 4, seed=3)
    assert len(picks) == 4 == len(set(picks)) and picks == choose_draws(w, 4, seed=3)
    # all the weight on one simulation: one draw, not the same simulation 4 times
    assert choose_draws(np.array([1e-30, 1.0, 0.0, 1e-40]), 4, seed=3) == [1]
    assert choose_draws(np.zeros(5), 4, seed=3) == []

"""Posterior summary: importance-weighted quantiles of every sampled parameter.

Weights are those of :mod:`cholera.weights` (likelihood to the power ``temperature``, prior as
proposal). For each parameter column the table gives the prior mean, the weighted mean and
standard deviation, the weighted 2.5/25/50/75/97.5 % quantiles
(:func:`cholera.weights.weighted_quantile`) and the value of the best simulation (highest
log-likelihood), and the effective sample size of the weights.

When the effective sample size is below :data:`ESS_MIN` the posterior rests on a handful of
simulations: its weighted quantiles collapse onto those few values (a standard deviation of
1e-23 is not certainty, it is one simulation) and must not be read as a posterior. Summaries
(:mod:`cholera.report`) then show a warning and the best simulation instead of the quantiles.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd

from cholera.priors import Priors
from cholera.weights import effective_sample_size, normalized_weights, weighted_quantile

__all__ = ["ESS_MIN", "QUANTILES", "posterior_table", "split_column", "weights_summary"]

QUANTILES = (0.025, 0.25, 0.5, 0.75, 0.975)

#: effective sample size below which weighted quantiles are not presented as a posterior
ESS_MIN = 10.0


def split_column(column: str) -> tuple[str, str]:
    """Split an output column into parameter name and location.

    Parameters
    ----------
    column : str
        ``"beta_j0_hum[ETH]"`` or ``"rho"``.

    Returns
    -------
    tuple of str
        ``("beta_j0_hum", "ETH")``; ``("rho", "")`` for a global parameter.
    """
    if column.endswith("]") and "[" in column:
        name, _, iso = column[:-1].partition("[")
        return name, iso
    return column, ""


def posterior_table(sims: pd.DataFrame, priors: Priors, locations: Sequence[str], temperature: float = 1.0) -> pd.DataFrame:
    """Importance-weighted posterior summary, one row per sampled parameter column.

    Parameters
    ----------
    sims : pandas.DataFrame
        Simulation rows as written by :func:`cholera.sim.simulate` (``ll`` and parameter columns).
    priors : cholera.priors.Priors
        The calibration's priors (for the column names and prior means).
    locations : sequence of str
        Calibrated ISO3 codes.
    temperature : float, optional
        Likelihood power of the weights (1: the posterior).

    Returns
    -------
    pandas.DataFrame
        Columns ``parameter, location, prior_mean, mean, sd, q2.5, q25, q50, q75, q97.5, best,
        ess``; values in the parameter's own unit. ``ess`` (the same on every row) is the
        effective sample size of the weights: below :data:`ESS_MIN` the quantiles are not
        meaningful.

    Raises
    ------
    ValueError
        ``sims`` lacks a parameter column of ``priors``.
    """
    columns = priors.columns(locations)
    missing = [c for c in columns if c not in sims.columns]
    if missing:
        raise ValueError(f"simulation rows lack parameter columns {missing}")
    w = normalized_weights(sims["ll"].to_numpy(dtype=float), temperature) if len(sims) else np.zeros(0)
    ess = effective_sample_size(w)
    best_idx = int(np.nanargmax(sims["ll"].to_numpy(dtype=float))) if len(sims) else None
    entries = {e.name: e for e in priors.entries}
    rows = []
    for column in columns:
        name, iso = split_column(column)
        entry = entries[name]
        x = sims[column].to_numpy(dtype=float)
        if w.sum() > 0:
            mean = float(np.sum(w * x))
            sd = float(np.sqrt(np.sum(w * (x - mean) ** 2)))
            qs = weighted_quantile(x, w, QUANTILES)
        else:
            mean, sd, qs = float("nan"), float("nan"), np.full(len(QUANTILES), np.nan)
        rows.append(
            {
                "parameter": name,
                "location": iso,
                "prior_mean": entry.dist_for(iso or None).mean(),
                "mean": mean,
                "sd": sd,
                **{f"q{100 * q:g}": float(v) for q, v in zip(QUANTILES, qs)},
                "best": float(x[best_idx]) if best_idx is not None else float("nan"),
                "ess": ess,
            }
        )
    return pd.DataFrame(rows)


def weights_summary(ll, temperature: float = 1.0) -> dict:
    """Effective sample size and best fit of a vector of log-likelihoods.

    Parameters
    ----------
    ll : array_like, shape (n_sims,)
        Log-likelihoods (natural log); non-finite values are failed simulations.
    temperature : float, optional
        Likelihood power of the weights.

    Returns
    -------
    dict
        ``n`` (simulations), ``n_finite``, ``ess`` (Kish effective sample size) and ``best_ll``
        (highest finite log-likelihood, or ``None``).
    """
    ll = np.asarray(ll, dtype=float)
    finite = np.isfinite(ll)
    return {
        "n": int(ll.size),
        "n_finite": int(finite.sum()),
        "ess": effective_sample_size(normalized_weights(ll, temperature)) if ll.size else 0.0,
        "best_ll": float(ll[finite].max()) if finite.any() else None,
    }

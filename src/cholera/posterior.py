"""Posterior summary: importance-weighted quantiles of every sampled parameter.

Weights are those of :mod:`cholera.weights` (likelihood to the power ``temperature``, prior as
proposal). For each parameter column the table gives the prior mean, the weighted mean and
standard deviation, the weighted 2.5/25/50/75/97.5 % quantiles
(:func:`cholera.weights.weighted_quantile`) and the value of the best simulation (highest
log-likelihood).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd

from cholera.priors import Priors
from cholera.weights import effective_sample_size, normalized_weights, weighted_quantile

__all__ = ["QUANTILES", "posterior_table", "split_column"]

QUANTILES = (0.025, 0.25, 0.5, 0.75, 0.975)


def split_column(column: str) -> tuple[str, str]:
    """``"beta_j0_hum[ETH]"`` -> ``("beta_j0_hum", "ETH")``; ``"rho"`` -> ``("rho", "")``."""
    if column.endswith("]") and "[" in column:
        name, _, iso = column[:-1].partition("[")
        return name, iso
    return column, ""


def posterior_table(sims: pd.DataFrame, priors: Priors, locations: Sequence[str], temperature: float = 1.0) -> pd.DataFrame:
    """One row per sampled parameter column of ``sims`` (rows as written by ``cholera.sim``).

    Columns: ``parameter, location, prior_mean, mean, sd, q2.5, q25, q50, q75, q97.5, best``.
    """
    columns = priors.columns(locations)
    missing = [c for c in columns if c not in sims.columns]
    if missing:
        raise ValueError(f"simulation rows lack parameter columns {missing}")
    w = normalized_weights(sims["ll"].to_numpy(dtype=float), temperature) if len(sims) else np.zeros(0)
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
            }
        )
    return pd.DataFrame(rows)


def weights_summary(ll, temperature: float = 1.0) -> dict:
    """``{"ess": ..., "n": ..., "n_finite": ..., "best_ll": ...}`` of a vector of log-likelihoods."""
    ll = np.asarray(ll, dtype=float)
    finite = np.isfinite(ll)
    return {
        "n": int(ll.size),
        "n_finite": int(finite.sum()),
        "ess": effective_sample_size(normalized_weights(ll, temperature)) if ll.size else 0.0,
        "best_ll": float(ll[finite].max()) if finite.any() else None,
    }

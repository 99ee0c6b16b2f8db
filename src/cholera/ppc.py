"""Posterior predictive check: choose draws, summarise their simulated series, plot them.

Draws are distinct simulations resampled with probability equal to their importance weight
(:func:`choose_draws`), using a generator seeded from the calibration seed (so the same
calibration picks the same draws). When the weight rests on fewer simulations than requested,
fewer draws are made and the calibration says so. Each draw is re-run with new stochastic
iterations (run ``ppc-NNN``); the check compares, per location:

- ``obs_total``: observed reported cases summed over the days with an observation;
- ``pred_q5 / pred_q50 / pred_q95``: 5/50/95 % quantiles, over draws x iterations, of the
  simulated reported cases summed over the same days;
- ``coverage_90``: fraction of observed days whose count lies inside the daily 5-95 %
  predictive band (about 0.9 for a well-calibrated model; much lower means the model misses).
"""

from __future__ import annotations

import io
from typing import Sequence

import numpy as np
import pandas as pd

__all__ = ["DRAWS_PER_PICK", "choose_draws", "ppc_summary", "ppc_band", "plot_ppc"]

_PPC_STREAM = 0x70706300  # "ppc" tag mixed into the calibration seed


#: draws with replacement made per requested simulation when looking for distinct ones
DRAWS_PER_PICK = 100


def choose_draws(weights, n: int, seed: int) -> list[int]:
    """Indices of up to ``n`` distinct simulations, resampled by importance weight.

    Simulations are drawn with replacement with probability equal to their weight, at most
    ``DRAWS_PER_PICK * n`` times, and the first ``n`` distinct ones are kept (in draw order).
    When the weight rests on fewer simulations (effective sample size near 1), fewer than ``n``
    come back: the caller must say so rather than re-run one simulation ``n`` times.

    Parameters
    ----------
    weights : array_like, shape (n_sims,)
        Importance weights (any scale; zero for failed simulations).
    n : int
        Distinct simulations wanted.
    seed : int
        Calibration seed; the same calibration picks the same simulations.

    Returns
    -------
    list of int
        Distinct indices into ``weights`` (empty when ``n <= 0`` or every weight is zero).
    """
    w = np.asarray(weights, dtype=float)
    if n <= 0 or w.sum() <= 0:
        return []
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), _PPC_STREAM]))
    draws = rng.choice(w.size, size=DRAWS_PER_PICK * n, replace=True, p=w / w.sum())
    return list(dict.fromkeys(int(i) for i in draws))[:n]


def ppc_band(series: pd.DataFrame) -> pd.DataFrame:
    """Daily 5/50/95 % simulated reported cases per location, with the observation.

    Parameters
    ----------
    series : pandas.DataFrame
        The long tables written by :func:`cholera.sim.predict`, several draws concatenated
        (``location, date, iteration, sim_cases, obs_cases``, a ``draw`` column).

    Returns
    -------
    pandas.DataFrame
        ``location, date, q5, q50, q95, obs_cases`` (people/day).
    """
    grouped = series.groupby(["location", "date"], sort=True)
    band = grouped["sim_cases"].quantile([0.05, 0.5, 0.95]).unstack()
    band.columns = ["q5", "q50", "q95"]
    band["obs_cases"] = grouped["obs_cases"].first()
    return band.reset_index()


def ppc_summary(series: pd.DataFrame) -> pd.DataFrame:
    """Per-location comparison of observed and posterior-predictive reported cases.

    Parameters
    ----------
    series : pandas.DataFrame
        As for :func:`ppc_band`.

    Returns
    -------
    pandas.DataFrame
        ``location, obs_days, obs_total, pred_q5, pred_q50, pred_q95, coverage_90`` (totals in
        people over the observed days; coverage a fraction, see the module docstring).
    """
    band = ppc_band(series)
    rows = []
    for iso, sub in band.groupby("location", sort=False):
        observed = sub["obs_cases"].notna()
        obs_days = set(sub.loc[observed, "date"])
        s = series[(series["location"] == iso) & series["date"].isin(obs_days)]
        totals = s.groupby(["draw", "iteration"])["sim_cases"].sum() if len(s) else pd.Series([np.nan])
        inside = (sub.loc[observed, "obs_cases"] >= sub.loc[observed, "q5"]) & (
            sub.loc[observed, "obs_cases"] <= sub.loc[observed, "q95"]
        )
        rows.append(
            {
                "location": iso,
                "obs_days": int(observed.sum()),
                "obs_total": float(sub.loc[observed, "obs_cases"].sum()),
                "pred_q5": float(np.quantile(totals, 0.05)),
                "pred_q50": float(np.quantile(totals, 0.5)),
                "pred_q95": float(np.quantile(totals, 0.95)),
                "coverage_90": float(inside.mean()) if observed.any() else float("nan"),
            }
        )
    return pd.DataFrame(rows)


def plot_ppc(series: pd.DataFrame, locations: Sequence[str], title: str = "") -> bytes:
    """PNG of observed vs posterior-predictive daily reported cases, one panel per location.

    Parameters
    ----------
    series : pandas.DataFrame
        As for :func:`ppc_band`.
    locations : sequence of str
        ISO3 codes, one panel each, in this order.
    title : str, optional
        Figure title.

    Returns
    -------
    bytes
        The PNG file.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    band = ppc_band(series)
    n = len(locations)
    fig = Figure(figsize=(9, 2.8 * n), dpi=100)
    FigureCanvasAgg(fig)
    axes = fig.subplots(n, 1, squeeze=False)[:, 0]
    for ax, iso in zip(axes, locations):
        sub = band[band["location"] == iso]
        dates = pd.to_datetime(sub["date"])
        ax.fill_between(dates, sub["q5"], sub["q95"], color="tab:blue", alpha=0.25, label="posterior predictive 5-95%")
        ax.plot(dates, sub["q50"], color="tab:blue", lw=1.2, label="posterior predictive median")
        ax.plot(dates, sub["obs_cases"], "k.", ms=3, label="observed")
        ax.set_title(iso)
        ax.set_ylabel("reported cases / day")
        if sub["obs_cases"].notna().sum() == 0:
            ax.text(0.01, 0.9, "no observations in the bundled data", transform=ax.transAxes, fontsize=8)
    axes[0].legend(loc="best", fontsize=8, framealpha=0.8)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()

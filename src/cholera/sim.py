"""runfleet run functions: one calibration simulation, one posterior-predictive draw.

Both run on a worker, write their outputs under ``ctx.out`` and return only a small dict, so the
driver never holds simulated time series.

``simulate`` writes ``sim.parquet``: exactly one row per simulation with the columns

=================  ======================================================================
sim, sim_index     run name (``sim-000123``) and index
seed               the run's seed (``ctx.seed``: study seed + run name)
iteration_seeds    model seed of every stochastic iteration (list<int64>)
<prior columns>    one float column per sampled parameter (``rho``, ``beta_j0_hum[ETH]``...)
log_prior          log prior density of the draw (natural log)
ll                 log-likelihood: log-mean-exp of ``ll_iter`` (natural log)
ll_iter            log-likelihood of every iteration (list<double>)
locations, days    calibrated ISO3 codes (comma-separated) and simulated days
n_iter             number of stochastic iterations
wall_s, model_s    seconds in the whole run / inside laser-cholera
started_at, host   UTC start time (ISO 8601) and worker host name
=================  ======================================================================
"""

from __future__ import annotations

import socket
import time
from datetime import datetime, timezone
from functools import lru_cache
from typing import Any, Sequence

import numpy as np
import pandas as pd

from cholera.errors import CholeraError
from cholera.likelihood import LikelihoodSettings, iteration_loglik, log_mean_exp
from cholera.model import ModelInputs, apply_overrides, build_inputs, iteration_seeds, run_iterations
from cholera.priorstore import run_priors

__all__ = ["simulate", "predict", "RESERVED_COLUMNS", "SIM_FILE", "SERIES_FILE"]

SIM_FILE = "sim.parquet"
SERIES_FILE = "series.parquet"

#: columns of ``sim.parquet`` that are not prior draws; prior names must avoid them
RESERVED_COLUMNS = (
    "sim", "sim_index", "seed", "iteration_seeds", "log_prior", "ll", "ll_iter", "locations",
    "days", "n_iter", "wall_s", "model_s", "started_at", "host",
)


@lru_cache(maxsize=4)
def _inputs(locations: tuple[str, ...], days: int | None) -> ModelInputs:
    # one parse of the bundled parameters per worker process and calibration setting
    return build_inputs(list(locations), days)


def _score(inputs: ModelInputs, series, settings: LikelihoodSettings) -> list[float]:
    return [
        iteration_loglik(
            inputs.observed_cases,
            inputs.observed_deaths,
            series.reported_cases[i],
            series.reported_deaths[i],
            settings,
        )
        for i in range(series.reported_cases.shape[0])
    ]


def simulate(
    ctx,
    locations: Sequence[str],
    priors: dict | str,
    n_iter: int = 3,
    days: int | None = None,
    likelihood: dict | None = None,
    sim_index: int | None = None,
    study_seed: int | None = None,
    overrides: dict | None = None,
) -> dict[str, Any]:
    """One calibration simulation (a runfleet run function).

    Draws one parameter set from ``priors`` with ``ctx.rng``, runs ``n_iter`` stochastic
    iterations of laser-cholera with seeds derived from ``ctx.seed``
    (:func:`cholera.model.iteration_seeds`), scores each against the observed reported cases and
    deaths (:mod:`cholera.likelihood`) and collapses them by log-mean-exp.

    Parameters
    ----------
    ctx : runfleet.RunContext
        The run's context (``rng``, ``seed``, ``write_parquet``, ``log``).
    locations : sequence of str
        ISO3 codes to simulate.
    priors : dict or str
        The priors' reference ``sha256:...`` (what a calibration submits: the priors are stored
        once, :mod:`cholera.priorstore`) or their mapping form
        (:meth:`cholera.priors.Priors.to_dict`). Either way parsed once per worker process.
    n_iter : int, optional
        Stochastic iterations per parameter set.
    days : int, optional
        Simulated days from the start of the bundled period (``None``: all).
    likelihood : dict, optional
        :class:`cholera.likelihood.LikelihoodSettings` as a mapping.
    sim_index : int, optional
        Index of the simulation in the calibration (written to the row).
    study_seed : int, optional
        The calibration seed; only part of the run's identity (runfleet's content key), so a
        calibration with another seed never reuses these results.
    overrides : dict, optional
        laser-cholera parameter values replacing the bundled ones before the draw is applied
        (:func:`cholera.model.apply_overrides`; from an R ``config``).

    Returns
    -------
    dict
        ``{"ll": float, "log_prior": float}`` (natural logs). The drawn parameters are only in
        ``sim.parquet``: the driver keeps no per-simulation parameters (10,000 simulations of 40
        locations would be 830,000 Python floats there).

    Raises
    ------
    AssertionError
        laser-cholera's parameter validation rejects the draw (e.g. ``rho`` > 1); runfleet
        records the run as failed and the calibration continues. Other exceptions of the model
        propagate the same way.
    FloatingPointError
        The log-likelihood is not finite.
    """
    t0 = time.perf_counter()
    started = datetime.now(timezone.utc).isoformat(timespec="seconds")
    locations = tuple(locations)
    inputs = _inputs(locations, days)
    prior_set = run_priors(ctx, priors)
    settings = LikelihoodSettings.from_dict(likelihood)

    draw = prior_set.sample(ctx.rng, locations)
    log_prior = prior_set.log_density(draw, locations)
    params = prior_set.apply(draw, apply_overrides(inputs.params, overrides), locations)
    seeds = iteration_seeds(ctx.seed, n_iter)
    ctx.log.info("sim %s seed %d draw %s", ctx.name, ctx.seed, draw)

    t_model = time.perf_counter()
    series = run_iterations(params, seeds)
    model_s = time.perf_counter() - t_model

    ll_iter = _score(inputs, series, settings)
    ll = log_mean_exp(ll_iter)
    if not np.isfinite(ll):
        raise FloatingPointError(f"log-likelihood is {ll} for draw {draw}")
    ctx.log.info("sim %s ll %.3f (iterations %s)", ctx.name, ll, ["%.3f" % x for x in ll_iter])

    row: dict[str, Any] = {
        "sim": ctx.name,
        "sim_index": -1 if sim_index is None else int(sim_index),
        "seed": int(ctx.seed),
        "iteration_seeds": [list(seeds)],
        **{column: [float(value)] for column, value in draw.items()},
        "log_prior": float(log_prior),
        "ll": float(ll),
        "ll_iter": [[float(x) for x in ll_iter]],
        "locations": ",".join(locations),
        "days": int(inputs.days),
        "n_iter": int(n_iter),
        "model_s": float(model_s),
        "started_at": started,
        "host": socket.gethostname(),
    }
    row["wall_s"] = float(time.perf_counter() - t0)
    ctx.write_parquet(pd.DataFrame({k: v if isinstance(v, list) else [v] for k, v in row.items()}), SIM_FILE)
    return {"ll": float(ll), "log_prior": float(log_prior)}  # the draw is in sim.parquet: not on the driver


def predict(
    ctx,
    locations: Sequence[str],
    params: dict,
    priors: dict | str,
    n_iter: int = 3,
    days: int | None = None,
    likelihood: dict | None = None,
    source_sim: str | None = None,
    study_seed: int | None = None,
    overrides: dict | None = None,
) -> dict[str, Any]:
    """One posterior-predictive draw (a runfleet run function).

    Runs ``n_iter`` new stochastic iterations (seeds from ``ctx.seed``) with the given parameter
    values (``{column: value}`` as written by :func:`simulate`) and writes ``series.parquet`` in
    long form: ``location, date, iteration, sim_cases, sim_deaths, obs_cases, obs_deaths``
    (people/day; observations NaN where missing).

    Parameters
    ----------
    ctx : runfleet.RunContext
        The run's context.
    locations : sequence of str
        ISO3 codes to simulate.
    params : dict
        Parameter values ``{column: value}`` of the simulation being re-run.
    priors : dict or str
        The priors' reference or mapping, as in :func:`simulate` (to map columns onto model
        parameters).
    n_iter, days, likelihood, study_seed, overrides
        As in :func:`simulate`.
    source_sim : str, optional
        Name of the simulation the values come from (recorded).

    Returns
    -------
    dict
        ``{"ll": float, "source_sim": str, "sim_cases_total": {iso: mean over iterations}}``
        (cases in people over the simulated period).

    Raises
    ------
    CholeraError
        ``params`` lacks a column of ``priors``.
    """
    locations = tuple(locations)
    inputs = _inputs(locations, days)
    prior_set = run_priors(ctx, priors)
    missing = [c for c in prior_set.columns(locations) if c not in params]
    if missing:
        raise CholeraError(f"predict: parameter values missing for {missing}")
    model_params = prior_set.apply(params, apply_overrides(inputs.params, overrides), locations)
    seeds = iteration_seeds(ctx.seed, n_iter)
    series = run_iterations(model_params, seeds)
    ll_iter = _score(inputs, series, LikelihoodSettings.from_dict(likelihood))

    n_loc, n_days = len(locations), inputs.days
    frame = pd.DataFrame(
        {
            "location": np.tile(np.repeat(np.array(locations, dtype=object), n_days), n_iter),
            "date": np.tile(np.tile(inputs.dates(), n_loc), n_iter),
            "iteration": np.repeat(np.arange(n_iter), n_loc * n_days),
            "sim_cases": series.reported_cases.reshape(-1),
            "sim_deaths": series.reported_deaths.reshape(-1),
            "obs_cases": np.tile(inputs.observed_cases.reshape(-1), n_iter),
            "obs_deaths": np.tile(inputs.observed_deaths.reshape(-1), n_iter),
        }
    )
    ctx.write_parquet(frame, SERIES_FILE)
    totals = series.reported_cases.sum(axis=2).mean(axis=0)
    return {
        "ll": float(log_mean_exp(ll_iter)),
        "source_sim": source_sim or "",
        "sim_cases_total": {iso: float(t) for iso, t in zip(locations, totals)},
    }

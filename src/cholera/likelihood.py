"""Likelihood of observed reported cholera cases and deaths given a simulation.

Observation model
-----------------
Each observed daily count ``y[j, t]`` (reported cases, or reported deaths, in location ``j`` on
day ``t``; unit: people per day) is modelled as a negative-binomial draw around the simulated
count ``mu[j, t]`` of the same quantity (laser-cholera's ``results.reported_cases`` and
``results.reported_deaths``, which already include the reporting rate ``rho`` and the reporting
lag):

    y ~ NegBin(mean = mu, size = k),     Var[y] = mu + mu**2 / k

with the log probability mass

    log p(y | mu, k) = lgamma(y + k) - lgamma(k) - lgamma(y + 1)
                       + k * log(k / (k + mu)) + y * log(mu / (k + mu)).

``k`` (dimensionless, > 0) is the dispersion ("size") parameter: small ``k`` allows
overdispersed reporting noise, ``k -> inf`` recovers the Poisson. This is the parameterisation
of R's ``dnbinom(y, size = k, mu = mu)`` and of Lindén & Mäntyniemi (2011), "Using the negative
binomial distribution to model overdispersion in ecological count data", Ecology 92(7).

Simulated means are floored at ``mu_floor`` (default 1e-6 people/day) so that a positive
observation on a day with zero simulated cases is very unlikely but not impossible
(``log p`` stays finite and simulations can still be ranked).

Missing observations (NaN, as in the bundled surveillance series where a country did not
report) contribute nothing. The log-likelihood of one stochastic iteration is the sum over
locations and days of the cases term plus the deaths term (each with its own weight).

Stochastic iterations of one parameter set are combined by :func:`log_mean_exp`, i.e. the log
of the Monte-Carlo estimate of the marginal likelihood ``p(y | theta) ~ mean_i p(y | sim_i)``
(the estimator used by MOSAIC and by pseudo-marginal methods; Andrieu & Roberts 2009,
Ann. Statist. 37(2)).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import gammaln

__all__ = [
    "LikelihoodSettings",
    "negbin_logpmf",
    "negbin_loglik",
    "iteration_loglik",
    "log_mean_exp",
]


@dataclass(frozen=True)
class LikelihoodSettings:
    """Settings of the observation model.

    Parameters
    ----------
    k_cases : float
        Negative-binomial size for reported cases (dimensionless, > 0).
    k_deaths : float
        Negative-binomial size for reported deaths (dimensionless, > 0).
    weight_cases : float
        Multiplier of the cases log-likelihood (dimensionless, >= 0).
    weight_deaths : float
        Multiplier of the deaths log-likelihood (dimensionless, >= 0).
    mu_floor : float
        Lower bound applied to simulated daily counts (people/day, > 0).

    Raises
    ------
    ValueError
        A setting out of its range (the message names it).

    References
    ----------
    Lindén, A. & Mäntyniemi, S. (2011). Using the negative binomial distribution to model
    overdispersion in ecological count data. Ecology 92(7), 1414-1421.
    """

    k_cases: float = 5.0
    k_deaths: float = 5.0
    weight_cases: float = 1.0
    weight_deaths: float = 1.0
    mu_floor: float = 1e-6

    def __post_init__(self) -> None:
        for field in ("k_cases", "k_deaths", "mu_floor"):
            value = getattr(self, field)
            if not (np.isfinite(value) and value > 0):
                raise ValueError(f"likelihood: {field} must be a positive number, got {value!r}")
        for field in ("weight_cases", "weight_deaths"):
            value = getattr(self, field)
            if not (np.isfinite(value) and value >= 0):
                raise ValueError(f"likelihood: {field} must be a non-negative number, got {value!r}")

    def to_dict(self) -> dict:
        """The settings as a plain mapping of floats (JSON-able; :meth:`from_dict` reads it)."""
        return {
            "k_cases": float(self.k_cases),
            "k_deaths": float(self.k_deaths),
            "weight_cases": float(self.weight_cases),
            "weight_deaths": float(self.weight_deaths),
            "mu_floor": float(self.mu_floor),
        }

    @classmethod
    def from_dict(cls, data: dict | None) -> "LikelihoodSettings":
        """Settings from a mapping (``None``: the defaults).

        Parameters
        ----------
        data : dict or None
            Field name -> number; missing fields keep their defaults.

        Returns
        -------
        LikelihoodSettings

        Raises
        ------
        ValueError
            An unknown field or a value out of range.
        """
        data = dict(data or {})
        unknown = set(data) - set(cls.__dataclass_fields__)
        if unknown:
            raise ValueError(f"likelihood: unknown setting(s) {sorted(unknown)}")
        return cls(**{k: float(v) for k, v in data.items()})


def negbin_logpmf(y, mu, k: float, mu_floor: float = 1e-6) -> np.ndarray:
    """Element-wise negative-binomial log pmf ``log p(y | mu, k)`` (natural log).

    Parameters
    ----------
    y : array_like
        Observed counts (people/day); NaN marks a missing observation.
    mu : array_like
        Simulated mean counts (people/day), broadcastable to ``y``; floored at ``mu_floor``.
    k : float
        Size (dispersion) parameter, > 0.
    mu_floor : float, optional
        Lower bound for ``mu`` (people/day).

    Returns
    -------
    numpy.ndarray
        Log probabilities, NaN where ``y`` is NaN.

    References
    ----------
    R's ``dnbinom(y, size = k, mu = mu, log = TRUE)``.
    """
    y = np.asarray(y, dtype=float)
    mu = np.maximum(np.asarray(mu, dtype=float), mu_floor)
    k = float(k)
    log_denominator = np.log(k + mu)
    return (
        gammaln(y + k)
        - gammaln(k)
        - gammaln(y + 1.0)
        + k * (np.log(k) - log_denominator)
        + y * (np.log(mu) - log_denominator)
    )


def negbin_loglik(y, mu, k: float, mu_floor: float = 1e-6) -> float:
    """Sum of :func:`negbin_logpmf` over all non-missing observations.

    Parameters
    ----------
    y, mu, k, mu_floor
        As in :func:`negbin_logpmf`; NaN entries of ``y`` are skipped.

    Returns
    -------
    float
        Log-likelihood (natural log).
    """
    values = negbin_logpmf(y, mu, k, mu_floor)
    observed = ~np.isnan(np.asarray(y, dtype=float))
    return float(np.sum(values[np.broadcast_to(observed, values.shape)]))


def iteration_loglik(
    obs_cases,
    obs_deaths,
    sim_cases,
    sim_deaths,
    settings: LikelihoodSettings | None = None,
) -> float:
    """Log-likelihood of one stochastic iteration (natural log).

    Parameters
    ----------
    obs_cases, obs_deaths : array_like, shape (locations, days)
        Observed reported cases / deaths (people/day), NaN where missing.
    sim_cases, sim_deaths : array_like, shape (locations, days)
        Simulated reported cases / deaths (people/day).
    settings : LikelihoodSettings, optional
        Observation-model settings (default: :class:`LikelihoodSettings`).

    Returns
    -------
    float
        ``weight_cases * LL(cases) + weight_deaths * LL(deaths)``.

    Raises
    ------
    ValueError
        Observed and simulated shapes differ.
    """
    s = settings or LikelihoodSettings()
    for name, obs, sim in (("cases", obs_cases, sim_cases), ("deaths", obs_deaths, sim_deaths)):
        if np.shape(obs) != np.shape(sim):
            raise ValueError(f"likelihood: observed {name} shape {np.shape(obs)} != simulated {np.shape(sim)}")
    total = 0.0
    if s.weight_cases:
        total += s.weight_cases * negbin_loglik(obs_cases, sim_cases, s.k_cases, s.mu_floor)
    if s.weight_deaths:
        total += s.weight_deaths * negbin_loglik(obs_deaths, sim_deaths, s.k_deaths, s.mu_floor)
    return float(total)


def log_mean_exp(values) -> float:
    """``log(mean(exp(values)))`` computed stably (natural log).

    Collapses the log-likelihoods of ``n`` stochastic iterations into the log of their mean
    likelihood. NaN entries (an iteration whose likelihood could not be computed) count as
    ``-inf`` (zero likelihood) but still count in ``n``.

    Parameters
    ----------
    values : array_like
        Log-likelihoods (natural log).

    Returns
    -------
    float
        ``-inf`` when every entry is ``-inf`` or NaN.

    Raises
    ------
    ValueError
        ``values`` is empty.

    References
    ----------
    Andrieu, C. & Roberts, G. O. (2009). The pseudo-marginal approach for efficient Monte Carlo
    computations. Ann. Statist. 37(2), 697-725.
    """
    x = np.asarray(values, dtype=float).ravel()
    if x.size == 0:
        raise ValueError("log_mean_exp of an empty sequence")
    x = np.where(np.isnan(x), -np.inf, x)
    top = np.max(x)
    if not np.isfinite(top):
        return float(top)  # -inf (all zero likelihood) or +inf
    return float(top + np.log(np.mean(np.exp(x - top))))

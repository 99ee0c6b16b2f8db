"""Importance weights, effective sample size and weighted quantiles.

Simulations draw their parameters from the prior, so the importance weight of simulation ``i``
(prior as proposal, target the posterior) is its likelihood:

    log w_i = lambda * ll_i + log prior(theta_i) - log q(theta_i) = lambda * ll_i      (q = prior)

``lambda`` (``temperature`` below, default 1) is an optional likelihood power: ``lambda = 1`` is
the Bayesian posterior; ``lambda < 1`` flattens it (a "power posterior", Friel & Pettitt 2008,
JRSS-B 70(3)), useful when the exact posterior would rest on one or two simulations.
Failed simulations have weight 0.

The effective sample size of normalised weights ``w`` is Kish's ``(sum w)**2 / sum w**2``
(Kong, Liu & Wong 1994, JASA 89(425)); it is 1 when one simulation carries all the weight and
``n`` when all weights are equal.
"""

from __future__ import annotations

import numpy as np

__all__ = ["normalized_weights", "effective_sample_size", "weighted_quantile", "top_k_mean"]


def normalized_weights(ll, temperature: float = 1.0, log_prior=None, log_proposal=None) -> np.ndarray:
    """Normalised importance weights (sum 1) from log-likelihoods.

    Parameters
    ----------
    ll : array_like, shape (n_sims,)
        Log-likelihoods (natural log); non-finite values (failed simulations) get weight 0.
    temperature : float, optional
        Likelihood power ``lambda`` (> 0; 1 is the posterior).
    log_prior, log_proposal : array_like, optional
        Log densities of the draws under the prior and the proposal (omit both when the
        proposal is the prior).

    Returns
    -------
    numpy.ndarray, shape (n_sims,)
        Weights summing to 1, or all zeros if no ``ll`` is finite.

    Raises
    ------
    ValueError
        ``temperature`` is not > 0.

    References
    ----------
    Friel, N. & Pettitt, A. N. (2008). Marginal likelihood estimation via power posteriors.
    JRSS-B 70(3), 589-607.
    """
    if not temperature > 0:
        raise ValueError(f"temperature must be > 0, got {temperature}")
    ll = np.asarray(ll, dtype=float)
    logw = temperature * ll
    if log_prior is not None:
        logw = logw + np.asarray(log_prior, dtype=float)
    if log_proposal is not None:
        logw = logw - np.asarray(log_proposal, dtype=float)
    finite = np.isfinite(logw)
    w = np.zeros_like(logw)
    if finite.any():
        w[finite] = np.exp(logw[finite] - logw[finite].max())
        w /= w.sum()
    return w


def effective_sample_size(weights) -> float:
    """Kish effective sample size ``(sum w)^2 / sum w^2``.

    Parameters
    ----------
    weights : array_like
        Importance weights (any scale).

    Returns
    -------
    float
        Between 1 (one simulation carries all the weight) and ``n`` (equal weights); 0 for an
        empty or all-zero vector.

    References
    ----------
    Kong, A., Liu, J. S. & Wong, W. H. (1994). Sequential imputations and Bayesian missing data
    problems. JASA 89(425), 278-288.
    """
    w = np.asarray(weights, dtype=float)
    s2 = float(np.sum(w**2))
    return float(np.sum(w) ** 2 / s2) if s2 > 0 else 0.0


def weighted_quantile(values, weights, q) -> np.ndarray:
    """Quantiles ``q`` (in [0, 1]) of ``values`` under ``weights`` (inverse of the weighted CDF).

    The ``q`` quantile is the smallest value whose cumulative normalised weight reaches ``q``
    (Hyndman & Fan 1996 type 1; numpy ``method="inverted_cdf"`` when weights are equal). A
    value that carries nearly all the weight is returned for every ``q``, as a point-mass
    posterior should be. Zero-weight and non-finite values are ignored.

    Parameters
    ----------
    values : array_like, shape (n,)
        Values (any unit).
    weights : array_like, shape (n,)
        Non-negative weights.
    q : float or array_like
        Probabilities in [0, 1].

    Returns
    -------
    numpy.ndarray
        Quantiles in the unit of ``values``, shaped like ``q`` (NaN when no weight is positive).

    Raises
    ------
    ValueError
        ``values`` and ``weights`` differ in shape.

    References
    ----------
    Hyndman, R. J. & Fan, Y. (1996). Sample quantiles in statistical packages. The American
    Statistician 50(4), 361-365.
    """
    x = np.asarray(values, dtype=float)
    w = np.asarray(weights, dtype=float)
    if x.shape != w.shape:
        raise ValueError(f"values shape {x.shape} != weights shape {w.shape}")
    keep = (w > 0) & np.isfinite(x)
    if not keep.any():
        return np.full(np.shape(q), np.nan)
    x, w = x[keep], w[keep]
    order = np.argsort(x, kind="stable")
    x, w = x[order], w[order]
    cdf = np.cumsum(w) / w.sum()
    idx = np.searchsorted(cdf, np.asarray(q, dtype=float) - 1e-12, side="left")
    return x[np.minimum(idx, x.size - 1)]


def top_k_mean(ll, k: int) -> float:
    """Mean of the ``k`` largest finite log-likelihoods (the "best-fit set").

    Parameters
    ----------
    ll : array_like
        Log-likelihoods (natural log).
    k : int
        Size of the best-fit set.

    Returns
    -------
    float
        NaN when no log-likelihood is finite.
    """
    ll = np.asarray(ll, dtype=float)
    ll = ll[np.isfinite(ll)]
    if ll.size == 0:
        return float("nan")
    k = min(int(k), ll.size)
    return float(np.mean(np.sort(ll)[-k:]))

"""The stopping rule of the adaptive calibration, evaluated at batch boundaries.

After batch ``b`` and every batch before it have finished (``n = (b + 1) * batch`` simulations,
failed ones with zero weight), the calibration stops when the first of these holds:

1. ``ess``: the effective sample size of the importance weights
   (:func:`cholera.weights.effective_sample_size` of :func:`cholera.weights.normalized_weights`)
   is at least ``ess_target``;
2. ``plateau``: the best-fit set stopped improving: the mean log-likelihood of the ``top_k``
   best simulations rose by less than ``tol`` over the last ``patience`` batches;
3. ``cap``: ``n`` reached the cap ``sims``.

The rule only sees whole prefixes of batches, never completion order, so the stopping batch is
the same for any number of workers and on every resume.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from cholera.weights import effective_sample_size, normalized_weights, top_k_mean

__all__ = ["BatchCheck", "check_batch"]


@dataclass(frozen=True)
class BatchCheck:
    """The rule's view after one batch boundary.

    Attributes
    ----------
    batch : int
        0-based batch index.
    n_sims : int
        Simulations in batches ``0..batch``.
    n_failed : int
        Failed simulations among them.
    ess : float
        Effective sample size of the importance weights.
    top_k_mean : float
        Mean log-likelihood of the best-fit set (natural log).
    best_ll : float
        Highest log-likelihood (NaN when none succeeded).
    stop : {"ess", "plateau", "cap"} or None
        The rule that holds, if any.
    """

    batch: int
    n_sims: int
    n_failed: int
    ess: float
    top_k_mean: float
    best_ll: float
    stop: str | None  # "ess" | "plateau" | "cap" | None

    def to_dict(self) -> dict:
        """Plain mapping for ``calibration.json`` (non-finite numbers as ``None``)."""
        out = asdict(self)
        for key in ("ess", "top_k_mean", "best_ll"):
            out[key] = None if not np.isfinite(out[key]) else float(out[key])
        return out


def check_batch(
    batch: int,
    ll: np.ndarray,
    history: list[BatchCheck],
    *,
    cap: int,
    ess_target: float,
    top_k: int,
    patience: int,
    tol: float,
    temperature: float = 1.0,
) -> BatchCheck:
    """Evaluate the stopping rule after batch ``batch`` (see the module docstring).

    Parameters
    ----------
    batch : int
        0-based index of the batch that completed the prefix.
    ll : numpy.ndarray, shape (n_sims,)
        Log-likelihoods of batches ``0..batch`` in simulation order (NaN / -inf: failed).
    history : list of BatchCheck
        Checks of the earlier batches (for the plateau rule).
    cap : int
        Cap on the number of simulations.
    ess_target : float
        Effective sample size that stops the calibration.
    top_k : int
        Size of the best-fit set.
    patience : int
        Batches over which the best-fit set must improve by ``tol`` (0: rule off).
    tol : float
        Improvement threshold (natural-log units).
    temperature : float, optional
        Likelihood power of the weights.

    Returns
    -------
    BatchCheck
        With ``stop`` set when a rule holds.
    """
    ll = np.asarray(ll, dtype=float)
    finite = np.isfinite(ll)
    ess = effective_sample_size(normalized_weights(ll, temperature))
    top = top_k_mean(ll, top_k)
    best = float(ll[finite].max()) if finite.any() else float("nan")
    stop = None
    if ess >= ess_target:
        stop = "ess"
    elif patience > 0 and len(history) >= patience and np.isfinite(top):
        earlier = history[-patience].top_k_mean
        if np.isfinite(earlier) and top - earlier < tol:
            stop = "plateau"
    if stop is None and ll.size >= cap:
        stop = "cap"
    return BatchCheck(batch, int(ll.size), int((~finite).sum()), float(ess), top, best, stop)

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
    """The rule's view after one batch boundary."""

    batch: int
    n_sims: int
    n_failed: int
    ess: float
    top_k_mean: float
    best_ll: float
    stop: str | None  # "ess" | "plateau" | "cap" | None

    def to_dict(self) -> dict:
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
    """Evaluate the rule on the log-likelihoods ``ll`` of batches ``0..batch`` (NaN/-inf = failed)."""
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

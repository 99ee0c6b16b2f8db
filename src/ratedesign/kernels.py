"""The math of one CAIRO-style run on dense arrays (spec S2, S4-S9).

Shapes: ``n`` buildings, ``H`` hours (8760 for a year), ``M`` billing months, ``P`` tariff periods,
``T`` tiers. Loads are kWh per hour (float64), prices $/kWh, bills $ per month, weights are
customers per building. Every function is plain numpy and knows nothing about files or Dask.
"""

from __future__ import annotations

import numpy as np

from ratedesign.calendar import HourCalendar
from ratedesign.tariff import Tariff

# ----------------------------------------------------------------------------------------- S2


def system_demand(net: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """D_h = sum_i w_i net_{i,h}: weighted system demand in kWh per hour, shape (H,)."""
    return np.asarray(weights, dtype=float) @ np.asarray(net, dtype=float)


# ----------------------------------------------------------------------------------------- S4


def period_of_hour(cal: HourCalendar, tariff: Tariff) -> np.ndarray:
    """0-based tariff period of every hour, shape (H,): weekday or weekend 12x24 schedule."""
    wk = tariff.weekday_schedule[cal.month, cal.hour_of_day]
    we = tariff.weekend_schedule[cal.month, cal.hour_of_day]
    return np.where(cal.is_weekday, wk, we)


def month_period_indicator(cal: HourCalendar, period: np.ndarray, n_periods: int) -> np.ndarray:
    """0/1 matrix (H, M*P): column m*P + p is 1 for the hours of month m in period p."""
    g = cal.month * n_periods + np.asarray(period)
    ind = np.zeros((cal.n_hours, cal.n_months * n_periods))
    ind[np.arange(cal.n_hours), g] = 1.0
    return ind


def demand_by_month_period(loads: np.ndarray, indicator: np.ndarray, n_months: int,
                           n_periods: int) -> np.ndarray:
    """Q_{i,m,p} = sum of kWh over hours of month m in period p, shape (n, M, P) (one matmul)."""
    q = np.asarray(loads, dtype=float) @ indicator
    return q.reshape(q.shape[0], n_months, n_periods)


def split_tiers(q_mp: np.ndarray, tier_max: np.ndarray) -> np.ndarray:
    """Tier split of monthly period kWh by cumulative ceilings (spec S4, **[inferred]**).

    Q_{m,p,t} = min(Q_{m,p}, max_t) - min(Q_{m,p}, max_{t-1}) with max_0 = 0 and max = inf for an
    unbounded tier, i.e. clip(Q - max_{t-1}, 0, max_t - max_{t-1}). Negative kWh (no floor) stay in
    tier 1. Shapes: q_mp (n, M, P), tier_max (P, T) kWh/month -> (n, M, P, T).
    """
    cum = np.minimum(q_mp[..., None], tier_max)  # (n, M, P, T)
    if tier_max.shape[1] == 1:
        return cum
    out = cum.copy()
    out[..., 1:] -= cum[..., :-1]
    return out


def group_sums(loads: np.ndarray, group: np.ndarray, n_groups: int) -> np.ndarray:
    """sum of kWh over the hours of each group, shape (n, n_groups); ``group`` (H,) in 0..n_groups-1.

    Same result as ``loads @ indicator`` without a BLAS matrix product (whose threads spin on a
    busy machine): hours are ordered by group once and added with ``np.add.reduceat``.
    """
    x = np.asarray(loads, dtype=float)
    g = np.asarray(group, dtype=np.int64)
    order = np.argsort(g, kind="stable")
    gs = g[order]
    present = np.unique(gs)
    starts = np.searchsorted(gs, present)
    out = np.zeros((x.shape[0], int(n_groups)))
    if x.shape[0] and present.size:
        out[:, present] = np.add.reduceat(x[:, order], starts, axis=1)
    return out


def demand_by_tou(loads: np.ndarray, cal: HourCalendar, tariff: Tariff) -> np.ndarray:
    """Q_{i,m,p,t} in kWh for buildings on ``tariff``, shape (n, M, P, T)."""
    per = period_of_hour(cal, tariff)
    n_p = tariff.n_periods
    q = group_sums(loads, cal.month * n_p + per, cal.n_months * n_p)
    q_mp = q.reshape(q.shape[0], cal.n_months, n_p)
    return split_tiers(q_mp, tariff.billing_tier_max())


def weighted_tier_sum(q_mpt: np.ndarray, price: np.ndarray) -> np.ndarray:
    """sum_{p,t} Q_{i,m,p,t} * price_{p,t}, shape (n, M); price in $/kWh gives $ per month."""
    return np.einsum("impt,pt->im", q_mpt, price)


def energy_charges(q_mpt: np.ndarray, tariff: Tariff) -> np.ndarray:
    """E_{i,m} = sum_{p,t} Q_{i,m,p,t} (rate + adj)_{p,t} in $ per month, shape (n, M)."""
    return weighted_tier_sum(q_mpt, tariff.price)


def unity_energy(q_mpt: np.ndarray, rel: np.ndarray) -> np.ndarray:
    """Monthly unity bills U_{i,m} = sum_{p,t} Q_{i,m,p,t} rel_{p,t} (kWh at rate level 1 $/kWh)."""
    return weighted_tier_sum(q_mpt, rel)


# ----------------------------------------------------------------------------------------- S5


def calibrate_level(revenue_requirement: float, sum_w_fixed: float, sum_w_unity: float) -> float:
    """r_k = (RR_k - sum_{i in k} w_i Fx_i) / sum_{i in k} w_i U_i in $/kWh (spec S5, closed form).

    Args:
        revenue_requirement: RR_k in $.
        sum_w_fixed: sum of w_i * annual fixed charges (12 f_k) in $.
        sum_w_unity: sum of w_i * annual unity bills U_i in kWh.
    """
    if not sum_w_unity > 0:
        raise ValueError("calibration: the weighted unity bill is zero (no energy use on this tariff)")
    return (revenue_requirement - sum_w_fixed) / sum_w_unity


# ----------------------------------------------------------------------------------------- S6


def monthly_bills(energy: np.ndarray, fixed_charge: float | np.ndarray, min_charge: float | np.ndarray = 0.0,
                  tax_rate: float = 0.0) -> np.ndarray:
    """B_{i,m} = max(E_{i,m} + f, mincharge) * (1 + tax) in $ per month, shape (n, M).

    ``fixed_charge`` and ``min_charge`` ($/month) are scalars or per-building (n,) arrays; the
    minimum applies only where it is > 0.
    """
    f = np.asarray(fixed_charge, dtype=float)
    mc = np.asarray(min_charge, dtype=float)
    if f.ndim == 1:
        f = f[:, None]
    if mc.ndim == 1:
        mc = mc[:, None]
    b = energy + f
    b = np.where(mc > 0, np.maximum(b, mc), b)
    return b * (1.0 + tax_rate)


# ----------------------------------------------------------------------------------------- S7


def economic_burden(net: np.ndarray, mc: np.ndarray) -> np.ndarray:
    """EB_i = sum_h net_{i,h} MC_h in $ (kWh x $/kWh), shape (n,)."""
    return np.asarray(net, dtype=float) @ np.asarray(mc, dtype=float)


# ----------------------------------------------------------------------------------------- S8


def residual_percustomer(residual: float, weights: np.ndarray, n_customers: float) -> np.ndarray:
    """R^pc_i = R / N in $ per customer, N = sum w."""
    return np.full(np.shape(weights), residual / n_customers)


def residual_volumetric(residual: float, annual_kwh: np.ndarray, total_kwh: float) -> np.ndarray:
    """R^vol_i = R q_i / V in $, q_i annual net kWh, V = sum w q."""
    return residual * np.asarray(annual_kwh, dtype=float) / total_kwh


def residual_epmc(residual: float, burden: np.ndarray, total_burden: float) -> np.ndarray:
    """R^epmc_i = R EB_i / E in $, E = sum w EB (equi-proportional to marginal cost)."""
    return residual * np.asarray(burden, dtype=float) / total_burden


def residual_peak(residual: float, coincident_kwh: np.ndarray, total_coincident_kwh: float) -> np.ndarray:
    """R^peak_i = R cp_i / sum_j w_j cp_j in $, cp_i = kWh of building i in the peak hour set."""
    if not total_coincident_kwh > 0:
        return np.full(np.shape(coincident_kwh), np.nan)
    return residual * np.asarray(coincident_kwh, dtype=float) / total_coincident_kwh


def peak_hours_top(demand: np.ndarray, n: int) -> np.ndarray:
    """Boolean (H,) mask of the ``n`` hours of highest system demand (ties: earlier hour first)."""
    order = np.argsort(-np.asarray(demand), kind="stable")[: int(n)]
    mask = np.zeros(len(demand), dtype=bool)
    mask[order] = True
    return mask


# ----------------------------------------------------------------------------------------- S9


def bat(annual_bill: np.ndarray, burden: np.ndarray, residual_share: np.ndarray) -> np.ndarray:
    """BAT_i = Annual_i - (EB_i + R^x_i) in $; positive = pays a subsidy (BAT paper Eq. 6)."""
    return np.asarray(annual_bill) - (np.asarray(burden) + np.asarray(residual_share))


def weighted_quantile(values: np.ndarray, weights: np.ndarray, q: float) -> float:
    """Weighted quantile by the midpoint rule on the weighted CDF (equals the plain quantile's
    'interpolated midpoint' for equal weights)."""
    v = np.asarray(values, dtype=float)
    w = np.asarray(weights, dtype=float)
    if v.size == 0:
        return float("nan")
    o = np.argsort(v, kind="stable")
    v, w = v[o], w[o]
    cw = np.cumsum(w) - 0.5 * w
    return float(np.interp(q * w.sum(), cw, v))


def group_stats(values: np.ndarray, weights: np.ndarray) -> dict:
    """BAT statistics of one group, each named weighted or unweighted.

    Parameters
    ----------
    values : ndarray, shape (n,)
        BAT of the group's buildings, $/customer-year.
    weights : ndarray, shape (n,)
        Customers each building represents.

    Returns
    -------
    dict
        ``n`` buildings, ``customers`` = sum w; unweighted (each sample building counts once, as
        CAIRO's ``calculate_BAT_stats_by_group``): ``unweighted_mean``, ``unweighted_median``,
        ``unweighted_std`` (ddof 1), ``unweighted_cv`` = std / mean (CAIRO's ``coeff_var``),
        ``unweighted_qcd`` = (Q3 - Q1) / (Q3 + Q1) with linear-interpolated quartiles (CAIRO's
        ``quartile_coeff_of_disp``); weighted by customers: ``weighted_mean`` (CAIRO's
        ``weighted_avg_by_group``), ``weighted_sum`` (the group's total cross-subsidy, $),
        ``weighted_median``, ``weighted_std``, ``weighted_cv``, ``weighted_qcd`` (weighted quartiles,
        :func:`weighted_quantile`). $ except n, customers and the ratios (NaN when undefined).

    References
    ----------
    Simeone, C. et al., "The Bill Alignment Test" (BAT paper; group summaries of BAT by customer
    segment); switchbox-data/rate-design-platform ``utils/mid/patches.py``
    (``_patched_calculate_bat_stats_by_group``: mean, median, weighted_avg_by_group, std,
    coeff_var, quartile_coeff_of_disp per group).
    """
    v = np.asarray(values, dtype=float)
    w = np.asarray(weights, dtype=float)
    n = v.size
    if n == 0:
        return {"n": 0, "customers": 0.0}
    nan = float("nan")

    def ratio(a, b):
        return float(a / b) if b != 0 else nan

    mean = float(v.mean())
    std = float(v.std(ddof=1)) if n > 1 else nan
    q1, q3 = (float(x) for x in np.quantile(v, [0.25, 0.75]))
    sw = float(w.sum())
    wmean = float((v * w).sum() / sw) if sw > 0 else nan
    wstd = float(np.sqrt((w * (v - wmean) ** 2).sum() / sw)) if sw > 0 else nan
    wq1, wmed, wq3 = (weighted_quantile(v, w, q) for q in (0.25, 0.5, 0.75))
    return {
        "n": int(n),
        "customers": sw,
        "unweighted_mean": mean,
        "unweighted_median": float(np.median(v)),
        "unweighted_std": std,
        "unweighted_cv": ratio(std, mean),
        "unweighted_qcd": ratio(q3 - q1, q3 + q1),
        "weighted_mean": wmean,
        "weighted_sum": float((v * w).sum()),
        "weighted_median": wmed,
        "weighted_std": wstd,
        "weighted_cv": ratio(wstd, wmean),
        "weighted_qcd": ratio(wq3 - wq1, wq3 + wq1),
    }

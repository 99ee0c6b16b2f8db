"""The math of one CAIRO-style run on dense arrays: system demand, demand by tariff period and tier,
rate calibration, bills, economic burden, residual allocation and the Bill Alignment Test.

Shapes: ``n`` buildings, ``H`` hours (8760 for a year), ``M`` billing months, ``P`` tariff periods,
``T`` tiers. Loads are kWh per hour (float64), prices $/kWh, bills $ per month, weights are
customers per building. Every function is plain numpy and knows nothing about files or Dask.
Symbols are those of docs/ratedesign-glossary.md.

References
----------
.. [1] S. Simeone et al., "The Bill Alignment Test: Identifying trade-offs with residential rate
   design options", Utilities Policy, 2023 (economic burden, residual allocation, BAT Eq. 6).
.. [2] switchbox-data/rate-design-platform, ``utils/mid/patches.py`` (the platform's vectorised
   re-implementation of CAIRO's stages) and ``context/code/cairo/`` (CAIRO notes).
.. [3] Stages S2, S4-S9 of ../shared/rate_design_spec.md, which cites [2] file by file.
"""

from __future__ import annotations

import numpy as np

from ratedesign.calendar import HourCalendar
from ratedesign.tariff import Tariff

# ----------------------------------------------------------------------------------------- S2


def system_demand(net: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """System hourly demand D_h = sum_i w_i net_{i,h}.

    Parameters
    ----------
    net : ndarray, shape (n, H)
        Net (grid) load of each building, kWh per hour.
    weights : ndarray, shape (n,)
        Customers each building represents (w_i).

    Returns
    -------
    ndarray, shape (H,)
        Weighted system demand, kWh per hour. Partial sums over building chunks add up.

    References
    ----------
    .. [1] switchbox-data/rate-design-platform, ``utils/mid/patches.py`` (CAIRO's
       ``process_residential_hourly_demand``); rate_design_spec.md S2.
    """
    return np.asarray(weights, dtype=float) @ np.asarray(net, dtype=float)


# ----------------------------------------------------------------------------------------- S4


def period_of_hour(cal: HourCalendar, tariff: Tariff) -> np.ndarray:
    """0-based tariff period of every hour from the weekday or weekend 12x24 schedule.

    Parameters
    ----------
    cal : ratedesign.calendar.HourCalendar
        The run year's hours: ``month`` (0-11), ``hour_of_day`` (0-23), ``is_weekday``, each (H,).
    tariff : ratedesign.tariff.Tariff
        Its ``weekday_schedule`` and ``weekend_schedule`` (12, 24) of 0-based periods (URDB
        ``energyweekdayschedule`` / ``energyweekendschedule``).

    Returns
    -------
    ndarray of int, shape (H,)
        Period of each hour (no holidays: weekday means Monday to Friday).

    References
    ----------
    .. [1] OpenEI Utility Rate Database (URDB) API, rate fields ``energyweekdayschedule``,
       ``energyweekendschedule``: https://openei.org/services/doc/rest/util_rates/
    """
    wk = tariff.weekday_schedule[cal.month, cal.hour_of_day]
    we = tariff.weekend_schedule[cal.month, cal.hour_of_day]
    return np.where(cal.is_weekday, wk, we)


def month_period_indicator(cal: HourCalendar, period: np.ndarray, n_periods: int) -> np.ndarray:
    """0/1 indicator matrix of (month, period) groups of hours.

    Parameters
    ----------
    cal : ratedesign.calendar.HourCalendar
        The run year's hours (``month`` (H,), ``n_hours``, ``n_months``).
    period : ndarray of int, shape (H,)
        0-based tariff period of every hour (:func:`period_of_hour`).
    n_periods : int
        P, the tariff's number of periods.

    Returns
    -------
    ndarray, shape (H, M*P)
        Column m*P + p is 1 for the hours of month m in period p, else 0.
    """
    g = cal.month * n_periods + np.asarray(period)
    ind = np.zeros((cal.n_hours, cal.n_months * n_periods))
    ind[np.arange(cal.n_hours), g] = 1.0
    return ind


def demand_by_month_period(loads: np.ndarray, indicator: np.ndarray, n_months: int,
                           n_periods: int) -> np.ndarray:
    """Q_{i,m,p}: kWh of each building over the hours of month m in period p (one matmul).

    Parameters
    ----------
    loads : ndarray, shape (n, H)
        kWh per hour.
    indicator : ndarray, shape (H, M*P)
        :func:`month_period_indicator`.
    n_months : int
        M.
    n_periods : int
        P.

    Returns
    -------
    ndarray, shape (n, M, P)
        kWh per month and period.

    References
    ----------
    .. [1] switchbox-data/rate-design-platform, ``utils/mid/patches.py``
       (``_vectorized_process_building_demand_by_period``); rate_design_spec.md S4.
    """
    q = np.asarray(loads, dtype=float) @ indicator
    return q.reshape(q.shape[0], n_months, n_periods)


def split_tiers(q_mp: np.ndarray, tier_max: np.ndarray) -> np.ndarray:
    """Tier split of monthly period kWh by cumulative ceilings (**[inferred]** from CAIRO's notes).

    Q_{m,p,t} = min(Q_{m,p}, max_t) - min(Q_{m,p}, max_{t-1}) with max_0 = 0 and max = inf for an
    unbounded tier, i.e. clip(Q - max_{t-1}, 0, max_t - max_{t-1}). Negative kWh (no floor) stay in
    tier 1.

    Parameters
    ----------
    q_mp : ndarray, shape (n, M, P)
        kWh per building, month and period.
    tier_max : ndarray, shape (P, T)
        Cumulative tier ceilings in kWh/month (URDB ``max``; ``inf`` for the last tier).

    Returns
    -------
    ndarray, shape (n, M, P, T)
        kWh per building, month, period and tier; sums over T to ``q_mp``.

    References
    ----------
    .. [1] switchbox-data/rate-design-platform, ``context/code/cairo/cairo_performance_analysis.md``
       and ``cairo_tiered_rates_support.md`` (CAIRO tracks cumulative monthly consumption);
       rate_design_spec.md S4.
    .. [2] URDB API, ``energyratestructure`` tier ``max`` (kWh per month):
       https://openei.org/services/doc/rest/util_rates/
    """
    cum = np.minimum(q_mp[..., None], tier_max)  # (n, M, P, T)
    if tier_max.shape[1] == 1:
        return cum
    out = cum.copy()
    out[..., 1:] -= cum[..., :-1]
    return out


def group_sums(loads: np.ndarray, group: np.ndarray, n_groups: int) -> np.ndarray:
    """kWh of each building summed over the hours of each group.

    Same result as ``loads @ indicator`` without a BLAS matrix product (whose threads spin on a
    busy machine): hours are ordered by group once and added with ``np.add.reduceat``.

    Parameters
    ----------
    loads : ndarray, shape (n, H)
        kWh per hour.
    group : ndarray of int, shape (H,)
        Group of every hour, in 0..n_groups-1 (e.g. month * P + period).
    n_groups : int
        Number of groups; groups without hours sum to 0.

    Returns
    -------
    ndarray, shape (n, n_groups)
        kWh per building and group.
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
    """Q_{i,m,p,t}: kWh per month, period and tier of buildings billed on ``tariff``.

    Parameters
    ----------
    loads : ndarray, shape (n, H)
        kWh per hour (net load for bills, total load for ``load_data``).
    cal : ratedesign.calendar.HourCalendar
        The run year's hours.
    tariff : ratedesign.tariff.Tariff
        The buildings' tariff (schedules and tier ceilings).

    Returns
    -------
    ndarray, shape (n, M, P, T)
        kWh.

    References
    ----------
    .. [1] switchbox-data/rate-design-platform, ``utils/mid/patches.py``
       (``_vectorized_process_building_demand_by_period``); rate_design_spec.md S4.
    """
    per = period_of_hour(cal, tariff)
    n_p = tariff.n_periods
    q = group_sums(loads, cal.month * n_p + per, cal.n_months * n_p)
    q_mp = q.reshape(q.shape[0], cal.n_months, n_p)
    return split_tiers(q_mp, tariff.billing_tier_max())


#: hour classes per billing month: (weekend, weekday) x 24 hours of day
CLASSES_PER_MONTH = 48


def hour_classes(cal: HourCalendar) -> tuple[np.ndarray, int]:
    """Class of every hour: (month, weekday or weekend, hour of day), the hour's only features that
    a URDB 12x24 schedule looks at.

    Parameters
    ----------
    cal : ratedesign.calendar.HourCalendar
        The run year's hours.

    Returns
    -------
    tuple of (ndarray of int, shape (H,), int)
        ``month * 48 + is_weekday * 24 + hour_of_day`` and the number of classes C = 48 M.
    """
    c = cal.month * CLASSES_PER_MONTH + np.asarray(cal.is_weekday, dtype=np.int64) * 24 + cal.hour_of_day
    return c, cal.n_months * CLASSES_PER_MONTH


def class_sums(loads: np.ndarray, cal: HourCalendar) -> np.ndarray:
    """kWh of each building summed over each hour class (:func:`hour_classes`).

    Parameters
    ----------
    loads : ndarray, shape (n, H)
        kWh per hour.
    cal : ratedesign.calendar.HourCalendar
        The run year's hours.

    Returns
    -------
    ndarray, shape (n, C)
        kWh per building and hour class (C = 48 per month).
    """
    c, n_c = hour_classes(cal)
    x = np.asarray(loads, dtype=float)
    h = cal.n_hours
    if h % 24 or not (cal.hour_of_day.reshape(-1, 24) == np.arange(24)).all():
        return group_sums(x, c, n_c)
    # whole days: sum the 24-hour blocks of the days of each (month, day type), 2.5x faster
    day = c.reshape(-1, 24) // 24
    if not (day == day[:, :1]).all():
        return group_sums(x, c, n_c)
    day = day[:, 0]
    order = np.argsort(day, kind="stable")
    ds = day[order]
    present = np.unique(ds)
    out = np.zeros((x.shape[0], n_c // 24, 24))
    if x.shape[0] and present.size:
        out[:, present, :] = np.add.reduceat(x.reshape(x.shape[0], -1, 24)[:, order, :],
                                             np.searchsorted(ds, present), axis=1)
    return out.reshape(x.shape[0], n_c)


def demand_by_tou_classes(classes: np.ndarray, cal: HourCalendar, tariff: Tariff) -> np.ndarray:
    """Q_{i,m,p,t} from hour-class sums: :func:`demand_by_tou` without the hourly loads.

    Equal to ``demand_by_tou(loads, cal, tariff)`` up to float summation order (each hour class
    lies in one month and one tariff period).

    Parameters
    ----------
    classes : ndarray, shape (n, C)
        :func:`class_sums` of the loads (kWh).
    cal : ratedesign.calendar.HourCalendar
        The run year's hours.
    tariff : ratedesign.tariff.Tariff
        The buildings' tariff.

    Returns
    -------
    ndarray, shape (n, M, P, T)
        kWh.
    """
    n_m, n_p = cal.n_months, tariff.n_periods
    k = np.arange(n_m * CLASSES_PER_MONTH)
    month, weekday, hour = k // CLASSES_PER_MONTH, (k // 24) % 2 == 1, k % 24
    per = np.where(weekday, tariff.weekday_schedule[month, hour], tariff.weekend_schedule[month, hour])
    q = group_sums(classes, month * n_p + per, n_m * n_p)  # no BLAS: its threads spin on a busy machine
    return split_tiers(q.reshape(q.shape[0], n_m, n_p), tariff.billing_tier_max())


def weighted_tier_sum(q_mpt: np.ndarray, price: np.ndarray) -> np.ndarray:
    """sum_{p,t} Q_{i,m,p,t} price_{p,t} per building and month.

    Parameters
    ----------
    q_mpt : ndarray, shape (n, M, P, T)
        kWh per month, period and tier.
    price : ndarray, shape (P, T)
        Price per kWh ($/kWh gives $ per month; relative rates give kWh at 1 $/kWh).

    Returns
    -------
    ndarray, shape (n, M)
        $ per month for prices in $/kWh.
    """
    return np.einsum("impt,pt->im", q_mpt, price)


def energy_charges(q_mpt: np.ndarray, tariff: Tariff) -> np.ndarray:
    """Energy charges E_{i,m} = sum_{p,t} Q_{i,m,p,t} (rate + adj)_{p,t}.

    Parameters
    ----------
    q_mpt : ndarray, shape (n, M, P, T)
        kWh per month, period and tier.
    tariff : ratedesign.tariff.Tariff
        Its ``price`` (P, T) = rate + adj in $/kWh.

    Returns
    -------
    ndarray, shape (n, M)
        $ per month.

    References
    ----------
    .. [1] switchbox-data/rate-design-platform, ``utils/mid/patches.py``
       (``_vectorized_run_system_revenues``); rate_design_spec.md S6.
    """
    return weighted_tier_sum(q_mpt, tariff.price)


def unity_energy(q_mpt: np.ndarray, rel: np.ndarray) -> np.ndarray:
    """Monthly unity bills U_{i,m} = sum_{p,t} Q_{i,m,p,t} rel_{p,t}.

    Parameters
    ----------
    q_mpt : ndarray, shape (n, M, P, T)
        kWh per month, period and tier.
    rel : ndarray, shape (P, T)
        Relative rates rel_{p,t} (dimensionless; the tariff's lowest rate is 1).

    Returns
    -------
    ndarray, shape (n, M)
        kWh-equivalent: the monthly energy bill in $ at a rate level of 1 $/kWh.

    References
    ----------
    .. [1] switchbox-data/rate-design-platform, ``context/code/cairo/cairo_tiered_rates_support.md``
       ("rate_unity * rel_value"); rate_design_spec.md S5.
    """
    return weighted_tier_sum(q_mpt, rel)


# ----------------------------------------------------------------------------------------- S5


def calibrate_level(revenue_requirement: float, sum_w_fixed: float, sum_w_unity: float) -> float:
    """Rate level r_k = (RR_k - sum_{i in k} w_i Fx_i) / sum_{i in k} w_i U_i (precalc calibration).

    The closed form is **[inferred]** from CAIRO's description (it solves only for the energy-rate
    level; the calibrated rates are r_k rel_{p,t}) and from the balance check of precalc runs
    (sum_i w_i Annual_i = RR_k).

    Parameters
    ----------
    revenue_requirement : float
        RR_k, $ per year.
    sum_w_fixed : float
        sum_i w_i Fx_i with Fx_i = 12 f_k the annual fixed charges, $ per year.
    sum_w_unity : float
        sum_i w_i U_i, the weighted annual unity bills, kWh.

    Returns
    -------
    float
        r_k in $/kWh.

    Raises
    ------
    ValueError
        ``sum_w_unity`` is not > 0 (no energy use on this tariff).

    References
    ----------
    .. [1] switchbox-data/rate-design-platform, ``context/code/cairo/cairo_tiered_rates_support.md``
       and ``utils/pre/generate_precalc_mapping.py`` (relative rates); rate_design_spec.md S5.
    """
    if not sum_w_unity > 0:
        raise ValueError("calibration: the weighted unity bill is zero (no energy use on this tariff)")
    return (revenue_requirement - sum_w_fixed) / sum_w_unity


# ----------------------------------------------------------------------------------------- S6


def monthly_bills(energy: np.ndarray, fixed_charge: float | np.ndarray, min_charge: float | np.ndarray = 0.0,
                  tax_rate: float = 0.0) -> np.ndarray:
    """Monthly bills B_{i,m} = max(E_{i,m} + f, mincharge) (1 + tax).

    Parameters
    ----------
    energy : ndarray, shape (n, M)
        Energy charges E_{i,m}, $ per month.
    fixed_charge : float or ndarray, shape (n,)
        f, $/month (URDB ``fixedchargefirstmeter``).
    min_charge : float or ndarray, shape (n,), default 0.0
        $/month (URDB ``mincharge``); applies only where it is > 0.
    tax_rate : float, default 0.0
        Utility tax rate (fraction; the platform passes 0).

    Returns
    -------
    ndarray, shape (n, M)
        $ per month.

    References
    ----------
    .. [1] switchbox-data/rate-design-platform, ``utils/mid/patches.py``
       (``_vectorized_run_system_revenues``) and ``context/code/cairo/cairo_utility_tax_rate.md``;
       rate_design_spec.md S6.
    .. [2] URDB API, ``fixedchargefirstmeter`` and ``mincharge``:
       https://openei.org/services/doc/rest/util_rates/
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
    """Economic burden EB_i = sum_h net_{i,h} MC_h: the marginal cost building i causes.

    Parameters
    ----------
    net : ndarray, shape (n, H)
        Net (grid) load, kWh per hour.
    mc : ndarray, shape (H,)
        Total marginal cost MC_h, $/kWh.

    Returns
    -------
    ndarray, shape (n,)
        $ per year (for a year of hours).

    References
    ----------
    .. [1] S. Simeone et al., "The Bill Alignment Test: Identifying trade-offs with residential
       rate design options", Utilities Policy, 2023.
    .. [2] switchbox-data/rate-design-platform (CAIRO ``_determine_marginal_cost_allocation``);
       rate_design_spec.md S7.
    """
    return np.asarray(net, dtype=float) @ np.asarray(mc, dtype=float)


# ----------------------------------------------------------------------------------------- S8


def residual_percustomer(residual: float, weights: np.ndarray, n_customers: float) -> np.ndarray:
    """Per-customer residual share R^pc_i = R / N.

    Parameters
    ----------
    residual : float
        R = RR - TMC, $ per year.
    weights : ndarray, shape (n,)
        Customers each building represents (only the shape is used).
    n_customers : float
        N = sum_i w_i, customers.

    Returns
    -------
    ndarray, shape (n,)
        $ per customer-year.

    References
    ----------
    .. [1] S. Simeone et al., "The Bill Alignment Test: Identifying trade-offs with residential
       rate design options", Utilities Policy, 2023.
    .. [2] switchbox-data/rate-design-platform,
       ``context/methods/bat_mc_residual/residual_allocation_lit_review_and_cairo.md``;
       rate_design_spec.md S8.
    """
    return np.full(np.shape(weights), residual / n_customers)


def residual_volumetric(residual: float, annual_kwh: np.ndarray, total_kwh: float) -> np.ndarray:
    """Volumetric residual share R^vol_i = R q_i / V.

    Parameters
    ----------
    residual : float
        R = RR - TMC, $ per year.
    annual_kwh : ndarray, shape (n,)
        q_i, annual net kWh of each building.
    total_kwh : float
        V = sum_i w_i q_i, kWh.

    Returns
    -------
    ndarray, shape (n,)
        $ per customer-year.

    References
    ----------
    .. [1] S. Simeone et al., "The Bill Alignment Test: Identifying trade-offs with residential
       rate design options", Utilities Policy, 2023. (Eq. 3)
    .. [2] switchbox-data/rate-design-platform,
       ``context/methods/bat_mc_residual/residual_allocation_lit_review_and_cairo.md``;
       rate_design_spec.md S8.
    """
    return residual * np.asarray(annual_kwh, dtype=float) / total_kwh


def residual_epmc(residual: float, burden: np.ndarray, total_burden: float) -> np.ndarray:
    """Equi-proportional-to-marginal-cost residual share R^epmc_i = R EB_i / E.

    Parameters
    ----------
    residual : float
        R = RR - TMC, $ per year.
    burden : ndarray, shape (n,)
        EB_i, $ per year (:func:`economic_burden`).
    total_burden : float
        E = sum_i w_i EB_i (= TMC), $ per year.

    Returns
    -------
    ndarray, shape (n,)
        $ per customer-year.

    References
    ----------
    .. [1] switchbox-data/rate-design-platform, ``utils/mid/patches.py``
       (``_allocate_residual_epmc``); rate_design_spec.md S8.
    """
    return residual * np.asarray(burden, dtype=float) / total_burden


def residual_peak(residual: float, coincident_kwh: np.ndarray, total_coincident_kwh: float) -> np.ndarray:
    """Coincident-peak residual share R^peak_i = R cp_i / sum_j w_j cp_j.

    Parameters
    ----------
    residual : float
        R = RR - TMC, $ per year.
    coincident_kwh : ndarray, shape (n,)
        cp_i, kWh of building i in the peak hour set (:func:`peak_hours_top`).
    total_coincident_kwh : float
        sum_j w_j cp_j, kWh.

    Returns
    -------
    ndarray, shape (n,)
        $ per customer-year; all NaN when ``total_coincident_kwh`` is not > 0.

    References
    ----------
    .. [1] switchbox-data/rate-design-platform,
       ``context/methods/bat_mc_residual/residual_allocation_lit_review_and_cairo.md`` §3
       (CAIRO's coincident-peak method; disabled by the platform); rate_design_spec.md S8.
    """
    if not total_coincident_kwh > 0:
        return np.full(np.shape(coincident_kwh), np.nan)
    return residual * np.asarray(coincident_kwh, dtype=float) / total_coincident_kwh


def peak_hours_top(demand: np.ndarray, n: int) -> np.ndarray:
    """Mask of the ``n`` hours of highest system demand (ties: earlier hour first).

    Parameters
    ----------
    demand : ndarray, shape (H,)
        System demand D_h, kWh per hour.
    n : int
        Number of peak hours.

    Returns
    -------
    ndarray of bool, shape (H,)
        True for the peak hours.
    """
    order = np.argsort(-np.asarray(demand), kind="stable")[: int(n)]
    mask = np.zeros(len(demand), dtype=bool)
    mask[order] = True
    return mask


# ----------------------------------------------------------------------------------------- S9


def bat(annual_bill: np.ndarray, burden: np.ndarray, residual_share: np.ndarray) -> np.ndarray:
    """Bill Alignment Test BAT_i = Annual_i - (EB_i + R^x_i).

    Parameters
    ----------
    annual_bill : ndarray, shape (n,)
        Annual_i, $ per customer-year.
    burden : ndarray, shape (n,)
        EB_i, $ per customer-year.
    residual_share : ndarray, shape (n,)
        R^x_i for one allocation method x, $ per customer-year.

    Returns
    -------
    ndarray, shape (n,)
        $ per customer-year; positive: the customer pays a cross-subsidy, negative: receives one.

    References
    ----------
    .. [1] S. Simeone et al., "The Bill Alignment Test: Identifying trade-offs with residential
       rate design options", Utilities Policy, 2023. (Eq. 6)
    .. [2] switchbox-data/rate-design-platform, ``utils/mid/patches.py``
       (``_patched_return_cross_subsidization_metrics``); rate_design_spec.md S9.
    """
    return np.asarray(annual_bill) - (np.asarray(burden) + np.asarray(residual_share))


def weighted_quantile(values: np.ndarray, weights: np.ndarray, q: float) -> float:
    """Weighted quantile by the midpoint rule on the weighted CDF.

    Equals the plain quantile's 'interpolated midpoint' for equal weights.

    Parameters
    ----------
    values : ndarray, shape (n,)
        Values (e.g. BAT, $/customer-year).
    weights : ndarray, shape (n,)
        Non-negative weights (customers).
    q : float
        Quantile in [0, 1].

    Returns
    -------
    float
        The quantile, in the unit of ``values``; NaN for no values.
    """
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
    .. [1] S. Simeone et al., "The Bill Alignment Test: Identifying trade-offs with residential
       rate design options", Utilities Policy, 2023. (group summaries of BAT by customer segment)
    .. [2] switchbox-data/rate-design-platform, ``utils/mid/patches.py``
       (``_patched_calculate_bat_stats_by_group``: mean, median, weighted_avg_by_group, std,
       coeff_var, quartile_coeff_of_disp per group); rate_design_spec.md S9.
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


__all__ = ["CLASSES_PER_MONTH", "bat", "calibrate_level", "class_sums", "demand_by_month_period", "demand_by_tou",
           "demand_by_tou_classes", "economic_burden", "energy_charges", "hour_classes",
           "group_stats", "group_sums", "month_period_indicator", "monthly_bills", "peak_hours_top",
           "period_of_hour", "residual_epmc", "residual_percustomer", "residual_peak", "residual_volumetric",
           "split_tiers", "system_demand", "unity_energy", "weighted_quantile", "weighted_tier_sum"]

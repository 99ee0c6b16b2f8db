"""Demand response of the demand-flex runs (runs 13-16 of the platform's chain), as the platform's code does it.

Customers on a time-of-use tariff (a tariff whose price varies within a day) shift load between
its periods, season by season (seasons from the utility's ``periods/<utility>.yaml``:
``winter_months``, the rest is summer; RI: winter Oct-Mar, summer Apr-Sep):

    Q_{i,s,p}      = kWh of building i in the hours of season s that fall in period p
                     (pooled over the season's months)
    P_flat_s       = sum_{i,p} Q_{i,s,p} P_p / sum_{i,p} Q_{i,s,p}     one class-level flat-equivalent
                     price per season and tariff (unweighted sum over the tariff's buildings)
    Q_target       = Q (P_p / P_flat_s) ** eps_s                      every period but the receiver
    receiver       = the season's cheapest period (lowest first-tier rate + adj); it absorbs
                     -sum of the donors' shifts, so each building's seasonal kWh are conserved
    1 kWh rule     = a building-period with Q <= 0 or |Q| < 1 kWh is left alone (shift 0)
    hours          = each hour of (i, s, p) gets a share net_h / Q (uniform 1/n_hours where Q < 1 kWh)

After the shift, precalc runs re-derive the TOU relative rates from the marginal costs and the
shifted class load (:func:`rederive_relative_rates`): per season, the off-peak rate is the
demand-weighted marginal cost, the peak rate that times the season's peak/off-peak cost-causation
ratio, and rel = round(rate / min rate, 4).

References
----------
switchbox-data/rate-design-platform: ``utils/cairo.py`` (``apply_runtime_tou_demand_response``,
``process_residential_hourly_demand_response_shift``, ``_compute_equivalent_flat_tariff``,
``_build_period_shift_targets``, ``_zero_unsafe_period_shifts_and_rebalance``,
``FLEX_SHIFT_MIN_PERIOD_ABS_KWH = 1``), ``utils/demand_flex.py`` (``recompute_tou_precalc_mapping``),
``utils/pre/compute_tou.py`` (``compute_tou_cost_causation_ratio``, ``season_mask``).
"""

from __future__ import annotations

import numpy as np

from ratedesign import kernels as K
from ratedesign.calendar import HourCalendar
from ratedesign.errors import InputError
from ratedesign.tariff import Tariff

#: 1-based winter months when the utility has no periods YAML (platform default, Oct-Mar)
DEFAULT_WINTER_MONTHS = (10, 11, 12, 1, 2, 3)
#: building-periods below this many kWh are not shifted (platform: FLEX_SHIFT_MIN_PERIOD_ABS_KWH)
MIN_PERIOD_KWH = 1.0
#: season index: 0 = winter, 1 = summer
SEASONS = ("winter", "summer")


def parse_elasticity(value, source: str = "scenario") -> tuple[float, float] | None:
    """Price elasticities of demand of a scenario's ``elasticity`` field.

    Parameters
    ----------
    value : float or dict
        ``0.0``, ``-0.1`` (both seasons) or ``{summer: -0.18, winter: -0.16}`` (dimensionless).
    source : str, default "scenario"
        Where the value came from (for messages).

    Returns
    -------
    tuple of (float, float) or None
        (summer, winter) elasticities; None when both are 0 (no demand response).

    Raises
    ------
    InputError
        Unknown keys, non-numbers, or values outside [-5, 0].

    References
    ----------
    .. [1] switchbox-data/rate-design-platform, ``rate_design/hp_rates/run_scenario.py`` (scenario
       field ``elasticity``) and ``utils/cairo.py`` (``apply_runtime_tou_demand_response``).
    """
    if value is None:
        return None
    if isinstance(value, dict):
        unknown = set(value) - {"summer", "winter"}
        if unknown:
            raise InputError(f"{source}: field 'elasticity' has unknown key {sorted(unknown)[0]!r}; "
                             f"expected a number or {{summer: e, winter: e}}")
        try:
            s, w = float(value.get("summer", 0.0)), float(value.get("winter", 0.0))
        except (TypeError, ValueError):
            raise InputError(f"{source}: field 'elasticity' = {value!r}; expected numbers") from None
    else:
        try:
            s = w = float(value)
        except (TypeError, ValueError):
            raise InputError(f"{source}: field 'elasticity' = {value!r}; expected a number or "
                             f"{{summer: e, winter: e}}") from None
    for e in (s, w):
        if not np.isfinite(e) or e > 0 or e < -5:
            raise InputError(f"{source}: field 'elasticity' = {value!r}; expected values in [-5, 0] "
                             f"(a price elasticity of demand)")
    return None if s == 0 and w == 0 else (s, w)


def is_time_varying(tariff: Tariff) -> bool:
    """Whether some month of the tariff has more than one period within a day (a diurnal TOU tariff).

    Parameters
    ----------
    tariff : Tariff
        The tariff (its 12x24 weekday and weekend schedules).

    Returns
    -------
    bool
        True for a time-of-use tariff, whose customers shift load in demand-flex runs.
    """
    for sched in (tariff.weekday_schedule, tariff.weekend_schedule):
        if any(len(set(row.tolist())) > 1 for row in sched):
            return True
    return False


def season_of_hour(cal: HourCalendar, winter_months=None) -> np.ndarray:
    """Season index of every hour: 0 winter, 1 summer.

    Parameters
    ----------
    cal : HourCalendar
        The run year's hours.
    winter_months : sequence of int, optional
        1-based winter months; default ``DEFAULT_WINTER_MONTHS`` (Oct-Mar).

    Returns
    -------
    ndarray of int, shape (H,)
        0 or 1.

    References
    ----------
    .. [1] switchbox-data/rate-design-platform, ``utils/pre/compute_tou.py`` (``season_mask``).
    """
    winter = np.array(sorted(winter_months or DEFAULT_WINTER_MONTHS), dtype=np.int64) - 1
    return np.where(np.isin(cal.month, winter), 0, 1)


def _groups(cal: HourCalendar, tariff: Tariff, winter_months):
    period = K.period_of_hour(cal, tariff)
    season = season_of_hour(cal, winter_months)
    n_p = tariff.n_periods
    g = season * n_p + period
    n_hours = np.bincount(g, minlength=2 * n_p).astype(float)
    return g, n_hours, n_p


def class_period_kwh(net: np.ndarray, cal: HourCalendar, tariff: Tariff, winter_months=None) -> np.ndarray:
    """Unweighted kWh of a block of the tariff's buildings by (season, period).

    Summed over blocks, it gives the class totals behind the flat-equivalent price.

    Parameters
    ----------
    net : ndarray, shape (n, H)
        Grid kWh per hour of the tariff's buildings.
    cal : HourCalendar
        The run year's hours.
    tariff : Tariff
        Their TOU tariff.
    winter_months : sequence of int, optional
        1-based winter months; default Oct-Mar.

    Returns
    -------
    ndarray, shape (2, P)
        kWh per season (winter, summer) and period.
    """
    g, _, n_p = _groups(cal, tariff, winter_months)
    return K.group_sums(net, g, 2 * n_p).sum(axis=0).reshape(2, n_p)


def class_period_kwh_from_classes(classes: np.ndarray, cal: HourCalendar, tariff: Tariff,
                                 winter_months=None) -> np.ndarray:
    """:func:`class_period_kwh` from hour-class sums (:func:`ratedesign.kernels.class_sums`).

    Parameters
    ----------
    classes : ndarray, shape (n, C)
        kWh per building and hour class of the tariff's buildings.
    cal : HourCalendar
        The run year's hours.
    tariff : Tariff
        Their TOU tariff.
    winter_months : sequence of int, optional
        1-based winter months; default Oct-Mar.

    Returns
    -------
    ndarray, shape (2, P)
        kWh per season (winter, summer) and period.
    """
    n_p = tariff.n_periods
    k = np.arange(cal.n_months * K.CLASSES_PER_MONTH)
    month, weekday, hour = k // K.CLASSES_PER_MONTH, (k // 24) % 2 == 1, k % 24
    per = np.where(weekday, tariff.weekday_schedule[month, hour], tariff.weekend_schedule[month, hour])
    winter = np.array(sorted(winter_months or DEFAULT_WINTER_MONTHS), dtype=np.int64) - 1
    season = np.where(np.isin(month, winter), 0, 1)
    tot = np.asarray(classes, dtype=float).sum(axis=0)
    return np.bincount(season * n_p + per, weights=tot, minlength=2 * n_p).reshape(2, n_p)


def flat_equivalent_price(class_kwh: np.ndarray, tariff: Tariff) -> np.ndarray:
    """Class-level flat-equivalent price per season P_flat_s = sum_p Q_{s,p} P_p / sum_p Q_{s,p}.

    P_p is the period's first-tier rate + adj. A season without kWh gets NaN (nothing to shift).

    Parameters
    ----------
    class_kwh : ndarray, shape (2, P)
        Class kWh by season and period (:func:`class_period_kwh` summed over blocks).
    tariff : Tariff
        The TOU tariff ($/kWh).

    Returns
    -------
    ndarray, shape (2,)
        $/kWh for (winter, summer).

    References
    ----------
    .. [1] switchbox-data/rate-design-platform, ``utils/cairo.py`` (``_compute_equivalent_flat_tariff``).
    """
    price = tariff.price[:, 0]
    tot = class_kwh.sum(axis=1)
    out = np.full(2, np.nan)
    ok = tot > 0
    out[ok] = (class_kwh[ok] * price[None, :]).sum(axis=1) / tot[ok]
    return out


def shift_loads(net: np.ndarray, cal: HourCalendar, tariff: Tariff, elasticity: tuple[float, float],
                flat_price: np.ndarray, winter_months=None, min_kwh: float = MIN_PERIOD_KWH) -> np.ndarray:
    """Shifted hourly kWh (n, H) of buildings billed on the TOU ``tariff`` (module docstring).

    Parameters
    ----------
    net : ndarray, shape (n, H)
        Grid kWh of the buildings.
    cal : HourCalendar
        The run's hours.
    tariff : Tariff
        Their TOU tariff (first-tier rate + adj per period is the price signal, $/kWh).
    elasticity : (summer, winter)
        Price elasticities of demand (<= 0).
    flat_price : ndarray, shape (2,)
        Class-level flat-equivalent price per season (winter, summer), $/kWh
        (:func:`flat_equivalent_price` of the class totals).
    winter_months : list of int, optional
        1-based winter months (default Oct-Mar).
    min_kwh : float
        Building-periods with less than this (or <= 0) are not shifted, kWh.

    Returns
    -------
    ndarray, shape (n, H)
        Shifted kWh; per building and season the total is unchanged.

    References
    ----------
    .. [1] switchbox-data/rate-design-platform, ``utils/cairo.py``
       (``process_residential_hourly_demand_response_shift``,
       ``_build_period_shift_targets``, ``_zero_unsafe_period_shifts_and_rebalance``).
    """
    net = np.asarray(net, dtype=float)
    g, n_hours, n_p = _groups(cal, tariff, winter_months)
    q = K.group_sums(net, g, 2 * n_p)                      # (n, 2P) kWh by (season, period)
    price = np.tile(tariff.price[:, 0], 2)                 # (2P,) $/kWh
    eps = np.repeat([elasticity[1], elasticity[0]], n_p)   # winter, summer
    fp = np.repeat(np.asarray(flat_price, dtype=float), n_p)
    present = n_hours > 0
    active = present & (eps != 0) & np.isfinite(fp) & (fp > 0)
    ratio = np.divide(price, fp, out=np.ones_like(price), where=active)
    target = q * ratio[None, :] ** eps[None, :]
    shift = np.where(active[None, :], target - q, 0.0)
    unsafe = (q <= 0) | (np.abs(q) < min_kwh)
    shift[unsafe] = 0.0
    for s in range(2):
        cols = np.arange(s * n_p, (s + 1) * n_p)
        cols = cols[present[cols]]
        if cols.size == 0 or not active[cols].any():
            continue
        recv = cols[np.argmin(price[cols])]                # first cheapest period of the season
        donors = cols[cols != recv]
        shift[:, recv] = -shift[:, donors].sum(axis=1)
    safe = ~unsafe
    qg = q[:, g]
    share = np.where(safe[:, g], np.divide(net, qg, out=np.zeros_like(net), where=qg != 0),
                     1.0 / np.maximum(n_hours[g], 1.0)[None, :])
    return net + shift[:, g] * share


def tou_structure(tariff: Tariff, winter_months=None):
    """Season and peak flag of each period of a seasonal TOU tariff, and each season's peak hours.

    Parameters
    ----------
    tariff : Tariff
        The TOU tariff.
    winter_months : sequence of int, optional
        1-based winter months; default Oct-Mar.

    Returns
    -------
    (season, is_peak, peak_hours) or None
        ``season`` (P,) 0 winter / 1 summer, ``is_peak`` (P,) bool, ``peak_hours`` {season: list of
        hours of day}; None when a period spans both seasons or a season lacks a peak/off-peak pair.
    """
    winter = {m - 1 for m in (winter_months or DEFAULT_WINTER_MONTHS)}
    wk = tariff.weekday_schedule
    price = tariff.price[:, 0]
    season = np.full(tariff.n_periods, -1)
    for m in range(12):
        s = 0 if m in winter else 1
        for p in set(wk[m].tolist()) | set(tariff.weekend_schedule[m].tolist()):
            if season[p] not in (-1, s):
                return None
            season[p] = s
    is_peak = np.zeros(tariff.n_periods, dtype=bool)
    peak_hours = {}
    for s in range(2):
        ps = [p for p in range(tariff.n_periods) if season[p] == s]
        if len(ps) != 2 or price[ps[0]] == price[ps[1]]:
            return None
        pk = max(ps, key=lambda p: price[p])
        is_peak[pk] = True
        months = [m for m in range(12) if (0 if m in winter else 1) == s]
        peak_hours[s] = sorted({h for m in months for h in range(24) if wk[m, h] == pk})
    return season, is_peak, peak_hours


def rederive_relative_rates(tariff: Tariff, rel: np.ndarray, cal: HourCalendar, mc_total: np.ndarray,
                            class_load: np.ndarray, winter_months=None, decimals: int = 4):
    """TOU relative rates from marginal costs and the shifted class load (precalc flex runs).

    Parameters
    ----------
    tariff : Tariff
        The flex TOU tariff (two periods per season: off-peak and peak).
    rel : ndarray, shape (P, T)
        Its current relative rates (returned unchanged when the structure is not seasonal TOU).
    cal : HourCalendar
        The run year's hours.
    mc_total : ndarray, shape (H,)
        Total marginal cost, $/kWh.
    class_load : ndarray, shape (H,)
        sum_i w_i x shifted kWh of the TOU customers (the class facing the tariff).
    winter_months : list of int, optional
        1-based winter months; default Oct-Mar.
    decimals : int, default 4
        Rounding of the relative rates.

    Returns
    -------
    (ndarray, dict)
        New (P, T) relative rates and a record (per-season ratios and rates; ``fallback``:
        ``{season: reason}`` for each season where the platform's fallback applied, which the
        caller reports in the run's log; nothing is logged here).

    Notes
    -----
    Per season s: rate_s = sum MC L / sum L over the season's hours (demand-weighted MC);
    ratio_s = peak average / off-peak average of MC weighted by L, peak = the season's peak
    hours of day (every day); off-peak period rate = rate_s, peak = rate_s x ratio_s;
    rel = round(rate / min rate, 4). A season with zero MC x load gets rate 1 and ratio 1 (platform
    fallback). Tiers keep their ratio to the period's first tier.

    References
    ----------
    .. [1] switchbox-data/rate-design-platform, ``utils/demand_flex.py`` (``recompute_tou_precalc_mapping``),
       ``utils/pre/compute_tou.py`` (``compute_tou_cost_causation_ratio``).
    """
    st = tou_structure(tariff, winter_months)
    if st is None:
        return rel, {"rederived": False, "why": "not a two-period-per-season TOU tariff"}
    season, is_peak, peak_hours = st
    hs = season_of_hour(cal, winter_months)
    mc = np.asarray(mc_total, dtype=float)
    load = np.asarray(class_load, dtype=float)
    rate_s, ratio_s, fallback = {}, {}, {}
    for s in range(2):
        m = hs == s
        tot = float((mc[m] * load[m]).sum())
        if abs(tot) < 1e-12:
            rate_s[s], ratio_s[s] = 1.0, 1.0
            fallback[SEASONS[s]] = "no marginal cost x load in the season: rate 1, ratio 1"
            continue
        lsum = float(load[m].sum())
        rate_s[s] = tot / lsum if lsum > 0 else 0.0
        pk = m & np.isin(cal.hour_of_day, peak_hours[s])
        op = m & ~np.isin(cal.hour_of_day, peak_hours[s])
        lp, lo = float(load[pk].sum()), float(load[op].sum())
        cost_op = float((mc[op] * load[op]).sum())
        if lp <= 0 or lo <= 0 or cost_op <= 0:
            why = ("no peak-hour load" if lp <= 0 else "no off-peak load" if lo <= 0 else
                   f"off-peak marginal cost x load = {cost_op:.6g} $ (not positive)")
            fallback[SEASONS[s]] = f"{why}: ratio 1"
            ratio_s[s] = 1.0
        else:
            ratio_s[s] = float((mc[pk] * load[pk]).sum() / lp) / float((mc[op] * load[op]).sum() / lo)
    rates = np.array([rate_s[season[p]] * (ratio_s[season[p]] if is_peak[p] else 1.0)
                      for p in range(tariff.n_periods)])
    low = rates.min()
    if not low > 0:
        return rel, {"rederived": False, "why": "non-positive marginal-cost rate"}
    new_p = np.round(rates / low, decimals)
    out = np.array(rel, dtype=float)
    base = np.where(out[:, :1] != 0, out[:, :1], 1.0)
    out = np.where(out != 0, out / base * new_p[:, None], 0.0)
    out[:, 0] = new_p
    return out, {"rederived": True, "ratio_by_season": {SEASONS[s]: ratio_s[s] for s in range(2)},
                 "rate_by_season": {SEASONS[s]: rate_s[s] for s in range(2)}, "rel_by_period": new_p.tolist(),
                 "fallback": fallback}


__all__ = ["DEFAULT_WINTER_MONTHS", "MIN_PERIOD_KWH", "SEASONS", "class_period_kwh", "class_period_kwh_from_classes",
           "flat_equivalent_price",
           "is_time_varying", "parse_elasticity", "rederive_relative_rates", "season_of_hour", "shift_loads",
           "tou_structure"]

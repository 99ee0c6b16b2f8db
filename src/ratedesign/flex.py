"""Demand response of the demand-flex runs (spec section 3, runs 13-16).

Customers on a tariff whose price varies within a month (TOU) shift load between its periods:

    Q_target_{i,m,p} = Q_{i,m,p} * (P_p / P_flat_{i,m}) ** eps_m        for every period but the cheapest
    P_flat_{i,m}     = sum_p Q_{i,m,p} P_p / sum_p Q_{i,m,p}              (load-weighted average price)

The cheapest period of the month absorbs the difference, so monthly kWh is conserved; within a
(month, period) every hour is scaled by the same factor, i.e. hours get shares of the shifted kWh in
proportion to their load. ``eps_m`` is the summer elasticity in June-September and the winter one
otherwise (**[choice]**: the platform's YAML only says ``{summer, winter}``). P_p is the first-tier
price (rate + adj) in $/kWh. Pure numpy, no files.
"""

from __future__ import annotations

import numpy as np

from ratedesign import kernels as K
from ratedesign.calendar import HourCalendar
from ratedesign.errors import InputError
from ratedesign.tariff import Tariff

#: 0-based months that use the summer elasticity (June-September).
SUMMER_MONTHS = (5, 6, 7, 8)


def parse_elasticity(value, source: str = "scenario") -> tuple[float, float] | None:
    """``0.0`` / ``-0.1`` / ``{summer: -0.18, winter: -0.16}`` -> (summer, winter), None when both 0."""
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
    """True when some month of the tariff has more than one period (a TOU tariff)."""
    for sched in (tariff.weekday_schedule, tariff.weekend_schedule):
        if any(len(set(row.tolist())) > 1 for row in sched):
            return True
    return False


def shift_loads(net: np.ndarray, cal: HourCalendar, tariff: Tariff, elasticity: tuple[float, float]) -> np.ndarray:
    """Shifted hourly kWh (n, H) of buildings billed on ``tariff`` (see module docstring)."""
    net = np.asarray(net, dtype=float)
    n_p = tariff.n_periods
    period = K.period_of_hour(cal, tariff)
    ind = K.month_period_indicator(cal, period, n_p)
    m = cal.n_months
    q = (net @ ind).reshape(net.shape[0], m, n_p)                     # kWh by month, period
    present = ind.sum(axis=0).reshape(m, n_p) > 0                       # (M, P)
    price = tariff.price[:, 0]                                          # $/kWh, first tier
    eps = np.array([elasticity[0] if mm in SUMMER_MONTHS else elasticity[1] for mm in range(m)])
    tot = q.sum(axis=2)
    p_flat = np.divide((q * price[None, None, :]).sum(axis=2), tot, out=np.zeros_like(tot), where=tot > 0)
    ratio = np.divide(price[None, None, :], p_flat[:, :, None], out=np.ones_like(q),
                      where=p_flat[:, :, None] > 0)
    target = q * ratio ** eps[None, :, None]
    masked_price = np.where(present, price[None, :], np.inf)
    cheapest = masked_price.argmin(axis=1)                              # (M,)
    sel = np.zeros((m, n_p), dtype=bool)
    sel[np.arange(m), cheapest] = True
    target = np.where(present[None], target, 0.0)
    moved = np.where(sel[None], 0.0, q - target).sum(axis=2)            # kWh taken out of other periods
    target = np.where(sel[None], np.maximum(q + moved[:, :, None], 0.0), target)
    factor = np.divide(target, q, out=np.ones_like(q), where=q > 0).reshape(net.shape[0], m * n_p)
    g = cal.month * n_p + period
    return net * factor[:, g]

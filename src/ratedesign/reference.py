"""A deliberately plain reference implementation of S2 and S4-S9 in the original long-format
pandas style: one row per (bldg_id, hour), merges with lookup tables and groupby sums.

It is slow and memory hungry on purpose (it mirrors how the original single-threaded pipeline
worked) and exists only to check the vectorised kernels (tests) and to measure them (benchmark).
Units as everywhere: kWh, $/kWh, $.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ratedesign.calendar import HourCalendar


def long_loads(bldg_id, net: np.ndarray) -> pd.DataFrame:
    """Dense kWh array -> long frame indexed by (bldg_id, time) with column ``electricity_net``.

    Parameters
    ----------
    bldg_id : sequence of int, length n
        Building ids.
    net : ndarray, shape (n, H)
        Net load, kWh per hour.

    Returns
    -------
    pandas.DataFrame
        n x H rows, kWh.
    """
    n, h = net.shape
    idx = pd.MultiIndex.from_arrays([np.repeat(np.asarray(bldg_id), h), np.tile(np.arange(h), n)],
                                    names=["bldg_id", "time"])
    return pd.DataFrame({"electricity_net": net.reshape(-1)}, index=idx)


def _time_table(cal: HourCalendar) -> pd.DataFrame:
    return pd.DataFrame({"time": np.arange(cal.n_hours), "month": cal.month + 1, "hour": cal.hour_of_day,
                         "day_type": np.where(cal.is_weekday, "weekday", "weekend")})


def _period_table(tariff) -> pd.DataFrame:
    rows = []
    for m in range(12):
        for h in range(24):
            rows.append({"month": m + 1, "hour": h, "day_type": "weekday", "period": int(tariff.weekday_schedule[m, h]) + 1})
            rows.append({"month": m + 1, "hour": h, "day_type": "weekend", "period": int(tariff.weekend_schedule[m, h]) + 1})
    return pd.DataFrame(rows)


def _tier_table(tariff, key: str, rel: bool) -> pd.DataFrame:
    rows = []
    price = tariff.rate + tariff.adj
    real = [(p, t) for p in range(tariff.n_periods) for t in range(int(tariff.n_tiers[p]))]
    low = min(price[p, t] for p, t in real)
    for p, t in real:
        lo = 0.0 if t == 0 else tariff.tier_max[p, t - 1]
        hi = np.inf if t == int(tariff.n_tiers[p]) - 1 else tariff.tier_max[p, t]
        rows.append({"tariff": key, "period": p + 1, "tier": t + 1, "tier_lo": lo, "tier_hi": hi,
                     "price": price[p, t], "rel_value": round(price[p, t] / low, 4) if rel else np.nan})
    return pd.DataFrame(rows)


def reference_system_demand(loads: pd.DataFrame, weights: pd.Series) -> pd.Series:
    """System demand D_h the long way: merge weights onto every (bldg_id, hour) row, group by hour.

    Parameters
    ----------
    loads : pandas.DataFrame
        :func:`long_loads` (kWh).
    weights : pandas.Series
        Customers per building, indexed by bldg_id.

    Returns
    -------
    pandas.Series
        kWh per hour, indexed by hour.

    References
    ----------
    .. [1] switchbox-data/rate-design-platform, CAIRO ``process_residential_hourly_demand``; ../shared/rate_design_spec.md S2.
    """
    df = loads.reset_index().merge(weights.rename("weight").rename_axis("bldg_id").reset_index(), on="bldg_id")
    df["weighted_load"] = df["weight"] * df["electricity_net"]
    return df.groupby("time")["weighted_load"].sum()


def reference_bat(loads: pd.DataFrame, weights: pd.Series, mc: pd.Series, annual_bills: pd.Series,
                  revenue_requirement: float) -> pd.DataFrame:
    """Economic burden, residual shares and BAT the long way.

    Merges MC onto every row and groups by building for EB and kWh.

    Parameters
    ----------
    loads : pandas.DataFrame
        :func:`long_loads` (kWh).
    weights : pandas.Series
        Customers per building, indexed by bldg_id.
    mc : pandas.Series
        Total marginal cost, $/kWh, indexed by hour position.
    annual_bills : pandas.Series
        Annual_i, $ per year, indexed by bldg_id.
    revenue_requirement : float
        RR, $ per year.

    Returns
    -------
    pandas.DataFrame
        Indexed by bldg_id: ``Annual``, economic burden, residual shares and ``BAT_*`` columns,
        $ per customer-year.

    References
    ----------
    .. [1] S. Simeone et al., "The Bill Alignment Test: Identifying trade-offs with residential
       rate design options", Utilities Policy, 2023. (Eq. 6)
    .. [2] switchbox-data/rate-design-platform, ``utils/mid/patches.py`` (``_patched_return_cross_subsidization_metrics``);
       ../shared/rate_design_spec.md S7-S9.
    """
    df = loads.reset_index().merge(mc.rename("mc").rename_axis("time").reset_index(), on="time")
    df["cost"] = df["electricity_net"] * df["mc"]
    eb = df.groupby("bldg_id")["cost"].sum()
    kwh = df.groupby("bldg_id")["electricity_net"].sum()
    w = weights.reindex(eb.index)
    residual = revenue_requirement - float((w * eb).sum())
    out = pd.DataFrame({"Annual": annual_bills.reindex(eb.index), "customer_level_economic_burden": eb})
    out["customer_level_residual_share_volumetric"] = residual * kwh / (w * kwh).sum()
    out["customer_level_residual_share_percustomer"] = residual / w.sum()
    out["customer_level_residual_share_epmc"] = residual * eb / (w * eb).sum()
    out["weight"] = w
    for k, short in (("volumetric", "vol"), ("percustomer", "percustomer"), ("epmc", "epmc")):
        out[f"BAT_{short}"] = out["Annual"] - (eb + out[f"customer_level_residual_share_{k}"])
    return out


def reference_run(loads: pd.DataFrame, weights: pd.Series, tariff_map: pd.Series, tariffs: dict,
                  mc: pd.Series, calendar: HourCalendar, revenue_requirement: float, run_type: str = "precalc",
                  rr_by_tariff: dict | None = None, peak_hours=None) -> pd.DataFrame:
    """BAT table (indexed by bldg_id) computed the long way.

    Parameters
    ----------
    loads : pandas.DataFrame
        Long frame from :func:`long_loads` (kWh).
    weights : pandas.Series
        Customers per building, indexed by bldg_id.
    tariff_map : pandas.Series
        Tariff key per bldg_id.
    tariffs : dict
        ``{key: Tariff}``.
    mc : pandas.Series
        Total marginal cost, $/kWh, indexed by hour position.
    calendar : HourCalendar
        The run year's hours.
    revenue_requirement : float
        RR, $ per year.
    run_type : {"precalc", "default"}, default "precalc"
        Calibrate the rate level to the RR, or bill at the tariffs' rates.
    rr_by_tariff : dict, optional
        ``{tariff key: RR_k in $ per year}`` (subclass runs).
    peak_hours : list of int, optional
        Hour positions for the peak residual (None: no peak column).

    Returns
    -------
    pandas.DataFrame
        As :func:`reference_bat`, $ per customer-year.

    References
    ----------
    .. [1] S. Simeone et al., "The Bill Alignment Test: Identifying trade-offs with residential
       rate design options", Utilities Policy, 2023.
    .. [2] switchbox-data/rate-design-platform, ``utils/mid/patches.py``; ../shared/rate_design_spec.md S2, S4-S9.
    """
    df = loads.reset_index()
    wdf = weights.rename("weight").rename_axis("bldg_id").reset_index()
    # ---- S2: system demand
    df = df.merge(wdf, on="bldg_id", how="left")
    df["weighted_load"] = df["weight"] * df["electricity_net"]
    demand = df.groupby("time")["weighted_load"].sum()
    # ---- S3: TMC and residual
    mcdf = mc.rename("mc").rename_axis("time").reset_index()
    tmc = float((demand * mc.reindex(demand.index)).sum())
    # ---- S4: demand by month, period, tier
    df = df.merge(_time_table(calendar), on="time", how="left")
    tm = tariff_map.rename("tariff").rename_axis("bldg_id").reset_index()
    df = df.merge(tm, on="bldg_id", how="left")
    parts = []
    tier_tables = []
    for key, t in tariffs.items():
        sub = df[df["tariff"] == key].merge(_period_table(t), on=["month", "hour", "day_type"], how="left")
        q = sub.groupby(["bldg_id", "month", "period"], as_index=False)["electricity_net"].sum()
        q["tariff"] = key
        parts.append(q)
        tier_tables.append(_tier_table(t, key, run_type == "precalc"))
    q = pd.concat(parts, ignore_index=True)
    tiers = pd.concat(tier_tables, ignore_index=True)
    q = q.merge(tiers, on=["tariff", "period"], how="left")
    q["grid_cons"] = (q["electricity_net"].clip(upper=q["tier_hi"]) - q["electricity_net"].clip(upper=q["tier_lo"]))
    q.loc[q["tier"] == 1, "grid_cons"] = q.loc[q["tier"] == 1, "electricity_net"].clip(upper=q.loc[q["tier"] == 1, "tier_hi"])
    q = q.merge(wdf, on="bldg_id", how="left")
    fixed = pd.Series({k: t.fixed_charge for k, t in tariffs.items()}, name="fixed")
    n_months = calendar.n_months
    # ---- S5: precalc calibration
    if run_type == "precalc":
        q["unity"] = q["grid_cons"] * q["rel_value"]
        u = q.groupby(["bldg_id", "tariff", "weight"], as_index=False)["unity"].sum()
        u["fixed_rev"] = u["tariff"].map(fixed) * n_months
        if rr_by_tariff is not None:
            level = {}
            for key, grp in u.groupby("tariff"):
                level[key] = (rr_by_tariff[key] - (grp["weight"] * grp["fixed_rev"]).sum()) / (grp["weight"] * grp["unity"]).sum()
            rr = float(sum(rr_by_tariff[k] for k in level))
        else:
            lv = (revenue_requirement - (u["weight"] * u["fixed_rev"]).sum()) / (u["weight"] * u["unity"]).sum()
            level = {k: lv for k in tariffs}
            rr = revenue_requirement
        q["rate"] = q["tariff"].map(level) * q["rel_value"]
    else:
        q["rate"] = q["price"]
        rr = revenue_requirement
    residual = rr - tmc
    # ---- S6: bills
    q["charge"] = q["grid_cons"] * q["rate"]
    monthly = q.groupby(["bldg_id", "month", "tariff"], as_index=False)["charge"].sum()
    monthly["bill"] = monthly["charge"] + monthly["tariff"].map(fixed)
    minc = pd.Series({k: t.min_charge for k, t in tariffs.items()})
    mc_m = monthly["tariff"].map(minc)
    monthly["bill"] = np.where(mc_m > 0, np.maximum(monthly["bill"], mc_m), monthly["bill"])
    annual = monthly.groupby("bldg_id")["bill"].sum()
    # ---- S7: economic burden
    df = df.merge(mcdf, on="time", how="left")
    df["cost"] = df["electricity_net"] * df["mc"]
    eb = df.groupby("bldg_id")["cost"].sum()
    # ---- S8: residual allocation
    kwh = df.groupby("bldg_id")["electricity_net"].sum()
    w = weights.reindex(annual.index)
    out = pd.DataFrame({"Annual": annual, "customer_level_economic_burden": eb.reindex(annual.index)})
    out["customer_level_residual_share_volumetric"] = residual * kwh / (w * kwh).sum()
    out["customer_level_residual_share_percustomer"] = residual / w.sum()
    out["customer_level_residual_share_epmc"] = residual * out["customer_level_economic_burden"] / (w * out["customer_level_economic_burden"]).sum()
    if peak_hours is not None:
        pk = df[df["time"].isin(list(peak_hours))].groupby("bldg_id")["electricity_net"].sum().reindex(annual.index, fill_value=0.0)
        out["customer_level_residual_share_peak"] = residual * pk / (w * pk).sum()
    out["weight"] = w
    # ---- S9: BAT
    for k, short in (("volumetric", "vol"), ("percustomer", "percustomer"), ("epmc", "epmc"), ("peak", "peak")):
        col = f"customer_level_residual_share_{k}"
        if col in out:
            out[f"BAT_{short}"] = out["Annual"] - (out["customer_level_economic_burden"] + out[col])
    out.attrs.update(residual=residual, tmc=tmc, demand=demand.to_numpy())
    return out


__all__ = ["long_loads", "reference_bat", "reference_run", "reference_system_demand"]

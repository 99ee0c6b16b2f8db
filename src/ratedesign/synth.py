"""Deterministic synthetic ResStock-format dataset (``ratedesign synth``).

For a list of bldg_ids it writes, under ``out`` (local or s3://):

- ``resstock/load_curve_hourly/state=ST/upgrade=UU/{id}-{int(UU)}.parquet`` (8760 hourly rows of
  AMY2018, hour-beginning timestamps; kWh columns as in ResStock, PV stored negative),
- ``resstock/metadata/state=ST/upgrade=UU/metadata-sb.parquet`` (weight, has_hp, heating type...),
- ``resstock/metadata_utility/state=ST/utility_assignment.parquet``,
- ``data.sb/switchbox/marginal_costs/{st}/{dist_and_sub_tx,bulk_tx,supply/energy,supply/capacity}/
  utility={u}/year={Y}/data.parquet`` (+ ``zero.parquet`` for the supply ones),
- ``data.sb/eia/861/electric_utility_stats/year=2024/state=ST/data.parquet``,
- ``tariff_maps/{electric,gas}/synth_*.csv`` for runs that do not bring their own maps.

Shapes: a synthetic weather year (seasonal + diurnal temperature, AR(1) daily anomalies), heating
and cooling from degree-hours, a diurnal/weekday base load, PV on ~8% of roofs, gas heating vs
resistance vs heat pumps; upgrade 02 = heat-pump retrofit of every building. Electric consumption
is scaled so that sum_i w_i^RS * annual total kWh (upgrade 00) equals ``total_kwh``.
Everything derives from ``seed`` and the bldg_id, so the same call gives the same bytes.
"""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from ratedesign.calendar import HOURS_PER_YEAR, shift_year
from ratedesign.fsio import get_fs, join, write_bytes
from ratedesign.loads import GAS, PV, TOTAL, loads_dir

log = logging.getLogger("ratedesign")

HEATING_TYPES = ("natgas", "delivered_fuels", "electrical_resistance", "heat_pump", "other")
HEATING_P = (0.55, 0.22, 0.13, 0.03, 0.07)
SOURCE_YEAR = 2018


@dataclass
class SynthPaths:
    """Where ``synth_dataset`` put things (use with --map-prefix or --set)."""

    resstock_base: str
    data_sb: str
    elec_map: str
    gas_map: str
    n_buildings: int

    def map_prefix_args(self) -> list[str]:
        """--map-prefix values that point the platform's RI scenario paths at this dataset."""
        return [f"/ebs/data/nrel/resstock/res_2024_amy2018_2_sb={self.resstock_base}",
                f"s3://data.sb={self.data_sb}"]


def weather(seed: int) -> np.ndarray:
    """Synthetic hourly outdoor temperature of 2018 in deg C, shape (8760,)."""
    rng = np.random.default_rng([seed, 7])
    h = np.arange(HOURS_PER_YEAR)
    doy, hod = h // 24, h % 24
    anomaly = np.zeros(365)
    e = rng.normal(0, 2.6, 365)
    for d in range(1, 365):
        anomaly[d] = 0.75 * anomaly[d - 1] + e[d]
    return (10.0 - 11.0 * np.cos(2 * np.pi * (doy - 20) / 365) + 4.0 * np.sin(2 * np.pi * (hod - 9) / 24)
            + anomaly[doy])


def _attributes(bldg_id: int, seed: int, hp: bool | None):
    rng = np.random.default_rng([seed, int(bldg_id)])
    p = np.array(HEATING_P)
    if hp is not None:
        p = p.copy()
        if hp:
            p[:] = 0
            p[3] = 1
        else:
            p[3] = 0
        p = p / p.sum()
    heat = HEATING_TYPES[int(rng.choice(len(HEATING_TYPES), p=p))]
    return {
        "heating_type": heat,
        "size": float(rng.lognormal(0.0, 0.35)),
        "has_ac": bool(rng.random() < 0.7),
        "pv_kw": float(rng.uniform(4, 8)) if rng.random() < 0.08 else 0.0,
        "weight_factor": float(rng.uniform(0.8, 1.2)),
        "vintage": str(rng.choice(["<1940", "1940-59", "1960-79", "1980-99", "2000-09", "2010s"])),
        "noise_seed": int(rng.integers(2**31)),
    }


def building_series(bldg_id: int, attrs: dict, temp: np.ndarray, upgrade: str, seed: int) -> dict:
    """Hourly kWh series of one building (2018, unscaled): total, pv (<= 0), gas, heating, cooling."""
    h = np.arange(HOURS_PER_YEAR)
    doy, hod = h // 24, h % 24
    weekend = ((doy + 0) % 7) >= 5  # 2018-01-01 is a Monday
    rng = np.random.default_rng([attrs["noise_seed"], int(upgrade)])
    size = attrs["size"]
    morning = np.exp(-0.5 * ((hod - 7.5) / 1.5) ** 2)
    evening = np.exp(-0.5 * ((hod - 19.0) / 2.5) ** 2)
    base = size * (0.35 + 0.25 * morning + 0.5 * evening) * np.where(weekend & (hod > 9) & (hod < 17), 1.15, 1.0)
    base = base * rng.lognormal(0, 0.08, HOURS_PER_YEAR)
    cooling = (size * 0.13 * np.maximum(0.0, temp - 21.0)) if attrs["has_ac"] else np.zeros(HOURS_PER_YEAR)
    need = size * 0.33 * np.maximum(0.0, 16.0 - temp)  # thermal kWh
    cop = np.clip(1.8 + 0.06 * (temp + 10.0), 1.5, 4.0)
    heat_type = "heat_pump" if upgrade == "02" else attrs["heating_type"]
    gas = np.zeros(HOURS_PER_YEAR)
    if attrs["heating_type"] == "natgas":
        gas = gas + size * 0.45 * (0.6 + 0.8 * morning + 0.6 * evening) / 1.4  # water heating, cooking
    if heat_type == "natgas":
        gas = gas + need / 0.85
        heat_el = 0.03 * need
    elif heat_type == "electrical_resistance":
        heat_el = need
    elif heat_type == "heat_pump":
        heat_el = need / cop
        cooling = cooling * (0.8 if upgrade == "02" else 1.0)
    elif heat_type == "delivered_fuels":
        heat_el = 0.04 * need
    else:
        heat_el = 0.3 * need
    pv = np.zeros(HOURS_PER_YEAR)
    if attrs["pv_kw"] > 0:
        sun = np.maximum(0.0, np.sin(np.pi * (hod - 6) / 13)) ** 1.3
        season = 0.55 + 0.45 * np.cos(2 * np.pi * (doy - 172) / 365)
        cloud = np.random.default_rng([seed, 11, int(bldg_id)]).uniform(0.3, 1.0, 365)[doy]
        pv = -attrs["pv_kw"] * 0.8 * sun * season * cloud
    return {"total": base + cooling + heat_el, "pv": pv, "gas": gas, "heating": heat_el, "cooling": cooling}


def _table(bldg_id: int, s: dict, scale: float) -> pa.Table:
    ts = pa.array(pd.date_range(f"{SOURCE_YEAR}-01-01", periods=HOURS_PER_YEAR, freq="h").to_numpy())
    return pa.table({
        "bldg_id": pa.array(np.full(HOURS_PER_YEAR, int(bldg_id), dtype=np.int64)),
        "timestamp": ts,
        TOTAL: s["total"] * scale,
        PV: s["pv"],
        GAS: s["gas"],
        "out.electricity.heating.energy_consumption": s["heating"] * scale,
        "out.electricity.cooling.energy_consumption": s["cooling"] * scale,
    })


def _write_table(table: pa.Table, path: str, so) -> None:
    buf = io.BytesIO()
    pq.write_table(table, buf)
    write_bytes(path, buf.getvalue(), so)


def _write_df(df: pd.DataFrame, path: str, so) -> None:
    _write_table(pa.Table.from_pandas(df, preserve_index=False), path, so)


def _write_csv(df: pd.DataFrame, path: str, so) -> None:
    write_bytes(path, df.to_csv(index=False).encode(), so)


def _peak_prices(demand: np.ndarray, n_hours: int, budget: float) -> np.ndarray:
    """$/kWh in the top ``n_hours`` of ``demand`` so that sum_h D_h p_h = budget (weights above the
    (n+1)-th highest hour)."""
    order = np.argsort(-demand, kind="stable")
    thresh = demand[order[n_hours]]
    excess = np.maximum(demand - thresh, 0.0)
    excess[order[n_hours:]] = 0.0
    share = excess / excess.sum()
    return np.where(share > 0, budget * share / np.maximum(demand, 1e-12), 0.0)


def synth_dataset(out: str, bldg_ids, *, state: str = "RI", utility: str = "rie", upgrades=("00", "02"),
                  seed: int = 42, total_kwh: float = 3.17e9, resstock_customers: float | None = None,
                  customers: float = 451381.0, hp_ids=None, mc_year: int = 2025, other_utility_ids=(),
                  elec_tariff_key: str = "rie_default", storage_options: dict | None = None,
                  mc_budget_scale: float = 1.0) -> SynthPaths:
    """Write the dataset (see module docstring) and return its paths.

    Args:
        bldg_ids: buildings of ``utility`` (other_utility_ids get ``sb.electric_utility='other'``).
        total_kwh: target of sum_i w_i^RS * annual electric kWh (upgrade 00), kWh.
        resstock_customers: sum of ResStock weights (default 252.3 per building).
        customers: EIA-861 residential customers of the utility.
        hp_ids: buildings with a heat pump in the baseline (default: drawn, ~3%).
        mc_budget_scale: multiplies the yearly $ budgets of the synthetic marginal costs (sized for a
            ~450k-customer utility like RI); use customers / 451381 for other sizes.
    """
    so = storage_options
    ids = [int(b) for b in bldg_ids]
    other = [int(b) for b in other_utility_ids]
    all_ids = ids + other
    upgrades = [f"{int(u):02d}" for u in upgrades]
    hp_set = None if hp_ids is None else {int(b) for b in hp_ids}
    temp = weather(seed)
    attrs = {b: _attributes(b, seed, None if hp_set is None else (b in hp_set)) for b in all_ids}
    rs_total = resstock_customers if resstock_customers is not None else 252.3 * len(all_ids)
    wf = np.array([attrs[b]["weight_factor"] for b in all_ids])
    weights = dict(zip(all_ids, wf * rs_total / wf.sum()))
    res_base = join(out, "resstock")
    data_sb = join(out, "data.sb")

    # pass 1: weighted annual kWh and system demand of upgrade 00 (for the scale factor and the MCs)
    demand = np.zeros(HOURS_PER_YEAR)
    annual = 0.0
    for b in ids:
        s = building_series(b, attrs[b], temp, "00", seed)
        demand += weights[b] * np.maximum(s["total"] + s["pv"], 0.0)
        annual += weights[b] * s["total"].sum()
    scale = total_kwh / annual if annual > 0 else 1.0

    for up in upgrades:
        d = loads_dir(res_base, state, up)
        for b in all_ids:
            s = building_series(b, attrs[b], temp, up, seed)
            _write_table(_table(b, s, scale), join(d, f"{b}-{int(up)}.parquet"), so)
        md = pd.DataFrame({
            "bldg_id": np.array(all_ids, dtype=np.int64),
            "upgrade": int(up),
            "weight": [weights[b] for b in all_ids],
            "applicability": True,
            "postprocess_group.has_hp": [up == "02" or attrs[b]["heating_type"] == "heat_pump" for b in all_ids],
            "postprocess_group.heating_type": ["heat_pump" if up == "02" else attrs[b]["heating_type"] for b in all_ids],
            "postprocess_group.heating_type_v2": ["heat_pump" if up == "02" else attrs[b]["heating_type"] for b in all_ids],
            "in.vintage_acs": [attrs[b]["vintage"] for b in all_ids],
        })
        _write_df(md, join(res_base, "metadata", f"state={state.upper()}", f"upgrade={up}", "metadata-sb.parquet"), so)
    ua = pd.DataFrame({
        "bldg_id": np.array(all_ids, dtype=np.int64),
        "sb.electric_utility": [utility] * len(ids) + ["other"] * len(other),
        "sb.gas_utility": [utility if attrs[b]["heating_type"] == "natgas" else None for b in all_ids],
        "weight": [weights[b] for b in all_ids],
    })
    _write_df(ua, join(res_base, "metadata_utility", f"state={state.upper()}", "utility_assignment.parquet"), so)

    # marginal costs on the mc_year calendar, peaks where the synthetic system peaks
    d25 = shift_year(demand * scale, SOURCE_YEAR, mc_year)
    ts = pd.date_range(f"{mc_year}-01-01", periods=HOURS_PER_YEAR, freq="h")
    c = customers / rs_total
    mc_base = join(data_sb, "switchbox", "marginal_costs", state.lower())
    part = f"utility={utility}"
    yr = f"year={mc_year}"
    dist = _peak_prices(d25 * c, 100, 40e6 * mc_budget_scale)
    _write_df(pd.DataFrame({"timestamp": ts, "mc_upstream_per_kwh": 0.4 * dist, "mc_dist_per_kwh": 0.6 * dist,
                            "mc_total_per_kwh": dist}), join(mc_base, "dist_and_sub_tx", part, yr, "data.parquet"), so)
    _write_df(pd.DataFrame({"timestamp": ts, "bulk_tx_cost_enduse": _peak_prices(d25 * c, 50, 20e6 * mc_budget_scale)}),
              join(mc_base, "bulk_tx", part, yr, "data.parquet"), so)
    rel = d25 / d25.mean()
    rng = np.random.default_rng([seed, 13])
    energy = np.maximum(5.0, 38.0 + 22.0 * (rel - 1.0) + rng.normal(0, 3.0, HOURS_PER_YEAR))  # $/MWh
    _write_df(pd.DataFrame({"timestamp": ts, "energy_cost_enduse": energy}),
              join(mc_base, "supply", "energy", part, yr, "data.parquet"), so)
    _write_df(pd.DataFrame({"timestamp": ts, "capacity_cost_enduse": 1000.0 * _peak_prices(d25 * c, 20, 15e6 * mc_budget_scale)}),
              join(mc_base, "supply", "capacity", part, yr, "data.parquet"), so)
    zero = pd.DataFrame({"timestamp": ts, "energy_cost_enduse": 0.0, "capacity_cost_enduse": 0.0})
    for kind in ("energy", "capacity"):
        _write_df(zero, join(mc_base, "supply", kind, part, yr, "zero.parquet"), so)
    _write_df(pd.DataFrame({"utility_code": [utility], "residential_customers": [int(customers)],
                            "residential_sales_mwh": [float(total_kwh) / 1000.0]}),
              join(data_sb, "eia", "861", "electric_utility_stats", "year=2024", f"state={state.upper()}", "data.parquet"), so)
    elec_map = join(out, "tariff_maps", "electric", "synth_default.csv")
    gas_map = join(out, "tariff_maps", "gas", "synth_u00.csv")
    _write_csv(pd.DataFrame({"bldg_id": all_ids, "tariff_key": elec_tariff_key}), elec_map, so)
    _write_csv(pd.DataFrame({"bldg_id": all_ids, "tariff_key": [
        "rie_heating" if attrs[b]["heating_type"] == "natgas" else "null_gas_tariff" for b in all_ids]}), gas_map, so)
    log.info("synth: %d buildings, upgrades %s, scale %.4f -> %s", len(all_ids), upgrades, scale, out)
    return SynthPaths(resstock_base=res_base, data_sb=data_sb, elec_map=elec_map, gas_map=gas_map,
                      n_buildings=len(all_ids))


def bldg_ids_from_map(path: str, storage_options: dict | None = None) -> tuple[list[int], list[int]]:
    """(all bldg_ids, heat-pump bldg_ids) of a tariff map CSV; HP = tariff_key containing 'hp' but
    not 'nonhp'/'non-hp'."""
    fs, p = get_fs(path, storage_options)
    with fs.open(p, "rb") as f:
        df = pd.read_csv(f)
    key = df["tariff_key"].astype(str).str.lower()
    hp = key.str.contains("hp") & ~key.str.contains("nonhp|non-hp|non_hp")
    return df["bldg_id"].astype(int).tolist(), df.loc[hp, "bldg_id"].astype(int).tolist()

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

Shapes: a synthetic weather year per state (seasonal + diurnal temperature with the state's
climate, AR(1) daily anomalies seeded by the state), heating and cooling from degree-hours, a
diurnal/weekday base load, PV on ~8% of roofs, gas heating vs resistance vs heat pumps; upgrade 02
= heat-pump retrofit of every building.

**Per-home kWh.** Each building's electricity is scaled so that its baseline (upgrade 00) annual
consumption equals a typical annual kWh for its building type and heating fuel
(``TYPICAL_ANNUAL_KWH``, of the order of EIA RECS 2020 averages for the Northeast/Mid-Atlantic)
times a lognormal spread; upgrade 02 keeps the same scale, so the retrofit changes kWh physically.
Per-home loads are therefore plausible whatever ``--limit`` is. (``total_kwh`` is still accepted:
it rescales everything so that sum_i w_i^RS * annual kWh equals it, the old behaviour.)

**Weights.** ``weight`` (ResStock's column) is the number of dwellings a sample building
represents: ``customers / n`` for the n buildings of the utility's sample (the ids given), so that
the sample represents the utility's residential customers. Runs rescale weights to the revenue
requirement's (or EIA-861's) customer count anyway (CAIRO's ``return_buildingstock``; the platform's
``utils/pre/reweight_customer_counts.py``; ../shared/rate_design_spec.md S0).

**Several utilities in one dataset.** Everything of a utility is written under its own keys
(loads by bldg_id, MCs under ``utility=<u>``, maps ``synth_<u>_*.csv``); the state-level files
(metadata per upgrade, utility assignment, EIA-861) are rebuilt from per-utility fragments under
``_synth/``, so writing NY's ``coned`` never overwrites NY's ``nimo`` or RI's ``rie``.
Everything derives from ``seed``, the state and the bldg_id, so the same call gives the same bytes.
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
    """Where ``synth_dataset`` put things (use with --map-prefix or --set).

    Parameters
    ----------
    resstock_base : str
        ResStock-format release directory (metadata, ``load_curve_hourly``).
    data_sb : str
        Root of the platform-format data (utility assignment, marginal costs, EIA-861).
    elec_map : str
        The synthetic electric tariff map CSV.
    gas_map : str
        The synthetic gas tariff map CSV.
    n_buildings : int
        Buildings written for the utility.
    """

    resstock_base: str
    data_sb: str
    elec_map: str
    gas_map: str
    n_buildings: int

    def map_prefix_args(self) -> list[str]:
        """--map-prefix values that point the platform's RI scenario paths at this dataset."""
        return [f"/ebs/data/nrel/resstock/res_2024_amy2018_2_sb={self.resstock_base}",
                f"s3://data.sb={self.data_sb}"]


#: (annual mean, seasonal amplitude, diurnal amplitude) of the synthetic temperature, deg C, per state
CLIMATE = {"RI": (10.0, 11.0, 4.0), "NY": (9.0, 13.0, 5.0), "CT": (10.0, 12.0, 4.5), "MD": (13.5, 11.5, 5.0)}
#: typical baseline annual kWh of a home by building type and heating fuel (order of EIA RECS 2020,
#: Northeast / Mid-Atlantic); a home's synthetic load is scaled to this times a lognormal spread
TYPICAL_ANNUAL_KWH = {
    ("single_family", "natgas"): 8500.0, ("single_family", "delivered_fuels"): 8000.0,
    ("single_family", "electrical_resistance"): 15500.0, ("single_family", "heat_pump"): 13000.0,
    ("single_family", "other"): 9000.0,
    ("multifamily", "natgas"): 5200.0, ("multifamily", "delivered_fuels"): 5000.0,
    ("multifamily", "electrical_resistance"): 8800.0, ("multifamily", "heat_pump"): 7600.0,
    ("multifamily", "other"): 5600.0,
}
#: natural-gas tariff keys a synthetic gas map uses, per utility (heating, non-heating) or per state
GAS_KEYS = {"rie": ("rie_heating", "rie_nonheating"), "coned": ("coned_sf_heating", "coned_nonheating"),
            "nimo": ("nimo", "nimo"), "nyseg": ("nyseg_heating", "nyseg_nonheating"), "rge": ("rge", "rge"),
            "cenhud": ("cenhud", "cenhud"), "or": ("or", "or"), "psegli": ("kedli_sf_heating", "kedli_sf_nonheating"),
            "ct_eversource": ("yankee_gas_heating", "yankee_gas_nonheating"),
            "bge": ("bge_residential", "bge_residential"),
            "RI": ("rie_heating", "rie_nonheating"), "NY": ("coned_sf_heating", "coned_nonheating"),
            "CT": ("yankee_gas_heating", "yankee_gas_nonheating"), "MD": ("bge_residential", "bge_residential")}


def weather(seed: int, state: str = "RI") -> np.ndarray:
    """Synthetic hourly outdoor temperature of 2018 in deg C, shape (8760,), for ``state``.

    Parameters
    ----------
    seed : int
        Dataset seed.
    state : str
        Two-letter state; its climate (``CLIMATE``) and its own anomaly stream, so NY, CT and MD
        shapes differ from RI's. Unknown states use RI's climate with their own anomalies.

    Returns
    -------
    ndarray, shape (8760,)
        deg C, hour-beginning, 2018-01-01 00:00 first.
    """
    st = str(state).upper()
    mean, seas, diur = CLIMATE.get(st, CLIMATE["RI"])
    code = sum(ord(c) * 31 ** i for i, c in enumerate(st)) if st != "RI" else 0
    rng = np.random.default_rng([seed, 7] if st == "RI" else [seed, 7, code])
    h = np.arange(HOURS_PER_YEAR)
    doy, hod = h // 24, h % 24
    anomaly = np.zeros(365)
    e = rng.normal(0, 2.6, 365)
    for d in range(1, 365):
        anomaly[d] = 0.75 * anomaly[d - 1] + e[d]
    return (mean - seas * np.cos(2 * np.pi * (doy - 20) / 365) + diur * np.sin(2 * np.pi * (hod - 9) / 24)
            + anomaly[doy])


def _attributes(bldg_id: int, seed: int, hp: bool | None, eheat: bool | None = None):
    """Attributes of one synthetic building; ``hp`` / ``eheat`` (True/False/None = draw) pin the heating
    type to the real maps' classes: heat pump, electric heating (heat pump or resistance), or neither."""
    rng = np.random.default_rng([seed, int(bldg_id)])
    p = np.array(HEATING_P)
    if hp is not None or eheat is not None:
        p = p.copy()
        if hp:
            p[:] = 0
            p[3] = 1
        else:
            if hp is False:
                p[3] = 0
            if eheat is True:
                p[[0, 1, 4]] = 0
                if p.sum() == 0:
                    p[2] = 1
            elif eheat is False:
                p[[2, 3]] = 0
        p = p / p.sum()
    heat = HEATING_TYPES[int(rng.choice(len(HEATING_TYPES), p=p))]
    btype = "multifamily" if rng.random() < 0.35 else "single_family"
    return {
        "building_type": btype,
        "kwh_spread": float(rng.lognormal(0.0, 0.25)),
        "heating_type": heat,
        "size": float(rng.lognormal(0.0, 0.35)),
        "has_ac": bool(rng.random() < 0.7),
        "pv_kw": float(rng.uniform(4, 8)) if rng.random() < 0.08 else 0.0,
        "weight_factor": float(rng.uniform(0.8, 1.2)),
        "vintage": str(rng.choice(["<1940", "1940-59", "1960-79", "1980-99", "2000-09", "2010s"])),
        "noise_seed": int(rng.integers(2**31)),
    }


def building_series(bldg_id: int, attrs: dict, temp: np.ndarray, upgrade: str, seed: int) -> dict:
    """Hourly kWh series of one building (2018, unscaled): total, pv (<= 0), gas, heating, cooling.

    Parameters
    ----------
    bldg_id : int
        The building (seeds its own random stream).
    attrs : dict
        Its metadata attributes (building type, heating type, PV, ...).
    temp : ndarray, shape (8760,)
        Outdoor temperature, deg C (:func:`weather`).
    upgrade : str
        ResStock upgrade ("00" baseline, "02" heat-pump retrofit).
    seed : int
        Dataset seed.

    Returns
    -------
    dict
        ``{"total", "pv", "gas", "heating", "cooling", "fuel_oil": ndarray, shape (8760,)}``, kWh per hour.
    """
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
    oil = np.zeros(HOURS_PER_YEAR)
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
        oil = need / 0.82
    else:
        heat_el = 0.3 * need
    pv = np.zeros(HOURS_PER_YEAR)
    if attrs["pv_kw"] > 0:
        sun = np.maximum(0.0, np.sin(np.pi * (hod - 6) / 13)) ** 1.3
        season = 0.55 + 0.45 * np.cos(2 * np.pi * (doy - 172) / 365)
        cloud = np.random.default_rng([seed, 11, int(bldg_id)]).uniform(0.3, 1.0, 365)[doy]
        pv = -attrs["pv_kw"] * 0.8 * sun * season * cloud
    return {"total": base + cooling + heat_el, "pv": pv, "gas": gas, "heating": heat_el, "cooling": cooling,
            "fuel_oil": oil}


#: electric end uses of a ResStock hourly file (``out.electricity.<end use>.energy_consumption``) with the
#: share of the synthetic base load each gets in ``--wide`` files (heating, cooling, PV and total are
#: the series themselves; shares of the other end uses sum to 1)
WIDE_ELECTRIC_BASE_SHARES = {
    "ceiling_fan": 0.01, "clothes_dryer": 0.06, "clothes_washer": 0.01, "dishwasher": 0.02, "freezer": 0.02,
    "hot_water": 0.12, "lighting_exterior": 0.02, "lighting_garage": 0.01, "lighting_interior": 0.08,
    "mech_vent": 0.03, "permanent_spa_heat": 0.0, "permanent_spa_pump": 0.0, "plug_loads": 0.34,
    "pool_heater": 0.0, "pool_pump": 0.0, "range_oven": 0.05, "refrigerator": 0.09, "television": 0.06,
    "well_pump": 0.02, "battery": 0.0, "vehicle": 0.0, "cooling_fans_pumps": 0.03, "heating_fans_pumps": 0.03,
}
#: natural gas, fuel oil and propane end uses of ``--wide`` files, with their share of the fuel's total
WIDE_FUEL_SHARES = {
    "natural_gas": {"heating": 0.70, "hot_water": 0.20, "clothes_dryer": 0.03, "range_oven": 0.05, "fireplace": 0.01,
                    "grill": 0.0, "lighting": 0.0, "pool_heater": 0.0, "permanent_spa_heat": 0.01},
    "fuel_oil": {"heating": 0.85, "hot_water": 0.15},
    "propane": {"heating": 0.75, "hot_water": 0.15, "clothes_dryer": 0.04, "range_oven": 0.06},
}


def _table(bldg_id: int, s: dict, scale: float, wide: bool = False) -> pa.Table:
    """One building's hourly file; ``wide``: every end use of a ResStock file (``synth --wide``)."""
    ts = pa.array(pd.date_range(f"{SOURCE_YEAR}-01-01", periods=HOURS_PER_YEAR, freq="h").to_numpy())
    cols = {
        TOTAL: s["total"] * scale,
        PV: s["pv"],
        GAS: s["gas"],
        "out.electricity.heating.energy_consumption": s["heating"] * scale,
        "out.electricity.cooling.energy_consumption": s["cooling"] * scale,
    }
    if wide:
        base = (s["total"] - s["heating"] - s["cooling"]) * scale
        for use, share in WIDE_ELECTRIC_BASE_SHARES.items():
            cols[f"out.electricity.{use}.energy_consumption"] = base * share
        cols["out.electricity.net.energy_consumption"] = s["total"] * scale + s["pv"]
        cols["out.electricity.heating_hp_bkup.energy_consumption"] = np.zeros(HOURS_PER_YEAR)
        fuels = {"natural_gas": s["gas"], "fuel_oil": s.get("fuel_oil", np.zeros(HOURS_PER_YEAR)),
                 "propane": np.zeros(HOURS_PER_YEAR)}
        for fuel, series in fuels.items():
            if fuel != "natural_gas":
                cols[f"out.{fuel}.total.energy_consumption"] = series
            for use, share in WIDE_FUEL_SHARES[fuel].items():
                cols[f"out.{fuel}.{use}.energy_consumption"] = series * share
        cols["out.site_energy.total.energy_consumption"] = (s["total"] * scale + s["gas"] + fuels["fuel_oil"]
                                                            + fuels["propane"])
        cols["out.load.heating.energy_delivered.kbtu"] = s["heating"] * scale * 3.412
        cols["out.load.cooling.energy_delivered.kbtu"] = s["cooling"] * scale * 3.412
        cols = dict(sorted(cols.items()))  # column order of the ResStock files: by name
    return pa.table({"bldg_id": pa.array(np.full(HOURS_PER_YEAR, int(bldg_id), dtype=np.int64)), "timestamp": ts,
                     **cols})


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


def _read_fragments(directory: str, so) -> pd.DataFrame | None:
    fs, p = get_fs(directory, so)
    if not fs.exists(p):
        return None
    files = sorted(f for f in fs.find(p) if f.endswith(".parquet"))
    if not files:
        return None
    frames = []
    for f in files:
        with fs.open(f, "rb") as fh:
            frames.append(pq.read_table(fh).to_pandas())
    return pd.concat(frames, ignore_index=True)


def _rebuild_state_file(fragments_dir: str, target: str, so, key: str = "bldg_id") -> None:
    """The union of every utility's fragment, in fragment (utility) order, written to ``target``."""
    df = _read_fragments(fragments_dir, so)
    if df is not None:
        _write_df(df.drop_duplicates(subset=[key], keep="last") if key in df.columns else df, target, so)


def synth_dataset(out: str, bldg_ids, *, state: str = "RI", utility: str = "rie", upgrades=("00", "02"),
                  seed: int = 42, total_kwh: float | None = None, resstock_customers: float | None = None,
                  customers: float = 451381.0, hp_ids=None, mc_year: int = 2025, other_utility_ids=(),
                  elec_tariff_key: str | None = None, storage_options: dict | None = None,
                  mc_budget_scale: float | None = None, load_ids=None, eheat_ids=None,
                  wide: bool = False) -> SynthPaths:
    """Write one utility's synthetic data into the dataset ``out`` (see module docstring).

    Parameters
    ----------
    out : str
        Dataset root (local or s3://); other utilities already there are kept.
    bldg_ids : sequence of int
        The utility's buildings, in the order the utility assignment lists them.
    state : str
        Two-letter state (``state=ST`` partitions).
    utility : str
        Utility code (``utility=<u>`` MC partitions).
    upgrades : sequence of str
        Upgrades to write loads and metadata for ("00" baseline, "02" heat-pump retrofit).
    seed : int
        Dataset seed.
    total_kwh : float, optional
        If given, rescale so that sum_i w_i^RS * annual kWh (upgrade 00) = total_kwh (kWh);
        default: per-home typical kWh (``TYPICAL_ANNUAL_KWH``).
    resstock_customers : float, optional
        Sum of the ResStock weights of ``bldg_ids`` (default ``customers``): dwellings represented.
    customers : float
        EIA-861 residential customers of the utility.
    hp_ids : sequence of int, optional
        Buildings with a heat pump in the baseline (default: drawn, ~3%).
    other_utility_ids : sequence of int
        Buildings of no utility of interest (``sb.electric_utility = 'other'``).
    elec_tariff_key : str, optional
        tariff_key of the synthetic electric map (default ``<utility>_default``).
    mc_budget_scale : float, optional
        Multiplies the yearly $ budgets of the synthetic marginal costs (default customers / 451,381,
        RI's size).
    load_ids : sequence of int, optional
        Write load files only for these buildings (e.g. a run's sample); metadata covers all.
    eheat_ids : sequence of int, optional
        Buildings with electric heating (heat pump or resistance) in the baseline, e.g. from the
        platform's ``*_elec_heat_*_vs_non_elec_heat.csv`` maps; the others get non-electric heating.
    wide : bool, default False
        Write every end-use column of a ResStock hourly file (about 50: electricity by end use,
        natural gas, fuel oil and propane by end use, site energy, delivered loads), sorted by name
        as in ResStock, instead of the seven columns a run reads or reports; runs read the same
        three columns either way (``synth --wide``, to measure column projection).

    mc_year : int
        Year of the synthetic marginal costs' timestamps.
    storage_options : dict, optional
        fsspec options when ``out`` is a URL.

    Returns
    -------
    SynthPaths
        Where the files are.
    """
    so = storage_options
    st = state.upper()
    ids = list(dict.fromkeys(int(b) for b in bldg_ids))
    other = [int(b) for b in other_utility_ids]
    all_ids = ids + other
    upgrades = [f"{int(u):02d}" for u in upgrades]
    hp_set = None if hp_ids is None else {int(b) for b in hp_ids}
    temp = weather(seed, st)
    eh_set = None if eheat_ids is None else {int(b) for b in eheat_ids}
    attrs = {b: _attributes(b, seed, None if hp_set is None else (b in hp_set),
                            None if eh_set is None else (b in eh_set)) for b in all_ids}
    rs_total = resstock_customers if resstock_customers is not None else float(customers)
    wf = np.array([attrs[b]["weight_factor"] for b in all_ids])
    weights = dict(zip(all_ids, wf * rs_total / wf[: len(ids)].sum()))
    res_base = join(out, "resstock")
    data_sb = join(out, "data.sb")
    mc_scale = mc_budget_scale if mc_budget_scale is not None else float(customers) / 451381.0
    elec_tariff_key = elec_tariff_key or f"{utility}_default"

    wanted = None if load_ids is None else {int(b) for b in load_ids}
    # per-building scale: typical annual kWh of the home's type and heating fuel (upgrade 00); with
    # load_ids only those buildings' series are computed and the system demand behind the synthetic
    # marginal costs is scaled up from them by weight
    scales, base_annual = {}, {}
    other_set = set(other)
    demand = np.zeros(HOURS_PER_YEAR)
    calc = all_ids if wanted is None else [b for b in all_ids if b in wanted]
    for b in calc:
        s0 = building_series(b, attrs[b], temp, "00", seed)
        a = attrs[b]
        target = TYPICAL_ANNUAL_KWH[(a["building_type"], a["heating_type"])] * a["kwh_spread"]
        annual = float(s0["total"].sum())
        scales[b] = target / annual if annual > 0 else 1.0
        base_annual[b] = annual
        if b not in other_set:
            demand += weights[b] * np.maximum(s0["total"] * scales[b] + s0["pv"], 0.0)
    w_calc = sum(weights[b] for b in calc if b not in other_set)
    w_all = sum(weights[b] for b in ids)
    expand = w_all / w_calc if w_calc > 0 else 1.0
    demand *= expand
    if total_kwh is not None:
        cur = expand * sum(weights[b] * base_annual[b] * scales[b] for b in calc if b not in other_set)
        f = float(total_kwh) / cur if cur > 0 else 1.0
        scales = {b: v * f for b, v in scales.items()}
        demand *= f
        per_home = total_kwh / rs_total
        if not 2000.0 <= per_home <= 40000.0:
            log.warning("synth: total_kwh %.3g over %.0f represented homes is %.0f kWh per home per year; "
                        "typical homes use 5,000-16,000", total_kwh, rs_total, per_home)

    frag = join(res_base, "_synth", f"state={st}", f"utility={utility}")
    for up in upgrades:
        d = loads_dir(res_base, state, up)
        for b in all_ids:
            if wanted is not None and b not in wanted:
                continue
            s = building_series(b, attrs[b], temp, up, seed)
            _write_table(_table(b, s, scales[b], wide), join(d, f"{b}-{int(up)}.parquet"), so)
        md = pd.DataFrame({
            "bldg_id": np.array(all_ids, dtype=np.int64),
            "upgrade": int(up),
            "weight": [weights[b] for b in all_ids],
            "applicability": True,
            "postprocess_group.has_hp": [up == "02" or attrs[b]["heating_type"] == "heat_pump" for b in all_ids],
            "postprocess_group.heating_type": ["heat_pump" if up == "02" else attrs[b]["heating_type"] for b in all_ids],
            "postprocess_group.heating_type_v2": ["heat_pump" if up == "02" else attrs[b]["heating_type"] for b in all_ids],
            "in.geometry_building_type_recs": [attrs[b]["building_type"] for b in all_ids],
            "in.vintage_acs": [attrs[b]["vintage"] for b in all_ids],
        })
        _write_df(md, join(frag, f"metadata-{up}.parquet"), so)
        _rebuild_state_file_pattern(join(res_base, "_synth", f"state={st}"), f"metadata-{up}.parquet",
                                    join(res_base, "metadata", f"state={st}", f"upgrade={up}", "metadata-sb.parquet"), so)
    heating, nonheating = GAS_KEYS.get(utility, GAS_KEYS.get(st, ("rie_heating", "rie_nonheating")))
    ua = pd.DataFrame({
        "bldg_id": np.array(all_ids, dtype=np.int64),
        "sb.electric_utility": [utility] * len(ids) + ["other"] * len(other),
        "sb.gas_utility": [utility if attrs[b]["heating_type"] == "natgas" else None for b in all_ids],
        "weight": [weights[b] for b in all_ids],
    })
    _write_df(ua, join(frag, "assignment.parquet"), so)
    _rebuild_state_file_pattern(join(res_base, "_synth", f"state={st}"), "assignment.parquet",
                                join(res_base, "metadata_utility", f"state={st}", "utility_assignment.parquet"), so)

    # marginal costs on the mc_year calendar, peaks where the synthetic system peaks
    d25 = shift_year(demand, SOURCE_YEAR, mc_year)
    ts = pd.date_range(f"{mc_year}-01-01", periods=HOURS_PER_YEAR, freq="h")
    c = customers / rs_total
    mc_base = join(data_sb, "switchbox", "marginal_costs", state.lower())
    part = f"utility={utility}"
    yr = f"year={mc_year}"
    dist = _peak_prices(d25 * c, 100, 40e6 * mc_scale)
    _write_df(pd.DataFrame({"timestamp": ts, "mc_upstream_per_kwh": 0.4 * dist, "mc_dist_per_kwh": 0.6 * dist,
                            "mc_total_per_kwh": dist}), join(mc_base, "dist_and_sub_tx", part, yr, "data.parquet"), so)
    _write_df(pd.DataFrame({"timestamp": ts, "bulk_tx_cost_enduse": _peak_prices(d25 * c, 50, 20e6 * mc_scale)}),
              join(mc_base, "bulk_tx", part, yr, "data.parquet"), so)
    rel = d25 / d25.mean()
    rng = np.random.default_rng([seed, 13])
    energy = np.maximum(5.0, 38.0 + 22.0 * (rel - 1.0) + rng.normal(0, 3.0, HOURS_PER_YEAR))  # $/MWh
    _write_df(pd.DataFrame({"timestamp": ts, "energy_cost_enduse": energy}),
              join(mc_base, "supply", "energy", part, yr, "data.parquet"), so)
    _write_df(pd.DataFrame({"timestamp": ts, "capacity_cost_enduse": 1000.0 * _peak_prices(d25 * c, 20, 15e6 * mc_scale)}),
              join(mc_base, "supply", "capacity", part, yr, "data.parquet"), so)
    zero = pd.DataFrame({"timestamp": ts, "energy_cost_enduse": 0.0, "capacity_cost_enduse": 0.0})
    for kind in ("energy", "capacity"):
        _write_df(zero, join(mc_base, "supply", kind, part, yr, "zero.parquet"), so)
    annual_sales = expand * float(sum(weights[b] * base_annual[b] * scales[b] for b in calc if b not in other_set)) * c
    eia_dir = join(data_sb, "eia", "861", "electric_utility_stats", "year=2024", f"state={st}")
    _write_df(pd.DataFrame({"utility_code": [utility], "residential_customers": [int(customers)],
                            "residential_sales_mwh": [annual_sales / 1000.0]}),
              join(eia_dir, "_synth", f"utility={utility}.parquet"), so)
    _rebuild_state_file(join(eia_dir, "_synth"), join(eia_dir, "data.parquet"), so, key="utility_code")
    elec_map = join(out, "tariff_maps", "electric", f"synth_{utility}_default.csv")
    gas_map = join(out, "tariff_maps", "gas", f"synth_{utility}_u00.csv")
    _write_csv(pd.DataFrame({"bldg_id": all_ids, "tariff_key": elec_tariff_key}), elec_map, so)
    _write_csv(pd.DataFrame({"bldg_id": all_ids, "tariff_key": [
        (heating if attrs[b]["building_type"] == "single_family" else nonheating)
        if attrs[b]["heating_type"] == "natgas" else "null_gas_tariff" for b in all_ids]}), gas_map, so)
    log.info("synth: %s/%s: %d buildings (%s load files), upgrades %s -> %s", st, utility, len(all_ids),
             "all" if wanted is None else len(wanted), upgrades, out)
    return SynthPaths(resstock_base=res_base, data_sb=data_sb, elec_map=elec_map, gas_map=gas_map,
                      n_buildings=len(all_ids))


def _rebuild_state_file_pattern(fragments_dir: str, name: str, target: str, so) -> None:
    fs, p = get_fs(fragments_dir, so)
    files = sorted(f for f in fs.find(p) if f.endswith("/" + name))
    frames = []
    for f in files:
        with fs.open(f, "rb") as fh:
            frames.append(pq.read_table(fh).to_pandas())
    if frames:
        _write_df(pd.concat(frames, ignore_index=True).drop_duplicates(subset=["bldg_id"], keep="last"), target, so)


def bldg_ids_from_map(path: str, storage_options: dict | None = None) -> tuple[list[int], list[int]]:
    """All bldg_ids and heat-pump bldg_ids of a tariff map CSV.

    Parameters
    ----------
    path : str
        Tariff map CSV ``bldg_id,tariff_key`` (local path or URL).
    storage_options : dict, optional
        fsspec options for URLs.

    Returns
    -------
    tuple of (list of int, list of int)
        All bldg_ids, and those whose tariff_key contains 'hp' but not 'nonhp'/'non-hp'.
    """
    fs, p = get_fs(path, storage_options)
    with fs.open(p, "rb") as f:
        df = pd.read_csv(f)
    key = df["tariff_key"].astype(str).str.lower()
    hp = key.str.contains("hp") & ~key.str.contains("nonhp|non-hp|non_hp")
    return df["bldg_id"].astype(int).tolist(), df.loc[hp, "bldg_id"].astype(int).tolist()


__all__ = ["CLIMATE", "GAS_KEYS", "HEATING_P", "HEATING_TYPES", "SOURCE_YEAR", "SynthPaths", "TYPICAL_ANNUAL_KWH",
           "WIDE_ELECTRIC_BASE_SHARES", "WIDE_FUEL_SHARES",
           "bldg_ids_from_map", "building_series", "synth_dataset", "weather"]

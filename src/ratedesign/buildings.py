"""S0: the utility's buildings, their weights and their electric and gas tariffs.

Weights are rescaled to the utility's customer count C: w_i = w_i^RS * C / sum_j w_j^RS, with C
from the scenario's ``customer_count``, else the RR YAML's ``test_year_customer_count``, else the
EIA-861 file (``utility_code``, ``residential_customers``); with none of them the ResStock weights
are kept.
"""

from __future__ import annotations

import io
import logging
import random
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ratedesign.errors import InputError
from ratedesign.fsio import get_fs, join, read_parquet_df
from ratedesign.tariff import load_tariff

log = logging.getLogger("ratedesign")

METADATA_COLUMNS = ("applicability", "postprocess_group.has_hp", "postprocess_group.heating_type",
                    "postprocess_group.heating_type_v2", "in.vintage_acs")


@dataclass
class BuildingSet:
    """The buildings of one run, sorted by bldg_id.

    Attributes:
        bldg_id: (n,) int64.
        weight: (n,) customers per building after rescaling (sum = customer count).
        weight_resstock: (n,) the metadata weights.
        elec_tariff: (n,) index into ``elec_keys``.
        elec_keys: electric tariff keys.
        gas_tariff: (n,) index into ``gas_keys`` or None when the run has no gas map.
        gas_keys: gas tariff keys.
        metadata: DataFrame indexed like bldg_id with the metadata columns kept for outputs.
        customer_count: C (customers), sum of ``weight``.
    """

    bldg_id: np.ndarray
    weight: np.ndarray
    weight_resstock: np.ndarray
    elec_tariff: np.ndarray
    elec_keys: list
    gas_tariff: np.ndarray | None
    gas_keys: list
    metadata: pd.DataFrame
    customer_count: float

    def __len__(self) -> int:
        return int(self.bldg_id.shape[0])


def read_tariff_map(path: str, what: str, storage_options: dict | None = None) -> pd.Series:
    """Tariff map CSV ``bldg_id,tariff_key`` -> Series tariff_key indexed by bldg_id."""
    fs, p = get_fs(path, storage_options)
    try:
        with fs.open(p, "rb") as f:
            df = pd.read_csv(io.BytesIO(f.read()))
    except FileNotFoundError:
        raise InputError(f"{what}: file not found: {path}") from None
    for col in ("bldg_id", "tariff_key"):
        if col not in df.columns:
            raise InputError(f"{what} {path}: column {col!r} is missing; expected columns bldg_id,tariff_key")
    if df["bldg_id"].duplicated().any():
        dup = int(df.loc[df["bldg_id"].duplicated(), "bldg_id"].iloc[0])
        raise InputError(f"{what} {path}: bldg_id {dup} appears more than once")
    return df.set_index(df["bldg_id"].astype(np.int64))["tariff_key"].astype(str)


def assign_tariffs(bldg_ids: np.ndarray, tariff_map: pd.Series, known: list, path: str, what: str) -> np.ndarray:
    """Index into ``known`` of each building's tariff; errors name the map and the bad rows."""
    missing = ~np.isin(bldg_ids, tariff_map.index.to_numpy())
    if missing.any():
        ids = bldg_ids[missing][:5].tolist()
        raise InputError(f"{what} {path}: no tariff_key for {int(missing.sum())} building(s) of the run, "
                         f"e.g. bldg_id {ids}")
    keys = tariff_map.reindex(bldg_ids).to_numpy()
    lookup = {k: i for i, k in enumerate(known)}
    unknown = sorted(set(keys) - set(lookup))
    if unknown:
        bad = int(bldg_ids[keys == unknown[0]][0])
        raise InputError(f"{what} {path}: tariff_key {unknown[0]!r} (bldg_id {bad}) names an unknown tariff; "
                         f"known tariffs: {', '.join(known)}")
    return np.array([lookup[k] for k in keys], dtype=np.int64)


def electric_tariffs(paths: dict, storage_options: dict | None = None) -> dict:
    """{tariff key (JSON stem): Tariff} from ``path_tariffs_electric`` values."""
    out = {}
    for sub, p in paths.items():
        t = load_tariff(p, storage_options)
        out[t.key] = t
    return out


def gas_tariffs(directory_or_paths, keys, storage_options: dict | None = None) -> dict:
    """{key: Tariff} for the gas tariff keys used, from ``{dir}/{key}.json`` (or a {key: path} map)."""
    out = {}
    for k in sorted(set(keys)):
        if isinstance(directory_or_paths, dict):
            if k not in directory_or_paths:
                raise InputError(f"path_tariffs_gas: no tariff file for gas tariff_key {k!r}")
            p = directory_or_paths[k]
        else:
            p = join(directory_or_paths, f"{k}.json")
        out[k] = load_tariff(p, storage_options, key=k)
    return out


def eia_customer_count(path: str, utility: str, storage_options: dict | None = None) -> float:
    """Residential customers of ``utility`` in an EIA-861 parquet (``utility_code``, ``residential_customers``)."""
    df = read_parquet_df(path, "path_electric_utility_stats", ["utility_code", "residential_customers"],
                         storage_options)
    rows = df[df["utility_code"].astype(str) == str(utility)]
    if len(rows) != 1:
        raise InputError(f"path_electric_utility_stats {path}: expected one row with utility_code={utility!r}, "
                         f"found {len(rows)}")
    return float(rows["residential_customers"].iloc[0])


def utility_bldg_ids(ua: pd.DataFrame, utility: str, source: str = "path_utility_assignment") -> list[int]:
    """bldg_ids with ``sb.electric_utility == utility``, in the assignment file's row order.

    Parameters
    ----------
    ua : DataFrame
        The utility assignment (columns ``bldg_id``, ``sb.electric_utility``).
    utility : str
        Utility code (e.g. ``rie``, ``coned``).
    source : str
        The file, for messages.

    Returns
    -------
    list of int
        Unique bldg_ids, first occurrence order (the order the platform samples from).

    Raises
    ------
    InputError
        When a column is missing or no building belongs to the utility.
    """
    for col in ("bldg_id", "sb.electric_utility"):
        if col not in ua.columns:
            raise InputError(f"path_utility_assignment {source}: column {col!r} is missing")
    sel = ua.loc[ua["sb.electric_utility"].astype(str) == str(utility), "bldg_id"].astype(np.int64)
    ids = list(dict.fromkeys(int(b) for b in sel.to_numpy()))
    if not ids:
        raise InputError(f"path_utility_assignment {source}: no building has sb.electric_utility == {utility!r}")
    return ids


def sample_bldg_ids(ids: list, sample_size: int | None) -> list[int]:
    """The platform's building sample: ``random.Random(42).sample(ids, n)`` over ``ids`` in file order.

    Parameters
    ----------
    ids : list of int
        The utility's bldg_ids in the utility assignment file's order (:func:`utility_bldg_ids`).
    sample_size : int or None
        Buildings to draw; None (or >= len(ids)) keeps every building.

    Returns
    -------
    list of int
        The sample in draw order (callers sort it for the run).

    References
    ----------
    switchbox-data/rate-design-platform, ``rate_design/hp_rates/run_scenario.py``
    (``_load_prototype_ids_for_run``, ``apply_prototype_sample``): the ids come from the
    assignment parquet filtered by utility, unsorted, and are drawn with ``random.Random(42)``.
    """
    if sample_size is None or int(sample_size) >= len(ids):
        return list(ids)
    return random.Random(42).sample(list(ids), int(sample_size))


def select_buildings(cfg, elec_keys: list, with_gas: bool, customer_count: float | None,
                     storage_options: dict | None = None, group_col: str | None = None) -> BuildingSet:
    """S0 for a ScenarioConfig: filter the utility assignment, sample, weights, tariff maps."""
    so = storage_options
    ua = read_parquet_df(cfg.path_utility_assignment, "path_utility_assignment", storage_options=so)
    ids = np.sort(np.array(sample_bldg_ids(utility_bldg_ids(ua, cfg.utility, cfg.path_utility_assignment),
                                           cfg.sample_size), dtype=np.int64))

    meta = read_parquet_df(cfg.path_resstock_metadata, "path_resstock_metadata", storage_options=so)
    if "bldg_id" not in meta.columns:
        raise InputError(f"path_resstock_metadata {cfg.path_resstock_metadata}: column 'bldg_id' is missing")
    meta = meta.set_index(meta["bldg_id"].astype(np.int64))
    wsrc = meta if "weight" in meta.columns else (ua.set_index(ua["bldg_id"].astype(np.int64)) if "weight" in ua.columns else None)
    if wsrc is None:
        raise InputError(f"path_resstock_metadata {cfg.path_resstock_metadata}: column 'weight' is missing")
    missing = ~np.isin(ids, meta.index.to_numpy())
    if missing.any():
        raise InputError(f"path_resstock_metadata {cfg.path_resstock_metadata}: {int(missing.sum())} building(s) of "
                         f"utility {cfg.utility!r} are missing, e.g. bldg_id {ids[missing][:5].tolist()}")
    w_rs = wsrc["weight"].reindex(ids).to_numpy(dtype=float)
    if np.isnan(w_rs).any() or (w_rs < 0).any():
        raise InputError(f"path_resstock_metadata {cfg.path_resstock_metadata}: column 'weight' has missing or "
                         f"negative values")
    if customer_count is None:
        log.warning("no customer count (customer_count, test_year_customer_count or EIA-861); keeping ResStock weights")
        customer_count = float(w_rs.sum())
    weight = w_rs * (float(customer_count) / w_rs.sum())

    keep = [c for c in METADATA_COLUMNS if c in meta.columns]
    if group_col:
        gc = group_col if group_col in meta.columns else f"postprocess_group.{group_col}"
        if gc not in meta.columns:
            raise InputError(f"path_resstock_metadata {cfg.path_resstock_metadata}: subclass group column "
                             f"{gc!r} is missing")
        if gc not in keep:
            keep.append(gc)
    md = meta.loc[ids, keep].reset_index(drop=True)

    emap = read_tariff_map(cfg.path_tariff_maps_electric, "path_tariff_maps_electric", so)
    etar = assign_tariffs(ids, emap, elec_keys, cfg.path_tariff_maps_electric, "path_tariff_maps_electric")
    gtar = None
    gkeys: list = []
    if with_gas:
        gmap = read_tariff_map(cfg.path_tariff_maps_gas, "path_tariff_maps_gas", so)
        miss = ~np.isin(ids, gmap.index.to_numpy())
        if miss.any():
            raise InputError(f"path_tariff_maps_gas {cfg.path_tariff_maps_gas}: no tariff_key for "
                             f"{int(miss.sum())} building(s), e.g. bldg_id {ids[miss][:5].tolist()}")
        gkeys = sorted(set(gmap.reindex(ids)))
        gtar = assign_tariffs(ids, gmap, gkeys, cfg.path_tariff_maps_gas, "path_tariff_maps_gas")
    return BuildingSet(bldg_id=ids, weight=weight, weight_resstock=w_rs, elec_tariff=etar,
                       elec_keys=list(elec_keys), gas_tariff=gtar, gas_keys=gkeys, metadata=md,
                       customer_count=float(weight.sum()))

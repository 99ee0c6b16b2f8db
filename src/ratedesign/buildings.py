"""The utility's buildings, their weights and their electric and gas tariffs (stage S0).

Sources: CAIRO's ``return_buildingstock(customer_count=C)`` and the rate-design platform's
``utils/pre/reweight_customer_counts.py`` and ``rate_design/hp_rates/run_scenario.py``
(switchbox-data/rate-design-platform; ../shared/rate_design_spec.md S0); EIA Form 861 residential
customer counts (https://www.eia.gov/electricity/data/eia861/).

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

    Parameters
    ----------
    bldg_id : ndarray of int64, shape (n,)
        ResStock building ids.
    weight : ndarray, shape (n,)
        w_i, customers per building after rescaling (sum = customer count).
    weight_resstock : ndarray, shape (n,)
        The metadata weights w_i^RS.
    elec_tariff : ndarray of int, shape (n,)
        Index into ``elec_keys``.
    elec_keys : list of str
        Electric tariff keys.
    gas_tariff : ndarray of int, shape (n,), or None
        Index into ``gas_keys``; None when the run has no gas map.
    gas_keys : list of str
        Gas tariff keys.
    metadata : pandas.DataFrame
        Indexed like ``bldg_id``, with the metadata columns kept for outputs.
    customer_count : float
        C, customers (sum of ``weight``).
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
    """Read a tariff map CSV ``bldg_id,tariff_key``.

    Parameters
    ----------
    path : str
        Local path or URL.
    what : str
        The kind of map in messages ("electric tariff map", "gas tariff map").
    storage_options : dict, optional
        fsspec options for URLs.

    Returns
    -------
    pandas.Series
        ``tariff_key`` indexed by ``bldg_id``.

    Raises
    ------
    ratedesign.errors.InputError
        Missing file, missing columns or duplicate bldg_ids.
    """
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
    """Index into ``known`` of each building's tariff.

    Parameters
    ----------
    bldg_ids : ndarray of int, shape (n,)
        The run's buildings.
    tariff_map : pandas.Series
        ``tariff_key`` by ``bldg_id`` (:func:`read_tariff_map`).
    known : list of str
        The tariff keys the run has tariffs for.
    path : str
        The map file (for messages).
    what : str
        The kind of map (for messages).

    Returns
    -------
    ndarray of int, shape (n,)
        Index into ``known``.

    Raises
    ------
    ratedesign.errors.InputError
        A building missing from the map, or mapped to an unknown tariff key (naming the map and
        the bad rows).
    """
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
    """Electric tariffs of a run from the scenario's ``path_tariffs_electric``.

    Parameters
    ----------
    paths : dict
        ``path_tariffs_electric`` (``{all: path}`` or ``{hp: path, non-hp: path}``).
    storage_options : dict, optional
        fsspec options for URLs.

    Returns
    -------
    dict
        ``{tariff key (JSON stem): Tariff}``.

    Raises
    ------
    ratedesign.errors.InputError
        A tariff file cannot be read or is invalid.
    """
    out = {}
    for sub, p in paths.items():
        t = load_tariff(p, storage_options)
        out[t.key] = t
    return out


def gas_tariffs(directory_or_paths, keys, storage_options: dict | None = None) -> dict:
    """Gas tariffs of the gas tariff keys a run uses.

    Parameters
    ----------
    directory_or_paths : str or dict
        Directory holding ``{key}.json``, or a ``{key: path}`` map.
    keys : iterable of str
        The gas tariff keys used by the run's buildings.
    storage_options : dict, optional
        fsspec options for URLs.

    Returns
    -------
    dict
        ``{key: Tariff}`` (rates per kWh of gas, RateAcuity tariffs).

    Raises
    ------
    ratedesign.errors.InputError
        A key without a tariff file, or an invalid file.
    """
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
    """Residential customers of ``utility`` in an EIA-861 parquet.

    Parameters
    ----------
    path : str
        Parquet with columns ``utility_code`` and ``residential_customers`` (local path or URL).
    utility : str
        Utility code (e.g. ``rie``).
    storage_options : dict, optional
        fsspec options for URLs.

    Returns
    -------
    float
        Customers.

    Raises
    ------
    ratedesign.errors.InputError
        Missing file or column, or no row for ``utility``.

    References
    ----------
    .. [1] U.S. EIA, Form EIA-861 "Annual Electric Power Industry Report",
       https://www.eia.gov/electricity/data/eia861/
    """
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
    .. [1] switchbox-data/rate-design-platform, ``rate_design/hp_rates/run_scenario.py``
       (``_load_prototype_ids_for_run``, ``apply_prototype_sample``): the ids come from the
       assignment parquet filtered by utility, unsorted, and are drawn with ``random.Random(42)``.
    """
    if sample_size is None or int(sample_size) >= len(ids):
        return list(ids)
    return random.Random(42).sample(list(ids), int(sample_size))


def select_buildings(cfg, elec_keys: list, with_gas: bool, customer_count: float | None,
                     storage_options: dict | None = None, group_col: str | None = None) -> BuildingSet:
    """The buildings of a scenario run: utility assignment filter, sample, weights, tariff maps.

    Parameters
    ----------
    cfg : ratedesign.scenario.ScenarioConfig
        The run's scenario (utility, sample size, metadata, assignment and tariff map paths).
    elec_keys : list of str
        Electric tariff keys of the run.
    with_gas : bool
        Read the gas tariff map too.
    customer_count : float or None
        C, customers; None keeps the ResStock weights (with a warning).
    storage_options : dict, optional
        fsspec options for URLs.
    group_col : str, optional
        Subclass column (``postprocess_group.<group_col>``) to keep in the metadata.

    Returns
    -------
    BuildingSet
        Sorted by bldg_id; w_i = w_i^RS C / sum_j w_j^RS customers.

    Raises
    ------
    ratedesign.errors.InputError
        A missing file or column, no building for the utility, or a building the tariff map
        does not cover.

    References
    ----------
    .. [1] switchbox-data/rate-design-platform, ``utils/pre/reweight_customer_counts.py``
       (CAIRO ``return_buildingstock``) and ``rate_design/hp_rates/run_scenario.py``;
       ../shared/rate_design_spec.md S0.
    """
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


__all__ = ["BuildingSet", "METADATA_COLUMNS", "assign_tariffs", "eia_customer_count", "electric_tariffs",
           "gas_tariffs", "read_tariff_map", "sample_bldg_ids", "select_buildings", "utility_bldg_ids"]

"""Marginal prices: Cambium CSV (5 metadata rows) or parquet inputs -> $/kWh per hour.

Sources: NREL's Cambium data sets (hourly marginal energy, capacity and ancillary costs in $/MWh,
https://www.nrel.gov/analysis/cambium.html) and the rate-design platform's loader
(switchbox-data/rate-design-platform, ``utils/cairo.py``; ../shared/rate_design_spec.md S3).

Columns of the price table (CAIRO names, all $/kWh, one value per hour of the run year):
``Marginal Energy Costs ($/kWh)``, ``Marginal Capacity Costs ($/kWh)``, optional
``Marginal Ancillary Costs ($/kWh)`` (inputs in $/MWh, divided by 1000) and
``Marginal Distribution Costs ($/kWh)`` = ``mc_total_per_kwh`` (dist + sub-tx, $/kWh) +
``bulk_tx_cost_enduse`` (treated as $/kWh, as the platform's loader does).
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ratedesign.calendar import HOURS_PER_YEAR, nearest_sunday_year, shift_year
from ratedesign.errors import InputError
from ratedesign.fsio import get_fs, read_parquet_df

ENERGY = "Marginal Energy Costs ($/kWh)"
CAPACITY = "Marginal Capacity Costs ($/kWh)"
ANCILLARY = "Marginal Ancillary Costs ($/kWh)"
DISTRIBUTION = "Marginal Distribution Costs ($/kWh)"
TOTAL = "Total Marginal Costs ($/kWh)"
CAMBIUM_METADATA_ROWS = 5


@dataclass
class MarginalCosts:
    """Hourly marginal prices on the run year's hours.

    Parameters
    ----------
    columns : dict of str to ndarray
        ``{CAIRO column name: (H,) $/kWh}`` (``Marginal Energy Costs ($/kWh)``, ...).
    sources : dict of str to str
        ``{scenario field: file}`` the columns came from.

    References
    ----------
    .. [1] switchbox-data/rate-design-platform, ``utils/cairo.py`` (price table) and
       ``utils/demand_flex.py`` (total MC).
    .. [2] NREL, "Cambium" data sets (hourly marginal costs, $/MWh),
       https://www.nrel.gov/analysis/cambium.html
    """

    columns: dict[str, np.ndarray]
    sources: dict[str, str] = field(default_factory=dict)

    @property
    def total(self) -> np.ndarray:
        """MC_h = sum of all price columns, $/kWh, shape (H,)."""
        return np.sum(np.vstack(list(self.columns.values())), axis=0)

    @property
    def capacity_like(self) -> np.ndarray:
        """Capacity + distribution prices, $/kWh (nonzero only in the utility's peak hours)."""
        z = np.zeros_like(self.total)
        return self.columns.get(CAPACITY, z) + self.columns.get(DISTRIBUTION, z)

    def frame(self, year: int | None = None) -> pd.DataFrame:
        """The price table as a DataFrame (8760 rows, plus the total column)."""
        df = pd.DataFrame(self.columns)
        df[TOTAL] = self.total
        if year is not None and len(df) == HOURS_PER_YEAR:
            df.insert(0, "timestamp", pd.date_range(f"{year}-01-01", periods=len(df), freq="h"))
        return df


def is_cambium(path: str) -> bool:
    """Whether ``path`` is a Cambium input: a CSV (with its metadata rows) or a parquet under ``/cambium/``.

    Parameters
    ----------
    path : str
        Local path or URL.

    Returns
    -------
    bool
        True for Cambium inputs.
    """
    p = str(path).lower()
    return p.endswith(".csv") or "/cambium/" in p


def read_cambium_csv(path: str, storage_options: dict | None = None) -> pd.DataFrame:
    """Read a Cambium CSV: 5 metadata rows, then the header ``timestamp,...``, then 8760 hourly rows.

    A repeated header row is dropped.

    Parameters
    ----------
    path : str
        Local path or URL.
    storage_options : dict, optional
        fsspec options for URLs.

    Returns
    -------
    pandas.DataFrame
        One row per hour; cost columns in $/MWh as published.

    Raises
    ------
    ratedesign.errors.InputError
        Missing file, or not a Cambium CSV.

    References
    ----------
    .. [1] NREL, "Cambium" data sets (hourly marginal costs, $/MWh),
       https://www.nrel.gov/analysis/cambium.html
    """
    fs, p = get_fs(path, storage_options)
    try:
        with fs.open(p, "rb") as f:
            raw = f.read()
    except FileNotFoundError:
        raise InputError(f"marginal costs: file not found: {path}") from None
    try:
        df = pd.read_csv(io.BytesIO(raw), skiprows=CAMBIUM_METADATA_ROWS, low_memory=False)
    except Exception as e:  # noqa: BLE001 - pandas raises several types
        raise InputError(f"marginal costs: {path} is not a Cambium CSV with {CAMBIUM_METADATA_ROWS} "
                         f"metadata rows ({e})") from None
    if "timestamp" not in df.columns:
        raise InputError(f"marginal costs: {path}: expected a 'timestamp' header after "
                         f"{CAMBIUM_METADATA_ROWS} metadata rows; found {list(df.columns)[:6]}")
    df = df[df["timestamp"].astype(str) != "timestamp"].reset_index(drop=True)
    return df


def _read_table(path: str, storage_options: dict | None) -> pd.DataFrame:
    if str(path).lower().endswith(".csv"):
        return read_cambium_csv(path, storage_options)
    return read_parquet_df(path, "marginal costs", storage_options=storage_options)


def _first_year(df: pd.DataFrame, path: str) -> int | None:
    if "timestamp" not in df.columns or len(df) == 0:
        return None
    v = df["timestamp"].iloc[0]
    try:
        return int(pd.Timestamp(v).year)
    except (ValueError, TypeError):
        raise InputError(f"marginal costs: {path}: column 'timestamp' starts with {v!r}; expected a date") from None


def _column(df: pd.DataFrame, column: str, path: str, field_name: str) -> np.ndarray:
    if len(df) != HOURS_PER_YEAR:
        raise InputError(f"marginal costs ({field_name}): {path} has {len(df)} rows; expected {HOURS_PER_YEAR}")
    if column not in df.columns:
        numeric = df.select_dtypes("number")
        if numeric.shape[1] > 0 and not numeric.to_numpy().any():
            return np.zeros(HOURS_PER_YEAR)  # an all-zero placeholder such as zero.parquet
        raise InputError(f"marginal costs ({field_name}): {path} has no column {column!r}; "
                         f"found {list(df.columns)[:8]}")
    vals = pd.to_numeric(df[column], errors="coerce").to_numpy(dtype=float)
    if np.isnan(vals).any():
        raise InputError(f"marginal costs ({field_name}): {path} column {column!r} has "
                         f"{int(np.isnan(vals).sum())} missing or non-numeric values")
    return vals


def supply_series(path: str, column: str, year_run: int, field_name: str,
                  storage_options: dict | None = None) -> np.ndarray:
    """One supply price column in $/kWh (input $/MWh / 1000), aligned to ``year_run``.

    Cambium: relabelled to the nearest Sunday-start year, then weekday-shifted; other files are
    weekday-shifted when their timestamps' year differs from ``year_run``.

    Parameters
    ----------
    path : str
        Cambium CSV or parquet file (local path or URL), 8760 hourly rows.
    column : str
        The column (``energy_cost_enduse``, ``capacity_cost_enduse``, ``ancillary_cost_enduse``),
        $/MWh.
    year_run : int
        The run year.
    field_name : str
        The scenario field that named ``path`` (for error messages).
    storage_options : dict, optional
        fsspec options for URLs.

    Returns
    -------
    ndarray, shape (8760,)
        $/kWh per hour of the run year.

    Raises
    ------
    ratedesign.errors.InputError
        The file cannot be read, lacks ``column``, has the wrong number of rows or non-finite values.

    References
    ----------
    .. [1] switchbox-data/rate-design-platform, ``utils/cairo.py::_align_mc_to_index``;
       ../shared/rate_design_spec.md S3.
    .. [2] NREL, "Cambium" data sets (hourly marginal costs, $/MWh),
       https://www.nrel.gov/analysis/cambium.html
    """
    df = _read_table(path, storage_options)
    vals = _column(df, column, path, field_name) / 1000.0
    src = _first_year(df, path)
    if is_cambium(path):
        src = nearest_sunday_year(src if src is not None else year_run)
    if src is not None and src != year_run:
        vals = shift_year(vals, src, year_run)
    return vals


def delivery_series(path: str, column: str, field_name: str,
                    storage_options: dict | None = None) -> np.ndarray:
    """One delivery price column, aligned to the run year by position (no weekday shift).

    Parameters
    ----------
    path : str
        CSV or parquet file (local path or URL) with 8760 hourly rows.
    column : str
        The column to read (``mc_total_per_kwh`` or ``bulk_tx_cost_enduse``).
    field_name : str
        The scenario field that named ``path`` (for error messages).
    storage_options : dict, optional
        fsspec options for URLs.

    Returns
    -------
    ndarray, shape (8760,)
        $/kWh per hour of the run year.

    Raises
    ------
    ratedesign.errors.InputError
        The file cannot be read, lacks ``column`` or has the wrong number of rows.

    References
    ----------
    .. [1] switchbox-data/rate-design-platform, ``utils/cairo.py::_align_mc_to_index`` (delivery
       MCs aligned by position); ../shared/rate_design_spec.md S3.
    """
    df = _read_table(path, storage_options)
    return _column(df, column, path, field_name)


def load_marginal_costs(year_run: int, *, path_supply_energy_mc: str | None = None,
                        path_supply_capacity_mc: str | None = None,
                        path_supply_ancillary_mc: str | None = None,
                        path_dist_and_sub_tx_mc: str | None = None,
                        path_bulk_tx_mc: str | None = None,
                        storage_options: dict | None = None) -> MarginalCosts:
    """Build the hourly price table from the scenario's ``path_*_mc`` fields (absent = zero).

    Parameters
    ----------
    year_run : int
        The run year.
    path_supply_energy_mc : str, optional
        Marginal energy costs ($/MWh, Cambium ``energy_cost_enduse``).
    path_supply_capacity_mc : str, optional
        Marginal capacity costs ($/MWh, ``capacity_cost_enduse``).
    path_supply_ancillary_mc : str, optional
        Marginal ancillary costs ($/MWh, ``ancillary_cost_enduse``); the column exists only if set.
    path_dist_and_sub_tx_mc : str, optional
        Distribution and sub-transmission marginal costs ($/kWh, ``mc_total_per_kwh``).
    path_bulk_tx_mc : str, optional
        Bulk transmission marginal costs (``bulk_tx_cost_enduse``, treated as $/kWh).
    storage_options : dict, optional
        fsspec options for URLs.

    Returns
    -------
    MarginalCosts
        $/kWh per hour, shape (8760,) per column; distribution = dist + sub-tx + bulk tx.

    Raises
    ------
    ratedesign.errors.InputError
        A file cannot be read or has the wrong shape.

    References
    ----------
    .. [1] switchbox-data/rate-design-platform, ``utils/cairo.py``; ../shared/rate_design_spec.md S3.
    .. [2] NREL, "Cambium" data sets (hourly marginal costs, $/MWh),
       https://www.nrel.gov/analysis/cambium.html
    """
    cols: dict[str, np.ndarray] = {}
    src: dict[str, str] = {}
    z = np.zeros(HOURS_PER_YEAR)
    cols[ENERGY] = (supply_series(path_supply_energy_mc, "energy_cost_enduse", year_run,
                                  "path_supply_energy_mc", storage_options) if path_supply_energy_mc else z)
    cols[CAPACITY] = (supply_series(path_supply_capacity_mc, "capacity_cost_enduse", year_run,
                                    "path_supply_capacity_mc", storage_options) if path_supply_capacity_mc else z)
    if path_supply_ancillary_mc:
        cols[ANCILLARY] = supply_series(path_supply_ancillary_mc, "ancillary_cost_enduse", year_run,
                                        "path_supply_ancillary_mc", storage_options)
    dist = (delivery_series(path_dist_and_sub_tx_mc, "mc_total_per_kwh", "path_dist_and_sub_tx_mc",
                            storage_options) if path_dist_and_sub_tx_mc else z)
    bulk = (delivery_series(path_bulk_tx_mc, "bulk_tx_cost_enduse", "path_bulk_tx_mc", storage_options)
            if path_bulk_tx_mc else z)
    cols[DISTRIBUTION] = dist + bulk
    for k, v in (("path_supply_energy_mc", path_supply_energy_mc), ("path_supply_capacity_mc", path_supply_capacity_mc),
                 ("path_supply_ancillary_mc", path_supply_ancillary_mc), ("path_dist_and_sub_tx_mc", path_dist_and_sub_tx_mc),
                 ("path_bulk_tx_mc", path_bulk_tx_mc)):
        if v:
            src[k] = str(v)
    return MarginalCosts(cols, src)


__all__ = ["MarginalCosts", "delivery_series", "is_cambium", "load_marginal_costs", "read_cambium_csv",
           "supply_series"]

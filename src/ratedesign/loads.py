"""Per-building ResStock hourly loads (spec S1): reading, year shift, PV netting, scale, floor, gas.

File layout (paths are built, never listed):
``{base}/load_curve_hourly/state={ST}/upgrade={UU}/{bldg_id}-{int(upgrade)}.parquet`` with an
8760-row ``timestamp`` column and the kWh columns named in ``LOAD_COLUMNS``.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from ratedesign.calendar import HOURS_PER_YEAR, shift_year
from ratedesign.errors import InputError
from ratedesign.fsio import get_fs, is_remote, join, read_parquet_table

TIMESTAMP = "timestamp"
TOTAL = "out.electricity.total.energy_consumption"
PV = "out.electricity.pv.energy_consumption"
GAS = "out.natural_gas.total.energy_consumption"
LOAD_COLUMNS = (TIMESTAMP, TOTAL, PV, GAS)
#: therms per kWh of natural gas (spec S1 step 5)
KWH_TO_THERMS = 0.0341214116


def loads_dir(base: str, state: str, upgrade: str | int) -> str:
    """``{base}/load_curve_hourly/state={ST}/upgrade={UU}`` (UU zero-padded to 2 digits)."""
    return join(base, "load_curve_hourly", f"state={state.upper()}", f"upgrade={int(upgrade):02d}")


def load_path(directory: str, bldg_id: int, upgrade: str | int) -> str:
    """Path of one building's file: ``{directory}/{bldg_id}-{int(upgrade)}.parquet``."""
    return join(directory, f"{int(bldg_id)}-{int(upgrade)}.parquet")


@dataclass
class RawLoads:
    """Loads as read, before any processing; arrays (n, H) in kWh, source_year (n,)."""

    total: np.ndarray
    pv: np.ndarray
    gas: np.ndarray
    source_year: np.ndarray


def _column(table: pa.Table, name: str) -> np.ndarray:
    return table.column(name).to_numpy(zero_copy_only=False).astype(np.float64, copy=False)


def _first_year(table: pa.Table, path: str) -> int:
    col = table.column(TIMESTAMP)
    if col.null_count:
        raise InputError(f"load file {path}: column 'timestamp' has missing values")
    first = col[0].as_py()
    year = getattr(first, "year", None)
    if year is None:
        try:
            import pandas as pd
            year = pd.Timestamp(first).year
        except Exception:
            raise InputError(f"load file {path}: column 'timestamp' is {first!r}; expected datetimes") from None
    return int(year)


def read_loads(directory: str, bldg_ids, upgrade: str | int, storage_options: dict | None = None,
               n_hours: int = HOURS_PER_YEAR, threads: int = 16) -> RawLoads:
    """Read the loads of ``bldg_ids`` into dense (n, H) float64 arrays.

    Missing files, missing columns and wrong row counts raise InputError naming the file.
    Remote (s3://) files are fetched by a small thread pool; local files are read in order.
    """
    ids = [int(b) for b in bldg_ids]
    n = len(ids)
    out = RawLoads(np.empty((n, n_hours)), np.empty((n, n_hours)), np.empty((n, n_hours)),
                   np.empty(n, dtype=np.int64))
    fs, _ = get_fs(directory, storage_options)
    paths = [load_path(directory, b, upgrade) for b in ids]

    def one(i: int) -> None:
        path = paths[i]
        try:
            table = read_parquet_table(path, f"load file (bldg_id {ids[i]}, upgrade {upgrade})",
                                       list(LOAD_COLUMNS), fs=fs)
        except InputError as e:
            if "file not found" in str(e):
                raise InputError(f"load file missing for bldg_id {ids[i]} (upgrade {upgrade}): {path}") from None
            raise
        if table.num_rows != n_hours:
            raise InputError(f"load file {path}: has {table.num_rows} rows; expected {n_hours} hourly rows")
        out.total[i] = _column(table, TOTAL)
        out.pv[i] = _column(table, PV)
        out.gas[i] = _column(table, GAS)
        out.source_year[i] = _first_year(table, path)

    if is_remote(directory) and n > 1:
        with ThreadPoolExecutor(max_workers=min(threads, n)) as pool:
            list(pool.map(one, range(n)))
    else:
        for i in range(n):
            one(i)
    return out


def pv_net(total: np.ndarray, pv: np.ndarray) -> np.ndarray:
    """Net electricity per building over its whole block (CAIRO ``__load_buildingprofile__`` rule):
    all PV = 0 -> total; any PV < 0 (generation stored negative) -> total + pv; else total - pv."""
    any_neg = (pv < 0).any(axis=1, keepdims=True)
    all_zero = ~(pv != 0).any(axis=1, keepdims=True)
    return np.where(all_zero, total, np.where(any_neg, total + pv, total - pv))


@dataclass
class BuildingLoads:
    """Processed loads of a block of buildings, (n, H) arrays on the run year's hours.

    net: grid consumption kWh (``electricity_net``/``grid_cons``), total: ``load_data`` kWh,
    pv: PV kWh (as stored), gas: therms.
    """

    net: np.ndarray
    total: np.ndarray
    pv: np.ndarray
    gas: np.ndarray


def process_loads(raw: RawLoads, year_run: int, kwh_scale_factor: float | None = None,
                  floor: bool = True) -> BuildingLoads:
    """S1 steps 1-5: weekday-aligned year shift, PV netting, scale factor, floor, gas kWh -> therms."""
    total, pv, gas = raw.total, raw.pv, raw.gas
    years = np.unique(raw.source_year)
    if len(years) > 1 or years[0] != year_run:
        total, pv, gas = total.copy(), pv.copy(), gas.copy()
        for y in years:
            rows = raw.source_year == y
            total[rows] = shift_year(total[rows], int(y), year_run)
            pv[rows] = shift_year(pv[rows], int(y), year_run)
            gas[rows] = shift_year(gas[rows], int(y), year_run)
    net = pv_net(total, pv)
    if kwh_scale_factor is not None and kwh_scale_factor != 1.0:
        s = float(kwh_scale_factor)
        total, pv, net = total * s, pv * s, net * s
    if floor:
        np.maximum(net, 0.0, out=net)
    return BuildingLoads(net=net, total=total, pv=pv, gas=gas * KWH_TO_THERMS)

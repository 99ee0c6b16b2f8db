"""Per-building ResStock hourly loads: reading, year shift, PV netting, scale, floor, gas.

The steps replicate the rate-design platform's loader (switchbox-data/rate-design-platform,
``utils/mid/patches.py::_return_loads_combined``, CAIRO's ``__load_buildingprofile__``; data:
NREL ResStock, https://resstock.nrel.gov/; ../shared/rate_design_spec.md S1).

File layout (paths are built, never listed):
``{base}/load_curve_hourly/state={ST}/upgrade={UU}/{bldg_id}-{int(upgrade)}.parquet`` with an
8760-row ``timestamp`` column and the kWh columns named in ``LOAD_COLUMNS``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from ratedesign.calendar import HOURS_PER_YEAR, shift_year, weekday_shift_days
from ratedesign.errors import InputError
from ratedesign.fsio import get_fs, is_remote, join

TIMESTAMP = "timestamp"
TOTAL = "out.electricity.total.energy_consumption"
PV = "out.electricity.pv.energy_consumption"
GAS = "out.natural_gas.total.energy_consumption"
LOAD_COLUMNS = (TIMESTAMP, TOTAL, PV, GAS)
#: therms per kWh of natural gas (1 therm = 29.3071 kWh; the platform's conversion factor)
KWH_TO_THERMS = 0.0341214116


def loads_dir(base: str, state: str, upgrade: str | int) -> str:
    """Directory of a state's ResStock hourly load files for one upgrade.

    Parameters
    ----------
    base : str
        ResStock release directory (local path or URL).
    state : str
        Two-letter state code (upper-cased).
    upgrade : str or int
        ResStock upgrade number (``0``/``"00"``: baseline).

    Returns
    -------
    str
        ``{base}/load_curve_hourly/state={ST}/upgrade={UU}`` (UU zero-padded to 2 digits).

    References
    ----------
    .. [1] NREL ResStock data, https://resstock.nrel.gov/ (OEDI release layout, as the
       switchbox-data/rate-design-platform reads it).
    """
    return join(base, "load_curve_hourly", f"state={state.upper()}", f"upgrade={int(upgrade):02d}")


def load_path(directory: str, bldg_id: int, upgrade: str | int) -> str:
    """Path of one building's hourly load file.

    Parameters
    ----------
    directory : str
        :func:`loads_dir`.
    bldg_id : int
        ResStock building id.
    upgrade : str or int
        ResStock upgrade number.

    Returns
    -------
    str
        ``{directory}/{bldg_id}-{int(upgrade)}.parquet``.
    """
    return join(directory, f"{int(bldg_id)}-{int(upgrade)}.parquet")


@dataclass
class RawLoads:
    """Loads as read from the ResStock files.

    Parameters
    ----------
    total : ndarray, shape (n, H)
        ``out.electricity.total.energy_consumption``, kWh per hour.
    pv : ndarray, shape (n, H)
        ``out.electricity.pv.energy_consumption``, kWh per hour (sign as stored).
    gas : ndarray, shape (n, H)
        ``out.natural_gas.total.energy_consumption``, kWh per hour.
    source_year : ndarray of int, shape (n,)
        Year of each file's first timestamp.
    aligned_to : int, optional
        The run year when the weekday-aligned shift was already applied while reading
        (``read_loads(..., year_run=Y)``), else None.
    """

    total: np.ndarray
    pv: np.ndarray
    gas: np.ndarray
    source_year: np.ndarray
    aligned_to: int | None = None


VALUE_COLUMNS = (TOTAL, PV, GAS)


def _column(table: pa.Table, name: str) -> np.ndarray:
    return table.column(name).to_numpy(zero_copy_only=False).astype(np.float64, copy=False)


def _year_of(value, path: str) -> int:
    year = getattr(value, "year", None)
    if year is None:
        try:
            import pandas as pd
            year = pd.Timestamp(value).year
        except Exception:
            raise InputError(f"load file {path}: column 'timestamp' is {value!r}; expected datetimes") from None
    return int(year)


def _first_year(pf: pq.ParquetFile, schema: pa.Schema, path: str) -> int:
    """Year of the file's first timestamp.

    Read from the row-group statistics when the writer stored them (the minimum of an hourly
    series is its first hour, and decoding 8760 timestamps is ~40% of a file's read time);
    otherwise the column is read.
    """
    meta = pf.metadata
    idx = schema.get_field_index(TIMESTAMP)
    if pa.types.is_timestamp(schema.field(idx).type) and meta.num_row_groups:
        stats = [meta.row_group(g).column(idx).statistics for g in range(meta.num_row_groups)]
        if all(s is not None and s.has_min_max and s.has_null_count for s in stats):
            if any(s.null_count for s in stats):
                raise InputError(f"load file {path}: column 'timestamp' has missing values")
            first = stats[0].min
            if hasattr(first, "year"):  # a datetime; a raw integer would need the column's unit
                return int(first.year)
    col = pf.read(columns=[TIMESTAMP], use_threads=False).column(TIMESTAMP)
    if col.null_count:
        raise InputError(f"load file {path}: column 'timestamp' has missing values")
    return _year_of(col[0].as_py(), path)


def read_loads(directory: str, bldg_ids, upgrade: str | int, storage_options: dict | None = None,
               n_hours: int = HOURS_PER_YEAR, batch: int = 32, year_run: int | None = None) -> RawLoads:
    """Read the loads of ``bldg_ids`` into dense (n, H) float64 arrays.

    Remote (s3://) files are fetched whole, ``batch`` at a time concurrently (one GET each); local
    files are memory-mapped and read in order with column projection. With ``year_run`` the
    weekday-aligned year shift is applied while copying into the arrays (no extra pass).

    Parameters
    ----------
    directory : str
        :func:`loads_dir` (local path or URL).
    bldg_ids : sequence of int
        The n buildings, in output row order.
    upgrade : str or int
        ResStock upgrade number.
    storage_options : dict, optional
        fsspec options for URLs.
    n_hours : int, default 8760
        H, expected rows per file.
    batch : int, default 32
        Remote files fetched concurrently.
    year_run : int, optional
        Apply the weekday-aligned shift to this year while reading.

    Returns
    -------
    RawLoads
        kWh arrays of shape (n, H).

    Raises
    ------
    ratedesign.errors.InputError
        A missing or unreadable file, a missing column, a wrong row count, non-finite or negative
        consumption, or a bad ``timestamp`` column (one line naming the file; not retried).

    References
    ----------
    .. [1] switchbox-data/rate-design-platform, ``utils/mid/patches.py::_return_loads_combined`` and ``utils/loads.py``
       (columns to read; why not ``out.electricity.net``); ../shared/rate_design_spec.md S1.
    """
    ids = [int(b) for b in bldg_ids]
    n = len(ids)
    out = RawLoads(np.empty((n, n_hours)), np.empty((n, n_hours)), np.empty((n, n_hours)),
                   np.empty(n, dtype=np.int64), aligned_to=year_run)
    fs, _ = get_fs(directory, storage_options)
    paths = [load_path(directory, b, upgrade) for b in ids]

    def fill(i: int, source) -> None:
        path = paths[i]
        try:
            pf = pq.ParquetFile(source, pre_buffer=False, memory_map=isinstance(source, str))
        except FileNotFoundError:
            raise missing_file(i) from None
        except (pa.ArrowInvalid, OSError) as e:
            if isinstance(source, str) and not os.path.exists(source):
                raise missing_file(i) from None
            raise InputError(f"load file {path}: not a readable parquet file ({e})") from None
        schema = pf.schema_arrow  # built anew on each access: once per file
        missing = [c for c in LOAD_COLUMNS if c not in schema.names and c != PV]
        if missing:
            raise InputError(f"load file {path}: has no column {missing[0]!r} (expected columns {list(LOAD_COLUMNS)}; "
                             f"{PV!r} is optional)")
        has_pv = PV in schema.names
        rows = pf.metadata.num_rows
        if rows != n_hours:
            raise InputError(f"load file {path}: has {rows} rows; expected {n_hours} hourly rows")
        year = _first_year(pf, schema, path)
        table = pf.read(columns=[c for c in VALUE_COLUMNS if c != PV or has_pv], use_threads=False)
        out.source_year[i] = year
        s = 24 * weekday_shift_days(year, year_run) % n_hours if year_run is not None else 0
        for arr, name in ((out.total, TOTAL), (out.pv, PV), (out.gas, GAS)):
            if name == PV and not has_pv:  # buildings without PV lack the column in some releases
                arr[i] = 0.0
                continue
            col = _column(table, name)
            if not np.isfinite(col).all():
                raise InputError(f"load file {path}: column {name!r} has {int((~np.isfinite(col)).sum())} "
                                 f"missing (NaN) values")
            if name != PV and col.min() < 0:
                raise InputError(f"load file {path}: column {name!r} has negative values (min {col.min():g} kWh); "
                                 f"consumption must be >= 0")
            if s:
                arr[i, : n_hours - s] = col[s:]
                arr[i, n_hours - s:] = col[:s]
            else:
                arr[i] = col

    def missing_file(i: int) -> InputError:
        return InputError(f"load file missing for bldg_id {ids[i]} (upgrade {upgrade}): {paths[i]}")

    if is_remote(directory):
        # one GET per file, ``batch`` files fetched concurrently by the filesystem's own async loop
        for start in range(0, n, batch):
            idx = list(range(start, min(start + batch, n)))
            stripped = [fs._strip_protocol(paths[i]) for i in idx]
            blobs = fs.cat(stripped, on_error="return") if len(idx) > 1 else {stripped[0]: _cat_one(fs, stripped[0])}
            for i, sp in zip(idx, stripped):
                blob = blobs.get(sp)
                if blob is None or isinstance(blob, FileNotFoundError):
                    raise missing_file(i)
                if isinstance(blob, Exception):
                    raise blob
                fill(i, pa.BufferReader(blob))
    else:
        for i in range(n):
            fill(i, paths[i])
    return out


def _cat_one(fs, path: str):
    try:
        return fs.cat_file(path)
    except FileNotFoundError as e:
        return e


def pv_net(total: np.ndarray, pv: np.ndarray) -> np.ndarray:
    """Net electricity per building, decided over the building's whole year.

    All PV = 0: total; any PV < 0 (generation stored negative): total + pv; else total - pv.

    Parameters
    ----------
    total : ndarray, shape (n, H)
        Total electricity consumption, kWh per hour.
    pv : ndarray, shape (n, H)
        PV, kWh per hour (sign as stored).

    Returns
    -------
    ndarray, shape (n, H)
        Net kWh per hour (not floored).

    References
    ----------
    .. [1] switchbox-data/rate-design-platform, ``utils/mid/patches.py::_return_loads_combined`` (replicates CAIRO's
       ``__load_buildingprofile__``); ../shared/rate_design_spec.md S1 step 2.
    """
    net = total.copy()
    has_pv = (pv != 0).any(axis=1)
    if has_pv.any():
        neg = (pv < 0).any(axis=1)
        add = has_pv & neg
        sub = has_pv & ~neg
        net[add] += pv[add]
        net[sub] -= pv[sub]
    return net


@dataclass
class BuildingLoads:
    """Processed loads of a block of buildings on the run year's hours.

    Parameters
    ----------
    net : ndarray, shape (n, H)
        Grid consumption (``electricity_net`` / ``grid_cons``), kWh per hour.
    total : ndarray, shape (n, H)
        ``load_data``, total electricity consumption, kWh per hour.
    pv : ndarray, shape (n, H)
        PV, kWh per hour (as stored).
    gas : ndarray, shape (n, H)
        Natural gas, kWh per hour (therms = kWh x ``KWH_TO_THERMS``; gas tariffs are priced per kWh).
    """

    net: np.ndarray
    total: np.ndarray
    pv: np.ndarray
    gas: np.ndarray


def process_loads(raw: RawLoads, year_run: int, kwh_scale_factor: float | None = None,
                  floor: bool = True) -> BuildingLoads:
    """Weekday-aligned year shift, PV netting, scale factor and floor of raw loads.

    Gas stays in kWh: the RateAcuity gas tariffs are $/kWh with kWh tiers; therms are reported from it.

    Parameters
    ----------
    raw : RawLoads
        Loads as read (kWh, shape (n, H)).
    year_run : int
        The run year.
    kwh_scale_factor : float, optional
        ``resstock_kwh_scale_factor`` of the revenue requirement YAML; multiplies every electric
        column.
    floor : bool, default True
        net = max(net, 0), so net equals grid consumption downstream.

    Returns
    -------
    BuildingLoads
        kWh arrays of shape (n, H) on the run year's hours.

    Raises
    ------
    ValueError
        ``raw`` was aligned to another year while reading.

    References
    ----------
    .. [1] switchbox-data/rate-design-platform, ``utils/mid/patches.py::_return_loads_combined`` and
       ``rate_design/hp_rates/run_scenario.py`` (floor); ../shared/rate_design_spec.md S1 steps 1-4.
    """
    total, pv, gas = raw.total, raw.pv, raw.gas
    years = np.unique(raw.source_year)
    if raw.aligned_to is not None and raw.aligned_to != year_run:
        raise ValueError(f"loads were aligned to {raw.aligned_to}, not {year_run}")
    if raw.aligned_to is None and (len(years) > 1 or years[0] != year_run):
        total, pv, gas = total.copy(), pv.copy(), gas.copy()
        for y in years:
            rows = raw.source_year == y
            total[rows] = shift_year(total[rows], int(y), year_run)
            pv[rows] = shift_year(pv[rows], int(y), year_run)
            gas[rows] = shift_year(gas[rows], int(y), year_run)
    net = pv_net(total, pv)
    if kwh_scale_factor is not None and kwh_scale_factor != 1.0:
        s = float(kwh_scale_factor)
        if total is raw.total:
            total *= s
            pv *= s
        else:
            total, pv = total * s, pv * s
        net *= s
    if floor:
        np.maximum(net, 0.0, out=net)
    return BuildingLoads(net=net, total=total, pv=pv, gas=gas)


__all__ = ["BuildingLoads", "GAS", "KWH_TO_THERMS", "LOAD_COLUMNS", "PV", "RawLoads", "TIMESTAMP", "TOTAL",
           "load_path", "loads_dir", "process_loads", "pv_net", "read_loads"]

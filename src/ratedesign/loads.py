"""Per-building ResStock hourly loads: reading, year shift, PV netting, scale, floor, gas.

The steps replicate the rate-design platform's loader (switchbox-data/rate-design-platform,
``utils/mid/patches.py::_return_loads_combined``, CAIRO's ``__load_buildingprofile__``; data:
NREL ResStock, https://resstock.nrel.gov/; ../shared/rate_design_spec.md S1).

File layout (paths are built, never listed):
``{base}/load_curve_hourly/state={ST}/upgrade={UU}/{bldg_id}-{int(upgrade)}.parquet`` with an
8760-row ``timestamp`` column and the kWh columns named in ``LOAD_COLUMNS``.
"""

from __future__ import annotations

import collections
import os
import threading
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from ratedesign.calendar import HOURS_PER_YEAR, shift_year, weekday_shift_days
from ratedesign.errors import InputError
from ratedesign.fsio import access, get_fs, is_remote, join
from ratedesign.loadcache import FETCHED, READS, CachedFile, process_cache

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
    """The column as an array of its own: never a view of a memory-mapped file or of the buffer of
    a whole object (the load cache keeps it, possibly after the file changed)."""
    return np.array(table.column(name).to_numpy(zero_copy_only=False), dtype=np.float64, copy=True)


def _year_of(value, path: str) -> int:
    year = getattr(value, "year", None)
    if year is None:
        try:
            import pandas as pd
            year = pd.Timestamp(value).year
        except Exception:
            raise InputError(f"load file {path}: column 'timestamp' is {value!r}; expected datetimes") from None
    return int(year)


def _stats_year(meta, schema: pa.Schema, path: str) -> int | None:
    """Year of the first timestamp from the row-group statistics, or None when they cannot tell.

    The minimum of an hourly series is its first hour (decoding 8760 timestamps is ~40% of a file's
    read time, and on an object store a column chunk more to fetch).
    """
    idx = schema.get_field_index(TIMESTAMP)
    if idx < 0 or not pa.types.is_timestamp(schema.field(idx).type) or not meta.num_row_groups:
        return None
    stats = [meta.row_group(g).column(idx).statistics for g in range(meta.num_row_groups)]
    if all(s is not None and s.has_min_max and s.has_null_count for s in stats):
        if any(s.null_count for s in stats):
            raise InputError(f"load file {path}: column 'timestamp' has missing values")
        first = stats[0].min
        if hasattr(first, "year"):  # a datetime; a raw integer would need the column's unit
            return int(first.year)
    return None


def _first_year(pf: pq.ParquetFile, schema: pa.Schema, path: str) -> int:
    """Year of the file's first timestamp: from the statistics when stored, else the column is read."""
    year = _stats_year(pf.metadata, schema, path)
    if year is not None:
        return year
    col = pf.read(columns=[TIMESTAMP], use_threads=False).column(TIMESTAMP)
    if col.null_count:
        raise InputError(f"load file {path}: column 'timestamp' has missing values")
    return _year_of(col[0].as_py(), path)


def _parse_file(source, path: str, n_hours: int, metadata=None) -> CachedFile:
    """Open one load file (a local path or an in-memory buffer), check it and read its columns."""
    try:
        pf = pq.ParquetFile(source, pre_buffer=False, memory_map=isinstance(source, str), metadata=metadata)
    except FileNotFoundError:
        raise
    except (pa.ArrowInvalid, OSError) as e:
        if isinstance(source, str) and not os.path.exists(source):
            raise FileNotFoundError(path) from None
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
    cols = {}
    for name in VALUE_COLUMNS:
        if name == PV and not has_pv:  # buildings without PV lack the column in some releases
            cols[name] = None
            continue
        col = _column(table, name)
        if not np.isfinite(col).all():
            raise InputError(f"load file {path}: column {name!r} has {int((~np.isfinite(col)).sum())} "
                             f"missing (NaN) values")
        if name != PV and col.min() < 0:
            raise InputError(f"load file {path}: column {name!r} has negative values (min {col.min():g} kWh); "
                             f"consumption must be >= 0")
        cols[name] = col
    return CachedFile(year, cols[TOTAL], cols[PV], cols[GAS])


def _place(out: RawLoads, i: int, entry: CachedFile, n_hours: int, year_run: int | None) -> None:
    """Copy one file's columns into row ``i`` of ``out`` (weekday-aligned to ``year_run`` if given)."""
    out.source_year[i] = entry.source_year
    s = 24 * weekday_shift_days(entry.source_year, year_run) % n_hours if year_run is not None else 0
    for arr, col in ((out.total, entry.total), (out.pv, entry.pv), (out.gas, entry.gas)):
        if col is None:
            arr[i] = 0.0
        elif s:
            arr[i, : n_hours - s] = col[s:]
            arr[i, n_hours - s:] = col[:s]
        else:
            arr[i] = col


def _local_identity(path: str):
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return (st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino)


_LISTINGS: collections.OrderedDict = collections.OrderedDict()
_LISTINGS_LOCK = threading.Lock()


def _remote_listing(fs, directory: str, token: str | None) -> dict:
    """``{stripped path: (size, ETag or mtime)}`` of a remote directory: one listing per run and worker.

    ``token`` identifies the run's read (``SharedInputs.read_token``): the chunks of one run on one
    worker share one listing; a later run lists again, so a changed object is seen.
    """
    key = (directory, token)
    if token is not None:
        with _LISTINGS_LOCK:
            if key in _LISTINGS:
                return _LISTINGS[key]
    stripped = fs._strip_protocol(directory)
    fs.invalidate_cache(stripped)
    try:
        entries = fs.ls(stripped, detail=True)
    except FileNotFoundError:
        entries = []
    listing = {}
    for e in entries:
        if e.get("type", "file") == "file":
            version = e.get("ETag") or e.get("etag") or e.get("LastModified") or e.get("mtime") or e.get("last_modified")
            listing[fs._strip_protocol(e["name"])] = (int(e.get("size") or 0), str(version))
    if token is not None:
        with _LISTINGS_LOCK:
            _LISTINGS[key] = listing
            while len(_LISTINGS) > 16:
                _LISTINGS.popitem(last=False)
    return listing


#: footer bytes fetched first per remote directory (grown to the footers seen, so wide files need
#: one ranged GET for the footer, not two, after the first)
_TAIL_GUESS: dict = {}
_MIN_TAIL = 8192
#: column chunks closer than this are fetched in one ranged GET
_MAX_GAP = 4096


def _stats_year_or_none(meta, schema) -> bool:
    """True when the timestamp column must be read (its statistics cannot give the year)."""
    try:
        return _stats_year(meta, schema, "") is None
    except InputError:
        return False


def _needed_ranges(meta, schema: pa.Schema, size: int) -> tuple[list, int]:
    """Byte ranges of the needed column chunks of every row group, coalesced; and their bytes."""
    names = [c for c in VALUE_COLUMNS if c in schema.names]
    if TIMESTAMP in schema.names and _stats_year_or_none(meta, schema):
        names.append(TIMESTAMP)
    ranges, needed = [], 0
    for g in range(meta.num_row_groups):
        rg = meta.row_group(g)
        for name in names:
            col = rg.column(schema.get_field_index(name))
            start = col.data_page_offset
            if col.has_dictionary_page and col.dictionary_page_offset is not None and 0 < col.dictionary_page_offset < start:
                start = col.dictionary_page_offset
            ranges.append((start, min(size, start + col.total_compressed_size)))
            needed += col.total_compressed_size
    ranges.sort()
    merged: list = []
    for a, b in ranges:
        if merged and a - merged[-1][1] <= _MAX_GAP:
            merged[-1][1] = max(merged[-1][1], b)
        else:
            merged.append([a, b])
    return merged, needed


async def _fetch_projected(fs, path: str, size: int, directory: str):
    """Footer and needed column chunks of one object by ranged GETs, in a buffer of the file's size.

    Returns ``(buffer, FileMetaData)``; bytes never fetched are zeros and never read.
    """
    import asyncio

    guess = _TAIL_GUESS.get(directory, _MIN_TAIL)
    tail_len = min(size, guess)
    tail = await fs._cat_file(path, start=size - tail_len, end=size)
    fetched, requests = len(tail), 1
    if size < 12 or tail[-4:] != b"PAR1":
        raise InputError(f"load file {path}: not a readable parquet file (no parquet footer)")
    flen = int.from_bytes(tail[-8:-4], "little")
    if flen + 8 > size:
        raise InputError(f"load file {path}: not a readable parquet file (footer length {flen} > file size)")
    if flen + 8 > tail_len:
        head = await fs._cat_file(path, start=size - flen - 8, end=size - tail_len)
        tail = head + tail
        tail_len = len(tail)
        fetched += len(head)
        requests += 1
    _TAIL_GUESS[directory] = max(_TAIL_GUESS.get(directory, _MIN_TAIL), flen + 8 + 512)
    buf = bytearray(size)
    buf[size - tail_len:] = tail
    try:
        meta = pq.read_metadata(pa.BufferReader(pa.py_buffer(buf)))
        schema = meta.schema.to_arrow_schema()
    except (pa.ArrowInvalid, OSError) as e:
        raise InputError(f"load file {path}: not a readable parquet file ({e})") from None
    ranges, needed = _needed_ranges(meta, schema, size)
    ranges = [(a, b) for a, b in ranges if a < size - tail_len]  # the tail already holds the rest
    ranges = [(a, min(b, size - tail_len)) for a, b in ranges]
    parts = await asyncio.gather(*(fs._cat_file(path, start=a, end=b) for a, b in ranges))
    for (a, b), data in zip(ranges, parts):
        buf[a:a + len(data)] = data
        fetched += len(data)
    FETCHED["bytes"] += fetched
    FETCHED["requests"] += requests + len(ranges)
    FETCHED["needed_bytes"] += needed
    return buf, meta


def _pooled(directory: str, storage_options: dict | None, batch: int) -> dict | None:
    """``storage_options`` for fetching ``batch`` objects at once from ``directory``: on S3, a
    connection pool of at least ``batch`` connections (botocore's default is 10, so 64 files in
    flight queued for 10 connections and paid the round trip ~6 times over); a pool size the user
    set is kept."""
    if not str(directory).startswith(("s3://", "s3a://")):
        return storage_options
    so = dict(storage_options or {})
    config = dict(so.get("config_kwargs") or {})
    config.setdefault("max_pool_connections", max(10, int(batch)))
    so["config_kwargs"] = config
    return so


def _remote_sources(fs, paths: list, sizes: list, directory: str, window: int):
    """Yield ``(k, buffer, metadata or exception)`` for ``paths`` in order, ``window`` objects in flight.

    Fetches run on the filesystem's own event loop while the caller decodes earlier files.
    """
    import asyncio

    if not getattr(fs, "async_impl", False) or getattr(fs, "loop", None) is None:
        for k, p in enumerate(paths):  # a synchronous filesystem: whole objects, one at a time
            try:
                yield k, fs.cat_file(p), None
            except Exception as e:  # noqa: BLE001 - handed to the caller, which names the file
                yield k, None, e
        return
    pending: collections.deque = collections.deque()
    nxt = 0

    def submit():
        nonlocal nxt
        if nxt < len(paths):
            fut = asyncio.run_coroutine_threadsafe(_fetch_projected(fs, paths[nxt], sizes[nxt], directory), fs.loop)
            pending.append((nxt, fut))
            nxt += 1

    for _ in range(max(1, window)):
        submit()
    try:
        while pending:
            k, fut = pending.popleft()
            submit()
            try:
                buf, meta = fut.result()
            except Exception as e:  # noqa: BLE001 - handed to the caller, which names the file
                yield k, None, e
                continue
            yield k, buf, meta
    finally:
        for _, fut in pending:
            fut.cancel()


def read_loads(directory: str, bldg_ids, upgrade: str | int, storage_options: dict | None = None,
               n_hours: int = HOURS_PER_YEAR, batch: int = 64, year_run: int | None = None,
               cache: bool = True, read_token: str | None = None) -> RawLoads:
    """Read the loads of ``bldg_ids`` into dense (n, H) float64 arrays.

    Only the needed columns are read: locally, memory-mapped with column projection; on object
    stores (s3://), by ranged GETs of each file's footer and of the needed column chunks only
    (coalesced when adjacent), ``batch`` files in flight while earlier ones are decoded. Files this
    worker read before and that are unchanged (same size and modification time, or ETag) come from
    its load cache (:mod:`ratedesign.loadcache`, budget ``ratedesign.loads-cache``). With
    ``year_run`` the weekday-aligned year shift is applied while copying into the arrays.

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
    batch : int, default 64
        Remote files fetched concurrently.
    year_run : int, optional
        Apply the weekday-aligned shift to this year while reading.
    cache : bool, default True
        Use (and fill) this process's load cache.
    read_token : str, optional
        Identifies one run's reads: the chunks of a run share one listing of a remote directory per
        worker (the files' ETags); None lists on every call.

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
    .. [2] Apache Parquet file format (footer, column chunks), https://parquet.apache.org/docs/file-format/
    """
    ids = [int(b) for b in bldg_ids]
    n = len(ids)
    out = RawLoads(np.empty((n, n_hours)), np.empty((n, n_hours)), np.empty((n, n_hours)),
                   np.empty(n, dtype=np.int64), aligned_to=year_run)
    paths = [load_path(directory, b, upgrade) for b in ids]
    remote = is_remote(directory)
    lc = process_cache() if cache else None

    def missing_file(i: int) -> InputError:
        return InputError(f"load file missing for bldg_id {ids[i]} (upgrade {upgrade}): {paths[i]}")

    if remote:
        fs, _ = get_fs(directory, _pooled(directory, storage_options, batch))
        stripped = [fs._strip_protocol(p) for p in paths]
        with access(directory):
            listing = _remote_listing(fs, directory, read_token)
        identity = [listing.get(sp) for sp in stripped]
    else:
        identity = [_local_identity(p) if lc is not None else True for p in paths]
    todo = []
    for i in range(n):
        if identity[i] is None:
            raise missing_file(i)
        entry = lc.get(paths[i], identity[i]) if lc is not None else None
        if entry is None:
            todo.append(i)
        else:
            _place(out, i, entry, n_hours, year_run)

    def keep(i: int, entry: CachedFile) -> None:
        READS[paths[i]] += 1
        _place(out, i, entry, n_hours, year_run)
        if lc is not None:
            lc.put(paths[i], identity[i], entry)

    if remote:
        sources = _remote_sources(fs, [stripped[i] for i in todo], [identity[i][0] for i in todo], directory, batch)
        for k, buf, meta in sources:
            i = todo[k]
            if buf is None:
                if isinstance(meta, FileNotFoundError):
                    raise missing_file(i)
                if isinstance(meta, InputError):
                    raise InputError(str(meta).replace(stripped[i], paths[i]))
                raise meta
            keep(i, _parse_file(pa.BufferReader(pa.py_buffer(buf)), paths[i], n_hours,
                                metadata=meta if isinstance(meta, pq.FileMetaData) else None))
    else:
        for i in todo:
            try:
                keep(i, _parse_file(paths[i], paths[i], n_hours))
            except FileNotFoundError:
                raise missing_file(i) from None
    return out


def file_identities(directory: str, bldg_ids, upgrade: str | int, storage_options: dict | None = None,
                    read_token: str | None = None) -> tuple:
    """The identity of each building's load file, as the load cache checks it (nothing is read).

    Parameters
    ----------
    directory : str
        :func:`loads_dir` (local path or URL).
    bldg_ids : sequence of int
        The buildings.
    upgrade : str or int
        ResStock upgrade number.
    storage_options : dict, optional
        fsspec options for URLs.
    read_token : str, optional
        As :func:`read_loads` (one remote listing per run and worker).

    Returns
    -------
    tuple
        Per file ``(size, mtime_ns, ctime_ns, inode)`` locally or ``(size, ETag)`` remotely; None
        for a missing file.
    """
    u = int(upgrade)
    if not is_remote(directory):
        head = load_path(directory, 0, upgrade)[: -len(f"0-{u}.parquet")]
        return tuple(_local_identity(f"{head}{int(b)}-{u}.parquet") for b in bldg_ids)
    paths = [load_path(directory, b, upgrade) for b in bldg_ids]
    fs, _ = get_fs(directory, storage_options)
    with access(directory):
        listing = _remote_listing(fs, directory, read_token)
    return tuple(listing.get(fs._strip_protocol(p)) for p in paths)


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
           "file_identities", "load_path", "loads_dir", "process_loads", "pv_net", "read_loads"]

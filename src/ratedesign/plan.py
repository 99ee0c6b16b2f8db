"""Plan phase of a study: every input of every selected run checked before anything runs.

``check_chains`` parses, once per file, every tariff (electric, and the gas tariffs the sample
uses), tariff map, revenue requirement, marginal-cost file, utility assignment, metadata and
EIA-861 file that the runs read from disk (derived files are produced by the chain and checked
when they are written), and reads the footer of every load file of every run's building sample:
column names, row count, null counts and the minimum of the consumption columns from the row-group
statistics. Problems are collected, not raised one by one: the CLI prints one line per problem
(file and field) and exits 2 before the store is touched.

Load values are checked from the footers only: a NaN stored as a float (not as a null) is not in
parquet statistics, so it is caught when the worker reads the file (``loads.read_loads`` raises a
non-retried :class:`~ratedesign.errors.InputError` naming the file). ``loads="sample"`` reads the
footers of at most ``LOAD_SAMPLE`` files per loads directory (faster on S3).
"""

from __future__ import annotations

import logging
import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from ratedesign.errors import InputError
from ratedesign.fsio import exists, get_fs, is_remote
from ratedesign.loads import GAS, LOAD_COLUMNS, PV, TIMESTAMP, TOTAL, load_path
from ratedesign.calendar import HOURS_PER_YEAR

log = logging.getLogger("ratedesign")

#: load files whose footer is read per loads directory with ``loads="sample"``
LOAD_SAMPLE = 200
#: columns a load file must have (PV is optional: a building without PV may lack the column)
REQUIRED_LOAD_COLUMNS = tuple(c for c in LOAD_COLUMNS if c != PV)


class _Problems:
    def __init__(self):
        self.lines: list[str] = []
        self.seen: set = set()
        self.results: dict = {}

    def add(self, msg: str) -> None:
        msg = " ".join(str(msg).split())
        if msg not in self.seen:
            self.seen.add(msg)
            self.lines.append(msg)

    def guard(self, key, fn, *a, **kw):
        """Run a check once per ``key``; an InputError becomes a problem line."""
        if key in self.results:
            return self.results[key]
        try:
            value = fn(*a, **kw)
        except InputError as e:
            for line in str(e).splitlines():
                self.add(line)
            value = None
        self.results[key] = value
        return value


def check_load_footer(path: str, fs=None, n_hours: int = HOURS_PER_YEAR) -> list[str]:
    """Problems of one load file found from its parquet footer (no data pages are read).

    Parameters
    ----------
    path : str
        The file (local path or URL).
    fs : fsspec filesystem, optional
        For remote files.
    n_hours : int
        Expected rows (8760 hourly values).

    Returns
    -------
    list of str
        One line per problem: missing file, unreadable file, missing column, wrong row count,
        nulls, negative consumption (from the row-group minima), non-timestamp ``timestamp``.
    """
    try:
        if fs is not None and is_remote(path):
            with fs.open(fs._strip_protocol(path), "rb") as f:
                meta = pq.ParquetFile(f).metadata
                schema = meta.schema.to_arrow_schema()
        else:
            meta = pq.read_metadata(path)
            schema = meta.schema.to_arrow_schema()
    except FileNotFoundError:
        return [f"load file {path}: file not found"]
    except (pa.ArrowInvalid, OSError) as e:
        if not is_remote(path) and not os.path.exists(path):
            return [f"load file {path}: file not found"]
        return [f"load file {path}: not a readable parquet file ({str(e).splitlines()[0]})"]
    out = []
    missing = [c for c in REQUIRED_LOAD_COLUMNS if c not in schema.names]
    if missing:
        out.append(f"load file {path}: column {missing[0]!r} is missing (expected {list(REQUIRED_LOAD_COLUMNS)}; "
                   f"{PV!r} is optional)")
    if meta.num_rows != n_hours:
        out.append(f"load file {path}: has {meta.num_rows} rows; expected {n_hours} hourly rows of one year "
                   f"(a leap-year file has 8784)")
    if TIMESTAMP in schema.names:
        t = schema.field(TIMESTAMP).type
        if not (pa.types.is_timestamp(t) or pa.types.is_date(t) or pa.types.is_string(t)
                or pa.types.is_large_string(t)):
            out.append(f"load file {path}: column 'timestamp' has type {t}; expected datetimes")
    for col in (TOTAL, PV, GAS):
        if col not in schema.names:
            continue
        idx = schema.get_field_index(col)
        nulls, low = 0, np.inf
        for g in range(meta.num_row_groups):
            st = meta.row_group(g).column(idx).statistics
            if st is None:
                continue
            if st.has_null_count:
                nulls += st.null_count
            if st.has_min_max:
                try:
                    low = min(low, float(st.min))
                    if np.isnan(float(st.min)) or np.isnan(float(st.max)):
                        nulls += 1
                except (TypeError, ValueError):
                    pass
        if nulls:
            out.append(f"load file {path}: column {col!r} has missing (NaN/null) values")
        elif col != PV and low < 0:
            out.append(f"load file {path}: column {col!r} has negative values (min {low:g} kWh); "
                       f"consumption must be >= 0 (PV generation goes in {PV!r})")
    return out


def _check_loads(directory: str, ids, upgrade: str, so, mode: str, problems: _Problems, n_threads: int = 8) -> None:
    ids = list(ids)
    if mode == "sample" and len(ids) > LOAD_SAMPLE:
        step = len(ids) / LOAD_SAMPLE
        ids = [ids[int(i * step)] for i in range(LOAD_SAMPLE)]
    fs = get_fs(directory, so)[0] if is_remote(directory) else None
    paths = [load_path(directory, b, upgrade) for b in ids]
    with ThreadPoolExecutor(max_workers=n_threads) as ex:
        for lines in ex.map(lambda p: check_load_footer(p, fs), paths):
            for line in lines:
                problems.add(line)


def release_memory() -> None:
    """Give the memory freed by the plan phase back to the operating system.

    Reading thousands of footers from a thread pool and every map and metadata file leaves the
    driver's C heap (one glibc arena per reader thread) and pyarrow's pool holding freed memory:
    measured for the ten utilities at 200 buildings each, 368 MB of driver RSS after the plan with
    4 MB of live Python objects; 332 MB with this call after each load directory (184 MB for one
    utility). Best effort: ``malloc_trim`` exists only in glibc.

    Returns
    -------
    None
        Nothing.
    """
    import ctypes
    import gc

    gc.collect()  # frames and tables in reference cycles
    try:
        pa.default_memory_pool().release_unused()
    except Exception:  # noqa: BLE001 - an allocator without the call
        pass
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc (macOS, musl): nothing to trim
        pass


def _check_rr(cfg, derived: set, problems: _Problems) -> None:
    from ratedesign.revenue import load_revenue_requirement

    if "utility_revenue_requirement" in derived:
        return
    subclasses = cfg.run_includes_subclasses and cfg.run_type == "precalc"
    key = ("rr", cfg.utility_revenue_requirement, cfg.run_includes_supply, subclasses,
           cfg.residual_allocation_delivery, cfg.residual_allocation_supply)
    rr = problems.guard(key, load_revenue_requirement, cfg.utility_revenue_requirement, cfg.storage_options,
                        include_supply=cfg.run_includes_supply, subclasses=subclasses,
                        method_delivery=cfg.residual_allocation_delivery, method_supply=cfg.residual_allocation_supply)
    if rr is None:
        return
    field_name = ("total_delivery_and_supply_revenue_requirement" if cfg.run_includes_supply
                  else "total_delivery_revenue_requirement")
    if not np.isfinite(rr.total) or rr.total <= 0:
        problems.add(f"revenue requirement {rr.source}: field {field_name!r} (or 'revenue_requirement') is "
                     f"{rr.total:,.0f} $; expected a positive amount in $")
    for sub, amount in (rr.by_subclass or {}).items():
        if not np.isfinite(amount) or amount <= 0:
            problems.add(f"revenue requirement {rr.source}: subclass {sub!r} amount is {amount:,.0f} $; "
                         f"expected a positive amount in $")
    for name, v in (("test_year_customer_count", rr.customer_count), ("resstock_kwh_scale_factor", rr.kwh_scale_factor)):
        if v is not None and not v > 0:
            problems.add(f"revenue requirement {rr.source}: field {name!r} is {v}; expected a positive number")


def _check_run(cfg, derived: set, cache, problems: _Problems, loads: str, load_jobs: dict) -> None:
    from ratedesign.buildings import assign_tariffs, eia_customer_count
    from ratedesign.flex import parse_elasticity
    from ratedesign.marginal_costs import load_marginal_costs
    from ratedesign.tariff import load_tariff, relative_rates, tariff_key_from_path

    so = cfg.storage_options
    # electric tariffs read from disk
    stems = []
    for sub, p in cfg.path_tariffs_electric.items():
        stems.append(tariff_key_from_path(p))
        if f"path_tariffs_electric.{sub}" in derived:
            continue
        t = problems.guard(("tariff", p), load_tariff, p, so)
        if t is not None and cfg.run_type == "precalc":
            problems.guard(("rel", p), relative_rates, t)
    _check_rr(cfg, derived, problems)
    problems.guard(("elasticity", cfg.source), parse_elasticity, cfg.elasticity, f"scenario {cfg.source}")
    # marginal costs (rows, columns, NaN)
    mc_key = ("mc", cfg.year_run, cfg.path_supply_energy_mc, cfg.path_supply_capacity_mc, cfg.path_supply_ancillary_mc,
              cfg.path_dist_and_sub_tx_mc, cfg.path_bulk_tx_mc)
    problems.guard(mc_key, load_marginal_costs, cfg.year_run, path_supply_energy_mc=cfg.path_supply_energy_mc,
                   path_supply_capacity_mc=cfg.path_supply_capacity_mc,
                   path_supply_ancillary_mc=cfg.path_supply_ancillary_mc,
                   path_dist_and_sub_tx_mc=cfg.path_dist_and_sub_tx_mc, path_bulk_tx_mc=cfg.path_bulk_tx_mc,
                   storage_options=so)
    if cfg.path_electric_utility_stats and exists(cfg.path_electric_utility_stats, so):
        problems.guard(("eia", cfg.path_electric_utility_stats, cfg.utility), eia_customer_count,
                       cfg.path_electric_utility_stats, cfg.utility, so)
    # sample, metadata
    ids = problems.guard(("sample", cfg.path_utility_assignment, cfg.utility, cfg.sample_size), cache.sample, cfg)
    if ids is None:
        return
    ids = np.sort(np.asarray(ids, dtype=np.int64))
    meta = problems.guard(("meta", cfg.path_resstock_metadata), cache.parquet, cfg.path_resstock_metadata,
                          "path_resstock_metadata")
    if meta is not None:
        mkey = ("meta-ids", cfg.path_resstock_metadata, cfg.path_utility_assignment, cfg.utility, cfg.sample_size)
        if mkey not in problems.seen:
            problems.seen.add(mkey)
            if "bldg_id" not in meta.columns:
                problems.add(f"path_resstock_metadata {cfg.path_resstock_metadata}: column 'bldg_id' is missing")
            else:
                m = meta.set_index(meta["bldg_id"].astype(np.int64))
                miss = ~np.isin(ids, m.index.to_numpy())
                if miss.any():
                    problems.add(f"path_resstock_metadata {cfg.path_resstock_metadata}: {int(miss.sum())} building(s) "
                                 f"of utility {cfg.utility!r} are missing, e.g. bldg_id {ids[miss][:3].tolist()}")
                elif "weight" in m.columns:
                    w = m["weight"].reindex(ids).to_numpy(dtype=float)
                    if np.isnan(w).any() or (w < 0).any():
                        problems.add(f"path_resstock_metadata {cfg.path_resstock_metadata}: column 'weight' has "
                                     f"missing or negative values")
    # tariff maps
    if "path_tariff_maps_electric" not in derived:
        tmap = problems.guard(("map", cfg.path_tariff_maps_electric), cache.tariff_map, cfg.path_tariff_maps_electric,
                              "path_tariff_maps_electric")
        if tmap is not None:
            problems.guard(("assign", cfg.path_tariff_maps_electric, tuple(stems), cfg.utility, cfg.sample_size),
                           assign_tariffs, ids, tmap, stems, cfg.path_tariff_maps_electric, "path_tariff_maps_electric")
    if cfg.path_tariff_maps_gas and cfg.path_tariffs_gas:
        gmap = problems.guard(("map", cfg.path_tariff_maps_gas), cache.tariff_map, cfg.path_tariff_maps_gas,
                              "path_tariff_maps_gas")
        if gmap is not None:
            miss = ~np.isin(ids, gmap.index.to_numpy())
            if miss.any():
                problems.add(f"path_tariff_maps_gas {cfg.path_tariff_maps_gas}: no tariff_key for {int(miss.sum())} "
                             f"building(s) of the sample, e.g. bldg_id {ids[miss][:3].tolist()}")
            from ratedesign.fsio import join
            for k in sorted(set(gmap.reindex(ids).dropna())):
                p = join(cfg.path_tariffs_gas, f"{k}.json")
                problems.guard(("tariff", p), load_tariff, p, so, k)
    # load files of the sample
    directory = str(cfg.path_resstock_loads).rstrip("/")
    try:
        upgrade = cfg.load_upgrade
    except InputError as e:
        problems.add(str(e))
        return
    if loads != "none":
        load_jobs.setdefault((directory, upgrade), set()).update(int(b) for b in ids)


def check_chains(chains, storage_options: dict | None = None, loads: str = "all") -> list[str]:
    """Check every input of every scenario run of ``chains`` (see module docstring).

    Parameters
    ----------
    chains : list of ratedesign.chain.Chain
        The expanded chains (skipped entries are not checked).
    storage_options : dict, optional
        fsspec options for s3:// inputs.
    loads : {"all", "sample", "none"}
        Footers of every load file of every sample, of at most ``LOAD_SAMPLE`` per directory, or none.

    Returns
    -------
    list of str
        One line per problem (empty when every input is usable).
    """
    from ratedesign.chain import _PlanCache
    from ratedesign.scenario import ScenarioConfig

    problems = _Problems()
    cache = _PlanCache(storage_options)
    load_jobs: dict = {}
    for ch in chains:
        for st in ch.scenario_steps:
            params = dict(st.params["scenario"])
            params["storage_options"] = storage_options
            cfg = ScenarioConfig.from_params(params, source=f"{ch.source} entry {st.label}")
            derived = set((st.params.get("inputs") or {}).keys())
            _check_run(cfg, derived, cache, problems, loads, load_jobs)
    release_memory()
    for (directory, upgrade), ids in sorted(load_jobs.items()):
        _check_loads(directory, sorted(ids), upgrade, storage_options, loads, problems)
        release_memory()
    log.info("plan: %d load directories, %d problems", len(load_jobs), len(problems.lines))
    lines = problems.lines
    del problems, cache, load_jobs  # every parsed map, metadata frame and MC table of every utility
    release_memory()
    return lines


__all__ = ["check_chains", "check_load_footer", "LOAD_SAMPLE", "release_memory"]

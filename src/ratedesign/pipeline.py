"""One run, chunked by building: per-chunk pass on the workers, one global reduction, finalize.

Flow (the "Parallel structure" of ../shared/rate_design_spec.md, which follows the platform's
``context/code/cairo/cairo_parallelize_two_undasked_stages.md`` in
switchbox-data/rate-design-platform; stage labels S0-S9 are that spec's, see :mod:`ratedesign`):

1. Driver (``prepare_inputs``): scenario -> tariffs, buildings and weights (S0), marginal prices
   (S3 inputs), revenue requirement. All small.
2. Workers (``process_chunk`` through ``mapper``): each chunk reads *its own* buildings' loads (S1),
   and returns per-building aggregates -- monthly energy charges at the input rates, monthly unity
   bills (S5), monthly kWh, annual kWh, economic burden (S7), peak-hour kWh -- plus chunk partial
   sums: the 8760 system-demand vector (S2), sum w, sum w q, sum w EB, sum w cp and per-tariff
   sum w and sum w U.
3. Driver (``reduce_chunks``): partials are added once, in chunk order; TMC, R, r_k (S3, S5).
4. Driver (``finalize``): bills (S6), residual shares (S8), BAT and group stats (S9) from the
   per-building aggregates and the broadcast global scalars (vectorised, O(n) small arrays).

Driver memory is O(n x ~40 floats); the n x 8760 arrays only ever exist one chunk at a time on a
worker. Results do not depend on the number of chunks beyond float summation order (~1e-15).
"""

from __future__ import annotations

import logging
import math
import uuid
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ratedesign import chunkcache as CC
from ratedesign import kernels as K
from ratedesign.buildings import BuildingSet, eia_customer_count, electric_tariffs, gas_tariffs, select_buildings
from ratedesign.calendar import MONTH_NAMES, HourCalendar
from ratedesign.errors import InputError
from ratedesign import flex as F
from ratedesign.flex import is_time_varying, parse_elasticity, shift_loads
from ratedesign.loads import KWH_TO_THERMS, file_identities, process_loads, read_loads
from ratedesign.marginal_costs import MarginalCosts, load_marginal_costs
from ratedesign.mappers import serial_mapper
from ratedesign.memory import trim_heap
from ratedesign.revenue import RevenueRequirement, load_revenue_requirement
from ratedesign.scenario import ScenarioConfig
from ratedesign.tariff import relative_rates, tariff_key_from_path

log = logging.getLogger("ratedesign")

DEFAULT_PEAK_TOP_N = 100


# ============================================================================ inputs
@dataclass
class SharedInputs:
    """What every chunk needs (broadcast, small): tariffs, prices, flags, where the loads are.

    Parameters
    ----------
    loads_dir : str
        ResStock load directory (:func:`ratedesign.loads.loads_dir`).
    upgrade : str
        ResStock upgrade.
    year_run : int
        The run year.
    tariffs : list of Tariff
        Electric tariffs; index = ``BuildingSet.elec_tariff``.
    rel : list of ndarray
        (P, T) relative rates per electric tariff (dimensionless).
    gas_tariffs : list of Tariff
        Gas tariffs; index = ``BuildingSet.gas_tariff``.
    mc_total : ndarray, shape (H,)
        Total marginal cost MC_h, $/kWh.
    peak_mask : ndarray of bool, shape (H,), optional
        Peak hours, or None when only known after the pass.
    kwh_scale_factor : float, optional
        ``resstock_kwh_scale_factor`` (dimensionless).
    floor : bool, default True
        Floor net load at 0 kWh.
    storage_options : dict, optional
        fsspec options to read the loads.
    calendar : HourCalendar, optional
        None: the 8760 hours of ``year_run``.
    elasticity : tuple of (float, float), optional
        (summer, winter) price elasticities for demand-flex runs.
    flex : list of bool, optional
        Per electric tariff: True when its customers shift load.
    winter_months : list of int, optional
        1-based winter months (flex seasons); None = Oct-Mar.
    flex_flat : dict, optional
        ``{tariff index: (2,) class flat-equivalent $/kWh (winter, summer)}``.
    rederive : bool, default False
        Precalc flex: re-derive TOU relative rates after the shift.
    read_token : str, optional
        Identifies the run's load reads (one remote directory listing per run and worker, see
        :func:`ratedesign.loads.read_loads`).
    """

    loads_dir: str
    upgrade: str
    year_run: int
    tariffs: list            # electric Tariff objects, index = BuildingSet.elec_tariff
    rel: list                # (P, T) relative rates per electric tariff
    gas_tariffs: list        # gas Tariff objects, index = BuildingSet.gas_tariff
    mc_total: np.ndarray     # (H,) $/kWh
    peak_mask: np.ndarray | None = None   # (H,) bool, or None when only known after the pass
    kwh_scale_factor: float | None = None
    floor: bool = True
    storage_options: dict | None = None
    calendar: HourCalendar | None = None   # None: the 8760 hours of year_run
    elasticity: tuple | None = None        # (summer, winter) for demand-flex runs, else None
    flex: list | None = None               # per electric tariff: True when its customers shift load
    winter_months: list | None = None      # 1-based winter months (flex seasons), None = Oct-Mar
    flex_flat: dict | None = None          # {tariff index: (2,) class flat-equivalent $/kWh (winter, summer)}
    rederive: bool = False                 # precalc flex: re-derive TOU relative rates after the shift
    read_token: str | None = None          # one remote listing per run and worker (loads.read_loads)

    def get_calendar(self) -> HourCalendar:
        """The billing calendar of the run."""
        return self.calendar if self.calendar is not None else HourCalendar.for_year(self.year_run)


@dataclass
class RunInputs:
    """Everything the driver knows before reading loads.

    Parameters
    ----------
    cfg : ScenarioConfig
        The scenario run.
    buildings : BuildingSet
        Buildings, weights (customers), tariff indices.
    shared : SharedInputs
        What every chunk needs.
    mc : MarginalCosts
        Marginal costs, $/kWh per hour.
    rr : RevenueRequirement
        Revenue requirement, $ per year.
    rr_by_tariff : dict or None
        ``{tariff key: RR_k in $ per year}`` (subclass runs).
    peak_rule : str
        Description of the peak hour set (:func:`parse_peak_hours`).
    logger : logging.Logger, optional
        Where the run's warnings go (a runfleet run's ``ctx.log``: its ``_log.txt``); None: the
        ``ratedesign`` logger.
    """

    cfg: ScenarioConfig
    buildings: BuildingSet
    shared: SharedInputs
    mc: MarginalCosts
    rr: RevenueRequirement
    rr_by_tariff: dict | None
    peak_rule: str
    logger: logging.Logger | None = None

    def warn(self, msg: str, *args) -> None:
        """Log a warning of this run, prefixed with its ``run_name``, to :attr:`logger`.

        Parameters
        ----------
        msg : str
            %-format message.
        *args
            Its arguments.
        """
        (self.logger or log).warning("%s: " + msg, self.cfg.run_name, *args)


def parse_peak_hours(spec, mc: MarginalCosts, n_hours: int = 8760) -> tuple[str, np.ndarray | None]:
    """Peak hour set for the ``peak`` residual (a scenario parameter, default ``"mc"``).

    - ``"mc"``: hours where capacity + distribution marginal cost > 0 (known before the pass);
      when there are none, falls back to ``"top:100"``.
    - ``"top:N"``: the N hours of highest system demand D_h (needs D, so a second pass reads loads).
    - a list of 0-based hour indices.

    Parameters
    ----------
    spec : str, list of int or None
        ``"mc"`` (None), ``"top:N"`` or hour indices.
    mc : MarginalCosts
        The run's marginal costs ($/kWh per hour).
    n_hours : int, default 8760
        H.

    Returns
    -------
    tuple of (str, ndarray of bool or None)
        The rule's description, and the (H,) mask, or None when it must be computed from D_h.

    Raises
    ------
    ratedesign.errors.InputError
        ``spec`` is none of the forms above, or an hour index is out of range.

    References
    ----------
    .. [1] switchbox-data/rate-design-platform,
       ``context/methods/bat_mc_residual/residual_allocation_lit_review_and_cairo.md`` section 3
       (CAIRO's coincident-peak residual; its hour set is not documented).
    """
    if spec is None or spec == "mc":
        mask = mc.capacity_like > 0
        if mask.any():
            return "mc", mask
        return f"top:{DEFAULT_PEAK_TOP_N}", None
    if isinstance(spec, str) and spec.startswith("top:"):
        try:
            n = int(spec.split(":", 1)[1])
        except ValueError:
            raise InputError(f"peak_hours {spec!r}: expected 'mc', 'top:N' or a list of hour indices") from None
        return f"top:{n}", None
    if isinstance(spec, (list, tuple, np.ndarray)):
        idx = np.asarray(spec, dtype=np.int64)
        if idx.size == 0 or idx.min() < 0 or idx.max() >= n_hours:
            raise InputError(f"peak_hours: hour indices must be in 0..{n_hours - 1}")
        mask = np.zeros(n_hours, dtype=bool)
        mask[idx] = True
        return "hours", mask
    raise InputError(f"peak_hours {spec!r}: expected 'mc', 'top:N' or a list of hour indices")


def prepare_inputs(cfg: ScenarioConfig) -> RunInputs:
    """Driver-side inputs of one scenario run: buildings and weights (S0), marginal costs (S3), RR.

    Reads only small files (tariffs, maps, metadata, marginal costs, RR YAML); loads are read by
    the workers.

    Parameters
    ----------
    cfg : ScenarioConfig
        The scenario run.

    Returns
    -------
    RunInputs
        Buildings (weights in customers), tariffs ($/kWh), marginal costs ($/kWh per hour),
        revenue requirement ($ per year).

    Raises
    ------
    ratedesign.errors.InputError
        An input file is missing or invalid (one line naming the file and the field).

    References
    ----------
    .. [1] switchbox-data/rate-design-platform, ``rate_design/hp_rates/run_scenario.py::run``; ../shared/rate_design_spec.md
       S0, S3.
    """
    so = cfg.storage_options
    rr = load_revenue_requirement(cfg.utility_revenue_requirement, so, include_supply=cfg.run_includes_supply,
                                  subclasses=cfg.run_includes_subclasses and cfg.run_type == "precalc",
                                  method_delivery=cfg.residual_allocation_delivery,
                                  method_supply=cfg.residual_allocation_supply)
    etariffs = electric_tariffs(cfg.path_tariffs_electric, so)
    keys = list(etariffs)
    rr_by_tariff = None
    if rr.by_subclass is not None:
        rr_by_tariff = {}
        for sub, p in cfg.path_tariffs_electric.items():
            if sub not in rr.by_subclass:
                raise InputError(f"revenue requirement {rr.source}: no subclass amount for {sub!r} (subclasses: "
                                 f"{', '.join(rr.by_subclass)})")
            rr_by_tariff[tariff_key_from_path(p)] = rr.by_subclass[sub]
    customer_count = cfg.customer_count or rr.customer_count
    if customer_count is None and cfg.path_electric_utility_stats:
        customer_count = eia_customer_count(cfg.path_electric_utility_stats, cfg.utility, so)
    with_gas = bool(cfg.path_tariff_maps_gas and cfg.path_tariffs_gas)
    group_col = (cfg.subclass_config or {}).get("group_col") if cfg.subclass_config else None
    bset = select_buildings(cfg, keys, with_gas, customer_count, so, group_col=group_col)
    gtariffs = gas_tariffs(cfg.path_tariffs_gas, bset.gas_keys, so) if with_gas else {}
    mc = load_marginal_costs(cfg.year_run, path_supply_energy_mc=cfg.path_supply_energy_mc,
                             path_supply_capacity_mc=cfg.path_supply_capacity_mc,
                             path_supply_ancillary_mc=cfg.path_supply_ancillary_mc,
                             path_dist_and_sub_tx_mc=cfg.path_dist_and_sub_tx_mc,
                             path_bulk_tx_mc=cfg.path_bulk_tx_mc, storage_options=so)
    rule, mask = parse_peak_hours(cfg.peak_hours, mc)
    tlist = [etariffs[k] for k in keys]
    rel = [relative_rates(t) if cfg.run_type == "precalc" else np.zeros_like(t.rate) for t in tlist]
    shared = SharedInputs(loads_dir=str(cfg.path_resstock_loads).rstrip("/"), upgrade=cfg.load_upgrade,
                          year_run=cfg.year_run, tariffs=tlist, rel=rel,
                          gas_tariffs=[gtariffs[k] for k in bset.gas_keys], mc_total=mc.total,
                          peak_mask=mask, kwh_scale_factor=rr.kwh_scale_factor,
                          floor=cfg.floor_electricity_net, storage_options=so, read_token=uuid.uuid4().hex)
    el = parse_elasticity(cfg.elasticity, f"scenario {cfg.source}")
    if el is not None:
        shared.elasticity = el
        shared.flex = [is_time_varying(t) for t in tlist]
        shared.winter_months = list(cfg.winter_months) if cfg.winter_months else None
        shared.rederive = cfg.run_type == "precalc"
        if not any(shared.flex):
            raise InputError(f"scenario {cfg.source}: field 'elasticity' is set but no tariff of "
                             f"'path_tariffs_electric' is time-of-use (varies within a day)")
    return RunInputs(cfg=cfg, buildings=bset, shared=shared, mc=mc, rr=rr, rr_by_tariff=rr_by_tariff,
                     peak_rule=rule)


# ============================================================================ chunk pass
@dataclass
class ChunkTask:
    """One chunk of buildings (contiguous slice of the run's sorted buildings).

    Parameters
    ----------
    index : int
        Chunk number.
    bldg_id : ndarray of int, shape (n,)
        The chunk's buildings.
    weight : ndarray, shape (n,)
        Customers per building.
    elec_tariff : ndarray of int, shape (n,)
        Index into ``shared.tariffs``.
    gas_tariff : ndarray of int, shape (n,), or None
        Index into ``shared.gas_tariffs``.
    shared : SharedInputs
        The broadcast inputs.
    """

    index: int
    bldg_id: np.ndarray
    weight: np.ndarray
    elec_tariff: np.ndarray
    gas_tariff: np.ndarray | None
    shared: SharedInputs

    def affinity(self) -> tuple[str, int]:
        """``(loads directory|upgrade, chunk index)``: the same chunk of the same loads prefers the
        same worker in every run (chunking is deterministic), consecutive chunks consecutive workers
        (:func:`ratedesign.mappers.context_mapper`)."""
        return f"{self.shared.loads_dir}|{self.shared.upgrade}", self.index


@dataclass
class ChunkResult:
    """Per-building aggregates (n rows) and chunk partial sums of one chunk.

    Per building: ``energy`` (n, M) $ at the input rates, ``unity`` (n, M) kWh x rel,
    ``kwh`` (n, M) monthly grid kWh, ``gas_energy`` (n, M) $, ``therms`` (n, M) and ``gas_kwh`` (n, M)
    monthly gas, ``q`` annual net kWh,
    ``load_data`` annual total kWh, ``pv`` annual PV kWh, ``eb`` $ economic burden, ``cp`` peak kWh.
    Partials: ``demand`` (H,) kWh, ``sum_w``, ``sum_wq`` kWh, ``sum_web`` $, ``sum_wcp`` kWh,
    ``tariff_w`` and ``tariff_wu`` (K,) per electric tariff.

    Parameters
    ----------
    index : int
        Chunk number.
    energy : ndarray, shape (n, M)
        Energy charges at the input rates, $ per month.
    unity : ndarray, shape (n, M)
        Unity bills, kWh x rel.
    kwh : ndarray, shape (n, M)
        Monthly grid kWh.
    gas_energy : ndarray, shape (n, M)
        Gas energy charges, $ per month.
    therms : ndarray, shape (n, M)
        Monthly gas, therms.
    q : ndarray, shape (n,)
        Annual net kWh.
    load_data : ndarray, shape (n,)
        Annual total kWh.
    pv : ndarray, shape (n,)
        Annual PV kWh.
    eb : ndarray, shape (n,)
        Economic burden, $ per year.
    cp : ndarray, shape (n,), or None
        Peak-hour kWh.
    demand : ndarray, shape (H,)
        Partial system demand, kWh per hour.
    sum_w : float
        Sum of weights, customers.
    sum_wq : float
        Sum w q, kWh.
    sum_web : float
        Sum w EB, $.
    sum_wcp : float
        Sum w cp, kWh.
    tariff_w : ndarray, shape (K,)
        Sum w per electric tariff, customers.
    tariff_wu : ndarray, shape (K,)
        Sum w U per electric tariff, kWh x rel.
    tariff_web0 : ndarray, shape (K,), optional
        Sum w EB of the unshifted loads (flex runs), $.
    tariff_web : ndarray, shape (K,), optional
        Sum w EB of the billed (shifted) loads, $.
    tariff_wshift : ndarray, shape (K,), optional
        Sum w abs(shifted kWh) / 2, kWh.
    tou_demand : ndarray, shape (H,), optional
        Sum w shifted kWh of the TOU (flex) customers.
    gas_kwh : ndarray, shape (n, M), optional
        Monthly gas kWh (billed).
    qmpt : dict, optional
        ``{k: (rows, Q (n_k, M, P, T) kWh, w)}`` for TOU re-derivation.
    """

    index: int
    energy: np.ndarray
    unity: np.ndarray
    kwh: np.ndarray
    gas_energy: np.ndarray
    therms: np.ndarray
    q: np.ndarray
    load_data: np.ndarray
    pv: np.ndarray
    eb: np.ndarray
    cp: np.ndarray | None
    demand: np.ndarray
    sum_w: float
    sum_wq: float
    sum_web: float
    sum_wcp: float
    tariff_w: np.ndarray
    tariff_wu: np.ndarray
    tariff_web0: np.ndarray | None = None   # (K,) sum w EB of the unshifted loads (flex runs), $
    tariff_web: np.ndarray | None = None    # (K,) sum w EB of the billed (shifted) loads, $
    tariff_wshift: np.ndarray | None = None  # (K,) sum w |shifted kWh| / 2, kWh
    tou_demand: np.ndarray | None = None     # (H,) sum w shifted kWh of the TOU (flex) customers
    gas_kwh: np.ndarray | None = None        # (n, M) monthly gas kWh (billed)
    qmpt: dict | None = None                 # {k: (rows, Q (n_k, M, P, T) kWh, w)} for TOU re-derivation


#: chunks whose hourly loads this process read (:func:`_trimmed` trims the heap after those)
HOURLY_READS = [0]


def _read_chunk(task: ChunkTask):
    sh = task.shared
    HOURLY_READS[0] += 1
    raw = read_loads(sh.loads_dir, task.bldg_id, sh.upgrade, sh.storage_options, year_run=sh.year_run,
                     read_token=sh.read_token)
    return process_loads(raw, sh.year_run, sh.kwh_scale_factor, sh.floor)


def _trimmed(fn, task):
    """``fn(task)``, then the worker's freed heap pages go back to the OS when ``fn`` read hourly
    loads (:func:`ratedesign.memory.trim_heap`; its arrays are freed by then)."""
    before = HOURLY_READS[0]
    out = fn(task)
    if HOURLY_READS[0] != before:
        trim_heap()
    return out


def process_chunk(task: ChunkTask) -> ChunkResult:
    """Worker side: read this chunk's loads and reduce them to per-building aggregates + partials.

    Parameters
    ----------
    task : ChunkTask
        The chunk's buildings and the broadcast inputs.

    Returns
    -------
    ChunkResult
        Per-building aggregates (n_chunk rows; $, kWh) and partial sums.

    Raises
    ------
    ratedesign.errors.InputError
        A load file is missing or invalid (not retried).
    """
    return _trimmed(_process_chunk, task)


def _process_chunk(task: ChunkTask) -> ChunkResult:
    red = _chunk_reductions(task)
    if red is not None:
        return aggregate_reductions(task, red)
    return aggregate_block(task, _read_chunk(task))


def _chunk_reductions(task: ChunkTask, classes_only: bool = False):
    """The chunk's cached reductions (:mod:`ratedesign.chunkcache`), computed and kept on a miss;
    None when the run needs hourly loads (demand flex, a hand-made calendar) or the cache is off.
    ``classes_only``: only the hour-class sums are needed (a flex run's class-sum pass)."""
    sh = task.shared
    if (sh.elasticity is not None and not classes_only) or sh.calendar is not None:
        return None
    cache = CC.process_cache()
    if cache is None:
        return None
    ident = file_identities(sh.loads_dir, task.bldg_id, sh.upgrade, sh.storage_options, sh.read_token)
    if any(i is None for i in ident):
        return None  # the hourly read names the missing file
    w = np.asarray(task.weight, dtype=float)
    key = (sh.loads_dir, str(sh.upgrade), int(sh.year_run), sh.kwh_scale_factor, bool(sh.floor),
           CC.digest(np.asarray(task.bldg_id, dtype=np.int64)))
    own = {}  # this run's vectors by (kind, digest)
    if not classes_only:
        own["eb", CC.remember("eb", sh.mc_total)] = sh.mc_total
        if sh.peak_mask is not None:
            own["cp", CC.remember("cp", sh.peak_mask)] = sh.peak_mask
    need = list(own) + ([] if classes_only else [("demand", CC.digest(w))])
    entry = cache.get(key, ident)
    if entry is not None and all(k in entry.vectors for k in need):
        return entry
    loads = _read_chunk(task)
    # the marginal costs and peak hours of the other runs this worker saw (a utility's delivery and
    # supply runs): computed now, while the hourly loads are here, so those runs need no second read
    known = {**CC.recent(), **own} if not classes_only else {}
    need += [k for k in known if k not in need]
    if entry is None:
        cal = sh.get_calendar()
        entry = CC.ChunkReductions(ident, K.class_sums(loads.net, cal),
                                   K.class_sums(loads.gas, cal) if loads.gas.any() else None,
                                   loads.net.sum(axis=1), loads.total.sum(axis=1), loads.pv.sum(axis=1))
    for kind, d in need:
        if (kind, d) in entry.vectors:
            continue
        if kind == "eb":
            entry.vectors[kind, d] = K.economic_burden(loads.net, known[kind, d])
        elif kind == "demand":
            entry.vectors[kind, d] = K.system_demand(loads.net, w)
        else:
            entry.vectors[kind, d] = loads.net[:, known[kind, d]].sum(axis=1)
    cache.put(key, entry)
    return entry


def aggregate_reductions(task: ChunkTask, red) -> ChunkResult:
    """:func:`aggregate_block` from a chunk's cached reductions instead of its hourly loads.

    Bills, unity bills and kWh come from the hour-class sums (``kernels.demand_by_tou_classes``),
    economic burden, system demand and peak kWh from the reductions of the run's marginal costs,
    weights and peak hours (:mod:`ratedesign.chunkcache`). Not for demand-flex runs (their loads
    move between hours).

    Parameters
    ----------
    task : ChunkTask
        The chunk's buildings and the broadcast inputs.
    red : ratedesign.chunkcache.ChunkReductions
        Its reductions, holding the vectors of this run's marginal costs, weights and peak hours.

    Returns
    -------
    ChunkResult
        As :func:`aggregate_block` (equal up to float summation order).
    """
    sh = task.shared
    cal = sh.get_calendar()
    n, m = len(task.bldg_id), cal.n_months
    w = np.asarray(task.weight, dtype=float)
    energy, unity, kwh = np.zeros((n, m)), np.zeros((n, m)), np.zeros((n, m))
    kt = len(sh.tariffs)
    tw, twu = np.zeros(kt), np.zeros(kt)
    for k in np.unique(task.elec_tariff):
        rows = task.elec_tariff == k
        t = sh.tariffs[k]
        q = K.demand_by_tou_classes(red.net_classes[rows], cal, t)
        energy[rows] = K.energy_charges(q, t)
        unity[rows] = K.unity_energy(q, sh.rel[k])
        kwh[rows] = q.sum(axis=(2, 3))
        tw[k] = w[rows].sum()
        twu[k] = w[rows] @ unity[rows].sum(axis=1)
    gas_energy, gas_kwh = np.zeros((n, m)), np.zeros((n, m))
    if task.gas_tariff is not None and red.gas_classes is not None:
        for k in np.unique(task.gas_tariff):
            rows = task.gas_tariff == k
            g = K.demand_by_tou_classes(red.gas_classes[rows], cal, sh.gas_tariffs[k])
            gas_energy[rows] = K.energy_charges(g, sh.gas_tariffs[k])
            gas_kwh[rows] = g.sum(axis=(2, 3))
    therms = gas_kwh * KWH_TO_THERMS
    eb = red.vectors["eb", CC.digest(sh.mc_total)]
    cp = red.vectors["cp", CC.digest(sh.peak_mask)] if sh.peak_mask is not None else None
    return ChunkResult(index=task.index, energy=energy, unity=unity, kwh=kwh, gas_energy=gas_energy,
                       therms=therms, q=red.q, load_data=red.load_data, pv=red.pv, eb=eb, cp=cp,
                       demand=red.vectors["demand", CC.digest(w)], sum_w=float(w.sum()),
                       sum_wq=float(w @ red.q), sum_web=float(w @ eb),
                       sum_wcp=float(w @ cp) if cp is not None else 0.0, tariff_w=tw, tariff_wu=twu,
                       gas_kwh=gas_kwh)


def aggregate_block(task: ChunkTask, loads) -> ChunkResult:
    """Per-building aggregates and partial sums of one block of processed loads.

    System demand (S2), demand by period and tier (S4), unity bills (S5), energy charges at the
    input rates (S6) and economic burden (S7) of ../shared/rate_design_spec.md.

    Parameters
    ----------
    task : ChunkTask
        The block's buildings and the broadcast inputs.
    loads : ratedesign.loads.BuildingLoads
        Processed loads, kWh per hour, shape (n, H).

    Returns
    -------
    ChunkResult
        Per-building aggregates ($, kWh) and partial sums.

    References
    ----------
    .. [1] switchbox-data/rate-design-platform, ``utils/mid/patches.py``.
    """
    sh = task.shared
    cal = sh.get_calendar()
    n, m = len(task.bldg_id), cal.n_months
    w = np.asarray(task.weight, dtype=float)
    energy, unity, kwh = np.zeros((n, m)), np.zeros((n, m)), np.zeros((n, m))
    kt = len(sh.tariffs)
    tw, twu = np.zeros(kt), np.zeros(kt)
    net = loads.net
    web0 = web1 = wshift = tou_demand = None
    qmpt = {} if (sh.elasticity is not None and sh.rederive) else None
    if sh.elasticity is not None:
        eb0 = K.economic_burden(net, sh.mc_total)
        net = net.copy()
        wshift = np.zeros(kt)
        tou_demand = np.zeros(net.shape[1])
        for k in np.unique(task.elec_tariff):
            rows = task.elec_tariff == k
            if sh.flex and sh.flex[k]:
                shifted = shift_loads(net[rows], cal, sh.tariffs[k], sh.elasticity, _flat(sh, k),
                                      sh.winter_months)
                wshift[k] = w[rows] @ (np.abs(shifted - net[rows]).sum(axis=1) / 2.0)
                net[rows] = shifted
                tou_demand += w[rows] @ shifted
        web0 = np.array([w[task.elec_tariff == k] @ eb0[task.elec_tariff == k] for k in range(kt)])
    for k in np.unique(task.elec_tariff):
        rows = task.elec_tariff == k
        t = sh.tariffs[k]
        q = K.demand_by_tou(net[rows], cal, t)
        energy[rows] = K.energy_charges(q, t)
        unity[rows] = K.unity_energy(q, sh.rel[k])
        kwh[rows] = q.sum(axis=(2, 3))
        tw[k] = w[rows].sum()
        twu[k] = w[rows] @ unity[rows].sum(axis=1)
        if qmpt is not None and sh.flex[k]:
            qmpt[int(k)] = (np.flatnonzero(rows), q, w[rows])
    # gas: RateAcuity rates are $/kWh and tier ceilings kWh/month, so bills use gas kWh; therms reported
    gas_energy, therms, gas_kwh = np.zeros((n, m)), np.zeros((n, m)), np.zeros((n, m))
    if task.gas_tariff is not None:
        for k in np.unique(task.gas_tariff):
            rows = task.gas_tariff == k
            g = K.demand_by_tou(loads.gas[rows], cal, sh.gas_tariffs[k])
            gas_energy[rows] = K.energy_charges(g, sh.gas_tariffs[k])
            gas_kwh[rows] = g.sum(axis=(2, 3))
        therms = gas_kwh * KWH_TO_THERMS
    q_annual = net.sum(axis=1)
    eb = K.economic_burden(net, sh.mc_total)
    cp = net[:, sh.peak_mask].sum(axis=1) if sh.peak_mask is not None else None
    if web0 is not None:
        web1 = np.array([w[task.elec_tariff == k] @ eb[task.elec_tariff == k] for k in range(kt)])
    return ChunkResult(index=task.index, energy=energy, unity=unity, kwh=kwh, gas_energy=gas_energy,
                       therms=therms, q=q_annual, load_data=loads.total.sum(axis=1), pv=loads.pv.sum(axis=1),
                       eb=eb, cp=cp, demand=K.system_demand(net, w), sum_w=float(w.sum()),
                       sum_wq=float(w @ q_annual), sum_web=float(w @ eb),
                       sum_wcp=float(w @ cp) if cp is not None else 0.0, tariff_w=tw, tariff_wu=twu,
                       tariff_web0=web0, tariff_web=web1, tariff_wshift=wshift, tou_demand=tou_demand,
                       qmpt=qmpt, gas_kwh=gas_kwh)


def _flat(sh: SharedInputs, k: int) -> np.ndarray:
    if sh.flex_flat is None or int(k) not in sh.flex_flat:
        raise RuntimeError("demand flex: class flat-equivalent prices missing (run the class-sum pass first)")
    return sh.flex_flat[int(k)]


def process_flex_sums(task: ChunkTask) -> dict:
    """Worker side, first pass of a demand-flex run: kWh of each TOU tariff's buildings by (season, period).

    Parameters
    ----------
    task : ChunkTask
        The chunk.

    Returns
    -------
    dict
        ``{tariff index: ndarray, shape (2, P)}`` unweighted kWh; their sum over chunks gives the
        class flat-equivalent price (:func:`ratedesign.flex.flat_equivalent_price`).
    """
    return _trimmed(_process_flex_sums, task)


def _process_flex_sums(task: ChunkTask) -> dict:
    sh = task.shared
    red = _chunk_reductions(task, classes_only=True)
    loads = _read_chunk(task) if red is None else None
    cal = sh.get_calendar()
    out = {}
    for k in np.unique(task.elec_tariff):
        if sh.flex and sh.flex[k]:
            rows = task.elec_tariff == k
            if red is not None:
                out[int(k)] = F.class_period_kwh_from_classes(red.net_classes[rows], cal, sh.tariffs[k],
                                                              sh.winter_months)
            else:
                out[int(k)] = F.class_period_kwh(loads.net[rows], cal, sh.tariffs[k], sh.winter_months)
    return out


def flex_flat_prices(inputs: "RunInputs", sums: list) -> dict:
    """Flat-equivalent prices per season from the chunks' class sums.

    Parameters
    ----------
    inputs : RunInputs
        The run's inputs (its tariffs).
    sums : list of dict
        :func:`process_flex_sums` of every chunk.

    Returns
    -------
    dict
        ``{tariff index: ndarray, shape (2,)}``, $/kWh for (winter, summer).
    """
    sh = inputs.shared
    out = {}
    for k, t in enumerate(sh.tariffs):
        if sh.flex and sh.flex[k]:
            tot = sum((d[k] for d in sums if k in d), np.zeros((2, t.n_periods)))
            out[k] = F.flat_equivalent_price(tot, t)
    return out


@dataclass
class PeakTask:
    """Second pass for a demand-based peak hour set: only the peak-hour kWh.

    Parameters
    ----------
    chunk : ChunkTask
        The chunk.
    peak_mask : ndarray of bool, shape (H,)
        The peak hours.
    """

    chunk: ChunkTask
    peak_mask: np.ndarray

    def affinity(self) -> tuple[str, int]:
        """The chunk's :meth:`ChunkTask.affinity` (its loads are in that worker's cache)."""
        return self.chunk.affinity()


def process_peak_chunk(task: PeakTask) -> tuple[np.ndarray, float]:
    """Worker side of the second pass: kWh of each building in the peak hours.

    Parameters
    ----------
    task : PeakTask
        The chunk and the (H,) peak-hour mask.

    Returns
    -------
    tuple of (ndarray, float)
        cp per building (n_chunk,), kWh; the chunk's sum of w cp, kWh.
    """
    return _trimmed(_process_peak_chunk, task)


def _process_peak_chunk(task: PeakTask) -> tuple[np.ndarray, float]:
    loads = _read_chunk(task.chunk)
    net = loads.net
    sh = task.chunk.shared
    if sh.elasticity is not None:
        net = net.copy()
        for k in np.unique(task.chunk.elec_tariff):
            rows = task.chunk.elec_tariff == k
            if sh.flex and sh.flex[k]:
                net[rows] = shift_loads(net[rows], sh.get_calendar(), sh.tariffs[k], sh.elasticity, _flat(sh, k),
                                        sh.winter_months)
    cp = net[:, task.peak_mask].sum(axis=1)
    return cp, float(np.asarray(task.chunk.weight) @ cp)


def make_chunks(inputs: RunInputs, chunk_size: int | None = None, n_chunks: int | None = None,
                n_slots: int = 1) -> list[ChunkTask]:
    """Split the run's buildings into contiguous chunks (default: >= 2 per slot, <= 500 buildings).

    Parameters
    ----------
    inputs : RunInputs
        The run's inputs.
    chunk_size : int, optional
        Buildings per chunk.
    n_chunks : int, optional
        Number of chunks (when ``chunk_size`` is not given).
    n_slots : int, default 1
        Parallel slots (worker threads) to keep busy.

    Returns
    -------
    list of ChunkTask
        In building order.
    """
    b = inputs.buildings
    n = len(b)
    if chunk_size is None:
        if n_chunks is None:
            n_chunks = max(2 * max(int(n_slots), 1), math.ceil(n / 500))
        n_chunks = max(1, min(int(n_chunks), n))
        chunk_size = math.ceil(n / n_chunks)
    chunk_size = max(1, int(chunk_size))
    tasks = []
    for i, start in enumerate(range(0, n, chunk_size)):
        sl = slice(start, min(start + chunk_size, n))
        tasks.append(ChunkTask(index=i, bldg_id=b.bldg_id[sl], weight=b.weight[sl],
                               elec_tariff=b.elec_tariff[sl],
                               gas_tariff=b.gas_tariff[sl] if b.gas_tariff is not None else None,
                               shared=inputs.shared))
    return tasks


# ============================================================================ reduction
@dataclass
class Globals:
    """Global totals, reduced once from the chunk partials (then broadcast to finalize).

    Parameters
    ----------
    demand : ndarray, shape (H,)
        D_h, kWh per hour.
    n_customers : float
        N = sum w, customers.
    total_kwh : float
        V = sum w q, kWh.
    total_burden : float
        E = sum w EB, $.
    total_peak_kwh : float
        Sum w cp, kWh.
    tariff_w : ndarray, shape (K,)
        Sum w per tariff, customers.
    tariff_wu : ndarray, shape (K,)
        Sum w U per tariff, kWh x rel.
    tmc : float
        TMC = sum_h D_h MC_h, $.
    tmc_by_component : dict
        TMC per marginal cost column, $.
    revenue_requirement : float
        RR, $.
    residual : float
        R = RR - TMC, $.
    levels : ndarray, shape (K,), or None
        r_k, $/kWh (precalc).
    flex : dict, optional
        Demand-flex bookkeeping (per tariff TMC change, kWh shifted, frozen R).
    rel : list of ndarray, optional
        Relative rates re-derived after a demand-flex shift (else the input's).
    """

    demand: np.ndarray          # D_h kWh
    n_customers: float          # N = sum w
    total_kwh: float            # V = sum w q, kWh
    total_burden: float         # E = sum w EB, $
    total_peak_kwh: float       # sum w cp, kWh
    tariff_w: np.ndarray        # per tariff sum w
    tariff_wu: np.ndarray       # per tariff sum w U (kWh x rel)
    tmc: float                  # sum_h D_h MC_h, $
    tmc_by_component: dict
    revenue_requirement: float  # RR, $
    residual: float             # R = RR - TMC, $
    levels: np.ndarray | None   # r_k, $/kWh (precalc)
    flex: dict | None = None    # demand-flex bookkeeping (per tariff TMC change, kWh shifted, frozen R)
    rel: list | None = None     # relative rates re-derived after a demand-flex shift (else the input's)


@dataclass
class RunResult:
    """Outputs of one run (small frames; the writer turns them into CAIRO files).

    Parameters
    ----------
    inputs : RunInputs
        The run's inputs.
    globals : Globals
        The run's global totals.
    bat : pandas.DataFrame
        One row per building (CAIRO BAT columns, $ per customer-year, + extras).
    elec_bills : pandas.DataFrame
        Wide: bldg_id, weight, Jan..Dec ($ per month), Annual ($ per year).
    gas_bills : pandas.DataFrame
        The same for gas.
    comb_bills : pandas.DataFrame
        Electric + gas.
    calibrated : dict
        ``{tariff key: Tariff}`` (precalc: calibrated; default: as input).
    group_stats : pandas.DataFrame
        :func:`bat_group_stats`.
    customer_metadata : pandas.DataFrame
        Metadata of the buildings.
    peak_rule : str
        Description of the peak hour set.
    n_chunks : int, default 0
        Chunks the run was split into.
    timings : dict
        Seconds per phase.
    kwh_monthly : pandas.DataFrame, optional
        Wide: bldg_id, weight, Jan..Dec, Annual (billed grid kWh).
    elec_bills_input : pandas.DataFrame, optional
        Precalc: bills at the input tariffs' rates (before calibration), $.
    """

    inputs: RunInputs
    globals: Globals
    bat: pd.DataFrame            # one row per building (CAIRO BAT columns + extras)
    elec_bills: pd.DataFrame     # wide: bldg_id, weight, Jan..Dec, Annual
    gas_bills: pd.DataFrame
    comb_bills: pd.DataFrame
    calibrated: dict             # {tariff key: Tariff} (precalc: calibrated; default: as input)
    group_stats: pd.DataFrame
    customer_metadata: pd.DataFrame
    peak_rule: str
    n_chunks: int = 0
    timings: dict = field(default_factory=dict)
    kwh_monthly: pd.DataFrame | None = None   # wide: bldg_id, weight, Jan..Dec, Annual (billed grid kWh)
    elec_bills_input: pd.DataFrame | None = None  # precalc: bills at the input tariffs' rates (before calibration), $


def _concat(results: list[ChunkResult], name: str) -> np.ndarray:
    return np.concatenate([getattr(r, name) for r in results], axis=0)


def reduce_chunks(inputs: RunInputs, results: list[ChunkResult]) -> Globals:
    """Add the chunk partials once (chunk order), then TMC, R and the calibrated levels r_k.

    Parameters
    ----------
    inputs : RunInputs
        The run's inputs.
    results : list of ChunkResult
        Every chunk's result, in chunk order.

    Returns
    -------
    Globals
        D_h (kWh per hour), N (customers), V (kWh), E, TMC, RR and R ($ per year), r_k ($/kWh).

    Raises
    ------
    ratedesign.errors.InputError
        A subclass run whose revenue requirement has no amount for one of its tariffs.

    References
    ----------
    .. [1] switchbox-data/rate-design-platform, ``context/code/cairo/cairo_tiered_rates_support.md`` and ``utils/demand_flex.py``;
       ../shared/rate_design_spec.md S2, S3, S5.
    """
    results = sorted(results, key=lambda r: r.index)
    demand = np.sum([r.demand for r in results], axis=0)
    tw = np.sum([r.tariff_w for r in results], axis=0)
    twu = np.sum([r.tariff_wu for r in results], axis=0)
    mc = inputs.mc
    tmc = float(demand @ mc.total)
    comp = {k: float(demand @ v) for k, v in mc.columns.items()}
    cfg = inputs.cfg
    tariffs = inputs.shared.tariffs
    n_months = results[0].energy.shape[1] if results else 12
    levels = None
    flex = None
    rr_by_tariff = inputs.rr_by_tariff
    if results and results[0].tariff_web0 is not None:
        web0 = np.sum([r.tariff_web0 for r in results], axis=0)
        web1 = np.sum([r.tariff_web for r in results], axis=0)
        shifted = np.sum([r.tariff_wshift for r in results], axis=0)
        delta = web1 - web0
        flex = {"elasticity": list(inputs.shared.elasticity),
                "tmc_unshifted": float(web0.sum()), "tmc_shifted": float(web1.sum()),
                "tmc_change_by_tariff": {t.key: float(delta[k]) for k, t in enumerate(tariffs)},
                "kwh_shifted_by_tariff": {t.key: float(shifted[k]) for k, t in enumerate(tariffs)}}
        if cfg.run_type == "precalc":
            # R is frozen at RR - TMC(unshifted); the new RR is TMC(shifted) + R, and each tariff's
            # RR_k moves by the change of its own customers' marginal cost (sum_k = TMC change)
            if rr_by_tariff is not None:
                rr_by_tariff = {t.key: rr_by_tariff[t.key] + float(delta[k]) for k, t in enumerate(tariffs)
                                if t.key in rr_by_tariff}
            flex["residual_frozen"] = None  # filled below
    rel_new = None
    if flex is not None and inputs.shared.rederive and results[0].tou_demand is not None:
        class_load = np.sum([r.tou_demand for r in results], axis=0)
        rel_new = list(inputs.shared.rel)
        flex["tou_rederivation"] = {}
        fallbacks = []
        for k, t in enumerate(tariffs):
            if not (inputs.shared.flex and inputs.shared.flex[k]):
                continue
            rel_new[k], rec = F.rederive_relative_rates(t, inputs.shared.rel[k], inputs.shared.get_calendar(),
                                                        mc.total, class_load, inputs.shared.winter_months)
            flex["tou_rederivation"][t.key] = rec
            for season, why in (rec.get("fallback") or {}).items():
                fallbacks.append(f"tariff {t.key} {season}: {why}")
            twu[k] = 0.0
            for r in results:
                if r.qmpt and k in r.qmpt:
                    rows, q, wr = r.qmpt[k]
                    r.unity[rows] = K.unity_energy(q, rel_new[k])
                    twu[k] += wr @ r.unity[rows].sum(axis=1)
        if fallbacks:
            inputs.warn("demand flex, TOU re-derivation (platform fallback): %s", "; ".join(fallbacks))
    if cfg.run_type == "precalc":
        fixed = np.array([n_months * t.fixed_charge for t in tariffs])
        if rr_by_tariff is not None:
            levels = np.empty(len(tariffs))
            for k, t in enumerate(tariffs):
                if t.key not in rr_by_tariff:
                    raise InputError(f"revenue requirement {inputs.rr.source}: no subclass amount for tariff {t.key!r}")
                if tw[k] == 0:
                    levels[k] = np.nan
                    continue
                levels[k] = K.calibrate_level(rr_by_tariff[t.key], tw[k] * fixed[k], twu[k])
            rr_total = float(sum(rr_by_tariff[t.key] for k, t in enumerate(tariffs) if tw[k] > 0))
        else:
            # one revenue requirement: all tariffs share one energy-rate level r
            rr_total = inputs.rr.total + (flex["tmc_shifted"] - flex["tmc_unshifted"] if flex else 0.0)
            r = K.calibrate_level(rr_total, float(tw @ fixed), float(twu.sum()))
            levels = np.full(len(tariffs), r)
        if flex:
            flex["residual_frozen"] = float(rr_total) - flex["tmc_shifted"]
            flex["revenue_requirement_input"] = float(inputs.rr.total)
            flex["revenue_requirement_shifted"] = float(rr_total)
            if rr_by_tariff is not None:
                flex["revenue_requirement_by_tariff"] = dict(rr_by_tariff)
    else:
        rr_total = inputs.rr.total
    return Globals(demand=demand, n_customers=float(sum(r.sum_w for r in results)),
                   total_kwh=float(sum(r.sum_wq for r in results)),
                   total_burden=float(sum(r.sum_web for r in results)),
                   total_peak_kwh=float(sum(r.sum_wcp for r in results)),
                   tariff_w=tw, tariff_wu=twu, tmc=tmc, tmc_by_component=comp,
                   revenue_requirement=float(rr_total), residual=float(rr_total) - tmc, levels=levels, flex=flex,
                   rel=rel_new)


# ============================================================================ finalize
def _wide(bldg_id, weight, monthly: np.ndarray) -> pd.DataFrame:
    df = pd.DataFrame(monthly, columns=list(MONTH_NAMES[: monthly.shape[1]]))
    df.insert(0, "weight", weight)
    df.insert(0, "bldg_id", bldg_id)
    df["Annual"] = monthly.sum(axis=1)
    return df


def finalize(inputs: RunInputs, results: list[ChunkResult], g: Globals, cp: np.ndarray | None = None) -> RunResult:
    """Bills, residual shares, BAT and group statistics from the aggregates and global scalars.

    Parameters
    ----------
    inputs : RunInputs
        The run's inputs.
    results : list of ChunkResult
        Every chunk's result, in chunk order.
    g : Globals
        :func:`reduce_chunks`.
    cp : ndarray, shape (n,), optional
        Peak-hour kWh per building when the peak hours were computed from D_h.

    Returns
    -------
    RunResult
        Bills ($ per month and year), BAT table ($ per customer-year), group statistics,
        calibrated tariffs ($/kWh).

    References
    ----------
    .. [1] S. Simeone et al., "The Bill Alignment Test: Identifying trade-offs with residential
       rate design options", Utilities Policy, 2023. (Eq. 6)
    .. [2] switchbox-data/rate-design-platform, ``utils/mid/patches.py``; ../shared/rate_design_spec.md S6, S8, S9.
    """
    results = sorted(results, key=lambda r: r.index)
    b = inputs.buildings
    cfg = inputs.cfg
    sh = inputs.shared
    tariffs = sh.tariffs
    w = b.weight
    energy, unity = _concat(results, "energy"), _concat(results, "unity")
    q, eb = _concat(results, "q"), _concat(results, "eb")
    if cp is None and results and results[0].cp is not None:
        cp = _concat(results, "cp")
    fixed = np.array([t.fixed_charge for t in tariffs])[b.elec_tariff]
    minc = np.array([t.min_charge for t in tariffs])[b.elec_tariff]
    if g.levels is not None:
        e_month = g.levels[b.elec_tariff][:, None] * unity
        rel = g.rel if g.rel is not None else sh.rel
        calibrated = {t.key: t.with_rates(g.levels[k] * rel[k]) for k, t in enumerate(tariffs)
                      if not np.isnan(g.levels[k])}
    else:
        e_month = energy
        calibrated = {t.key: t for t in tariffs}
    elec = K.monthly_bills(e_month, fixed, minc, cfg.utility_tax_rate)
    if minc.any() and g.levels is not None:
        bind = (e_month + fixed[:, None] < minc[:, None]) & (minc[:, None] > 0)
        if bind.any():
            inputs.warn("minimum charge binds in %d bills; calibration ignores it (sum w bill != RR)", int(bind.sum()))
    if b.gas_tariff is not None:
        gt = sh.gas_tariffs
        gfix = np.array([t.fixed_charge for t in gt])[b.gas_tariff]
        gmin = np.array([t.min_charge for t in gt])[b.gas_tariff]
        gas = K.monthly_bills(_concat(results, "gas_energy"), gfix, gmin, cfg.utility_tax_rate)
    else:
        gas = np.zeros_like(elec)
    annual = elec.sum(axis=1)
    R = g.residual
    res = {
        "volumetric": K.residual_volumetric(R, q, g.total_kwh),
        "percustomer": K.residual_percustomer(R, w, g.n_customers),
        "epmc": K.residual_epmc(R, eb, g.total_burden),
    }
    if cp is not None:
        res["peak"] = K.residual_peak(R, cp, g.total_peak_kwh)
    bat = pd.DataFrame({"bldg_id": b.bldg_id, "Annual": annual, "customer_level_economic_burden": eb})
    for k, v in res.items():
        bat[f"customer_level_residual_share_{k}"] = v
    bat["weight"] = w
    short = {"volumetric": "vol", "percustomer": "percustomer", "epmc": "epmc", "peak": "peak"}
    for k, v in res.items():
        bat[f"BAT_{short[k]}"] = K.bat(annual, eb, v)
    bat["dollar_year"] = cfg.dollar_year
    bat["tariff_key"] = [tariffs[i].key for i in b.elec_tariff]
    bat["annual_kwh"] = q
    bat["annual_load_data_kwh"] = _concat(results, "load_data")
    if results and results[0].gas_kwh is not None:
        gk = _concat(results, "gas_kwh").sum(axis=1)
        bat["annual_gas_kwh"] = gk
        bat["annual_gas_therms"] = gk * KWH_TO_THERMS
    if cp is not None:
        bat["peak_kwh"] = cp
    if cfg.run_type == "precalc":
        s = float(w @ bat["BAT_percustomer"])
        if round(s, 1) != 0:
            (inputs.logger or log).error("%s: imbalanced: sum of weighted BAT_percustomer = %.3f $ (expected 0)",
                                         cfg.run_name, s)
    meta = b.metadata.copy()
    meta.insert(0, "weight", w)
    meta.insert(0, "bldg_id", b.bldg_id)
    meta["tariff_key"] = bat["tariff_key"].to_numpy()
    if b.gas_tariff is not None:
        meta["gas_tariff_key"] = [b.gas_keys[i] for i in b.gas_tariff]
    stats = bat_group_stats(bat, meta, (cfg.subclass_config or {}).get("group_col"))
    return RunResult(inputs=inputs, globals=g, bat=bat, elec_bills=_wide(b.bldg_id, w, elec),
                     gas_bills=_wide(b.bldg_id, w, gas), comb_bills=_wide(b.bldg_id, w, elec + gas),
                     calibrated=calibrated, group_stats=stats, customer_metadata=meta,
                     peak_rule=inputs.peak_rule, n_chunks=len(results),
                     kwh_monthly=_wide(b.bldg_id, w, _concat(results, "kwh")),
                     elec_bills_input=None if g.levels is None else _wide(
                         b.bldg_id, w, K.monthly_bills(energy, fixed, minc, cfg.utility_tax_rate)))


def bat_group_stats(bat: pd.DataFrame, meta: pd.DataFrame, group_col: str | None = None) -> pd.DataFrame:
    """Group statistics of every BAT column, per value of each grouping column (and 'all').

    Parameters
    ----------
    bat : pandas.DataFrame
        One row per building: ``weight`` (customers) and the ``BAT_*`` columns ($/customer-year).
    meta : pandas.DataFrame
        Building metadata, same rows.
    group_col : str, optional
        The subclass column, grouped on in addition to the default columns.

    Returns
    -------
    pandas.DataFrame
        One row per (grouping, value, BAT column) with :func:`ratedesign.kernels.group_stats`.

    References
    ----------
    .. [1] switchbox-data/rate-design-platform, ``utils/mid/patches.py`` (``_patched_calculate_bat_stats_by_group``).
    """
    cols = [c for c in bat.columns if c.startswith("BAT_")]
    groupings = [("all", np.array(["all"] * len(bat)))]
    cands = ["tariff_key", "postprocess_group.has_hp", "postprocess_group.heating_type"]
    if group_col:
        cands.append(group_col if group_col in meta.columns else f"postprocess_group.{group_col}")
    for c in dict.fromkeys(cands):
        if c in meta.columns:
            groupings.append((c, meta[c].astype(str).to_numpy()))
    rows = []
    w = bat["weight"].to_numpy()
    for gname, labels in groupings:
        for val in sorted(set(labels)):
            sel = labels == val
            for c in cols:
                st = K.group_stats(bat[c].to_numpy()[sel], w[sel])
                rows.append({"group_col": gname, "group": val, "metric": c, **st})
    return pd.DataFrame(rows)


# ============================================================================ driver
def run_inputs(inputs: RunInputs, mapper=serial_mapper, chunk_size: int | None = None,
               n_chunks: int | None = None, n_slots: int = 1, logger: logging.Logger | None = None) -> RunResult:
    """Run the chunked pass with ``mapper``, reduce once, finalize.

    Parameters
    ----------
    inputs : RunInputs
        :func:`prepare_inputs`.
    mapper : callable, default serial_mapper
        ``mapper(fn, items) -> list`` (:mod:`ratedesign.mappers`).
    chunk_size : int, optional
        Buildings per chunk.
    n_chunks : int, optional
        Number of chunks.
    n_slots : int, default 1
        Parallel slots to keep busy.
    logger : logging.Logger, optional
        Where the run's warnings go (:attr:`RunInputs.logger`).

    Returns
    -------
    RunResult
        The run's outputs.

    Raises
    ------
    ratedesign.errors.InputError
        A load file or the revenue requirement is invalid.
    """
    import time
    if logger is not None:
        inputs.logger = logger
    t0 = time.perf_counter()
    tasks = make_chunks(inputs, chunk_size or inputs.cfg.chunk_size, n_chunks, n_slots)
    if inputs.shared.elasticity is not None:
        # the class flat-equivalent price per season needs every TOU building's kWh: one extra pass
        inputs.shared.flex_flat = flex_flat_prices(inputs, mapper(process_flex_sums, tasks))
    results = mapper(process_chunk, tasks)
    t1 = time.perf_counter()
    g = reduce_chunks(inputs, results)
    cp = None
    if inputs.shared.peak_mask is None:
        n = int(inputs.peak_rule.split(":", 1)[1])
        mask = K.peak_hours_top(g.demand, n)
        out = mapper(process_peak_chunk, [PeakTask(t, mask) for t in tasks])
        cp = np.concatenate([c for c, _ in out])
        g.total_peak_kwh = float(sum(s for _, s in out))
    t2 = time.perf_counter()
    res = finalize(inputs, results, g, cp)
    res.timings = {"chunks_s": t1 - t0, "peak_pass_s": t2 - t1, "finalize_s": time.perf_counter() - t2}
    return res


def run_scenario(cfg: ScenarioConfig, mapper=serial_mapper, chunk_size: int | None = None,
                 n_chunks: int | None = None, n_slots: int = 1, logger: logging.Logger | None = None) -> RunResult:
    """One scenario run: :func:`prepare_inputs` then :func:`run_inputs`.

    Parameters
    ----------
    cfg : ScenarioConfig
        The scenario run.
    mapper : callable, default serial_mapper
        ``mapper(fn, items) -> list``.
    chunk_size : int, optional
        Buildings per chunk.
    n_chunks : int, optional
        Number of chunks.
    n_slots : int, default 1
        Parallel slots to keep busy.
    logger : logging.Logger, optional
        Where the run's warnings go (a runfleet run's ``ctx.log``); None: the ``ratedesign`` logger.

    Returns
    -------
    RunResult
        The run's outputs.

    Raises
    ------
    ratedesign.errors.InputError
        An input is missing or invalid.

    References
    ----------
    .. [1] switchbox-data/rate-design-platform, ``rate_design/hp_rates/run_scenario.py::run``.
    """
    return run_inputs(prepare_inputs(cfg), mapper, chunk_size, n_chunks, n_slots, logger)


# ============================================================================ in-memory entry
@dataclass
class _ArrayLoads:
    net: np.ndarray
    total: np.ndarray
    pv: np.ndarray
    gas: np.ndarray


def run_arrays(net: np.ndarray, weights, tariffs: list, mc: MarginalCosts | np.ndarray, revenue_requirement: float,
               *, elec_tariff=None, run_type: str = "precalc", calendar: HourCalendar | None = None,
               peak_hours=None, rr_by_tariff: dict | None = None, bldg_id=None, gas=None,
               gas_tariffs: list | None = None, gas_tariff=None, chunk_size: int | None = None,
               year_run: int = 2025) -> RunResult:
    """Run S2 and S4-S9 on processed in-memory loads (kWh, (n, H)) -- same code path as the file
    pipeline (``aggregate_block`` -> ``reduce_chunks`` -> ``finalize``), chunked by ``chunk_size``.

    Parameters
    ----------
    net : ndarray, shape (n, H)
        Net load, kWh per hour.
    weights : ndarray, shape (n,)
        Customers per building.
    tariffs : list of Tariff
        Electric tariffs.
    mc : MarginalCosts or ndarray, shape (H,)
        Marginal costs; a vector ($/kWh) is taken as one energy column.
    revenue_requirement : float
        RR, $ per year (ignored when ``rr_by_tariff`` is given).
    elec_tariff : ndarray of int, shape (n,), optional
        Index into ``tariffs`` of each building (default 0).
    run_type : {"precalc", "default"}, default "precalc"
        Calibrate the rate levels, or bill at the tariffs' rates.
    calendar : HourCalendar, optional
        Default: the first H hours of ``year_run``.
    peak_hours : str or list of int, optional
        As :func:`parse_peak_hours`.
    rr_by_tariff : dict, optional
        ``{tariff key: RR_k in $ per year}``.
    bldg_id : ndarray of int, shape (n,), optional
        Default 1..n.
    gas : ndarray, shape (n, H), optional
        Gas, kWh per hour.
    gas_tariffs : list of Tariff, optional
        Gas tariffs.
    gas_tariff : ndarray of int, shape (n,), optional
        Index into ``gas_tariffs``.
    chunk_size : int, optional
        Buildings per chunk (default all).
    year_run : int, default 2025
        The run year.

    Returns
    -------
    RunResult
        The run's outputs.

    Raises
    ------
    ratedesign.errors.InputError
        Invalid ``peak_hours`` or ``rr_by_tariff``.
    """
    net = np.asarray(net, dtype=float)
    n, h = net.shape
    w = np.asarray(weights, dtype=float)
    cal = calendar if calendar is not None else HourCalendar.for_year(year_run, h)
    if not isinstance(mc, MarginalCosts):
        from ratedesign.marginal_costs import ENERGY
        mc = MarginalCosts({ENERGY: np.asarray(mc, dtype=float)})
    elec_tariff = np.zeros(n, dtype=np.int64) if elec_tariff is None else np.asarray(elec_tariff, dtype=np.int64)
    ids = np.arange(1, n + 1) if bldg_id is None else np.asarray(bldg_id, dtype=np.int64)
    keys = [t.key for t in tariffs]
    cfg = ScenarioConfig(run_name="arrays", state="XX", utility="u", run_type=run_type,
                         path_resstock_metadata="", path_resstock_loads="", path_utility_assignment="",
                         path_tariff_maps_electric="", path_tariffs_electric={k: k + ".json" for k in keys},
                         utility_revenue_requirement="", year_run=year_run, peak_hours=peak_hours)
    bset = BuildingSet(bldg_id=ids, weight=w, weight_resstock=w, elec_tariff=elec_tariff, elec_keys=keys,
                       gas_tariff=None if gas_tariff is None else np.asarray(gas_tariff, dtype=np.int64),
                       gas_keys=[t.key for t in gas_tariffs or []], metadata=pd.DataFrame(index=range(n)),
                       customer_count=float(w.sum()))
    rule, mask = parse_peak_hours(peak_hours, mc, h)
    rel = [relative_rates(t) if run_type == "precalc" else np.zeros_like(t.rate) for t in tariffs]
    shared = SharedInputs(loads_dir="", upgrade="00", year_run=year_run, tariffs=list(tariffs), rel=rel,
                          gas_tariffs=list(gas_tariffs or []), mc_total=mc.total, peak_mask=mask, calendar=cal)
    rr = RevenueRequirement(total=float(revenue_requirement) if rr_by_tariff is None else float(sum(rr_by_tariff.values())),
                            by_subclass=rr_by_tariff, source="<arrays>")
    inputs = RunInputs(cfg=cfg, buildings=bset, shared=shared, mc=mc, rr=rr, rr_by_tariff=rr_by_tariff, peak_rule=rule)
    tasks = make_chunks(inputs, chunk_size or n)
    gas_arr = np.zeros_like(net) if gas is None else np.asarray(gas, dtype=float)
    results = []
    for t in tasks:
        sl = slice(t.index * (chunk_size or n), t.index * (chunk_size or n) + len(t.bldg_id))
        results.append(aggregate_block(t, _ArrayLoads(net[sl], net[sl], np.zeros_like(net[sl]), gas_arr[sl])))
    g = reduce_chunks(inputs, results)
    cp = None
    if mask is None:
        pm = K.peak_hours_top(g.demand, int(rule.split(":", 1)[1]))
        cp = net[:, pm].sum(axis=1)
        g.total_peak_kwh = float(w @ cp)
    return finalize(inputs, results, g, cp)


__all__ = ["ChunkResult", "ChunkTask", "DEFAULT_PEAK_TOP_N", "Globals", "PeakTask", "RunInputs", "RunResult",
           "SharedInputs", "aggregate_block", "aggregate_reductions", "bat_group_stats", "finalize", "flex_flat_prices", "make_chunks",
           "parse_peak_hours", "prepare_inputs", "process_chunk", "process_flex_sums", "process_peak_chunk",
           "reduce_chunks", "run_arrays", "run_inputs", "run_scenario"]

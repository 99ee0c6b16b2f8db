"""CAIRO-named output files of one run (local or s3://).

``bills/{elec,gas,comb}_bills_year_{target,run}.csv`` (long: bldg_id, weight, month Jan..Dec + Annual,
bill_level $, dollar_year), ``cross_subsidization/cross_subsidization_BAT_values.csv`` (one row per
building), ``cross_subsidization/cross_subsidization_BAT_stats_by_group.csv``,
``customer_metadata.csv``, ``tariff_final_config.json`` (PySAM shape, one key per tariff),
``tariffs_calibrated/<key>_calibrated.json`` (URDB shape), ``delivery_all_marginal_costs.csv``
(8760 $/kWh), ``system_hourly_demand.parquet`` (8760 kWh), ``scenario_settings.json``,
``run_summary.json``; every CSV table also as ``.parquet`` beside it.
"""

from __future__ import annotations

import io
import json

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from ratedesign.calendar import MONTH_NAMES
from ratedesign.fsio import join, write_bytes
from ratedesign.tariff import to_pysam, to_urdb

MONTH_LABELS = list(MONTH_NAMES) + ["Annual"]


def bills_long(wide: pd.DataFrame, dollar_year: int) -> pd.DataFrame:
    """Wide bills (bldg_id, weight, Jan..Dec, Annual) -> long CAIRO format, month order kept.

    Parameters
    ----------
    wide : pandas.DataFrame
        One row per building: ``bldg_id``, ``weight`` (customers), ``Jan`` .. ``Dec`` ($ per
        month) and ``Annual`` ($ per year).
    dollar_year : int
        The ``dollar_year`` column of the output.

    Returns
    -------
    pandas.DataFrame
        One row per building and month label (Jan .. Dec, Annual), $.

    References
    ----------
    .. [1] switchbox-data/rate-design-platform, ``utils/mid/patches.py`` (``_vectorized_run_system_revenues``, CAIRO's bill
       outputs).
    """
    months = [c for c in MONTH_LABELS if c in wide.columns]
    vals = wide[months].to_numpy()
    n, m = vals.shape
    return pd.DataFrame({
        "bldg_id": np.repeat(wide["bldg_id"].to_numpy(), m),
        "weight": np.repeat(wide["weight"].to_numpy(), m),
        "month": np.tile(np.array(months, dtype=object), n),
        "bill_level": vals.reshape(-1),
        "dollar_year": int(dollar_year),
    })


class _Writer:
    def __init__(self, out: str, storage_options: dict | None):
        self.out, self.so, self.written = str(out), storage_options, []

    def bytes(self, rel: str, data: bytes) -> None:
        write_bytes(join(self.out, rel), data, self.so)
        self.written.append(rel)

    def table(self, rel_csv: str, df: pd.DataFrame) -> None:
        """``df`` as CSV and as parquet beside it, both written by pyarrow from one Arrow table
        (pandas' CSV writer formats a float in ~1 us; a ConEd run writes millions)."""
        try:
            tab = pa.Table.from_pandas(df, preserve_index=False)
        except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
            tab = None  # mixed-type object columns: pandas writes what Arrow cannot type
        if tab is None:
            self.bytes(rel_csv, df.to_csv(index=False).encode())
            buf = io.BytesIO()
            df.astype({c: str for c in df.columns if df[c].dtype == object}).to_parquet(buf, index=False)
        else:
            self.bytes(rel_csv, _csv_bytes(tab))
            buf = io.BytesIO()
            pq.write_table(tab, buf)
        self.bytes(rel_csv[:-4] + ".parquet", buf.getvalue())

    def bills(self, kind: str, wide: pd.DataFrame, years: dict[str, int]) -> None:
        """``bills/{kind}_bills_year_{label}.csv`` for each ``label: dollar_year`` (CSV and parquet);
        the long table is built once, the files differ only in the constant last column."""
        long = pa.Table.from_pandas(bills_long(wide, 0).drop(columns="dollar_year"), preserve_index=False)
        for label, year in years.items():
            tab = long.append_column("dollar_year", pa.array(np.full(long.num_rows, int(year), dtype=np.int64)))
            rel = f"bills/{kind}_bills_year_{label}.csv"
            self.bytes(rel, _csv_bytes(tab))
            buf = io.BytesIO()
            pq.write_table(tab, buf)
            self.bytes(rel[:-4] + ".parquet", buf.getvalue())

    def json(self, rel: str, obj) -> None:
        self.bytes(rel, json.dumps(obj, indent=2, default=_jsonable).encode())


def _csv_bytes(tab: "pa.Table") -> bytes:
    """CSV text of an Arrow table (header, then rows; strings quoted, floats in shortest form)."""
    import pyarrow.compute as pc

    for i, f in enumerate(tab.schema):
        if pa.types.is_timestamp(f.type) and f.type.tz is None:  # as pandas writes them
            tab = tab.set_column(i, f.name, pc.strftime(tab.column(i).cast(pa.timestamp("s")),
                                                           format="%Y-%m-%d %H:%M:%S"))
    sink = io.BytesIO()
    pacsv.write_csv(tab, sink, pacsv.WriteOptions(quoting_style="needed"))
    return sink.getvalue()


def _jsonable(o):
    if isinstance(o, (np.integer,)):
        return int(o)
    if isinstance(o, (np.floating,)):
        return float(o)
    if isinstance(o, np.ndarray):
        return o.tolist()
    return str(o)


def summarize(res) -> dict:
    """Small JSON-able summary of a RunResult (the run function's return value).

    Parameters
    ----------
    res : ratedesign.pipeline.RunResult
        A finished run.

    Returns
    -------
    dict
        ``run_name``, ``run_type``, ``n_buildings``, ``n_chunks``, ``customers``,
        ``revenue_requirement``, ``total_marginal_cost``, ``marginal_cost_by_type`` and
        ``residual`` ($ per year), ``total_kwh`` (kWh), ``weighted_bill_sum`` and
        ``weighted_bat_sums`` ($; BAT sums are 0 for precalc runs), ``peak_hours``,
        ``calibrated_rates`` ($/kWh by period and tier), ``timings`` (s); flex and rate-level
        fields when present.
    """
    g = res.globals
    b = res.bat
    w = b["weight"].to_numpy()
    cfg = res.inputs.cfg
    tariffs = res.inputs.shared.tariffs
    out = {
        "run_name": cfg.run_name,
        "run_type": cfg.run_type,
        "n_buildings": int(len(b)),
        "n_chunks": int(res.n_chunks),
        "customers": float(g.n_customers),
        "revenue_requirement": float(g.revenue_requirement),
        "total_marginal_cost": float(g.tmc),
        "marginal_cost_by_type": {k: float(v) for k, v in g.tmc_by_component.items()},
        "residual": float(g.residual),
        "total_kwh": float(g.total_kwh),
        "weighted_bill_sum": float(w @ b["Annual"].to_numpy()),
        "weighted_bat_sums": {c: float(w @ b[c].to_numpy()) for c in b.columns if c.startswith("BAT_")},
        "peak_hours": res.peak_rule,
        "calibrated_rates": {k: [[float(x) for x in t.rate[p, : int(t.n_tiers[p])]] for p in range(t.n_periods)]
                             for k, t in res.calibrated.items()},
        "timings": {k: round(float(v), 4) for k, v in res.timings.items()},
    }
    if g.flex is not None:
        out["flex"] = g.flex
    if g.levels is not None:
        out["rate_levels"] = {t.key: float(g.levels[k]) for k, t in enumerate(tariffs)}
        if res.inputs.rr_by_tariff:
            # what each tariff was calibrated to (a demand-flex run moves RR_k by its customers' MC change)
            by = (g.flex or {}).get("revenue_requirement_by_tariff") or res.inputs.rr_by_tariff
            out["revenue_requirement_by_tariff"] = dict(by)
            out["revenue_requirement_by_tariff_input"] = dict(res.inputs.rr_by_tariff)
    return out


def write_outputs(res, out: str, storage_options: dict | None = None) -> list[str]:
    """Write every output file of ``res`` under ``out`` (CAIRO's file names).

    Parameters
    ----------
    res : ratedesign.pipeline.RunResult
        A finished run.
    out : str
        Output directory (local path or URL).
    storage_options : dict, optional
        fsspec options for URLs.

    Returns
    -------
    list of str
        Paths written, relative to ``out`` (bills, ``cross_subsidization/*.csv``,
        ``tariff_final_config.json``, marginal costs, system demand, ``run_summary.json``, ...).

    References
    ----------
    .. [1] switchbox-data/rate-design-platform, ``utils/mid/patches.py`` (CAIRO output files) and
       ``context/code/cairo/`` (output layout); ../shared/rate_design_spec.md section 2.
    """
    w = _Writer(out, storage_options)
    cfg = res.inputs.cfg
    target, run = cfg.dollar_year, cfg.year_run
    for kind, wide in (("elec", res.elec_bills), ("gas", res.gas_bills), ("comb", res.comb_bills)):
        w.bills(kind, wide, {"target": target, "run": run})
    w.table("cross_subsidization/cross_subsidization_BAT_values.csv", res.bat)
    w.table("cross_subsidization/cross_subsidization_BAT_stats_by_group.csv", res.group_stats)
    w.table("customer_metadata.csv", res.customer_metadata)
    w.json("tariff_final_config.json", {k: to_pysam(t) for k, t in res.calibrated.items()})
    if cfg.run_type == "precalc":
        for k, t in res.calibrated.items():
            w.json(f"tariffs_calibrated/{k}_calibrated.json", to_urdb(t))
    w.table("delivery_all_marginal_costs.csv", res.inputs.mc.frame(cfg.year_run))
    buf = io.BytesIO()
    pd.DataFrame({"hour": np.arange(len(res.globals.demand)), "demand_kwh": res.globals.demand}).to_parquet(buf, index=False)
    w.bytes("system_hourly_demand.parquet", buf.getvalue())
    settings = cfg.to_params()
    settings.pop("storage_options", None)
    w.json("scenario_settings.json", settings)
    if res.kwh_monthly is not None:
        buf = io.BytesIO()
        res.kwh_monthly.to_parquet(buf, index=False)
        w.bytes("billing_kwh_monthly.parquet", buf.getvalue())
    if res.globals.flex is not None:
        f = res.globals.flex
        w.table("demand_flex_elasticity_tracker.csv", pd.DataFrame({
            "tariff_key": list(f["tmc_change_by_tariff"]),
            "kwh_shifted": [f["kwh_shifted_by_tariff"][k] for k in f["tmc_change_by_tariff"]],
            "marginal_cost_change": list(f["tmc_change_by_tariff"].values()),
            "elasticity_summer": f["elasticity"][0], "elasticity_winter": f["elasticity"][1]}))
    summary = summarize(res)
    summary.pop("timings", None)  # keep the file deterministic (timings are in the run's marker)
    w.json("run_summary.json", summary)
    return w.written


__all__ = ["MONTH_LABELS", "bills_long", "summarize", "write_outputs"]

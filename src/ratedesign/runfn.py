"""The runfleet run function of one CAIRO-style run: ``ratedesign.runfn:cairo_run``."""

from __future__ import annotations

import logging

from ratedesign.mappers import context_mapper, serial_mapper
from ratedesign.outputs import summarize, write_outputs
from ratedesign.pipeline import run_scenario
from ratedesign.plots import write_run_plots
from ratedesign.scenario import ScenarioConfig
from ratedesign.study_runs import bat_by_group
from ratedesign.tables import tariff_rate_periods

log = logging.getLogger("ratedesign")


def cairo_run(ctx, **params) -> dict:
    """Run one scenario (``params`` = ScenarioConfig fields) with chunks fanned out by ``ctx.map``.

    Inputs are read with ``ctx.storage_options`` (credentials never travel in params); outputs go under ``ctx.out`` with
    ``ctx.storage_options``, or under ``params['output_dir']`` (with ``output_storage_options``)
    when given -- the CLI uses that so its ``--out`` directory receives the CAIRO files. Returns the small summary dict (``outputs.summarize``) plus the list
    of files written.
    """
    params = dict(params)
    out_dir = params.pop("output_dir", None)
    out_so = params.pop("output_storage_options", None) or getattr(ctx, "storage_options", None)
    if not params.get("storage_options") and getattr(ctx, "storage_options", None):
        params["storage_options"] = dict(ctx.storage_options)  # credentials: never in params
    cfg = ScenarioConfig.from_params(params, source=f"run {getattr(ctx, 'name', '?')}")
    n_slots = int(getattr(ctx, "n_slots", 1) or 1)
    logger = getattr(ctx, "log", log)
    logger.info("ratedesign: %s (%s), loads %s", cfg.run_name, cfg.run_type, cfg.path_resstock_loads)
    res = run_scenario(cfg, context_mapper(ctx), n_slots=n_slots)
    if out_dir:
        files = write_outputs(res, out_dir, out_so)
    else:
        files = write_outputs(res, ctx.out, getattr(ctx, "storage_options", None))
    files += write_run_plots(res, out_dir or ctx.out, out_so if out_dir else getattr(ctx, "storage_options", None))
    summary = _summary(res, files)
    logger.info("ratedesign: %d buildings, RR %.0f $, TMC %.0f $, residual %.0f $", summary["n_buildings"],
                summary["revenue_requirement"], summary["total_marginal_cost"], summary["residual"])
    return summary


def run_to_dir(cfg: ScenarioConfig, out: str, mapper=serial_mapper, n_slots: int = 1,
               storage_options: dict | None = None) -> dict:
    """Run without runfleet (a plain mapper) and write the outputs under ``out``."""
    res = run_scenario(cfg, mapper, n_slots=n_slots)
    files = write_outputs(res, out, storage_options)
    files += write_run_plots(res, out, storage_options)
    return _summary(res, files)


def _summary(res, files: list) -> dict:
    """The run's return value: ``outputs.summarize`` + files written, weighted mean BAT of HP and
    non-HP customers, and the calibrated rates' period names (``tables.tariff_rate_periods``)."""
    summary = summarize(res)
    summary["files"] = files
    summary["bat_by_hp"] = bat_by_group(res)
    summary["rate_periods"] = tariff_rate_periods(res.calibrated)
    return summary

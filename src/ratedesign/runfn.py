"""The runfleet run function of one CAIRO-style run: ``ratedesign.runfn:cairo_run``."""

from __future__ import annotations

import logging

from ratedesign.mappers import context_mapper, serial_mapper
from ratedesign.memory import trim_heap
from ratedesign.outputs import summarize, write_outputs
from ratedesign.pipeline import run_scenario
from ratedesign.plots import write_run_plots
from ratedesign.scenario import ScenarioConfig
from ratedesign.study_runs import bat_by_group
from ratedesign.tables import tariff_rate_periods

log = logging.getLogger("ratedesign")


def cairo_run(ctx, **params) -> dict:
    """Run one scenario with its building chunks fanned out by ``ctx.map``.

    Inputs are read with ``ctx.storage_options`` (credentials never travel in params); outputs go
    under ``ctx.out`` with ``ctx.storage_options``, or under ``params['output_dir']`` (with
    ``output_storage_options``) when given -- the CLI uses that so its ``--out`` directory receives
    the CAIRO files.

    Parameters
    ----------
    ctx : runfleet.RunContext
        The run's context.
    **params
        :class:`ratedesign.scenario.ScenarioConfig` fields (the platform's scenario entry), plus
        the optional ``output_dir`` and ``output_storage_options``.

    Returns
    -------
    dict
        :func:`ratedesign.outputs.summarize` ($ per year, kWh, $/kWh) plus the files written,
        ``bat_by_hp`` ($/customer-year) and the calibrated rates' period names.

    Raises
    ------
    ratedesign.errors.InputError
        Invalid scenario fields or input files (not retried).

    References
    ----------
    .. [1] switchbox-data/rate-design-platform, ``rate_design/hp_rates/run_scenario.py::run`` (one CAIRO run).
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
    res = run_scenario(cfg, context_mapper(ctx), n_slots=n_slots, logger=logger)
    if out_dir:
        files = write_outputs(res, out_dir, out_so)
    else:
        files = write_outputs(res, ctx.out, getattr(ctx, "storage_options", None))
    files += write_run_plots(res, out_dir or ctx.out, out_so if out_dir else getattr(ctx, "storage_options", None))
    summary = _summary(res, files)
    del res
    trim_heap()  # the run's finalize, tables and plots freed memory on this worker (ratedesign.memory)
    logger.info("ratedesign: %d buildings, RR %.0f $, TMC %.0f $, residual %.0f $", summary["n_buildings"],
                summary["revenue_requirement"], summary["total_marginal_cost"], summary["residual"])
    return summary


def run_to_dir(cfg: ScenarioConfig, out: str, mapper=serial_mapper, n_slots: int = 1,
               storage_options: dict | None = None) -> dict:
    """Run without runfleet (a plain mapper) and write the outputs under ``out``.

    Parameters
    ----------
    cfg : ratedesign.scenario.ScenarioConfig
        The scenario run.
    out : str
        Output directory (local path or URL).
    mapper : callable, default serial_mapper
        ``mapper(fn, items) -> list`` (:mod:`ratedesign.mappers`).
    n_slots : int, default 1
        Parallel slots the chunking plans for.
    storage_options : dict, optional
        fsspec options for ``out``.

    Returns
    -------
    dict
        As :func:`cairo_run`.

    Raises
    ------
    ratedesign.errors.InputError
        Invalid input files.
    """
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


__all__ = ["cairo_run", "run_to_dir"]

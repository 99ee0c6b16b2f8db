"""runfleet run functions of a ratedesign study: scenario runs and derivation steps.

Both write only under ``ctx.out``. A scenario run gets the URLs of derived inputs from
``ctx.upstream[<derivation run>]["out"]`` (params name the run and the file), so derived files
are read from the store wherever the store is (local or s3://).
"""

from __future__ import annotations

import json
import logging

import yaml
from runfleet import run_relpath

from ratedesign import derive
from ratedesign.fsio import join, read_text, write_bytes
from ratedesign.mappers import context_mapper
from ratedesign.outputs import summarize, write_outputs
from ratedesign.pipeline import run_scenario
from ratedesign.plots import write_run_plots
from ratedesign.scenario import ScenarioConfig
from ratedesign.tables import tariff_rate_periods

log = logging.getLogger("ratedesign")


def _upstream_out(ctx, run: str) -> str:
    value = (ctx.upstream or {}).get(run)
    if not isinstance(value, dict) or "out" not in value:
        raise RuntimeError(f"{ctx.name}: upstream run {run!r} returned no output directory")
    return value["out"]


def _set_field(params: dict, fld: str, value: str) -> None:
    top, _, sub = fld.partition(".")
    if sub:
        d = dict(params.get(top) or {})
        d[sub] = value
        params[top] = d
    else:
        params[top] = value


def bat_by_group(res, column: str = "BAT_percustomer") -> dict:
    """Weighted mean BAT ($/customer-year) of HP and non-HP buildings (``postprocess_group.has_hp``).

    Parameters
    ----------
    res : ratedesign.pipeline.RunResult
        A finished run: ``res.bat`` (one row per building, with ``weight`` in customers and the
        BAT columns in $/customer-year) and ``res.customer_metadata`` (same buildings).
    column : str, default "BAT_percustomer"
        The BAT column to average: ``BAT_vol``, ``BAT_percustomer``, ``BAT_epmc`` (residual
        allocation method, see docs/ratedesign-glossary.md).

    Returns
    -------
    dict
        ``{"hp": float or None, "non-hp": float or None}`` in $/customer-year: sum w_i BAT_i /
        sum w_i over the group (None for a group without buildings or weight); ``{}`` when the
        metadata has no ``postprocess_group.has_hp`` column.

    References
    ----------
    .. [1] S. Simeone et al., "The Bill Alignment Test: Identifying trade-offs with residential
       rate design options", Utilities Policy, 2023 (BAT, Eq. 6).
    .. [2] switchbox-data/rate-design-platform, ``utils/mid/patches.py``
       (``_patched_calculate_bat_stats_by_group``: weighted BAT by group).
    """
    meta = res.customer_metadata
    bat = res.bat
    w = bat["weight"].to_numpy()
    v = bat[column].to_numpy()
    col = "postprocess_group.has_hp"
    if col not in meta.columns:
        return {}
    hp = meta[col].astype(str).str.lower().isin(["true", "1", "yes"]).to_numpy()
    out = {}
    for name, m in (("hp", hp), ("non-hp", ~hp)):
        out[name] = float(w[m] @ v[m] / w[m].sum()) if m.any() and w[m].sum() > 0 else None
    return out


def scenario_run(ctx, scenario: dict, inputs: dict | None = None, index: int | None = None, key: str | None = None,
                 utility: str | None = None, **input_files) -> dict:
    """One scenario entry: resolve derived inputs from upstream runs, run it, write CAIRO files and,
    for precalc runs, plots (``ratedesign.plots``) to ``ctx.out``.

    Parameters
    ----------
    ctx : runfleet.RunContext
        The run's context: ``ctx.out`` receives the outputs, ``ctx.upstream`` holds the values
        of the derivation runs, ``ctx.storage_options`` opens the store.
    scenario : dict
        The scenario entry (the platform's ``scenarios_<utility>.yaml`` fields, validated by
        :class:`ratedesign.scenario.ScenarioConfig`).
    inputs : dict, optional
        ``{field: (run, relpath)}``: scenario fields (``field`` or ``section.field``) set to the
        URL of file ``relpath`` written by upstream run ``run``.
    index : int, optional
        The entry's index in the scenario file (reported only).
    key : str, optional
        The entry's key in the scenario file (reported only).
    utility : str, optional
        The utility's name (reported only).
    **input_files
        ``{"input:<path>": content hash}`` (see ``chain.input_params``): they only feed the
        content key, so a changed input file changes the key.

    Returns
    -------
    dict
        :func:`ratedesign.outputs.summarize` (customers, revenue requirement and total marginal
        cost in $ per year, total kWh, weighted bill and BAT sums in $, calibrated rates in
        $/kWh) plus ``out``, ``files``, ``index``, ``key``, ``utility``, ``tariffs``,
        ``bat_by_hp`` ($/customer-year, :func:`bat_by_group`) and ``rate_periods``.

    Raises
    ------
    ratedesign.errors.InputError
        The scenario or one of its input files is invalid (not retried).
    RuntimeError
        An upstream run named in ``inputs`` returned no output directory.

    References
    ----------
    .. [1] switchbox-data/rate-design-platform, ``rate_design/hp_rates/run_scenario.py``
       (one CAIRO run per scenario entry) and ``utils/scenario_config.py``.
    """
    params = dict(scenario)
    derived = {}
    for fld, (run, rel) in (inputs or {}).items():
        url = join(_upstream_out(ctx, run), rel)
        _set_field(params, fld, url)
        derived[fld] = f"{run_relpath(run)}/{rel}"
    if not params.get("storage_options") and getattr(ctx, "storage_options", None):
        params["storage_options"] = dict(ctx.storage_options)  # credentials: never in params
    cfg = ScenarioConfig.from_params(params, source=f"run {ctx.name}")
    logger = getattr(ctx, "log", log)
    logger.info("ratedesign: %s (%s) run %s of %s", cfg.run_name, cfg.run_type, index, utility)
    res = run_scenario(cfg, context_mapper(ctx), n_slots=int(getattr(ctx, "n_slots", 1) or 1), logger=logger)
    so = getattr(ctx, "storage_options", None)
    files = write_outputs(res, ctx.out, so)
    files += write_run_plots(res, ctx.out, so)
    # settings with the logical paths of the scenario file + where derived inputs came from
    # (study-relative, so the file is the same whatever the store's location)
    settings = dict(scenario)
    settings.pop("storage_options", None)
    settings["derived_inputs"] = derived
    write_bytes(join(ctx.out, "scenario_settings.json"), json.dumps(settings, indent=2, default=str).encode(), so)
    summary = summarize(res)
    summary.pop("timings", None)
    summary.update(out=ctx.out, files=files, index=index, key=key, utility=utility,
                   tariffs=sorted(res.calibrated), bat_by_hp=bat_by_group(res),
                   rate_periods=tariff_rate_periods(res.calibrated))
    logger.info("ratedesign: %d buildings, RR %.0f $, TMC %.0f $", summary["n_buildings"],
                summary["revenue_requirement"], summary["total_marginal_cost"])
    return summary


def derive_run(ctx, kind: str, file: str, **p) -> dict:
    """One derivation step (``kind``: promote | copy | subclass-rr | seasonal | map); writes ``file``.

    Parameters
    ----------
    ctx : runfleet.RunContext
        The run's context; ``file`` is written under ``ctx.out``.
    kind : {"promote", "copy", "subclass-rr", "seasonal", "map"}
        ``promote``: a precalc run's calibrated tariff as URDB JSON; ``copy``: a tariff under a
        new key; ``subclass-rr``: subclass revenue requirements ($ per year) YAML from the
        delivery (and supply) reference runs; ``seasonal``: the HP seasonal tariff ($/kWh);
        ``map``: a ``bldg_id,tariff_key`` tariff map CSV.
    file : str
        Name of the file to write, relative to ``ctx.out``.
    **p
        The step's parameters (``source_run``, ``tariff_key``, ``new_key``, ``source``,
        ``base_rr``, ``delivery_run``, ``supply_run``, ``group_col``, ``selectors``,
        ``subclass``, ``method``, ``winter_months``, ``assignment``, ``utility``, ``keys``,
        ``metadata``, depending on ``kind``; see :mod:`ratedesign.derive`). ``input:<path>``
        params only feed the content key (see ``chain.input_params``).

    Returns
    -------
    dict
        ``out``, ``file``, ``kind``, ``bytes`` (size of ``file``), plus ``rates`` ($/kWh per
        period and tier) for a JSON tariff or ``subclass_revenue_requirements`` ($ per year)
        for a YAML file.

    Raises
    ------
    ValueError
        Unknown ``kind``.
    ratedesign.errors.InputError
        An input file of the step is invalid.

    References
    ----------
    .. [1] switchbox-data/rate-design-platform, ``utils/mid/copy_calibrated_tariff_from_run.py``
       (promote) and ``utils/mid/`` subclass revenue requirement and seasonal tariff scripts.
    .. [2] S. Simeone et al., "The Bill Alignment Test: Identifying trade-offs with residential
       rate design options", Utilities Policy, 2023 (cross-subsidies behind subclass-rr and
       seasonal).
    """
    so = getattr(ctx, "storage_options", None)
    if kind == "promote":
        data = derive.promote_tariff(_upstream_out(ctx, p["source_run"]), p["tariff_key"], p["new_key"], so)
    elif kind == "copy":
        data = derive.copy_tariff(p["source"], p["new_key"], so)
    elif kind == "subclass-rr":
        base = yaml.safe_load(read_text(p["base_rr"], "revenue requirement", so)) if p.get("base_rr") else None
        supply = _upstream_out(ctx, p["supply_run"]) if p.get("supply_run") else None
        label = run_relpath(p["delivery_run"]) + (f", {run_relpath(p['supply_run'])}" if p.get("supply_run") else "")
        data = derive.subclass_revenue_requirements(_upstream_out(ctx, p["delivery_run"]), supply, p["group_col"],
                                                    p["selectors"], base, so, source_label=label)
    elif kind == "seasonal":
        data = derive.seasonal_tariff(_upstream_out(ctx, p["source_run"]), p["new_key"], p.get("tariff_key"),
                                      p["group_col"], p["selectors"], p.get("subclass", "hp"),
                                      p.get("method") or "percustomer", p.get("winter_months"), so)
    elif kind == "map":
        data = derive.tariff_map(p["assignment"], p["utility"], p["keys"], p.get("metadata"), p.get("group_col"),
                                 p.get("selectors"), so)
    else:
        raise ValueError(f"unknown derivation kind {kind!r}")
    write_bytes(join(ctx.out, file), data, so)
    out = {"out": ctx.out, "file": file, "kind": kind, "bytes": len(data)}
    if file.endswith(".json"):
        item = json.loads(data)["items"][0]
        out["rates"] = [[float(t["rate"]) for t in per] for per in item["energyratestructure"]]
    elif file.endswith(".yaml"):
        doc = yaml.safe_load(data)
        out["subclass_revenue_requirements"] = doc.get("subclass_revenue_requirements")
    getattr(ctx, "log", log).info("derived %s (%s, %d bytes)", file, kind, len(data))
    return out


__all__ = ["scenario_run", "derive_run", "bat_by_group"]

"""Mid-chain derivations between the runs of a utility, as the rate-design platform's scripts make them.

Sources: switchbox-data/rate-design-platform, ``utils/mid/`` (``copy_calibrated_tariff_from_run.py``,
the subclass revenue-requirement and seasonal-discount scripts) and the cross-subsidy (BAT)
definition of Simeone et al., "The Bill Alignment Test: Identifying trade-offs with residential rate
design options", Utilities Policy, 2023 (../shared/rate_design_spec.md section 3, "Mid-run
derivations").

Each function reads the outputs of earlier runs (their output directories, local or s3://) and
static inputs, and returns the bytes of one derived file; ``study_runs`` writes them under the
derivation run's own directory in the store. Money in $, energy in kWh, rates in $/kWh.

- ``promote_tariff``: a precalc run's ``tariff_final_config.json`` entry (PySAM shape) -> URDB JSON
  (the ``*_calibrated.json`` a later default run reads; also the flex copy of a calibrated TOU tariff).
- ``copy_tariff``: a tariff JSON under a new key (the non-HP "base" tariff of a subclass run).
- ``subclass_revenue_requirements``: RR_k = sum_{i in k} w_i Annual_i - sum_{i in k} w_i BAT^x_i
  from the delivery (run 1) and delivery+supply (run 2) precalc outputs.
- ``seasonal_tariff``: HP seasonal rates, summer = the HP class's annual equivalent flat rate
  (sum w (Annual - 12 f) / sum w kWh), winter = that rate - CS / winter kWh with CS = sum w BAT
  over HP buildings (the platform's ``compute_subclass_seasonal_discount_inputs``).
- ``tariff_map``: a ``bldg_id,tariff_key`` CSV for a run whose map file does not exist.
"""

from __future__ import annotations

import json
import logging

import numpy as np
import pandas as pd
import yaml

from ratedesign.calendar import MONTH_NAMES
from ratedesign.errors import InputError
from ratedesign.fsio import join, read_json, read_parquet_df
from ratedesign.tariff import MAX_USAGE_SENTINEL, load_tariff, parse_tariff, to_urdb

log = logging.getLogger("ratedesign")

#: residual method -> BAT column
BAT_COLUMN = {"percustomer": "BAT_percustomer", "volumetric": "BAT_vol", "epmc": "BAT_epmc", "peak": "BAT_peak"}
#: 0-based summer months of the built-in seasonal template (June-September)
SUMMER = (5, 6, 7, 8)


def _dump_json(obj) -> bytes:
    return (json.dumps(obj, indent=2, sort_keys=True) + "\n").encode()


def from_pysam(entry: dict, key: str, source: str = "tariff_final_config.json") -> dict:
    """One ``tariff_final_config.json`` value (PySAM shape, 1-based) -> URDB ``{"items": [...]}``.

    Parameters
    ----------
    entry : dict
        The PySAM-shaped tariff (``ur_ec_tou_mat`` rows with rates in $/kWh and tier ceilings in
        kWh per month, ``ur_monthly_fixed_charge`` in $/month, 1-based schedules).
    key : str
        The tariff key of the result.
    source : str, default "tariff_final_config.json"
        Where ``entry`` came from (for messages).

    Returns
    -------
    dict
        URDB ``{"items": [item]}`` with 0-based schedules.

    Raises
    ------
    ratedesign.errors.InputError
        A missing or malformed field.

    References
    ----------
    .. [1] switchbox-data/rate-design-platform, ``utils/mid/copy_calibrated_tariff_from_run.py``.
    """
    try:
        rows = entry["ur_ec_tou_mat"]
        wk = (np.asarray(entry["ur_ec_sched_weekday"], dtype=int) - 1).tolist()
        we = (np.asarray(entry["ur_ec_sched_weekend"], dtype=int) - 1).tolist()
    except (KeyError, TypeError, ValueError):
        raise InputError(f"{source}: tariff {key!r} lacks ur_ec_tou_mat / ur_ec_sched_weekday / "
                         f"ur_ec_sched_weekend") from None
    n_p = int(max(r[0] for r in rows))
    ers = [[] for _ in range(n_p)]
    for r in sorted(rows, key=lambda r: (r[0], r[1])):
        tier = {"rate": float(r[4]), "adj": float(r[5]), "unit": "kWh"}
        if float(r[2]) < MAX_USAGE_SENTINEL:
            tier["max"] = float(r[2])
        ers[int(r[0]) - 1].append(tier)
    item = {"label": key, "name": key, "energyratestructure": ers, "energyweekdayschedule": wk,
            "energyweekendschedule": we, "fixedchargefirstmeter": float(entry.get("ur_monthly_fixed_charge", 0.0)),
            "fixedchargeunits": "$/month", "mincharge": float(entry.get("ur_monthly_min_charge", 0.0)),
            "minchargeunits": "$/month", "sector": "Residential", "servicetype": "Bundled"}
    parse_tariff({"items": [item]}, key, source)  # validate
    return {"items": [item]}


def promote_tariff(run_out: str, tariff_key: str, new_key: str, storage_options: dict | None = None) -> bytes:
    """The calibrated ``tariff_key`` of the precalc run in ``run_out`` as URDB JSON named ``new_key``.

    Parameters
    ----------
    run_out : str
        Output directory of the precalc run (local path or URL).
    tariff_key : str
        The tariff in its ``tariff_final_config.json``.
    new_key : str
        Key of the promoted tariff (``<key>_calibrated``).
    storage_options : dict, optional
        fsspec options for URLs.

    Returns
    -------
    bytes
        The URDB JSON (rates in $/kWh).

    Raises
    ------
    ratedesign.errors.InputError
        The run has no ``tariff_final_config.json`` or no entry ``tariff_key``.

    References
    ----------
    .. [1] switchbox-data/rate-design-platform, ``utils/mid/copy_calibrated_tariff_from_run.py``.
    """
    path = join(run_out, "tariff_final_config.json")
    cfg = read_json(path, "calibrated tariffs (tariff_final_config.json)", storage_options)
    if tariff_key not in cfg:
        raise InputError(f"{path}: no tariff {tariff_key!r} (has {', '.join(sorted(cfg))})")
    return _dump_json(from_pysam(cfg[tariff_key], new_key, path))


def copy_tariff(path: str, new_key: str, storage_options: dict | None = None) -> bytes:
    """Tariff JSON at ``path`` renamed to ``new_key`` (rates unchanged).

    Parameters
    ----------
    path : str
        URDB tariff JSON (local path or URL).
    new_key : str
        Key (``label``/``name``) of the copy.
    storage_options : dict, optional
        fsspec options for URLs.

    Returns
    -------
    bytes
        The URDB JSON.

    Raises
    ------
    ratedesign.errors.InputError
        The file cannot be read or is not a valid tariff.
    """
    t = load_tariff(path, storage_options)
    return _dump_json(to_urdb(t.with_rates(t.price, key=new_key)))


def _load_ref(run_out: str, so) -> pd.DataFrame:
    """Per-building Annual bill, weight, BAT columns and metadata of a finished run."""
    bat = read_parquet_df(join(run_out, "cross_subsidization", "cross_subsidization_BAT_values.parquet"),
                          "BAT values of the reference run", storage_options=so)
    meta = read_parquet_df(join(run_out, "customer_metadata.parquet"), "customer metadata of the reference run",
                           storage_options=so)
    extra = [c for c in meta.columns if c not in bat.columns]
    return bat.merge(meta[["bldg_id"] + extra], on="bldg_id", how="left")


def subclass_masks(df: pd.DataFrame, group_col: str, selectors: dict, source: str) -> dict:
    """Which buildings belong to each subclass, from ``postprocess_group.<group_col>``.

    Parameters
    ----------
    df : pandas.DataFrame
        One row per building with the metadata column.
    group_col : str
        Subclass column (``subclass_config.group_col``, e.g. ``has_hp``).
    selectors : dict
        ``{subclass: value or list of values}`` (``subclass_config.selectors``); values are
        compared as lower-case text.
    source : str
        The file (for messages).

    Returns
    -------
    dict
        ``{subclass: ndarray of bool, shape (n,)}``.

    Raises
    ------
    ratedesign.errors.InputError
        The column is missing.
    """
    col = group_col if group_col in df.columns else f"postprocess_group.{group_col}"
    if col not in df.columns:
        raise InputError(f"{source}: subclass_config.group_col {group_col!r}: the reference run has no column {col!r}")
    vals = df[col].astype(str).str.strip().str.lower()
    out = {}
    for name, sel in selectors.items():
        out[str(name)] = vals.isin(selector_values(sel)).to_numpy()
    return out


def selector_values(sel) -> list[str]:
    """Values of one ``subclass_config.selectors`` entry, lower-case.

    Parameters
    ----------
    sel : str or list
        A list, or a comma-separated string (``"heat_pump,electrical_resistance"``, as the
        platform's ``resolve_subclass_config`` splits them).

    Returns
    -------
    list of str
        The values, lower-case, stripped.
    """
    items = sel if isinstance(sel, (list, tuple)) else str(sel).split(",")
    return [str(c).strip().lower() for c in items if str(c).strip()]


def _rr_by_method(df: pd.DataFrame, masks: dict) -> dict:
    w = df["weight"].to_numpy()
    bill = df["Annual"].to_numpy()
    out = {"passthrough": {k: float(w[m] @ bill[m]) for k, m in masks.items()}}
    for method, col in BAT_COLUMN.items():
        if col in df.columns:
            bat = df[col].to_numpy()
            out[method] = {k: float(w[m] @ bill[m] - w[m] @ bat[m]) for k, m in masks.items()}
    return out


def subclass_revenue_requirements(delivery_out: str, supply_out: str | None, group_col: str, selectors: dict,
                                  base_rr: dict | None = None, storage_options: dict | None = None,
                                  source_label: str = "") -> bytes:
    """Subclass RR YAML from the delivery (and delivery+supply) precalc outputs.

    ``delivery.<method>.<subclass>`` = sum w Annual - sum w BAT^method over the subclass (run 1);
    ``passthrough`` = sum w Annual (the subclass keeps paying what it pays today, **[choice]**).
    ``supply.<method>.<subclass>`` = the same amount from run 2 minus run 1 (the supply part).
    ``test_year_customer_count`` and ``resstock_kwh_scale_factor`` are carried over from the
    reference runs' RR YAML so that weights and load scaling match runs 1/2.

    Parameters
    ----------
    delivery_out : str
        Output directory of the delivery precalc run (run 1).
    supply_out : str or None
        Output directory of the delivery+supply precalc run (run 2), or None (delivery only).
    group_col : str
        Subclass column (``subclass_config.group_col``).
    selectors : dict
        ``{subclass: values}`` (``subclass_config.selectors``).
    base_rr : dict, optional
        The reference runs' parsed RR YAML (fields carried over).
    storage_options : dict, optional
        fsspec options for URLs.
    source_label : str, default ""
        Where the amounts came from, written as a comment (study-relative run paths).

    Returns
    -------
    bytes
        The RR YAML; amounts in $ per year.

    Raises
    ------
    ratedesign.errors.InputError
        A reference run's outputs are missing or lack the subclass column.

    References
    ----------
    .. [1] S. Simeone et al., "The Bill Alignment Test: Identifying trade-offs with residential
       rate design options", Utilities Policy, 2023. (BAT, Eq. 6: the cross-subsidy removed from each subclass's bills)
    .. [2] switchbox-data/rate-design-platform, ``utils/mid/compute_subclass_rr.py``.
    """
    so = storage_options
    d = _load_ref(delivery_out, so)
    md = subclass_masks(d, group_col, selectors, delivery_out)
    deliv = _rr_by_method(d, md)
    doc = {"utility": (base_rr or {}).get("utility"), "group_col": group_col, "source_runs": source_label,
           "total_delivery_revenue_requirement": float(d["weight"] @ d["Annual"])}
    doc["subclass_revenue_requirements"] = {"delivery": deliv}
    if supply_out:
        s = _load_ref(supply_out, so)
        ms = subclass_masks(s, group_col, selectors, supply_out)
        both = _rr_by_method(s, ms)
        doc["total_delivery_and_supply_revenue_requirement"] = float(s["weight"] @ s["Annual"])
        doc["subclass_revenue_requirements"]["supply"] = {
            m: {k: both[m][k] - deliv[m][k] for k in both[m]} for m in both if m in deliv}
    for k in ("test_year_customer_count", "resstock_kwh_scale_factor"):
        if base_rr and base_rr.get(k) is not None:
            doc[k] = float(base_rr[k])
    doc = {k: v for k, v in doc.items() if v is not None}
    return yaml.safe_dump(doc, sort_keys=False).encode()


#: 1-based winter months of the seasonal derivation when the utility has no periods YAML
#: (the platform's ``DEFAULT_SEASONAL_DISCOUNT_WINTER_MONTHS``, ``utils/pre/season_config.py``)
DEFAULT_WINTER_MONTHS = (10, 11, 12, 1, 2, 3)


def winter_months_from_periods(path: str | None, storage_options: dict | None = None) -> list[int]:
    """``winter_months`` of a utility's ``periods/<utility>.yaml`` (1-based), else the default.

    Parameters
    ----------
    path : str or None
        The periods YAML (local path or URL); None or a missing file gives the default (Oct-Mar).
    storage_options : dict, optional
        fsspec options for URLs.

    Returns
    -------
    list of int
        1-based months.

    Raises
    ------
    InputError
        When the field is not a list of month numbers 1..12 (not empty, not all twelve).
    """
    from ratedesign.fsio import exists, read_yaml

    if not path or not exists(path, storage_options):
        return list(DEFAULT_WINTER_MONTHS)
    doc = read_yaml(path, "periods", storage_options) or {}
    raw = doc.get("winter_months") if isinstance(doc, dict) else None
    if raw is None:
        return list(DEFAULT_WINTER_MONTHS)
    try:
        months = sorted({int(m) for m in raw})
    except (TypeError, ValueError):
        raise InputError(f"periods {path}: field 'winter_months' = {raw!r}; expected a list of months 1..12") from None
    if not months or len(months) == 12 or months[0] < 1 or months[-1] > 12:
        raise InputError(f"periods {path}: field 'winter_months' = {raw!r}; expected some (not all) of months 1..12")
    return months


def seasonal_rates(annual_energy_revenue: float, annual_kwh: float, winter_kwh: float,
                   cross_subsidy: float) -> dict:
    """HP seasonal rates from a reference run (the platform's seasonal-discount derivation).

    Parameters
    ----------
    annual_energy_revenue : float
        Sum over the subclass of w_i (Annual_i - 12 f), $ (f = fixed charge, $/month).
    annual_kwh : float
        Sum over the subclass of w_i x billed kWh over the year, kWh.
    winter_kwh : float
        The same over the winter months, kWh.
    cross_subsidy : float
        Sum over the subclass of w_i BAT_i, $ (positive: the subclass overpays).

    Returns
    -------
    dict
        ``equivalent_flat_rate`` = revenue / annual kWh ($/kWh), ``summer_rate`` = that flat rate,
        ``winter_discount`` = cross_subsidy / winter kWh, ``winter_rate`` = flat - discount ($/kWh).

    Raises
    ------
    ratedesign.errors.InputError
        The winter or the summer kWh of the subclass are not positive.

    References
    ----------
    .. [1] switchbox-data/rate-design-platform, ``utils/mid/compute_subclass_rr.py``,
       ``compute_subclass_seasonal_discount_inputs`` (summer = annual equivalent flat rate; winter =
       flat rate minus the cross-subsidy per winter kWh) and ``utils/pre/create_tariff.py``,
       ``create_seasonal_rate`` (period 0 summer, period 1 winter).
    .. [2] S. Simeone et al., "The Bill Alignment Test: Identifying trade-offs with residential
       rate design options", Utilities Policy, 2023.
    """
    summer_kwh = annual_kwh - winter_kwh
    if winter_kwh <= 0 or summer_kwh <= 0:
        raise InputError(f"seasonal derivation: winter kWh {winter_kwh:.6g} and summer kWh {summer_kwh:.6g} of the "
                         f"subclass must both be positive")
    flat = annual_energy_revenue / annual_kwh
    discount = cross_subsidy / winter_kwh
    return {"equivalent_flat_rate": flat, "summer_rate": flat, "winter_discount": discount,
            "winter_rate": flat - discount, "annual_kwh": annual_kwh, "winter_kwh": winter_kwh,
            "summer_kwh": summer_kwh, "annual_energy_rev": annual_energy_revenue, "total_cross_subsidy": cross_subsidy}


def seasonal_tariff(ref_out: str, new_key: str, tariff_key: str | None, group_col: str, selectors: dict,
                    subclass: str = "hp", method: str = "percustomer", winter_months=None,
                    storage_options: dict | None = None) -> bytes:
    """HP seasonal tariff (2 periods: 0 summer, 1 winter) from a precalc reference run.

    Parameters
    ----------
    ref_out : str
        Output directory of the reference run (run 1 for delivery, run 2 for supply).
    new_key : str
        Key (file stem) of the derived tariff.
    tariff_key : str or None
        The reference run's tariff in its ``tariff_final_config.json`` (fixed charge, metadata).
    group_col : str
        Subclass column (``subclass_config.group_col``).
    selectors : dict
        ``{subclass: values}`` (``subclass_config.selectors``).
    subclass : str, default "hp"
        The subclass the seasonal tariff is for.
    method : str
        Residual method whose BAT column is the cross-subsidy (``passthrough``: none).
    winter_months : list of int, optional
        1-based winter months (the utility's ``periods/<utility>.yaml``; default Oct-Mar).
    storage_options : dict, optional
        fsspec options for URLs.

    Returns
    -------
    bytes
        The URDB JSON. Summer rate = the subclass's annual equivalent flat rate of the reference
        run (annual energy revenue / annual kWh); winter rate = that flat rate minus the
        subclass's cross-subsidy per winter kWh (:func:`seasonal_rates`). Energy revenue =
        Annual bill - 12 x fixed charge. kWh are the billed kWh of the reference run
        (``billing_kwh_monthly.parquet``: scaled, floored, as billed), which is what the platform
        describes; its code reads the raw ResStock kWh there (``grid_consumption_expr``), which
        differs when ``resstock_kwh_scale_factor`` is set. A winter rate <= 0 (cross-subsidy larger
        than the winter revenue) is floored at 10% of the summer rate with a warning (the platform
        stops with an error).

    Raises
    ------
    ratedesign.errors.InputError
        The reference run's outputs are missing, or the subclass has no buildings or kWh.

    References
    ----------
    .. [1] switchbox-data/rate-design-platform, ``utils/mid/compute_subclass_rr.py``
       (``compute_subclass_seasonal_discount_inputs``), ``utils/mid/create_seasonal_discount_tariff.py``.
    .. [2] S. Simeone et al., "The Bill Alignment Test: Identifying trade-offs with residential
       rate design options", Utilities Policy, 2023.
    """
    so = storage_options
    df = _load_ref(ref_out, so)
    masks = subclass_masks(df, group_col, selectors, ref_out)
    if subclass not in masks:
        raise InputError(f"subclass_config.selectors has no subclass {subclass!r}")
    hp = masks[subclass]
    if not hp.any():
        raise InputError(f"{ref_out}: no {subclass} buildings (group {group_col}) to derive seasonal rates from")
    cfg = read_json(join(ref_out, "tariff_final_config.json"), "tariff_final_config.json", so)
    ref = cfg.get(tariff_key) if tariff_key else next(iter(cfg.values()))
    fixed = float((ref or {}).get("ur_monthly_fixed_charge", 0.0))
    kwh = read_parquet_df(join(ref_out, "billing_kwh_monthly.parquet"), "monthly kWh of the reference run",
                          storage_options=so)
    months = list(MONTH_NAMES[:12])
    q = kwh.set_index("bldg_id").reindex(df["bldg_id"])[months].to_numpy()
    w = df["weight"].to_numpy()
    winter = sorted(winter_months or DEFAULT_WINTER_MONTHS)
    is_winter = np.array([(m + 1) in winter for m in range(12)])
    col = BAT_COLUMN.get(method)
    cs = float(w[hp] @ df[col].to_numpy()[hp]) if (method != "passthrough" and col in df.columns) else 0.0
    rev = float(w[hp] @ (df["Annual"].to_numpy()[hp] - 12.0 * fixed))
    r = seasonal_rates(rev, float(w[hp] @ q[hp].sum(axis=1)), float(w[hp] @ q[hp][:, is_winter].sum(axis=1)), cs)
    summer, winter_rate = r["summer_rate"], r["winter_rate"]
    if winter_rate <= 0:
        log.warning("seasonal derivation %s: winter rate %.5f $/kWh <= 0 (cross-subsidy %.0f $ > winter revenue); "
                    "floored at 10%% of the summer rate", new_key, winter_rate, cs)
        winter_rate = 0.1 * summer
    sched = [[1 if is_winter[m] else 0] * 24 for m in range(12)]
    item = dict(from_pysam(ref, new_key)["items"][0]) if ref else {}
    item.update(label=new_key, name=new_key,
                energyratestructure=[[{"rate": summer, "adj": 0.0, "unit": "kWh"}],
                                     [{"rate": winter_rate, "adj": 0.0, "unit": "kWh"}]],
                energyweekdayschedule=sched, energyweekendschedule=sched,
                fixedchargefirstmeter=fixed, fixedchargeunits="$/month", mincharge=0.0, minchargeunits="$/month",
                seasonal_derivation={k: float(v) for k, v in r.items()} | {"winter_months": winter})
    item.setdefault("sector", "Residential")
    payload = {"items": [item]}
    parse_tariff(payload, new_key, f"derived {new_key}")
    return _dump_json(payload)


def tariff_map(assignment_path: str, utility: str, keys: dict, metadata_path: str | None = None,
               group_col: str | None = None, selectors: dict | None = None,
               storage_options: dict | None = None) -> bytes:
    """``bldg_id,tariff_key`` for every building of ``utility``.

    Parameters
    ----------
    assignment_path : str
        The utility assignment parquet (``bldg_id``, ``sb.electric_utility``).
    utility : str
        Utility code.
    keys : dict
        ``{"all": key}`` (every building) or ``{subclass: key}`` with ``selectors`` choosing each
        building's subclass.
    metadata_path : str, optional
        ResStock metadata with ``postprocess_group.<group_col>`` (subclass maps only).
    group_col : str, optional
        Subclass column.
    selectors : dict, optional
        ``{subclass: values}``.
    storage_options : dict, optional
        fsspec options for URLs.

    Returns
    -------
    bytes
        The CSV.

    Raises
    ------
    ratedesign.errors.InputError
        A subclass map without ``subclass_config``, or buildings that match no selector.
    """
    so = storage_options
    ua = read_parquet_df(assignment_path, "utility assignment", ["bldg_id", "sb.electric_utility"], so)
    ids = np.sort(ua.loc[ua["sb.electric_utility"].astype(str) == str(utility), "bldg_id"].astype(np.int64).to_numpy())
    if "all" in keys:
        out = pd.DataFrame({"bldg_id": ids, "tariff_key": keys["all"]})
    else:
        if not (metadata_path and group_col and selectors):
            raise InputError("tariff map derivation: a subclass map needs subclass_config (group_col, selectors)")
        md = read_parquet_df(metadata_path, "ResStock metadata", storage_options=so)
        md = md[md["bldg_id"].astype(np.int64).isin(ids)].sort_values("bldg_id")
        masks = subclass_masks(md.reset_index(drop=True), group_col, selectors, metadata_path)
        key = np.array([None] * len(md), dtype=object)
        for sub, m in masks.items():
            if sub in keys:
                key[m & (key == None)] = keys[sub]  # noqa: E711
        if (key == None).any():  # noqa: E711
            bad = md["bldg_id"].to_numpy()[key == None][:3].tolist()  # noqa: E711
            raise InputError(f"tariff map derivation: buildings {bad} match no subclass selector of {group_col}")
        out = pd.DataFrame({"bldg_id": md["bldg_id"].astype(np.int64).to_numpy(), "tariff_key": key})
    return out.to_csv(index=False).encode()


__all__ = ["BAT_COLUMN", "DEFAULT_WINTER_MONTHS", "SUMMER", "copy_tariff", "from_pysam", "promote_tariff",
           "seasonal_rates", "seasonal_tariff", "selector_values", "subclass_masks", "subclass_revenue_requirements",
           "tariff_map", "winter_months_from_periods"]

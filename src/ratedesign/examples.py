"""Ready-made 16-run chains: RI on the real platform config + synthetic loads, and synthetic utilities.

- ``write_chain16`` writes a platform-format scenario YAML with the 16 runs of one utility (names and
  structure of switchbox-data/rate-design-platform's ``scenarios_coned.yaml`` runs 1-16;
  ../shared/rate_design_spec.md section 3).
- ``prepare_ri`` generates synthetic ResStock-format loads for the real RI sample (the 1,910 bldg_ids
  of the real tariff maps, upgrades 00 and 02) unless already present, and writes RI's 16-run YAML
  pointing at the real RI tariffs, maps and revenue requirements.
- ``prepare_synthetic_utility`` writes a whole synthetic utility (loads, metadata, MCs, tariffs,
  revenue requirements, 16-run YAML; tariff maps are left to the chain's map derivation). Used by the
  demo when ``../shared`` is absent, by the 10-utility benchmark and by tests.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass

import yaml

from ratedesign.fsio import exists

log = logging.getLogger("ratedesign")

RESSTOCK = "/ebs/data/nrel/resstock/res_2024_amy2018_2_sb"
ELASTICITY = {"summer": -0.18, "winter": -0.16}

#: buildings per utility: rows of the platform's *_default.csv tariff maps (rate_design_spec.md section 2)
UTILITY_SIZES = {"coned": 15435, "nimo": 6791, "bge": 4897, "psegli": 4427, "nyseg": 3682, "eversource": 3539,
                 "rie": 1910, "rge": 1444, "cenhud": 1182, "or": 829}
UTILITY_STATES = {"coned": "NY", "nimo": "NY", "bge": "MD", "psegli": "NY", "nyseg": "NY", "eversource": "CT",
                  "rie": "RI", "rge": "NY", "cenhud": "NY", "or": "NY"}


#: the platform's ten utilities: utility -> state directory (``rate_design/hp_rates/<state>/config``)
PLATFORM_UTILITIES = {"rie": "ri", "cenhud": "ny", "coned": "ny", "nimo": "ny", "nyseg": "ny", "or": "ny",
                      "psegli": "ny", "rge": "ny", "ct_eversource": "ct", "bge": "md"}
#: residential customers used for the synthetic EIA-861 rows (approximate; RI, CT and MD revenue
#: requirement files carry their own ``test_year_customer_count``, which the runs use instead)
CUSTOMERS = {"rie": 451381.0, "coned": 3050000.0, "nimo": 1480000.0, "psegli": 1000000.0, "nyseg": 800000.0,
             "rge": 330000.0, "cenhud": 270000.0, "or": 210000.0, "ct_eversource": 1046314.6, "bge": 1222270.17}


def shared_dir(shared: str | None = None) -> str:
    """The shared material directory.

    Parameters
    ----------
    shared : str, optional
        ``--shared``; else ``$RATEDESIGN_SHARED``; else ``../shared`` beside the repository.

    Returns
    -------
    str
    """
    return os.path.normpath(shared or os.environ.get("RATEDESIGN_SHARED") or os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "shared"))


def platform_config_dir(utility: str, shared: str | None = None) -> str:
    """The config directory of one of the platform's utilities.

    Parameters
    ----------
    utility : str
        A key of :data:`PLATFORM_UTILITIES` (``rie``, ``coned``, ...).
    shared : str, optional
        The shared material directory (default ``$RATEDESIGN_SHARED`` or ``../shared``).

    Returns
    -------
    str
        ``.../rate_design/hp_rates/<state>/config``.

    Raises
    ------
    InputError
        An unknown utility.

    References
    ----------
    .. [1] switchbox-data/rate-design-platform, ``rate_design/hp_rates/``.
    """
    if utility not in PLATFORM_UTILITIES:
        from ratedesign.errors import InputError
        raise InputError(f"--utilities: unknown utility {utility!r} (the platform's: {', '.join(PLATFORM_UTILITIES)})")
    return os.path.join(shared_dir(shared), "data", "rate-design-platform", "rate_design", "hp_rates",
                        PLATFORM_UTILITIES[utility], "config")


def platform_scenario(utility: str, shared: str | None = None) -> str:
    """The utility's real scenario file.

    Parameters
    ----------
    utility : str
        A key of :data:`PLATFORM_UTILITIES`.
    shared : str, optional
        The shared material directory (default ``$RATEDESIGN_SHARED`` or ``../shared``).

    Returns
    -------
    str
        ``<config>/scenarios/scenarios_<utility>.yaml``.
    """
    return os.path.join(platform_config_dir(utility, shared), "scenarios", f"scenarios_{utility}.yaml")


def _hp_map(config: str, utility: str) -> str | None:
    tm = os.path.join(config, "tariff_maps", "electric")
    for cand in (f"{utility}_hp_seasonal_vs_default.csv", f"{utility}_hp_seasonal_vs_non-hp_base.csv",
                 f"{utility}_hp_flat_vs_default.csv"):
        if os.path.exists(os.path.join(tm, cand)):
            return os.path.join(tm, cand)
    return None


def prepare_platform(data_dir: str, utilities, shared: str | None = None, sample: int | None = None,
                     seed: int = 42) -> list:
    """Synthetic ResStock-format data for the real samples of the platform's utilities, once.

    Parameters
    ----------
    data_dir : str
        Where the dataset goes (``<data_dir>/platform``); utilities already generated are kept.
    utilities : list of str
        Utility codes (keys of ``PLATFORM_UTILITIES``).
    shared : str, optional
        The shared material directory.
    sample : int, optional
        Write load files only for the buildings a run with ``sample_size = sample`` draws
        (``random.Random(42).sample`` over the map's bldg_ids in file order); metadata covers all.
    seed : int
        Dataset seed.

    Returns
    -------
    list of Prepared
        One per utility: its real scenario file and the ``--map-prefix`` values.
    """
    from ratedesign.buildings import sample_bldg_ids
    from ratedesign.synth import bldg_ids_from_map, synth_dataset

    root = os.path.abspath(os.path.join(data_dir, "platform"))
    out = []
    for u in utilities:
        cfg = platform_config_dir(u, shared)
        st = PLATFORM_UTILITIES[u].upper()
        ids, _ = bldg_ids_from_map(os.path.join(cfg, "tariff_maps", "electric", f"{u}_default.csv"))
        hp_map = _hp_map(cfg, u)
        hp = bldg_ids_from_map(hp_map)[1] if hp_map else None
        eh_map = os.path.join(cfg, "tariff_maps", "electric", f"{u}_elec_heat_flat_vs_non_elec_heat.csv")
        eheat = None
        if os.path.exists(eh_map):
            import pandas as pd
            m = pd.read_csv(eh_map)
            key = m["tariff_key"].astype(str)
            eheat = m.loc[key.str.contains("elec_heat") & ~key.str.contains("non_elec"), "bldg_id"].astype(int).tolist()
            eheat = sorted(set(eheat) | set(hp or []))
        want = sample_bldg_ids(ids, sample)
        marker = os.path.join(root, f".complete-{u}-{'all' if sample is None else int(sample)}")
        generated = False
        if not (os.path.exists(marker) or os.path.exists(os.path.join(root, f".complete-{u}-all"))):
            synth_dataset(root, ids, state=st, utility=u, upgrades=("00", "02"), seed=seed, hp_ids=hp,
                          customers=CUSTOMERS[u], load_ids=None if sample is None else want, eheat_ids=eheat)
            with open(marker, "w") as f:
                f.write(json.dumps({"n_buildings": len(ids), "load_files": len(want), "seed": seed}) + "\n")
            generated = True
        out.append(Prepared(scenario=platform_scenario(u, shared),
                            map_prefix=[f"{RESSTOCK}={root}/resstock", f"s3://data.sb={root}/data.sb"],
                            utility=u, n_buildings=len(want), generated=generated))
    return out


def ri_config_dir(shared: str | None = None) -> str:
    """The real RI config directory under the shared material (may not exist).

    Parameters
    ----------
    shared : str, optional
        The shared material directory (default ``$RATEDESIGN_SHARED`` or ``../shared``).

    Returns
    -------
    str
    """
    shared = shared or os.environ.get("RATEDESIGN_SHARED") or os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "shared")
    return os.path.normpath(os.path.join(shared, "data", "rate-design-platform", "rate_design", "hp_rates", "ri",
                                         "config"))


def chain16_entries(*, utility: str, state: str, config: str, rr_delivery: str, rr_subclass: str, rr_default: str,
                    resstock: str, mc_base: str, eia: str, gas_map_00: str, gas_map_02: str, gas_dir: str,
                    elasticity=None, map_suffix: str = ".csv") -> dict:
    """The 16 scenario entries of the platform's chain for one utility (all paths absolute).

    Parameters
    ----------
    utility, state : str
        Utility key and two-letter state.
    config : str
        Directory holding ``tariffs/electric`` and ``tariff_maps/electric``.
    rr_delivery, rr_subclass, rr_default : str
        Revenue requirement YAMLs ($/year): delivery, subclass (derived by runs 1/2), default runs.
    resstock : str
        ResStock root (``metadata``, ``load_curve_hourly`` per upgrade).
    mc_base : str
        Directory of the marginal-cost CSVs ($/kWh, 8760 rows).
    eia : str
        Utility statistics file (customer count).
    gas_map_00, gas_map_02 : str
        Gas tariff maps of upgrades 00 and 02.
    gas_dir : str
        Gas tariff directory (rates in $/kWh).
    elasticity : float or dict, optional
        Demand-flex elasticity of runs 13-16 (default ``{summer: -0.18, winter: -0.16}``).
    map_suffix : str, default ".csv"
        Suffix of the tariff map files.

    Returns
    -------
    dict
        ``runs:`` mapping keyed 1..16 (names and structure of the platform's
        ``scenarios_coned.yaml`` runs 1-16).

    References
    ----------
    .. [1] switchbox-data/rate-design-platform, ``rate_design/hp_rates/ny/config/scenarios/scenarios_coned.yaml``.
    """
    el = elasticity or ELASTICITY
    u, st = utility, state.upper()
    te = os.path.join(config, "tariffs", "electric")
    tm = os.path.join(config, "tariff_maps", "electric")
    designs = [  # (label, hp tariff stem or None, map stem, calibrated stem)
        ("default", None, "default", "default"),
        ("hp_seasonal_vs_default", "hp_seasonal", "hp_seasonal_vs_default", "hp_seasonal"),
        ("hp_seasonalTOU_vs_default", "hp_seasonalTOU", "hp_seasonalTOU_vs_default", "hp_seasonalTOU"),
        ("hp_seasonalTOU_flex_vs_default", "hp_seasonalTOU_flex", "hp_seasonalTOU_flex_vs_default", "hp_seasonalTOU_flex"),
    ]
    runs = {}
    n = 0
    for label, hp, mapstem, cal in designs:
        flex = "flex" in label
        for calibrated in (False, True):
            for supply in (False, True):
                n += 1
                sfx = "_supply" if supply else ""
                up = "02" if calibrated else "00"
                if calibrated:
                    tariffs = {"all": os.path.join(te, f"{u}_{cal}{sfx}_calibrated.json")}
                    tmap = os.path.join(tm, f"{u}_{cal}_calibrated{sfx}{map_suffix}")
                elif hp is None:
                    tariffs = {"all": os.path.join(te, f"{u}_default{sfx}.json")}
                    tmap = os.path.join(tm, f"{u}_{mapstem}{sfx}{map_suffix}")
                else:
                    tariffs = {"hp": os.path.join(te, f"{u}_{hp}{sfx}.json"),
                               "non-hp": os.path.join(te, f"{u}_nonhp_default{sfx}.json")}
                    tmap = os.path.join(tm, f"{u}_{mapstem}{sfx}{map_suffix}")
                stage = "default" if calibrated else "precalc"
                name = f"{st.lower()}_{u}_run{n}_up{up}_{stage}{'_supply' if supply else ''}__{label}"
                subclass = hp is not None and not calibrated
                e = {
                    "run_name": name, "state": st, "utility": u, "run_type": "default" if calibrated else "precalc",
                    "upgrade": str(int(up)),
                    "path_resstock_metadata": f"{resstock}/metadata/state={st}/upgrade={up}/metadata-sb.parquet",
                    "path_resstock_loads": f"{resstock}/load_curve_hourly/state={st}/upgrade={up}/",
                    "path_utility_assignment": f"{resstock}/metadata_utility/state={st}/utility_assignment.parquet",
                    "path_tariff_maps_electric": tmap,
                    "path_tariff_maps_gas": gas_map_02 if calibrated else gas_map_00,
                    "path_tariffs_electric": tariffs, "path_tariffs_gas": gas_dir,
                    "utility_revenue_requirement": rr_default if calibrated else (rr_subclass if subclass else rr_delivery),
                    "run_includes_supply": supply, "run_includes_subclasses": subclass,
                    "path_dist_and_sub_tx_mc": f"{mc_base}/dist_and_sub_tx/utility={u}/year=2025/data.parquet",
                    "path_bulk_tx_mc": f"{mc_base}/bulk_tx/utility={u}/year=2025/data.parquet",
                    "path_supply_energy_mc": f"{mc_base}/supply/energy/utility={u}/year=2025/{'data' if supply else 'zero'}.parquet",
                    "path_supply_capacity_mc": f"{mc_base}/supply/capacity/utility={u}/year=2025/{'data' if supply else 'zero'}.parquet",
                    "path_electric_utility_stats": eia,
                    "solar_pv_compensation": "net_metering", "year_run": 2025, "year_dollar_conversion": 2025,
                    "process_workers": 8, "elasticity": dict(el) if flex else 0.0,
                }
                if subclass:
                    e.update(residual_allocation_delivery="percustomer", residual_allocation_supply="percustomer",
                             subclass_config={"group_col": "has_hp", "selectors": {"hp": "true", "non-hp": "false"}})
                runs[n] = e
    return runs


def write_chain16(path: str, runs: dict) -> str:
    """Write a platform-format scenario YAML.

    Parameters
    ----------
    path : str
        The file to write (directories are created).
    runs : dict
        The ``runs:`` mapping (e.g. :func:`chain16_entries`).

    Returns
    -------
    str
        ``path``.
    """
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w") as f:
        # (the comment is part of the file's content hash, hence of run keys: kept as written)
        f.write("# 16-run chain (spec section 3), written by ratedesign.examples\n")
        yaml.safe_dump({"runs": runs}, f, sort_keys=False)
    return path


@dataclass
class Prepared:
    """A scenario file ready for ``expand_file`` and the ``--map-prefix`` values it needs.

    Parameters
    ----------
    scenario : str
        The scenario YAML.
    map_prefix : list of str
        ``OLD=NEW`` rewrites pointing the file's ResStock and data paths at the generated data.
    utility : str
        The utility key.
    n_buildings : int
        Buildings with load files.
    generated : bool
        True when the data was generated by this call (False: found from an earlier one).
    """

    scenario: str
    map_prefix: list
    utility: str
    n_buildings: int
    generated: bool


def prepare_ri(data_dir: str, shared: str | None = None, limit: int | None = None, seed: int = 42,
               config: str | None = None) -> Prepared:
    """Synthetic loads for the real RI sample (unless present) and RI's 16-run YAML (real config).

    Parameters
    ----------
    data_dir : str
        Where the loads go (``<data_dir>/ri`` or ``ri-<limit>``), generated once.
    shared : str, optional
        The shared material directory (default ``$RATEDESIGN_SHARED`` or ``../shared``).
    limit : int, optional
        Only N buildings (the first 5 heat-pump ones and the first N-5 others, for tests).
    seed : int, default 42
        Dataset seed.
    config : str, optional
        Another copy of the RI config directory (tests that edit tariff files).

    Returns
    -------
    Prepared
    """
    from ratedesign.synth import bldg_ids_from_map, synth_dataset

    cfg = config or ri_config_dir(shared)
    ids, _ = bldg_ids_from_map(os.path.join(cfg, "tariff_maps", "electric", "rie_default.csv"))
    _, hp = bldg_ids_from_map(os.path.join(cfg, "tariff_maps", "electric", "rie_hp_seasonal_vs_default.csv"))
    if limit:
        hp_set = set(hp)
        ids = sorted(sorted(hp)[:5] + [b for b in ids if b not in hp_set][: max(limit - 5, 0)])
    root = os.path.abspath(os.path.join(data_dir, "ri" if not limit else f"ri-{limit}"))
    marker = os.path.join(root, ".complete")
    generated = False
    if not os.path.exists(marker):
        synth_dataset(root, ids, state="RI", utility="rie", upgrades=("00", "02"), seed=seed, hp_ids=hp)
        with open(marker, "w") as f:
            f.write(json.dumps({"n_buildings": len(ids), "seed": seed}) + "\n")
        generated = True
    runs = chain16_entries(
        utility="rie", state="RI", config=cfg,
        rr_delivery=os.path.join(cfg, "rev_requirement", "rie_rate_case_test_year.yaml"),
        rr_subclass=os.path.join(cfg, "rev_requirement", "rie_hp_vs_nonhp.yaml"),
        rr_default=os.path.join(cfg, "rev_requirement", "rie_large_number_rate_case_test_year.yaml"),
        resstock=RESSTOCK, mc_base="s3://data.sb/switchbox/marginal_costs/ri",
        eia="s3://data.sb/eia/861/electric_utility_stats/year=2024/state=RI/data.parquet",
        gas_map_00=os.path.join(cfg, "tariff_maps", "gas", "rie_u00.csv"),
        gas_map_02=os.path.join(cfg, "tariff_maps", "gas", "rie_u02.csv"),
        gas_dir=os.path.join(cfg, "tariffs", "gas"))
    scen = write_chain16(os.path.join(root, "scenarios_rie_16.yaml"), runs)
    return Prepared(scenario=scen, map_prefix=[f"{RESSTOCK}={root}/resstock", f"s3://data.sb={root}/data.sb"],
                    utility="rie", n_buildings=len(ids), generated=generated)


# ------------------------------------------------------------------------------ synthetic utility
def _sched(fn):
    return [[fn(m, h) for h in range(24)] for m in range(12)]


def _tariff(path: str, key: str, sched_wk, sched_we, rates, fixed=10.0) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    item = {"label": key, "name": key, "utility": "synthetic", "sector": "Residential",
            "energyweekdayschedule": sched_wk, "energyweekendschedule": sched_we,
            "energyratestructure": [[{"rate": r, "adj": 0.0, "unit": "kWh"}] for r in rates],
            "fixedchargefirstmeter": fixed, "fixedchargeunits": "$/month", "mincharge": 0.0,
            "minchargeunits": "$/month"}
    with open(path, "w") as f:
        json.dump({"items": [item]}, f, indent=1)


def write_synthetic_tariffs(config: str, u: str) -> None:
    """Write the tariffs of a synthetic utility (shapes of RI's: flat default, seasonal, 4-period seasonal TOU).

    Parameters
    ----------
    config : str
        The utility's config directory (``tariffs/electric``, ``tariffs/gas`` are written).
    u : str
        The utility key (tariff names ``<u>_default``, ``<u>_hp_seasonal``, ...; rates in $/kWh).
    """
    te = os.path.join(config, "tariffs", "electric")
    flat = _sched(lambda m, h: 0)
    seas = _sched(lambda m, h: 0 if 3 <= m <= 8 else 1)
    tou_wk = _sched(lambda m, h: (2 if 3 <= m <= 8 else 0) + (1 if 16 <= h < 20 else 0))
    tou_we = _sched(lambda m, h: 2 if 3 <= m <= 8 else 0)
    for sfx, lvl in (("", 1.0), ("_supply", 2.0)):
        _tariff(os.path.join(te, f"{u}_default{sfx}.json"), f"{u}_default{sfx}", flat, flat, [0.14 * lvl])
        _tariff(os.path.join(te, f"{u}_nonhp_default{sfx}.json"), f"{u}_nonhp_default{sfx}", flat, flat, [0.14 * lvl])
        _tariff(os.path.join(te, f"{u}_hp_seasonal{sfx}.json"), f"{u}_hp_seasonal{sfx}", seas, seas,
                [0.135 * lvl, 0.09 * lvl])
        _tariff(os.path.join(te, f"{u}_hp_seasonalTOU{sfx}.json"), f"{u}_hp_seasonalTOU{sfx}", tou_wk, tou_we,
                [0.100562 * lvl, 0.129493 * lvl, 0.09815 * lvl, 0.336281 * lvl])
    tg = os.path.join(config, "tariffs", "gas")
    gs = _sched(lambda m, h: m // 3)
    # RateAcuity-style gas tariffs: $/kWh of gas (the state's keys that synth's gas maps use)
    _tariff(os.path.join(tg, "rie_heating.json"), "rie_heating", gs, gs, [0.065, 0.058, 0.051, 0.061], 14.79)
    _tariff(os.path.join(tg, "rie_nonheating.json"), "rie_nonheating", gs, gs, [0.072, 0.068, 0.066, 0.070], 12.5)
    _tariff(os.path.join(tg, "null_gas_tariff.json"), "null_gas_tariff", flat, flat, [0.0], 0.0)


def prepare_synthetic_utility(data_dir: str, utility: str, n_buildings: int, *, state: str = "ZZ",
                              first_id: int = 100001, hp_share: float = 0.03, seed: int = 42) -> Prepared:
    """A complete synthetic utility (generated once) and its 16-run YAML.

    Parameters
    ----------
    data_dir : str
        Parent directory (``<data_dir>/<utility>-<n_buildings>``).
    utility : str
        The utility key.
    n_buildings : int
        Buildings in the sample.
    state : str, default "ZZ"
        Two-letter state.
    first_id : int, default 100001
        First bldg_id.
    hp_share : float, default 0.03
        Fraction of buildings with a heat pump.
    seed : int, default 42
        Dataset seed.

    Returns
    -------
    Prepared
    """
    from ratedesign.synth import synth_dataset

    root = os.path.abspath(os.path.join(data_dir, f"{utility}-{n_buildings}"))
    cfg = os.path.join(root, "config")
    marker = os.path.join(root, ".complete")
    generated = False
    customers = 250.0 * n_buildings
    if not os.path.exists(marker):
        ids = list(range(first_id, first_id + n_buildings))
        step = max(1, int(round(1 / hp_share)))
        hp = ids[::step]
        synth_dataset(root, ids, state=state, utility=utility, upgrades=("00", "02"), seed=seed,
                      total_kwh=customers * 7000.0 / 0.87, customers=customers, hp_ids=hp,
                      elec_tariff_key=f"{utility}_default", mc_budget_scale=customers / 451381.0)
        write_synthetic_tariffs(cfg, utility)
        rr = os.path.join(cfg, "rev_requirement")
        os.makedirs(rr, exist_ok=True)
        with open(os.path.join(rr, f"{utility}.yaml"), "w") as f:
            yaml.safe_dump({"utility": utility, "total_delivery_revenue_requirement": 1100.0 * customers,
                            "total_delivery_and_supply_revenue_requirement": 2000.0 * customers}, f)
        with open(os.path.join(rr, f"{utility}_large_number.yaml"), "w") as f:
            yaml.safe_dump({"utility": utility, "revenue_requirement": 1e12}, f)
        with open(marker, "w") as f:
            f.write(json.dumps({"n_buildings": n_buildings, "seed": seed}) + "\n")
        generated = True
    rr = os.path.join(cfg, "rev_requirement")
    runs = chain16_entries(
        utility=utility, state=state, config=cfg, rr_delivery=os.path.join(rr, f"{utility}.yaml"),
        rr_subclass=os.path.join(rr, f"{utility}_hp_vs_nonhp.yaml"), rr_default=os.path.join(rr, f"{utility}_large_number.yaml"),
        resstock=os.path.join(root, "resstock"), mc_base=os.path.join(root, "data.sb", "switchbox", "marginal_costs", state.lower()),
        eia=os.path.join(root, "data.sb", "eia", "861", "electric_utility_stats", "year=2024", f"state={state}", "data.parquet"),
        gas_map_00=os.path.join(root, "tariff_maps", "gas", f"synth_{utility}_u00.csv"),
        gas_map_02=os.path.join(root, "tariff_maps", "gas", f"synth_{utility}_u00.csv"),
        gas_dir=os.path.join(cfg, "tariffs", "gas"))
    scen = write_chain16(os.path.join(root, f"scenarios_{utility}.yaml"), runs)
    return Prepared(scenario=scen, map_prefix=[], utility=utility, n_buildings=n_buildings, generated=generated)


def shared_available(shared: str | None = None) -> bool:
    """True when the real RI config is present.

    Parameters
    ----------
    shared : str, optional
        The shared material directory (default ``$RATEDESIGN_SHARED`` or ``../shared``).

    Returns
    -------
    bool
    """
    return exists(os.path.join(ri_config_dir(shared), "tariff_maps", "electric", "rie_default.csv"))


__all__ = ["CUSTOMERS", "ELASTICITY", "PLATFORM_UTILITIES", "RESSTOCK", "UTILITY_SIZES", "UTILITY_STATES", "Prepared",
           "chain16_entries", "platform_config_dir", "platform_scenario", "prepare_platform", "prepare_ri",
           "prepare_synthetic_utility", "ri_config_dir", "shared_available", "shared_dir", "write_chain16",
           "write_synthetic_tariffs"]

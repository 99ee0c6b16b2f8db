"""Real inputs of the rate-design platform (RI): the scenario file, tariffs, tariff maps, revenue
requirements and the Cambium CSV from ../shared/data, with synthetic loads for the real bldg_ids."""

import json

import numpy as np
import pandas as pd
import pytest

from ratedesign.calendar import shift_year
from ratedesign.marginal_costs import read_cambium_csv, supply_series
from ratedesign.pipeline import prepare_inputs, run_inputs
from ratedesign.scenario import load_scenario
from ratedesign.synth import bldg_ids_from_map, synth_dataset
from ratedesign.tariff import load_tariff
from ratedesign_fixtures import RI_CONFIG

pytestmark = pytest.mark.skipif(not RI_CONFIG.exists(), reason=f"shared RI inputs not found at {RI_CONFIG}")
SCEN = RI_CONFIG / "scenarios" / "scenarios_rie.yaml"
N_NONHP = 110


@pytest.fixture(scope="module")
def ri(tmp_path_factory):
    """Synthetic loads (upgrades 00 and 02) for 110 non-HP + all 39 HP buildings of the real RI map."""
    ids, hp = bldg_ids_from_map(str(RI_CONFIG / "tariff_maps/electric/rie_hp_seasonal_vs_default.csv"))
    chosen = [b for b in ids if b not in set(hp)][:N_NONHP] + hp
    root = tmp_path_factory.mktemp("ri")
    paths = synth_dataset(str(root), chosen, hp_ids=hp, upgrades=("00", "02"), seed=3,
                          total_kwh=3.17e9 * len(chosen) / 1910)
    return {"ids": chosen, "hp": hp, "maps": paths.map_prefix_args()}


def run(ri, run_key, sets=(), **kw):
    cfg = load_scenario(str(SCEN), run_key, sets=list(sets), map_prefix=ri["maps"])
    return run_inputs(prepare_inputs(cfg), **kw)


def test_real_scenario_file_parses():
    cfg = load_scenario(str(SCEN), 1, map_prefix=["/ebs/data/nrel/resstock/res_2024_amy2018_2_sb=/x", "s3://data.sb=/y"])
    assert cfg.run_name == "ri_rie_default_precalc_delivery" and cfg.run_type == "precalc"
    assert cfg.path_tariff_maps_electric == str(RI_CONFIG / "tariff_maps/electric/rie_default.csv")
    assert cfg.path_tariffs_electric == {"all": str(RI_CONFIG / "tariffs/electric/rie_default.json")}
    assert cfg.path_resstock_loads == "/x/load_curve_hourly/state=RI/upgrade=00/"
    assert cfg.path_supply_energy_mc == "/y/switchbox/marginal_costs/ri/supply/energy/utility=rie/year=2025/zero.parquet"
    assert cfg.load_upgrade == "00"
    c5 = load_scenario(str(SCEN), 5)
    assert c5.run_includes_subclasses and c5.subclass_config["group_col"] == "has_hp"
    assert set(c5.path_tariffs_electric) == {"hp", "non-hp"}
    assert load_scenario(str(SCEN), "ri_rie_default_calibrated_delivery").load_upgrade == "02"


def test_real_tariffs_parse():
    t = load_tariff(str(RI_CONFIG / "tariffs/electric/rie_default.json"))
    assert t.key == "rie_default" and t.rate[0, 0] == 0.14058 and t.fixed_charge == 10.01
    s = load_tariff(str(RI_CONFIG / "tariffs/electric/rie_hp_seasonal.json"))
    assert s.n_periods == 2 and s.weekday_schedule[0, 0] == 1 and s.weekday_schedule[6, 0] == 0
    tou = load_tariff(str(RI_CONFIG / "tariffs/electric/rie_hp_seasonalTOU.json"))
    assert tou.n_periods == 4 and tou.weekday_schedule[5, 17] == 3
    g = load_tariff(str(RI_CONFIG / "tariffs/gas/rie_heating.json"))
    assert g.n_periods == 4 and g.adj.sum() == 0


def test_real_cambium_csv():
    path = str(RI_CONFIG / "marginal_costs/rie_p133_marginal_costs.csv")
    df = read_cambium_csv(path)
    assert len(df) == 8760 and df["energy_cost_enduse"].iloc[0] == 36.55
    e = supply_series(path, "energy_cost_enduse", 2025, "path_supply_energy_mc")
    # relabelled to 2023 (nearest Sunday-start year), then shifted 2023 -> 2025 (d = 3 days)
    np.testing.assert_allclose(e, shift_year(df["energy_cost_enduse"].to_numpy(float) / 1000, 2023, 2025))
    assert e[0] == df["energy_cost_enduse"].iloc[72] / 1000
    dummy = read_cambium_csv(str(RI_CONFIG / "marginal_costs/dummy_rie_marginal_costs.csv"))
    assert len(dummy) == 8760  # its repeated header row is dropped


def test_ri_default_precalc_delivery(ri):
    res = run(ri, 1, n_chunks=3)
    b = res.bat
    w = b["weight"].to_numpy()
    assert len(b) == len(ri["ids"])
    assert w.sum() == pytest.approx(419347.83)  # test_year_customer_count of rie_rate_case_test_year.yaml
    assert w @ b["Annual"] == pytest.approx(446463143.03, rel=1e-12)
    for c in ("BAT_percustomer", "BAT_vol", "BAT_epmc", "BAT_peak"):
        assert round(float(w @ b[c]), 1) == 0, c
    t = res.calibrated["rie_default"]
    assert t.fixed_charge == 10.01 and t.n_periods == 1
    # Σ w (12 f + r q) = RR
    r = t.rate[0, 0]
    assert r == pytest.approx((446463143.03 - 12 * 10.01 * w.sum()) / res.globals.total_kwh, rel=1e-12)
    assert res.inputs.rr.kwh_scale_factor == pytest.approx(0.9594257590448669)
    gas = res.gas_bills.set_index("bldg_id")["Annual"]
    gmap = pd.read_csv(RI_CONFIG / "tariff_maps/gas/rie_u00.csv").set_index("bldg_id")["tariff_key"]
    nulls = [i for i in ri["ids"] if gmap[i] == "null_gas_tariff"]
    assert (gas[nulls] == 0).all() and (gas[[i for i in ri["ids"] if gmap[i] == "rie_heating"]] >= 12 * 14.79 - 1e-9).all()


def test_ri_hp_seasonal_subclass_precalc(ri):
    sets = ["path_tariff_maps_electric=tariff_maps/electric/rie_hp_seasonal_vs_default.csv",
            "path_tariffs_electric={hp: tariffs/electric/rie_hp_seasonal.json, non-hp: tariffs/electric/rie_nonhp_default.json}",
            "utility_revenue_requirement=rev_requirement/rie_hp_vs_nonhp_rate_case_test_year.yaml"]
    res = run(ri, 5, sets, n_chunks=2)
    b = res.bat
    by = (b["weight"] * b["Annual"]).groupby(b["tariff_key"]).sum()
    assert by["rie_hp_seasonal"] == pytest.approx(9571864.840281012, rel=1e-12)
    assert by["rie_nonhp_default"] == pytest.approx(436891278.18971896, rel=1e-12)
    assert set(b.loc[b["tariff_key"] == "rie_hp_seasonal", "bldg_id"]) == set(ri["hp"])
    t = res.calibrated["rie_hp_seasonal"]
    rel = round(0.13469975074726565 / 0.03239299812658705, 4)
    assert t.rate[0, 0] / t.rate[1, 0] == pytest.approx(rel, rel=1e-12)
    stats = res.group_stats
    assert {"tariff_key", "postprocess_group.has_hp"} <= set(stats["group_col"])


def test_ri_supply_run_with_real_cambium_and_calibrated_default(ri, tmp_path):
    cam = "marginal_costs/rie_p133_marginal_costs.csv"
    res = run(ri, 2, [f"path_supply_energy_mc={cam}", f"path_supply_capacity_mc={cam}"], n_chunks=2)
    w = res.bat["weight"].to_numpy()
    assert w @ res.bat["Annual"] == pytest.approx(833633648.99, rel=1e-12)
    comp = res.globals.tmc_by_component
    assert comp["Marginal Energy Costs ($/kWh)"] > 0 and comp["Marginal Capacity Costs ($/kWh)"] > 0
    # run 3: default run, upgrade 02, real calibrated tariff, bills at its rate
    d = run(ri, 3, n_chunks=2)
    tar = json.loads((RI_CONFIG / "tariffs/electric/rie_default_calibrated.json").read_text())["items"][0]
    rate = tar["energyratestructure"][0][0]["rate"]
    b = d.bat
    np.testing.assert_allclose(b["Annual"], rate * b["annual_kwh"] + 12 * 10.01, rtol=1e-12)
    assert d.globals.revenue_requirement == 1e12
    assert d.inputs.shared.upgrade == "02"

"""Issue 14: the platform's ten utilities in one study, derivations as the platform's code computes
them, every input checked before anything runs.

Hand-computed cases (no ../shared needed): HP seasonal rates from a seasonal reference tariff,
demand-flex shift of 3 buildings, a tiered gas bill in kWh, the platform's building sample,
``--runs`` per file. With ../shared: bad inputs (exit 2, one line, store untouched) on the real RI
config, and the ten real scenario files at ``--sample 30`` as one study with the precalc
invariants read back from the store.
"""

from __future__ import annotations

import json
import random
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from conftest import SHARED, run_cli, worker_env
from ratedesign import derive, flex
from ratedesign.buildings import sample_bldg_ids, utility_bldg_ids
from ratedesign.calendar import MONTH_NAMES, HourCalendar
from ratedesign.chain import select_runs
from ratedesign.errors import InputError
from ratedesign.pipeline import run_arrays
from ratedesign.tariff import parse_tariff, to_pysam
from runfleet import study_status

PLATFORM = SHARED / "data" / "rate-design-platform" / "rate_design" / "hp_rates"
needs_shared = pytest.mark.skipif(not (PLATFORM / "ri" / "config").exists(),
                                  reason="../shared/data/rate-design-platform is absent (real platform configs)")


def _tariff(key, wk, we, rates, fixed=0.0, maxes=None):
    ers = []
    for p, r in enumerate(rates):
        tiers = r if isinstance(r, list) else [r]
        ers.append([{"rate": x, "adj": 0.0, "unit": "kWh", **({"max": maxes[p][j]} if maxes and j < len(maxes[p]) else {})}
                    for j, x in enumerate(tiers)])
    return parse_tariff({"items": [{"energyratestructure": ers, "energyweekdayschedule": wk,
                                    "energyweekendschedule": we, "fixedchargefirstmeter": fixed}]}, key)


# ------------------------------------------------------------------------------------------ sampling
def test_sample_is_random42_over_assignment_file_order():
    ids = [907, 13, 501, 88, 4, 77, 250, 31, 660, 2]          # file order, not sorted
    ua = pd.DataFrame({"bldg_id": ids + [5, 6], "sb.electric_utility": ["u"] * 10 + ["other"] * 2})
    assert utility_bldg_ids(ua, "u") == ids
    assert sample_bldg_ids(utility_bldg_ids(ua, "u"), 4) == random.Random(42).sample(ids, 4)
    assert sample_bldg_ids(ids, 4) != random.Random(42).sample(sorted(ids), 4)  # order matters
    assert sample_bldg_ids(ids, None) == ids and sample_bldg_ids(ids, 50) == ids


# --------------------------------------------------------------------------------- --runs per file
def test_runs_per_file_by_position_and_name():
    files = [(("rie", "scenarios_rie"), 8, {"ri_a": 1, "ri_b": 2}, "rie.yaml"),
             (("coned", "scenarios_coned"), 36, {"1": 1, "ny_coned_run5": 5}, "coned.yaml"),
             (("bge",), 20, {}, "bge.yaml")]
    assert select_runs("rie:1-8,coned:1-16", files) == [set(range(1, 9)), set(range(1, 17)), set()]
    assert select_runs("1-16", files) == [set(range(1, 9)), set(range(1, 17)), set(range(1, 17))]
    assert select_runs("rie:ri_b,coned:ny_coned_run5,30-31", files) == [{2}, {5, 30, 31}, set()]
    assert select_runs(None, files) == [None, None, None]
    with pytest.raises(InputError, match=r"rie.yaml has only 8 entries \(no entry 9\)"):
        select_runs("rie:1-9", files)
    with pytest.raises(InputError, match="no scenario file 'nyseg'"):
        select_runs("nyseg:1", files)
    with pytest.raises(InputError, match="no scenario file has 40 entries"):
        select_runs("1-40", files)


# ------------------------------------------------------------------------------ HP seasonal rates
def test_hp_seasonal_rates_by_hand_from_a_seasonal_reference_tariff(tmp_path):
    """Summer = the HP class's annual equivalent flat rate, winter = that minus CS per winter kWh.

    Reference tariff: seasonal, summer 0.20 $/kWh, winter 0.10 $/kWh (Oct-Mar), fixed 10 $/month.
    HP buildings 1 (w=2, 100 kWh every month) and 2 (w=1, 200 kWh winter months, 50 summer months);
    building 3 is non-HP. Annual bills: B1 = 6*100*0.2 + 6*100*0.1 + 120 = 300, B2 = 6*50*0.2 +
    6*200*0.1 + 120 = 300. BAT_percustomer: B1 +12, B2 -6 -> CS = 2*12 - 6 = 18 $.
    Energy revenue = 2*180 + 180 = 540 $; annual kWh = 2*1200 + 1500 = 3900; flat = 540/3900.
    Winter kWh = 2*600 + 1200 = 2400 -> winter = 540/3900 - 18/2400.
    (The old formula, summer revenue / summer kWh, would give 300/1500 = 0.20.)
    """
    run = tmp_path / "ref"
    (run / "cross_subsidization").mkdir(parents=True)
    winter = [1 if m + 1 in (10, 11, 12, 1, 2, 3) else 0 for m in range(12)]
    kwh = {1: [100.0] * 12, 2: [200.0 if w else 50.0 for w in winter], 3: [300.0] * 12}
    pd.DataFrame({"bldg_id": [1, 2, 3], "Annual": [300.0, 300.0, 500.0], "weight": [2.0, 1.0, 1.0],
                  "BAT_percustomer": [12.0, -6.0, -18.0], "BAT_vol": [1.0, 2.0, 3.0]}).to_parquet(
        run / "cross_subsidization" / "cross_subsidization_BAT_values.parquet")
    pd.DataFrame({"bldg_id": [1, 2, 3], "weight": [2.0, 1.0, 1.0],
                  "postprocess_group.has_hp": [True, True, False]}).to_parquet(run / "customer_metadata.parquet")
    df = pd.DataFrame({m: [kwh[b][i] for b in (1, 2, 3)] for i, m in enumerate(MONTH_NAMES[:12])})
    df.insert(0, "bldg_id", [1, 2, 3])
    df.to_parquet(run / "billing_kwh_monthly.parquet")
    sched = [[w] * 24 for w in winter]
    ref = _tariff("ref", sched, sched, [0.20, 0.10], fixed=10.0)
    (run / "tariff_final_config.json").write_text(json.dumps({"ref": to_pysam(ref)}))
    data = derive.seasonal_tariff(str(run), "hp_seasonal", "ref", "has_hp", {"hp": "true", "non-hp": "false"},
                                  "hp", "percustomer", [10, 11, 12, 1, 2, 3])
    item = json.loads(data)["items"][0]
    summer, winter_rate = (p[0]["rate"] for p in item["energyratestructure"])
    assert summer == pytest.approx(540 / 3900, rel=1e-12)
    assert winter_rate == pytest.approx(540 / 3900 - 18 / 2400, rel=1e-12)
    assert item["energyweekdayschedule"][0][0] == 1 and item["energyweekdayschedule"][6][12] == 0  # Jan winter
    assert item["energyweekdayschedule"][3][0] == 0 and item["energyweekdayschedule"][9][0] == 1   # Apr, Oct
    assert item["fixedchargefirstmeter"] == 10.0
    # re-billing the HP class at these rates recovers its revenue minus its cross-subsidy
    w = np.array([2.0, 1.0])
    q_w = np.array([600.0, 1200.0])
    q_s = np.array([600.0, 300.0])
    assert w @ (q_s * summer + q_w * winter_rate) == pytest.approx(540 - 18, rel=1e-12)


# ------------------------------------------------------------------------------------- demand flex
def _two_season_tou():
    """A TOU tariff with winter (Oct-Mar) and summer periods, peak in hours 2-3, and an 8-hour
    calendar of 4 winter (January) then 4 summer (July) hours: ``(tariff, calendar)``."""
    wk = [[(0 if m + 1 in (10, 11, 12, 1, 2, 3) else 2) + (1 if h in (2, 3) else 0) for h in range(24)]
          for m in range(12)]
    t = _tariff("tou", wk, wk, [0.10, 0.30, 0.10, 0.40])
    cal = HourCalendar.custom(month=[0, 0, 0, 0, 6, 6, 6, 6], hour_of_day=[0, 1, 2, 3] * 2,
                              is_weekday=[True] * 8, n_months=12)
    return t, cal


def test_flex_shift_by_hand_three_buildings():
    """Seasons (winter Oct-Mar, summer Apr-Sep), one class flat price per season, the season's cheapest
    period receives, building-periods under 1 kWh are left alone.

    Tariff: winter off-peak 0.10 / peak 0.30, summer off-peak 0.10 / peak 0.40 $/kWh; peak = hours 2-3.
    Calendar: 4 hours of January (winter) and 4 of July (summer). Elasticity summer -0.2, winter -0.1.
    """
    t, cal = _two_season_tou()
    net = np.array([[1.0, 1.0, 2.0, 2.0, 1.0, 1.0, 3.0, 3.0],     # B1
                    [2.0, 2.0, 1.0, 1.0, 0.2, 0.2, 0.3, 0.3],     # B2: July periods < 1 kWh
                    [0.5, 0.5, 0.2, 0.2, 1.0, 1.0, 1.0, 1.0]])    # B3: January peak 0.4 kWh < 1
    el = (-0.2, -0.1)  # (summer, winter)
    class_kwh = flex.class_period_kwh(net, cal, t)
    # winter: off-peak 2 + 4 + 1 = 7, peak 4 + 2 + 0.4 = 6.4; summer: off-peak 2 + 0.4 + 2 = 4.4, peak 6 + 0.6 + 2 = 8.6
    assert class_kwh[0, :2] == pytest.approx([7.0, 6.4]) and class_kwh[1, 2:] == pytest.approx([4.4, 8.6])
    fp = flex.flat_equivalent_price(class_kwh, t)
    pw, ps = (7 * 0.1 + 6.4 * 0.3) / 13.4, (4.4 * 0.1 + 8.6 * 0.4) / 13.0
    assert fp == pytest.approx([pw, ps])
    out = flex.shift_loads(net, cal, t, el, fp)
    # B1 winter: peak 4 kWh -> 4 (0.3/pw)^-0.1, the cheapest (off-peak) period receives the difference
    d1w = 4 * (0.3 / pw) ** -0.1 - 4
    assert out[0, 2:4] == pytest.approx([2 + d1w / 2, 2 + d1w / 2])          # shares in proportion to load
    assert out[0, 0:2] == pytest.approx([1 - d1w / 2, 1 - d1w / 2])
    d1s = 6 * (0.4 / ps) ** -0.2 - 6
    assert out[0, 6:8] == pytest.approx([3 + d1s / 2] * 2) and out[0, 4:6] == pytest.approx([1 - d1s / 2] * 2)
    # B2 winter: peak 2 kWh; July: both periods < 1 kWh -> untouched
    d2w = 2 * (0.3 / pw) ** -0.1 - 2
    assert out[1, :4] == pytest.approx([2 - d2w / 2, 2 - d2w / 2, 1 + d2w / 2, 1 + d2w / 2])
    assert out[1, 4:] == pytest.approx(net[1, 4:])
    # B3 January: peak 0.4 kWh < 1 -> no shift (and nothing to receive); July shifts normally
    assert out[2, :4] == pytest.approx(net[2, :4])
    d3s = 2 * (0.4 / ps) ** -0.2 - 2
    assert out[2, 6:] == pytest.approx([1 + d3s / 2] * 2)
    # seasonal kWh of every building conserved; load moved out of the peaks
    assert out[:, :4].sum(axis=1) == pytest.approx(net[:, :4].sum(axis=1))
    assert out[:, 4:].sum(axis=1) == pytest.approx(net[:, 4:].sum(axis=1))
    assert d1w < 0 and d1s < 0


def test_flex_rederives_tou_relative_rates_from_mc_and_shifted_load():
    t, cal = _two_season_tou()
    mc = np.array([0.02, 0.02, 0.06, 0.06, 0.03, 0.03, 0.12, 0.12])
    load = np.array([10.0, 10.0, 5.0, 5.0, 8.0, 8.0, 4.0, 4.0])
    rel, rec = flex.rederive_relative_rates(t, np.ones((4, 1)), cal, mc, load)
    # winter: off-peak rate = dw-avg MC = (0.4 + 0.6) / 30; ratio = 0.06 / 0.02 = 3
    # summer: off-peak rate = (0.48 + 0.96) / 24; ratio = 0.12 / 0.03 = 4
    w, s = 1.0 / 30, 1.44 / 24
    rates = np.array([w, 3 * w, s, 4 * s])
    assert rel[:, 0] == pytest.approx(np.round(rates / rates.min(), 4))
    assert rec["ratio_by_season"] == pytest.approx({"winter": 3.0, "summer": 4.0})
    assert rec["fallback"] == {}


def test_flex_rederivation_fallback_is_recorded_for_the_run_not_logged_anonymously(caplog):
    """Winter marginal cost only in the peak hours (a delivery-only MC concentrated in a few peak
    hours): the off-peak cost is 0, the peak/off-peak ratio undefined, the platform's fallback is
    ratio 1. The record says which season and why; flex itself logs nothing (the pipeline reports it
    once, in the run's log, with the run named)."""
    t, cal = _two_season_tou()
    mc = np.array([0.0, 0.0, 0.06, 0.06, 0.03, 0.03, 0.12, 0.12])
    load = np.array([10.0, 10.0, 5.0, 5.0, 8.0, 8.0, 4.0, 4.0])
    with caplog.at_level("WARNING"):
        rel, rec = flex.rederive_relative_rates(t, np.ones((4, 1)), cal, mc, load)
    assert not caplog.records
    assert rec["ratio_by_season"] == pytest.approx({"winter": 1.0, "summer": 4.0})
    assert list(rec["fallback"]) == ["winter"] and "off-peak marginal cost" in rec["fallback"]["winter"]
    # winter rate = demand-weighted MC = 0.6 / 30; summer off-peak 1.44 / 24, peak x 4
    w, s = 0.6 / 30, 1.44 / 24
    rates = np.array([w, w, s, 4 * s])
    assert rel[:, 0] == pytest.approx(np.round(rates / rates.min(), 4))


# ------------------------------------------------------------------------------------------ gas bill
def test_gas_bill_kwh_times_rate_with_kwh_tiers():
    """RateAcuity gas tariffs are $/kWh with kWh ceilings: 500 kWh in January on 0.06 $/kWh up to
    300 kWh then 0.05, + 12 $/month -> 300*0.06 + 200*0.05 + 12 = 40 $; February 100 kWh -> 18 $."""
    flat = [[0] * 24 for _ in range(12)]
    elec = _tariff("e", flat, flat, [0.15])
    gas_t = _tariff("g", flat, flat, [[0.06, 0.05]], fixed=12.0, maxes=[[300.0]])
    cal = HourCalendar.custom(month=[0, 0, 1, 1], hour_of_day=[0, 1, 0, 1], is_weekday=[True] * 4, n_months=2)
    net = np.array([[1.0, 1.0, 1.0, 1.0]])
    gas = np.array([[250.0, 250.0, 60.0, 40.0]])  # kWh of natural gas
    res = run_arrays(net, [1.0], [elec], np.zeros(4), 100.0, calendar=cal, gas=gas, gas_tariffs=[gas_t],
                     gas_tariff=[0], run_type="default")
    g = res.gas_bills
    assert g["Jan"].iloc[0] == pytest.approx(300 * 0.06 + 200 * 0.05 + 12)
    assert g["Feb"].iloc[0] == pytest.approx(100 * 0.06 + 12)
    assert res.bat["annual_gas_kwh"].iloc[0] == pytest.approx(600.0)
    assert res.bat["annual_gas_therms"].iloc[0] == pytest.approx(600.0 * 0.0341214116)


# ------------------------------------------------------------------------------- older URDB fields
def test_older_urdb_field_names_are_read_or_refused():
    flat = [[0] * 24 for _ in range(12)]
    base = {"energyratestructure": [[{"rate": 0.1}]], "energyweekdayschedule": flat, "energyweekendschedule": flat}
    t = parse_tariff({"items": [dict(base, fixedmonthlycharge=9.5, minmonthlycharge=4.0)]}, "old")
    assert t.fixed_charge == 9.5 and t.min_charge == 4.0
    with pytest.raises(InputError, match=r"field 'fixedmonthlycharge' .* contradicts field 'fixedchargefirstmeter'"):
        parse_tariff({"items": [dict(base, fixedmonthlycharge=9.5, fixedchargefirstmeter=10.0)]}, "old")
    with pytest.raises(InputError, match=r"field 'annualmincharge'"):
        parse_tariff({"items": [dict(base, annualmincharge=120.0)]}, "old")


# ============================================================================ with ../shared
@pytest.fixture(scope="module")
def platform_data(tmp_path_factory):
    from ratedesign import examples

    if not (PLATFORM / "ri" / "config").exists():
        pytest.skip("../shared/data/rate-design-platform is absent (real platform configs)")
    root = tmp_path_factory.mktemp("platform")
    preps = examples.prepare_platform(str(root / "data"), list(examples.PLATFORM_UTILITIES), sample=30)
    return {"root": root, "preps": preps,
            "map_prefix": [x for p in preps[0].map_prefix for x in ("--map-prefix", p)]}


def _ri_copy(tmp_path) -> Path:
    dst = tmp_path / "ri" / "config"
    shutil.copytree(PLATFORM / "ri" / "config", dst)
    return dst


def _study(platform_data, scenario, store, *extra):
    return run_cli("study", str(scenario), "--store", str(store), "--sample", "30", "--runs", "1-2",
                   *platform_data["map_prefix"], *extra, exe="ratedesign", timeout=600)


def _one_error_line(p, *needles):
    lines = [ln for ln in p.stderr.splitlines() if ln.strip()]
    errors = [ln for ln in lines if ln.startswith("ratedesign: error:")]
    assert p.returncode == 2, p.stderr[-2000:]
    assert len(errors) == 1 and "Traceback" not in p.stderr, p.stderr[-2000:]
    for n in needles:
        assert n in errors[0], errors[0]


@needs_shared
@pytest.mark.parametrize("case", ["negative_rr", "zero_rr", "no_weekday_schedule", "truncated_cambium",
                                  "leap_year_rows", "nan_load", "negative_load", "old_urdb_conflict"])
def test_bad_input_exit_2_one_line_store_untouched(case, tmp_path, platform_data):
    cfg = _ri_copy(tmp_path)
    scen = cfg / "scenarios" / "scenarios_rie.yaml"
    store = tmp_path / "store"
    extra = []
    needles = []
    rr = cfg / "rev_requirement" / "rie_rate_case_test_year.yaml"
    tariff = cfg / "tariffs" / "electric" / "rie_default.json"
    if case in ("negative_rr", "zero_rr"):
        doc = yaml.safe_load(rr.read_text())
        doc["total_delivery_revenue_requirement"] = -1e6 if case == "negative_rr" else 0
        rr.write_text(yaml.safe_dump(doc))
        needles = [str(rr), "total_delivery_revenue_requirement", "expected a positive amount"]
    elif case == "no_weekday_schedule":
        doc = json.loads(tariff.read_text())
        doc["items"][0].pop("energyweekdayschedule")
        tariff.write_text(json.dumps(doc))
        needles = [str(tariff), "energyweekdayschedule"]
    elif case == "old_urdb_conflict":
        doc = json.loads(tariff.read_text())
        doc["items"][0]["fixedmonthlycharge"] = 1.0 + float(doc["items"][0].get("fixedchargefirstmeter", 0))
        tariff.write_text(json.dumps(doc))
        needles = [str(tariff), "fixedmonthlycharge"]
    elif case == "truncated_cambium":
        csv = cfg / "marginal_costs" / "rie_p133_marginal_costs.csv"
        lines = csv.read_text().splitlines()
        csv.write_text("\n".join(lines[:5000]) + "\n")
        extra = ["--set", f"path_supply_energy_mc={csv}"]
        needles = [str(csv), "rows; expected 8760"]
    else:
        # a copy of the synthetic loads where one sampled building's file is broken
        from ratedesign.examples import RESSTOCK
        src_root = Path(platform_data["preps"][0].map_prefix[0].split("=", 1)[1])
        loads_root = tmp_path / "resstock"
        shutil.copytree(src_root, loads_root)
        ids = pd.read_csv(cfg / "tariff_maps" / "electric" / "rie_default.csv")["bldg_id"].tolist()
        b = random.Random(42).sample(ids, 30)[0]
        f = loads_root / "load_curve_hourly" / "state=RI" / "upgrade=00" / f"{b}-0.parquet"
        df = pd.read_parquet(f)
        if case == "leap_year_rows":
            df = pd.concat([df, df.iloc[:24]], ignore_index=True)
            needles = [str(f), "8784 rows"]
        elif case == "nan_load":
            df.loc[10, "out.electricity.total.energy_consumption"] = np.nan
            needles = [str(f), "missing (NaN/null) values"]
        else:
            df.loc[10, "out.electricity.total.energy_consumption"] = -3.0
            needles = [str(f), "negative values"]
        df.to_parquet(f)
        mp = [f"{RESSTOCK}={loads_root}", platform_data["preps"][0].map_prefix[1]]
        p = run_cli("study", str(scen), "--store", str(store), "--sample", "30", "--runs", "1-2",
                    *[x for m in mp for x in ("--map-prefix", m)], exe="ratedesign", timeout=600)
        _one_error_line(p, *needles)
        assert not store.exists()
        return
    p = _study(platform_data, scen, store, *extra)
    _one_error_line(p, *needles)
    assert not store.exists()


def _precalc_invariants(run_dir: Path) -> None:
    settings = json.loads((run_dir / "scenario_settings.json").read_text())
    summary = json.loads((run_dir / "run_summary.json").read_text())
    bat = pd.read_parquet(run_dir / "cross_subsidization" / "cross_subsidization_BAT_values.parquet")
    w = bat["weight"].to_numpy()
    rr = summary["revenue_requirement"]
    assert w @ bat["Annual"].to_numpy() == pytest.approx(rr, rel=1e-9), run_dir.name
    for col in ("BAT_percustomer", "BAT_vol", "BAT_epmc"):
        assert abs(w @ bat[col].to_numpy()) < 1e-6 * rr, (run_dir.name, col)
    by_tariff = summary.get("revenue_requirement_by_tariff") or {}
    method = settings.get("residual_allocation_delivery") or "percustomer"
    col = derive.BAT_COLUMN.get(method)
    flexed = settings.get("elasticity") not in (None, 0, 0.0)
    for key, g in bat.groupby("tariff_key"):
        wk = g["weight"].to_numpy()
        if key in by_tariff:
            assert wk @ g["Annual"].to_numpy() == pytest.approx(by_tariff[key], rel=1e-9), (run_dir.name, key)
        # subclass delivery runs: each tariff's RR is its class's cost under the run's residual method
        if (settings.get("run_includes_subclasses") and not settings.get("run_includes_supply") and col
                and (not flexed or method == "percustomer")):
            assert abs(wk @ g[col].to_numpy()) < 1e-6 * by_tariff[key], (run_dir.name, key, col)


@needs_shared
@pytest.mark.timeout(2400)  # ~450 runs; minutes on a quiet 2-core machine, much longer on a loaded one
def test_ten_utilities_one_study_sample_30(platform_data):
    from ratedesign import examples

    scen = [examples.platform_scenario(u) for u in examples.PLATFORM_UTILITIES]
    store = platform_data["root"] / "store"
    # bills and BAT are what this test checks: no per-run plots (about a second of matplotlib for each
    # of ~180 precalc runs; test_ratedesign_plots covers them)
    env = dict(worker_env(), DASK_RATEDESIGN__RUN_PLOTS="false")
    p = run_cli("study", *scen, "--store", store, "--sample", "30", "--name", "ten", "--no-progress",
                *platform_data["map_prefix"], exe="ratedesign", timeout=1800, env=env)
    assert p.returncode in (0, 1), p.stderr[-3000:]
    # plan-time skips are runfleet runs: recorded by the ledger with their reason (what status shows)
    skipped = [r for r in study_status(str(store / "ten")) if r["status"] == "skipped"]
    assert p.returncode == 0 or skipped, p.stderr[-3000:]
    # only documented plan-time skips: an input nobody produces, an empty subclass, or their dependents
    for row in skipped:
        assert ("file not found and no run of the chain produces it" in row["reason"]
                or "has no building in the sample" in row["reason"] or "which is skipped" in row["reason"]
                or "no building of the sample" in row["reason"]), row
        assert f"ratedesign: skipped {row['name']}:" in p.stderr
    assert "coned.run25" in {r["name"] for r in skipped}  # ConEd entry 25 names a tariff nobody produces
    # nothing failed, and every skip was decided at plan time
    tail = f"0 failed, {len(skipped)} skipped" + (f" ({len(skipped)} at plan time)" if skipped else "")
    assert tail in p.stderr.splitlines()[-1], p.stderr[-500:]
    runs = store / "ten" / "runs"
    n_precalc = 0
    skipped_names = {r["name"] for r in skipped}
    for d in sorted(runs.glob("*.run*")):
        if d.name in skipped_names:  # a skipped run's directory holds only its skip record
            assert not (d / "scenario_settings.json").exists(), d
            continue
        s = json.loads((d / "scenario_settings.json").read_text())
        if s["run_type"] == "precalc":
            _precalc_invariants(d)
            n_precalc += 1
    assert n_precalc > 100
    assert not list(runs.glob("*.run*/plots/*.png"))  # ratedesign.run-plots=false reached the workers
    # every utility ran; the run's buildings are the platform's sample of its assignment file
    for u in examples.PLATFORM_UTILITIES:
        prefix = u.replace("_", "-")
        meta = pd.read_parquet(runs / f"{prefix}.run01" / "customer_metadata.parquet")
        ids = pd.read_csv(Path(examples.platform_config_dir(u)) / "tariff_maps" / "electric" / f"{u}_default.csv")
        assert sorted(meta["bldg_id"]) == sorted(random.Random(42).sample(ids["bldg_id"].tolist(), 30)), u


# ---------------------------------------------------------------------------- synthetic utilities
def test_synth_per_utility_nothing_overwritten_plausible_kwh(tmp_path):
    from ratedesign.synth import synth_dataset, weather

    out = str(tmp_path / "ds")
    synth_dataset(out, [11, 12, 13], state="RI", utility="rie", upgrades=("00",), customers=451381.0)
    synth_dataset(out, [21, 22, 23, 24], state="NY", utility="coned", upgrades=("00",), customers=3.0e6)
    synth_dataset(out, [31, 32], state="NY", utility="nimo", upgrades=("00",), customers=1.5e6)
    rs = tmp_path / "ds" / "resstock"
    ny = pd.read_parquet(rs / "metadata_utility" / "state=NY" / "utility_assignment.parquet")
    ri = pd.read_parquet(rs / "metadata_utility" / "state=RI" / "utility_assignment.parquet")
    assert list(ny["bldg_id"]) == [21, 22, 23, 24, 31, 32] and set(ny["sb.electric_utility"]) == {"coned", "nimo"}
    assert list(ri["bldg_id"]) == [11, 12, 13]
    assert len(pd.read_parquet(rs / "metadata" / "state=NY" / "upgrade=00" / "metadata-sb.parquet")) == 6
    eia = pd.read_parquet(tmp_path / "ds" / "data.sb" / "eia" / "861" / "electric_utility_stats" / "year=2024" /
                          "state=NY" / "data.parquet")
    assert sorted(eia["utility_code"]) == ["coned", "nimo"]
    for u, st in (("rie", "ri"), ("coned", "ny"), ("nimo", "ny")):
        assert (tmp_path / "ds" / "data.sb" / "switchbox" / "marginal_costs" / st / "bulk_tx" / f"utility={u}").exists()
    gas = pd.read_csv(tmp_path / "ds" / "tariff_maps" / "gas" / "synth_coned_u00.csv")
    assert set(gas["tariff_key"]) <= {"coned_sf_heating", "coned_nonheating", "null_gas_tariff"}
    assert (tmp_path / "ds" / "tariff_maps" / "gas" / "synth_rie_u00.csv").exists()
    # per-home kWh: typical for the home, whatever the number of buildings
    for b in (11, 21, 31):
        df = pd.read_parquet(rs / "load_curve_hourly" / f"state={'RI' if b < 20 else 'NY'}" / "upgrade=00" / f"{b}-0.parquet")
        assert 2000 < df["out.electricity.total.energy_consumption"].sum() < 40000
    assert not np.allclose(weather(42, "RI"), weather(42, "NY"))
    assert weather(42, "NY").mean() < weather(42, "MD").mean()  # NY colder than MD

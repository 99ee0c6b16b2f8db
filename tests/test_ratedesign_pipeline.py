"""Scenario parsing, the chunked pipeline on a synthetic case: invariants, chunk-count
independence, equivalence with the long-format reference, outputs, a LocalCluster run."""

import json
import os

import numpy as np
import pandas as pd
import pytest

from ratedesign.calendar import HourCalendar
from ratedesign.loads import load_path, process_loads, read_loads
from ratedesign.mappers import client_mapper
from ratedesign.outputs import write_outputs
from ratedesign.pipeline import prepare_inputs, run_inputs
from ratedesign.reference import long_loads, reference_run
from ratedesign.scenario import load_scenario
from ratedesign_fixtures import CASE_IDS, rd_client, synth_case  # noqa: F401

BAT_COLS = ["Annual", "customer_level_economic_burden", "customer_level_residual_share_volumetric",
            "customer_level_residual_share_percustomer", "customer_level_residual_share_epmc",
            "BAT_vol", "BAT_percustomer", "BAT_epmc"]


def scenario(case, run, sets=()):
    return load_scenario(str(case["yaml"]), run, sets=list(sets), map_prefix=case["map_prefix"])


@pytest.fixture(scope="module")
def mixed(synth_case):
    inputs = prepare_inputs(scenario(synth_case, 1))
    return inputs, run_inputs(inputs, n_chunks=1)


def test_scenario_paths_and_selection(synth_case):
    cfg = scenario(synth_case, 1)
    assert cfg.run_name == "case_mixed_precalc_delivery"
    assert cfg.path_tariff_maps_electric == str(synth_case["config"] / "tariff_maps/electric/case_mixed.csv")
    assert cfg.path_resstock_loads.startswith(synth_case["paths"].resstock_base)
    assert cfg.path_bulk_tx_mc.startswith(synth_case["paths"].data_sb + "/switchbox/")
    assert cfg.load_upgrade == "00"
    by_key = scenario(synth_case, "case_flat_precalc_supply")
    assert by_key.run_includes_supply and by_key.run_type == "precalc"
    over = scenario(synth_case, 2, sets=["year_run=2025", "path_tariffs_electric.all=/x/y.json", "sample_size=10"])
    assert over.path_tariffs_electric == {"all": "/x/y.json"} and over.sample_size == 10


def test_precalc_invariants(mixed):
    inputs, res = mixed
    b, g = res.bat, res.globals
    w = b["weight"].to_numpy()
    assert len(b) == len(CASE_IDS)  # the 3 buildings of another utility are not in the run
    assert w.sum() == pytest.approx(55000.0)  # test_year_customer_count
    assert w @ b["Annual"] == pytest.approx(30.0e6, rel=1e-12)
    for c in ("BAT_vol", "BAT_percustomer", "BAT_epmc", "BAT_peak"):
        assert abs(w @ b[c]) < 1e-6 * 30e6 / 1e6, c  # cents on $30M
    for c in [c for c in b.columns if c.startswith("customer_level_residual_share_")]:
        assert w @ b[c] == pytest.approx(g.residual, rel=1e-12)
    assert g.total_burden == pytest.approx(g.tmc, rel=1e-12)
    assert 0 < g.tmc < 30e6
    # the three tariffs share one level; calibrated rates = level * rel
    lv = g.levels
    assert np.allclose(lv, lv[0])
    tou = res.calibrated["case_tou"]
    rel = np.round(np.array([0.10, 0.13, 0.098, 0.338]) / 0.098, 4)  # relative to the cheapest period
    np.testing.assert_allclose(tou.rate[:, 0], lv[0] * rel, rtol=1e-12)
    assert (tou.adj == 0).all()
    # bills: elec monthly sums to Annual; comb = elec + gas
    eb = res.elec_bills
    months = [c for c in eb.columns if c not in ("bldg_id", "weight", "Annual")]
    np.testing.assert_allclose(eb[months].sum(axis=1), eb["Annual"])
    np.testing.assert_allclose(res.comb_bills["Annual"], eb["Annual"] + res.gas_bills["Annual"])
    assert (res.gas_bills["Annual"] >= 0).all() and res.gas_bills["Annual"].max() > 100


def test_subclass_precalc_each_tariff_collects_its_rr(synth_case):
    res = run_inputs(prepare_inputs(scenario(synth_case, 3)), chunk_size=50)
    b = res.bat
    w = b["weight"]
    by = (w * b["Annual"]).groupby(b["tariff_key"]).sum()
    assert by["case_tou"] == pytest.approx(8.0e6, rel=1e-12)
    assert by["case_flat"] == pytest.approx(22.0e6, rel=1e-12)
    assert abs(w @ b["BAT_percustomer"]) < 1e-3


def test_supply_run_uses_supply_rr_and_mc(synth_case):
    res = run_inputs(prepare_inputs(scenario(synth_case, 2)), n_chunks=3)
    w = res.bat["weight"]
    assert w @ res.bat["Annual"] == pytest.approx(60.0e6, rel=1e-12)
    comp = res.globals.tmc_by_component
    assert comp["Marginal Energy Costs ($/kWh)"] > 0 and comp["Marginal Capacity Costs ($/kWh)"] > 0


def test_default_run_bills_at_input_rates(synth_case):
    res = run_inputs(prepare_inputs(scenario(synth_case, 4)), n_chunks=2)
    assert res.globals.levels is None
    assert res.globals.revenue_requirement == 1e12
    # flat buildings: bill = 0.14 * monthly kWh + 10.01
    inputs = res.inputs
    i = int(np.flatnonzero(res.bat["tariff_key"] == "case_flat")[0])
    assert res.bat["Annual"].iloc[i] == pytest.approx(0.14 * res.bat["annual_kwh"].iloc[i] + 12 * 10.01, rel=1e-12)
    assert inputs.cfg.run_type == "default"


def test_chunk_count_does_not_change_results(synth_case, mixed):
    inputs, one = mixed
    for n in (7, 60):
        many = run_inputs(inputs, n_chunks=n)
        assert many.n_chunks == n
        np.testing.assert_allclose(many.bat[BAT_COLS + ["BAT_peak"]], one.bat[BAT_COLS + ["BAT_peak"]], rtol=1e-9, atol=1e-9)
        np.testing.assert_allclose(many.globals.demand, one.globals.demand, rtol=1e-12)
        np.testing.assert_allclose(many.globals.levels, one.globals.levels, rtol=1e-12)


def test_top_n_peak_hours_second_pass(synth_case, mixed):
    inputs, one = mixed
    cfg = scenario(synth_case, 1, sets=["peak_hours=top:50"])
    res = run_inputs(prepare_inputs(cfg), n_chunks=4)
    assert res.peak_rule == "top:50"
    w = res.bat["weight"].to_numpy()
    assert w @ res.bat["customer_level_residual_share_peak"] == pytest.approx(res.globals.residual, rel=1e-12)
    d = res.globals.demand
    top = np.argsort(-d, kind="stable")[:50]
    assert res.globals.total_peak_kwh == pytest.approx(d[top].sum(), rel=1e-12)


def test_matches_long_format_reference(synth_case, mixed):
    inputs, res = mixed
    b = inputs.buildings
    sh = inputs.shared
    raw = read_loads(sh.loads_dir, b.bldg_id, sh.upgrade)
    loads = process_loads(raw, sh.year_run, sh.kwh_scale_factor, sh.floor)
    tariffs = {t.key: t for t in sh.tariffs}
    tmap = pd.Series([sh.tariffs[i].key for i in b.elec_tariff], index=b.bldg_id)
    peak = np.flatnonzero(sh.peak_mask)
    ref = reference_run(long_loads(b.bldg_id, loads.net), pd.Series(b.weight, index=b.bldg_id), tmap, tariffs,
                        pd.Series(sh.mc_total), HourCalendar.for_year(2025), inputs.rr.total, "precalc",
                        peak_hours=peak)
    got = res.bat.set_index("bldg_id")
    for c in BAT_COLS + ["customer_level_residual_share_peak", "BAT_peak"]:
        np.testing.assert_allclose(got[c].to_numpy(), ref[c].reindex(got.index).to_numpy(), rtol=1e-9, atol=1e-7,
                                   err_msg=c)
    np.testing.assert_allclose(res.globals.demand, ref.attrs["demand"], rtol=1e-12)


def test_outputs_written(tmp_path, mixed):
    _, res = mixed
    files = write_outputs(res, str(tmp_path))
    for f in ("bills/elec_bills_year_target.csv", "bills/gas_bills_year_target.csv", "bills/comb_bills_year_run.csv",
              "cross_subsidization/cross_subsidization_BAT_values.csv", "customer_metadata.csv",
              "tariff_final_config.json", "bills/elec_bills_year_target.parquet"):
        assert f in files and (tmp_path / f).exists(), f
    bills = pd.read_csv(tmp_path / "bills/elec_bills_year_target.csv")
    assert list(bills.columns) == ["bldg_id", "weight", "month", "bill_level", "dollar_year"]
    assert len(bills) == 13 * len(CASE_IDS)
    assert list(bills["month"][:13]) == ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct",
                                         "Nov", "Dec", "Annual"]
    ann = bills[bills["month"] == "Annual"]
    assert (ann["weight"] * ann["bill_level"]).sum() == pytest.approx(30.0e6, rel=1e-9)
    bat = pd.read_csv(tmp_path / "cross_subsidization/cross_subsidization_BAT_values.csv")
    for c in ("bldg_id", "weight", "Annual", "customer_level_economic_burden",
              "customer_level_residual_share_percustomer", "customer_level_residual_share_volumetric",
              "customer_level_residual_share_epmc", "BAT_percustomer", "BAT_vol", "BAT_epmc"):
        assert c in bat.columns
    cfgj = json.loads((tmp_path / "tariff_final_config.json").read_text())
    assert set(cfgj) == {"case_flat", "case_tou", "case_tiered"}
    tier = cfgj["case_tiered"]
    assert tier["ur_ec_tou_mat"][0][:4] == [1, 1, 500.0, 0] and tier["ur_ec_tou_mat"][1][2] == 1e38
    assert tier["ur_ec_sched_weekday"][0][0] == 2 and tier["ur_monthly_fixed_charge"] == 12.0
    meta = pd.read_csv(tmp_path / "customer_metadata.csv")
    assert {"bldg_id", "weight", "postprocess_group.has_hp", "tariff_key"} <= set(meta.columns)


def test_local_cluster_matches_serial(synth_case, mixed, rd_client):
    inputs, one = mixed
    res = run_inputs(inputs, client_mapper(rd_client), n_chunks=5)
    np.testing.assert_allclose(res.bat[BAT_COLS], one.bat[BAT_COLS], rtol=1e-9, atol=1e-9)


def test_load_path_format():
    assert load_path("s3://b/x/load_curve_hourly/state=RI/upgrade=02", 42, "02") == \
        "s3://b/x/load_curve_hourly/state=RI/upgrade=02/42-2.parquet"


def test_cached_chunk_reductions_match_hourly_loads_and_skip_reading(synth_case):
    """A repeated run over the same chunks takes its kWh by period, burden, demand and peak kWh from
    the worker's reduction cache without reading a load file, with the results of the hourly path;
    another marginal-cost vector reads the chunk again, a touched file invalidates its chunk."""
    import dask.config

    from ratedesign import chunkcache
    from ratedesign.loadcache import reader_stats, reset_reader_stats

    cfg = scenario(synth_case, 1)
    with dask.config.set({"ratedesign.reductions-cache": 0}):
        hourly = run_inputs(prepare_inputs(cfg), n_chunks=3)
    cols = BAT_COLS + ["BAT_peak", "annual_kwh", "annual_gas_kwh"]
    chunkcache.process_cache().clear()
    first = run_inputs(prepare_inputs(cfg), n_chunks=3)
    reset_reader_stats(clear_cache=True)
    second = run_inputs(prepare_inputs(cfg), n_chunks=3)
    assert reader_stats()["reads"] == {}  # not one load file opened: every chunk from the cache
    for res in (first, second):
        np.testing.assert_allclose(res.bat[cols], hourly.bat[cols], rtol=1e-12, atol=1e-9)
        np.testing.assert_allclose(res.elec_bills.iloc[:, 2:], hourly.elec_bills.iloc[:, 2:], rtol=1e-12, atol=1e-9)
        np.testing.assert_allclose(res.gas_bills.iloc[:, 2:], hourly.gas_bills.iloc[:, 2:], rtol=1e-12, atol=1e-9)
        np.testing.assert_allclose(res.globals.demand, hourly.globals.demand, rtol=1e-12)
        np.testing.assert_allclose(res.globals.levels, hourly.globals.levels, rtol=1e-12)
        w = res.bat["weight"].to_numpy()
        assert w @ res.bat["Annual"] == pytest.approx(res.globals.revenue_requirement, rel=1e-12)
        assert w @ res.bat["BAT_percustomer"] == pytest.approx(0.0, abs=1e-6 * res.globals.revenue_requirement)
    # a supply run: other marginal costs, so each chunk is read once more for its burden
    supply = prepare_inputs(scenario(synth_case, "case_flat_precalc_supply"))
    with dask.config.set({"ratedesign.reductions-cache": 0}):
        ref = run_inputs(prepare_inputs(scenario(synth_case, "case_flat_precalc_supply")), n_chunks=3)
    got = run_inputs(supply, n_chunks=3)
    assert set(reader_stats()["reads"].values()) == {1}
    np.testing.assert_allclose(got.bat[BAT_COLS], ref.bat[BAT_COLS], rtol=1e-12, atol=1e-9)
    # a touched file: its chunk is reduced anew
    reset_reader_stats(clear_cache=True)
    touched = load_path(cfg.path_resstock_loads.rstrip("/"), int(first.bat["bldg_id"].iloc[0]), "00")
    st = os.stat(touched)
    os.utime(touched, ns=(st.st_atime_ns, st.st_mtime_ns + 5_000_000_000))
    again = run_inputs(prepare_inputs(cfg), n_chunks=3)
    assert touched in reader_stats()["reads"]
    np.testing.assert_allclose(again.bat[cols], hourly.bat[cols], rtol=1e-12, atol=1e-9)


def test_chunks_that_read_hourly_loads_give_freed_heap_back(synth_case, monkeypatch):
    """Issue 14 (worker RSS): a chunk task that read hourly loads returns the freed heap pages to the
    OS (glibc ``malloc_trim``, at most once per interval); a chunk served from the reduction cache
    reads nothing and does not trim. The results are those of a run without trimming."""
    import ctypes

    from ratedesign import chunkcache, memory

    try:
        ctypes.CDLL("libc.so.6").malloc_trim
    except (OSError, AttributeError):
        pytest.skip("not glibc: nothing to trim")
    cfg = scenario(synth_case, 1)
    chunkcache.process_cache().clear()
    monkeypatch.setattr(memory, "MIN_INTERVAL_S", 0.0)
    monkeypatch.setattr(memory.trim_heap, "__defaults__", (0.0,))
    before = memory.TRIMS["calls"]
    first = run_inputs(prepare_inputs(cfg), n_chunks=3)
    assert memory.TRIMS["calls"] - before == 3       # every chunk read its hourly loads
    before = memory.TRIMS["calls"]
    second = run_inputs(prepare_inputs(cfg), n_chunks=3)
    assert memory.TRIMS["calls"] == before           # all from the reduction cache: nothing freed to trim
    np.testing.assert_allclose(second.bat[BAT_COLS], first.bat[BAT_COLS], rtol=1e-12, atol=1e-9)
    w = first.bat["weight"].to_numpy()
    assert w @ first.bat["Annual"] == pytest.approx(first.globals.revenue_requirement, rel=1e-12)
    # rate limit: a second call within the interval does not trim
    assert memory.trim_heap(0.0) is True and memory.trim_heap(3600.0) is False

"""Fixtures for the ratedesign tests: a synthetic ResStock-format case with its own tariffs and a
scenario YAML in the platform's format, and a moto S3 server (until tests/conftest.py offers one)."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
import yaml
from waiting import answers, wait_until

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
RI_CONFIG = SHARED / "data" / "rate-design-platform" / "rate_design" / "hp_rates" / "ri" / "config"

N_CASE = 240
CASE_IDS = list(range(5001, 5001 + N_CASE))
OTHER_IDS = [9001, 9002, 9003]


def _sched(fn):
    return [[fn(m, h) for h in range(24)] for m in range(12)]


def write_tariff(path: Path, label: str, weekday, weekend, ers, fixed=10.0, minc=0.0):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"items": [{
        "label": label, "name": label, "energyweekdayschedule": weekday, "energyweekendschedule": weekend,
        "energyratestructure": ers, "fixedchargefirstmeter": fixed, "fixedchargeunits": "$/month",
        "mincharge": minc, "minchargeunits": "$/month"}]}))


def write_case_config(cfg: Path) -> None:
    """Tariffs, maps, RR YAMLs and the scenario YAML of the synthetic case (under ``cfg``)."""
    el = cfg / "tariffs" / "electric"
    flat = _sched(lambda m, h: 0)
    write_tariff(el / "case_flat.json", "case_flat", flat, flat, [[{"rate": 0.14, "adj": 0.0, "unit": "kWh"}]], 10.01)
    tou_wk = _sched(lambda m, h: (2 if 3 <= m <= 8 else 0) + (1 if 16 <= h < 20 else 0))
    tou_we = _sched(lambda m, h: (2 if 3 <= m <= 8 else 0))
    write_tariff(el / "case_tou.json", "case_tou", tou_wk, tou_we,
                 [[{"rate": 0.10, "adj": 0.0}], [{"rate": 0.13, "adj": 0.0}], [{"rate": 0.098, "adj": 0.0}],
                  [{"rate": 0.336, "adj": 0.002}]], 10.01)
    seas = _sched(lambda m, h: 1 if m in (0, 1, 2, 9, 10, 11) else 0)
    write_tariff(el / "case_tiered.json", "case_tiered", seas, seas,
                 [[{"rate": 0.12, "adj": 0.01, "max": 500, "unit": "kWh"}, {"rate": 0.16, "adj": 0.01, "unit": "kWh"}],
                  [{"rate": 0.11, "adj": 0.0, "max": 600}, {"rate": 0.09}]], 12.0)
    gas = cfg / "tariffs" / "gas"
    gsched = _sched(lambda m, h: m // 3)
    # RateAcuity-style gas tariffs: $/kWh of gas, tier ceilings in kWh/month
    write_tariff(gas / "rie_heating.json", "rie_heating", gsched, gsched,
                 [[{"rate": 0.065}], [{"rate": 0.058}], [{"rate": 0.051}], [{"rate": 0.061}]], 14.79)
    write_tariff(gas / "rie_nonheating.json", "rie_nonheating", gsched, gsched,
                 [[{"rate": 0.072, "max": 300.0}, {"rate": 0.060}]] * 4, 12.5)
    write_tariff(gas / "null_gas_tariff.json", "null_gas_tariff", flat, flat, [[{"rate": 0.0}]], 0.0)
    maps = cfg / "tariff_maps" / "electric"
    maps.mkdir(parents=True, exist_ok=True)
    keys = ["case_flat", "case_tou", "case_tiered"]
    (maps / "case_mixed.csv").write_text("bldg_id,tariff_key\n" + "".join(
        f"{b},{keys[i % 3]}\n" for i, b in enumerate(CASE_IDS + OTHER_IDS)))
    (maps / "case_flat.csv").write_text("bldg_id,tariff_key\n" + "".join(f"{b},case_flat\n" for b in CASE_IDS))
    (maps / "case_hp_vs_flat.csv").write_text("bldg_id,tariff_key\n" + "".join(
        f"{b},{'case_tou' if i % 4 == 0 else 'case_flat'}\n" for i, b in enumerate(CASE_IDS)))
    rr = cfg / "rev_requirement"
    rr.mkdir(parents=True, exist_ok=True)
    (rr / "case.yaml").write_text(yaml.safe_dump({
        "utility": "rie", "total_delivery_revenue_requirement": 30.0e6,
        "total_delivery_and_supply_revenue_requirement": 60.0e6, "test_year_customer_count": 55000.0}))
    (rr / "case_large.yaml").write_text("utility: rie\nrevenue_requirement: 1e12\ntest_year_customer_count: 55000.0\n")
    (rr / "case_subclass.yaml").write_text(yaml.safe_dump({
        "utility": "rie", "total_delivery_revenue_requirement": 30.0e6, "test_year_customer_count": 55000.0,
        "subclass_revenue_requirements": {"delivery": {"percustomer": {"hp": 8.0e6, "non-hp": 22.0e6},
                                                       "epmc": {"hp": 9.0e6, "non-hp": 21.0e6}},
                                          "supply": {"percustomer": {"hp": 7.0e6, "non-hp": 23.0e6}}}}))
    base = "/ebs/data/nrel/resstock/res_2024_amy2018_2_sb"
    common = {
        "state": "RI", "utility": "rie",
        "path_resstock_metadata": f"{base}/metadata/state=RI/upgrade=00/metadata-sb.parquet",
        "path_resstock_loads": f"{base}/load_curve_hourly/state=RI/upgrade=00/",
        "path_utility_assignment": f"{base}/metadata_utility/state=RI/utility_assignment.parquet",
        "path_tariff_maps_gas": "tariff_maps/gas/case_gas.csv",
        "path_tariffs_gas": "tariffs/gas",
        "path_outputs": "/data.sb/switchbox/cairo/outputs/hp_rates/ri/rie/x",
        "run_includes_supply": False, "run_includes_subclasses": False,
        "path_dist_and_sub_tx_mc": "s3://data.sb/switchbox/marginal_costs/ri/dist_and_sub_tx/utility=rie/year=2025/data.parquet",
        "path_bulk_tx_mc": "s3://data.sb/switchbox/marginal_costs/ri/bulk_tx/utility=rie/year=2025/data.parquet",
        "path_supply_energy_mc": "s3://data.sb/switchbox/marginal_costs/ri/supply/energy/utility=rie/year=2025/zero.parquet",
        "path_supply_capacity_mc": "s3://data.sb/switchbox/marginal_costs/ri/supply/capacity/utility=rie/year=2025/zero.parquet",
        "path_electric_utility_stats": "s3://data.sb/eia/861/electric_utility_stats/year=2024/state=RI/data.parquet",
        "solar_pv_compensation": "net_metering", "year_run": 2025, "year_dollar_conversion": 2025,
        "process_workers": 8, "elasticity": 0.0,
    }
    runs = {
        "case_mixed_precalc_delivery": dict(common, run_name="case_mixed_precalc_delivery", run_type="precalc",
                                            path_tariff_maps_electric="tariff_maps/electric/case_mixed.csv",
                                            path_tariffs_electric={"all": "tariffs/electric/case_flat.json",
                                                                   "tou": "tariffs/electric/case_tou.json",
                                                                   "tiered": "tariffs/electric/case_tiered.json"},
                                            utility_revenue_requirement="rev_requirement/case.yaml"),
        "case_flat_precalc_supply": dict(common, run_name="case_flat_precalc_supply", run_type="precalc",
                                         run_includes_supply=True,
                                         path_supply_energy_mc=common["path_supply_energy_mc"].replace("zero", "data"),
                                         path_supply_capacity_mc=common["path_supply_capacity_mc"].replace("zero", "data"),
                                         path_tariff_maps_electric="tariff_maps/electric/case_flat.csv",
                                         path_tariffs_electric={"all": "tariffs/electric/case_flat.json"},
                                         utility_revenue_requirement="rev_requirement/case.yaml"),
        "case_subclass_precalc_delivery": dict(common, run_name="case_subclass_precalc_delivery", run_type="precalc",
                                               run_includes_subclasses=True,
                                               path_tariff_maps_electric="tariff_maps/electric/case_hp_vs_flat.csv",
                                               path_tariffs_electric={"hp": "tariffs/electric/case_tou.json",
                                                                      "non-hp": "tariffs/electric/case_flat.json"},
                                               utility_revenue_requirement="rev_requirement/case_subclass.yaml",
                                               residual_allocation_delivery="percustomer",
                                               residual_allocation_supply="percustomer"),
        "case_mixed_default_delivery": dict(common, run_name="case_mixed_default_delivery", run_type="default",
                                            path_tariff_maps_electric="tariff_maps/electric/case_mixed.csv",
                                            path_tariffs_electric={"all": "tariffs/electric/case_flat.json",
                                                                   "tou": "tariffs/electric/case_tou.json",
                                                                   "tiered": "tariffs/electric/case_tiered.json"},
                                            utility_revenue_requirement="rev_requirement/case_large.yaml"),
    }
    sc = cfg / "scenarios"
    sc.mkdir(parents=True, exist_ok=True)
    (sc / "scenarios_case.yaml").write_text(yaml.safe_dump({"runs": runs}, sort_keys=False))


def make_case(root: Path, storage_root: str | None = None, storage_options=None, upgrades=("00",)) -> dict:
    """Synthetic dataset (local ``root/data`` or ``storage_root``) + config under ``root/config``."""
    from ratedesign.synth import synth_dataset
    data = storage_root or str(root / "data")
    paths = synth_dataset(data, CASE_IDS, other_utility_ids=OTHER_IDS, upgrades=upgrades, seed=7,
                          total_kwh=3.17e9 * N_CASE / 1910, storage_options=storage_options,
                          hp_ids=CASE_IDS[::4])
    cfg = root / "config"
    write_case_config(cfg)
    gm = cfg / "tariff_maps" / "gas"
    gm.mkdir(parents=True, exist_ok=True)
    import fsspec
    so = storage_options if "://" in data else {}
    with fsspec.open(paths.gas_map, "rb", **so) as f:
        (gm / "case_gas.csv").write_bytes(f.read())
    return {"root": root, "data": data, "config": cfg, "yaml": cfg / "scenarios" / "scenarios_case.yaml",
            "paths": paths, "map_prefix": paths.map_prefix_args()}


@pytest.fixture(scope="session")
def synth_case(tmp_path_factory):
    """A 240-building synthetic case (+3 buildings of another utility), built once per session."""
    return make_case(tmp_path_factory.mktemp("rdcase"))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def rd_moto_s3():
    """A real ``moto_server`` process on 127.0.0.1 with bucket ``test-bucket``."""
    exe = Path(sys.executable).parent / "moto_server"
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "moto.server"]
    port = _free_port()
    proc = subprocess.Popen(cmd + ["-H", "127.0.0.1", "-p", str(port)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until(answers(lambda: urllib.request.urlopen(url + "/moto-api/", timeout=1)), 10, "moto_server answering")
        so = {"key": "testing", "secret": "testing", "client_kwargs": {"endpoint_url": url}}
        import s3fs
        s3fs.S3FileSystem(**so).mkdir("test-bucket")
        yield {"endpoint_url": url, "storage_options": so, "bucket": "test-bucket"}
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


def moto_s3_fixture(request):
    """The lead's ``moto_s3`` fixture when tests/conftest.py has it, else ours."""
    try:
        return request.getfixturevalue("moto_s3")
    except pytest.FixtureLookupError:
        return request.getfixturevalue("rd_moto_s3")




@pytest.fixture(scope="session")
def rd_client():
    """One 2-worker LocalCluster (processes) shared by the ratedesign tests."""
    from distributed import Client, LocalCluster
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0") as lc, Client(lc) as c:
        yield c

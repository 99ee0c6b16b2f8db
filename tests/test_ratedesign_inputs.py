"""Bad inputs: every error names the file (or field) and what was expected; CLI exits 2 with one line."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ratedesign.errors import InputError
from ratedesign.loads import read_loads
from ratedesign.marginal_costs import read_cambium_csv
from ratedesign.pipeline import prepare_inputs, run_inputs
from ratedesign.revenue import parse_revenue_requirement
from ratedesign.scenario import load_scenario
from ratedesign.tariff import load_tariff, parse_tariff
from ratedesign_fixtures import CASE_IDS, synth_case  # noqa: F401


def scenario(case, run=1, sets=()):
    return load_scenario(str(case["yaml"]), run, sets=list(sets), map_prefix=case["map_prefix"])


def test_tariff_missing_schedule_names_file_and_field(tmp_path):
    p = tmp_path / "bad.json"
    p.write_text(json.dumps({"items": [{"energyweekdayschedule": [[0] * 24] * 12,
                                        "energyratestructure": [[{"rate": 0.1}]]}]}))
    with pytest.raises(InputError, match=r"bad\.json.*'energyweekendschedule' is missing"):
        load_tariff(str(p))


def test_tariff_schedule_period_out_of_range():
    with pytest.raises(InputError, match=r"uses period 1 but 'energyratestructure' has only 1 period"):
        parse_tariff({"items": [{"energyweekdayschedule": [[1] * 24] * 12, "energyweekendschedule": [[0] * 24] * 12,
                                 "energyratestructure": [[{"rate": 0.1}]]}]}, "x", "x.json")


def test_tariff_tiers_must_increase():
    with pytest.raises(InputError, match=r"energyratestructure\[0\]\[1\].max"):
        parse_tariff({"energyweekdayschedule": [[0] * 24] * 12, "energyweekendschedule": [[0] * 24] * 12,
                      "energyratestructure": [[{"rate": 0.1, "max": 500}, {"rate": 0.2, "max": 400}, {"rate": 0.3}]]},
                     "x", "x.json")


def test_missing_schedule_through_scenario(tmp_path, synth_case):
    bad = tmp_path / "case_flat.json"
    d = json.loads((synth_case["config"] / "tariffs/electric/case_flat.json").read_text())
    del d["items"][0]["energyweekendschedule"]
    bad.write_text(json.dumps(d))
    cfg = scenario(synth_case, 2, [f"path_tariffs_electric.all={bad}"])
    with pytest.raises(InputError, match=str(bad) + r".*energyweekendschedule"):
        prepare_inputs(cfg)


def test_map_naming_unknown_tariff(tmp_path, synth_case):
    m = tmp_path / "map.csv"
    m.write_text("bldg_id,tariff_key\n" + "".join(f"{b},{'case_flat' if b != CASE_IDS[5] else 'no_such_tariff'}\n"
                                                  for b in CASE_IDS))
    cfg = scenario(synth_case, 2, [f"path_tariff_maps_electric={m}"])
    with pytest.raises(InputError, match=rf"map\.csv: tariff_key 'no_such_tariff' \(bldg_id {CASE_IDS[5]}\) names an unknown tariff"):
        prepare_inputs(cfg)


def test_map_missing_building(tmp_path, synth_case):
    m = tmp_path / "map.csv"
    m.write_text("bldg_id,tariff_key\n" + "".join(f"{b},case_flat\n" for b in CASE_IDS[1:]))
    with pytest.raises(InputError, match=rf"path_tariff_maps_electric .*map\.csv: no tariff_key for 1 building.*{CASE_IDS[0]}"):
        prepare_inputs(scenario(synth_case, 2, [f"path_tariff_maps_electric={m}"]))


def _loads_copy(case, tmp_path, skip=None):
    src = Path(case["paths"].resstock_base) / "load_curve_hourly/state=RI/upgrade=00"
    dst = tmp_path / "loads"
    dst.mkdir()
    for f in src.iterdir():
        if skip is None or f.name != skip:
            os.symlink(f, dst / f.name)
    return dst


def test_load_file_missing(tmp_path, synth_case):
    dst = _loads_copy(synth_case, tmp_path, skip=f"{CASE_IDS[7]}-0.parquet")
    cfg = scenario(synth_case, 2, [f"path_resstock_loads={dst}", "upgrade=0"])
    with pytest.raises(InputError, match=rf"load file missing for bldg_id {CASE_IDS[7]} \(upgrade 00\): .*{CASE_IDS[7]}-0\.parquet"):
        run_inputs(prepare_inputs(cfg), n_chunks=3)


def test_load_file_wrong_row_count(tmp_path, synth_case):
    dst = _loads_copy(synth_case, tmp_path, skip=f"{CASE_IDS[3]}-0.parquet")
    src = Path(synth_case["paths"].resstock_base) / f"load_curve_hourly/state=RI/upgrade=00/{CASE_IDS[3]}-0.parquet"
    pd.read_parquet(src).iloc[:8759].to_parquet(dst / f"{CASE_IDS[3]}-0.parquet")
    with pytest.raises(InputError, match=rf"{CASE_IDS[3]}-0\.parquet: has 8759 rows; expected 8760"):
        read_loads(str(dst), CASE_IDS[:5], "00")


def test_load_file_missing_column(tmp_path, synth_case):
    dst = _loads_copy(synth_case, tmp_path, skip=f"{CASE_IDS[0]}-0.parquet")
    src = Path(synth_case["paths"].resstock_base) / f"load_curve_hourly/state=RI/upgrade=00/{CASE_IDS[0]}-0.parquet"
    pd.read_parquet(src).drop(columns=["out.natural_gas.total.energy_consumption"]).to_parquet(
        dst / f"{CASE_IDS[0]}-0.parquet")
    with pytest.raises(InputError, match=r"has no column 'out.natural_gas.total.energy_consumption'"):
        read_loads(str(dst), CASE_IDS[:1], "00")


def test_missing_pv_column_means_no_pv(tmp_path, synth_case):
    """Some ResStock releases omit the PV column for buildings without PV: read as zeros, not an error."""
    dst = _loads_copy(synth_case, tmp_path, skip=f"{CASE_IDS[0]}-0.parquet")
    src = Path(synth_case["paths"].resstock_base) / f"load_curve_hourly/state=RI/upgrade=00/{CASE_IDS[0]}-0.parquet"
    df = pd.read_parquet(src)
    df.drop(columns=["out.electricity.pv.energy_consumption"]).to_parquet(dst / f"{CASE_IDS[0]}-0.parquet")
    raw = read_loads(str(dst), CASE_IDS[:1], "00")
    assert (raw.pv == 0).all()
    assert raw.total[0] == pytest.approx(df["out.electricity.total.energy_consumption"].to_numpy())


def test_nan_in_load_file_names_the_file(tmp_path, synth_case):
    dst = _loads_copy(synth_case, tmp_path, skip=f"{CASE_IDS[0]}-0.parquet")
    src = Path(synth_case["paths"].resstock_base) / f"load_curve_hourly/state=RI/upgrade=00/{CASE_IDS[0]}-0.parquet"
    df = pd.read_parquet(src)
    df.loc[100, "out.electricity.total.energy_consumption"] = float("nan")
    df.to_parquet(dst / f"{CASE_IDS[0]}-0.parquet")
    with pytest.raises(InputError, match=rf"{CASE_IDS[0]}-0\.parquet: column 'out.electricity.total.energy_consumption' "
                                         r"has 1 missing \(NaN\) values") as e:
        read_loads(str(dst), CASE_IDS[:1], "00")
    assert e.value.retryable is False and e.value.exit_code == 2


def _rewrite_load(case, tmp_path, fn, **write_kw):
    """A copy of the loads where building CASE_IDS[2]'s file is ``fn(df)`` written with ``write_kw``."""
    name = f"{CASE_IDS[2]}-0.parquet"
    dst = _loads_copy(case, tmp_path, skip=name)
    src = Path(case["paths"].resstock_base) / f"load_curve_hourly/state=RI/upgrade=00/{name}"
    fn(pd.read_parquet(src)).to_parquet(dst / name, **write_kw)
    return dst, src


def test_load_year_without_parquet_statistics(tmp_path, synth_case):
    """The source year comes from the timestamp statistics when present, else from the column:
    both give the same year and the same (year-shifted) loads."""
    def to_2017(df):
        return df.assign(timestamp=df["timestamp"] - pd.Timedelta(days=365))
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    with_stats, _ = _rewrite_load(synth_case, tmp_path / "a", to_2017)
    no_stats, _ = _rewrite_load(synth_case, tmp_path / "b", to_2017, write_statistics=False)
    a = read_loads(str(with_stats), CASE_IDS[:4], "00", year_run=2025)
    b = read_loads(str(no_stats), CASE_IDS[:4], "00", year_run=2025)
    assert list(a.source_year) == list(b.source_year)
    assert a.source_year[2] == 2017 and a.source_year[0] != 2017
    np.testing.assert_array_equal(a.total, b.total)


@pytest.mark.parametrize("stats", [True, False])
def test_load_timestamp_with_missing_values(tmp_path, synth_case, stats):
    def blank(df):
        df = df.copy()
        df.loc[100, "timestamp"] = pd.NaT
        return df
    dst, _ = _rewrite_load(synth_case, tmp_path, blank, write_statistics=stats)
    with pytest.raises(InputError, match=rf"{CASE_IDS[2]}-0\.parquet: column 'timestamp' has missing values"):
        read_loads(str(dst), CASE_IDS[:4], "00")


def test_load_timestamp_not_datetimes(tmp_path, synth_case):
    dst, _ = _rewrite_load(synth_case, tmp_path, lambda df: df.assign(timestamp="hour"))
    with pytest.raises(InputError, match=rf"{CASE_IDS[2]}-0\.parquet: column 'timestamp' is 'hour'; expected datetimes"):
        read_loads(str(dst), CASE_IDS[:4], "00")


def test_load_file_not_parquet(tmp_path, synth_case):
    name = f"{CASE_IDS[1]}-0.parquet"
    dst = _loads_copy(synth_case, tmp_path, skip=name)
    (dst / name).write_text("bldg_id,timestamp\n")
    with pytest.raises(InputError, match=rf"load file .*{name}: not a readable parquet file"):
        read_loads(str(dst), CASE_IDS[:4], "00")


def test_scenario_errors(synth_case, tmp_path):
    with pytest.raises(InputError, match=r"--set 'no_such_field=1': unknown scenario field"):
        scenario(synth_case, 1, ["no_such_field=1"])
    with pytest.raises(InputError, match=r"--run 9 is out of range \(1..4\)"):
        scenario(synth_case, 9)
    with pytest.raises(InputError, match=r"field 'run_type' is 'fancy'"):
        scenario(synth_case, 1, ["run_type=fancy"])
    y = tmp_path / "s.yaml"
    y.write_text("runs:\n  a:\n    run_type: precalc\n    state: RI\n    utility: rie\n")
    with pytest.raises(InputError, match=r"s\.yaml \(run a\): required field 'path_resstock_metadata' is missing"):
        load_scenario(str(y), 1)
    with pytest.raises(InputError, match=r"field 'elasticity' = 'abc'"):
        scenario(synth_case, 1, ["elasticity=abc"])
    with pytest.raises(InputError, match=r"field 'elasticity' = 0.3; expected values in \[-5, 0\]"):
        scenario(synth_case, 1, ["elasticity=0.3"])
    assert scenario(synth_case, 1, ["elasticity={summer: -0.18, winter: -0.16}"]).elasticity == {
        "summer": -0.18, "winter": -0.16}


def test_scenario_entry_model_rejects_unknown_fields_and_never_echoes_values(synth_case, tmp_path):
    """The scenario entry is a pydantic model: a typo is an unknown field; a bad value is named by
    file, entry and field with what was expected, never the value (it may be a credential)."""
    def entry(**extra):
        return load_scenario(str(synth_case["yaml"]), 1, map_prefix=synth_case["map_prefix"], extra=extra)

    with pytest.raises(InputError, match=r"\(run [^)]+\): unknown field 'sample_sise' \(known fields: "):
        entry(sample_sise=30)
    secret = "AKIA-not-a-year-SECRET"
    for field, expected in (("year_run", "expected an integer"), ("run_includes_supply", "expected true or false"),
                            ("customer_count", "expected a number"), ("storage_options", "expected a mapping"),
                            ("subclass_config", "expected a mapping")):
        with pytest.raises(InputError) as e:
            entry(**{field: secret})
        line = str(e.value)
        assert f"): field '{field}': {expected}" in line and str(synth_case["yaml"]) in line, line
        assert secret not in line and "\n" not in line
    assert entry(year_run="2024", run_includes_supply="yes").year_run == 2024


def test_cli_unknown_scenario_field_is_one_line_exit_2_nothing_written(synth_case, tmp_path):
    bad = tmp_path / "s.yaml"
    bad.write_text(Path(synth_case["yaml"]).read_text().replace("run_type:", "run_tipe:", 1))
    cmd = [sys.executable, "-m", "ratedesign.cli", "run", str(bad), "--run", "1", "--out", str(tmp_path / "out"),
           "--cluster", "serial"]
    for mp in synth_case["map_prefix"]:
        cmd += ["--map-prefix", mp]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert p.returncode == 2, p.stderr
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in p.stderr, p.stderr
    assert f"ratedesign: error: scenario {bad} (run " in lines[0] and "unknown field 'run_tipe'" in lines[0]
    assert not (tmp_path / "out").exists()


def test_revenue_requirement_errors():
    with pytest.raises(InputError, match=r"rr\.yaml: needs field 'total_delivery_revenue_requirement'"):
        parse_revenue_requirement({"utility": "x"}, "rr.yaml")
    with pytest.raises(InputError, match=r"'subclass_revenue_requirements.delivery.epmc' is missing"):
        parse_revenue_requirement({"total_delivery_revenue_requirement": 1, "subclass_revenue_requirements":
                                   {"delivery": {"percustomer": {"hp": 1}}}}, "rr.yaml", subclasses=True,
                                  method_delivery="epmc")
    rr = parse_revenue_requirement({"revenue_requirement": "1e12"}, "rr.yaml")  # YAML 1.1 reads 1e12 as a string
    assert rr.total == 1e12


def test_cambium_csv_errors(tmp_path):
    p = tmp_path / "mc.csv"
    p.write_text("a,b\n1,2\n")
    with pytest.raises(InputError, match=r"mc\.csv"):
        read_cambium_csv(str(p))


def test_cli_input_error_is_one_line_exit_2(synth_case, tmp_path):
    m = tmp_path / "map.csv"
    m.write_text("bldg_id,tariff_key\n" + "".join(f"{b},nope\n" for b in CASE_IDS))
    cmd = [sys.executable, "-m", "ratedesign.cli", "run", str(synth_case["yaml"]), "--run", "2", "--out",
           str(tmp_path / "out"), "--cluster", "serial", "--set", f"path_tariff_maps_electric={m}"]
    for mp in synth_case["map_prefix"]:
        cmd += ["--map-prefix", mp]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert p.returncode == 2
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("ratedesign: error: path_tariff_maps_electric")
    assert "'nope'" in lines[0] and "Traceback" not in p.stderr


def test_cli_run_serial_writes_outputs(synth_case, tmp_path):
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "ratedesign.cli", "run", str(synth_case["yaml"]), "--run", "case_flat_precalc_supply",
           "--out", str(out), "--cluster", "serial"]
    for mp in synth_case["map_prefix"]:
        cmd += ["--map-prefix", mp]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    bat = pd.read_csv(out / "cross_subsidization/cross_subsidization_BAT_values.csv")
    assert len(bat) == len(CASE_IDS)
    assert float(np.dot(bat["weight"], bat["Annual"])) == pytest.approx(60.0e6, rel=1e-9)
    assert (out / "tariff_final_config.json").exists()


@pytest.mark.parametrize("which", ["scenario", "revenue"])
def test_cli_bad_yaml_is_one_line_with_the_line_number(synth_case, tmp_path, which):
    """A scenario or revenue-requirement YAML that does not parse: exit 2, one line naming the file and line."""
    bad = tmp_path / "bad.yaml"
    bad.write_text("runs:\n  a: {run_type: precalc\n" if which == "scenario" else "total_delivery_revenue_requirement: [1,\n")
    scen = str(bad) if which == "scenario" else str(synth_case["yaml"])
    cmd = [sys.executable, "-m", "ratedesign.cli", "run", scen, "--run", "2", "--out", str(tmp_path / "out"),
           "--cluster", "serial"]
    if which == "revenue":
        cmd += ["--set", f"utility_revenue_requirement={bad}"]
    for mp in synth_case["map_prefix"]:
        cmd += ["--map-prefix", mp]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert p.returncode == 2, p.stderr
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in p.stderr, p.stderr
    assert f"{bad}: not valid YAML at line " in lines[0]
    assert not (tmp_path / "out").exists()


def test_cli_unknown_cluster_profile_is_one_line_exit_2(synth_case, tmp_path):
    """runfleet's own input errors (here: an unknown --cluster profile) also end as one line, exit 2."""
    cmd = [sys.executable, "-m", "ratedesign.cli", "run", str(synth_case["yaml"]), "--run", "2", "--out",
           str(tmp_path / "out"), "--cluster", "no_such_profile"]
    for mp in synth_case["map_prefix"]:
        cmd += ["--map-prefix", mp]
    (tmp_path / "profiles.yaml").write_text("clusters:\n  laptop: {kind: local}\n")
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=120, cwd=tmp_path,
                       env={**os.environ, "RUNFLEET_CONFIG": str(tmp_path / "profiles.yaml")})
    assert p.returncode == 2, p.stderr
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in p.stderr, p.stderr
    assert lines[0].startswith("ratedesign: error: ") and "no_such_profile" in lines[0]
    assert not (tmp_path / "out").exists()


def test_cli_s3_input_without_credentials_is_one_line_exit_2(synth_case, tmp_path):
    """An s3:// input that cannot be reached (no credentials anywhere) names the path; exit 2, no traceback."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(AWS_EC2_METADATA_DISABLED="true", AWS_CONFIG_FILE=str(tmp_path / "none"),
               AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "none"))
    url = "s3://runfleet-no-such-bucket/rr.yaml"
    cmd = [sys.executable, "-m", "ratedesign.cli", "run", str(synth_case["yaml"]), "--run", "2", "--out",
           str(tmp_path / "out"), "--cluster", "serial", "--set", f"utility_revenue_requirement={url}"]
    for mp in synth_case["map_prefix"]:
        cmd += ["--map-prefix", mp]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=120, env=env)
    assert p.returncode == 2, p.stderr
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in p.stderr, p.stderr
    assert f"cannot access {url}: NoCredentialsError" in lines[0]
    assert not (tmp_path / "out").exists()

"""What ``ratedesign`` prints: period names, tables that never hide data, --table-out, dry runs that
name the changed input, ``ratedesign run`` saying ran / already in the store, the demo's next steps.

Real parts: the synthetic case of ``ratedesign_fixtures`` (240 buildings, 4 scenario runs) run as a
runfleet study on a real 2-worker LocalCluster; the CLIs as subprocesses where a user would call them.
"""
from __future__ import annotations

import csv
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ratedesign_fixtures import RI_CONFIG, rd_client, synth_case  # noqa: F401

runfleet = pytest.importorskip("runfleet")

from runfleet import RunOutcome, StudySummary  # noqa: E402

from ratedesign.chain import expand_files  # noqa: E402
from ratedesign.cli import main, run_chains  # noqa: E402
from ratedesign.tables import (describe_periods, format_table, rates_text, table_rows,  # noqa: E402
                               write_table)
from conftest import study_record_runs  # noqa: E402

RUNS = "1,2,4"
TOU_WK = [[(2 if 3 <= m <= 8 else 0) + (1 if 16 <= h < 20 else 0) for h in range(24)] for m in range(12)]
TOU_WE = [[2 if 3 <= m <= 8 else 0 for h in range(24)] for m in range(12)]


def _env(**kw):
    env = dict(os.environ, PYTHONUNBUFFERED="1", **kw)
    tests = str(Path(__file__).parent)
    env["PYTHONPATH"] = os.pathsep.join([tests] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
    return env


def _ratedesign(*args, cwd=None, **env):
    return subprocess.run([str(Path(sys.executable).parent / "ratedesign"), *map(str, args)], capture_output=True,
                          text=True, env=_env(**env), cwd=cwd, timeout=600)


# ------------------------------------------------------------------------------ period names
def test_periods_named_by_season_and_time_of_day():
    rows = describe_periods(TOU_WK, TOU_WE, [[0.10], [0.13], [0.098], [0.336]])
    assert [r["label"] for r in rows] == ["winter off-peak", "winter peak 16-20h", "summer off-peak",
                                          "summer peak 16-20h"]
    assert rows[3]["months"] == "Apr-Sep" and rows[0]["months"] == "Oct-Mar"
    assert rates_text(rows[3:]) == "summer peak 16-20h 0.3360 $/kWh"
    flat = describe_periods([[0] * 24] * 12, [[0] * 24] * 12, [[0.14]])
    assert [r["label"] for r in flat] == ["all year"]
    seas = [[1 if m in (0, 1, 2, 9, 10, 11) else 0] * 24 for m in range(12)]
    tiers = describe_periods(seas, seas, [[0.13, 0.17], [0.11, 0.09]], n_tiers=[2, 2],
                             tier_max=[[500, float("inf")], [600, float("inf")]])
    assert [r["label"] for r in tiers] == ["summer tier 1 (<=500 kWh)", "summer tier 2 (>500 kWh)",
                                           "winter tier 1 (<=600 kWh)", "winter tier 2 (>600 kWh)"]


@pytest.mark.skipif(not RI_CONFIG.exists(), reason="../shared (real RI config) is absent")
def test_real_ri_tou_tariff_periods():
    item = json.loads((RI_CONFIG / "tariffs/electric/rie_hp_seasonalTOU.json").read_text())["items"][0]
    price = [[t["rate"] + t.get("adj", 0.0) for t in per] for per in item["energyratestructure"]]
    text = rates_text(describe_periods(item["energyweekdayschedule"], item["energyweekendschedule"], price))
    assert text == ("winter off-peak 0.1006 $/kWh; winter peak 17-21h 0.1295 $/kWh; "
                    "summer off-peak 0.0982 $/kWh; summer peak 16-20h 0.3363 $/kWh")


def _long_rows():
    long_key = "rie_hp_seasonalTOU_flex_percustomer_percustomer_supply_calibrated"
    periods = describe_periods(TOU_WK, TOU_WE, [[0.10], [0.13], [0.098], [0.336]])
    return [
        {"run": "rie.run07", "entry": "7", "utility": "rie", "index": 7, "type": "precalc", "status": "done",
         "reason": "", "resumed": False, "duration_s": 3.25, "bat_hp": -12.3, "bat_non_hp": 4.56,
         "tariffs": {long_key: periods, "rie_nonhp_default_supply_calibrated": periods[:1]}},
        {"run": "rie.run08", "entry": "8", "utility": "rie", "index": 8, "type": "default", "status": "skipped",
         "reason": "upstream 'rie.run07' failed", "resumed": False, "duration_s": None, "bat_hp": None,
         "bat_non_hp": None, "tariffs": {}},
    ], long_key


@pytest.mark.parametrize("width", [50, 80, 120, 200])
def test_table_wraps_to_the_width_and_hides_nothing(width):
    rows, long_key = _long_rows()
    text = format_table(rows, width=width)
    assert "..." not in text
    assert max(len(line) for line in text.splitlines()) <= width
    flat = " ".join(text.split())
    assert long_key in "".join(text.split())  # the full tariff name (split over lines only at 50 columns)
    if width >= 80:
        assert long_key + ":" in text.split()
    for p in rows[0]["tariffs"][long_key]:
        assert f"{p['label']} {p['rate']:.4f} $/kWh" in flat
    assert "skipped: upstream 'rie.run07' failed" in flat
    assert "-12.3" in flat and "4.6" in flat


def test_failed_and_skipped_runs_show_their_reason(synth_case):  # noqa: F811
    chains = expand_files([str(synth_case["yaml"])], runs=RUNS, map_prefix=synth_case["map_prefix"])
    names = [s.name for s in chains[0].scenario_steps]
    summary = StudySummary("x", {}, {
        names[0]: RunOutcome(names[0], "failed", error_class="ValueError",
                             error="Traceback (most recent call last):\n  ...\nValueError: tariff has no rates"),
        names[1]: RunOutcome(names[1], "skipped", error="upstream 'rie.run01' failed"),
    })
    rows = table_rows(chains, summary)
    assert rows[0]["status"] == "failed" and rows[0]["reason"] == "ValueError: tariff has no rates"
    assert rows[1]["status"] == "skipped" and rows[1]["reason"] == "upstream 'rie.run01' failed"
    assert rows[2]["status"] == "not run"
    text = format_table(rows, width=80)
    assert "failed: ValueError: tariff has no rates" in text and "skipped: upstream 'rie.run01' failed" in text


def test_plan_reasons_name_inputs_and_fields():
    from ratedesign.tables import explain_plan

    old = {"input:tariffs/electric/a.json": "1", "input:rev_requirement/rr.yaml": "7", "scenario": {"elasticity": 0.0}}
    new = {"input:tariffs/electric/a.json": "2", "input:tariffs/electric/b.json": "3",
           "scenario": {"elasticity": -0.1}}
    rows = [{"name": "r1", "action": "run", "reason": "parameters changed, upstream changed (x, y)"},
            {"name": "r2", "action": "run", "reason": "parameters changed: input:tariffs/electric/c.json, index"},
            {"name": "r3", "action": "done", "reason": "done, same key"}]
    got = explain_plan(rows, {"r1": new}, {"r1": old})
    assert got[0]["reason"] == ("input removed: rev_requirement/rr.yaml; input changed: tariffs/electric/a.json; "
                                "input added: tariffs/electric/b.json; parameters changed: scenario.elasticity, "
                                "upstream changed (x, y)")
    # no earlier record, but runfleet named the keys
    assert got[1]["reason"] == "input changed: tariffs/electric/c.json; parameters changed: index"
    assert got[2]["reason"] == "done, same key"


# ------------------------------------------------------------------------------ a real study
@pytest.fixture(scope="module")
def case(synth_case, rd_client, tmp_path_factory):  # noqa: F811
    """A private copy of the case's config, run once as study ``rd-case`` (what the CLI would expand)."""
    root = tmp_path_factory.mktemp("tables")
    cfg = shutil.copytree(synth_case["config"], root / "config")
    yaml_path = cfg / "scenarios" / "scenarios_case.yaml"
    # entry 3 of the case is a subclass run without subclass_config: fine alone, not in a chain
    chains = expand_files([str(yaml_path)], runs=RUNS, sample=None, sets=[], map_prefix=synth_case["map_prefix"],
                          pipeline=None, storage_options=None)
    store = root / "store"
    summary = run_chains(chains, "rd-case", str(store), cluster=rd_client, progress=False)
    assert summary.exit_code == 0, {k: (o.status, o.error) for k, o in summary.outcomes.items()}
    return {"chains": chains, "summary": summary, "store": store, "yaml": yaml_path, "config": cfg,
            "map_prefix": synth_case["map_prefix"]}


def test_study_table_at_80_columns_has_every_precalc_rate_with_period_names(case):
    rows = table_rows(case["chains"], case["summary"])
    text = format_table(rows, width=80)
    assert "..." not in text and max(len(x) for x in text.splitlines()) <= 80
    flat = " ".join(text.split())
    precalc = [r for r in rows if r["type"] == "precalc"]
    assert len(precalc) == 2
    for r in precalc:
        value = case["summary"].outcomes[r["run"]].value
        assert set(r["tariffs"]) == set(value["calibrated_rates"])
        for key, rates in value["calibrated_rates"].items():
            labels = r["tariffs"][key]
            assert [x["rate"] for x in labels] == [x for per in rates for x in per]
            for p in labels:
                assert f"{p['label']} {p['rate']:.4f} $/kWh" in flat
    mixed = rows[0]["tariffs"]
    assert [p["label"] for p in mixed["case_tou"]] == ["winter off-peak", "winter peak 16-20h", "summer off-peak",
                                                        "summer peak 16-20h"]
    assert [p["label"] for p in mixed["case_flat"]] == ["all year"]


def test_table_out_csv_and_json(case, tmp_path):
    rows = table_rows(case["chains"], case["summary"])
    js = json.loads(Path(write_table(rows, str(tmp_path / "t.json"))).read_text())
    assert [r["run"] for r in js["runs"]] == [r["run"] for r in rows] and js["unit"] == "$/kWh"
    with open(write_table(rows, str(tmp_path / "t.csv"))) as f:
        lr = list(csv.DictReader(f))
    tou = [x for x in lr if x["run"] == rows[0]["run"] and x["tariff"] == "case_tou"]
    assert [x["label"] for x in tou] == ["winter off-peak", "winter peak 16-20h", "summer off-peak",
                                         "summer peak 16-20h"]
    value = case["summary"].outcomes[rows[0]["run"]].value
    assert [float(x["rate_usd_per_kwh"]) for x in tou] == [p[0] for p in value["calibrated_rates"]["case_tou"]]
    default = [x for x in lr if x["type"] == "default"]
    assert default and all(x["bat_hp"] == "" for x in default)
    assert main(["study", str(case["yaml"]), "--store", str(tmp_path / "s"), "--runs", RUNS, "--table-out",
                 str(tmp_path / "t.txt"), "--dry-run"] + [a for m in case["map_prefix"] for a in ("--map-prefix", m)]) == 2
    assert not (tmp_path / "s").exists() and not (tmp_path / "t.txt").exists()  # bad extension: nothing written


def _dry_run(case, capsys) -> str:
    args = ["study", str(case["yaml"]), "--store", str(case["store"]), "--name", "rd-case", "--runs", RUNS, "--dry-run"]
    for m in case["map_prefix"]:
        args += ["--map-prefix", m]
    capsys.readouterr()
    assert main(args) == 0
    return capsys.readouterr().out


def test_dry_run_names_the_edited_tariff_file(case, capsys):
    out = _dry_run(case, capsys)
    n = len(case["summary"].outcomes)
    assert out.splitlines()[0] == "study: rd-case"
    assert out.splitlines()[-1] == f"0 of {n} runs would run"
    p = case["config"] / "tariffs" / "electric" / "case_tou.json"
    doc = json.loads(p.read_text())
    doc["items"][0]["energyratestructure"][3][0]["rate"] = 0.40
    p.write_text(json.dumps(doc))
    out = _dry_run(case, capsys)
    lines = {m.group(2): (m.group(1), m.group(3)) for m in
             (re.match(r"(run|done)\s+(\S+)\s+(.*)$", x) for x in out.splitlines()[1:-1]) if m}
    readers = [s.name for s in case["chains"][0].scenario_steps if "case_tou.json" in json.dumps(s.params["scenario"])]
    assert readers
    for name in readers:
        assert lines[name] == ("run", "input changed: tariffs/electric/case_tou.json"), out
    assert all(a == "done" for name, (a, _) in lines.items() if name not in readers)
    assert out.splitlines()[-1] == f"{len(readers)} of {n} runs would run"


def test_ratedesign_run_says_ran_then_already_in_the_store(synth_case, tmp_path):  # noqa: F811
    args = ["run", synth_case["yaml"], "--run", "3", "--out", tmp_path / "out", "--workers", "1"]
    for m in synth_case["map_prefix"]:
        args += ["--map-prefix", m]
    first = _ratedesign(*args, COLUMNS="80")
    assert first.returncode == 0, first.stderr
    assert ": ran;" in first.stdout
    assert "calibrated rates case_tou: winter off-peak" in first.stdout
    assert "summer peak 16-20h" in " ".join(first.stdout.split())
    assert re.search(r"BAT \(weighted mean BAT_percustomer, \$/customer-year\): HP -?\d", first.stdout)
    assert (tmp_path / "out" / "plots" / "rate_heatmap.png").exists()
    again = _ratedesign(*args, COLUMNS="80")
    assert again.returncode == 0 and ": already in the store, not re-run;" in again.stdout
    assert "calibrated rates case_tou" in again.stdout


# ------------------------------------------------------------------------------ the demo
def test_demo_table_at_80_columns_and_its_next_steps(tmp_path):
    """The synthetic demo (no ../shared): table at 80 columns, the rerun command, the report."""
    out = _ratedesign("demo", "--shared", tmp_path / "no-shared", "--example-buildings", "40", "--workers", "2",
                      "--data-dir", tmp_path / "data", "--store", tmp_path / "runs", COLUMNS="80", cwd=tmp_path)
    assert out.returncode == 0, out.stderr[-3000:]
    text = out.stdout
    assert "..." not in text
    table = text[text.index("run "): text.index("BAT = ")]
    assert max(len(x) for x in table.splitlines()) <= 80
    flat = " ".join(table.split())
    summary = study_record_runs(tmp_path / "runs" / "demo-rd-demo")
    precalc = [r["name"] for r in summary if r["params"].get("scenario", {}).get("run_type") == "precalc"]
    assert len(precalc) == 8
    for name in precalc:
        marker = json.loads((tmp_path / "runs" / "demo-rd-demo" / "runs" / name / "_result.json").read_text())
        for key, periods in marker["value"]["rate_periods"].items():
            assert f"{key}: " in flat
            for p in periods:
                assert p["label"] and f"{p['label']} {p['rate']:.4f} $/kWh" in flat
    assert "summer peak 16-20h" in flat and "winter" in flat
    # where things are, and the command that reruns the scenario file
    report = tmp_path / "runs" / "demo-rd-demo-report.html"
    assert f"report:  {report}" in text and "data:image/png;base64," in report.read_text()
    cmd_line = text.splitlines()[-1].strip()
    cmd = shlex.split(cmd_line)
    assert cmd[1] == "study" and "--store" in cmd and "--name" in cmd
    dry = subprocess.run(cmd + ["--dry-run"], capture_output=True, text=True, env=_env(), cwd=tmp_path, timeout=300)
    assert dry.returncode == 0, dry.stderr
    assert dry.stdout.splitlines()[0] == "study: demo-rd-demo"
    assert re.fullmatch(r"0 of \d+ runs would run", dry.stdout.splitlines()[-1]), dry.stdout

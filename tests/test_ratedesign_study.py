"""ratedesign studies: the 16-run chain of a utility (and several utilities) as one runfleet study.

Real parts: the real RI tariffs, maps and revenue requirements from ../shared with synthetic
ResStock-format loads for 100 of the real RI bldg_ids; a real 2-worker LocalCluster; the
``ratedesign study`` CLI as a subprocess for the kill/resume test.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from ratedesign_fixtures import RI_CONFIG, rd_client  # noqa: F401

runfleet = pytest.importorskip("runfleet")

from ratedesign import examples  # noqa: E402
from ratedesign.chain import build_study, expand_file, expand_files, study_name  # noqa: E402
from ratedesign.cli import main, run_chains  # noqa: E402
from waiting import wait_until

needs_shared = pytest.mark.skipif(not (RI_CONFIG / "tariff_maps" / "electric" / "rie_default.csv").exists(),
                                  reason="../shared (real RI config) is absent")
N = 100
PRECALC = [1, 2, 5, 6, 9, 10, 13, 14]
DEFAULT = [3, 4, 7, 8, 11, 12, 15, 16]
RATECASE = yaml.safe_load((RI_CONFIG / "rev_requirement" / "rie_rate_case_test_year.yaml").read_text()) \
    if RI_CONFIG.exists() else {}


def _copy_config(dst: Path) -> Path:
    shutil.copytree(RI_CONFIG, dst)
    return dst


@pytest.fixture(scope="module")
def ri(tmp_path_factory):
    """100 RI buildings (5 with heat pumps), a private copy of the RI config, the 16-run YAML."""
    root = tmp_path_factory.mktemp("ri")
    if not RI_CONFIG.exists():
        pytest.skip("../shared (real RI config) is absent")
    cfg = _copy_config(root / "config")
    prep = examples.prepare_ri(str(root / "data"), limit=N, config=str(cfg))
    return {"prep": prep, "config": cfg, "root": root}


def _chain(ri, **kw):
    kw.setdefault("sets", ["chunk_size=25"])
    return expand_file(ri["prep"].scenario, map_prefix=ri["prep"].map_prefix, **kw)


def _run(ri, store, client, **kw):
    chain = _chain(ri, **kw)
    summary = run_chains([chain], "rd-rie", str(store), cluster=client, progress=False)
    return chain, summary


def _read(run_dir: Path, rel: str) -> pd.DataFrame:
    return pd.read_parquet(run_dir / rel)


def _annual(run_dir: Path) -> pd.DataFrame:
    return _read(run_dir, "cross_subsidization/cross_subsidization_BAT_values.parquet")


@pytest.fixture(scope="module")
def done(ri, rd_client, tmp_path_factory):  # noqa: F811
    store = tmp_path_factory.mktemp("store")
    chain, summary = _run(ri, store, rd_client)
    return {"chain": chain, "summary": summary, "store": store, "dir": store / "rd-rie" / "runs"}


@needs_shared
def test_all_16_runs_and_derivations_done(done):
    s = done["summary"]
    assert s.exit_code == 0, {k: (o.status, o.error) for k, o in s.outcomes.items() if o.status != "done"}
    names = [st.name for st in done["chain"].steps]
    assert [f"rie.run{i:02d}" for i in range(1, 17)] == [n for n in names if ".run" in n]
    kinds = sorted(st.kind for st in done["chain"].steps if st.kind != "scenario")
    assert kinds == sorted(["promote"] * 10 + ["seasonal"] * 2 + ["subclass-rr"])  # 8 promotions + 2 flex copies
    assert all(s.outcomes[n].status == "done" for n in names)
    rows = json.loads(subprocess.run([sys.executable, "-m", "runfleet.cli", "status", str(done["store"] / "rd-rie"),
                                      "--json"], capture_output=True, text=True, check=True).stdout)
    assert {r["name"] for r in rows} == set(names) and all(r["status"] == "done" for r in rows)
    for i in range(1, 17):  # each scenario run's CAIRO outputs are in its own directory
        d = done["dir"] / f"rie.run{i:02d}"
        assert (d / "bills" / "elec_bills_year_target.csv").exists()
        assert (d / "cross_subsidization" / "cross_subsidization_BAT_values.csv").exists()
        assert (d / "tariff_final_config.json").exists()


@needs_shared
def test_precalc_runs_recover_revenue_and_balance_bat(done):
    d = done["dir"]
    rr_d = RATECASE["total_delivery_revenue_requirement"]
    rr_s = RATECASE["total_delivery_and_supply_revenue_requirement"]
    sub = yaml.safe_load((d / "rie.subclass-rr.rie-hp-vs-nonhp" / "rie_hp_vs_nonhp.yaml").read_text())
    srr = sub["subclass_revenue_requirements"]
    for i in PRECALC:
        v = done["summary"].outcomes[f"rie.run{i:02d}"].value
        bat = _annual(d / f"rie.run{i:02d}")
        w = bat["weight"].to_numpy()
        bills = pd.read_csv(d / f"rie.run{i:02d}" / "bills" / "elec_bills_year_target.csv")
        ann = bills[bills["month"] == "Annual"]
        assert float(ann["weight"] @ ann["bill_level"]) == pytest.approx(v["revenue_requirement"], rel=1e-9)
        for col in ("BAT_percustomer", "BAT_vol", "BAT_epmc"):
            assert abs(float(w @ bat[col])) < 1e-6 * v["revenue_requirement"], (i, col)
        supply = i % 2 == 0
        if i in (1, 2):
            assert v["revenue_requirement"] == pytest.approx(rr_s if supply else rr_d, rel=1e-12)
        elif i in (5, 6, 9, 10):  # subclass RR = delivery[percustomer] (+ supply[percustomer])
            want = {k: srr["delivery"]["percustomer"][k] + (srr["supply"]["percustomer"][k] if supply else 0.0)
                    for k in ("hp", "non-hp")}
            assert sum(want.values()) == pytest.approx(rr_s if supply else rr_d, rel=1e-9)
            hp_key = [k for k in v["revenue_requirement_by_tariff"] if "_hp_" in k][0]
            assert v["revenue_requirement_by_tariff"][hp_key] == pytest.approx(want["hp"], rel=1e-12)
            # each subclass pays its own RR: sum w bill over HP buildings = RR_hp
            hp = bat["tariff_key"] == hp_key
            assert float(bat.loc[hp, "weight"] @ bat.loc[hp, "Annual"]) == pytest.approx(want["hp"], rel=1e-9)
    # subclass RRs come from run 1's bills and BAT: RR_k = sum w Annual - sum w BAT over k
    b1 = _annual(d / "rie.run01").merge(_read(d / "rie.run01", "customer_metadata.parquet")[
        ["bldg_id", "postprocess_group.has_hp"]], on="bldg_id")
    hp = b1["postprocess_group.has_hp"].astype(bool)
    want_hp = float(b1.loc[hp, "weight"] @ (b1.loc[hp, "Annual"] - b1.loc[hp, "BAT_percustomer"]))
    assert srr["delivery"]["percustomer"]["hp"] == pytest.approx(want_hp, rel=1e-12)
    assert int(hp.sum()) == 5


@needs_shared
def test_default_runs_read_the_calibrated_tariffs_earlier_runs_wrote(done):
    d = done["dir"]
    for src, dst in ((1, 3), (2, 4), (5, 7), (6, 8), (9, 11), (10, 12), (13, 15), (14, 16)):
        src_cfg = json.loads((d / f"rie.run{src:02d}" / "tariff_final_config.json").read_text())
        dst_cfg = json.loads((d / f"rie.run{dst:02d}" / "tariff_final_config.json").read_text())
        (dst_key,) = dst_cfg
        src_key = dst_key[: -len("_calibrated")]
        assert [r[4] for r in dst_cfg[dst_key]["ur_ec_tou_mat"]] == [r[4] for r in src_cfg[src_key]["ur_ec_tou_mat"]]
        settings = json.loads((d / f"rie.run{dst:02d}" / "scenario_settings.json").read_text())
        promoted = settings["derived_inputs"]["path_tariffs_electric.all"]
        assert promoted.startswith("runs/rie.promote.") and promoted.endswith(f"/{dst_key}.json")
        assert (d.parent / promoted).exists()
    # flex runs 13/14 start from the calibrated TOU tariffs of runs 9/10
    t9 = json.loads((d / "rie.run09" / "tariff_final_config.json").read_text())["rie_hp_seasonalTOU"]
    flex = json.loads((d / "rie.flex.rie_hp_seasonalTOU_flex".replace("_", "-") / "rie_hp_seasonalTOU_flex.json").read_text())
    assert [t[0]["rate"] for t in flex["items"][0]["energyratestructure"]] == [r[4] for r in t9["ur_ec_tou_mat"]]


@needs_shared
def test_hp_seasonal_rates_derived_from_run_1(done):
    d = done["dir"]
    r1 = done["summary"].outcomes["rie.run01"].value["rate_levels"]["rie_default"]
    tar = json.loads((d / "rie.seasonal.rie-hp-seasonal" / "rie_hp_seasonal.json").read_text())["items"][0]
    summer, winter = (p[0]["rate"] for p in tar["energyratestructure"])  # RI template: period 0 = Apr-Sep
    assert summer == pytest.approx(r1, rel=1e-9)  # flat run 1: summer revenue / summer kWh = its rate
    b1 = _annual(d / "rie.run01").merge(_read(d / "rie.run01", "customer_metadata.parquet")[
        ["bldg_id", "postprocess_group.has_hp"]], on="bldg_id")
    kwh = _read(d / "rie.run01", "billing_kwh_monthly.parquet").set_index("bldg_id")
    hp = b1[b1["postprocess_group.has_hp"].astype(bool)]
    winter_months = ["Jan", "Feb", "Mar", "Oct", "Nov", "Dec"]
    kwh_w = float(hp["weight"] @ kwh.loc[hp["bldg_id"], winter_months].sum(axis=1).to_numpy())
    cs = float(hp["weight"] @ hp["BAT_percustomer"])
    assert winter == pytest.approx(r1 - cs / kwh_w, rel=1e-9)


@needs_shared
def test_flex_runs_shift_load_conserve_energy_and_keep_residual(done):
    d = done["dir"]
    v13 = done["summary"].outcomes["rie.run13"].value
    v9 = done["summary"].outcomes["rie.run09"].value
    f = v13["flex"]
    assert f["kwh_shifted_by_tariff"]["rie_hp_seasonalTOU_flex"] > 0
    assert f["kwh_shifted_by_tariff"]["rie_nonhp_default"] == 0
    assert v13["revenue_requirement"] == pytest.approx(v9["revenue_requirement"] + f["tmc_shifted"] - f["tmc_unshifted"],
                                                       rel=1e-12)
    assert f["residual_frozen"] == pytest.approx(v9["residual"], rel=1e-9)  # R frozen at the unshifted value
    assert f["tmc_shifted"] != f["tmc_unshifted"]  # sign depends on where the MC peaks sit vs the TOU peak
    assert f["tmc_change_by_tariff"]["rie_nonhp_default"] == 0
    a9, a13 = _annual(d / "rie.run09"), _annual(d / "rie.run13")
    np.testing.assert_allclose(a13["annual_kwh"], a9["annual_kwh"], rtol=1e-9)  # energy-conserving shift
    hp = a13["tariff_key"] == "rie_hp_seasonalTOU_flex"
    k9 = _read(d / "rie.run09", "billing_kwh_monthly.parquet")
    k13 = _read(d / "rie.run13", "billing_kwh_monthly.parquet")
    winter, summer = ["Jan", "Feb", "Mar", "Oct", "Nov", "Dec"], ["Apr", "May", "Jun", "Jul", "Aug", "Sep"]
    for months in (winter, summer):  # shifted per season pooled over its months (RI periods: winter Oct-Mar)
        np.testing.assert_allclose(k13[months].sum(axis=1), k9[months].sum(axis=1), rtol=1e-9)
    assert not np.allclose(k13.loc[hp.to_numpy(), "Jan"], k9.loc[hp.to_numpy(), "Jan"], rtol=1e-9)  # not per month
    # TOU relative rates re-derived from the marginal costs and the shifted class load
    assert f["tou_rederivation"]["rie_hp_seasonalTOU_flex"]["rederived"] is True
    assert hp.sum() == 5


@needs_shared
def test_rerun_does_nothing_and_a_changed_tariff_reruns_exactly_its_readers(ri, done, rd_client):  # noqa: F811
    from runfleet import plan_study

    store = done["store"]
    chain = _chain(ri)
    study = build_study([chain], "rd-rie", str(store))
    assert {r["action"] for r in plan_study(study)} == {"done"}
    _, again = _run(ri, store, rd_client)
    assert again.exit_code == 0 and all(o.resumed for o in again.outcomes.values())
    # change the HP seasonal TOU tariff (read by run 9 only)
    p = ri["config"] / "tariffs" / "electric" / "rie_hp_seasonalTOU.json"
    orig = p.read_text()
    doc = json.loads(orig)
    doc["items"][0]["energyratestructure"][3][0]["rate"] = 0.40
    p.write_text(json.dumps(doc))
    try:
        chain = _chain(ri)
        rows = plan_study(build_study([chain], "rd-rie", str(store)))
        will = {r["name"] for r in rows if r["action"] == "run"}
        assert will == {"rie.run09", "rie.promote.rie-hp-seasonalTOU-calibrated", "rie.run11",
                        "rie.flex.rie-hp-seasonalTOU-flex", "rie.run13",
                        "rie.promote.rie-hp-seasonalTOU-flex-calibrated", "rie.run15"}
        (reason,) = [r["reason"] for r in rows if r["name"] == "rie.run09"]
        assert reason.startswith("parameters changed: input:") and reason.endswith(
            "tariffs/electric/rie_hp_seasonalTOU.json") and "," not in reason  # names exactly that file
        _, third = _run(ri, store, rd_client)
        executed = {n for n, o in third.outcomes.items() if not o.resumed}
        assert third.exit_code == 0 and executed == will
        t9 = json.loads((done["dir"] / "rie.run09" / "tariff_final_config.json").read_text())["rie_hp_seasonalTOU"]
        rel = t9["ur_ec_tou_mat"][3][4] / t9["ur_ec_tou_mat"][2][4]
        assert rel == pytest.approx(round(0.40 / 0.09815, 4), rel=1e-9)
    finally:
        p.write_text(orig)


def _cli(*args, **kw):
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    return subprocess.Popen([sys.executable, "-m", "ratedesign.cli", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env, **kw)


def _outputs(study_dir: Path) -> dict:
    out = {}
    for p in sorted((study_dir / "runs").rglob("*")):
        if p.is_file() and not any(part.startswith("_") for part in p.relative_to(study_dir).parts):
            out[str(p.relative_to(study_dir))] = p.read_bytes()
    return out


@needs_shared
def test_kill_driver_mid_study_then_resume_gives_identical_outputs(ri, tmp_path):
    common = ["study", ri["prep"].scenario, "--workers", "2", "--set", "chunk_size=25", "--no-progress"]
    for m in ri["prep"].map_prefix:
        common += ["--map-prefix", m]
    ref = _cli(*common, "--store", str(tmp_path / "a"))
    out, err = ref.communicate(timeout=300)
    assert ref.returncode == 0, err[-2000:]
    assert out.splitlines()[0] == "study: rd-rie"
    proc = _cli(*common, "--store", str(tmp_path / "b"), start_new_session=True)
    runs = tmp_path / "b" / "rd-rie" / "runs"
    wait_until(lambda: runs.exists() and len(list(runs.glob("rie.run*/_result.json"))) >= 5, 120,
               "5 scenario runs committed", interval=0.05)
    done_before = len(list(runs.glob("rie.run*/_result.json")))
    assert proc.poll() is None, "the study finished before it could be killed"
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert 5 <= done_before < 16
    resumed = _cli(*common, "--store", str(tmp_path / "b"))
    _, err = resumed.communicate(timeout=300)
    assert resumed.returncode == 0, err[-2000:]
    a, b = _outputs(tmp_path / "a" / "rd-rie"), _outputs(tmp_path / "b" / "rd-rie")
    assert len(a) > 16 * 20 and sorted(a) == sorted(b)
    diff = [k for k in a if a[k] != b[k]]
    assert diff == []


def test_two_utilities_one_broken_the_other_completes(tmp_path, rd_client):  # noqa: F811
    good = examples.prepare_synthetic_utility(str(tmp_path), "alpha", 60, first_id=100001, hp_share=0.05)
    bad = examples.prepare_synthetic_utility(str(tmp_path), "beta", 60, first_id=200001, hp_share=0.05)
    broken = Path(tmp_path) / "beta-60" / "config" / "tariffs" / "electric" / "beta_default.json"
    broken.write_text(json.dumps({"items": [{"label": "beta_default", "energyratestructure": []}]}))
    chains = expand_files([good.scenario, bad.scenario], sets=["chunk_size=20"])
    assert study_name(chains) == "rd-alpha-beta"
    s = run_chains(chains, "rd-two", str(tmp_path / "store"), cluster=rd_client, progress=False)
    assert s.exit_code == 1
    alpha = [st.name for st in chains[0].steps]  # 16 runs, 13 derivations, 16 derived tariff maps
    assert len(alpha) == 16 + 13 + 16 and all(s.outcomes[n].status == "done" for n in alpha)
    assert s.outcomes["beta.run01"].status == "failed" and s.outcomes["beta.run01"].error_class == "InputError"
    assert "energyratestructure" in s.outcomes["beta.run01"].error
    assert s.outcomes["beta.run03"].status == "skipped"
    assert s.outcomes["beta.run02"].status == "done"  # supply chain does not need run 1's tariff...
    assert s.outcomes["beta.run06"].status == "skipped"  # ...but the subclass RR needs run 1
    # the synthetic chain's maps were derived: every building on its tariff, HP split by metadata
    m = pd.read_csv(tmp_path / "store" / "rd-two" / "runs" / "alpha.map.alpha-hp-seasonal-vs-default" /
                    "alpha_hp_seasonal_vs_default.csv")
    assert len(m) == 60 and (m["tariff_key"] == "alpha_hp_seasonal").sum() == 3
    bills = pd.read_csv(tmp_path / "store" / "rd-two" / "runs" / "alpha.run01" / "bills" / "elec_bills_year_target.csv")
    ann = bills[bills["month"] == "Annual"]
    assert float(ann["weight"] @ ann["bill_level"]) == pytest.approx(1100.0 * 250 * 60, rel=1e-9)


def test_input_neither_present_nor_produced_is_skipped_up_front(tmp_path, capsys):
    u = examples.prepare_synthetic_utility(str(tmp_path), "gamma", 30, first_id=300001, hp_share=0.1)
    doc = yaml.safe_load(Path(u.scenario).read_text())
    doc["runs"][9]["path_tariffs_electric"]["hp"] = "/nowhere/gamma_hp_superTOU.json"
    Path(u.scenario).write_text(yaml.safe_dump(doc))
    store = tmp_path / "store"
    rc = main(["study", u.scenario, "--store", str(store), "--dry-run"])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 0
    assert (f"ratedesign: skipped gamma.run09: scenario {u.scenario} entry 9: field 'path_tariffs_electric.hp': file "
            f"not found and no run of the chain produces it: /nowhere/gamma_hp_superTOU.json") in err
    skipped = {ln.split(":")[1].strip().split()[-1] for ln in err if ln.startswith("ratedesign: skipped")}
    assert {"gamma.run09", "gamma.run11", "gamma.run13", "gamma.run15"} <= skipped  # with its dependents
    assert "gamma.run01" not in skipped and "gamma.run10" not in skipped  # every other entry runs
    assert not store.exists()
    assert main(["study", u.scenario, "--store", str(store), "--runs", "3-40"]) == 2
    assert "no scenario file has 40 entries" in capsys.readouterr().err


def test_entry_skipped_at_plan_time_is_a_skipped_run_in_the_ledger(tmp_path, capsys):
    """Issue 14: a plan-time skip is a runfleet run declared skipped: recorded with its reason,
    shown by ``runfleet status``, counted in the summary line; never executed, nothing else written."""
    from runfleet import study_status

    u = examples.prepare_synthetic_utility(str(tmp_path), "gamma", 30, first_id=300001, hp_share=0.1)
    doc = yaml.safe_load(Path(u.scenario).read_text())
    doc["runs"][9]["path_tariffs_electric"]["hp"] = "/nowhere/gamma_hp_superTOU.json"
    Path(u.scenario).write_text(yaml.safe_dump(doc))
    store = tmp_path / "store"
    rc = main(["study", u.scenario, "--store", str(store), "--runs", "9", "--name", "g", "--no-progress"])
    err = capsys.readouterr().err
    assert rc == 1, err
    assert "g: 0 done, 0 failed, 1 skipped (1 at plan time)" in err
    rows = {r["name"]: r for r in study_status(str(store / "g"))}
    assert set(rows) == {"gamma.run09"} and rows["gamma.run09"]["status"] == "skipped"
    assert "no run of the chain produces it: /nowhere/gamma_hp_superTOU.json" in rows["gamma.run09"]["reason"]
    assert not (store / "g" / "ratedesign_skipped.json").exists()
    assert not list((store / "g" / "runs" / "gamma.run09").glob("*.parquet"))  # never executed
    from runfleet.cli import main as runfleet_main
    assert runfleet_main(["status", str(store / "g")]) == 1
    assert "/nowhere/gamma_hp_superTOU.json" in capsys.readouterr().out


@needs_shared
def test_real_ri_file_with_its_pipeline(ri, rd_client, tmp_path):  # noqa: F811
    """The real 8-entry scenarios_rie.yaml: entries 5-8 name files nobody committed; the pipeline file
    (found beside it) gives the chain and the derivations produce them."""
    real = RI_CONFIG / "scenarios" / "scenarios_rie.yaml"
    mp = ri["prep"].map_prefix
    ch = expand_file(str(real), map_prefix=mp, sample=40, sets=["chunk_size=20"])
    by = {s.name: s for s in ch.steps}
    r5 = by["rie.run05"].params["inputs"]
    assert r5["path_tariffs_electric.hp"][0] == "rie.seasonal.rie-hp-seasonal-percustomer-percustomer"
    assert r5["path_tariffs_electric.non-hp"][0] == "rie.copy.rie-non-hp-base-percustomer-percustomer"
    assert r5["utility_revenue_requirement"][0] == "rie.subclass-rr.rie-hp-vs-non-hp"
    assert r5["path_tariff_maps_electric"][0] == "rie.map.rie-hp-seasonal-vs-non-hp-base"
    assert by["rie.run07"].params["inputs"]["path_tariffs_electric.all"][0] == \
        "rie.promote.rie-hp-seasonal-percustomer-percustomer-calibrated"
    inferred = expand_file(str(real), map_prefix=mp, sample=40, sets=["chunk_size=20"], pipeline=False)
    assert {s.name: sorted(s.after) for s in inferred.steps} == {s.name: sorted(s.after) for s in ch.steps}
    s = run_chains([ch], "rd-rie-real", str(tmp_path / "store"), cluster=rd_client, progress=False)
    assert s.exit_code == 0, {k: o.error for k, o in s.outcomes.items() if o.status != "done"}
    v5 = s.outcomes["rie.run05"].value
    assert v5["weighted_bill_sum"] == pytest.approx(RATECASE["total_delivery_revenue_requirement"], rel=1e-9)
    m = pd.read_csv(tmp_path / "store" / "rd-rie-real" / "runs" / "rie.map.rie-hp-seasonal-vs-non-hp-base" /
                    "rie_hp_seasonal_vs_non-hp_base.csv")
    assert set(m["tariff_key"]) == {"rie_hp_seasonal_percustomer_percustomer", "rie_non-hp_base_percustomer_percustomer"}


def test_store_on_s3_derived_files_live_in_the_store(tmp_path, moto_s3, rd_client):  # noqa: F811
    """Runs 3-4 pull in runs 1-2 and their promotions; the calibrated tariffs are written to and read
    from the S3 store (a real moto server), never from a shared local directory."""
    import s3fs

    u = examples.prepare_synthetic_utility(str(tmp_path), "delta", 30, first_id=400001, hp_share=0.1)
    so, bucket = moto_s3["storage_options"], moto_s3["bucket"]
    chain = expand_file(u.scenario, runs="3-4")
    assert sorted(s.name for s in chain.scenario_steps) == ["delta.run01", "delta.run02", "delta.run03", "delta.run04"]
    s = run_chains([chain], "rd-delta", f"s3://{bucket}/runs", cluster=rd_client, so=so, progress=False)
    assert s.exit_code == 0, {k: o.error for k, o in s.outcomes.items() if o.status != "done"}
    fs = s3fs.S3FileSystem(**so)
    root = f"{bucket}/runs/rd-delta/runs"
    promoted = json.loads(fs.cat(f"{root}/delta.promote.delta-default-calibrated/delta_default_calibrated.json"))
    r1 = s.outcomes["delta.run01"].value["rate_levels"]["delta_default"]
    assert promoted["items"][0]["energyratestructure"][0][0]["rate"] == pytest.approx(r1, rel=1e-12)
    cfg3 = json.loads(fs.cat(f"{root}/delta.run03/tariff_final_config.json"))
    assert cfg3["delta_default_calibrated"]["ur_ec_tou_mat"][0][4] == pytest.approx(r1, rel=1e-12)
    assert fs.exists(f"{root}/delta.run04/bills/elec_bills_year_target.csv")
    # credentials never reach the store's records (study.json, markers, errors, settings)
    for path in fs.find(f"{bucket}/runs/rd-delta"):
        if path.endswith((".json", ".txt")):
            assert so["secret"] not in fs.cat(path).decode(errors="replace"), path

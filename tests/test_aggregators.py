"""Aggregators over survivors: ``after: [{runs: "f-*", allow_failed: true}]`` and ``min_done``."""
import json

from conftest import run_cli
from runfleet import Run, Study, load_study, plan_study, run_study
from runfleet.study import After


def _study(tmp_path, after, name="agg"):
    s = Study(name, store=str(tmp_path / "store"), seed=2, defaults={"retries": 0})
    s.add_many([Run(f"f-{i:02d}", "runfns:step", params={"x": float(i), "fail": i in (3, 11)}) for i in range(20)])
    s.add(Run("agg", "runfns:survivors", after=after))
    s.add(Run("strict", "runfns:survivors", after=["f-*"]))
    return s


def test_allow_failed_aggregates_the_18_survivors(tmp_path):
    summary = run_study(_study(tmp_path, [{"runs": "f-*", "allow_failed": True}]), cluster="serial", progress=False)
    o = summary.outcomes
    assert o["agg"].status == "done"
    assert o["agg"].value == {"n": 18, "total": float(sum(range(20)) - 3 - 11),
                              "status": {"done": 18, "failed": 2}}
    assert o["strict"].status == "skipped"  # a plain after is still all-or-nothing
    assert summary.counts["failed"] == 2 and summary.counts["skipped"] == 1
    # next invocation: the failed runs execute again, so the aggregator does too (they may be
    # done this time); the dry run says so, and the real run does exactly that
    again = _study(tmp_path, [After("f-*", allow_failed=True)])
    rows = {r["name"]: r for r in plan_study(again) if r["action"] == "run"}
    assert set(rows) == {"f-03", "f-11", "strict", "agg"}
    assert rows["agg"]["reason"] == "upstream not done last time runs again (f-03, f-11)"
    second = run_study(again, cluster="serial", progress=False)
    assert {n for n, x in second.outcomes.items() if not x.resumed} == set(rows)
    assert second.outcomes["agg"].value["n"] == 18


def test_min_done_fraction_skips_with_a_reason_naming_it(tmp_path):
    summary = run_study(_study(tmp_path, [After("f-*", min_done=0.95)]), cluster="serial", progress=False)
    agg = summary.outcomes["agg"]
    assert agg.status == "skipped"
    assert "18 of 20" in agg.error and "0.90 < min_done 0.95" in agg.error
    err = json.loads((tmp_path / "store/agg/runs/agg/_error.json").read_text())
    assert err["status"] == "skipped" and "min_done 0.95" in err["reason"]
    ok = run_study(_study(tmp_path, [After("f-*", min_done=0.9)], name="agg2"), cluster="serial", progress=False)
    assert ok.outcomes["agg"].status == "done" and ok.outcomes["agg"].value["n"] == 18


def test_yaml_after_mapping_on_dask(tmp_path, client):
    (tmp_path / "s.yaml").write_text(
        f"name: yagg\nstore: {tmp_path}/store\nseed: 1\ndefaults: {{retries: 0}}\nruns:\n"
        "  - {name: 'f-{x}', fn: 'runfns:step', grid: {x: {range: [0, 6]}}, params: {fail: false}}\n"
        "  - {name: bad, fn: 'runfns:step', params: {fail: true}}\n"
        "  - {name: agg, fn: 'runfns:survivors', after: [{runs: 'f-*', allow_failed: true}, "
        "{runs: bad, allow_failed: true}]}\n")
    summary = run_study(load_study(tmp_path / "s.yaml"), cluster=client, progress=False)
    assert summary.outcomes["agg"].value["status"] == {"done": 6, "failed": 1}
    (tmp_path / "bad.yaml").write_text(
        f"name: ybad\nstore: {tmp_path}/store\nruns:\n"
        "  - {name: a, fn: 'runfns:step'}\n"
        "  - {name: agg, fn: 'runfns:survivors', after: [{runs: a, min_done: 1.5}]}\n")
    proc = run_cli("run", tmp_path / "bad.yaml", "--cluster", "serial", cwd=tmp_path)
    assert proc.returncode == 2 and "min_done" in proc.stderr and "Traceback" not in proc.stderr

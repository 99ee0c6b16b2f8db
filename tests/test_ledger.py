"""Records the ledger owns: markers, failures and skips with their attempt history, the layout
helper, and "open, then write" (nothing in the store when the cluster cannot be had)."""
import json

import pytest

import runfleet
from runfleet import ClusterUnavailable, Run, Study, Store, plan_study, run_study
from runfleet.backends import ExecutionBackend
from runfleet.engine import Fleet
from runfleet.ledger import Ledger, RunRecord


def test_attempt_history_of_a_run_that_succeeded_on_its_second_try(tmp_path):
    s = Study(name="hist", store=str(tmp_path / "store"), defaults={"retries": 2, "backoff_s": 0})
    s.add(Run("f", "runfns:flaky", params={"marker_dir": str(tmp_path / "attempts"), "fail_times": 1}))
    s.add(Run("ok", "runfns:add", params={"x": 1.0}))
    summary = run_study(s, cluster="serial", progress=False)
    assert summary.outcomes["f"].attempts == 2
    marker = json.loads((tmp_path / "store/hist/runs/f/_result.json").read_text())
    hist = marker["attempts_history"]
    assert [h["status"] for h in hist] == ["failed", "done"]
    assert hist[0]["error_class"] == "RuntimeError" and "flaky failure 0" in hist[0]["message"]
    assert hist[0]["started"] <= hist[0]["finished"] <= hist[1]["started"] and hist[1]["host"]
    records, _ = Ledger(Store(str(tmp_path / "store")), "hist").load()
    assert records["f"].attempts_history == hist and records["f"].attempts == 2
    one = records["ok"].attempts_history  # first try: synthesised from the marker's own fields
    assert len(one) == 1 and one[0]["status"] == "done" and "attempts_history" not in records["ok"].data


def test_failure_record_keeps_every_attempt_and_skip_names_the_upstream(tmp_path):
    s = Study(name="fail", store=str(tmp_path / "store"), defaults={"retries": 1, "backoff_s": 0})
    s.add(Run("bad", "runfns:boom", params={"message": "alpha out of range"}))
    s.add(Run("child", "runfns:add", after=["bad"]))
    run_study(s, cluster="serial", progress=False)
    err = json.loads((tmp_path / "store/fail/runs/bad/_error.json").read_text())
    # the contract fields (README "Store layout") are all there
    assert {"name", "status", "key", "fn", "params_hash", "code", "upstream", "kind", "error_class", "message",
            "traceback", "attempts", "duration_s", "host", "finished"} <= set(err)
    assert [h["error_class"] for h in err["attempts_history"]] == ["ValueError", "ValueError"]
    assert [h["attempt"] for h in err["attempts_history"]] == [1, 2]
    skip = json.loads((tmp_path / "store/fail/runs/child/_error.json").read_text())
    assert skip["status"] == "skipped" and skip["reason"] == "upstream 'bad' failed" and skip["attempts"] == 0


def test_run_dir_is_the_layout_runs_write_to(tmp_path):
    s = Study(name="lay", store=str(tmp_path / "store"), seed=1)
    s.add(Run("d-1", "runfns:draw"))
    run_study(s, cluster="serial", progress=False)
    d = runfleet.run_dir(str(tmp_path / "store"), "lay", "d-1")
    assert d == str(tmp_path / "store/lay/runs/d-1") and (tmp_path / "store/lay/runs/d-1/draws.parquet").exists()
    assert runfleet.run_dir("s3://b/p/", "lay", "d-1") == "s3://b/p/lay/runs/d-1"
    assert runfleet.run_relpath("d-1") == "runs/d-1"


def test_plan_names_the_changed_parameters(tmp_path):
    def make(tariff, rr, other=1):
        s = Study(name="pp", store=str(tmp_path / "store"))
        s.add(Run("a", "runfns:record", params={"tariff": tariff, "rr": rr, "other": other}))
        return s

    run_study(make("flat", 100), cluster="serial", progress=False)
    marker = json.loads((tmp_path / "store/pp/runs/a/_result.json").read_text())
    assert set(marker["param_hashes"]) == {"tariff", "rr", "other"}
    row = plan_study(make("tou", 120))[0]
    assert row["action"] == "run" and row["reason"] == "parameters changed: rr, tariff"
    assert plan_study(make("flat", 100))[0]["action"] == "done"


def test_input_file_content_is_in_the_key(tmp_path):
    data = tmp_path / "loads.csv"
    data.write_text("a,b\n1,2\n")

    def make():
        s = Study(name="inp", store=str(tmp_path / "store"))
        s.add(Run("r", "runfns:record", params={"x": 1}, inputs=[str(data)]))
        return s

    run_study(make(), cluster="serial", progress=False)
    assert plan_study(make())[0]["action"] == "done"
    data.write_text("a,b\n1,3\n")  # same size, other bytes
    row = plan_study(make())[0]
    assert row["action"] == "run" and row["reason"] == "parameters changed: inputs"
    data.unlink()
    with pytest.raises(runfleet.InputError, match="run 'r': inputs: cannot read"):
        plan_study(make())


class _Unavailable(ExecutionBackend):
    """A backend whose cluster cannot be obtained."""

    started = False

    def start(self, fn_paths=()):
        raise ClusterUnavailable("cluster profile 'x': scheduler tcp://127.0.0.1:1 not reachable")

    def submit(self, task):
        raise AssertionError("nothing may be submitted")

    def wait(self, timeout_s):
        return []

    def results(self, handles):
        return []

    def slots(self):
        return 0

    def close(self):
        pass


def test_open_then_write_nothing_written_when_the_cluster_cannot_be_had(tmp_path):
    s = Study(name="otw", store=str(tmp_path / "store"))
    s.add(Run("a", "runfns:add"))
    fleet = Fleet(s, Store(str(tmp_path / "store")), backend=_Unavailable())
    with pytest.raises(ClusterUnavailable):
        with fleet:
            fleet.submit(s.runs.values())
            fleet.start()
    assert not (tmp_path / "store").exists()


def test_record_types_round_trip():
    from runfleet.keys import canonical_json, digest

    ident = {"name": "a", "key": "k", "fn": "m:f", "params_hash": "p", "upstream": {}, "code": "c"}
    rec = RunRecord.done(ident, value=1, attempt=1, started="t0", finished="t1", duration_s=0.5, host="h", pid=1,
                         seed=2, versions={}, params={"x": [1, 2]})
    assert (rec.status, rec.key, rec.value, rec.duration_s, rec.attempts) == ("done", "k", 1, 0.5, 1)
    assert rec.data["param_hashes"] == {"x": digest(canonical_json([1, 2]))} and "attempts_history" not in rec.data
    skip = RunRecord.skipped(ident, "upstream 'b' failed")
    assert skip.status == "skipped" and skip.data["reason"] == "upstream 'b' failed" and skip.attempts == 0

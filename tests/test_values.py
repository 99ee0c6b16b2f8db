"""Returned values as stored: NaN and infinities round-trip; an unstorable value fails once."""
import json
import math

from conftest import run_cli
from runfleet import Run, Study, results, run_study


def _study(tmp_path, counter):
    s = Study("vals", store=str(tmp_path / "store"), seed=3, defaults={"retries": 2, "backoff_s": 0})
    s.add(Run("ll", "runfns:loglik", params={"which": "ninf"}, pack=False))
    s.add(Run("nan", "runfns:loglik", params={"which": "nan"}))
    s.add(Run("down", "runfns:reads_upstream", after=["ll", "nan"]))
    s.add(Run("bad", "runfns:unstorable", params={"counter": str(counter)}))
    return s


def test_non_finite_values_round_trip_and_unstorable_fails_once(tmp_path):
    counter = tmp_path / "executions.txt"
    summary = run_study(_study(tmp_path, counter), cluster="serial", progress=False)
    o = summary.outcomes
    assert o["ll"].status == "done" and o["ll"].value["ll"] == -math.inf
    assert o["ll"].value["grid"][1] == math.inf and math.isnan(o["ll"].value["grid"][2])
    assert o["nan"].status == "done" and math.isnan(o["nan"].value)
    # dependents ran and received floats, not tags
    assert o["down"].value == {"ll": "{'ll': -inf, 'grid': [1.0, inf, nan]}", "nan": "nan"}
    # the marker is strict JSON with the documented encoding
    marker = (tmp_path / "store/vals/runs/ll/_result.json").read_text()
    json.loads(marker, parse_constant=lambda c: (_ for _ in ()).throw(ValueError(c)))
    assert json.loads(marker)["value"]["ll"] == {"$float": "-inf"}
    # unstorable: failed once (not retried although retries=2), naming the key path
    assert o["bad"].status == "failed" and o["bad"].error_class == "UnstorableResult"
    assert o["bad"].attempts == 1 and counter.read_text().splitlines() == ["bad"]
    assert "value['model']" in o["bad"].error and "object" in o["bad"].error
    err = json.loads((tmp_path / "store/vals/runs/bad/_error.json").read_text())
    assert err["error_class"] == "UnstorableResult" and err["attempts"] == 1

    # read back later: resumed outcomes, runfleet.results, status --json
    again = run_study(_study(tmp_path, counter), cluster="serial", progress=False)
    assert again.outcomes["ll"].resumed and again.outcomes["ll"].value["ll"] == -math.inf
    assert math.isnan(again.outcomes["nan"].value)
    df = results(str(tmp_path / "store/vals")).set_index("name")
    assert df.loc["ll", "value"]["ll"] == -math.inf and math.isnan(df.loc["nan", "value"])
    proc = run_cli("status", tmp_path / "store/vals", "--json", cwd=tmp_path)
    rows = json.loads(proc.stdout, parse_constant=lambda c: (_ for _ in ()).throw(ValueError(c)))
    assert {r["name"]: r["status"] for r in rows}["ll"] == "done"


def test_values_on_dask_reach_dependents_as_floats(tmp_path, client):
    s = _study(tmp_path, tmp_path / "c.txt")
    summary = run_study(s, cluster=client, progress=False)
    assert summary.outcomes["ll"].value["ll"] == -math.inf
    assert summary.outcomes["down"].value["nan"] == "nan"
    assert summary.outcomes["bad"].attempts == 1


def test_an_error_marked_not_retryable_fails_once(tmp_path):
    """An exception with ``retryable = False`` (ratedesign's input errors) is not retried: the same
    input would fail the same way, and retrying it only hides the one-line message behind waits."""
    counter = tmp_path / "executions.txt"
    study = Study("noretry", store=str(tmp_path / "store"), defaults={"retries": 2, "backoff_s": 0.01})
    study.add(Run("bad", "runfns:bad_input", params={"counter": str(counter)}))
    study.add(Run("after-bad", "runfns:bad_input", params={"counter": str(counter)}, after=["bad"]))
    summary = run_study(study, cluster="serial", progress=False)
    assert summary.exit_code == 1
    assert counter.read_text().splitlines() == ["bad"]  # executed once; its dependent never ran
    bad = summary.outcomes["bad"]
    assert (bad.status, bad.error_class, bad.attempts) == ("failed", "BadInputError", 1)
    assert summary.outcomes["after-bad"].status == "skipped"
    record = json.loads((tmp_path / "store" / "noretry" / "runs" / "bad" / "_error.json").read_text())
    assert record["attempts"] == 1 and "column 'kwh' is missing" in record["message"]

"""Runs declared skipped at plan time (``Run(..., skip_reason=...)``): never executed, recorded by
the ledger with the reason, shown by ``runfleet status`` and the report, counted in the summary,
and their dependents skipped naming them."""
from __future__ import annotations

import json

import pytest

from runfleet import InputError, Run, Study, plan_study, run_study
from runfleet.cli import main
from runfleet.report import collect, render

REASON = "scenario s.yaml entry 25: field 'path_tariffs_electric.hp': file not found and no run produces it"


def _study(store) -> Study:
    s = Study("planskip", store=str(store), seed=1, defaults={"retries": 2})
    # runfns:boom would fail if it were called: a "skipped" status proves it never ran
    s.add(Run("gone", "runfns:boom", params={"message": "must not run"}, skip_reason=REASON))
    s.add(Run("child", "runfns:add", after=["gone"]))
    s.add(Run("ok", "runfns:trivial"))
    return s


@pytest.fixture(scope="module")
def ran(client, tmp_path_factory):
    store = tmp_path_factory.mktemp("planskip") / "store"
    return store, run_study(_study(store), cluster=client, progress=False)


def test_declared_skip_is_counted_and_never_executed(ran):
    store, summary = ran
    assert summary.exit_code == 1
    assert (summary.counts["done"], summary.counts["failed"], summary.counts["skipped"]) == (1, 0, 2)
    gone, child = summary.outcomes["gone"], summary.outcomes["child"]
    assert gone.status == "skipped" and gone.error == REASON and not gone.attempts
    assert child.status == "skipped" and "'gone'" in child.error
    record = json.loads((store / "planskip" / "runs" / "gone" / "_error.json").read_text())
    assert record["status"] == "skipped" and record["reason"] == REASON
    assert not (store / "planskip" / "runs" / "gone" / "_SUCCESS").exists()


def test_status_and_report_show_the_reason(ran, capsys):
    store, _ = ran
    rc = main(["status", str(store / "planskip")])
    out = capsys.readouterr().out
    assert rc == 1
    assert out.splitlines()[0].endswith("3 runs: 1 done, 0 failed, 2 skipped, 0 pending")
    assert REASON in out and "upstream 'gone' skipped" in out
    html = render(collect(str(store / "planskip")))
    assert "file not found and no run produces it" in html and "upstream &#39;gone&#39; skipped" in html


def test_resume_skips_it_again_and_dry_run_says_so(ran, client):
    store, _ = ran
    rows = {r["name"]: r for r in plan_study(_study(store))}
    assert rows["gone"]["action"] == "skip" and rows["gone"]["reason"] == REASON
    assert rows["ok"]["action"] == "done"
    again = run_study(_study(store), cluster=client, progress=False)
    assert again.counts["skipped"] == 2 and again.counts["resumed"] == 1 and again.exit_code == 1


def test_empty_skip_reason_is_a_one_line_input_error(tmp_path):
    s = Study("bad", store=str(tmp_path / "store"))
    s.add(Run("a", "runfns:trivial", skip_reason="  "))
    with pytest.raises(InputError, match=r"run 'a': skip_reason: expected a non-empty string"):
        s.validate()
    assert not (tmp_path / "store").exists()

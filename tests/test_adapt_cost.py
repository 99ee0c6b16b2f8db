"""Elastic cost: an adaptive embedded cluster reports what it paid, and scales to zero.

Real adaptive LocalClusters opened from a profile file (``adapt: {minimum: 0, maximum: 2}``);
nothing is timed: the accounting's identities are checked, and the scale-down is a condition
polled with a deadline.
"""
from __future__ import annotations

import io
import json
import time

import dask
import pytest

from runfleet import Progress, Run, Study, run_study
from runfleet.clusters import open_cluster, resolve_cluster
from runfleet.report import collect, render

PROFILES = """
clusters:
  elastic:
    kind: local
    adapt: {minimum: 0, maximum: 2}
  quick:
    kind: local
    adapt: {minimum: 0, maximum: 2, interval: 200ms, wait_count: 2, target_duration: 1}
"""


@pytest.fixture()
def profiles(tmp_path):
    path = tmp_path / "runfleet.yaml"
    path.write_text(PROFILES)
    with dask.config.set({"runfleet.profiles-file": str(path)}):
        yield path


def _study(store, name: str, n: int = 8) -> Study:
    s = Study(name, store=str(store), seed=3)
    for i in range(n):
        s.add(Run(f"r{i}", "runfns:sleepy", params={"seconds": 0.4, "i": i}, pack=False))
    return s


def test_adaptive_study_reports_paid_busy_idle_in_summary_record_and_report(profiles, tmp_path):
    out = io.StringIO()
    progress = Progress("cost", mode="log", stream=out, interval_s=3600)
    summary = run_study(_study(tmp_path / "store", "cost"), cluster="elastic", progress=progress)
    assert summary.exit_code == 0
    cost = summary.cost
    assert cost is not None and cost.adaptive
    # 8 runs of 0.4 s slept on a worker: busy at least their sum, never more than what was paid
    assert cost.busy_s >= 8 * 0.4 * 0.95
    assert cost.paid_s >= cost.busy_s > 0
    assert cost.idle_s == pytest.approx(cost.paid_s - cost.busy_s)
    assert 1 <= cost.peak_workers <= 2

    last = out.getvalue().strip().splitlines()[-1]
    assert last.startswith("[cost] finished: 8/8 done")
    assert f"paid {cost.paid_s:.1f} worker-s, busy {cost.busy_s:.1f} ({cost.busy_s / cost.paid_s:.2f}), " \
           f"idle {cost.idle_s:.1f}" in last

    # the study record keeps it, so the report shows it later
    records = list((tmp_path / "store" / "cost" / "_cost").glob("*.json"))
    assert len(records) == 1
    rec = json.loads(records[0].read_text())
    assert rec["paid_s"] == pytest.approx(cost.paid_s) and rec["busy_s"] == pytest.approx(cost.busy_s)
    page = render(collect(str(tmp_path / "store" / "cost")))
    assert "Cost (adaptive cluster)" in page
    assert (f"paid {cost.paid_s:.1f} worker-s, busy {cost.busy_s:.1f} worker-s "
            f"(busy/paid {cost.busy_s / cost.paid_s:.2f}), idle {cost.idle_s:.1f} worker-s") in page


def test_fixed_cluster_study_has_cost_but_no_adaptive_line(client, tmp_path):
    out = io.StringIO()
    summary = run_study(_study(tmp_path / "store", "fixed", n=2), cluster=client,
                        progress=Progress("fixed", mode="log", stream=out, interval_s=3600))
    assert summary.cost is not None and not summary.cost.adaptive
    assert summary.cost.paid_s >= summary.cost.busy_s > 0
    assert "paid" not in out.getvalue()
    assert "Cost (adaptive cluster)" not in render(collect(str(tmp_path / "store" / "fixed")))


def test_workers_go_to_zero_after_the_study_with_the_knobs_set_low(profiles, tmp_path):
    session = open_cluster(resolve_cluster("quick"))
    try:
        adaptive = session.cluster._adaptive
        assert adaptive.interval == pytest.approx(0.2) and adaptive.wait_count == 2  # the profile's knobs reached Dask
        summary = run_study(_study(tmp_path / "store", "down", n=4), cluster=session.client, progress=False)
        assert summary.counts["done"] == 4
        deadline = time.monotonic() + 60
        while session.client.scheduler_info(n_workers=-1).get("workers"):
            assert time.monotonic() < deadline, "adapt did not retire the idle workers within 60 s"
            time.sleep(0.2)
    finally:
        session.close()


RETIRE_DRIVER = """
import sys, time
import dask
from runfleet import Run, Study, run_study
from runfleet.clusters import open_cluster, resolve_cluster
if __name__ == "__main__":
    with dask.config.set({"runfleet.profiles-file": sys.argv[1]}):
        s = Study("quiet", store=sys.argv[2], seed=1)
        for i in range(4):
            s.add(Run(f"r{i}", "runfns:sleepy", params={"seconds": 0.4, "i": i}, pack=False))
        session = open_cluster(resolve_cluster("quick"))
        run_study(s, cluster=session.client, progress=False)
        deadline = time.monotonic() + 60
        while session.client.scheduler_info(n_workers=-1).get("workers") and time.monotonic() < deadline:
            time.sleep(0.2)
        time.sleep(1.0)  # a retired worker's last log lines are written as its process ends
        session.close()
        print("zero" if time.monotonic() < deadline else "not zero")
"""


def test_workers_retired_by_adapt_say_nothing_on_the_terminal(profiles, tmp_path):
    """A worker process adapt retires logs ``distributed.core - INFO - Connection to ... has been
    closed.`` unless runfleet's worker logging levels reach it (its stderr is the driver's)."""
    import os
    import subprocess
    import sys

    from conftest import worker_env

    script = tmp_path / "driver.py"
    script.write_text(RETIRE_DRIVER)
    r = subprocess.run([sys.executable, str(script), str(profiles), str(tmp_path / "store")], capture_output=True,
                       text=True, timeout=300, env={**os.environ, "PYTHONPATH": worker_env()["PYTHONPATH"]})
    assert r.returncode == 0 and r.stdout.strip() == "zero", (r.stdout, r.stderr[-2000:])
    assert "has been closed" not in r.stderr and " - INFO - " not in r.stderr, r.stderr[-2000:]


def test_bad_adapt_knob_is_one_line_naming_the_field(tmp_path):
    from runfleet.config import ConfigError, load_profiles

    path = tmp_path / "runfleet.yaml"
    path.write_text("clusters:\n  x:\n    kind: local\n    adapt: {maximum: 2, wait_count: 0}\n")
    with pytest.raises(ConfigError, match=r"clusters\.x\.adapt\.wait_count: expected an integer >= 1"):
        load_profiles(path)
    path.write_text("clusters:\n  x:\n    kind: gateway\n    adapt: {maximum: 2, interval: 1s}\n")
    with pytest.raises(ConfigError, match=r"clusters\.x\.adapt\.interval: kind 'gateway' adapts on its server"):
        load_profiles(path)


def test_busy_counts_at_most_one_task_per_thread_inside_the_paid_window():
    """Hand-computed: a run waiting for its chunks (seceded) overlaps them on a 1-thread worker."""
    from runfleet.accounting import _busy_seconds

    def rec(worker, start, stop):
        return {"worker": worker, "startstops": [{"action": "transfer", "start": start - 1, "stop": start},
                                                 {"action": "compute", "start": start, "stop": stop}]}

    records = [rec("a", 0, 2), rec("a", 1, 3),                   # a: 1 thread, busy 0..3 clipped to 0.5..10
               rec("b", 0, 1), rec("b", 0, 1), rec("b", 0, 1)]   # b: 2 threads, three tasks at once
    spans = [("a", 0.5, 10.0), ("b", 0.0, 4.0)]
    busy, last_end, n = _busy_seconds(records, spans, {"a": 1, "b": 2}, 1)
    assert busy == pytest.approx(2.5 + 2.0) and last_end == 3 and n == 5

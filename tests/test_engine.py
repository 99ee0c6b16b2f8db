"""The engine through the Python API on a real 2-worker LocalCluster."""
import json
import os
from pathlib import Path

import pandas as pd
import pytest

from runfleet import Run, Study, grid, open_fleet, plan_study, run_study
from runfleet.keys import run_seed
from waiting import wait_until
from runfleet.ledger import pack_markers


def study(tmp_path, name="s", **kw):
    return Study(name=name, store=str(tmp_path / "store"), seed=7, **kw)


def test_chain_grid_upstream_values_and_outputs(tmp_path, client):
    s = study(tmp_path)
    s.add(Run("a", "runfns:add", params={"x": 1.0}))
    s.add_many(grid("b-{x}", "runfns:add", {"x": [10.0, 20.0]}, after=["a"]))
    s.add(Run("c", "runfns:add", params={"x": 0.0}, after=["b-*"]))
    summary = run_study(s, cluster=client, progress=False)
    assert summary.exit_code == 0
    assert summary.counts["done"] == 4
    # a=1, b-10=11, b-20=21, c=32: values flow through ctx.upstream
    assert summary.outcomes["c"].value == {"total": 32.0}
    marker = json.loads((tmp_path / "store/s/runs/c/_result.json").read_text())
    assert marker["status"] == "done" and marker["value"] == {"total": 32.0}
    assert set(marker["upstream"]) == {"b-10.0", "b-20.0"}


def test_seeds_depend_on_name_not_workers(tmp_path, client):
    s = study(tmp_path, name="seeds")
    s.add_many(grid("d-{i}", "runfns:draw", {"i": [0, 1, 2, 3]}))
    out = run_study(s, cluster=client, progress=False).outcomes
    assert out["d-2"].value["seed"] == run_seed(7, "d-2")
    draws = pd.read_parquet(tmp_path / "store/seeds/runs/d-1/draws.parquet")["x"].tolist()
    assert draws == out["d-1"].value["x"]
    assert len({tuple(o.value["x"]) for o in out.values()}) == 4  # distinct streams per run


def test_failure_retries_then_records_and_skips_only_dependents(tmp_path, client):
    s = study(tmp_path, name="fail", defaults={"retries": 1, "backoff_s": 0})
    s.add(Run("bad", "runfns:boom", params={"message": "alpha out of range"}))
    s.add(Run("child", "runfns:add", after=["bad"]))
    s.add(Run("grandchild", "runfns:add", after=["child"]))
    s.add(Run("other", "runfns:add", params={"x": 2.0}))
    summary = run_study(s, cluster=client, progress=False)
    assert summary.exit_code == 1
    assert summary.outcomes["other"].status == "done"
    bad = summary.outcomes["bad"]
    assert (bad.status, bad.error_class, bad.attempts) == ("failed", "ValueError", 2)
    err = json.loads((tmp_path / "store/fail/runs/bad/_error.json").read_text())
    assert err["error_class"] == "ValueError" and "alpha out of range" in err["traceback"]
    assert err["kind"] == "user_error" and err["attempts"] == 2
    for name in ("child", "grandchild"):
        assert summary.outcomes[name].status == "skipped"
        rec = json.loads((tmp_path / f"store/fail/runs/{name}/_error.json").read_text())
        assert rec["status"] == "skipped" and "upstream" in rec["reason"]
    assert not (tmp_path / "store/fail/runs/child/_result.json").exists()


def test_retry_clears_partial_output_of_failed_attempt(tmp_path, client):
    s = study(tmp_path, name="flaky", defaults={"retries": 2, "backoff_s": 0})
    s.add(Run("f", "runfns:flaky", params={"marker_dir": str(tmp_path / "attempts"), "fail_times": 1}))
    summary = run_study(s, cluster=client, progress=False)
    assert summary.outcomes["f"].status == "done" and summary.outcomes["f"].attempts == 2
    run_dir = tmp_path / "store/flaky/runs/f"
    assert (run_dir / "final.txt").read_text() == "ok"
    assert not (run_dir / "partial.txt").exists()  # the failed attempt's output is not trusted
    assert not (run_dir / "_error.json").exists()


def test_timeout_interrupts_run(tmp_path, client):
    s = study(tmp_path, name="slow")
    s.add(Run("slow", "runfns:sleepy", params={"seconds": 30}, timeout_s=0.5))
    summary = run_study(s, cluster=client, progress=False)
    o = summary.outcomes["slow"]
    assert (o.status, o.error_class) == ("failed", "RunTimeout")
    assert o.duration_s < 10
    assert not (tmp_path / "store/slow/runs/slow/done.txt").exists()


def test_rerun_changed_params_reruns_run_and_dependents_only(tmp_path, client):
    counter = tmp_path / "count.txt"

    def make(x):
        s = study(tmp_path, name="incr")
        s.add(Run("a", "runfns:record", params={"counter": str(counter), "x": x}))
        s.add(Run("b", "runfns:record", params={"counter": str(counter)}, after=["a"]))
        s.add(Run("c", "runfns:record", params={"counter": str(counter)}))
        return s

    assert run_study(make(1), cluster=client, progress=False).exit_code == 0
    assert sorted(counter.read_text().split()) == ["a", "b", "c"]
    rows = {r["name"]: r for r in plan_study(make(2))}
    assert rows["a"]["action"] == "run" and "parameters changed" in rows["a"]["reason"]
    assert rows["b"]["action"] == "run" and "upstream changed (a)" in rows["b"]["reason"]
    assert rows["c"]["action"] == "done"
    counter.write_text("")
    summary = run_study(make(2), cluster=client, progress=False)
    assert sorted(counter.read_text().split()) == ["a", "b"]
    assert summary.counts["resumed"] == 1


def test_short_runs_are_packed_and_committed_together(tmp_path, client):
    s = study(tmp_path, name="many")
    s.add_many(grid("t-{i}", "runfns:trivial", {"i": list(range(3000))}))
    summary = run_study(s, cluster=client, progress=False, keep_outcomes=False)
    assert summary.counts["done"] == 3000
    packs = list((tmp_path / "store/many/_packs").glob("*.json*"))
    assert 0 < len(packs) < 300  # far fewer tasks than runs
    committed = {}
    for p in packs:
        committed.update(pack_markers(p.read_bytes()))
    singles = list((tmp_path / "store/many/runs").glob("*/_result.json"))
    assert len(committed) + len(singles) == 3000
    assert committed[next(iter(committed))]["value"] == int(next(iter(committed)).split("-")[1])
    # resume: nothing re-executes
    again = run_study(s, cluster=client, progress=False, keep_outcomes=False)
    assert again.counts["resumed"] == 3000


def test_nested_map_from_many_runs_does_not_deadlock(tmp_path, client):
    s = study(tmp_path, name="nested")
    s.add_many(grid("fan-{i}", "runfns:fan_out", {"i": [0, 1, 2, 3, 4, 5]}, params={"n": 20}))
    summary = run_study(s, cluster=client, progress=False)
    expected = sum(k * k for k in range(20))
    assert all(o.value == {"sum": expected, "chunk_sum": expected} for o in summary.outcomes.values())


def test_dynamic_fleet_submit_while_iterating(tmp_path, client):
    seen = []
    with open_fleet("dyn", str(tmp_path / "store"), seed=3, cluster=client) as fleet:
        fleet.submit([Run(f"r-{i}", "runfns:trivial", params={"i": i}) for i in range(5)])
        for o in fleet.as_completed():
            seen.append(o.name)
            if o.name == "r-0":
                fleet.submit([Run("late", "runfns:trivial", params={"i": 99}, after=["r-0"])])
    assert sorted(seen) == sorted([f"r-{i}" for i in range(5)] + ["late"])
    with open_fleet("dyn", str(tmp_path / "store"), seed=3, cluster=client) as fleet:
        fleet.submit([Run(f"r-{i}", "runfns:trivial", params={"i": i}) for i in range(6)])
        outs = {o.name: o for o in fleet.as_completed()}
    assert all(outs[f"r-{i}"].resumed for i in range(5)) and not outs["r-5"].resumed
    assert outs["r-3"].value == 3


def test_lost_worker_is_retried_then_recorded(tmp_path):
    """A run that kills its worker process: retried by policy, then recorded as LostWorker,
    while other runs complete."""
    from runfleet.clusters import start_local
    from conftest import worker_env

    session = start_local(workers=2, env={"PYTHONPATH": worker_env()["PYTHONPATH"]}, dashboard_address=":0")
    try:
        s = study(tmp_path, name="lost", defaults={"retries": 1, "backoff_s": 0})
        s.add(Run("die", "runfns:die"))
        s.add(Run("fine", "runfns:add", params={"x": 1.0}))
        summary = run_study(s, cluster=session.client, progress=False)
    finally:
        session.close()
    o = summary.outcomes["die"]
    assert (o.status, o.error_class, o.attempts) == ("failed", "LostWorker", 2)
    err = json.loads((tmp_path / "store/lost/runs/die/_error.json").read_text())
    assert err["kind"] == "lost_worker"
    assert summary.outcomes["fine"].status == "done"


def test_worker_restarted_for_memory_is_recorded_as_out_of_memory(tmp_path):
    """A run that outgrows its worker's memory limit: the nanny restarts the worker, and the run is
    recorded as OutOfMemory (not a bare LostWorker) with the resident memory in the message. A run
    queued on the same worker dies with it and, retried, completes."""
    from runfleet.clusters import start_local
    from conftest import worker_env

    session = start_local(workers=1, memory_limit="600MB", env={"PYTHONPATH": worker_env()["PYTHONPATH"]},
                          dashboard_address=":0")
    try:
        s = study(tmp_path, name="oom", defaults={"retries": 0})
        s.add(Run("hog", "runfns:hog", params={"mb": 1200}))
        s.add(Run("small", "runfns:add", params={"x": 1.0}, retries=1))
        summary = run_study(s, cluster=session.client, progress=False)
    finally:
        session.close()
    o = summary.outcomes["hog"]
    assert (o.status, o.error_class) == ("failed", "OutOfMemory"), (o.error_class, o.error)
    assert "too much memory" in o.error and " GB resident" in o.error
    err = json.loads((tmp_path / "store/oom/runs/hog/_error.json").read_text())
    assert err["error_class"] == "OutOfMemory" and err["kind"] == "lost_worker"
    assert summary.outcomes["small"].status == "done", summary.outcomes["small"]


def test_run_blocked_in_c_code_is_ended_after_grace(tmp_path):
    """A run that ignores its timeout (blocked in C) has its worker ended after the grace period
    and is recorded as a timeout, and the study goes on."""
    from runfleet.clusters import start_local
    from conftest import worker_env

    env = {"PYTHONPATH": worker_env()["PYTHONPATH"], "RUNFLEET_TIMEOUT_GRACE_S": "1"}
    session = start_local(workers=2, env=env, dashboard_address=":0")
    try:
        s = study(tmp_path, name="blocked")
        s.add(Run("stuck", "runfns:blocked", params={"seconds": 120}, timeout_s=0.5))
        s.add(Run("fine", "runfns:add", params={"x": 1.0}))
        summary = run_study(s, cluster=session.client, progress=False)
    finally:
        session.close()
    o = summary.outcomes["stuck"]
    assert (o.status, o.error_class) == ("failed", "RunTimeout")
    err = json.loads((tmp_path / "store/blocked/runs/stuck/_error.json").read_text())
    assert err["kind"] == "timeout" and "did not stop" in err["message"]
    assert summary.outcomes["fine"].status == "done"


def test_workers_warm_import_run_modules(client):
    """WarmImports imports the listed modules on every worker in the background; a module that
    cannot be imported is ignored (the run reports it) and the worker stays up."""
    import sys
    import time

    from runfleet.warmup import WarmImports, warm_imports

    def imported():
        return "colorsys" in sys.modules

    assert not any(client.run(imported).values())
    warm_imports(client, ["colorsys:rgb_to_hls", "no_such_module_runfleet:f", "not a path"])
    assert WarmImports(["a", "__main__", "a", ""]).modules == ("a",)
    wait_until(lambda: all(client.run(imported).values()), 20, "colorsys imported on every worker")
    assert len(client.run(imported)) == 2


def test_two_unprobed_functions_with_more_ready_runs_than_slots_finish(tmp_path, client):
    """Two fn groups, no durations known yet, 40 ready runs each on 2 workers (pack on by
    default): the probe logic must not rotate the ready queue forever (it used to hang)."""
    import threading

    s = study(tmp_path, name="two-groups")
    s.add_many(grid("t-{i}", "runfns:trivial", {"i": list(range(40))}))
    s.add_many(grid("a-{x}", "runfns:add", {"x": [float(i) for i in range(40)]}))
    result = {}
    thread = threading.Thread(target=lambda: result.update(s=run_study(s, cluster=client, progress=False)),
                              daemon=True)
    thread.start()
    thread.join(timeout=60)
    assert not thread.is_alive(), "run_study hung with two unprobed fn groups"
    assert result["s"].exit_code == 0 and result["s"].counts["done"] == 80


def test_nested_map_affinity_places_the_same_chunk_on_the_same_worker_in_every_run(tmp_path, client):
    """Chunks with the same (group, position) go to the same worker in every run (what a worker
    cached for one run serves the next), and consecutive positions spread over the workers."""
    s = study(tmp_path, name="affinity")
    s.add_many(grid("p-{r}", "runfns:placed", {"r": [0, 1, 2]}, params={"n": 6}, pack=False))
    out = run_study(s, cluster=client, progress=False).outcomes
    places = [out[f"p-{r}"].value for r in range(3)]
    assert places[0] == places[1] == places[2]
    assert len(set(places[0])) == 2 and places[0][0] != places[0][1]

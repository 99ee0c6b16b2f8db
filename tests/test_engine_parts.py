"""The engine's parts on their own: run state machine, packing policy, failure classification,
entry-point validation. No cluster needed (hand-computed values, like joblib's batching tests)."""
import asyncio
import concurrent.futures

import pytest

from runfleet import InputError, Run, Study, open_fleet, run_study
from runfleet.errors import LostWorker, OutOfMemory, RunTimeout
from runfleet.failures import classify, out_of_memory, task_failure
from runfleet.packing import PackingPolicy
from runfleet.runstate import InvalidTransition, RunEntry, RunState, RunTable


# -- state machine ---------------------------------------------------------------------------------
def _entry():
    return RunEntry(kr=None, policy=None, packable=True)


def test_run_table_counts_follow_transitions():
    t = RunTable()
    for n in "abc":
        t.add(n, _entry())
    assert t.count(RunState.NEW) == 3
    t.move("a", RunState.READY)
    t.move("b", RunState.WAITING)
    t.move("c", RunState.DONE)
    assert (t.count(RunState.READY), t.count(RunState.WAITING), t.count(RunState.DONE)) == (1, 1, 1)
    t.move("a", RunState.RUNNING)
    t.move("a", RunState.BACKOFF)
    t.move("a", RunState.READY)
    t.move("a", RunState.RUNNING)
    t.move("a", RunState.FAILED)
    t.move("b", RunState.SKIPPED)
    assert t.count(RunState.RUNNING) == 0 and t.count(RunState.WAITING) == 0
    assert (t.count(RunState.FAILED), t.count(RunState.SKIPPED), t.count(RunState.DONE)) == (1, 1, 1)
    assert t.count(RunState.NEW) == 0
    assert t["a"].state is RunState.FAILED and t["a"].state.terminal


@pytest.mark.parametrize("path", [
    (RunState.DONE, RunState.READY),  # a done run never runs again in the same invocation
    (RunState.WAITING, RunState.RUNNING),  # waiting runs become ready first
    (RunState.READY, RunState.DONE),  # only a running run commits
])
def test_run_table_rejects_transitions_it_does_not_have(path):
    t = RunTable()
    t.add("a", _entry())
    t.move("a", path[0])
    with pytest.raises(InvalidTransition):
        t.move("a", path[1])
    assert t.count(path[0]) == 1 and t.count(path[1]) == 0  # counts untouched


def test_busy_check_does_not_scan_runs():
    """The engine's "anything left?" check is counters only: it costs the same for 1 and 200,000 runs."""
    import time

    t = RunTable()
    for i in range(200_000):
        t.add(f"r{i}", _entry())
        t.move(f"r{i}", RunState.DONE)
    t0 = time.perf_counter()
    for _ in range(10_000):
        t.count(RunState.WAITING)
    assert time.perf_counter() - t0 < 0.5  # 10,000 scans of 200,000 runs would take minutes


# -- packing policy ----------------------------------------------------------------------------------
def test_pack_size_unknown_duration_is_one():
    assert PackingPolicy(0.2).pack_size("m:f", ready=1000, slots=4) == 1


def test_pack_size_from_target_over_mean():
    p = PackingPolicy(target_s=0.2)
    p.observe("m:f", 0.01)  # 0.2 / 0.01 = 20 runs per task
    assert p.pack_size("m:f", ready=1000, slots=4) == 20


def test_pack_size_capped_by_even_share_per_slot():
    p = PackingPolicy(target_s=0.2)
    p.observe("m:f", 0.001)  # 200 wanted, but 30 ready over 4 slots: ceil(30/4) = 8
    assert p.pack_size("m:f", ready=30, slots=4) == 8
    assert p.pack_size("m:f", ready=30, slots=0) == 30  # no worker yet counts as one slot -> 30


def test_pack_size_capped_by_max_pack_and_floor_one():
    p = PackingPolicy(target_s=0.2, max_pack=50)
    p.observe("fast", 1e-9)  # 0.2 / 1e-6 (floor of the mean) = 200,000 -> max_pack 50
    assert p.pack_size("fast", ready=10_000, slots=1) == 50
    p.observe("slow", 5.0)  # 0.2 / 5 = 0.04 -> at least 1
    assert p.pack_size("slow", ready=10_000, slots=1) == 1


def test_expected_duration_is_a_moving_average():
    p = PackingPolicy(target_s=1.0, weight=0.3)
    p.observe("m:f", 1.0)
    p.observe("m:f", 0.0)  # 0.7 * 1.0 + 0.3 * 0.0
    assert p.expected_s("m:f") == pytest.approx(0.7)
    p.observe("m:f", 0.0)  # 0.7 * 0.7
    assert p.expected_s("m:f") == pytest.approx(0.49)
    assert p.pack_size("m:f", ready=100, slots=1) == 2  # int(1.0 / 0.49)


def test_probes_limited_per_function():
    p = PackingPolicy()
    assert p.may_probe("m:f", 2)
    p.probe_started("m:f")
    p.probe_started("m:f")
    assert not p.may_probe("m:f", 2) and p.may_probe("m:g", 2)
    p.probe_ended("m:f")
    assert p.may_probe("m:f", 2)


# -- failure classification --------------------------------------------------------------------------
def test_classification_is_by_type():
    from distributed.client import FutureCancelledError
    from distributed.comm.core import CommClosedError
    from distributed.scheduler import KilledWorker

    assert classify(RunTimeout(), in_run=True) == ("timeout", "RunTimeout")
    assert classify(KilledWorker("k", "w", 0), in_run=False) == ("lost_worker", "LostWorker")
    assert classify(KilledWorker("k", "w", 0), in_run=True) == ("lost_worker", "LostWorker")  # a chunk's worker
    assert classify(OutOfMemory("x"), in_run=False) == ("lost_worker", "OutOfMemory")
    assert classify(LostWorker("x"), in_run=False) == ("lost_worker", "LostWorker")
    for exc in (concurrent.futures.CancelledError(), asyncio.CancelledError(), CommClosedError(),
                FutureCancelledError("k", "cancelled")):
        assert classify(exc, in_run=False) == ("lost_worker", "LostWorker"), exc
    assert classify(ValueError("x"), in_run=True) == ("user_error", "ValueError")
    assert classify(OSError("x"), in_run=False) == ("infrastructure", "OSError")

    class KilledWorkerLookalike(Exception):  # same name, other class: not a lost worker
        pass

    KilledWorkerLookalike.__name__ = "KilledWorker"
    assert classify(KilledWorkerLookalike(), in_run=True) == ("user_error", "KilledWorker")


def test_task_failure_and_out_of_memory_messages():
    from distributed.scheduler import KilledWorker

    class Worker:  # what the scheduler puts in KilledWorker: its WorkerState
        address = "tcp://127.0.0.1:4001"

    f = task_failure(KilledWorker("run-x", Worker(), 0))
    assert f["error_class"] == "LostWorker" and "worker running it died" in f["message"]
    assert "tcp://127.0.0.1:4001" in f["message"]
    events = [(1.0, {"worker": "tcp://127.0.0.1:9999", "rss": 1e9}),
              (2.0, {"worker": "tcp://127.0.0.1:4001", "rss": 2.5e9})]
    oom = out_of_memory(f, events)
    assert oom["error_class"] == "OutOfMemory" and "2.50 GB resident" in oom["message"]
    assert out_of_memory(f, events[:1]) is None


# -- entry points --------------------------------------------------------------------------------------
def test_open_fleet_rejects_what_study_validate_rejects(tmp_path):
    store = tmp_path / "store"
    for bad in ("../escape", "", "a/b"):
        with pytest.raises(InputError, match="name"):
            Study(name=bad, store=str(store)).validate_header()
        with pytest.raises(InputError, match="not a valid study name"):
            open_fleet(bad, str(store), cluster="serial")
    with pytest.raises(InputError, match="seed"):
        open_fleet("ok", str(store), seed=-1, cluster="serial")
    assert not (tmp_path / "escape").exists() and not store.exists()


def test_unknown_cluster_profile_is_input_error_before_any_write(tmp_path, monkeypatch):
    monkeypatch.setenv("RUNFLEET_CONFIG", str(tmp_path / "none.yaml"))
    s = Study(name="s", store=str(tmp_path / "store"))
    s.add(Run("a", "runfns:add"))
    with pytest.raises(InputError):
        run_study(s, cluster="no-such-profile", progress=False)
    assert not (tmp_path / "store").exists()

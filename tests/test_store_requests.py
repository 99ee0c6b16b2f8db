"""Object-store requests are a budget (docs/requests.md): counted, not estimated.

Every request of the study goes through a real TCP proxy in front of a real moto server
(``benchmarks/latency_proxy.py`` with no added delay); the proxy records each request's kind
(PUT, GET, HEAD, LIST, DELETE) and path. These tests assert the documented budget, so they fail
when someone adds a request to a run's path.
"""
from __future__ import annotations

import collections
import importlib.util
import os
import sys
import uuid
from pathlib import Path

import pytest

from runfleet import Run, Study, run_study
from runfleet.executor import execute
from runfleet.ledger import Ledger
from runfleet.store import Store

def _load_proxy():
    """The benchmark helper ``benchmarks/latency_proxy.py``, loaded from its file (benchmarks/ is not
    put on sys.path: its ``ratedesign.py`` would shadow the package)."""
    path = Path(__file__).resolve().parents[1] / "benchmarks" / "latency_proxy.py"
    spec = importlib.util.spec_from_file_location("runfleet_bench_latency_proxy", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module.LatencyProxy


LatencyProxy = _load_proxy()  # a real proxy: every request reaches moto


def parquet_run(ctx, i: int):
    """A run that writes one parquet output (as a typical simulation does)."""
    import pandas as pd

    ctx.write_parquet(pd.DataFrame({"i": [i] * 10, "x": [float(i)] * 10}), "out.parquet")
    return i


def trivial_run(ctx, i: int):
    return i


@pytest.fixture
def proxied(moto_s3):
    """moto behind a counting proxy: ``(proxy, storage_options, bucket)``."""
    host_port = moto_s3["endpoint_url"].rsplit("/", 1)[-1]
    host, port = host_port.rsplit(":", 1)
    proxy = LatencyProxy(host, int(port), delay_s=0.0).start()
    so = {**moto_s3["storage_options"], "client_kwargs": {"endpoint_url": proxy.url}}
    yield proxy, so, moto_s3["bucket"]
    proxy.stop()


def _by(log, *, contains: str = "", excludes: tuple[str, ...] = ()) -> collections.Counter:
    return collections.Counter(k for k, p in log if contains in p and not any(x in p for x in excludes))


def test_a_single_parquet_run_costs_three_puts_and_one_delete(proxied, client):
    proxy, so, bucket = proxied
    study = Study("one", store=f"s3://{bucket}/runs", seed=0, storage_options=so)
    study.add(Run("r", "test_store_requests:parquet_run", params={"i": 7}, pack=False))
    mark = proxy.mark()
    summary = run_study(study, cluster=client, progress=False)
    assert summary.exit_code == 0 and summary.outcomes["r"].value == 7
    log = proxy.log[mark:]
    run_dir = f"/{bucket}/runs/one/runs/r/"
    # the worker's requests: start marker PUT, the output's PUT, the commit marker's PUT, the start
    # marker's DELETE; no HEAD, no listing, no clearing of a directory that never existed
    worker = [(k, p) for k, p in log if p.startswith(run_dir) or "/_started/" in p]
    worker = [(k, p) for k, p in worker if not (k == "GET" and p.endswith("_result.json"))]  # driver's check
    assert collections.Counter(k for k, _ in worker) == {"PUT": 3, "DELETE": 1}, worker
    assert sorted(p.rsplit("/", 1)[-1] for k, p in worker if k == "PUT" and p.startswith(run_dir)) == [
        "_result.json", "out.parquet"]
    # and the whole invocation (driver included) within the documented budget; the driver's HEAD
    # heartbeat of study.json (every 5 s while nothing needs writing) depends on time, not on runs
    total = collections.Counter(k for k, _ in log)
    # (the driver: listing the study at start and at the end, and its earlier record shards)
    assert total["LIST"] <= 4 and total["GET"] <= 1, total
    # (the driver: probe PUT + refused conditional PUT + DELETE, the study record's header
    # study.json and its shard, the invocation's cost record _cost/<start>.json)
    assert total["PUT"] <= 8 and total["DELETE"] <= 2, total


def test_a_runs_puts_are_one_round_trip_each_and_a_large_body_still_asks_first(proxied, client):
    """botocore asks for ``100 Continue`` before every file-like PUT body: two round trips per
    marker. runfleet's store sends small bodies at once (markers, packs, a run's parquet output);
    a body of 2 MiB or more still waits for the server's go-ahead."""
    proxy, so, bucket = proxied
    study = Study("rtt", store=f"s3://{bucket}/runs", seed=0, storage_options=so)
    study.add(Run("r", "test_store_requests:parquet_run", params={"i": 3}, pack=False))
    mark, waits = proxy.mark(), proxy.continue_waits
    assert run_study(study, cluster=client, progress=False).exit_code == 0
    puts = [p for k, p in proxy.log[mark:] if k == "PUT"]
    assert any(p.endswith("/out.parquet") for p in puts) and any(p.endswith("/_result.json") for p in puts)
    assert proxy.continue_waits == waits, proxy.continue_log[waits:]  # a small PUT waited (a second round trip)
    store = Store(f"s3://{bucket}/big", so)
    store.write_bytes_atomic(store.join("small"), b"s" * 1000)
    assert proxy.continue_waits == waits
    store.write_bytes_atomic(store.join("large"), b"L" * (2 * 2**20))
    assert proxy.continue_waits == waits + 1
    assert store.read_bytes(store.join("large")) == b"L" * (2 * 2**20)


def test_a_pack_of_fifty_runs_writes_one_marker_file(proxied):
    """Executed as a worker executes a pack (``execute`` with a pack id and attempt ids)."""
    proxy, so, bucket = proxied
    store = Store(f"s3://{bucket}/runs", so)
    specs = [{"name": f"t-{i}", "fn": "test_store_requests:trivial_run", "params": {"i": i},
              "identity": {"name": f"t-{i}", "key": f"k{i}", "fn": "test_store_requests:trivial_run",
                           "params_hash": "h", "upstream": {}, "code": "c"},
              "upstream": {}, "study_seed": 0, "attempt": 1, "timeout_s": None, "clear": False,
              "attempt_id": f"{uuid.uuid4().hex}-1"} for i in range(50)]
    mark = proxy.mark()
    rows = execute(specs, store, "packed", uuid.uuid4().hex)
    assert [r["value"] for r in rows] == list(range(50))
    assert proxy.since(mark) == {"PUT": 1}, proxy.log[mark:]  # the pack file: its one object
    assert [p for k, p in proxy.log[mark:] if k == "PUT"][0].startswith(f"/{bucket}/runs/packed/_packs/")
    records, _ = Ledger(store, "packed").load()
    assert {n: r.value for n, r in records.items()} == {f"t-{i}": i for i in range(50)}


def test_packed_study_and_its_resume(proxied, client):
    proxy, so, bucket = proxied
    n = 600
    study = Study("many", store=f"s3://{bucket}/runs", seed=0, storage_options=so)
    study.add_many([Run(f"t-{i}", "test_store_requests:trivial_run", params={"i": i}) for i in range(n)])
    mark = proxy.mark()
    summary = run_study(study, cluster=client, progress=False, keep_outcomes=False)
    assert summary.counts["done"] == n
    log = proxy.log[mark:]
    records = _by(log, contains="/runs/many/", excludes=("/study.json",))
    # probes run alone (a few single runs), the rest in packs: far under one request per run
    assert records["PUT"] <= 0.2 * n and records["HEAD"] == 0 and records["LIST"] <= 2, records
    found = Store(f"s3://{bucket}/runs", so).find(f"s3://{bucket}/runs/many")
    objects = len(found)
    packs = [p for p in found if "/_packs/" in p]
    singles = [p for p in found if p.endswith("/_result.json")]  # the probes: runs alone
    assert packs and singles, found
    puts = [p for k, p in log if k == "PUT" and "/runs/many/" in p]
    # one PUT per pack (its pack file), a single run's start marker and commit marker, the study
    # record (header + shard) and the invocation's cost record: nothing else
    assert sum("/_packs/" in p for p in puts) == len(packs), puts
    assert sum("/_started/" in p for p in puts) == len(singles), puts
    assert len(puts) <= len(packs) + 2 * len(singles) + 3, puts

    mark = proxy.mark()
    again = run_study(study, cluster=client, progress=False, keep_outcomes=False)
    assert again.counts["resumed"] == n
    log = proxy.log[mark:]
    # nothing of a run is written again: no start marker, output, log, marker or pack file
    written = [p for k, p in log if k in ("PUT", "DELETE") and ("/_started/" in p or "/_packs/" in p
                                                                   or "/runs/many/runs/" in p)]
    assert written == [], written
    kinds = collections.Counter(k for k, _ in log)
    # nothing at all is written: no writability probe (nothing will be written) and no study
    # record (the same record is in the store: its header's digest says so)
    assert kinds["PUT"] == 0 and kinds["DELETE"] == 0, log
    # one listing per 1,000 objects (+1), one read per record file and the study record's header
    assert kinds["LIST"] <= 1 + objects // 1000 and kinds["HEAD"] <= 2, kinds
    assert kinds["GET"] <= len(packs) + len(singles) + 1, (kinds, objects)


def _pack_specs(n: int, fn: str = "test_store_requests:trivial_run") -> list[dict]:
    return [{"name": f"t-{i}", "fn": fn, "params": {"i": i},
             "identity": {"name": f"t-{i}", "key": f"k{i}", "fn": fn, "params_hash": "h", "upstream": {}, "code": "c"},
             "upstream": {}, "study_seed": 0, "attempt": 1, "timeout_s": None, "clear": False,
             "attempt_id": f"{uuid.uuid4().hex}-1"} for i in range(n)]


def test_a_pack_leaves_no_start_marker_and_its_resume_writes_nothing(tmp_path):
    """A pack's only object is its pack file; a resume of the finished study writes nothing
    (no probe, no study record), so its files keep their modification times."""
    store = Store(str(tmp_path / "store"))
    rows = execute(_pack_specs(3), store, "p", "pk2")
    assert [r["value"] for r in rows] == [0, 1, 2]
    assert sorted(p.rsplit("/p/", 1)[1] for p in store.find(store.join("p"))) == ["_packs/pk2.json.gz"]
    study = Study("q", store=str(tmp_path / "store"), seed=0)
    study.add_many([Run(f"t-{i}", "test_store_requests:trivial_run", params={"i": i}) for i in range(30)])
    assert run_study(study, cluster="serial", progress=False).counts["done"] == 30
    before = {p: os.stat(p).st_mtime_ns for p in store.find(store.join("q"))}
    again = run_study(study, cluster="serial", progress=False)
    assert again.counts["resumed"] == 30 and again.outcomes["t-7"].value == 7
    assert {p: os.stat(p).st_mtime_ns for p in store.find(store.join("q"))} == before
    assert sorted(os.listdir(tmp_path / "store")) == ["p", "q"]  # no probe file left either
    study.runs["t-3"].timeout_s = 60  # the record changes (a policy field), nothing runs
    third = run_study(study, cluster="serial", progress=False)
    assert third.counts["resumed"] == 30
    assert Ledger(store, "q").read_study_columns()[1].column("timeout_s")[3] == 60
    started = tmp_path / "store" / "p" / "_started"
    assert not started.exists() or not any(started.iterdir())


def test_a_single_runs_start_marker_overlaps_the_run_and_a_second_execution_writes_nothing(tmp_path):
    """On a scheduler that never re-runs tasks by itself, the start marker's write overlaps the
    run's first steps (elsewhere the executor waits for it first), but nothing the run writes
    reaches the store before the marker is acknowledged: a scheduler's re-execution of the same
    attempt (marker already there) writes no output, no log, no commit, and keeps the marker."""
    store = Store(str(tmp_path / "store"))
    ledger = Ledger(store, "g")
    specs = _pack_specs(1, fn="test_store_requests:parquet_run")
    specs[0]["overlap_start"] = True  # as on a scheduler that never re-runs tasks (allowed-failures 0)
    attempt_id = specs[0]["attempt_id"]
    assert ledger.mark_started(attempt_id, {"started": "now"})  # the first execution, whose worker died
    rows = execute(specs, store, "g", None)
    assert [(r["status"], r["error_class"]) for r in rows] == [("error", "LostWorker")]
    run_dir = tmp_path / "store" / "g" / "runs" / "t-0"
    assert not run_dir.exists() or not any(run_dir.iterdir()), "the refused execution wrote under its run"
    assert ledger.attempt_started(attempt_id)  # not removed: it is the first execution's
    specs = _pack_specs(1, fn="test_store_requests:parquet_run")  # a new attempt runs and commits
    rows = execute(specs, store, "g", None)
    assert rows[0]["status"] == "done" and (run_dir / "out.parquet").exists() and (run_dir / "_result.json").exists()
    assert not ledger.attempt_started(specs[0]["attempt_id"])


def test_a_record_of_several_shards_is_not_rewritten_by_a_resume_with_nothing_to_do(tmp_path, monkeypatch):
    """A study record written a shard at a time (1,000,000 runs: four shards) is compared with the
    stored one by digest before anything is written: the resume writes nothing, and a changed run
    still rewrites it."""
    import runfleet.engine as engine

    monkeypatch.setattr(engine, "SHARD_ROWS", 7)  # 30 runs: five shards
    store = Store(str(tmp_path / "store"))
    study = Study("s", store=str(tmp_path / "store"), seed=0)
    study.add_many([Run(f"t-{i}", "test_store_requests:trivial_run", params={"i": i}) for i in range(30)])
    assert run_study(study, cluster="serial", progress=False).counts["done"] == 30
    assert len(Ledger(store, "s").read_study_header()["shards"]) == 5
    before = {p: os.stat(p).st_mtime_ns for p in store.find(store.join("s"))}
    again = run_study(study, cluster="serial", progress=False)
    assert again.counts["resumed"] == 30 and again.outcomes["t-29"].value == 29
    assert {p: os.stat(p).st_mtime_ns for p in store.find(store.join("s"))} == before
    study.runs["t-20"].timeout_s = 60  # a policy field changes: the record is rewritten, nothing runs
    assert run_study(study, cluster="serial", progress=False).counts["resumed"] == 30
    names, cols = Ledger(store, "s").read_study_columns()
    assert cols.column("timeout_s")[20] == 60 and len(cols.column("timeout_s")) == 30

"""A study of 20,000 short runs (issue 16): every value readable afterwards through
``runfleet status --json`` and ``runfleet.results``, on a local store and on a real moto S3 server;
resuming it executes nothing; a driver SIGKILLed at a random moment leaves a record the rerun
completes without executing any committed run again (each execution appends a line to a file)."""
import collections
import json
import os
import random
import signal
import subprocess
import textwrap
import time

import pytest

import runfleet
from conftest import BIN, run_cli, worker_env
from runfleet import Study, grid, run_study
from runfleet.ledger import Ledger
from runfleet.store import Store

N = 20_000


def _study(name: str, store: str, counter, storage_options=None) -> Study:
    s = Study(name, store=store, seed=3, storage_options=storage_options)
    s.add_many(grid("t-{i:05d}", "runfns:tick", {"i": range(N)}, params={"counter": str(counter)}))
    return s


def _check_values(frame) -> None:
    assert len(frame) == N and (frame["status"] == "done").all()
    values = dict(zip(frame["name"], frame["value"]))
    assert all(values[f"t-{i:05d}"] == 3 * i for i in range(N))
    assert frame["params"].iloc[17]["i"] == 17


def _executions(counter) -> collections.Counter:
    return collections.Counter(counter.read_text().split()) if counter.exists() else collections.Counter()


def test_20000_runs_local_store_values_status_and_resume(tmp_path, client):
    store, counter = str(tmp_path / "store"), tmp_path / "executions.txt"
    summary = run_study(_study("big", store, counter), cluster=client, progress=False, keep_outcomes=False)
    assert summary.counts["done"] == N and summary.exit_code == 0
    ran = _executions(counter)
    assert len(ran) == N and max(ran.values()) == 1
    _check_values(runfleet.results(f"{store}/big"))
    status = run_cli("status", f"{store}/big", "--json")
    assert status.returncode == 0, status.stderr
    rows = json.loads(status.stdout)
    assert len(rows) == N and {r["status"] for r in rows} == {"done"}
    # the record is columnar: a small header and shards, not one JSON of every run's params
    assert os.path.getsize(tmp_path / "store/big/study.json") < 2000
    assert list((tmp_path / "store/big/_study").glob("*.parquet"))
    again = run_study(_study("big", store, counter), cluster=client, progress=False, keep_outcomes=False)
    assert again.counts["resumed"] == N and again.counts["done"] == N
    assert _executions(counter) == ran  # nothing executed again


@pytest.mark.timeout(1800)  # each run's attempt start marker is 2 requests to moto: ~40,000 requests
def test_20000_runs_on_s3_values_status_and_resume(tmp_path, client, moto_s3):
    so, bucket = moto_s3["storage_options"], moto_s3["bucket"]
    store, counter = f"s3://{bucket}/runs", tmp_path / "executions.txt"
    summary = run_study(_study("big", store, counter, so), cluster=client, progress=False, keep_outcomes=False)
    assert summary.counts["done"] == N
    _check_values(runfleet.results(f"{store}/big", storage_options=so))
    rows = runfleet.study_status(f"{store}/big", storage_options=so)
    assert len(rows) == N and {r["status"] for r in rows} == {"done"}
    status = run_cli("status", f"{store}/big", "--json", "--storage-option", "key=testing",
                     "--storage-option", "secret=testing",
                     "--storage-option", f"client_kwargs.endpoint_url={moto_s3['endpoint_url']}")
    assert status.returncode == 0, status.stderr
    assert len(json.loads(status.stdout)) == N
    ran = _executions(counter)
    again = run_study(_study("big", store, counter, so), cluster=client, progress=False, keep_outcomes=False)
    assert again.counts["resumed"] == N
    assert _executions(counter) == ran


def test_20000_runs_driver_sigkilled_at_a_random_moment(tmp_path):
    store, counter = tmp_path / "store", tmp_path / "executions.txt"
    study = tmp_path / "study.yaml"
    study.write_text(textwrap.dedent(f"""
        name: big
        store: {store}
        seed: 3
        runs:
          - name: t-{{i}}
            fn: runfns:tick
            params: {{counter: {counter}}}
            grid: {{i: {{range: [0, {N}]}}}}
        """))
    proc = subprocess.Popen([str(BIN / "runfleet"), "run", str(study), "--workers", "2", "--progress", "none"],
                            cwd=tmp_path, env=worker_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    ledger = Ledger(Store(str(store)), "big")
    deadline = time.time() + 120
    while not (store / "big/study.json").exists() and time.time() < deadline and proc.poll() is None:
        time.sleep(0.05)
    time.sleep(random.uniform(0.0, 1.5))  # somewhere while packs commit (or just after the end)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    time.sleep(2.0)  # orphaned workers exit with their driver: nothing commits after the kill
    committed = set(ledger.committed_names())
    ran_before = _executions(counter)
    assert committed <= set(ran_before)
    # the record the killed driver left is readable
    head, cols = ledger.read_study_columns()
    assert head["name"] == "big" and len(cols) == N
    done = run_cli("run", study, "--workers", "2", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    ran = _executions(counter)
    for name in committed:  # committed runs never ran again
        assert ran[name] == 1, name
    assert set(ran) == {f"t-{i}" for i in range(N)}
    frame = runfleet.results(f"{store}/big")
    assert len(frame) == N and (frame["status"] == "done").all()
    assert dict(zip(frame["name"], frame["value"]))["t-1234"] == 3702
    again = run_cli("run", study, "--workers", "2", cwd=tmp_path)
    assert again.returncode == 0 and _executions(counter) == ran


def test_a_store_written_before_format_2_is_still_read(tmp_path):
    """A whole ``study.json`` with a ``runs`` list and ``_packs/<id>.json`` {"markers": ...}, as
    earlier runfleet wrote them: status, results and resume read them; the next invocation writes
    format 2 beside them."""
    from runfleet.keys import run_seed
    from runfleet.ledger import RunRecord, now_iso
    from runfleet.plan import key_runs
    from runfleet.study import resolve_fn

    store = tmp_path / "store"
    s = Study("old", store=str(store), seed=1)
    s.add_many(grid("t-{i}", "runfns:trivial", {"i": [0, 1, 2]}))
    deps = s.validate()
    keyed = key_runs(s.runs, deps, {n: resolve_fn(s.runs[n].fn, n) for n in deps}, {}, None, 1)
    markers = {}
    for i, (name, kr) in enumerate(keyed.items()):
        markers[name] = RunRecord.done(kr.identity(), value=i * 10, attempt=1, started=now_iso(), finished=now_iso(),
                                       duration_s=0.001, host="h", pid=1, seed=run_seed(1, name), versions={},
                                       params=kr.run.params).data
    (store / "old/_packs").mkdir(parents=True)
    (store / "old/_packs/p1.json").write_text(json.dumps({"markers": {n: markers[n] for n in ("t-0", "t-1")},
                                                          "finished": now_iso()}))
    (store / "old/runs/t-2").mkdir(parents=True)
    (store / "old/runs/t-2/_result.json").write_text(json.dumps(markers["t-2"]))
    runs = [{"name": n, "fn": kr.fn_path, "params": kr.run.params, "after": [], "key": kr.key, "retries": 0,
             "timeout_s": None} for n, kr in keyed.items()]
    (store / "old/study.json").write_text(json.dumps({"name": "old", "seed": 1, "store": str(store),
                                                       "updated": now_iso(), "runs": runs}))
    frame = runfleet.results(f"{store}/old")
    assert list(frame["value"]) == [0, 10, 20] and list(frame["params"]) == [{"i": 0}, {"i": 1}, {"i": 2}]
    assert [r["status"] for r in runfleet.study_status(f"{store}/old")] == ["done"] * 3
    assert runfleet.study_params(str(store), "old") == {"t-0": {"i": 0}, "t-1": {"i": 1}, "t-2": {"i": 2}}
    again = run_study(s, cluster="serial", progress=False)
    assert again.counts["resumed"] == 3
    head = json.loads((store / "old/study.json").read_text())
    assert head["format"] == 2 and head["run_count"] == 3 and "runs" not in head
    assert list(runfleet.results(f"{store}/old")["value"]) == [0, 10, 20]

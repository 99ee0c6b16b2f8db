"""A study whose store is S3 (a real moto server process), written from worker processes."""
import json

import pandas as pd
import s3fs

from conftest import run_cli
from runfleet import Run, Study, grid, run_study


def test_study_on_s3_from_workers_and_resume(moto_s3, client):
    so = moto_s3["storage_options"]
    store = f"s3://{moto_s3['bucket']}/prefix"
    s = Study(name="s3study", store=store, seed=1, storage_options=so)
    s.add_many(grid("w-{i}", "runfns:write_s3", {"i": [0, 1, 2, 3]}, params={"n": 25}, pack=False))
    s.add(Run("after", "runfns:record", after=["w-*"]))
    summary = run_study(s, cluster=client, progress=False)
    assert summary.exit_code == 0
    pids = {o.value["pid"] for n, o in summary.outcomes.items() if n.startswith("w-")}
    assert len(pids) >= 1
    fs = s3fs.S3FileSystem(**so)
    marker = json.loads(fs.cat_file(f"{moto_s3['bucket']}/prefix/s3study/runs/w-2/_result.json"))
    assert marker["status"] == "done" and marker["value"]["rows"] == 25
    df = pd.read_parquet(f"{store}/s3study/runs/w-2/data.parquet", storage_options=so)
    assert len(df) == 25
    # credentials never reach the store's records
    for path in fs.find(f"{moto_s3['bucket']}/prefix/s3study"):
        if path.endswith(".json"):
            assert "testing" not in fs.cat_file(path).decode()
    again = run_study(s, cluster=client, progress=False)
    assert again.counts["resumed"] == 5


def test_status_cli_on_s3(moto_s3, tmp_path):
    so = moto_s3["storage_options"]
    store = f"s3://{moto_s3['bucket']}/p"
    study = tmp_path / "s.yaml"
    study.write_text(f"name: st\nstore: {store}\nruns:\n  - {{name: a, fn: 'runfns:add', params: {{x: 1.0}}}}\n")
    opts = ["--storage-option", "key=testing", "--storage-option", "secret=testing",
            "--storage-option", f"client_kwargs.endpoint_url={moto_s3['endpoint_url']}"]
    proc = run_cli("run", study, "--workers", "1", *opts, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "testing" not in proc.stdout + proc.stderr
    rows = json.loads(run_cli("status", f"{store}/st", "--json", *opts).stdout)
    assert rows == [{"name": "a", "status": "done", "attempts": 1, "duration_s": rows[0]["duration_s"],
                     "error_class": None, "finished": rows[0]["finished"], "key": rows[0]["key"]}]


def test_marker_commit_on_s3_is_exclusive_under_a_race(moto_s3):
    """Eight writers commit the same marker at the same instant: the conditional PUT
    (If-None-Match: *) lets exactly one create it, and the object holds that writer's bytes."""
    import threading

    from runfleet.store import Store

    so = moto_s3["storage_options"]
    for round_ in range(5):
        path = f"{moto_s3['bucket']}/race/{round_}/_result.json"
        stores = [Store(f"s3://{moto_s3['bucket']}/race", so) for _ in range(8)]
        barrier = threading.Barrier(len(stores))
        won = [None] * len(stores)

        def commit(i):
            barrier.wait()
            won[i] = stores[i].create_exclusive(path, f"writer {i}".encode())

        threads = [threading.Thread(target=commit, args=(i,)) for i in range(len(stores))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert won.count(True) == 1, won
        fs = s3fs.S3FileSystem(**so)
        assert fs.cat_file(path).decode() == f"writer {won.index(True)}"


def test_object_store_inputs_are_read_with_the_studys_storage_options(moto_s3):
    """An input beside the store (same endpoint and credentials) keys the run by its ETag; a
    changed object re-runs it. Without the study's storage options the input cannot be reached."""
    from runfleet import plan_study

    so = moto_s3["storage_options"]
    fs = s3fs.S3FileSystem(**so)
    data = f"{moto_s3['bucket']}/inputs/loads.csv"
    fs.pipe_file(data, b"a,b\n1,2\n")

    def make():
        s = Study(name="inp", store=f"s3://{moto_s3['bucket']}/store", storage_options=so)
        s.add(Run("r", "runfns:record", params={"x": 1}, inputs=[f"s3://{data}"]))
        return s

    assert run_study(make(), cluster="serial", progress=False).exit_code == 0
    assert plan_study(make())[0]["action"] == "done"
    fs.pipe_file(data, b"a,b\n1,3\n")  # same size, other bytes: another ETag
    row = plan_study(make())[0]
    assert row["action"] == "run" and row["reason"] == "parameters changed: inputs"

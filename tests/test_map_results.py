"""runfleet.map (plain functions, resumable) and runfleet.results (values back from the store)."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections import Counter

import pandas as pd
import pytest

import runfleet
from conftest import worker_env
from mapfns import draws, fragile, square
from runfleet.errors import InputError, ItemsFailed
from runfleet.mapping import ItemFailure
from waiting import alive, process_tree, wait_until


def test_map_returns_squares_in_order_and_results_reads_them_back(client, tmp_path):
    store = str(tmp_path / "store")
    values = runfleet.map(square, range(1000), store=store, cluster=client)
    assert values == [i * i for i in range(1000)]
    assert list((tmp_path / "store" / "square" / "_packs").glob("*.json*")), "expected packed runs"
    frame = runfleet.results(f"{store}/square")
    assert list(frame.columns) == ["name", "status", "attempts", "duration_s", "error_class", "value", "params"]
    assert len(frame) == 1000 and (frame["status"] == "done").all()
    assert frame["name"].iloc[17] == "item-000017" and frame["params"].iloc[17] == {"item": 17}
    assert frame["value"].tolist() == [i * i for i in range(1000)]
    assert (frame["attempts"] == 1).all() and frame["duration_s"].notna().all()
    # a second call is answered from the store
    t0 = time.perf_counter()
    assert runfleet.map(square, range(1000), store=store, cluster=client) == values
    assert time.perf_counter() - t0 < 30


def test_map_failures_raise_one_error_or_come_back_as_markers(client, tmp_path):
    store = str(tmp_path / "store")
    with pytest.raises(ItemsFailed) as info:
        runfleet.map(fragile, range(20), store=store, cluster=client, name="frag")
    err = info.value
    assert [f.index for f in err.failures] == [3, 10, 17]
    assert "3 of 20 items failed" in str(err) and "items[3] (item-000003): ValueError: bad item 3" in str(err)
    assert err.values[4] == {"x": 4, "half": 2.0}
    back = runfleet.map(fragile, range(20), store=store, cluster=client, name="frag", on_error="return")
    assert isinstance(back[10], ItemFailure) and not back[10]
    assert (back[10].item, back[10].error_class, back[10].message) == (10, "ValueError", "bad item 10")
    assert back[5] == {"x": 5, "half": 2.5}
    frame = runfleet.results(f"{store}/frag").set_index("name")
    assert frame.loc["item-000017", "status"] == "failed"
    assert frame.loc["item-000017", "error_class"] == "ValueError"
    assert frame.loc["item-000017", "value"] is None
    assert (frame["status"] == "done").sum() == 17


def test_map_seeds_global_generators_per_item(client, tmp_path):
    a = runfleet.map(draws, [1, 2, 3], store=str(tmp_path / "a"), cluster=client, seed=5)
    b = runfleet.map(draws, [1, 2, 3], store=str(tmp_path / "b"), cluster=client, seed=5)
    c = runfleet.map(draws, [1, 2, 3], store=str(tmp_path / "c"), cluster=client, seed=6)
    assert a == b and a != c
    assert len({v["np"] for v in a}) == 3  # each item its own stream
    assert a[2]["arr"] == [0, 1, 2]  # numpy array returned: stored as a list


def test_map_bad_input_is_one_error_before_anything_runs(tmp_path):
    with pytest.raises(InputError, match=r"items\[1\]: not JSON-able"):
        runfleet.map(square, [1, object()], store=str(tmp_path / "s"))
    with pytest.raises(InputError, match="on_error"):
        runfleet.map(square, [1], store=str(tmp_path / "s"), on_error="ignore")
    with pytest.raises(InputError, match="unknown option 'retry'"):
        runfleet.map(square, [1], store=str(tmp_path / "s"), retry=2)
    assert not (tmp_path / "s").exists()


def test_results_on_s3(client, moto_s3):
    so = moto_s3["storage_options"]
    store = f"s3://{moto_s3['bucket']}/runs"
    values = runfleet.map(fragile, range(30), store=store, cluster=client, storage_options=so, on_error="return")
    assert values[0] == {"x": 0, "half": 0.0} and isinstance(values[3], ItemFailure)
    frame = runfleet.results(f"{store}/fragile", storage_options=so)
    assert len(frame) == 30
    assert Counter(frame["status"]) == {"done": 26, "failed": 4}
    assert frame.set_index("name").loc["item-000029", "value"] == {"x": 29, "half": 14.5}


def test_results_of_a_missing_study_is_input_error(tmp_path):
    with pytest.raises(InputError, match="no study here"):
        runfleet.results(str(tmp_path / "nothing"))


SCRIPT = textwrap.dedent("""
    import os, sys, time
    import runfleet

    EXEC_LOG = sys.argv[2]
    TAG = sys.argv[3]

    def slow_square(x):  # defined in the script: sent to the workers by value
        with open(EXEC_LOG, "a") as f:
            f.write(f"{TAG} {x}\\n")
        time.sleep(0.01)  # each item takes time: the driver is killed mid-map
        return x * x

    values = runfleet.map(slow_square, range(1000), store=sys.argv[1], workers=2)
    assert values == [i * i for i in range(1000)]
    print("OK", len(values))
""")


def test_kill_driver_mid_map_then_call_again_runs_no_committed_item_twice(tmp_path):
    script = tmp_path / "squares.py"
    script.write_text(SCRIPT)
    store, log = tmp_path / "store", tmp_path / "executions.txt"
    env = worker_env()
    proc = subprocess.Popen([sys.executable, str(script), str(store), str(log), "first"], env=env, cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)

    def committed() -> int:
        assert proc.poll() is None, proc.stderr.read()[-3000:]
        try:
            return int((runfleet.results(f"{store}/slow_square")["status"] == "done").sum())
        except InputError:
            return 0

    wait_until(lambda: committed() >= 150, 240, "150 items committed", interval=0.2)
    tree = process_tree(proc.pid)  # its workers' nannies run in sessions of their own
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(10)
    # the workers notice the driver is gone and end: nothing can commit once the session is empty
    wait_until(lambda: not alive(tree), 30, "the killed driver's workers gone")
    before = runfleet.results(f"{store}/slow_square")
    done_before = set(before.loc[before["status"] == "done", "params"].map(lambda p: p["item"]))
    assert 150 <= len(done_before) < 1000

    again = subprocess.run([sys.executable, str(script), str(store), str(log), "second"], env=env, cwd=tmp_path,
                           capture_output=True, text=True, timeout=300)
    assert again.returncode == 0 and "OK 1000" in again.stdout, again.stderr[-3000:]
    lines = [line.split() for line in log.read_text().splitlines()]
    second = Counter(int(x) for tag, x in lines if tag == "second")
    assert not set(second) & done_before, "items committed before the kill ran again"
    assert set(second) | done_before == set(range(1000))
    assert max(second.values()) == 1
    frame = runfleet.results(f"{store}/slow_square")
    assert (frame["status"] == "done").all() and frame["value"].tolist() == [i * i for i in range(1000)]

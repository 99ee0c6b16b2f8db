"""The ``runfleet`` CLI as a user runs it: a subprocess."""
import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from conftest import BIN, REPO, run_cli, worker_env
from waiting import alive, process_tree, wait_until
from runfleet.ledger import pack_markers


def write(path: Path, text: str) -> Path:
    path.write_text(textwrap.dedent(text))
    return path


GOOD_RUNS = """
runs:
  - name: prep
    fn: runfns:add
    params: {x: 1.0}
  - name: sim-{x}
    fn: runfns:add
    grid: {x: [1.0, 2.0]}
    after: [prep]
"""

BAD_INPUTS = {
    "malformed": ("name: s\nstore: STORE\nruns: [\n  - name: a\n", "not valid YAML at line"),
    "unknown_top": ("name: s\nstore: STORE\nrunz: []\n", "unknown field 'runz'"),
    "unknown_run_field": ("name: s\nstore: STORE\nruns:\n  - {name: a, fn: 'runfns:add', gird: {x: [1]}}\n",
                          "runs[0] (a): unknown field 'gird'"),
    "duplicate": ("name: s\nstore: STORE\nruns:\n  - {name: a, fn: 'runfns:add'}\n  - {name: a, fn: 'runfns:add'}\n",
                  "duplicate run name 'a'"),
    "unknown_after": ("name: s\nstore: STORE\nruns:\n  - {name: a, fn: 'runfns:add', after: [nope]}\n",
                      "run 'a': after: unknown run 'nope'"),
    "glob_matches_nothing": ("name: s\nstore: STORE\nruns:\n  - {name: a, fn: 'runfns:add', after: ['x-*']}\n",
                             "pattern 'x-*' matches no run"),
    "cycle": ("name: s\nstore: STORE\nruns:\n  - {name: a, fn: 'runfns:add', after: [b]}\n"
              "  - {name: b, fn: 'runfns:add', after: [a]}\n", "dependency cycle: "),
    "fn_module": ("name: s\nstore: STORE\nruns:\n  - {name: a, fn: 'no_such_module:f'}\n",
                  "run 'a': fn: cannot import module 'no_such_module'"),
    "fn_attr": ("name: s\nstore: STORE\nruns:\n  - {name: a, fn: 'runfns:nope'}\n",
                "module 'runfns' has no attribute 'nope'"),
    "params_type": ("name: s\nstore: STORE\nruns:\n  - {name: a, fn: 'runfns:add', params: [1, 2]}\n",
                    "runs[0] (a): params: expected a mapping"),
    "bad_seed": ("name: s\nstore: STORE\nseed: -3\nruns:\n  - {name: a, fn: 'runfns:add'}\n",
                 "seed: expected a non-negative integer"),
    "no_store": ("name: s\nruns:\n  - {name: a, fn: 'runfns:add'}\n", "store: no store given"),
}


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_bad_input_one_line_exit_2_nothing_written(tmp_path, case):
    text, expected = BAD_INPUTS[case]
    store = tmp_path / "store"
    study = write(tmp_path / "study.yaml", text.replace("STORE", str(store)))
    proc = run_cli("run", study, cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr
    assert lines[0].startswith(f"runfleet: error: {study}"), lines[0]
    assert expected in lines[0]
    assert not store.exists()


def test_unwritable_store_is_bad_input(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    study = write(tmp_path / "study.yaml", f"name: s\nstore: {blocker}/store\n" + GOOD_RUNS)
    proc = run_cli("run", study, cwd=tmp_path)
    assert proc.returncode == 2
    assert f"store {blocker}/store: cannot be written" in proc.stderr
    assert blocker.read_text() == "not a directory"


def test_bad_storage_option_and_status_of_missing_study(tmp_path):
    study = write(tmp_path / "study.yaml", f"name: s\nstore: {tmp_path}/store\n" + GOOD_RUNS)
    proc = run_cli("run", study, "--storage-option", "novalue", cwd=tmp_path)
    assert proc.returncode == 2 and "expected key=value" in proc.stderr
    proc = run_cli("status", tmp_path / "store" / "nothing")
    assert proc.returncode == 2 and "no study here" in proc.stderr and "Traceback" not in proc.stderr


def test_run_status_dry_run_and_exit_codes(tmp_path):
    store = tmp_path / "store"
    study = write(tmp_path / "study.yaml", f"""
        name: cli
        store: {store}
        seed: 5
        defaults: {{retries: 0}}
        runs:
          - {{name: ok, fn: 'runfns:add', params: {{x: 2.0}}}}
          - {{name: bad, fn: 'runfns:boom'}}
          - {{name: after-bad, fn: 'runfns:add', after: [bad]}}
        """)
    proc = run_cli("run", study, "--workers", "2", cwd=tmp_path)
    assert proc.returncode == 1, proc.stderr
    assert "1 done" in proc.stdout and "1 failed" in proc.stdout and "1 skipped" in proc.stdout
    assert "dashboard: http://" in proc.stderr  # the dashboard link is printed
    assert "[cli] finished:" in proc.stderr  # plain log lines when not a terminal
    status = json.loads(run_cli("status", store / "cli", "--json").stdout)
    by = {r["name"]: r for r in status}
    assert by["ok"]["status"] == "done" and by["ok"]["attempts"] == 1 and by["ok"]["duration_s"] >= 0
    assert by["bad"]["status"] == "failed" and by["bad"]["error_class"] == "ValueError"
    assert by["after-bad"]["status"] == "skipped" and by["after-bad"]["error_class"] is None
    table = run_cli("status", store / "cli").stdout
    assert "ValueError" in table and "1 done, 1 failed, 1 skipped" in table
    report = tmp_path / "report.html"
    assert run_cli("report", store / "cli", "--out", report).returncode == 0
    page = report.read_text()
    assert "1 done</span>" in page and "1 failed</span>" in page and "1 skipped</span>" in page
    assert "ValueError" in page and "raise ValueError" in page  # the failure's traceback
    assert "upstream &#39;bad&#39; failed" in page and "<svg" in page
    plan = run_cli("run", study, "--dry-run", cwd=tmp_path).stdout
    assert "done  ok" in plan and "run   bad" in plan and "failed before (ValueError)" in plan
    assert "skipped before" in plan and "2 of 3 runs would run" in plan


def test_seeds_identical_with_one_or_two_workers(tmp_path):
    values = []
    for workers in (1, 2):
        store = tmp_path / f"store{workers}"
        study = write(tmp_path / f"s{workers}.yaml", f"""
            name: seeds
            store: {store}
            seed: 11
            runs:
              - {{name: 'd-{{i}}', fn: 'runfns:draw', grid: {{i: [0, 1, 2, 3, 4]}}}}
            """)
        assert run_cli("run", study, "--workers", workers, cwd=tmp_path).returncode == 0
        values.append(_committed_values(store / "seeds"))
    assert values[0] == values[1] and len(values[0]) == 5


def _committed_values(study_dir: Path) -> dict:
    """Returned values of all committed runs: individual markers and packed ones."""
    out = {p.parent.name: json.loads(p.read_text())["value"] for p in (study_dir / "runs").glob("*/_result.json")}
    for f in (study_dir / "_packs").glob("*.json*"):
        out.update({k: v["value"] for k, v in pack_markers(f.read_bytes()).items()})
    return out


def _markers(study_dir: Path) -> set[str]:
    done = {p.parent.name for p in (study_dir / "runs").glob("*/_result.json")}
    for f in (study_dir / "_packs").glob("*.json*"):
        done |= set(pack_markers(f.read_bytes()))
    return done


def test_sigkill_driver_then_resume_completes_without_recommitting(tmp_path):
    store = tmp_path / "store"
    counter = tmp_path / "executions.txt"
    study = write(tmp_path / "study.yaml", f"""
        name: crash
        store: {store}
        runs:
          - name: s-{{i}}
            fn: runfns:sleepy
            params: {{seconds: 0.6, counter: {counter}}}
            grid: {{i: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]}}
            pack: false
          - {{name: total, fn: 'runfns:record', after: ['s-*']}}
        """)
    proc = subprocess.Popen([str(BIN / "runfleet"), "run", str(study), "--workers", "2"], cwd=tmp_path,
                            env=worker_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    wait_until(lambda: len(_markers(store / "crash")) >= 4, 120, "4 runs committed", interval=0.05)
    tree = process_tree(proc.pid)  # its workers' nannies run in sessions of their own
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    before = _markers(store / "crash")
    assert 4 <= len(before) < 13
    # orphaned workers exit with their driver: once every process of its session is gone, nothing
    # committed after the kill
    wait_until(lambda: not alive(tree), 30, "the killed driver's workers gone")
    assert _markers(store / "crash") == before
    executed_before = counter.read_text().split()
    done = run_cli("run", study, "--workers", "2", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert _markers(store / "crash") == {f"s-{i}" for i in range(12)} | {"total"}
    executions = counter.read_text().split()
    for name in before:  # committed runs never ran again
        assert executions.count(name) == 1, name
    for i in range(12):
        assert (store / f"crash/runs/s-{i}/done.txt").read_text() == f"s-{i}"
    assert len(executions) >= 12 and len(executed_before) < len(executions)
    status = json.loads(run_cli("status", store / "crash", "--json").stdout)
    assert {r["status"] for r in status} == {"done"}

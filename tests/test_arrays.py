"""kind: slurm-array — studies run as SLURM job arrays (runfleet.arrays).

Without SLURM: profile validation, the wave planner, and elements + final job run in-process
against a real local store. With real SLURM (root; started like the other SLURM tests): a
200-run chain byte-identical to the embedded cluster, ``--detach`` with retries and skips,
``scancel`` of an element mid-run, chunking above ``max_array_size``, rerun submits nothing.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from cluster_fixtures import *  # noqa: F401,F403
from cluster_fixtures import REPO

from runfleet.arrays.element import run_element
from runfleet.arrays.finalize import finalize
from runfleet.arrays.manifest import Submissions
from runfleet.arrays.planner import plan_waves, run_spec
from runfleet.cli import main
from runfleet.ledger import Ledger
from runfleet.store import Store
from runfleet.studyfile import load_study

RUNFLEET = str(Path(sys.executable).parent / "runfleet")
TESTS = str(REPO / "tests")


def write_study(path: Path, name: str, store: Path, runs: list[dict], defaults: dict | None = None) -> Path:
    path.write_text(yaml.safe_dump({"name": name, "store": str(store), "seed": 7,
                                    "defaults": defaults or {"retries": 1, "backoff_s": 1}, "runs": runs},
                                   sort_keys=False))
    return path


def chain_runs(n_sims: int, **sim_params) -> list[dict]:
    return [
        {"name": "prep", "fn": "arrays_runfns:prep", "params": {"n": 64}},
        {"name": "sim-{i:03d}", "fn": "arrays_runfns:sim", "grid": {"i": list(range(n_sims))},
         "params": sim_params, "after": ["prep"]},
        {"name": "summary", "fn": "arrays_runfns:summary", "after": ["sim-*"]},
    ]


def array_profile(**over) -> dict:
    prof = {"kind": "slurm-array", "cores": 1, "memory": "700MB", "walltime": "00:10:00",
            "max_concurrent": 2, "runs_per_element": 25, "env": {"pythonpath": [TESTS]}}
    prof.update(over)
    return prof


def outputs(root: Path) -> dict[str, bytes]:
    """Run outputs (not markers, logs or errors) under ``<study>/runs``, by relative path."""
    skip = {"_result.json", "_log.txt", "_error.json"}
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted((root / "runs").rglob("*"))
            if p.is_file() and p.name not in skip}


def values(study_root: Path) -> dict:
    store, name = Store(str(study_root.parent)), study_root.name
    records, _ = Ledger(store, name).load()
    out = {}
    for n, r in records.items():
        v = r.data.get("value")
        if isinstance(v, dict):
            v = {k: x for k, x in v.items() if k != "job"}
        out[n] = (r.status, v)
    return out


# --------------------------------------------------------------------------- without SLURM
def test_profile_errors_are_one_line_exit_2_nothing_written(tmp_path, profiles_file, capsys):
    store = tmp_path / "store"
    study = write_study(tmp_path / "s.yaml", "bad", store, chain_runs(3))
    profiles_file({"nowall": {"kind": "slurm-array", "cores": 1}})
    assert main(["run", str(study), "--cluster", "nowall"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "clusters.nowall.walltime: missing" in err
    profiles_file({"big": {"kind": "slurm-array", "walltime": "00:10:00", "adapt": {"maximum": 3}}})
    assert main(["run", str(study), "--cluster", "big"]) == 2
    err = capsys.readouterr().err.strip()
    assert "clusters.big.adapt: unknown option for kind 'slurm-array'" in err
    assert main(["run", str(study), "--detach"]) == 2
    assert "--detach: needs --cluster" in capsys.readouterr().err
    assert not store.exists()


def test_no_sbatch_on_path_is_exit_3_nothing_written(tmp_path, profiles_file, capsys, monkeypatch):
    store = tmp_path / "store"
    study = write_study(tmp_path / "s.yaml", "nosb", store, chain_runs(3))
    profiles_file({"arr": array_profile()})
    empty = tmp_path / "bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    assert main(["run", str(study), "--cluster", "arr"]) == 3
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "sbatch not found on PATH" in err
    assert not store.exists()


def test_planner_waves_follow_the_chain_and_skip_done_runs(tmp_path):
    study = load_study(write_study(tmp_path / "s.yaml", "plan", tmp_path / "store", chain_runs(10)))
    plan = plan_waves(study, {}, set(), runs_per_element=4)
    assert [w.runs for w in plan.waves][0] == ["prep"] and plan.waves[2].runs == ["summary"]
    assert [len(e) for e in plan.waves[1].elements] == [4, 4, 2]
    assert plan.n_elements == 1 + 3 + 1


def test_elements_and_final_job_in_process_commit_skip_and_finish(tmp_path):
    """Element and final job logic against a real local store (no SLURM): a failing run's
    dependents are skipped with the reason; the last final job marks the submission finished."""
    store_dir = tmp_path / "store"
    runs = chain_runs(4) + [{"name": "bad", "fn": "arrays_runfns:boom", "retries": 0},
                            {"name": "after-bad", "fn": "arrays_runfns:summary", "after": ["bad"]}]
    study = load_study(write_study(tmp_path / "s.yaml", "inproc", store_dir, runs))
    store = Store(str(store_dir))
    plan = plan_waves(study, {}, set(), runs_per_element=3)
    subs = Submissions(store, study.name)
    sub = "test-sub"
    subs.write_submission(sub, {"id": sub, "study": study.name, "store": store.url, "waves": [
        {"wave": w.index} for w in plan.waves], "template": {"log_dir": subs.logs_dir(sub), "env_file": None},
        "runs_per_element": 3, "max_array_size": 10})
    for w in plan.waves:
        subs.write_manifest(sub, w.index, 0, {"created": "", "known": {}, "elements": [
            [run_spec(study, plan.keyed[n], 1, False) for n in e] for e in w.elements]})
    log = open(tmp_path / "log.txt", "w")
    for w in plan.waves:
        for i in range(len(w.elements)):
            run_element(store, study.name, sub, w.index, 0, i, out=log)
        counts = finalize(store, study.name, sub, w.index, 0, out=log)
        assert counts["retry"] == 0 and counts["unstarted"] == 0
    got = values(store_dir / study.name)
    assert got["summary"] == ("done", {"n": 4, "mean_var": pytest.approx(got["summary"][1]["mean_var"])})
    assert got["bad"][0] == "failed"
    err = json.loads((store_dir / study.name / "runs" / "after-bad" / "_error.json").read_text())
    assert err["status"] == "skipped" and err["reason"] == "upstream 'bad' failed"
    assert subs.marked(sub, "finished")
    # an element run again (a resubmitted element) commits nothing twice
    marker = (store_dir / study.name / "runs" / "sim-000" / "_result.json").read_bytes()
    run_element(store, study.name, sub, 1, 0, 0, out=log)
    assert (store_dir / study.name / "runs" / "sim-000" / "_result.json").read_bytes() == marker


# --------------------------------------------------------------------------- real SLURM
def _wait_finished(study_url: str, timeout: float) -> None:
    root = Path(study_url)
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        cur = root / "_arrays" / "current.json"
        if cur.exists():
            sub = json.loads(cur.read_text())["submission"]
            if (root / "_arrays" / sub / "finished.json").exists():
                return
        time.sleep(1)
    raise AssertionError(f"{study_url}: array submission not finished within {timeout} s")


def _status(study_url: str) -> str:
    proc = subprocess.run([RUNFLEET, "status", study_url], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


@pytest.mark.root
@pytest.mark.slow
def test_chain_of_200_as_arrays_byte_identical_to_embedded_cluster_and_rerun_submits_nothing(
        slurm, tmp_path, profiles_file, capsys, monkeypatch):
    from runfleet import run_study

    monkeypatch.chdir(tmp_path)
    profiles_file({"arr": array_profile(max_concurrent=2, runs_per_element=25)})
    study_file = write_study(tmp_path / "chain.yaml", "chain", tmp_path / "arrays", chain_runs(200))

    # the same study on the embedded local cluster, into another store
    local = run_study(load_study(study_file), store=str(tmp_path / "local"), workers=2, progress=False)
    assert local.exit_code == 0 and local.counts["done"] == 202

    t0 = time.monotonic()
    assert main(["run", str(study_file), "--cluster", "arr", "--progress", "none"]) == 0
    print(f"arrays: 202 runs in {time.monotonic() - t0:.1f} s", file=sys.stderr)
    out = capsys.readouterr().out
    assert "wave 1: 200 runs in 8 element(s)" in out and "[0-7%2]" in out
    assert "study chain: 202 done (0 already in the store), 0 failed, 0 skipped" in out

    arrays_root, local_root = tmp_path / "arrays" / "chain", tmp_path / "local" / "chain"
    got, want = outputs(arrays_root), outputs(local_root)
    assert len(want) == 202 and got == want                       # byte-identical outputs
    assert values(arrays_root) == values(local_root)              # same returned values
    jobs = {json.loads((arrays_root / "runs" / f"sim-{i:03d}" / "_result.json").read_text())["value"]["job"]
            for i in range(200)}
    assert len(jobs) == 1 and None not in jobs                    # all sims ran in one array job
    sub = json.loads((arrays_root / "_arrays" / "current.json").read_text())["submission"]
    logs = sorted(p.name for p in (arrays_root / "_arrays" / sub / "logs").iterdir())
    element_logs = [n for n in logs if "-final-" not in n]
    assert len(element_logs) == 1 + 8 + 1                          # each element's log in the store
    assert all("element" in (arrays_root / "_arrays" / sub / "logs" / n).read_text() for n in element_logs)
    assert not list((arrays_root / "_arrays" / sub).glob("w1-r1*"))  # no retry round was needed

    # rerun after completion: nothing submitted; dry-run says the same
    assert main(["run", str(study_file), "--cluster", "arr", "--progress", "none"]) == 0
    out = capsys.readouterr().out
    assert "nothing to submit" in out and "202 done (202 already in the store)" in out
    assert json.loads((arrays_root / "_arrays" / "current.json").read_text())["submission"] == sub
    assert main(["run", str(study_file), "--cluster", "arr", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "0 of 202 runs would run" in out and "nothing to submit" in out

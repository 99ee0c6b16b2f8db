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
from waiting import wait_until

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

    def finished() -> bool:
        cur = root / "_arrays" / "current.json"
        return cur.exists() and (root / "_arrays" / json.loads(cur.read_text())["submission"] / "finished.json").exists()

    try:
        return wait_until(finished, timeout, "array submission finished", interval=1)
    except TimeoutError:
        pass
    queue = subprocess.run(["squeue"], capture_output=True, text=True)
    raise AssertionError(f"{study_url}: array submission not finished within {timeout} s\n{_status(study_url)}\n"
                         f"{queue.stdout}{queue.stderr}")


def _status(study_url: str) -> str:
    proc = subprocess.run([RUNFLEET, "status", study_url], capture_output=True, text=True, timeout=60)
    assert proc.returncode in (0, 1), proc.stderr  # 1: some runs failed or were skipped (on purpose here)
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


@pytest.mark.root
@pytest.mark.slow
def test_detach_retries_skips_chunks_and_secrets(slurm, tmp_path, profiles_file, monkeypatch):
    monkeypatch.chdir(tmp_path)
    token = "arrays-secret-token-value-123"
    store = tmp_path / "store"
    runs = [
        {"name": "flaky", "fn": "arrays_runfns:flaky", "params": {"marker_dir": str(tmp_path / "flaky")}},
        {"name": "bad", "fn": "arrays_runfns:boom", "params": {"message": "fails on purpose"}},
        {"name": "dep", "fn": "arrays_runfns:summary", "after": ["bad"]},
        {"name": "dep2", "fn": "arrays_runfns:summary", "after": ["dep"]},
        {"name": "env", "fn": "arrays_runfns:env_probe", "params": {"names": ["RF_ARR_TOKEN", "RF_ARR_PLAIN"]}},
        {"name": "p-{i}", "fn": "arrays_runfns:env_probe", "grid": {"i": [0, 1, 2]}},
    ]
    study = write_study(tmp_path / "d.yaml", "det", store, runs, defaults={"retries": 1, "backoff_s": 1})
    env = dict(os.environ, RF_ARR_TOKEN=token, PYTHONPATH=TESTS)

    # max_array_size above the site's MaxArraySize: one line, exit 2, nothing written or submitted
    profiles_file({"arr": array_profile(max_array_size=50_000)})
    proc = subprocess.run([RUNFLEET, "run", str(study), "--cluster", "arr", "--detach"], capture_output=True,
                          text=True, env=dict(env, RUNFLEET_CONFIG=os.environ["RUNFLEET_CONFIG"]), timeout=120)
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert "max_array_size: 50000 is above this site's MaxArraySize" in proc.stderr
    assert not store.exists()

    profiles_file({"arr": array_profile(runs_per_element=1, max_concurrent=2, max_array_size=4,
                                        env={"forward": ["RF_ARR_TOKEN"], "set": {"RF_ARR_PLAIN": "plain"},
                                             "pythonpath": [TESTS]},
                                        secrets_dir=str(tmp_path / "secrets"))})
    env["RUNFLEET_CONFIG"] = os.environ["RUNFLEET_CONFIG"]
    proc = subprocess.run([RUNFLEET, "run", str(study), "--cluster", "arr", "--detach"], capture_output=True,
                          text=True, env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr                 # the driver has exited
    url = str(store / "det")
    assert f"status: runfleet status {url}" in proc.stdout and f"cancel: runfleet cancel {url}" in proc.stdout
    assert "wave 0: 6 runs in 6 element(s)" in proc.stdout
    first_job = proc.stdout.split("array job(s) ")[1].split()[0]
    assert "SLURM: submission" in _status(url)              # the batch system's view while it runs

    script = subprocess.run(["scontrol", "write", "batch_script", first_job, "-"], capture_output=True,
                            text=True).stdout
    assert "--export=NONE" in script and token not in script and "RF_ARR_TOKEN" not in script
    env_files = list((tmp_path / "secrets").glob("*.env"))
    assert len(env_files) == 1 and oct(env_files[0].stat().st_mode & 0o777) == "0o600"

    _wait_finished(url, timeout=400)
    text = _status(url)
    rows = {line.split()[0]: line for line in text.splitlines()[1:] if line.split()}
    assert rows["flaky"].split()[1:3] == ["done", "2"]         # failed once, retried by policy
    assert rows["bad"].split()[1:3] == ["failed", "2"] and "ValueError: fails on purpose" in rows["bad"]
    assert "skipped" in rows["dep"] and "upstream 'bad' failed" in rows["dep"]
    assert "skipped" in rows["dep2"] and "upstream 'dep' skipped" in rows["dep2"]
    assert "SLURM: submission" in text and "finished" in text
    got = values(store / "det")
    assert got["env"] == ("done", {"set": ["RF_ARR_PLAIN", "RF_ARR_TOKEN"]})  # forwarded to the elements
    sub = json.loads((store / "det" / "_arrays" / "current.json").read_text())["submission"]
    subdir = store / "det" / "_arrays" / sub
    assert len(json.loads((subdir / "w0-r0.jobs.json").read_text())["arrays"]) == 2   # 6 elements, max 4 per array
    retried = {s["name"] for e in Submissions(Store(str(store)), "det").read_manifest(sub, 0, 1)["elements"]
               for s in e}
    assert retried == {"flaky", "bad"}
    for path in store.rglob("*"):                            # the secret is nowhere in the store
        if path.is_file():
            assert token.encode() not in path.read_bytes(), path
    assert not list((tmp_path / "secrets").glob("*.env"))    # the env file is gone with the study


def _element_jobs(name: str) -> list[str]:
    out = subprocess.run(["squeue", "-h", "-r", "-n", name, "-t", "RUNNING", "-o", "%i"], capture_output=True,
                         text=True).stdout
    return [line.strip() for line in out.splitlines() if line.strip()]


@pytest.mark.root
@pytest.mark.slow
def test_scancel_of_an_element_mid_run_resubmits_and_commits_nothing_twice(slurm, tmp_path, profiles_file,
                                                                          monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    counter = tmp_path / "executions.txt"
    store = tmp_path / "store"
    profiles_file({"arr": array_profile(runs_per_element=3, max_concurrent=2)})
    study = write_study(tmp_path / "c.yaml", "scan", store, chain_runs(6, sleep_s=2.5, counter=str(counter)),
                        defaults={"retries": 1, "backoff_s": 0})
    assert main(["run", str(study), "--cluster", "arr", "--detach"]) == 0
    root = store / "scan"
    sub = json.loads((root / "_arrays" / "current.json").read_text())["submission"]

    # cancel one element of the sims' wave while it is in the middle of a run
    def element_mid_run():
        for job in _element_jobs("rf-scan-w1"):
            attempts = [json.loads(p.read_text()) for p in (root / "_arrays" / sub / "attempts").glob("*.json")]
            running = [a for a in attempts if a.get("state") == "running" and a.get("job") == job]
            done_in_job = [n for n in counter.read_text().split()] if counter.exists() else []
            if running and len(done_in_job) >= 2:
                return job, running[0]["name"]
        return None

    victim = wait_until(element_mid_run, 300, "a sim element caught mid-run", interval=0.2)
    subprocess.run(["scancel", victim[0]], check=True)
    committed_before = {p.parent.name for p in (root / "runs").glob("sim-*/_result.json")}

    _wait_finished(str(root), timeout=400)
    got = values(root)
    assert all(got[n][0] == "done" for n in ["prep", "summary"] + [f"sim-{i:03d}" for i in range(6)]), got
    interrupted = victim[1]
    marker = json.loads((root / "runs" / interrupted / "_result.json").read_text())
    assert marker["attempt"] == 2                               # resubmitted by the final job
    executions = counter.read_text().split()
    assert executions.count(interrupted) == 2                  # the cancelled attempt, then the retry
    for name in committed_before:                               # committed runs were never run again
        assert executions.count(name) == 1
    assert not (root / "_packs").exists()                      # one exclusive marker per run
    assert sorted(p.parent.name for p in (root / "runs").glob("*/_result.json")) == sorted(got)
    assert "attempt 1 LostWorker" in "".join(p.read_text() for p in (root / "_arrays" / sub / "logs").glob("*-final-*"))


@pytest.mark.root
@pytest.mark.slow
def test_cancel_stops_the_jobs_and_a_rerun_resumes(slurm, tmp_path, profiles_file, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    store = tmp_path / "store"
    profiles_file({"arr": array_profile(runs_per_element=1, max_concurrent=1,
                                        secrets_dir=str(tmp_path / "secrets"))})
    study = write_study(tmp_path / "k.yaml", "canc", store, chain_runs(4, sleep_s=2.0))
    assert main(["run", str(study), "--cluster", "arr", "--detach"]) == 0
    capsys.readouterr()
    root = store / "canc"
    wait_until(lambda: list((root / "runs").glob("sim-*/_result.json")), 300, "a sim committed", interval=0.3)

    # a second submission while the first is queued is refused, nothing submitted
    assert main(["run", str(study), "--cluster", "arr", "--detach"]) == 2
    assert "already has" in capsys.readouterr().err

    assert main(["cancel", str(root)]) == 0
    ids = capsys.readouterr().out.split("SLURM job(s) ")[1].split()
    assert len(ids) == 3 * 2                                  # 3 waves: an array and a final job each
    wait_until(lambda: not subprocess.run(["squeue", "-h", "-j", ",".join(ids)], capture_output=True,
                                          text=True).stdout.strip(), 60, "cancelled jobs gone from the queue",
               interval=0.5)
    assert not list((tmp_path / "secrets").glob("*.env"))
    assert "cancelled" in _status(str(root))
    done_before = len(list((root / "runs").glob("*/_result.json")))
    assert 2 <= done_before < 6

    # the same command again resumes: only the runs without a marker are submitted
    assert main(["run", str(study), "--cluster", "arr", "--progress", "none"]) == 0
    out = capsys.readouterr().out
    assert f"({done_before} already in the store)" in out
    assert "study canc: 6 done" in out


@pytest.mark.root
@pytest.mark.slow
def test_s3_store_options_reach_elements_only_through_the_env_file(slurm, moto_s3, tmp_path, profiles_file,
                                                                  monkeypatch, capsys):
    import s3fs

    monkeypatch.chdir(tmp_path)
    secret = "arrays-s3-secret-value-987"
    so = {"key": "arrays-key", "secret": secret, "client_kwargs": {"endpoint_url": moto_s3["endpoint_url"]}}
    store = f"s3://{moto_s3['bucket']}/p"
    profiles_file({"arr": array_profile(runs_per_element=2, max_concurrent=2, log_directory=str(tmp_path / "logs"),
                                        secrets_dir=str(tmp_path / "secrets"))})
    study = write_study(tmp_path / "s3.yaml", "s3arr", Path("unused"), chain_runs(4))
    opts = ["--storage-option", "key=arrays-key", "--storage-option", f"secret={secret}",
            "--storage-option", f"client_kwargs.endpoint_url={moto_s3['endpoint_url']}"]
    assert main(["run", str(study), "--store", store, "--cluster", "arr", "--progress", "none", *opts]) == 0
    captured = capsys.readouterr()
    assert "study s3arr: 6 done" in captured.out and secret not in captured.out + captured.err
    records, _ = Ledger(Store(store, so), "s3arr").load()
    assert sorted(r.status for r in records.values()) == ["done"] * 6
    fs = s3fs.S3FileSystem(**so)
    files = fs.find(f"{moto_s3['bucket']}/p/s3arr")
    logs = [f for f in files if "/logs/" in f and "-final-" not in f]
    assert len(logs) == 1 + 2 + 1                              # element logs copied into the store
    for path in files:                                         # the secret is in no object
        assert secret.encode() not in fs.cat_file(path), path
    for path in (tmp_path / "logs").iterdir():
        assert secret not in path.read_text()
    assert not list((tmp_path / "secrets").glob("*.env"))

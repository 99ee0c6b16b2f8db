"""The `cholera` command: bad input exits 2 with one line; resume after SIGKILL of the driver."""
import json
import os
import signal
import subprocess
from pathlib import Path

import pandas as pd
import pytest

from conftest import BIN, REPO, run_cli, worker_env
from waiting import wait_until
from runfleet.ledger import pack_markers


def cholera(*args, timeout=300):
    return run_cli(*args, exe="cholera", timeout=timeout)


@pytest.mark.parametrize(
    "args, message",
    [
        (["calibrate", "--locations", "ETH,XYZ", "--sims", "5", "--store", "{tmp}"], "unknown location(s) XYZ; known ISO3 codes: AGO"),
        (["calibrate", "--locations", "ETH", "--sims", "0", "--store", "{tmp}"], "--sims: expected a positive integer, got 0"),
        (["calibrate", "--locations", "ETH", "--sims", "-3", "--store", "{tmp}"], "--sims: expected a positive integer, got -3"),
        (["calibrate", "--locations", "ETH", "--sims", "2", "--days", "9999", "--store", "{tmp}"], "days must be an integer in 1..1155"),
        (["calibrate", "--locations", "ETH", "--sims", "2", "--store", "{tmp}", "--priors", "{tmp}/bad.yaml"],
         "bad.yaml: parameters.rho.b: missing (required by beta)"),
        (["calibrate", "--locations", "ETH", "--sims", "2", "--store", "{tmp}", "--priors", "{tmp}/nofile.yaml"], "cannot read priors file"),
        (["calibrate", "--locations", "ETH", "--sims", "2", "--store", "{tmp}", "--storage-option", "novalue"], "--storage-option: expected key=value"),
        (["summary", "{tmp}/empty"], "no calibration 'cholera' in"),
        (["summary", "{tmp}/empty", "--name", "other"], "no calibration 'other' in"),
        (["calibrate", "--locations", "ETH", "--sims", "2", "--store", "{tmp}", "--ess-target", "0"],
         "ess_target must be > 0, got 0"),
        (["calibrate", "--locations", "ETH", "--sims", "2", "--store", "{tmp}", "--tol", "nan"],
         "tol must be a finite number, got nan"),
        (["calibrate", "--sims", "2", "--store", "{tmp}"], "the following arguments are required: --locations"),
    ],
)
def test_bad_input_exits_2_with_one_line(tmp_path, args, message):
    (tmp_path / "bad.yaml").write_text("parameters:\n  rho: {dist: beta, a: 2}\n")
    proc = cholera(*[a.replace("{tmp}", str(tmp_path)) for a in args])
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("cholera: error: "), proc.stderr
    assert message in lines[0]
    assert "Traceback" not in proc.stderr


def committed(study: Path) -> dict[str, str]:
    """{sim name: commit id} from runfleet's markers (single runs and packs)."""
    out = {}
    for marker in study.glob("runs/sim-*/_result.json"):
        data = json.loads(marker.read_text())
        out[data["name"]] = data["commit_id"]
    for pack in study.glob("_packs/*.json*"):
        for name, data in pack_markers(pack.read_bytes()).items():
            if name.startswith("sim-"):
                out[name] = data["commit_id"]
    return out


@pytest.mark.slow
def test_resume_after_killing_the_driver_reruns_no_completed_sim(tmp_path):
    store = tmp_path / "store"
    args = ["calibrate", "--locations", "ETH,MOZ", "--sims", "12", "--batch", "4", "--days", "120", "--n-iter", "2",
            "--seed", "4", "--store", str(store), "--workers", "2", "--ppc", "0", "--progress", "log"]
    proc = subprocess.Popen([str(BIN / "cholera"), *args], cwd=REPO, env=worker_env(), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    study = store / "cholera"
    try:
        def three_committed() -> bool:
            assert proc.poll() is None, "calibration ended before it could be killed"
            return len(committed(study)) >= 3

        wait_until(three_committed, 240, "3 simulations committed")
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # the driver and its local cluster, as a crash would
        proc.wait(30)
    before = committed(study)
    assert 3 <= len(before) < 12

    again = cholera(*args[:-2], "--progress", "none", "--json")
    assert again.returncode == 0, again.stderr[-3000:]
    result = json.loads(again.stdout)
    after = committed(study)
    # every simulation committed before the kill is reused as is: same commit, not executed again
    assert {name: after[name] for name in before} == before
    assert result["resumed"] >= len(before)
    assert result["resumed"] + result["executed"] == 12 and result["done"] == 12
    sims = pd.read_parquet(study / "results" / "sims.parquet")
    assert len(sims) == 12 and sims["sim"].is_unique

"""runfleet owns every attempt: a poison run (``os._exit``) among ten 1-s innocent runs, on the
embedded cluster and on an ``address`` cluster (real `dask scheduler` + `dask worker` processes,
where Dask's default ``allowed-failures`` of 3 would re-run the poison task behind the driver).

What a user cares about: every innocent run is done (none charged for the dying worker), the
poison run failed ``LostWorker`` after exactly the attempts its policy allows (counted by the
executions themselves, not by runfleet's bookkeeping), and its history shows each attempt.
"""
from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from cluster_fixtures import *  # noqa: F401,F403
from cluster_fixtures import REPO

from runfleet import Run, Study, run_study
from runfleet.ledger import Ledger
from runfleet.store import Store

WORKER_PATH = os.pathsep.join([str(REPO / "tests"), str(REPO / "src")])


def innocent(ctx, i: int):
    """A well-behaved 1-s run."""
    time.sleep(1.0)  # the run's duration: it shares workers with the poison run
    return i


def poison(ctx, log: str):
    """Kills its worker process; each execution leaves a line in ``log`` first."""
    with open(log, "a") as f:
        f.write(f"{os.getpid()}\n")
    time.sleep(0.3)  # a moment in flight before the worker dies (the crash being tested)
    os._exit(1)


def _study(tmp_path: Path, name: str, poison_retries: int) -> tuple[Study, Path]:
    log = tmp_path / f"{name}-executions.txt"
    study = Study(name=name, store=str(tmp_path / "store"), seed=1, defaults={"retries": 0})
    study.add_many([Run(f"ok-{i}", "test_attempt_ownership:innocent", params={"i": i}, pack=False)
                    for i in range(10)])
    study.add(Run("poison", "test_attempt_ownership:poison", params={"log": str(log)}, retries=poison_retries,
                  pack=False))
    return study, log


def _check(tmp_path: Path, name: str, summary, log: Path, allowed: int) -> None:
    records, _ = Ledger(Store(str(tmp_path / "store")), name).load()
    assert summary.counts["done"] == 10, summary.counts
    for i in range(10):
        assert records[f"ok-{i}"].status == "done" and records[f"ok-{i}"].value == i
    rec = records["poison"]
    assert rec.status == "failed" and rec.data["error_class"] == "LostWorker", rec.data
    assert rec.data["attempts"] == allowed
    hist = rec.attempts_history
    assert [h["attempt"] for h in hist] == list(range(1, allowed + 1)), hist
    assert all(h["error_class"] == "LostWorker" and h["status"] == "failed" for h in hist), hist
    # attempts recorded = attempts executed
    assert len(log.read_text().splitlines()) == allowed


@pytest.mark.parametrize("poison_retries", [0, 1])
def test_poison_run_on_the_embedded_cluster(tmp_path, monkeypatch, poison_retries):
    monkeypatch.setenv("PYTHONPATH", WORKER_PATH)
    study, log = _study(tmp_path, f"emb{poison_retries}", poison_retries)
    summary = run_study(study, workers=2, progress=False)
    assert summary.exit_code == 1
    _check(tmp_path, study.name, summary, log, poison_retries + 1)


def test_poison_run_on_an_address_cluster(tmp_path, dask_processes, profiles_file):
    procs = dask_processes(2, worker_env={"PYTHONPATH": WORKER_PATH}, nanny=True)
    profiles_file({"shared": {"kind": "address", "address": procs.address}})
    study, log = _study(tmp_path, "addr", 1)
    summary = run_study(study, cluster="shared", progress=False)
    assert summary.exit_code == 1
    _check(tmp_path, "addr", summary, log, 2)


def maybe_poison(ctx, i: int, poison: int, log: str):
    """A trivial run, except run ``poison``, which kills its worker (each execution of it leaves a
    line in ``log`` first)."""
    if i == poison:
        with open(log, "a") as f:
            f.write(f"{os.getpid()}\n")
        os._exit(1)
    return i


def test_a_worker_dying_inside_a_pack_charges_none_of_its_runs(tmp_path, monkeypatch):
    """Packs write no start marker: a pack lost with its worker is known from Dask. None of its
    runs is charged; each runs again alone, and only the run that kills its worker alone is
    charged (retries 0: it fails after that one attempt)."""
    monkeypatch.setenv("PYTHONPATH", WORKER_PATH)
    log = tmp_path / "poison-executions.txt"
    study = Study(name="packed", store=str(tmp_path / "store"), seed=1, defaults={"retries": 0})
    study.add_many([Run(f"r-{i:03d}", "test_attempt_ownership:maybe_poison",
                        params={"i": i, "poison": 300, "log": str(log)}) for i in range(400)])
    summary = run_study(study, workers=2, progress=False)
    assert summary.exit_code == 1 and summary.counts["done"] == 399, summary.counts
    records, _ = Ledger(Store(str(tmp_path / "store")), "packed").load()
    for i in range(400):
        if i != 300:  # innocent runs, those of the lost pack included: done at their first attempt
            rec = records[f"r-{i:03d}"]
            assert rec.status == "done" and rec.value == i and rec.attempts == 1, (i, rec.data)
            assert len(rec.attempts_history) == 1
    rec = records["r-300"]
    assert rec.status == "failed" and rec.data["error_class"] == "LostWorker" and rec.data["attempts"] == 1
    # once inside its pack (not charged), once alone (charged): it was packed
    assert len(log.read_text().splitlines()) == 2
    started = tmp_path / "store/packed/_started"
    assert not started.exists() or not [p for p in started.iterdir() if p.name.startswith("pack-")]

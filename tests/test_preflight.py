"""Preflight on real worker processes: missing package, unwritable store, missing env; the CLI."""
from __future__ import annotations

import os
import sys

import pytest
from distributed import Client

from cluster_fixtures import *  # noqa: F401,F403
from cluster_fixtures import REPO

from runfleet import cli_clusters
from runfleet.preflight import run_preflight


@pytest.fixture
def driver_only_module(tmp_path, monkeypatch):
    """A package importable on the driver only (the workers get another PYTHONPATH)."""
    d = tmp_path / "driver-only"
    (d / "rf_driver_only_pkg").mkdir(parents=True)
    (d / "rf_driver_only_pkg" / "__init__.py").write_text("__version__ = '1.2.3'\n")
    monkeypatch.syspath_prepend(str(d))
    return "rf_driver_only_pkg"


def test_preflight_catches_missing_package_unwritable_store_missing_env(
        tmp_path, dask_processes, driver_only_module, monkeypatch, moto_s3):
    monkeypatch.setenv("RF_PF_PRESENT", "yes")
    procs = dask_processes(2, worker_env={"PYTHONPATH": str(tmp_path / "elsewhere"), "RF_PF_PRESENT": "yes"})
    with Client(procs.address) as client:
        client.wait_for_workers(2, timeout=30)
        good = run_preflight(client, store_url=str(tmp_path / "store"), modules=["json"],
                             env_names=["RF_PF_PRESENT"])
        assert good.ok, good.problems
        assert len([w for w in good.workers if w.address != "driver"]) == 2
        assert "preflight: ok" in good.format_table()

        missing = run_preflight(client, modules=[driver_only_module])
        assert not missing.ok
        assert len(missing.problems) == 2 and all(f"cannot import {driver_only_module}" in p
                                                  for p in missing.problems)

        blocker = tmp_path / "a-file"
        blocker.write_text("not a directory")
        unwritable = run_preflight(client, store_url=str(blocker / "store"))
        assert not unwritable.ok
        assert any("store" in p and "not usable" in p for p in unwritable.problems), unwritable.problems

        env = run_preflight(client, env_names=["RF_PF_PRESENT", "RF_PF_ABSENT"])
        assert [p for p in env.problems if "RF_PF_ABSENT" in p] and not [p for p in env.problems
                                                                          if "RF_PF_PRESENT" in p]

        so = dict(moto_s3["storage_options"], secret="very-secret-value-123")
        s3_ok = run_preflight(client, store_url=f"s3://{moto_s3['bucket']}/study", storage_options=so)
        assert s3_ok.ok, s3_ok.problems
        s3_bad = run_preflight(client, store_url="s3://rf-no-such-bucket-xyz/study", storage_options=so)
        assert not s3_bad.ok
        text = s3_bad.format_table() + "\n".join(s3_bad.problems)
        assert "very-secret-value-123" not in text
        assert any("not usable" in p for p in s3_bad.problems), s3_bad.problems


def test_preflight_cli(tmp_path, dask_processes, profiles_file, driver_only_module, monkeypatch, capsys):
    monkeypatch.setenv("RF_PF_TOKEN", "tok-abcdef-secret")
    procs = dask_processes(1, worker_env={"PYTHONPATH": os.pathsep.join([str(REPO / "src")])})
    profiles_file({"shared": {"kind": "address", "address": procs.address,
                              "env": {"forward": ["RF_PF_TOKEN"]}}})
    store = tmp_path / "store"
    rc = cli_clusters.main(["preflight", "--cluster", "shared", "--store", str(store), "--timeout", "30"])
    out = capsys.readouterr()
    assert rc == 0, out.out + out.err
    assert "preflight: ok" in out.out
    assert "tok-abcdef-secret" not in out.out + out.err

    rc = cli_clusters.main(["preflight", "--cluster", "shared", "--module", driver_only_module,
                            "--env", "RF_PF_NOT_THERE", "--storage-option", "key=abc", "--timeout", "30"])
    out = capsys.readouterr()
    assert rc == 1
    assert f"cannot import {driver_only_module}" in out.out and "RF_PF_NOT_THERE" in out.out
    assert "preflight: FAILED" in out.out

    rc = cli_clusters.main(["preflight", "--cluster", "nope"])
    err = capsys.readouterr().err
    assert rc == 2 and "clusters.nope: no such profile" in err and err.count("\n") == 1

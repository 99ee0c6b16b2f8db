"""Profiles as HPC and cloud users write them (issue 12): layered over Dask's configuration,
facility forms, walltime rule, `clusters --show` / `--job-script`, typed storage options,
kinds table and models."""
from __future__ import annotations

import os
import subprocess
import textwrap

import dask.config
import pytest
import yaml

from cluster_fixtures import *  # noqa: F401,F403
from conftest import run_cli, worker_env

from runfleet import cli_clusters
from runfleet.config import (KINDS, ConfigError, get_profile, hms, parse_walltime_s, setting, site_config,
                             validate_profile, walltime_warning)
from runfleet.errors import InputError
from runfleet.storage_options import coerce_storage_options, parse_storage_options

SITE = """
jobqueue:
  slurm:
    account: site-acct
    queue: site-queue
    job-script-prologue:
      - module load site-python/3.11
    job-extra-directives: ["--comment=site-comment"]
"""


@pytest.fixture
def site_dir(tmp_path):
    """A Dask config directory with a site jobqueue.yaml, loaded into dask.config for the test."""
    d = tmp_path / "dask-site"
    d.mkdir()
    (d / "jobqueue.yaml").write_text(textwrap.dedent(SITE))
    dask.config.refresh(paths=[*dask.config.paths, str(d)])
    yield d
    dask.config.refresh()


# --------------------------------------------------------------------------- layering
def test_profile_layers_over_site_jobqueue_config(site_dir):
    pytest.importorskip("dask_jobqueue")
    p = validate_profile("hpc", {"kind": "slurm", "queue": "debug",
                                 "job_script_prologue": ["source /project/venv/bin/activate"]})
    assert p.options["account"] == "site-acct" and p.origins["account"] == "site config"
    assert p.options["queue"] == "debug" and p.origins["queue"] == "profile"   # the profile wins
    assert p.options["job_script_prologue"] == ["module load site-python/3.11",
                                                "source /project/venv/bin/activate"]
    assert p.origins["job_script_prologue"] == "site config + profile"
    assert p.origins["cores"] == "default"
    from runfleet.clusters.slurm import preview

    script = preview(p, {"RF_PLAIN": "x"})
    lines = script.splitlines()
    assert "#SBATCH -A site-acct" in lines and "#SBATCH -p debug" in lines
    assert "#SBATCH --comment=site-comment" in lines
    i_site = lines.index("module load site-python/3.11")
    i_prof = lines.index("source /project/venv/bin/activate")
    i_rf = next(i for i, line in enumerate(lines) if line.startswith("export RF_PLAIN="))
    assert i_site < i_prof < i_rf  # site's lines, then the profile's, then runfleet's


def test_site_config_from_a_dask_config_dir_in_a_subprocess(tmp_path, site_dir):
    pytest.importorskip("dask_jobqueue")
    profiles = tmp_path / "profiles.yaml"
    profiles.write_text(yaml.safe_dump({"clusters": {"hpc": {
        "kind": "slurm", "account": "prof-acct", "walltime": 90,
        "job_extra_directives": {"hint": "multithread", "exclusive": "user"}}}}))
    env = {**worker_env(), "DASK_CONFIG": str(site_dir), "RUNFLEET_CONFIG": str(profiles),
           "DASK_JOBQUEUE__SLURM__MEMORY": "7GB"}
    r = run_cli("clusters", "--job-script", "hpc", env=env)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert "#SBATCH -A prof-acct" in lines and "#SBATCH -p site-queue" in lines
    assert "#SBATCH -t 01:30:00" in lines                      # 90 = minutes, as SLURM reads it
    assert "#SBATCH --mem=7G" in lines                         # DASK_JOBQUEUE__SLURM__MEMORY
    assert "#SBATCH --hint=multithread" in lines and "#SBATCH --exclusive=user" in lines
    assert "module load site-python/3.11" in lines
    r = run_cli("clusters", "--show", "hpc", env=env)
    assert r.returncode == 0, r.stderr
    shown = yaml.safe_load(r.stdout)
    assert shown["options"]["walltime"] == "01:30:00"
    assert shown["origin"]["account"] == "profile" and shown["origin"]["queue"] == "site config"
    assert shown["origin"]["memory"] == "site config" and shown["origin"]["cores"] == "default"


# --------------------------------------------------------------------------- facility forms
@pytest.mark.parametrize("value,line", [(90, "#SBATCH -t 01:30:00"), ("90", "#SBATCH -t 01:30:00"),
                                        ("01:30:00", "#SBATCH -t 01:30:00"), ("1h30m", "#SBATCH -t 01:30:00"),
                                        ("2-00:00:00", "#SBATCH -t 48:00:00"), ("45m", "#SBATCH -t 00:45:00")])
def test_walltime_rule(value, line):
    pytest.importorskip("dask_jobqueue")
    from runfleet.clusters.slurm import preview

    p = validate_profile("hpc", {"kind": "slurm", "walltime": value})
    assert line in preview(p, {}).splitlines()


def test_walltime_errors_and_warning():
    with pytest.raises(ConfigError, match=r"clusters\.hpc\.walltime: expected a duration like '01:30:00'"):
        validate_profile("hpc", {"kind": "slurm", "walltime": "soon"})
    assert parse_walltime_s("1h") == 3600 and hms(5400) == "01:30:00"
    p = validate_profile("hpc", {"kind": "slurm", "walltime": 30})
    msg = walltime_warning(p, 3600)
    assert "clusters.hpc.walltime: 00:30:00 is shorter than the study's longest run timeout (01:00:00)" in msg
    assert walltime_warning(p, 60) is None and walltime_warning(None, 1e9) is None


def test_job_extra_directives_forms():
    p = validate_profile("hpc", {"kind": "slurm",
                                 "job_extra_directives": {"hint": "multithread", "exclusive": None,
                                                          "--gres": "gpu:1", "requeue": False}})
    assert p.options["job_extra_directives"] == ["--hint=multithread", "--exclusive", "--gres=gpu:1"]
    p = validate_profile("hpc", {"kind": "slurm", "job_extra_directives": ["--exclusive"]})
    assert p.options["job_extra_directives"] == ["--exclusive"]
    with pytest.raises(ConfigError, match=r"clusters\.hpc\.job_extra_directives: expected a list or a mapping"):
        validate_profile("hpc", {"kind": "slurm", "job_extra_directives": "--exclusive"})


def test_var_expansion(monkeypatch):
    monkeypatch.setenv("SLURM_JOB_ACCOUNT", "acct-from-env")
    monkeypatch.delenv("RF_UNSET_VAR", raising=False)
    p = validate_profile("hpc", {"kind": "slurm", "account": "$SLURM_JOB_ACCOUNT", "queue": "${SLURM_JOB_ACCOUNT}-q",
                                 "local_directory": "$TMPDIR", "job_script_prologue": ["cd $HOME"],
                                 "log_directory": "/logs/$$literal"})
    assert p.options["account"] == "acct-from-env" and p.options["queue"] == "acct-from-env-q"
    assert p.options["local_directory"] == "$TMPDIR"             # read by the job's shell on the node
    assert p.options["job_script_prologue"] == ["cd $HOME"] and p.options["log_directory"] == "/logs/$literal"
    with pytest.raises(ConfigError, match=r"clusters\.hpc\.account: \$RF_UNSET_VAR is not set in the environment"):
        validate_profile("hpc", {"kind": "slurm", "account": "$RF_UNSET_VAR"})


# --------------------------------------------------------------------------- show / job script
def test_show_masks_secrets_and_job_script_for_cloud(profiles_file, monkeypatch, capsys):
    monkeypatch.setenv("RF_API_TOKEN", "tok-secret-123")
    profiles_file({"hpc": {"kind": "slurm", "walltime": 90, "env": {"forward": ["RF_API_TOKEN"]}},
                   "k8s": {"kind": "kubernetes", "env": {"forward": ["RF_API_TOKEN"], "set": {"RF_PLAIN": "p"}}}})
    assert cli_clusters.main(["clusters", "--show", "hpc"]) == 0
    out = capsys.readouterr().out
    doc = yaml.safe_load(out)
    assert doc["options"]["walltime"] == "01:30:00" and doc["origin"]["walltime"] == "profile"
    if pytest.importorskip("dask_kubernetes"):
        assert cli_clusters.main(["clusters", "--job-script", "k8s"]) == 0
        out = capsys.readouterr().out
        assert "DaskCluster launch configuration" in out and "RF_PLAIN" in out and "tok-secret-123" not in out
    pytest.importorskip("dask_jobqueue")
    assert cli_clusters.main(["clusters", "--job-script", "hpc"]) == 0
    out = capsys.readouterr().out
    assert "#SBATCH -t 01:30:00" in out and "tok-secret-123" not in out and "0600 file with RF_API_TOKEN" in out


# --------------------------------------------------------------------------- storage options
def test_storage_options_keep_their_types():
    so = parse_storage_options(["key=123456789012", "secret=000000", "token=1e5", "profile=2024",
                                "anon=false", "default_block_size=1048576", "config_kwargs.read_timeout=2.5",
                                "client_kwargs.endpoint_url=http://127.0.0.1:9000", "client_kwargs.region_name='1'",
                                'username="007"'])
    assert so == {"key": "123456789012", "secret": "000000", "token": "1e5", "profile": "2024", "anon": False,
                  "default_block_size": 1048576, "config_kwargs": {"read_timeout": 2.5},
                  "client_kwargs": {"endpoint_url": "http://127.0.0.1:9000", "region_name": "1"},
                  "username": "007"}
    with pytest.raises(InputError, match=r"--storage-option anon: expected true or false"):
        parse_storage_options(["anon=maybe"])
    with pytest.raises(InputError, match=r"--storage-option default_block_size: expected an integer"):
        parse_storage_options(["default_block_size=big"])
    assert coerce_storage_options({"key": "abc", "anon": "true", "use_ssl": False}) == \
        {"key": "abc", "anon": True, "use_ssl": False}
    with pytest.raises(InputError, match=r"study.yaml: storage_options\.secret: expected a string, got integer; "
                                         r"quote the value") as err:
        coerce_storage_options({"secret": 0}, "study.yaml: storage_options")
    assert "000000" not in str(err.value)


def test_numeric_looking_credentials_work_against_moto(moto_server, tmp_path):
    import boto3

    s3 = boto3.client("s3", endpoint_url=moto_server, aws_access_key_id="123456789012",
                      aws_secret_access_key="000000", region_name="us-east-1")
    s3.create_bucket(Bucket="rf-numeric")
    study = tmp_path / "s.yaml"
    study.write_text("name: num\nruns:\n  - {name: a, fn: cluster_fixtures:square_run, params: {i: 3, sleep_s: 0}}\n")
    r = run_cli("run", study, "--store", "s3://rf-numeric/runs", "--storage-option", "key=123456789012",
                "--storage-option", "secret=000000", "--storage-option", f"client_kwargs.endpoint_url={moto_server}",
                "--workers", "1", "--no-preflight", timeout=300)
    assert r.returncode == 0, r.stderr
    body = s3.get_object(Bucket="rf-numeric", Key="runs/num/runs/a/out.txt")["Body"].read()
    assert body == b"9\n"


# --------------------------------------------------------------------------- settings, kinds
def test_runfleet_settings_in_dask_config(monkeypatch):
    assert setting("timeout-grace") == 30
    with dask.config.set({"runfleet.timeout-grace": 5}):
        assert setting("timeout-grace") == 5
    monkeypatch.setenv("RUNFLEET_TIMEOUT_GRACE_S", "2")  # the old name still works
    assert setting("timeout-grace") == 2


def test_one_table_of_kinds_and_register_refuses_overwrite():
    from runfleet.clusters import registry

    assert list(registry.BACKENDS) == list(KINDS)
    assert KINDS["slurm"].install == "dask-jobqueue" and KINDS["slurm"].site == "jobqueue.slurm"
    with pytest.raises(ValueError, match="already registered"):
        registry.register("slurm", "x.y:z", KINDS["slurm"].model)
    with pytest.raises(ConfigError, match=r"clusters\.x\.cores: expected an integer, got string"):
        validate_profile("x", {"kind": "pbs", "cores": "8"})
    with pytest.raises(ConfigError, match=r"clusters\.x\.nodes: unknown option for kind 'local'"):
        validate_profile("x", {"kind": "local", "nodes": 3})


def test_docs_options_table_is_derived_from_the_models():
    from pathlib import Path

    from runfleet.config import options_reference

    doc = (Path(__file__).resolve().parents[1] / "docs" / "clusters.md").read_text()
    table = doc.split("<!-- options-reference:start -->\n", 1)[1].split("<!-- options-reference:end -->", 1)[0]
    assert table.strip() == options_reference().strip()


def test_register_a_new_kind_with_its_model():
    from typing import Literal

    from runfleet.clusters import registry
    from runfleet.config import AddressProfile

    class LabProfile(AddressProfile):
        kind: Literal["lab"]
        rack: str = "a1"

    registry.register("lab", "runfleet.clusters.address:open_address", LabProfile, install="lab-dask")
    try:
        p = validate_profile("mine", {"kind": "lab", "address": "tcp://h:1", "rack": "b2"})
        assert p.kind == "lab" and p.options["rack"] == "b2" and registry.BACKENDS["lab"].endswith("open_address")
        with pytest.raises(ConfigError, match=r"clusters\.mine\.racks: unknown option for kind 'lab'"):
            validate_profile("mine", {"kind": "lab", "racks": 1})
    finally:
        KINDS.pop("lab")
        from runfleet.config import _adapter

        _adapter.cache_clear()

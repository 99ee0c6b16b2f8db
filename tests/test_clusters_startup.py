"""Open, then write (issue 11): every failure to obtain a cluster is one line naming the profile,
the field and the cause, exit 3, no traceback; tried as `runfleet run` / `runfleet preflight`
subprocesses as a user would."""
from __future__ import annotations

import os
import textwrap

import pytest
import yaml

from cluster_fixtures import *  # noqa: F401,F403
from cluster_fixtures import free_port

from conftest import run_cli, worker_env

STUDY = """
name: st
store: {store}
runs:
  - name: a
    fn: cluster_fixtures:square_run
    params: {{i: 2, sleep_s: 0}}
"""


@pytest.fixture
def setup(tmp_path):
    """``(study_file, store, env_for(profiles))``."""
    store = tmp_path / "store"
    study = tmp_path / "study.yaml"
    study.write_text(textwrap.dedent(STUDY.format(store=store)))

    def env_for(profiles: dict, **extra) -> dict:
        path = tmp_path / "profiles.yaml"
        path.write_text(yaml.safe_dump({"clusters": profiles}))
        env = worker_env()
        env.update({"RUNFLEET_CONFIG": str(path), **extra})
        return env

    return study, store, env_for


def _no_aws(tmp_path) -> dict:
    env = {k: v for k, v in worker_env().items() if not k.startswith("AWS_")}
    env.update({"HOME": str(tmp_path), "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"),
                "AWS_CONFIG_FILE": str(tmp_path / "none"), "AWS_EC2_METADATA_DISABLED": "true"})
    return env


def _one_line_exit_3(r, *fragments) -> str:
    assert r.returncode == 3, (r.returncode, r.stdout, r.stderr)
    assert "Traceback" not in r.stderr and "Exception ignored" not in r.stderr, r.stderr
    last = r.stderr.strip().splitlines()[-1]
    for f in fragments:
        assert f in last, last
    return last


def test_address_not_listening(setup):
    study, store, env_for = setup
    env = env_for({"down": {"kind": "address", "address": f"tcp://127.0.0.1:{free_port()}", "timeout": 2}})
    r = run_cli("run", study, "--cluster", "down", env=env, timeout=120)
    _one_line_exit_3(r, "clusters.down.address: scheduler tcp://127.0.0.1:", "not reachable within 2 s")


def test_tcp_address_on_the_command_line_not_listening(setup):
    study, store, env_for = setup
    env = env_for({}, DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT="2s")  # Dask's own connect timeout
    port = free_port()
    r = run_cli("run", study, "--cluster", f"tcp://127.0.0.1:{port}", env=env, timeout=120)
    _one_line_exit_3(r, f"--cluster: scheduler tcp://127.0.0.1:{port} not reachable within 2 s")


def test_scheduler_file_missing(setup, tmp_path):
    study, store, env_for = setup
    r = run_cli("run", study, "--cluster", f"scheduler-file:{tmp_path / 'nope.json'}", env=env_for({}), timeout=120)
    _one_line_exit_3(r, "--cluster: scheduler file", "does not exist")


def test_slurm_interface_missing_on_this_host(setup):
    pytest.importorskip("dask_jobqueue")
    study, store, env_for = setup
    r = run_cli("run", study, "--cluster", "hpc", env=env_for({"hpc": {"kind": "slurm", "interface": "ib0"}}),
                timeout=120)
    _one_line_exit_3(r, "clusters.hpc.interface: network interface 'ib0' does not exist on this host")


def test_ec2_without_aws_credentials(setup, tmp_path):
    pytest.importorskip("dask_cloudprovider")
    study, store, env_for = setup
    profiles = {"aws-ec2": {"kind": "ec2", "security_groups": ["sg-1"], "region": "us-east-1"}}
    env = env_for(profiles)
    env = {**_no_aws(tmp_path), "RUNFLEET_CONFIG": env["RUNFLEET_CONFIG"]}
    for args in (("run", study, "--cluster", "aws-ec2"), ("preflight", "--cluster", "aws-ec2")):
        r = run_cli(*args, env=env, timeout=120)
        _one_line_exit_3(r, "clusters.aws-ec2.kind: no AWS credentials found for profile aws-ec2")


@pytest.mark.slow
def test_gateway_cluster_name_not_found(setup, gateway_server):
    study, store, env_for = setup
    env = env_for({"gw": {"kind": "gateway", "address": gateway_server.address, "auth": "basic",
                          "username": "tester", "cluster_name": "gone-cluster", "adapt": False}})
    r = run_cli("run", study, "--cluster", "gw", env=env, timeout=120)
    _one_line_exit_3(r, "clusters.gw.cluster_name: gateway cluster 'gone-cluster' not found; running clusters: none")


def test_gateway_not_reachable(setup):
    pytest.importorskip("dask_gateway")
    study, store, env_for = setup
    env = env_for({"gw": {"kind": "gateway", "address": f"http://127.0.0.1:{free_port()}", "auth": "basic",
                          "username": "tester"}})
    r = run_cli("run", study, "--cluster", "gw", env=env, timeout=120)
    _one_line_exit_3(r, "clusters.gw.cluster_options: gateway http://127.0.0.1:", "not reachable")


def test_nothing_written_and_stderr_is_one_line(setup):
    study, store, env_for = setup
    env = env_for({"down": {"kind": "address", "address": f"tcp://127.0.0.1:{free_port()}", "timeout": 1}})
    r = run_cli("run", study, "--cluster", "down", env=env, timeout=120)
    assert r.returncode == 3
    assert len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert not (store / "st" / "study.json").exists()

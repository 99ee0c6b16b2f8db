"""Profiles file: lookup order, validation errors naming file/profile/field, env resolution, no secrets shown."""
from __future__ import annotations

import os

import pytest

from runfleet.errors import InputError

from cluster_fixtures import *  # noqa: F401,F403

from runfleet import cli_clusters
from runfleet.config import ConfigError, find_config_path, get_profile, load_profiles, parse_duration_s


def test_lookup_order(tmp_path, monkeypatch):
    monkeypatch.delenv("RUNFLEET_CONFIG", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    monkeypatch.chdir(tmp_path)
    assert find_config_path() is None
    assert list(load_profiles()) == ["local"]
    user = tmp_path / "xdg" / "runfleet" / "runfleet.yaml"
    user.parent.mkdir(parents=True)
    user.write_text("clusters: {u: {kind: address, address: 'tcp://127.0.0.1:8786'}}\n")
    assert find_config_path() == user
    (tmp_path / "runfleet.yaml").write_text("clusters: {p: {kind: local, workers: 2}}\n")
    assert find_config_path() == tmp_path / "runfleet.yaml"
    explicit = tmp_path / "other.yaml"
    explicit.write_text("clusters: {e: {kind: local}}\n")
    monkeypatch.setenv("RUNFLEET_CONFIG", str(explicit))
    assert find_config_path() == explicit and "e" in load_profiles()
    monkeypatch.setenv("RUNFLEET_CONFIG", str(tmp_path / "missing.yaml"))
    with pytest.raises(ConfigError, match="RUNFLEET_CONFIG points to a file that does not exist"):
        find_config_path()


@pytest.mark.parametrize("profile,message", [
    ({"kind": "slurmm"}, r"clusters\.bad\.kind: expected one of local, address, slurm"),
    ({}, r"clusters\.bad\.kind: missing"),
    ({"kind": "slurm", "cores": "four"}, r"clusters\.bad\.cores: expected an integer, got string"),
    ({"kind": "slurm", "walltime": "soon"}, r"clusters\.bad\.walltime: expected a duration"),
    ({"kind": "slurm", "queues": "debug"}, r"clusters\.bad\.queues: unknown option for kind 'slurm'"),
    ({"kind": "slurm", "adapt": {"minimum": 3, "maximum": 1}}, r"clusters\.bad\.adapt\.maximum: expected an integer >= max\(minimum, 1\), got 1"),
    ({"kind": "slurm", "adapt": {"minimum": -1}}, r"clusters\.bad\.adapt\.minimum: expected an integer >= 0"),
    ({"kind": "address"}, r"clusters\.bad\.address: expected exactly one of `address`"),
    ({"kind": "address", "address": "tcp://h:1", "adapt": {"maximum": 3}}, r"clusters\.bad\.adapt: kind 'address' cannot adapt"),
    ({"kind": "local", "env": {"forward": "AWS_*", "sett": {}}}, r"clusters\.bad\.env\.sett: unknown key"),
    ({"kind": "local", "env": {"set": {"MY_SECRET": ["x"]}}}, r"clusters\.bad\.env\.set\.MY_SECRET: expected a string or number, got list"),
    ({"kind": "local", "env": {"forward": ["AWS-KEY"]}}, r"clusters\.bad\.env\.forward: 'AWS-KEY' is not a variable name"),
    ({"kind": "gateway", "auth": "oauth"}, r"clusters\.bad\.auth: expected basic, kerberos or jupyterhub"),
    ({"kind": "ec2"}, r"clusters\.bad\.security_groups: expected a list of security group ids"),
    ({"kind": "ssh", "hosts": ["one"]}, r"clusters\.bad\.hosts: expected at least 2 hosts"),
])
def test_validation_errors_name_file_profile_field(profiles_file, profile, message):
    path = profiles_file({"ok": {"kind": "local"}, "bad": profile})
    with pytest.raises(ConfigError, match=message) as err:
        load_profiles()
    assert str(err.value).startswith(f"{path}: ")
    assert "\n" not in str(err.value)


def test_file_level_errors(profiles_file):
    p = profiles_file("clusters: [a, b]\n")
    with pytest.raises(ConfigError, match=r"clusters: expected a mapping NAME -> profile, got list"):
        load_profiles()
    profiles_file("clusters:\n  a: {kind: local\n")
    with pytest.raises(ConfigError, match=r"not valid YAML at line"):
        load_profiles()
    profiles_file({"a": {"kind": "local"}})
    with pytest.raises(ConfigError, match=r"clusters\.nope: no such profile; known: a, local"):
        get_profile("nope")
    assert p.exists()


def test_secret_values_never_in_errors_reprs_or_listing(profiles_file, monkeypatch, capsys):
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "aws-secret-xyz")
    monkeypatch.setenv("AWS_REGION", "us-west-2")
    profiles_file({
        "aws": {"kind": "ec2", "security_groups": ["sg-1"], "extra": {"aws_secret_access_key": "inline-secret-1"},
                "env": {"forward": ["AWS_*"], "set": {"API_TOKEN": "set-secret-2", "OMP_NUM_THREADS": 1}}},
        "bad": {"kind": "local", "env": {"set": {"PASSWORD": {"nested": "set-secret-3"}}}},
    })
    with pytest.raises(ConfigError) as err:
        load_profiles()
    assert "set-secret-3" not in str(err.value)
    profiles_file({"aws": {"kind": "ec2", "security_groups": ["sg-1"],
                           "extra": {"aws_secret_access_key": "inline-secret-1"},
                           "env": {"forward": ["AWS_*"], "set": {"API_TOKEN": "set-secret-2"}}},
                   "hpc": {"kind": "slurm", "adapt": {"minimum": 0, "maximum": 40}}})
    prof = get_profile("aws")
    assert not any(v in repr(prof) for v in ("aws-secret-xyz", "inline-secret-1", "set-secret-2"))
    env = prof.env.resolve()
    assert env["AWS_SECRET_ACCESS_KEY"] == "aws-secret-xyz" and env["API_TOKEN"] == "set-secret-2"
    assert cli_clusters.main(["clusters"]) == 0
    out = capsys.readouterr().out
    assert "aws" in out and "ec2" in out and "hpc" in out and "0..40" in out and "AWS_*" in out
    assert cli_clusters.main(["clusters", "--show", "aws"]) == 0
    out += capsys.readouterr().out
    for secret in ("aws-secret-xyz", "inline-secret-1", "set-secret-2"):
        assert secret not in out


def test_env_resolution_and_defaults(profiles_file, monkeypatch, tmp_path):
    monkeypatch.setenv("RF_A1", "1")
    monkeypatch.setenv("RF_A2", "2")
    monkeypatch.setenv("PYTHONPATH", "/driver/only")
    profiles_file({"p": {"kind": "slurm", "env": {"forward": ["RF_A*", "RF_MISSING", "PYTHONPATH"],
                                                  "set": {"X": "y", "PYTHONPATH": "/from/set"},
                                                  "pythonpath": ["src", "/abs"]}}})
    prof = get_profile("p")
    assert prof.adapt.minimum == 0 and prof.options["cores"] == 1 and prof.options["walltime"] == "01:00:00"
    env = prof.env.resolve(extra={"PYTHONPATH": "/engine"})
    assert env["RF_A1"] == "1" and env["RF_A2"] == "2" and env["X"] == "y"
    assert env["PYTHONPATH"].split(os.pathsep) == [str(tmp_path / "src"), "/abs", "/from/set", "/engine"]
    assert prof.env.forwarded()[1] == ["RF_MISSING"]
    assert prof.env.exact_names() == ["RF_MISSING", "PYTHONPATH", "X", "PYTHONPATH"]


def test_durations_and_storage_options():
    assert parse_duration_s("01:30:00") == 5400 and parse_duration_s("2-00:00:00") == 172800
    assert parse_duration_s("30") == 1800 and parse_duration_s("10:30") == 630
    assert parse_duration_s("30 minutes") == 1800 and parse_duration_s(90) == 90
    so = cli_clusters.parse_storage_options(["key=abc", "client_kwargs.endpoint_url=http://127.0.0.1:9000",
                                             "anon=false", "client_kwargs.region_name=us-west-2"])
    assert so == {"key": "abc", "anon": False,
                  "client_kwargs": {"endpoint_url": "http://127.0.0.1:9000", "region_name": "us-west-2"}}
    with pytest.raises(InputError, match="expected key=value"):
        cli_clusters.parse_storage_options(["novalue"])


def test_cli_config_error_is_one_line_exit_2(profiles_file, capsys):
    profiles_file({"bad": {"kind": "slurm", "cores": "x"}})
    assert cli_clusters.main(["clusters"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "clusters.bad.cores" in err


def test_open_cluster_local_profile_with_env(profiles_file):
    from runfleet.clusters import open_cluster

    profiles_file({"desk": {"kind": "local", "workers": 1, "env": {"set": {"RF_LOCAL": "v"}}}})
    with open_cluster("desk") as s:
        assert s.kind == "local" and s.name == "desk"
        assert list(s.client.run(lambda: os.environ.get("RF_LOCAL")).values()) == ["v"]
        assert s.walltime_s is None and s.workers_for(100) is None and s.can_start(1e9)


def test_resolve_cluster_forms(profiles_file, tmp_path):
    from runfleet.clusters import resolve_cluster

    assert resolve_cluster(None) is None and resolve_cluster("serial") == "serial"
    profiles_file({"hpc": {"kind": "slurm"}})
    assert resolve_cluster("local") is None
    p = resolve_cluster("tcp://10.0.0.5:8786")
    assert p.kind == "address" and p.options["address"] == "tcp://10.0.0.5:8786" and p.where("address") == "--cluster"
    p = resolve_cluster(f"scheduler-file:{tmp_path / 's.json'}")
    assert p.kind == "address" and p.options["scheduler_file"] == str(tmp_path / "s.json")
    assert resolve_cluster("hpc").kind == "slurm"
    with pytest.raises(ConfigError, match=r"clusters\.nope: no such profile"):
        resolve_cluster("nope")
    profiles_file({"local": {"kind": "local", "workers": 3}})  # a file may redefine `local`
    assert resolve_cluster("local").options["workers"] == 3

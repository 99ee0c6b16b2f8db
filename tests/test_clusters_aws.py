"""AWS credentials profiles (issue 12): ``aws_profile: NAME`` resolved on the driver with botocore
(keys, endpoint_url and region from the profile's sections), forwarded as values only; workers
of a separate `dask worker` process with no AWS variables and no credentials file read and write
the store on moto."""
from __future__ import annotations

import os
import textwrap
import uuid

import pytest

from cluster_fixtures import *  # noqa: F401,F403
from cluster_fixtures import REPO
from conftest import run_cli, worker_env

from runfleet.clusters.aws import resolve_profile
from runfleet.errors import InputError

WORKER_PATH = os.pathsep.join([str(REPO / "tests"), str(REPO / "src")])


@pytest.fixture
def osn(tmp_path, moto_server, monkeypatch):
    """A HyTEST-like credentials file: profile `osn` with its own endpoint; a fresh bucket."""
    import boto3

    creds = tmp_path / "aws" / "credentials"
    creds.parent.mkdir()
    creds.write_text(textwrap.dedent(f"""
        [osn]
        aws_access_key_id = osn-key-id
        aws_secret_access_key = osn-secret-value-{uuid.uuid4().hex[:8]}
        endpoint_url = {moto_server}
        region = us-west-2
        """))
    config = tmp_path / "aws" / "config"
    config.write_text("")
    for k in [k for k in os.environ if k.startswith("AWS_")]:
        monkeypatch.delenv(k)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(creds))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    bucket = f"osn-{uuid.uuid4().hex[:10]}"
    boto3.client("s3", endpoint_url=moto_server, aws_access_key_id="x", aws_secret_access_key="y",
                 region_name="us-east-1").create_bucket(Bucket=bucket)
    return {"endpoint": moto_server, "bucket": bucket, "creds": creds}


def _bare_worker_env(tmp_path) -> dict:
    """No AWS_* at all and a HOME without ~/.aws: the worker has no credentials of its own."""
    home = tmp_path / "worker-home"
    home.mkdir(exist_ok=True)
    return {"PATH": os.environ["PATH"], "PYTHONPATH": WORKER_PATH, "HOME": str(home)}


def test_resolve_profile_reads_keys_endpoint_and_region(osn):
    c = resolve_profile("osn", "here")
    assert c.key == "osn-key-id" and c.endpoint_url == osn["endpoint"] and c.region == "us-west-2"
    assert c.secret not in repr(c) and str(osn["creds"]) not in str(c.env())
    assert set(c.env()) == {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_ENDPOINT_URL", "AWS_DEFAULT_REGION"}
    with pytest.raises(InputError, match=r"^here: AWS profile 'nope' not found"):
        resolve_profile("nope", "here")


def test_storage_option_aws_profile_on_a_bare_dask_worker(osn, dask_processes, tmp_path):
    procs = dask_processes(1, worker_env=_bare_worker_env(tmp_path), clean_env=True)
    study = tmp_path / "s.yaml"
    study.write_text("name: osn\nruns:\n"
                     "  - {name: a, fn: cluster_fixtures:square_run, params: {i: 4, sleep_s: 0}}\n"
                     "  - {name: b, fn: cluster_fixtures:square_run, params: {i: 5, sleep_s: 0}}\n")
    env = {k: v for k, v in worker_env().items() if not k.startswith("AWS_")}
    env.update({"AWS_SHARED_CREDENTIALS_FILE": str(osn["creds"]), "AWS_CONFIG_FILE": os.environ["AWS_CONFIG_FILE"],
                "AWS_EC2_METADATA_DISABLED": "true"})
    url = f"s3://{osn['bucket']}/runs"
    r = run_cli("run", study, "--store", url, "--cluster", procs.address, "--storage-option", "aws_profile=osn",
                env=env, timeout=300)
    assert r.returncode == 0, r.stderr
    assert "osn-secret-value" not in r.stdout + r.stderr
    import boto3

    s3 = boto3.client("s3", endpoint_url=osn["endpoint"], aws_access_key_id="x", aws_secret_access_key="y",
                      region_name="us-east-1")
    for name, value in (("a", b"16\n"), ("b", b"25\n")):
        assert s3.get_object(Bucket=osn["bucket"], Key=f"runs/osn/runs/{name}/out.txt")["Body"].read() == value
    # the worker wrote them, and has no AWS variable of its own
    from distributed import Client

    with Client(procs.address, set_as_default=False) as c:
        assert not any(c.run(lambda: [k for k in os.environ if k.startswith("AWS_")]).values())


def _write_and_read(secret_env, bucket):
    import s3fs

    from runfleet.clusters.secrets import applied

    with applied(secret_env):
        fs = s3fs.S3FileSystem(skip_instance_cache=True)  # credentials and endpoint from the env only
        fs.pipe(f"{bucket}/from-worker.txt", b"written by a bare worker")
        back = fs.cat(f"{bucket}/from-worker.txt")
    return back, sorted(k for k in os.environ if k.startswith("AWS_"))


def test_profile_aws_profile_through_the_secret_channel(osn, dask_processes, profiles_file, tmp_path):
    procs = dask_processes(1, worker_env=_bare_worker_env(tmp_path), clean_env=True)
    profiles_file({"osn-cluster": {"kind": "address", "address": procs.address, "aws_profile": "osn"}})
    from runfleet.clusters import open_cluster

    with open_cluster("osn-cluster") as session:
        session.ensure_workers(1, timeout=30)
        back, after = session.client.submit(_write_and_read, session.task_env(), osn["bucket"],
                                            pure=False).result()
    assert back == b"written by a bare worker"
    assert after == []  # nothing left in the worker's environment after the run

"""Launch configuration of ec2/fargate against a moto server (up to, never including, connecting to the
fake instances), the generated kubernetes spec, the ssh spec, and batch job scripts of pbs/sge/lsf."""
from __future__ import annotations

import asyncio
import base64

import pytest

from cluster_fixtures import *  # noqa: F401,F403

from runfleet.config import validate_profile


def _env():
    return {"AWS_ACCESS_KEY_ID": "AKIDEXAMPLE", "RF_CLOUD_PLAIN": "plain-value"}


def test_ec2_user_data_has_env_and_commands(moto_aws):
    import boto3

    ec2 = boto3.client("ec2", region_name="us-east-1")
    ami = ec2.describe_images()["Images"][0]["ImageId"]
    sg = ec2.create_security_group(GroupName="rf-test", Description="rf")["GroupId"]
    profile = validate_profile("aws", {"kind": "ec2", "region": "us-east-1", "ami": ami, "security_groups": [sg],
                                       "docker_image": "ghcr.io/example/model:1", "instance_type": "t3.small",
                                       "idle_timeout": "20 minutes", "adapt": {"minimum": 0, "maximum": 5}})
    from runfleet.clusters.ec2 import ec2_kwargs

    kw = ec2_kwargs(profile, _env())
    assert kw["n_workers"] == 0 and kw["env_vars"] == _env()
    assert kw["scheduler_options"] == {"idle_timeout": "1200s"}

    async def launch():
        from dask_cloudprovider.aws import EC2Cluster
        from dask_cloudprovider.aws.ec2 import EC2Scheduler

        cl = EC2Cluster(asynchronous=True, **kw)
        sched = EC2Scheduler(**cl.scheduler_options)
        await sched.create_vm()  # the VM exists in moto; we stop before waiting for its scheduler
        try:
            attr = ec2.describe_instance_attribute(InstanceId=sched.instance["InstanceId"], Attribute="userData")
            return base64.b64decode(attr["UserData"]["Value"]).decode()
        finally:
            await sched.destroy_vm()

    user_data = asyncio.run(launch())
    assert "python -m distributed.cli.dask_scheduler" in user_data and "dask-scheduler" not in user_data
    assert "--idle-timeout 1200s" in user_data
    assert '-e RF_CLOUD_PLAIN="plain-value"' in user_data and "-e AWS_ACCESS_KEY_ID=" in user_data
    assert "ghcr.io/example/model:1" in user_data and "shutdown -h now" in user_data


def test_fargate_task_definitions_have_env_and_fixed_commands(moto_aws, monkeypatch):
    import boto3
    from distributed.deploy.spec import SpecCluster

    ec2 = boto3.client("ec2", region_name="us-east-1")
    vpc = ec2.describe_vpcs()["Vpcs"][0]["VpcId"]
    subnet = ec2.describe_subnets()["Subnets"][0]["SubnetId"]
    sg = ec2.create_security_group(GroupName="rf-fg", Description="rf", VpcId=vpc)["GroupId"]
    profile = validate_profile("fg", {"kind": "fargate", "region": "us-east-1", "image": "ghcr.io/example/model:1",
                                      "vpc": vpc, "subnets": [subnet], "security_groups": [sg],
                                      "worker_nthreads": 1, "idle_timeout": 600})
    from runfleet.clusters.fargate import fargate_class, fargate_kwargs

    kw = fargate_kwargs(profile, _env())
    assert kw["environment"] == _env() and kw["scheduler_timeout"] == "600s"

    async def _no_connect(self):  # stop before SpecCluster starts the scheduler task and connects
        return None

    monkeypatch.setattr(SpecCluster, "_start", _no_connect)
    # ECSCluster registers weakref.finalize(self, self.sync, self._delete_<resource>) for each AWS
    # resource it creates; left to interpreter exit they run on the closed event loop ("RuntimeError:
    # IOLoop is closed" tracebacks). Collect them and delete the resources here, on the running loop.
    import types
    import weakref

    import dask_cloudprovider.aws.ecs as ecs_module

    cleanups = []
    monkeypatch.setattr(ecs_module, "weakref", types.SimpleNamespace(
        **{**vars(weakref), "finalize": lambda obj, fn, *args: cleanups.append((fn, args))}))

    async def launch():
        cl = fargate_class()(asynchronous=True, **kw)
        try:
            await cl._start()
            worker_spec = next(iter(cl.new_worker_spec().values()))
            return (cl.scheduler_task_definition_arn, cl.worker_task_definition_arn,
                    cl.scheduler_spec["options"]["environment"], worker_spec["options"]["environment"])
        finally:
            for fn, args in reversed(cleanups):  # cl.sync of an asynchronous cluster returns the coroutine
                await fn(*args)

    sched_arn, worker_arn, sched_env, worker_env = asyncio.run(launch())
    # the env reaches the tasks as run_task container overrides (the same calls whose commands we fix)
    assert sched_env == _env() and worker_env == _env()
    ecs = boto3.client("ecs", region_name="us-east-1")
    sched = ecs.describe_task_definition(taskDefinition=sched_arn)["taskDefinition"]["containerDefinitions"][0]
    worker = ecs.describe_task_definition(taskDefinition=worker_arn)["taskDefinition"]["containerDefinitions"][0]
    assert sched["command"][:4] == ["dask", "scheduler", "--idle-timeout", "600s"]
    assert worker["command"][:2] == ["dask", "worker"] and "--nthreads" in worker["command"]


def test_fargate_run_task_override_is_fixed():
    from runfleet.clusters.fargate import fix_command

    assert fix_command(["dask-worker", "tcp://s:8786", "--name", "3"]) == ["dask", "worker", "tcp://s:8786",
                                                                          "--name", "3"]
    assert fix_command(["dask-scheduler", "--idle-timeout", "5m"])[:2] == ["dask", "scheduler"]
    assert fix_command(["dask-cuda-worker", "x"]) == ["dask-cuda-worker", "x"]


def test_kubernetes_spec():
    pytest.importorskip("dask_kubernetes")
    from runfleet.clusters.kubernetes import cluster_spec

    profile = validate_profile("k8s", {"kind": "kubernetes", "image": "ghcr.io/example/model:1",
                                       "resources": {"limits": {"cpu": "1", "memory": "4Gi"}},
                                       "worker_args": ["--nthreads", "1"], "idle_timeout": "15 minutes"})
    spec = cluster_spec(profile, _env(), name="rf-k8s-test")
    assert spec["kind"] == "DaskCluster" and spec["spec"]["idleTimeout"] == 900
    sched = spec["spec"]["scheduler"]["spec"]["containers"][0]
    worker = spec["spec"]["worker"]["spec"]["containers"][0]
    assert sched["args"][:2] == ["dask", "scheduler"]
    assert worker["args"][:4] == ["dask", "worker", "--nthreads", "1"]
    assert spec["spec"]["worker"]["replicas"] == 0  # adapt minimum 0
    for c in (sched, worker):
        assert {"name": "RF_CLOUD_PLAIN", "value": "plain-value"} in c["env"]
        assert c["image"] == "ghcr.io/example/model:1"


def test_ssh_spec():
    from runfleet.clusters.ssh import ssh_kwargs

    profile = validate_profile("lab", {"kind": "ssh", "hosts": ["head", "node1", "node2"],
                                       "connect_options": {"username": "me"},
                                       "worker_options": {"nthreads": 2}})
    kw = ssh_kwargs(profile, {"RF_CLOUD_PLAIN": "plain-value"})
    assert kw["hosts"] == ["head", "node1", "node2"] and kw["worker_class"] == "distributed.Nanny"
    assert kw["worker_options"]["env"] == {"RF_CLOUD_PLAIN": "plain-value"}
    assert kw["worker_options"]["nthreads"] == 2 and kw["scheduler_options"]["idle_timeout"] == "1800s"


@pytest.mark.parametrize("kind,directive,walltime", [("pbs", "#PBS -l walltime=02:00:00", "02:00:00"),
                                                     ("sge", "#$ -l h_rt=02:00:00", "02:00:00"),
                                                     ("lsf", "#BSUB -W 02:00", "02:00:00")])
def test_batch_job_scripts(kind, directive, walltime, tmp_path):
    import dask_jobqueue

    from runfleet.clusters.jobqueue import jobqueue_kwargs

    profile = validate_profile(kind, {"kind": kind, "walltime": walltime, "account": "proj1", "host": "127.0.0.1",
                                      "secrets_dir": str(tmp_path)})
    kw, secrets, wall, margin = jobqueue_kwargs(profile, {"RF_PLAIN": "a b", "MY_API_TOKEN": "tok-123"},
                                                "project" if kind in ("sge", "lsf") else "account",
                                                __import__("runfleet.clusters.jobqueue", fromlist=["hm"]).hm
                                                if kind == "lsf" else None)
    cls = {"pbs": dask_jobqueue.PBSCluster, "sge": dask_jobqueue.SGECluster, "lsf": dask_jobqueue.LSFCluster}[kind]
    cluster = cls(**kw)
    try:
        script = cluster.job_script()
    finally:
        cluster.close()
    assert directive in script and "proj1" in script
    assert "-m distributed.cli.dask_worker" in script and "--lifetime 6900s" in script
    assert "export RF_PLAIN='a b'" in script and "tok-123" not in script and f". {secrets}" in script
    assert secrets.read_text() == "export MY_API_TOKEN=tok-123\n" and wall == 7200 and margin == 300 + 75

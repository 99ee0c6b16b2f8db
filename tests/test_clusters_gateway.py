"""kind: gateway — a real dask-gateway-server (UnsafeLocalBackend) on loopback."""
from __future__ import annotations


import pytest

from cluster_fixtures import *  # noqa: F401,F403
from cluster_fixtures import REPO

from runfleet import Run, Study, run_study
from runfleet.clusters import open_cluster
from runfleet.clusters.gateway import close_quietly
from waiting import wait_until

pytestmark = pytest.mark.slow


def _gateway(server):
    from dask_gateway import Gateway
    from dask_gateway.auth import BasicAuth

    return Gateway(server.address, auth=BasicAuth("tester"))


def test_gateway_new_cluster_adapt_study_shutdown(gateway_server, tmp_path, profiles_file, monkeypatch):
    monkeypatch.setenv("RF_GW_TOKEN", "gw-secret-value")
    profiles_file({"hub": {
        "kind": "gateway", "address": gateway_server.address, "auth": "basic", "username": "tester",
        "cluster_options": {"worker_cores": 1}, "adapt": {"minimum": 0, "maximum": 2},
        "env": {"forward": ["RF_GW_TOKEN"], "set": {"RF_GW_PLAIN": "hello"},
                "pythonpath": [str(REPO / "tests"), str(REPO / "src")]},
    }})
    store = tmp_path / "store"
    study = Study(name="gw", store=str(store), seed=5, defaults={"retries": 2})
    names = ["RF_GW_TOKEN", "RF_GW_PLAIN"]
    study.add_many([Run(f"sq-{i:02d}", "cluster_fixtures:square_run",
                        params={"i": i, "sleep_s": 0.5, "env_names": names}) for i in range(10)])
    summary = run_study(study, cluster="hub", progress=False)
    assert summary.exit_code == 0 and summary.counts.get("done") == 10, summary.counts
    assert all(o.value["env"] == {"RF_GW_TOKEN": "gw-secret-value", "RF_GW_PLAIN": "hello"}
               for o in summary.outcomes.values())
    gw = _gateway(gateway_server)
    try:
        # shutdown is asynchronous on the server side
        wait_until(lambda: gw.list_clusters() == [], 10, "the gateway lists no cluster", interval=0.2)
    finally:
        close_quietly(gw)


def test_gateway_connect_existing_cluster_by_name(gateway_server, profiles_file):
    gw = _gateway(gateway_server)
    cluster = gw.new_cluster()
    try:
        cluster.scale(1)
        profiles_file({"running": {"kind": "gateway", "address": gateway_server.address, "auth": "basic",
                                   "username": "tester", "cluster_name": cluster.name, "adapt": False},
                       "auto": {"kind": "gateway", "address": gateway_server.address, "auth": "basic",
                                "username": "tester", "cluster_name": "auto", "adapt": False}})
        for name in ("running", "auto"):
            with open_cluster(name) as session:
                assert session.kind == "gateway"
                session.client.wait_for_workers(1, timeout=60)
                assert session.client.submit(lambda x: x + 1, 41).result(timeout=60) == 42
        # closing the sessions left the cluster running
        assert [c.name for c in gw.list_clusters()] == [cluster.name]
    finally:
        cluster.shutdown()
        close_quietly(cluster.gateway)
        close_quietly(gw)


def test_runfleet_run_on_gateway_exits_clean(gateway_server, tmp_path):
    """A whole `runfleet run` on a gateway cluster: exit 0 and no library noise at exit
    (no 'Exception ignored in Gateway.__del__')."""
    import yaml

    from conftest import run_cli, worker_env

    profiles = tmp_path / "profiles.yaml"
    profiles.write_text(yaml.safe_dump({"clusters": {"hub": {
        "kind": "gateway", "address": gateway_server.address, "auth": "basic", "username": "tester",
        "adapt": False, "workers": 1, "env": {"pythonpath": [str(REPO / "tests"), str(REPO / "src")]}}}}))
    study = tmp_path / "s.yaml"
    study.write_text(f"name: gwcli\nstore: {tmp_path / 'store'}\nruns:\n"
                     "  - {name: a, fn: cluster_fixtures:square_run, params: {i: 3, sleep_s: 0}}\n")
    r = run_cli("run", study, "--cluster", "hub", "--progress", "none",
                env={**worker_env(), "RUNFLEET_CONFIG": str(profiles)}, timeout=300)
    assert r.returncode == 0, r.stderr
    assert "Exception ignored" not in r.stderr and "Traceback" not in r.stderr, r.stderr
    assert (tmp_path / "store" / "gwcli" / "runs" / "a" / "out.txt").read_text() == "9\n"

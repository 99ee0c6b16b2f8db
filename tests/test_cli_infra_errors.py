"""Bad numeric options, corrupt records and unreachable or unauthorised stores: one line, the
documented exit code (2 bad input / corrupt record / refused credentials, 4 store not reachable),
never a traceback. Real CLIs as subprocesses; a real moto_server for S3."""
from __future__ import annotations

import os

import pytest

from conftest import free_port, run_cli, worker_env


def _one_line(proc, code: int) -> str:
    assert proc.returncode == code, (proc.returncode, proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr, proc.stderr
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip() and not ln.startswith("usage:")]
    assert len(lines) == 1, proc.stderr
    return lines[0]


@pytest.mark.parametrize("value", ["-1", "0"])
def test_max_in_flight_must_be_positive(tmp_path, value):
    study = tmp_path / "s.yaml"
    study.write_text(f"name: m\nstore: {tmp_path / 'store'}\nruns:\n  - {{name: a, fn: 'runfns:add', params: {{x: 1.0}}}}\n")
    r = run_cli("run", study, "--max-in-flight", value, "--cluster", "serial", cwd=tmp_path, timeout=60)
    line = _one_line(r, 2)
    assert "--max-in-flight" in line and value in line
    assert not (tmp_path / "store").exists()  # nothing written


def test_status_and_report_on_a_corrupt_study_record(tmp_path):
    study = tmp_path / "s.yaml"
    store = tmp_path / "store"
    study.write_text(f"name: c\nstore: {store}\nruns:\n  - {{name: a, fn: 'runfns:add', params: {{x: 1.0}}}}\n")
    assert run_cli("run", study, "--cluster", "serial", cwd=tmp_path, timeout=120).returncode == 0
    (store / "c" / "study.json").write_text('{"name": "c", "runs": [')  # torn by hand
    for cmd in (["status", f"{store}/c"], ["report", f"{store}/c", "--out", str(tmp_path / "r.html")]):
        line = _one_line(run_cli(*cmd, cwd=tmp_path, timeout=60), 2)
        assert "study.json" in line and "corrupt" in line, line
    assert not (tmp_path / "r.html").exists()


def _no_credentials_env() -> dict:
    env = {k: v for k, v in worker_env().items() if not k.startswith("AWS_")}
    env.update(AWS_SHARED_CREDENTIALS_FILE="/nonexistent", AWS_CONFIG_FILE="/nonexistent",
               AWS_EC2_METADATA_DISABLED="true")
    return env


def test_status_report_summary_on_s3_without_credentials(tmp_path, moto_server):
    opt = ["--storage-option", f"client_kwargs.endpoint_url={moto_server}"]
    env = _no_credentials_env()
    for cmd, exe in ((["status", "s3://nobucket/x/st", *opt], "runfleet"),
                     (["report", "s3://nobucket/x/st", "--out", str(tmp_path / "r.html"), *opt], "runfleet"),
                     (["summary", "s3://nobucket/x", *opt], "cholera")):
        r = run_cli(*cmd, cwd=tmp_path, env=env, timeout=120, exe=exe)
        line = _one_line(r, 2)
        assert "not authorised" in line and "s3://nobucket/x" in line, line


def test_status_report_summary_on_an_unreachable_store(tmp_path):
    endpoint = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    opt = ["--storage-option", "key=k", "--storage-option", "secret=s",
           "--storage-option", f"client_kwargs.endpoint_url={endpoint}"]
    for cmd, exe in ((["status", "s3://b/x/st", *opt], "runfleet"),
                     (["report", "s3://b/x/st", "--out", str(tmp_path / "r.html"), *opt], "runfleet"),
                     (["summary", "s3://b/x", *opt], "cholera")):
        r = run_cli(*cmd, cwd=tmp_path, timeout=180, exe=exe)
        line = _one_line(r, 4)
        assert "not reachable" in line and "s3://b/x" in line, line
        assert "secret=s" not in line and os.environ.get("AWS_SECRET_ACCESS_KEY", "\0") not in line


def test_run_on_an_unreachable_store_is_exit_4(tmp_path):
    """A store that does not answer when ``runfleet run`` starts is an infrastructure failure (exit 4,
    as status and report give), not bad input; the secret never appears."""
    endpoint = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    study = tmp_path / "s.yaml"
    study.write_text("name: st\nstore: s3://b/x\nruns:\n  - {name: a, fn: 'runfns:add', params: {x: 1.0}}\n")
    opt = ["--storage-option", "key=k", "--storage-option", "secret=s3cr3t-value",
           "--storage-option", f"client_kwargs.endpoint_url={endpoint}",
           "--storage-option", "config_kwargs.retries.max_attempts=1"]
    r = run_cli("run", study, "--cluster", "serial", *opt, cwd=tmp_path, timeout=180)
    line = _one_line(r, 4)
    assert "not reachable" in line and "s3://b/x" in line, line
    assert "s3cr3t-value" not in r.stderr + r.stdout


@pytest.mark.parametrize("command", ["run", "status"])
def test_an_s3_endpoint_that_is_not_a_url_is_one_line_of_bad_input(tmp_path, command):
    study = tmp_path / "s.yaml"
    study.write_text("name: m\nstore: s3://some-bucket/runs\nruns:\n  - {name: a, fn: 'runfns:add', params: {x: 1.0}}\n")
    target = study if command == "run" else "s3://some-bucket/runs/m"
    env = {**worker_env(), "AWS_ACCESS_KEY_ID": "k", "AWS_SECRET_ACCESS_KEY": "s"}
    r = run_cli(command, target, "--storage-option", "client_kwargs.endpoint_url=notaurl", cwd=tmp_path, timeout=60,
                env=env)
    line = _one_line(r, 2)
    assert "storage options" in line and "notaurl" in line

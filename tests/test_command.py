"""Command runs (runfleet.command:run_command) in a study on the embedded cluster: a shell
command, an Rscript command, a failing command, a timeout that ends the process group, resume,
an S3 store."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import time

import psutil
import pytest

from runfleet import Run, Study, run_study
from runfleet.keys import run_seed
from waiting import wait_until
from conftest import study_record_runs

CMD = "runfleet.command:run_command"


def study(tmp_path, name="cmd", **kwargs) -> Study:
    return Study(name, store=str(tmp_path / "store"), seed=11, **kwargs)


def test_shell_command_outputs_value_log_and_env(client, tmp_path):
    s = study(tmp_path)
    script = ('echo "$GREETING {i}" > {out}/hello.txt; echo "seed=$RUNFLEET_SEED run=$RUNFLEET_RUN" >&2; '
              'echo "not json"; echo \'{{"i": {i}, "seed": {seed}, "name": "{name}"}}\'')
    for i in (1, 2):
        s.add(Run(f"hello-{i}", CMD, params={"cmd": ["sh", "-c", script], "env": {"GREETING": "hi from {name}"},
                                             "i": i}))
    s.add(Run("valuefile", CMD, params={"cmd": ["sh", "-c", 'echo \'{{"from": "file"}}\' > "$RUNFLEET_OUT/_value.json"; '
                                                          'echo 42']}))
    s.add(Run("novalue", CMD, params={"cmd": ["echo", "plain text"]}))
    summary = run_study(s, cluster=client, progress=False)
    assert summary.exit_code == 0, summary.outcomes
    run_dir = tmp_path / "store" / "cmd" / "runs"
    assert (run_dir / "hello-2" / "hello.txt").read_text() == "hi from hello-2 2\n"
    value = summary.outcomes["hello-2"].value
    assert value == {"i": 2, "seed": run_seed(11, "hello-2"), "name": "hello-2"}
    log = (run_dir / "hello-2" / "_log.txt").read_text()
    assert f"stderr: seed={run_seed(11, 'hello-2')} run=hello-2" in log and "stdout: not json" in log
    assert summary.outcomes["valuefile"].value == {"from": "file"}  # the file wins over stdout
    assert summary.outcomes["novalue"].value is None
    marker = json.loads((run_dir / "hello-1" / "_result.json").read_text())
    assert marker["value"]["i"] == 1


def test_failing_command_is_recorded_with_exit_code_and_stderr_tail(client, tmp_path):
    s = study(tmp_path, name="fail")
    s.add(Run("bad", CMD, params={"cmd": ["sh", "-c", "for n in $(seq 1 30); do echo line-$n >&2; done; exit 3"]}))
    s.add(Run("missing", CMD, params={"cmd": ["no-such-program-runfleet", "x"]}))
    s.add(Run("typo", CMD, params={"cmd": ["echo", "{nope}"]}))
    s.add(Run("after-bad", CMD, params={"cmd": ["true"]}, after=["bad"]))
    summary = run_study(s, cluster=client, progress=False)
    assert summary.exit_code == 1
    err = json.loads((tmp_path / "store/fail/runs/bad/_error.json").read_text())
    assert err["error_class"] == "CommandFailed"
    assert "exited with code 3" in err["message"]
    assert "line-30" in err["message"] and "line-11" in err["message"] and "line-10\n" not in err["message"]
    assert err["exit_code"] == 3  # fields of their own, not only in the message
    assert err["stderr_tail"].splitlines() == [f"line-{n}" for n in range(11, 31)]
    missing = summary.outcomes["missing"]
    assert missing.error_class == "CommandFailed" and "could not be started" in missing.error
    typo = summary.outcomes["typo"]
    assert typo.error_class == "ValueError" and "{nope}" in typo.error
    assert summary.outcomes["after-bad"].status == "skipped"


def test_timeout_ends_the_whole_process_group(client, tmp_path):
    s = study(tmp_path, name="slow")
    s.add(Run("sleeper", CMD, params={"cmd": ["sh", "-c", "sleep 300 & echo $! > {out}/child.pid; "
                                                         "echo $$ > {out}/shell.pid; wait"]}, timeout_s=1.5))
    t0 = time.monotonic()
    summary = run_study(s, cluster=client, progress=False)
    o = summary.outcomes["sleeper"]
    assert (o.status, o.error_class) == ("failed", "RunTimeout")
    assert time.monotonic() - t0 < 25  # ended at once, not after the worker's grace period
    run_dir = tmp_path / "store/slow/runs/sleeper"
    pids = [int((run_dir / f).read_text()) for f in ("child.pid", "shell.pid")]

    def alive() -> list:
        return [p for p in pids if psutil.pid_exists(p) and psutil.Process(p).status() != psutil.STATUS_ZOMBIE]

    try:
        wait_until(lambda: not alive(), 5, "the command's processes ended")
    except TimeoutError:
        raise AssertionError(f"left running after the timeout: {alive()}") from None


def test_resume_skips_done_commands(client, tmp_path):
    counter = tmp_path / "executions.txt"

    def make():
        s = study(tmp_path, name="resume")
        for i in range(4):
            s.add(Run(f"step-{i}", CMD, params={"cmd": ["sh", "-c", "echo {name} >> " + str(counter) + "; echo {i}"],
                                                "i": i}))
        s.add(Run("fails-once", CMD, params={"cmd": ["sh", "-c", f"test -e {tmp_path}/ok || exit 1"]}))
        return s

    first = run_study(make(), cluster=client, progress=False)
    assert first.counts["done"] == 4 and first.counts["failed"] == 1
    (tmp_path / "ok").write_text("")
    second = run_study(make(), cluster=client, progress=False)
    assert second.exit_code == 0 and second.counts["resumed"] == 4
    assert sorted(counter.read_text().split()) == [f"step-{i}" for i in range(4)]
    assert [second.outcomes[f"step-{i}"].value for i in range(4)] == [0, 1, 2, 3]


def test_command_outputs_uploaded_to_s3(client, moto_s3):
    import s3fs

    so = moto_s3["storage_options"]
    store = f"s3://{moto_s3['bucket']}/runs"
    s = Study("s3cmd", store=store, seed=1, storage_options=so)
    s.add(Run("w", CMD, params={"cmd": ["sh", "-c", "mkdir -p {out}/sub && echo {x} > {out}/sub/x.txt && echo 7"],
                                "x": "payload"}))
    summary = run_study(s, cluster=client, progress=False)
    assert summary.outcomes["w"].value == 7, summary.outcomes["w"]
    fs = s3fs.S3FileSystem(**so)
    assert fs.cat_file(f"{store}/s3cmd/runs/w/sub/x.txt") == b"payload\n"


@pytest.mark.root
def test_rscript_command(client, tmp_path):
    if shutil.which("Rscript") is None:
        pytest.skip("Rscript not found (Debian: apt-get install r-base-core; make system-deps as root)")
    s = study(tmp_path, name="r")
    code = ("x <- {i} * 2; writeLines(as.character(x), file.path(Sys.getenv('RUNFLEET_OUT'), 'twice.txt')); "
            "message('R says hi'); cat(x, '\\n')")
    for i in (1, 2, 3):
        s.add(Run(f"r-{i}", CMD, params={"cmd": ["Rscript", "-e", code], "i": i}))
    s.add(Run("r-fail", CMD, params={"cmd": ["Rscript", "-e", "stop('calibration diverged')"]}))
    summary = run_study(s, cluster=client, progress=False)
    assert [summary.outcomes[f"r-{i}"].value for i in (1, 2, 3)] == [2, 4, 6]
    assert (tmp_path / "store/r/runs/r-3/twice.txt").read_text().strip() == "6"
    assert "R says hi" in (tmp_path / "store/r/runs/r-1/_log.txt").read_text()
    fail = summary.outcomes["r-fail"]
    assert fail.error_class == "CommandFailed" and "calibration diverged" in fail.error


def test_input_file_contents_are_part_of_the_key(client, tmp_path):
    from runfleet.command import command_run
    from runfleet.errors import InputError

    data = tmp_path / "data.csv"
    data.write_text("a,b\n1,2\n")
    counter = tmp_path / "executions.txt"

    def make():
        s = study(tmp_path, name="inputs")
        s.add(command_run("count", ["sh", "-c", "wc -l < {data} && echo x >> " + str(counter)],
                          inputs=[str(data)], params={"data": str(data)}))
        return s

    assert run_study(make(), cluster=client, progress=False).outcomes["count"].value == 2
    assert run_study(make(), cluster=client, progress=False).counts["resumed"] == 1
    data.write_text("a,b\n1,2\n3,4\n")  # same path, new contents: the run is another run
    assert run_study(make(), cluster=client, progress=False).outcomes["count"].value == 3
    assert counter.read_text().count("x") == 2
    gone = study(tmp_path, name="gone")
    gone.add(command_run("gone", ["true"], inputs=[str(tmp_path / "missing.csv")]))
    with pytest.raises(InputError, match=r"run 'gone': inputs: cannot read input file .*missing.csv"):
        run_study(gone, cluster=client, progress=False)
    assert not (tmp_path / "store/gone").exists()  # before anything runs


def test_yaml_cmd_with_inputs_uses_the_run_inputs_key(tmp_path):
    """A YAML ``cmd:`` + ``inputs:`` entry is the same run as ``command_run`` (one way to hash
    input files: ``Run.inputs``): same key, and editing the file re-runs exactly that run."""
    from runfleet import load_study
    from runfleet.command import command_run

    data = tmp_path / "data.csv"
    data.write_text("a\n1\n")
    (tmp_path / "s.yaml").write_text(
        f"name: yin\nstore: {tmp_path}/store\nruns:\n"
        f"  - {{name: count, cmd: [sh, -c, 'wc -l < {{data}}'], params: {{data: '{data}'}}, inputs: ['{data}']}}\n"
        "  - {name: other, cmd: [echo, '7']}\n")
    first = run_study(load_study(tmp_path / "s.yaml"), cluster="serial", progress=False)
    assert first.outcomes["count"].value == 2
    keys = {r["name"]: r["key"] for r in study_record_runs(tmp_path / "store/yin")}
    s = study(tmp_path, name="yin")
    s.seed = 0
    s.add(command_run("count", ["sh", "-c", "wc -l < {data}"], inputs=[str(data)], params={"data": str(data)}))
    s.add(command_run("other", ["echo", "7"]))
    again = run_study(s, cluster="serial", progress=False)
    assert again.counts["resumed"] == 2  # the Python builder makes the same keys
    data.write_text("a\n1\n2\n")
    third = run_study(load_study(tmp_path / "s.yaml"), cluster="serial", progress=False)
    assert third.outcomes["count"].value == 3 and not third.outcomes["count"].resumed
    assert third.outcomes["other"].resumed
    assert keys["other"] == {r["name"]: r["key"] for r in
                             study_record_runs(tmp_path / "store/yin")}["other"]

"""``runfleet status`` on a larger study: counts first, filters, limits, exit codes, --json."""
from __future__ import annotations

import json

import pytest

from runfleet import Run, Study, run_study
from runfleet.cli import main

CMD = "runfleet.command:run_command"


@pytest.fixture(scope="module")
def studies(client, tmp_path_factory):
    """A 120-run study with 3 ValueError failures, 1 CommandFailed, 2 skipped; and an all-done one."""
    store = tmp_path_factory.mktemp("status") / "store"
    s = Study("big", store=str(store), seed=1)
    for i in range(114):
        s.add(Run(f"ok-{i:03d}", "runfns:trivial", params={"i": i}))
    for i in range(3):
        s.add(Run(f"bad-{i}", "runfns:boom", params={"message": f"bad parameter {i}"}))
    s.add(Run("cmd-bad", CMD, params={"cmd": ["sh", "-c", "echo nope >&2; exit 4"]}))
    s.add(Run("after-0", "runfns:add", after=["bad-0"]))
    s.add(Run("after-1", "runfns:add", after=["bad-1"]))
    assert run_study(s, cluster=client, progress=False).exit_code == 1
    fine = Study("fine", store=str(store), seed=1)
    fine.add(Run("a", "runfns:trivial"))
    assert run_study(fine, cluster=client, progress=False).exit_code == 0
    return store


def status(capsys, *args) -> tuple[int, str, str]:
    rc = main(["status", *map(str, args)])
    out = capsys.readouterr()
    return rc, out.out, out.err


def test_counts_and_error_classes_come_first_then_a_bounded_table(studies, capsys):
    rc, out, _ = status(capsys, studies / "big")
    assert rc == 1
    lines = out.splitlines()
    assert lines[0] == f"study {studies / 'big'}: 120 runs: 114 done, 4 failed, 2 skipped, 0 pending"
    assert lines[1] == "failed by error class: ValueError 3, CommandFailed 1"
    assert lines[2].startswith("skipped: upstream 'bad-0' failed (1), upstream 'bad-1' failed (1)")
    table = [line for line in lines if line.startswith(("ok-", "bad-", "cmd-", "after-"))]
    assert len(table) == 50
    assert lines[-1].startswith("... 70 more")


def test_status_filter_and_limit(studies, capsys):
    rc, out, _ = status(capsys, studies / "big", "--status", "failed")
    rows = [line.split()[0] for line in out.splitlines() if line.startswith(("ok-", "bad-", "cmd-", "after-"))]
    assert rc == 1 and rows == ["bad-0", "bad-1", "bad-2", "cmd-bad"]
    assert "CommandFailed: command 'sh' exited with code 4" in out
    _, out, _ = status(capsys, studies / "big", "--status", "failed,skipped", "--limit", "5")
    rows = [line.split()[0] for line in out.splitlines() if line.startswith(("bad-", "cmd-", "after-"))]
    assert rows == ["bad-0", "bad-1", "bad-2", "cmd-bad", "after-0"] and "... 1 more" in out
    _, out, _ = status(capsys, studies / "big", "--limit", "0")
    assert len([line for line in out.splitlines() if line.startswith("ok-")]) == 114 and "more" not in out
    _, out, _ = status(capsys, studies / "big", "--status", "pending")
    assert "no runs with status pending" in out


def test_json_keeps_its_shape_and_exit_code(studies, capsys):
    rc, out, _ = status(capsys, studies / "big", "--json")
    rows = json.loads(out)
    assert rc == 1 and len(rows) == 120
    assert set(rows[0]) == {"name", "status", "attempts", "duration_s", "error_class", "finished", "key"}
    by = {r["name"]: r for r in rows}
    assert by["bad-1"]["error_class"] == "ValueError" and by["bad-1"]["error"] == "bad parameter 1"
    assert by["after-1"]["status"] == "skipped" and "bad-1" in by["after-1"]["reason"]
    rc, out, _ = status(capsys, studies / "big", "--json", "--status", "skipped")
    assert [r["name"] for r in json.loads(out)] == ["after-0", "after-1"]


def test_exit_0_when_nothing_failed_or_was_skipped(studies, capsys):
    rc, out, _ = status(capsys, studies / "fine")
    assert rc == 0 and out.startswith(f"study {studies / 'fine'}: 1 runs: 1 done, 0 failed, 0 skipped, 0 pending")
    assert status(capsys, studies / "fine", "--json")[0] == 0


@pytest.mark.parametrize("args, message", [
    (["--status", "broken"], "--status: expected one or more of done, failed, skipped, pending"),
    (["--limit", "-1"], "--limit: expected a non-negative number"),
])
def test_bad_flags_exit_2_with_one_line(studies, capsys, args, message):
    rc, out, err = status(capsys, studies / "big", *args)
    assert rc == 2 and message in err and "Traceback" not in err and out == ""

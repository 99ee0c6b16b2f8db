"""``cluster="serial"``: the same study in this process gives the same records as on Dask."""
import json
from pathlib import Path

from conftest import run_cli, study_record_runs
from runfleet import Run, Study, grid, run_study
from runfleet.ledger import pack_markers


def _study(store: Path, counter: Path) -> Study:
    s = Study(name="val", store=str(store), seed=13, defaults={"retries": 1, "backoff_s": 0})
    s.add(Run("a", "runfns:add", params={"x": 1.5}))
    s.add_many(grid("d-{i}", "runfns:draw", {"i": [0, 1, 2]}, params={"n": 50}, pack=False))
    s.add_many(grid("t-{i}", "runfns:trivial", {"i": list(range(60))}))
    s.add_many(grid("b-{x}", "runfns:add", {"x": [10.0, 20.0]}, after=["a"]))
    s.add(Run("c", "runfns:add", after=["b-*"]))
    s.add(Run("bad", "runfns:boom", params={"message": "alpha out of range"}))
    s.add(Run("child", "runfns:record", params={"counter": str(counter)}, after=["bad"]))
    s.add(Run("fan", "runfns:fan_out", params={"n": 12}))
    return s


def _values(study_dir: Path) -> dict:
    out = {p.parent.name: json.loads(p.read_text())["value"] for p in (study_dir / "runs").glob("*/_result.json")}
    for f in (study_dir / "_packs").glob("*.json*"):
        out.update({k: v["value"] for k, v in pack_markers(f.read_bytes()).items()})
    return out


def _errors(study_dir: Path) -> dict:
    out = {}
    for p in (study_dir / "runs").glob("*/_error.json"):
        d = json.loads(p.read_text())
        out[p.parent.name] = (d["status"], d["error_class"], d["attempts"], d.get("reason"), d["key"])
    return out


def test_serial_and_dask_give_identical_records_and_outputs(tmp_path, client):
    serial = run_study(_study(tmp_path / "serial", tmp_path / "counter"), cluster="serial", progress=False)
    dask = run_study(_study(tmp_path / "dask", tmp_path / "counter"), cluster=client, progress=False)
    assert serial.exit_code == dask.exit_code == 1
    assert serial.counts == dask.counts and serial.counts["done"] == 68
    a, b = tmp_path / "serial/val", tmp_path / "dask/val"
    assert _values(a) == _values(b) and len(_values(a)) == 68
    assert _values(a)["c"] == {"total": 33.0}  # b-10 (11.5) + b-20 (21.5) through ctx.upstream
    assert _errors(a) == _errors(b)
    assert _errors(a)["bad"][:3] == ("failed", "ValueError", 2)
    for i in range(3):  # seeded outputs written by the run: byte for byte
        assert (a / f"runs/d-{i}/draws.parquet").read_bytes() == (b / f"runs/d-{i}/draws.parquet").read_bytes()
    keys_a = {r["name"]: r["key"] for r in study_record_runs(a)}
    keys_b = {r["name"]: r["key"] for r in study_record_runs(b)}
    assert keys_a == keys_b
    # a study run serially resumes on Dask (same keys, same records): nothing done runs again
    again = run_study(_study(tmp_path / "serial", tmp_path / "counter"), cluster=client, progress=False)
    assert again.counts["resumed"] == 68


def test_cli_cluster_serial(tmp_path):
    study = tmp_path / "s.yaml"
    study.write_text(f"name: ser\nstore: {tmp_path}/store\nseed: 3\nruns:\n"
                     "  - {name: 'd-{i}', fn: 'runfns:draw', grid: {i: [0, 1]}}\n"
                     "  - {name: tot, fn: 'runfns:record', after: ['d-*']}\n")
    proc = run_cli("run", study, "--cluster", "serial", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "cluster: serial" in proc.stderr and "dashboard" not in proc.stderr
    assert "3 done" in proc.stdout
    assert (tmp_path / "store/ser/runs/d-1/draws.parquet").exists()

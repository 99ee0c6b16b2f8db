"""The bulk keying path (runs without upstreams keyed and added in bulk: a resume of a million
runs) makes byte for byte the keys of the run-by-run path, and resumes, re-runs and plans
exactly what it does."""
from pathlib import Path

import pytest

import runfleet.engine as engine
from runfleet import After, Run, Study, plan_study, run_study
from runfleet.backends import SERIAL
from runfleet.engine import Fleet, resolve_store
from runfleet.plan import PlainKeyer, is_plain, key_runs
from runfleet.study import resolve_fn

import runfns


def _plain_fn(ctx, **params):  # a callable fn (not "module:attr"): keyed by its source
    return len(params)


def build(tmp: Path, edits: dict | None = None) -> Study:
    """A varied study: nested dict / float / string / unicode params, per-run and study version,
    a callable fn, input files, a declared skip, ``after`` chains and an aggregator."""
    edits = edits or {}
    counter = str(tmp / "executions.txt")
    s = Study("varied", store=str(tmp / "store"), seed=edits.get("seed", 7), version="sv1",
              defaults={"pack": edits.get("pack", False)})
    for i in range(6):
        s.add(Run(f"p-{i}", "runfns:record",
                  params={"counter": counter, "x": edits.get(f"x{i}", i * 0.1), "nested": {"b": [1, 2.5, None],
                          "a": {"z": "é€", "y": True}}, "s": f"val-{i}"},
                  version=edits.get(f"v{i}")))
    s.add(Run("callable", _plain_fn, params={"k": 1e-300, "big": 10 ** 30}))
    s.add(Run("with-input", "runfns:record", params={"counter": counter}, inputs=[str(tmp / "in.txt")]))
    s.add(Run("declared-skip", "runfns:record", params={"counter": counter}, skip_reason="nothing to do"))
    s.add(Run("chain-1", "runfns:record", params={"counter": counter}, after=["p-1"]))
    s.add(Run("chain-2", "runfns:record", params={"counter": counter}, after=["chain-1", "with-input"]))
    s.add(Run("agg", "runfns:record", params={"counter": counter}, after=[After("p-*", allow_failed=True)]))
    return s


def executions(tmp: Path) -> list[str]:
    path = tmp / "executions.txt"
    return sorted(path.read_text().split()) if path.exists() else []


@pytest.fixture
def bulk(monkeypatch):
    """Every batch, however small, through the bulk path."""
    monkeypatch.setattr(engine, "PLAIN_BULK_MIN", 0)


def slow_keys(study: Study) -> dict:
    deps = study.validate()
    keyed = key_runs(study.runs, deps, {n: resolve_fn(study.runs[n].fn, n) for n in deps}, {}, study.version,
                     study.seed, storage_options=study.storage_options)
    return {n: (kr.key, kr.params_hash, kr.code, kr.fn_path, kr.takes_ctx) for n, kr in keyed.items()}


def test_bulk_keys_are_byte_identical_to_the_run_by_run_keys(tmp_path, bulk):
    (tmp_path / "in.txt").write_text("input v1")
    study = build(tmp_path, {"v2": "run-version"})
    expected = slow_keys(study)
    fleet = Fleet(study, resolve_store(study), cluster=SERIAL)
    order = fleet.submit(study.runs, checked=True)
    assert sorted(order) == sorted(expected)
    got = {n: (fleet.runs[n].kr.key, fleet.runs[n].kr.params_hash, fleet.runs[n].kr.code, fleet.runs[n].kr.fn_path,
               fleet.runs[n].kr.takes_ctx) for n in order}
    assert got == expected
    # the keyer on its own, on the plain runs
    deps = study.validate()
    plain = [n for n in deps if is_plain(study.runs[n], deps[n])]
    assert {"p-0", "p-5", "callable"} <= set(plain) and "with-input" not in plain and "chain-1" not in plain
    keyer = PlainKeyer(lambda n: resolve_fn(study.runs[n].fn, n), study.version, study.seed)
    keys, phashes, _ = keyer.key(plain, [study.runs[n] for n in plain])
    assert {n: (k, p) for n, k, p in zip(plain, keys, phashes)} == {n: expected[n][:2] for n in plain}


@pytest.mark.parametrize("pack", [False, True], ids=["markers", "packs"])
def test_bulk_resume_reruns_exactly_the_changed_runs_and_their_dependents(tmp_path, bulk, pack):
    (tmp_path / "in.txt").write_text("input v1")
    first = run_study(build(tmp_path, {"pack": pack}), cluster="serial", progress=False)
    assert any((tmp_path / "store/varied/_packs").glob("*")) == pack
    assert first.counts["done"] == 11 and first.counts["skipped"] == 1
    ran = executions(tmp_path)
    assert len(ran) == 10  # "callable" counts nothing; the declared skip never runs

    def again(edits=None):
        (tmp_path / "executions.txt").unlink(missing_ok=True)
        study = build(tmp_path, {"pack": pack, **(edits or {})})
        plan = {r["name"] for r in plan_study(study) if r["action"] == "run"}
        summary = run_study(study, cluster="serial", progress=False)
        executed = {n for n, o in summary.outcomes.items() if not o.resumed and o.status != "skipped"}
        assert plan == executed
        return summary, executed

    summary, executed = again()
    assert executed == set() and executions(tmp_path) == []
    assert summary.counts["resumed"] == 11
    assert summary.outcomes["p-3"].value["params"]["s"] == "val-3"  # a resumed run's value, from its pack
    assert summary.outcomes["p-3"].duration_s is not None
    _, executed = again({"x1": 99.5})  # a param of an upstream: it and its chain
    assert executed == {"p-1", "chain-1", "chain-2", "agg"}
    _, executed = again({"x1": 99.5, "v4": "new-version"})  # a run's own version
    assert executed == {"p-4", "agg"}
    (tmp_path / "in.txt").write_text("input v2")  # an input file
    _, executed = again({"x1": 99.5, "v4": "new-version"})
    assert executed == {"with-input", "chain-2"}
    _, executed = again({"x1": 99.5, "v4": "new-version", "seed": 8})  # the study seed: everything
    assert executed == {n for n in build(tmp_path).runs if n != "declared-skip"}


def test_bulk_resume_of_a_store_written_run_by_run(tmp_path, monkeypatch):
    """A store written by the run-by-run path (as earlier versions did) resumes as done in bulk."""
    (tmp_path / "in.txt").write_text("input v1")
    monkeypatch.setattr(engine, "PLAIN_BULK_MIN", 10 ** 9)
    run_study(build(tmp_path), cluster="serial", progress=False)
    monkeypatch.setattr(engine, "PLAIN_BULK_MIN", 0)
    summary = run_study(build(tmp_path), cluster="serial", progress=False)
    assert summary.counts["resumed"] == 11 and summary.counts["done"] == 11


def test_bulk_path_reports_a_bad_run_in_one_line(tmp_path, bulk):
    from runfleet.errors import InputError

    study = Study("bad", store=str(tmp_path / "store"))
    for i in range(5):
        study.add(Run(f"r-{i}", "runfns:record", params={"x": i}))
    study.add(Run("r-nan", "runfns:record", params={"x": float("nan")}))
    with pytest.raises(InputError, match=r"run 'r-nan': params: not JSON-able"):
        run_study(study, cluster="serial", progress=False)
    study = Study("bad2", store=str(tmp_path / "store"))
    study.add(Run("r-0", "runfns:record", params={"x": 0}, retries=-1))
    study.add(Run("r-1", "runfns:record", params={"x": object()}))
    with pytest.raises(InputError, match=r"run 'r-0': retries"):  # the first bad run, in order
        study.validate()
    assert not (tmp_path / "store").exists()


def test_canonical_json_is_the_json_modules_text_so_stored_keys_stay_valid():
    """Keys hash canonical JSON; ``keys.one_shot_encoder`` builds it without ``JSONEncoder.encode``'s
    per-call set-up. Its text must stay the standard library's, byte for byte, or every store
    written before would re-run."""
    import json
    import math

    from runfleet.keys import _encode_checked, canonical_json

    values = [{"b": [1, 2.5, None, True], "a": {"z": "é€\n\"q\"", "y": -0.0}}, 10 ** 30, 1e-300, "plain",
              [], {}, {"k": [{"n": 1}, {"m": [2, 3]}]}, 3.141592653589793, "tab\there", False]
    for v in values:
        want = json.dumps(v, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
        assert canonical_json(v) == want
        assert _encode_checked(v) == want
    with pytest.raises(ValueError):
        canonical_json({"x": math.nan})

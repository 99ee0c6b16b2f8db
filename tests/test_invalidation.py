"""One invalidation rule: the dry run (``plan_study``) and the real run execute the same runs.

Random edit sequences over a diamond-plus-chain study on the serial backend; after every edit
the set the dry run says will run must equal the set the engine executed (every run not resumed
from the store, including runs that end skipped because an upstream failed in this invocation).
"""
import json
import random
from pathlib import Path

from runfleet import Run, Study, plan_study, run_study
from runfleet.ledger import now_iso
from conftest import study_record_runs

#: a -> b-1, b-2 -> c -> d ; e independent; agg over the survivors of b-*
SHAPE = {"a": [], "b-1": ["a"], "b-2": ["a"], "c": ["b-*"], "d": ["c"], "e": [],
         "agg": [{"runs": "b-*", "allow_failed": True}]}
DEPS = {"a": [], "b-1": ["a"], "b-2": ["a"], "c": ["b-1", "b-2"], "d": ["c"], "e": [], "agg": []}
UPSTREAMS = ["a", "b-1", "b-2", "c"]


def build(store: Path, state: dict) -> Study:
    s = Study("inv", store=str(store), seed=state["seed"], defaults={"retries": 0, "pack": False})
    for name, after in SHAPE.items():
        s.add(Run(name, "runfns:step", params={"x": state["x"][name], "fail": state["fail"][name]},
                  after=after, version=state["version"][name]))
    return s


def _keys(study_dir: Path) -> dict:
    return {r["name"]: r["key"] for r in study_record_runs(study_dir)}


def test_dry_run_and_real_run_execute_the_same_runs_under_random_edits(tmp_path):
    rng = random.Random(20261129)
    store = tmp_path / "store"
    study_dir = store / "inv"
    state = {"seed": 1, "x": {n: 1.0 for n in SHAPE}, "fail": {n: False for n in SHAPE},
             "version": {n: "v0" for n in SHAPE}}
    first = run_study(build(store, state), cluster="serial", progress=False)
    assert first.counts["done"] == len(SHAPE)
    edits_seen = set()
    for iteration in range(30):
        for _ in range(rng.randint(1, 2)):
            edit = rng.choice(["param", "code", "marker", "marker", "error", "fail", "seed"])
            name = rng.choice(list(SHAPE))
            if edit == "param":
                state["x"][name] += 1.0
            elif edit == "code":
                state["version"][name] = f"v{iteration}"
            elif edit == "marker":
                markers = sorted(study_dir.glob("runs/*/_result.json"))
                if not markers:
                    continue
                # mostly an upstream's: the case where plan and run used to disagree
                upstream = [m for m in markers if m.parent.name in UPSTREAMS]
                rng.choice(upstream if upstream and rng.random() < 0.8 else markers).unlink()
            elif edit == "error":  # a failure record for the run's current key, newer than its marker
                key = _keys(study_dir)[name]
                err = study_dir / "runs" / name / "_error.json"
                err.parent.mkdir(parents=True, exist_ok=True)
                err.write_text(json.dumps({"name": name, "status": "failed", "key": key, "error_class": "ValueError",
                                           "message": "planted", "attempts": 1, "finished": now_iso()}))
            elif edit == "fail":
                name = rng.choice(UPSTREAMS)
                state["fail"][name] = not state["fail"][name]
            else:
                state["seed"] += 1
            edits_seen.add(edit)
        plan = {r["name"] for r in plan_study(build(store, state)) if r["action"] == "run"}
        summary = run_study(build(store, state), cluster="serial", progress=False)
        executed = {n for n, o in summary.outcomes.items() if not o.resumed}
        assert plan == executed, (iteration, state, plan, executed)
        # and the result is what the state says: a failing run fails (or is skipped first)
        for n, o in summary.outcomes.items():
            if state["fail"][n] and not o.resumed:
                assert o.status in ("failed", "skipped")
            if o.status == "skipped":
                assert any(summary.outcomes[u].status in ("failed", "skipped") for u in DEPS[n])
    assert edits_seen == {"param", "code", "marker", "error", "fail", "seed"}


def test_a_re_executed_upstream_with_an_unchanged_key_does_not_re_run_dependents(tmp_path):
    state = {"seed": 1, "x": {n: 1.0 for n in SHAPE}, "fail": {n: False for n in SHAPE},
             "version": {n: "v0" for n in SHAPE}}
    store = tmp_path / "store"
    run_study(build(store, state), cluster="serial", progress=False)
    (store / "inv/runs/a/_result.json").unlink()
    rows = {r["name"]: r for r in plan_study(build(store, state))}
    assert [n for n, r in rows.items() if r["action"] == "run"] == ["a"]
    summary = run_study(build(store, state), cluster="serial", progress=False)
    assert summary.counts["resumed"] == len(SHAPE) - 1 and not summary.outcomes["a"].resumed
    assert summary.outcomes["d"].value == 6.0  # a = 1, b-i = 1 + a, c = 1 + b-1 + b-2, d = 1 + c

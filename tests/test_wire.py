"""The wire format of a task (docs/engine.md, "The wire format of a task").

A task's specs cross Dask as one ``bytes`` object (the client pickles it, the scheduler
unpickles and pickles it again, the worker decodes it); a pack's rows come back as columns.
What a user relies on: every run still gets its own params, seed, upstream values, attempt,
retry history and aggregator statuses, and its record carries its own key.
"""
import pickle

from runfleet import Run, Study
from runfleet.backends.serial import SerialBackend
from runfleet.engine import Fleet, resolve_store
from runfleet.executor import PackRows, Specs, execute
from runfleet.ledger import Ledger


class WireBackend(SerialBackend):
    """The serial backend, with each task's specs sent the way Dask sends them."""

    def __init__(self, **kw):
        super().__init__(**kw)
        self.sent = []  # (run names, bytes on the wire, what the worker decoded)

    def submit(self, task):
        wire = pickle.dumps(task.specs, protocol=5)  # the client
        at_scheduler = pickle.loads(wire)
        forwarded = pickle.dumps(at_scheduler, protocol=5)  # the scheduler, to the worker
        assert forwarded == wire  # the scheduler copied bytes: it decoded no spec
        task.specs = pickle.loads(forwarded)
        self.sent.append((list(task.names), len(wire), list(task.specs)))
        return super().submit(task)


def _study(tmp_path) -> Study:
    s = Study("wire", store=str(tmp_path / "store"), seed=3, defaults={"retries": 1, "backoff_s": 0})
    s.add_many([Run(f"t-{i:03d}", "runfns:trivial", params={"i": i}) for i in range(400)])
    s.add(Run("up", "runfns:add", params={"x": 2.0}))
    s.add(Run("down", "runfns:add", params={"x": 1.0}, after=["up"]))
    s.add(Run("flaky", "runfns:flaky", params={"marker_dir": str(tmp_path / "attempts")}))
    s.add_many([Run(f"f-{i:02d}", "runfns:step", params={"x": float(i), "fail": i == 7}) for i in range(40)])
    s.add(Run("agg", "runfns:survivors", after=[{"runs": "f-*", "allow_failed": True}]))
    return s


def test_each_run_gets_its_own_fields_through_the_wire_and_packs_cost_few_bytes_per_run(tmp_path):
    study = _study(tmp_path)
    study.validate()
    store = resolve_store(study)
    backend = WireBackend(store=store, study=study.name)
    fleet = Fleet(study, store, backend=backend)
    with fleet:
        fleet.submit(study.runs, checked=True)
        fleet.start()
        outcomes = {}
        for o in fleet.as_completed():  # a caller that stops in the middle of a pack's outcomes...
            outcomes[o.name] = o
            if len(outcomes) == 250:
                break
        for o in fleet.as_completed():  # ...gets the rest of them when it iterates again
            assert o.name not in outcomes
            outcomes[o.name] = o
        assert len(outcomes) == len(study.runs)
        identities = {n: fleet.runs[n].kr.identity() for n in study.runs}

    # what the runs saw and returned
    assert all(outcomes[f"t-{i:03d}"].value == i for i in range(400))
    assert outcomes["down"].value == {"total": 3.0}  # its upstream's value arrived
    assert outcomes["flaky"].status == "done" and outcomes["flaky"].attempts == 2
    assert outcomes["f-07"].status == "failed" and outcomes["f-07"].attempts == 2  # failed inside a pack, retried alone
    assert outcomes["agg"].value == {"n": 39, "total": float(sum(range(40)) - 7), "status": {"done": 39, "failed": 1}}

    # what each task carried, run by run, as the worker decoded it
    specs = {}
    for names, _, decoded in backend.sent:
        assert [s["name"] for s in decoded] == names
        for s in decoded:
            specs.setdefault(s["name"], []).append(s)
    for name, attempts in specs.items():
        for s in attempts:
            assert s["identity"] == identities[name], name  # the key its record is committed under
            assert s["params"] == study.runs[name].params and s["study_seed"] == 3
    assert specs["down"][0]["upstream"] == {"up": {"total": 2.0}}
    retry = specs["flaky"][1]
    assert retry["attempt"] == 2 and retry["clear"] is True and len(retry["history"]) == 1
    assert specs["f-07"][1]["attempt"] == 2 and specs["f-07"][1]["history"][0]["error_class"] == "ValueError"
    assert specs["agg"][0]["upstream_status"] == {f"f-{i:02d}": "failed" if i == 7 else "done" for i in range(40)}

    # packs: a few bytes per run on the wire (the shared fields once, no dict per run)
    packs = [(len(names), nbytes) for names, nbytes, _ in backend.sent if len(names) >= 100]
    assert packs, [len(n) for n, _, _ in backend.sent]
    assert all(nbytes / n < 100 for n, nbytes in packs), packs

    # every record of the store carries its own run's key
    records, _ = Ledger(store, "wire").load()
    assert {n: r.key for n, r in records.items() if r.status == "done"} == {
        n: identities[n]["key"] for n, o in outcomes.items() if o.status == "done"}


def test_a_packs_rows_are_columns_with_a_row_per_failure(tmp_path):
    from runfleet.store import Store

    ident = {"key": "0" * 32, "fn": "runfns:step", "params_hash": "1" * 32, "upstream": {}, "code": "c"}
    specs = Specs([{"name": f"s-{i}", "fn": "runfns:step", "params": {"x": float(i), "fail": i == 1},
                    "identity": {**ident, "name": f"s-{i}"}, "upstream": {}, "study_seed": 0, "attempt": 1,
                    "timeout_s": None, "clear": False} for i in range(3)])
    rows = execute(pickle.loads(pickle.dumps(specs)), Store(str(tmp_path / "store")), "p", "pack1")
    assert isinstance(rows, PackRows) and len(rows) == 3
    back = pickle.loads(pickle.dumps(rows))  # what the driver receives
    assert [r["status"] for r in back] == ["done", "error", "done"]
    assert back[0]["value"] == 0.0 and back[2]["value"] == 2.0 and back[2]["duration_s"] >= 0
    assert back[1]["error_class"] == "ValueError" and "fails on purpose" in back[1]["message"]
    assert list(back.errors) == [1]

"""What a worker records per run, made cheap without changing it: seeds are the numbers earlier
releases gave, packed markers keep every field a user reads, values are checked as before."""
import json
import os
import random
import socket
from datetime import datetime, timedelta, timezone

import numpy as np
import pytest

import runfleet
from runfleet import Study, grid, run_study
from runfleet.context import RunContext
from runfleet.executor import MAX_VALUE_BYTES, versions
from runfleet.keys import canonical_json, digest, param_hashes, run_seed, seed_sequence
from runfleet.ledger import Ledger, RunRecord, now_iso
from runfleet.packfile import encode_pack, pack_markers
from runfleet.store import Store
from runfleet.values import stored_value

#: seeds computed by runfleet before the worker stopped building a NumPy SeedSequence per run
PINNED_SEEDS = {(0, "t-0"): 3760348115, (0, "t-1"): 3373254992, (7, "d-2"): 174517788,
                (11, "hello-2"): 4043715536, (2**40 + 3, "fit/β-9"): 3729364516, (2**130, "big"): 3646097350}


def test_seeds_are_the_numbers_earlier_releases_gave():
    for (study_seed, name), seed in PINNED_SEEDS.items():
        assert run_seed(study_seed, name) == seed
    ctx = RunContext(name="d-2", study="s", out="/tmp/unused", study_seed=7)
    assert ctx.seed == 174517788  # and the generator draws what it drew before
    assert ctx.rng.integers(0, 10**9, 3).tolist() == [856904500, 313740485, 701444688]


def test_run_seed_is_numpys_seed_sequence_for_any_study_seed_and_name():
    rs = random.Random(5)
    seeds = [0, 1, 2**32 - 1, 2**32, 2**64 + 1, 2**128 - 1, 2**128] + [rs.getrandbits(rs.choice([8, 33, 64, 127]))
                                                                       for _ in range(40)]
    names = ["", "a", "sim-000123", "ü/β γ"] + [f"r-{rs.random()}" for _ in range(10)]
    for s in seeds:
        for name in names:
            assert run_seed(s, name) == int(seed_sequence(s, name).generate_state(1, np.uint32)[0]), (s, name)
    # a name whose hash word fits 32 bits (one spawn word, 1 name in 4 billion): the same too
    from runfleet.keys import _first_word, _seed_pool

    for s in [s for s in seeds[:20] if s < 2**128]:  # (longer seeds take NumPy's path)
        for word in (0, 1, 2**32 - 1, 2**32, 2**64 - 1):
            expected = np.random.SeedSequence(entropy=s, spawn_key=(word,)).generate_state(1, np.uint32)[0]
            assert _first_word(_seed_pool(s), word) == int(expected), (s, word)
    with pytest.raises(ValueError):  # NumPy's own refusal of a negative seed
        run_seed(-1, "x")


def test_packed_markers_keep_every_field_a_user_reads(tmp_path):
    store = tmp_path / "store"
    s = Study("pk", store=str(store), seed=3)
    s.add_many(grid("t-{i}", "runfns:trivial", {"i": list(range(40))}))
    run_study(s, cluster="serial", progress=False)
    packs = sorted((store / "pk/_packs").glob("*.json.gz"))
    assert packs, "the serial backend packs short runs"
    markers = {}
    for p in packs:
        for name, m in pack_markers(p.read_bytes()).items():
            assert m["commit_id"] == p.name[: -len(".json.gz")]  # one id per commit: the pack's
            markers[name] = m
    singles = {f.parent.name: json.loads(f.read_text()) for f in (store / "pk/runs").glob("*/_result.json")}
    assert len(markers) >= 30 and all(len(m["commit_id"]) == 32 for m in singles.values())  # the first ones probe
    markers.update(singles)
    assert sorted(markers) == sorted(f"t-{i}" for i in range(40))
    for name, m in markers.items():
        i = int(name[2:])
        assert m["value"] == i and m["status"] == "done" and m["attempt"] == 1
        assert m["seed"] == run_seed(3, name)
        assert m["host"] == socket.gethostname() and m["pid"] == os.getpid() and m["versions"] == versions()
        assert m["param_hashes"] == {"i": digest(canonical_json(i))}
        started, finished = datetime.fromisoformat(m["started"]), datetime.fromisoformat(m["finished"])
        assert started.tzinfo == timezone.utc and started <= finished and 0 <= m["duration_s"] < 5
    records, _ = Ledger(Store(str(store)), "pk").load()
    assert records["t-7"].value == 7 and records["t-7"].data["seed"] == run_seed(3, "t-7")
    assert list(runfleet.results(f"{store}/pk").sort_values("name")["value"])[:2] == [0, 1]


def test_a_pack_file_gives_back_each_marker_as_it_was_recorded():
    """Shared fields, columns and fields only some markers have (an aggregator's
    ``upstream_missing``, a retried run's ``attempts_history``) all come back per run."""
    recs = []
    for i in range(5):
        data = {"name": f"r-{i}", "status": "done", "value": [1.5, {"x": i}] if i % 2 else i, "attempt": 1 + (i == 3),
                "duration_s": 0.25, "one": 1 if i else 1.0, "versions": {"numpy": "2"}}
        if i == 2:
            data["upstream_missing"] = ["a", "b"]
        if i == 3:
            data["attempts_history"] = [{"attempt": 1, "status": "failed"}]
        recs.append(RunRecord(data["name"], "done", data))
    back = pack_markers(encode_pack(recs, now_iso()))
    assert back == {r.name: r.data for r in recs}
    assert type(back["r-0"]["one"]) is float and type(back["r-1"]["one"]) is int  # 1.0 and 1 are not "equal"


def test_now_iso_is_the_isoformat_of_now_in_utc():
    before = datetime.now(timezone.utc)
    text = now_iso()
    after = datetime.now(timezone.utc)
    parsed = datetime.fromisoformat(text)
    assert before - timedelta(microseconds=1) <= parsed <= after
    assert text == parsed.isoformat(timespec="microseconds") and text.endswith("+00:00")


def test_param_hashes_are_the_hashes_of_each_parameters_canonical_json():
    params = {"i": 3, "s": 'é"x\n', "b": True, "n": None, "f": 1.5, "l": [1, {"a": 2}], "big": 10**30}
    assert param_hashes(params) == {k: digest(canonical_json(v)) for k, v in params.items()}
    # the hashes stores written before hold (a re-run names changed parameters from them)
    assert param_hashes({"i": 3, "b": True, "n": None}) == {"i": "4e07408562bedb8b60ce05c1decfe3ad",
                                                            "b": "b5bea41b6c623f7c09f1bf24dcae58eb",
                                                            "n": "74234e98afe7498fb5daf1f36ac2d78a"}


def test_stored_value_size_is_the_length_of_its_canonical_json():
    for v in [0, -7, 10**40, True, False, None, 2.5, 1e-9, float("nan"), float("-inf"), 'a"é', [1, (2, 3.0)],
              {"ll": float("-inf"), "k": [None]}]:
        stored, size = stored_value(v)
        assert size == len(canonical_json(stored))
    assert stored_value({"x": float("inf")})[0] == {"x": {"$float": "inf"}}
    assert stored_value("x" * (MAX_VALUE_BYTES + 1))[1] > MAX_VALUE_BYTES

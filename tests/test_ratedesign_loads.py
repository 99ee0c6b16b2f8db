"""Load reading: only the needed columns are fetched, and the runs of a study read each file once."""

import os

import numpy as np
import pytest
import s3fs

from ratedesign.loadcache import reader_stats, reset_reader_stats
from ratedesign.loads import load_path, loads_dir, read_loads
from ratedesign.scenario import load_scenario
from ratedesign.synth import synth_dataset
from ratedesign_fixtures import CASE_IDS, moto_s3_fixture, rd_client, rd_moto_s3, synth_case  # noqa: F401

WIDE_IDS = [100101, 100102, 100103, 100104, 100105, 100106]


@pytest.fixture
def s3(request):
    return moto_s3_fixture(request)


@pytest.mark.parametrize("wide", [False, True])
def test_s3_reads_fetch_only_the_needed_columns(tmp_path, s3, wide):
    """Footer + total/PV/gas column chunks only: bytes fetched within 1.2x of those columns' bytes,
    whatever the file's width, and the same kWh as a local read."""
    so, bucket = s3["storage_options"], s3["bucket"]
    local = str(tmp_path / "data")
    synth_dataset(local, WIDE_IDS, upgrades=("00",), seed=3, wide=wide)
    fs = s3fs.S3FileSystem(**so)
    ldir = loads_dir(local + "/resstock", "RI", "00")
    remote = f"s3://{bucket}/wide{int(wide)}/upgrade=00"
    fs.put(ldir + "/", remote + "/", recursive=True)
    ref = read_loads(ldir, WIDE_IDS, "00", cache=False, year_run=2025)
    reset_reader_stats()
    got = read_loads(remote, WIDE_IDS, "00", so, cache=False, year_run=2025, batch=4)
    st = reader_stats()
    for name in ("total", "pv", "gas"):
        np.testing.assert_array_equal(getattr(got, name), getattr(ref, name))
    file_bytes = sum(os.path.getsize(load_path(ldir, b, "00")) for b in WIDE_IDS)
    assert st["needed_bytes"] > 0
    assert st["fetched_bytes"] <= 1.2 * st["needed_bytes"], st
    if wide:
        assert st["fetched_bytes"] < 0.2 * file_bytes, (st, file_bytes)
    assert set(st["reads"]) == {load_path(remote, b, "00") for b in WIDE_IDS}


def test_runs_of_a_study_read_each_load_file_once(synth_case, tmp_path, rd_client):
    """Two runs over the same loads read each file once on the cluster; touching one file makes
    exactly that file be read again, and the results do not change."""
    from runfleet import Run, Study, run_study

    c = rd_client
    c.run(reset_reader_stats, True)
    p = load_scenario(str(synth_case["yaml"]), 1, sets=["chunk_size=40"],
                      map_prefix=synth_case["map_prefix"]).to_params()
    study = Study(name="loads-once", store=str(tmp_path / "store"), seed=1)
    study.add(Run("first", "ratedesign.runfn:cairo_run", params=p))
    study.add(Run("second", "ratedesign.runfn:cairo_run", params={**p, "run_name": "second"}, after=["first"]))
    s = run_study(study, cluster=c, progress=False)
    assert s.exit_code == 0, s.outcomes

    def reads():
        total: dict = {}
        for st in c.run(reader_stats).values():
            for path, k in st["reads"].items():
                total[path] = total.get(path, 0) + k
        return total

    directory = load_path(p["path_resstock_loads"].rstrip("/"), 0, "00").rsplit("/", 1)[0]
    files = {load_path(directory, b, "00") for b in CASE_IDS}
    got = reads()
    assert set(got) == files
    assert set(got.values()) == {1}, sorted(got.items(), key=lambda kv: -kv[1])[:5]
    a, b = s.outcomes["first"].value, s.outcomes["second"].value
    assert a["weighted_bill_sum"] == b["weighted_bill_sum"]
    assert a["rate_levels"] == b["rate_levels"]

    touched = load_path(directory, CASE_IDS[7], "00")
    st = os.stat(touched)
    os.utime(touched, ns=(st.st_atime_ns, st.st_mtime_ns + 5_000_000_000))
    study.add(Run("third", "ratedesign.runfn:cairo_run", params={**p, "run_name": "third"}, after=["second"]))
    s = run_study(study, cluster=c, progress=False)
    assert s.exit_code == 0, s.outcomes
    again = reads()
    assert {f: k for f, k in again.items() if k != 1} == {touched: 2}
    assert s.outcomes["third"].value["rate_levels"] == a["rate_levels"]

"""Loads, metadata and marginal costs on a real moto S3 server, read by Dask worker processes."""

from pathlib import Path

import numpy as np
import pytest
import s3fs

from ratedesign.fsio import exists
from ratedesign.mappers import client_mapper
from ratedesign.outputs import write_outputs
from ratedesign.pipeline import prepare_inputs, run_inputs
from ratedesign.scenario import load_scenario
from ratedesign_fixtures import CASE_IDS, moto_s3_fixture, rd_moto_s3, rd_client, synth_case  # noqa: F401

SAMPLE = 24


@pytest.fixture
def s3(request):
    return moto_s3_fixture(request)


def test_run_reads_s3_on_workers(synth_case, s3, tmp_path, rd_client):
    so, bucket = s3["storage_options"], s3["bucket"]
    fs = s3fs.S3FileSystem(**so)
    local = load_scenario(str(synth_case["yaml"]), 1, sets=[f"sample_size={SAMPLE}"], map_prefix=synth_case["map_prefix"])
    inputs_local = prepare_inputs(local)
    ids = inputs_local.buildings.bldg_id
    # upload only what the sampled run needs: loads of the sample, metadata, assignment, MCs, EIA
    data = Path(synth_case["data"])
    prefix = f"{bucket}/rd"
    loads = data / "resstock/load_curve_hourly/state=RI/upgrade=00"
    fs.put([str(loads / f"{b}-0.parquet") for b in ids], f"{prefix}/resstock/load_curve_hourly/state=RI/upgrade=00/")
    for sub in ("resstock/metadata", "resstock/metadata_utility", "data.sb"):
        fs.put(str(data / sub), f"{prefix}/{sub}", recursive=True)
    base = f"s3://{prefix}"
    assert exists(f"{base}/resstock/load_curve_hourly/state=RI/upgrade=00/{ids[0]}-0.parquet", so)
    assert not exists(f"{base}/resstock/load_curve_hourly/state=RI/upgrade=00/{ids[0]}-9.parquet", so)
    maps = [f"/ebs/data/nrel/resstock/res_2024_amy2018_2_sb={base}/resstock", f"s3://data.sb={base}/data.sb"]
    cfg = load_scenario(str(synth_case["yaml"]), 1, sets=[f"sample_size={SAMPLE}"], map_prefix=maps,
                        storage_options=so)
    assert cfg.path_resstock_loads.startswith("s3://")
    c = rd_client
    remote = run_inputs(prepare_inputs(cfg), client_mapper(c), n_chunks=4)
    pids = set(c.run(lambda: __import__("os").getpid()).values())
    assert len(pids) == 2
    ref = run_inputs(inputs_local, n_chunks=1)
    cols = ["Annual", "customer_level_economic_burden", "BAT_percustomer", "BAT_vol", "BAT_epmc", "BAT_peak"]
    np.testing.assert_allclose(remote.bat[cols], ref.bat[cols], rtol=1e-9)
    assert len(remote.bat) == SAMPLE
    # outputs to S3 as well
    files = write_outputs(remote, f"{base}/out", so)
    assert fs.exists(f"{prefix}/out/cross_subsidization/cross_subsidization_BAT_values.csv")
    assert "bills/elec_bills_year_target.csv" in files
    from ratedesign.errors import InputError
    from ratedesign.loads import read_loads
    missing = next(b for b in CASE_IDS if b not in set(ids.tolist()))
    with pytest.raises(InputError, match=rf"load file missing for bldg_id {missing} \(upgrade 00\): s3://"):
        read_loads(cfg.path_resstock_loads, [int(ids[0]), missing], "00", so)

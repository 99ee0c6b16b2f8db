"""Rate-design plots: written by the run on the worker, non-blank, embedded in the study report,
and the report renders in a real headless Chromium.

Real parts: the synthetic case of ``ratedesign_fixtures`` run as a runfleet study on a real 2-worker
LocalCluster, ``runfleet report`` as a subprocess, Chromium from Debian.
"""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import matplotlib.image as mpimg
import numpy as np
import pytest

from browser import load, pixel_std
from ratedesign_fixtures import rd_client, synth_case  # noqa: F401

runfleet = pytest.importorskip("runfleet")

from ratedesign.chain import expand_files  # noqa: E402
from ratedesign.cli import print_results, run_chains  # noqa: E402
from ratedesign.mappers import serial_mapper  # noqa: E402
from ratedesign.pipeline import run_scenario  # noqa: E402
from ratedesign.plots import write_run_plots  # noqa: E402
from ratedesign.scenario import load_scenario  # noqa: E402

RUN_PLOTS = ["plots/bat_by_group.png", "plots/bills_before_after.png", "plots/rate_heatmap.png"]
MIN_STD = 0.03  # grey-level standard deviation of a PNG with axes, labels and data (a blank one: 0)


def _check_png(path: Path) -> np.ndarray:
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", path
    img = mpimg.imread(path)
    assert img.shape[0] > 200 and img.shape[1] > 300, (path, img.shape)
    assert pixel_std(img) > MIN_STD, path
    return img


def test_subclass_precalc_run_plots(synth_case, tmp_path):  # noqa: F811
    cfg = load_scenario(str(synth_case["yaml"]), 3, map_prefix=synth_case["map_prefix"])
    res = run_scenario(cfg, serial_mapper)
    written = write_run_plots(res, str(tmp_path))
    assert written == RUN_PLOTS
    for rel in written:
        _check_png(tmp_path / rel)
    # the bills plot compares bills at the input rates with the calibrated ones: they differ
    assert res.elec_bills_input is not None
    before, after = res.elec_bills_input["Annual"].to_numpy(), res.elec_bills["Annual"].to_numpy()
    w = res.elec_bills["weight"].to_numpy()
    assert float(w @ after) == pytest.approx(30.0e6, rel=1e-9)  # calibrated to the revenue requirement
    assert not np.allclose(before, after)
    # a default run has no plots (its BAT is meaningless)
    default = load_scenario(str(synth_case["yaml"]), 4, map_prefix=synth_case["map_prefix"])
    assert default.run_type == "default"
    assert write_run_plots(run_scenario(default, serial_mapper), str(tmp_path / "d")) == []


@pytest.fixture(scope="module")
def study(synth_case, rd_client, tmp_path_factory):  # noqa: F811
    store = tmp_path_factory.mktemp("plots") / "store"
    # entry 3 of the case is a subclass run without subclass_config: fine alone, not in a chain
    chains = expand_files([str(synth_case["yaml"])], runs="1,2,4", map_prefix=synth_case["map_prefix"])
    summary = run_chains(chains, "rd-plots", str(store), cluster=rd_client, progress=False)
    assert summary.exit_code == 0

    class Args:
        table_out = None

    print_results(chains, summary, Args(), show_table=False)  # writes <study>/plots/rate_levels.png
    return {"dir": store / "rd-plots", "chains": chains, "summary": summary}


def test_every_precalc_run_wrote_its_plots_on_the_worker(study):
    precalc = [s.name for s in study["chains"][0].scenario_steps if s.params["scenario"]["run_type"] == "precalc"]
    assert len(precalc) == 2
    for name in precalc:
        files = study["summary"].outcomes[name].value["files"]
        assert [f for f in files if f.endswith(".png")] == RUN_PLOTS  # listed by the run function itself
        for rel in RUN_PLOTS:
            _check_png(study["dir"] / "runs" / name / rel)
    _check_png(study["dir"] / "plots" / "rate_levels.png")


def test_report_embeds_the_plots_and_renders_in_chromium(study, tmp_path):
    out = tmp_path / "report.html"
    proc = subprocess.run([str(Path(sys.executable).parent / "runfleet"), "report", str(study["dir"]), "--out",
                           str(out)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    html = out.read_text()
    n_plots = 2 * 3 + 1
    assert len(re.findall(r'<img src="data:image/png;base64,', html)) == n_plots
    assert "plots/rate_levels.png" in html and len(re.findall(r"<figcaption>runs/[^<]+/plots/bat_by_group.png<", html)) == 2
    page = load(out, tmp_path, height=3000)
    assert page.console == []
    assert len(page.images) == n_plots and all(w > 300 and h > 200 for w, h in page.images), page.images
    assert pixel_std(page.screenshot) > MIN_STD

"""The R example (examples/cholera/calibrate.R) run with Rscript through reticulate."""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "examples" / "cholera" / "calibrate.R"


def _reticulate_missing() -> str | None:
    if shutil.which("Rscript") is None:
        return "Rscript not found (Debian: apt-get install r-base-core r-cran-reticulate; make system-deps as root)"
    probe = subprocess.run(["Rscript", "-e", "quit(status = if (requireNamespace('reticulate', quietly = TRUE)) 0 else 3)"],
                           capture_output=True, text=True, timeout=120)
    if probe.returncode != 0:
        return "the R package reticulate is not installed (Debian: apt-get install r-cran-reticulate)"
    return None


@pytest.mark.slow
@pytest.mark.root
def test_r_example_calibrates_through_reticulate(tmp_path):
    reason = _reticulate_missing()
    if reason:
        pytest.skip(reason)
    store = tmp_path / "store"
    env = dict(os.environ, RETICULATE_PYTHON=sys.executable)
    proc = subprocess.run(["Rscript", str(SCRIPT), str(store), "4"], capture_output=True, text=True, timeout=300, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = proc.stdout
    assert "stopped by cap after 4 sims (4 done, 0 failed, 0 resumed)" in out
    assert "beta_j0_hum" in out and "seasonality_amplitude" in out
    assert "simulation rows: 4" in out
    sims = pd.read_parquet(store / "cholera" / "cholera" / "sims.parquet")
    assert len(sims) == 4
    assert (store / "cholera" / "cholera" / "ppc.png").stat().st_size > 1000

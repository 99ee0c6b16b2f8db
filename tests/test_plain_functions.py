"""Plain functions (no ``ctx``) as run functions: the call convention decided from the signature,
checked against each run's params before anything runs."""
import json

import pytest

from conftest import run_cli
from runfleet import InputError, Run, Study, run_study
from runfleet.study import takes_ctx


def test_call_convention_from_the_signature():
    from runfleet.context import RunContext
    from runfleet.mapping import ItemCall

    def with_ctx(ctx, a):
        return a

    def typed(c: RunContext, a):
        return a

    def plain(a, ctx=None):
        return a

    assert takes_ctx(with_ctx) and takes_ctx(typed)
    assert not takes_ctx(plain) and not takes_ctx(lambda: 1) and not takes_ctx(len)
    assert takes_ctx(ItemCall(abs))  # runfleet.map's adapter keeps taking ctx


def test_plain_function_study_runs_without_ctx_and_is_seeded(tmp_path):
    s = Study("plain", store=str(tmp_path / "store"), seed=5)
    s.add(Run("sq", "runfns:square", params={"x": 7}))
    s.add(Run("m1", "runfns:noisy_mean", params={"n": 2000, "loc": 3.0}))
    s.add(Run("ann", "runfns:annotated", params={"x": 2}))
    first = run_study(s, cluster="serial", progress=False)
    assert first.exit_code == 0, first.outcomes
    assert first.outcomes["sq"].value == 49
    assert first.outcomes["ann"].value == {"run": "ann", "x": 2}
    mean = first.outcomes["m1"].value["mean"]
    assert abs(mean - 3.0) < 0.1
    # seeded from the run's seed: deleting the marker and running again gives the same draw
    (tmp_path / "store/plain/runs/m1/_result.json").unlink()
    again = run_study(s, cluster="serial", progress=False)
    assert again.outcomes["m1"].value["mean"] == mean and not again.outcomes["m1"].resumed


def test_params_that_do_not_fit_the_function_are_exit_2_before_anything_runs(tmp_path):
    study = tmp_path / "s.yaml"
    study.write_text(f"name: bad\nstore: {tmp_path}/store\nruns:\n"
                     "  - {name: ok, fn: 'runfns:square', params: {x: 2}}\n"
                     "  - {name: wrong, fn: 'runfns:square', params: {x: 2, y: 3}}\n")
    proc = run_cli("run", study, "--cluster", "serial", cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr
    assert str(study) in lines[0] and "'wrong'" in lines[0] and "'y'" in lines[0]
    assert not (tmp_path / "store/bad").exists()
    # the same through the Python API, and a missing required parameter
    s = Study("bad2", store=str(tmp_path / "store"))
    s.add(Run("none", "runfns:square"))
    with pytest.raises(InputError, match=r"run 'none'.*'x'"):
        run_study(s, cluster="serial", progress=False)
    assert not (tmp_path / "store/bad2").exists()

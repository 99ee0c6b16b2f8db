"""The study file model: one-line errors naming file and field (never the value), ranges, cmd runs."""
import textwrap

import pytest

from runfleet import InputError, load_study
from runfleet.studyfile import COMMAND_FN


def load(tmp_path, text):
    p = tmp_path / "study.yaml"
    p.write_text(textwrap.dedent(text))
    return p, load_study(p)


@pytest.mark.parametrize("text,expected", [
    ("name: s\nruns:\n  - {name: a, fn: 'm:f'}\n  - {name: b, fn: 'm:f'}\n  - {name: c, fn: 'm:f', retries: -1}\n",
     "runs[2] (c): retries: expected an integer >= 0"),
    ("name: s\nruns:\n  - {name: a, fn: 'm:f', timeout_s: hunter2-secret}\n",
     "runs[0] (a): timeout_s: expected a number of seconds >= 0"),
    ("name: s\nseed: 1.5\nruns: []\n", "seed: expected a non-negative integer"),
    ("name: s\ndefaults: {retries: x-secret}\nruns: []\n", "defaults.retries: expected an integer >= 0"),
    ("name: s\nruns:\n  - {name: a}\n", "runs[0] (a): missing required field 'fn'"),
    ("name: s\nruns:\n  - {name: a, fn: 'm:f', cmd: [echo]}\n", "runs[0] (a): use either fn or cmd, not both"),
    ("name: s\nruns:\n  - {name: a, cmd: [echo, 1]}\n", "runs[0] (a): cmd[1]: expected a string"),
    ("name: s\nruns:\n  - {name: 'a-{x}', fn: 'm:f', grid: {x: {range: [0, 5, 0]}}}\n",
     "runs[0] (a-{x}): grid.x: expected a list of values or {range: [start, stop, step]}"),
    ("name: s\nruns:\n  - {name: 'a-{x}', fn: 'm:f', grid: {x: {range: [0.5, 2]}}}\n", "runs[0] (a-{x}): grid.x: expected"),
    ("name: s\nruns:\n  - {name: a, fn: 'm:f', env: {A: b}}\n", "runs[0] (a): env: only for cmd runs"),
])
def test_one_line_errors_name_file_and_field_never_the_value(tmp_path, text, expected):
    with pytest.raises(InputError) as e:
        load(tmp_path, text)
    msg = str(e.value)
    assert msg.startswith(f"{tmp_path / 'study.yaml'}: ") and expected in msg, msg
    assert "\n" not in msg and "secret" not in msg


def test_grid_range_is_python_range(tmp_path):
    _, s = load(tmp_path, """
        name: s
        runs:
          - {name: 'p-{x}', fn: 'm:f', grid: {x: {range: [0, 200, 1]}}}
          - {name: 'q-{y}-{z}', fn: 'm:f', grid: {y: {range: [10, 0, -5]}, z: [a, b]}}
          - {name: 'r-{i}', fn: 'm:f', zip: {i: {range: [3, 5]}, j: [x, y]}}
        """)
    assert [r.params["x"] for r in s.runs.values() if r.name.startswith("p-")] == list(range(0, 200, 1))
    assert [r.name for r in s.runs.values() if r.name.startswith("q-")] == ["q-10-a", "q-10-b", "q-5-a", "q-5-b"]
    assert [(r.params["i"], r.params["j"]) for r in s.runs.values() if r.name.startswith("r-")] == [(3, "x"), (4, "y")]


def test_cmd_runs_become_command_calls(tmp_path):
    _, s = load(tmp_path, """
        name: s
        runs:
          - name: 'm-{i}'
            cmd: [Rscript, model.R, --sim, '{i}']
            env: {OMP_NUM_THREADS: '1'}
            inputs: [data/cases.csv]
            params: {days: 30}
            grid: {i: [1, 2]}
            x-owner: someone
        """)
    r = s.runs["m-2"]
    assert r.fn == COMMAND_FN
    assert r.params == {"days": 30, "cmd": ["Rscript", "model.R", "--sim", "{i}"], "env": {"OMP_NUM_THREADS": "1"},
                        "i": 2}
    assert r.inputs == ("data/cases.csv",)
    assert s.validate(import_fns=False) == {"m-1": [], "m-2": []}

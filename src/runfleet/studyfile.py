"""Load a study from a YAML file (same content as the Python API), checked by pydantic models.

```yaml
name: hello
store: ./runs
seed: 42
defaults: {retries: 2}
runs:
  - name: sim-{alpha}
    fn: examples.hello:simulate
    grid: {alpha: [0.1, 0.2]}
    after: [prep]
  - name: point-{i}
    fn: examples.hello:simulate
    grid: {i: {range: [0, 200, 1]}}      # 0, 1, ..., 199 (Python's range: start, stop[, step])
  - name: model-{i}
    cmd: [Rscript, model.R, --sim, "{i}"] # a program instead of a function
    env: {OMP_NUM_THREADS: "1"}
    inputs: [data/cases.csv]              # file contents are part of the content key
    grid: {i: [1, 2]}
```

Unknown fields are errors (a typo must not silently change a study); keys starting with ``x-``
are left for other tools. Every error is one line naming the file and the field and saying what
was expected, never echoing the value (it may be a secret): ``study.yaml: runs[2] (sim-{i}):
retries: expected an integer >= 0``. A relative ``store`` resolves against the current directory,
as a command-line path would.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any, Optional, Union

from pydantic import (BaseModel, ConfigDict, Field, StrictBool, StrictFloat, StrictInt, StrictStr,
                      ValidationError, field_validator, model_validator)

from .errors import InputError
from .study import After, Run, Study, grid, zip_params
from .yamlfile import read_yaml_file

#: the function a ``cmd:`` run calls (written by runfleet.command)
COMMAND_FN = "runfleet.command:run_command"

_NonNegInt = StrictInt
_Seconds = Union[StrictInt, StrictFloat]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class RangeSpec(_Model):
    """``{range: [start, stop]}`` or ``{range: [start, stop, step]}``: the integers of Python's ``range``."""

    range: list[StrictInt] = Field(min_length=2, max_length=3)

    @field_validator("range")
    @classmethod
    def _step(cls, v: list[int]) -> list[int]:
        if len(v) == 3 and v[2] == 0:
            raise ValueError("range step must not be 0")
        return v

    def values(self) -> list[int]:
        """The integers, as ``list(range(*self.range))``."""
        return list(range(*self.range))


class AfterModel(_Model):
    """An ``after:`` entry accepting failed upstreams: ``{runs: "f-*", allow_failed: true}`` and/or
    ``min_done: 0.9`` (fraction of the matching runs that must be done)."""

    runs: StrictStr
    allow_failed: StrictBool = False
    min_done: Optional[Union[StrictInt, StrictFloat]] = Field(default=None, ge=0, le=1)

    @model_validator(mode="after")
    def _tolerant(self) -> "AfterModel":
        if not self.allow_failed and self.min_done is None:
            raise ValueError("an after mapping needs allow_failed: true or min_done (else write the pattern alone)")
        return self


class DefaultsModel(_Model):
    """``defaults:``: retry policy, packing and code version for every run."""

    retries: Optional[_NonNegInt] = Field(default=None, ge=0)
    backoff_s: Optional[_Seconds] = Field(default=None, ge=0)
    timeout_s: Optional[_Seconds] = Field(default=None, ge=0)
    pack: Optional[StrictBool] = None
    version: Optional[Union[StrictStr, StrictInt, StrictFloat]] = None


class RunEntry(_Model):
    """One entry of ``runs:``: a run, or a grid/zip of runs, calling ``fn`` or running ``cmd``."""

    name: StrictStr
    fn: Optional[StrictStr] = None
    cmd: Optional[list[StrictStr]] = Field(default=None, min_length=1)
    env: Optional[dict[StrictStr, StrictStr]] = None
    inputs: Optional[list[StrictStr]] = None
    params: Optional[dict[StrictStr, Any]] = None
    grid: Optional[dict[StrictStr, Union[list[Any], RangeSpec]]] = None
    zip: Optional[dict[StrictStr, Union[list[Any], RangeSpec]]] = None
    after: Optional[Union[StrictStr, AfterModel, list[Union[StrictStr, AfterModel]]]] = None
    retries: Optional[_NonNegInt] = Field(default=None, ge=0)
    backoff_s: Optional[_Seconds] = Field(default=None, ge=0)
    timeout_s: Optional[_Seconds] = Field(default=None, ge=0)
    version: Optional[Union[StrictStr, StrictInt, StrictFloat]] = None
    pack: Optional[StrictBool] = None
    description: Optional[StrictStr] = None

    @model_validator(mode="after")
    def _one_of(self) -> "RunEntry":
        if self.fn is not None and self.cmd is not None:
            raise ValueError("use either fn or cmd, not both")
        if self.fn is None and self.cmd is None:
            raise ValueError("missing required field 'fn' (or 'cmd' for a program)")
        if self.env is not None and self.cmd is None:
            raise ValueError("env: only for cmd runs (a function reads its params)")
        if self.grid is not None and self.zip is not None:
            raise ValueError("use either grid or zip, not both")
        return self


class StudyFile(_Model):
    """The top level of a study file."""

    name: StrictStr
    store: Optional[StrictStr] = None
    seed: _NonNegInt = Field(default=0, ge=0)
    version: Optional[Union[StrictStr, StrictInt, StrictFloat]] = None
    defaults: Optional[DefaultsModel] = None
    storage_options: Optional[dict[StrictStr, Any]] = None
    description: Optional[StrictStr] = None
    runs: list[RunEntry]


#: what a field must be, for the one-line message (never the value)
EXPECTED = {
    "name": "a string", "store": "a path or URL string", "seed": "a non-negative integer",
    "version": "a string or number", "defaults": "a mapping", "storage_options": "a mapping",
    "description": "a string", "runs": "a list of runs", "fn": "'module:function'",
    "cmd": "a non-empty list of strings (program and arguments)", "env": "a mapping of NAME: string value",
    "inputs": "a list of file paths", "params": "a mapping",
    "grid": "a mapping of parameter -> list of values or {range: [start, stop, step]} (integers)",
    "zip": "a mapping of parameter -> list of values or {range: [start, stop, step]} (integers)",
    "after": "a list of run names or {runs: pattern, allow_failed: true, min_done: fraction}", "retries": "an integer >= 0", "backoff_s": "a number of seconds >= 0",
    "timeout_s": "a number of seconds >= 0", "pack": "true or false",
    "allow_failed": "true or false", "min_done": "a fraction between 0 and 1", "range": "[start, stop] or [start, stop, step] "
    "(integers, step not 0)",
}
_FIELDS = {"top": tuple(StudyFile.model_fields), "defaults": tuple(DefaultsModel.model_fields),
           "run": tuple(RunEntry.model_fields)}


def _strip_extensions(doc: Any) -> Any:
    """Drop ``x-...`` keys (left for other tools) at the top, in defaults and in run entries."""
    if not isinstance(doc, dict):
        return doc
    out = {k: v for k, v in doc.items() if not (isinstance(k, str) and k.startswith("x-"))}
    if isinstance(out.get("defaults"), dict):
        out["defaults"] = {k: v for k, v in out["defaults"].items() if not (isinstance(k, str) and k.startswith("x-"))}
    if isinstance(out.get("runs"), list):
        out["runs"] = [{k: v for k, v in e.items() if not (isinstance(k, str) and k.startswith("x-"))}
                       if isinstance(e, dict) else e for e in out["runs"]]
    return out


def _real_path(doc: Any, loc: tuple, keep_last: bool) -> list:
    """The part of a pydantic error location that exists in the document (drops union tags)."""
    path, node = [], doc
    for i, seg in enumerate(loc):
        if isinstance(node, dict) and seg in node:
            path.append(seg)
            node = node[seg]
        elif isinstance(node, list) and isinstance(seg, int) and 0 <= seg < len(node):
            path.append(seg)
            node = node[seg]
        elif keep_last and i == len(loc) - 1:
            path.append(seg)
    return path


def _where(src: str, doc: dict, path: list) -> tuple[str, list]:
    """``file: runs[2] (name)`` and the rest of the path after the run."""
    where = src
    if len(path) >= 2 and path[0] == "runs" and isinstance(path[1], int):
        entry = doc["runs"][path[1]]
        where = f"{src}: runs[{path[1]}]"
        if isinstance(entry, dict) and isinstance(entry.get("name"), str):
            where += f" ({entry['name']})"
        return where, path[2:]
    return where, path


def _format(path: list) -> str:
    out = ""
    for seg in path:
        out += f"[{seg}]" if isinstance(seg, int) else (f".{seg}" if out else str(seg))
    return out


def _message(src: str, doc: dict, err: dict) -> str:
    kind = err["type"]
    path = _real_path(doc, err["loc"], keep_last=kind in ("missing", "extra_forbidden"))
    where, rest = _where(src, doc, path)
    if kind == "extra_forbidden":
        parent, key = rest[:-1], rest[-1]
        scope = "run" if where != src else ("defaults" if parent == ["defaults"] else "top")
        allowed = ", ".join(f for f in _FIELDS[scope] if f != "description" or scope != "defaults")
        prefix = f"{where}: {_format(parent)}" if parent else where
        return f"{prefix}: unknown field {key!r} (expected one of: {allowed})"
    if kind == "missing":
        parent, key = rest[:-1], rest[-1]
        prefix = f"{where}: {_format(parent)}" if parent else where
        return f"{prefix}: missing required field {key!r}"
    if kind == "value_error":  # our own validators: the message is the sentence
        text = str(err.get("ctx", {}).get("error") or err["msg"]).removeprefix("Value error, ")
        return f"{where}: {_format(rest)}: {text}" if rest else f"{where}: {text}"
    fields = [s for s in rest if isinstance(s, str) and s in EXPECTED]
    field = fields[-1] if fields else None
    if field == "runs" and rest[-1:] != ["runs"]:
        return f"{where}: expected a mapping with 'name' and 'fn'"
    if field is None and where != src and not rest:
        return f"{where}: expected a mapping with 'name' and 'fn'"
    expected = EXPECTED.get(field, "another value")
    if field in ("grid", "zip") and len(rest) > rest.index(field) + 1:
        rest = rest[:rest.index(field) + 2]  # grid.<param>
        expected = "a list of values or {range: [start, stop, step]} (integers, step not 0)"
    elif field in ("cmd", "inputs", "after") and rest and isinstance(rest[-1], int):
        expected = "a string"
    return f"{where}: {_format(rest)}: expected {expected}"


def parse_study_doc(doc: Any, src: str) -> StudyFile:
    """Check a parsed study document against :class:`StudyFile`.

    Parameters
    ----------
    doc : Any
        The YAML document.
    src : str
        The file's path, for messages.

    Returns
    -------
    StudyFile

    Raises
    ------
    InputError
        One line: the file, the field and what was expected (the first problem found, the
        outermost first; unknown fields before missing ones).
    """
    if not isinstance(doc, dict):
        raise InputError(f"{src}: expected a mapping with 'name' and 'runs' at the top level")
    doc = _strip_extensions(doc)
    try:
        return StudyFile.model_validate(doc)
    except ValidationError as e:
        errors = e.errors(include_url=False, include_input=False)
        order = {"extra_forbidden": 0, "missing": 1}
        first = min(errors, key=lambda er: (len(_real_path(doc, er["loc"], True)), order.get(er["type"], 2)))
        raise InputError(_message(src, doc, first)) from None


def _values(spec) -> list:
    return spec.values() if isinstance(spec, RangeSpec) else list(spec)


def study_from_model(model: StudyFile, src: str) -> Study:
    """Build the :class:`Study` of a checked study file (grids and zips expanded, ``cmd`` runs
    turned into calls of ``runfleet.command:run_command``)."""
    defaults = model.defaults.model_dump(exclude_none=True) if model.defaults else {}
    if "version" in defaults:
        defaults["version"] = str(defaults["version"])
    study = Study(name=model.name, store=model.store, seed=model.seed, defaults=defaults,
                  storage_options=model.storage_options or {},
                  version=None if model.version is None else str(model.version), source=src)
    for entry in model.runs:
        params = dict(entry.params or {})
        fn = entry.fn
        if entry.cmd is not None:
            fn = COMMAND_FN
            params = {**params, "cmd": list(entry.cmd), "env": dict(entry.env or {})}
        after = [entry.after] if isinstance(entry.after, (str, AfterModel)) else list(entry.after or [])
        after = [After(a.runs, a.allow_failed, a.min_done) if isinstance(a, AfterModel) else a for a in after]
        kwargs: dict[str, Any] = {k: getattr(entry, k) for k in ("retries", "backoff_s", "timeout_s", "pack")
                                  if getattr(entry, k) is not None}
        if entry.version is not None:
            kwargs["version"] = str(entry.version)
        if entry.inputs:
            kwargs["inputs"] = tuple(entry.inputs)
        if entry.grid is not None:
            g = {k: _values(v) for k, v in entry.grid.items()}
            study.add_many(grid(entry.name, fn, g, params=params, after=after, **kwargs))
        elif entry.zip is not None:
            z = {k: _values(v) for k, v in entry.zip.items()}
            study.add_many(zip_params(entry.name, fn, z, params=params, after=after, **kwargs))
        else:
            study.add(Run(name=entry.name, fn=fn, params=params, after=tuple(after), **kwargs))
    return study


def load_study(path: str | os.PathLike) -> Study:
    """Parse and check a study YAML file (fns are imported by ``Study.validate``).

    The file's directory is put on ``sys.path`` so ``fn: mymodule:func`` next to the file imports.

    Parameters
    ----------
    path : str or os.PathLike
        The study file.

    Returns
    -------
    Study

    Raises
    ------
    InputError
        One line naming the file and the field (see :func:`parse_study_doc`).
    """
    path = Path(path)
    src = str(path)
    doc = read_yaml_file(path, "study file", InputError)
    model = parse_study_doc(doc, src)
    study = study_from_model(model, src)
    study_dir = str(path.resolve().parent)
    if study_dir not in sys.path:
        sys.path.insert(0, study_dir)
    study.directory = study_dir
    return study


__all__ = ["COMMAND_FN", "RangeSpec", "RunEntry", "StudyFile", "load_study", "parse_study_doc", "study_from_model"]

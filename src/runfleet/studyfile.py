"""Load a study from a YAML file (same content as the Python API).

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
```

Unknown fields are errors (a typo must not silently change a study); keys starting with ``x-``
are left for other tools. A relative ``store`` resolves against the current directory, as a
command-line path would.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path


from .errors import InputError
from .yamlfile import read_yaml_file
from .study import RetryPolicy, Run, Study, grid, zip_params

TOP_FIELDS = ("name", "store", "seed", "version", "defaults", "storage_options", "description", "runs")
RUN_FIELDS = ("name", "fn", "params", "grid", "zip", "after", "retries", "backoff_s", "timeout_s",
              "version", "pack", "description")


def _check_fields(mapping: dict, allowed: tuple[str, ...], where: str) -> None:
    for key in mapping:
        if isinstance(key, str) and key.startswith("x-"):
            continue
        if key not in allowed:
            raise InputError(f"{where}: unknown field {key!r} (expected one of: {', '.join(allowed)})")


def _expect(value, types, where: str, what: str):
    if not isinstance(value, types):
        raise InputError(f"{where}: expected {what}, got {type(value).__name__} {value!r}")
    return value


def load_study(path: str | os.PathLike) -> Study:
    """Parse and validate the structure of a study YAML file (fns are imported by ``validate``).

    The file's directory is put on ``sys.path`` so ``fn: mymodule:func`` next to the file imports.
    """
    path = Path(path)
    src = str(path)
    doc = read_yaml_file(path, "study file", InputError)
    if not isinstance(doc, dict):
        raise InputError(f"{src}: expected a mapping with 'name' and 'runs' at the top level")
    _check_fields(doc, TOP_FIELDS, src)
    for required in ("name", "runs"):
        if required not in doc:
            raise InputError(f"{src}: missing required field {required!r}")
    name = doc["name"]
    _expect(name, str, f"{src}: name", "a string")
    store = doc.get("store")
    if store is not None:
        _expect(store, str, f"{src}: store", "a path or URL string")
    seed = doc.get("seed", 0)
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise InputError(f"{src}: seed: expected a non-negative integer, got {seed!r}")
    defaults = doc.get("defaults") or {}
    _expect(defaults, dict, f"{src}: defaults", "a mapping")
    _check_fields(defaults, RetryPolicy.FIELDS + ("pack", "version"), f"{src}: defaults")
    for fld in ("retries",):
        v = defaults.get(fld)
        if v is not None and (not isinstance(v, int) or isinstance(v, bool) or v < 0):
            raise InputError(f"{src}: defaults.{fld}: expected a non-negative integer, got {v!r}")
    for fld in ("backoff_s", "timeout_s"):
        v = defaults.get(fld)
        if v is not None and (not isinstance(v, (int, float)) or isinstance(v, bool) or v < 0):
            raise InputError(f"{src}: defaults.{fld}: expected a non-negative number of seconds, got {v!r}")
    storage_options = doc.get("storage_options") or {}
    _expect(storage_options, dict, f"{src}: storage_options", "a mapping")
    version = doc.get("version")
    if version is not None:
        version = str(version)

    study = Study(name=name, store=store, seed=seed, defaults=defaults, storage_options=storage_options,
                  version=version, source=src)
    runs = doc["runs"]
    _expect(runs, list, f"{src}: runs", "a list of runs")
    for i, entry in enumerate(runs):
        where = f"{src}: runs[{i}]"
        _expect(entry, dict, where, "a mapping with 'name' and 'fn'")
        if "name" in entry:
            where = f"{where} ({entry['name']})"
        _check_fields(entry, RUN_FIELDS, where)
        for required in ("name", "fn"):
            if required not in entry:
                raise InputError(f"{where}: missing required field {required!r}")
        _expect(entry["name"], str, f"{where}: name", "a string")
        _expect(entry["fn"], str, f"{where}: fn", "'module:function'")
        params = entry.get("params") or {}
        _expect(params, dict, f"{where}: params", "a mapping")
        after = entry.get("after") or []
        if isinstance(after, str):
            after = [after]
        _expect(after, list, f"{where}: after", "a list of run names")
        kwargs = {k: entry[k] for k in ("retries", "backoff_s", "timeout_s", "pack") if k in entry}
        if "version" in entry:
            kwargs["version"] = str(entry["version"])
        if "grid" in entry and "zip" in entry:
            raise InputError(f"{where}: use either grid or zip, not both")
        if "grid" in entry:
            g = _expect(entry["grid"], dict, f"{where}: grid", "a mapping of parameter -> list of values")
            for k, v in g.items():
                _expect(v, list, f"{where}: grid.{k}", "a list of values")
            study.add_many(grid(entry["name"], entry["fn"], g, params=params, after=after, **kwargs))
        elif "zip" in entry:
            z = _expect(entry["zip"], dict, f"{where}: zip", "a mapping of parameter -> list of values")
            for k, v in z.items():
                _expect(v, list, f"{where}: zip.{k}", "a list of values")
            study.add_many(zip_params(entry["name"], entry["fn"], z, params=params, after=after, **kwargs))
        else:
            study.add(Run(name=entry["name"], fn=entry["fn"], params=params, after=tuple(after), **kwargs))
    study_dir = str(path.resolve().parent)
    if study_dir not in sys.path:
        sys.path.insert(0, study_dir)
    study.directory = study_dir
    return study

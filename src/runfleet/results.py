"""``runfleet.results``: a study's runs and their returned values as a pandas DataFrame, read
from the store at any later time (the store-backed ``gather``)."""
from __future__ import annotations

import pandas as pd

from .status import load_study_columns

COLUMNS = ["name", "status", "attempts", "duration_s", "error_class", "value", "params"]


def results(study_url: str, storage_options: dict | None = None) -> pd.DataFrame:
    """One row per run of the study at ``study_url``, with the value each run returned.

    Reads only the store (the study record, commit markers, pack files of packed short runs and
    error records), so it works after the driver has exited, on another machine, for local and
    ``s3://`` stores alike.

    Parameters
    ----------
    study_url : str
        ``<store>/<study name>``, e.g. ``./runs/hello`` or ``s3://bucket/runs/hello``.
    storage_options : dict, optional
        fsspec options to open the store (credentials, ``client_kwargs.endpoint_url``).

    Returns
    -------
    pandas.DataFrame
        In the study's run order, columns:

        - ``name`` (str): the run's name;
        - ``status`` (str): ``done``, ``failed``, ``skipped`` or ``pending`` (no record for the
          run's current key: not run yet, or interrupted);
        - ``attempts`` (int): the attempt that succeeded, or the attempts made before failing;
        - ``duration_s`` (float, s): duration of that attempt; NaN when unknown;
        - ``error_class`` (str or None): ``ValueError``, ``RunTimeout``, ``OutOfMemory``, ... for
          failed runs;
        - ``value``: what the run returned (JSON types: dict, list, number, str, None); None
          unless done;
        - ``params`` (dict): the run's parameters.

    Raises
    ------
    runfleet.InputError
        When there is no study at ``study_url``.
    """
    _, cols, records = load_study_columns(study_url, storage_options)
    rows = []
    for i, (name, key) in enumerate(zip(cols.names, cols.keys)):
        rec = records.get(name)
        if rec is not None and rec.key != key:
            rec = None  # an older key's record is stale
        row = {"name": name, "status": "pending", "attempts": 0, "duration_s": None, "error_class": None,
               "value": None, "params": cols.params(i)}
        if rec is not None:
            row.update(status=rec.status, attempts=rec.attempts, duration_s=rec.duration_s,
                       error_class=None if rec.status == "done" else rec.data.get("error_class"),
                       value=rec.value if rec.status == "done" else None)
        rows.append(row)
    def column(key, dtype):
        return pd.Series([r[key] for r in rows], dtype=dtype)

    # values and params keep their JSON types (no int -> float promotion beside a None)
    return pd.DataFrame({"name": column("name", object), "status": column("status", object),
                         "attempts": column("attempts", "int64"), "duration_s": column("duration_s", "float64"),
                         "error_class": column("error_class", object), "value": column("value", object),
                         "params": column("params", object)}, columns=COLUMNS)

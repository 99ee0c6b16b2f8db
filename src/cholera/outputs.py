"""Where a calibration's files live in the runfleet store, and reading/writing them.

Layout (``<store>/<name>/`` is the runfleet study directory)::

    runs/sim-000123/sim.parquet     one row per simulation, written by the worker
    runs/sim-000123/_result.json    runfleet's commit marker (or in _packs/ for packed runs)
    runs/ppc-000/series.parquet     posterior-predictive series of one draw
    inputs/priors-<sha256>.json     the priors, once (every run's params reference them by hash)
    results/calibration.json        settings, priors, stopping trace, outcome counts, failures, files
    results/sims.parquet            all committed simulation rows in one table
    results/posterior.csv           posterior summary table (also .parquet)
    results/ppc.parquet             posterior predictive check per location (also .csv)
    results/ppc.png                 observed vs posterior-predictive cases per location

Calibrations written before the ``results/`` directory existed kept these files in
``<store>/<name>/cholera/``; :func:`load_calibration` still reads them there.
"""

from __future__ import annotations

import io
import json
from typing import Any, Iterable

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from runfleet import Store, run_dir

from cholera.errors import CholeraError

__all__ = ["CalibrationFiles", "read_parquet_rows", "open_calibration", "load_calibration", "read_sims"]

SUBDIR = "results"
LEGACY_SUBDIR = "cholera"  # calibrations written before 0.2 (``<store>/cholera/cholera/...``)
READ_CHUNK = 500  # files fetched per request batch, keeps driver memory bounded


class CalibrationFiles:
    """Paths of one calibration's files in a store.

    Parameters
    ----------
    store : runfleet.Store
        The store the calibration writes to.
    name : str
        The runfleet study name (records under ``<store>/<name>/``).
    subdir : str, optional
        Directory of the calibration's own files inside the study directory (``results``).
    """

    def __init__(self, store: Store, name: str, subdir: str = SUBDIR):
        self.store = store
        self.name = name
        self.study_url = store.join(name)
        self.dir = store.join(name, subdir)

    @classmethod
    def of_run(cls, ctx) -> "CalibrationFiles":
        """The files of the calibration a run belongs to, from the run's directory
        ``<store>/<study>/runs/<run>`` (``ctx.out``) and its storage options.

        Parameters
        ----------
        ctx : runfleet.RunContext
            The run's context.

        Returns
        -------
        CalibrationFiles
        """
        marker = f"/{ctx.study}/runs/"
        store_url = ctx.out[: ctx.out.rindex(marker)]
        return cls(Store(store_url, ctx.storage_options), ctx.study)

    def run_file(self, run: str, filename: str) -> str:
        """URL of ``filename`` in run ``run``'s directory (``<study>/runs/<run>/<filename>``)."""
        return f"{run_dir(self.store, self.name, run)}/{filename}"

    def path(self, filename: str) -> str:
        """URL of one of the calibration's own files (``<study>/results/<filename>``)."""
        return f"{self.dir}/{filename}"

    def write_json(self, filename: str, obj: Any) -> str:
        """Write ``obj`` as strict JSON (atomically); return the file's URL."""
        path = self.path(filename)
        self.store.write_bytes_atomic(path, json.dumps(obj, indent=1, allow_nan=False, default=str).encode())
        return path

    def write_bytes(self, filename: str, data: bytes) -> str:
        """Write ``data`` (atomically); return the file's URL."""
        path = self.path(filename)
        self.store.write_bytes_atomic(path, data)
        return path

    def write_frame(self, filename: str, frame: pd.DataFrame) -> str:
        """Write a table as CSV (``.csv``) or parquet (any other name); return the file's URL."""
        if filename.endswith(".csv"):
            return self.write_bytes(filename, frame.to_csv(index=False).encode())
        buf = io.BytesIO()
        frame.to_parquet(buf, index=False)
        return self.write_bytes(filename, buf.getvalue())

    def read_json(self, filename: str) -> Any | None:
        """Parsed JSON file, or ``None`` when it does not exist."""
        return self.store.read_json(self.path(filename))

    def read_frame(self, filename: str) -> pd.DataFrame | None:
        """A parquet file as a DataFrame, or ``None`` when it does not exist."""
        data = self.store.read_bytes(self.path(filename))
        return None if data is None else pd.read_parquet(io.BytesIO(data))


def read_parquet_rows(store: Store, paths: Iterable[str]) -> pd.DataFrame:
    """Concatenate small parquet files (missing ones skipped), fetched ``READ_CHUNK`` at a time.

    Parameters
    ----------
    store : runfleet.Store
        Where the files are.
    paths : iterable of str
        File URLs in the store.

    Returns
    -------
    pandas.DataFrame
        The rows of every file that exists, in the order of ``paths`` (empty if none).
    """
    paths = list(paths)
    tables = []
    for start in range(0, len(paths), READ_CHUNK):
        chunk = paths[start : start + READ_CHUNK]
        blobs = store.read_many(chunk)
        tables.extend(pq.read_table(pa.BufferReader(blobs[p])) for p in chunk if p in blobs)
    if not tables:
        return pd.DataFrame()
    return pa.concat_tables(tables, promote_options="default").to_pandas()


def open_calibration(store_url: str, name: str, storage_options: dict | None = None) -> tuple[CalibrationFiles, dict]:
    """The files and ``calibration.json`` of the calibration ``name`` in a store.

    Parameters
    ----------
    store_url : str
        The calibration's ``--store`` (directory or fsspec URL).
    name : str
        Study name (``--name``).
    storage_options : dict, optional
        fsspec options of the store.

    Returns
    -------
    files : CalibrationFiles
        Pointing at ``results/`` (or the legacy ``cholera/`` directory of older calibrations).
    meta : dict
        Content of ``calibration.json``.

    Raises
    ------
    CholeraError
        No calibration named ``name`` in the store.
    """
    store = Store(store_url, storage_options)
    files = CalibrationFiles(store, name)
    meta = files.read_json("calibration.json")
    if meta is None:
        legacy = CalibrationFiles(store, name, LEGACY_SUBDIR)
        meta = legacy.read_json("calibration.json")
        if meta is not None:
            return legacy, meta
    if meta is None:
        raise CholeraError(
            f"no calibration {name!r} in {files.store.url} (missing {files.path('calibration.json')}); "
            "run `cholera calibrate` with this --store first"
        )
    return files, meta


def load_calibration(store_url: str, name: str, storage_options: dict | None = None) -> tuple[dict, pd.DataFrame]:
    """``(calibration.json content, simulation rows)`` of a finished or interrupted calibration.

    Parameters
    ----------
    store_url, name, storage_options
        As in :func:`open_calibration`.

    Returns
    -------
    meta : dict
        Content of ``calibration.json``.
    sims : pandas.DataFrame
        One row per committed simulation (columns as in :mod:`cholera.sim`).

    Raises
    ------
    CholeraError
        No calibration named ``name`` in the store.
    """
    files, meta = open_calibration(store_url, name, storage_options)
    return meta, read_sims(files, meta)


def read_sims(files: CalibrationFiles, meta: dict) -> pd.DataFrame:
    """Simulation rows of an opened calibration: ``sims.parquet``, else each committed run's row.

    Parameters
    ----------
    files : CalibrationFiles
        From :func:`open_calibration`.
    meta : dict
        Its ``calibration.json``.

    Returns
    -------
    pandas.DataFrame
        One row per committed simulation.
    """
    sims = files.read_frame("sims.parquet")
    if sims is None:
        sims = read_parquet_rows(files.store, [files.run_file(s, "sim.parquet") for s in meta.get("done_sims", [])])
    return sims

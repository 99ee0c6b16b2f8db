"""Where a calibration's files live in the runfleet store, and reading/writing them.

Layout (``<store>/<name>/`` is the runfleet study directory)::

    runs/sim-000123/sim.parquet     one row per simulation, written by the worker
    runs/sim-000123/_result.json    runfleet's commit marker (or in _packs/ for packed runs)
    runs/ppc-000/series.parquet     posterior-predictive series of one draw
    cholera/calibration.json        settings, priors, stopping trace, outcome counts, files
    cholera/sims.parquet            all committed simulation rows in one table
    cholera/posterior.csv           posterior summary table (also .parquet)
    cholera/ppc.parquet             posterior predictive check per location
    cholera/ppc.png                 observed vs posterior-predictive cases per location
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

__all__ = ["CalibrationFiles", "read_parquet_rows", "load_calibration"]

SUBDIR = "cholera"
READ_CHUNK = 500  # files fetched per request batch, keeps driver memory bounded


class CalibrationFiles:
    """Paths of one calibration's files in a store."""

    def __init__(self, store: Store, name: str):
        self.store = store
        self.name = name
        self.study_url = store.join(name)
        self.dir = store.join(name, SUBDIR)

    def run_file(self, run: str, filename: str) -> str:
        return f"{run_dir(self.store, self.name, run)}/{filename}"

    def path(self, filename: str) -> str:
        return f"{self.dir}/{filename}"

    def write_json(self, filename: str, obj: Any) -> str:
        path = self.path(filename)
        self.store.write_bytes_atomic(path, json.dumps(obj, indent=1, allow_nan=False, default=str).encode())
        return path

    def write_bytes(self, filename: str, data: bytes) -> str:
        path = self.path(filename)
        self.store.write_bytes_atomic(path, data)
        return path

    def write_frame(self, filename: str, frame: pd.DataFrame) -> str:
        if filename.endswith(".csv"):
            return self.write_bytes(filename, frame.to_csv(index=False).encode())
        buf = io.BytesIO()
        frame.to_parquet(buf, index=False)
        return self.write_bytes(filename, buf.getvalue())

    def read_json(self, filename: str) -> Any | None:
        return self.store.read_json(self.path(filename))

    def read_frame(self, filename: str) -> pd.DataFrame | None:
        data = self.store.read_bytes(self.path(filename))
        return None if data is None else pd.read_parquet(io.BytesIO(data))


def read_parquet_rows(store: Store, paths: Iterable[str]) -> pd.DataFrame:
    """Concatenate small parquet files (missing ones skipped), fetched ``READ_CHUNK`` at a time."""
    paths = list(paths)
    tables = []
    for start in range(0, len(paths), READ_CHUNK):
        chunk = paths[start : start + READ_CHUNK]
        blobs = store.read_many(chunk)
        tables.extend(pq.read_table(pa.BufferReader(blobs[p])) for p in chunk if p in blobs)
    if not tables:
        return pd.DataFrame()
    return pa.concat_tables(tables, promote_options="default").to_pandas()


def load_calibration(store_url: str, name: str, storage_options: dict | None = None) -> tuple[dict, pd.DataFrame]:
    """``(calibration.json content, simulation rows)`` of a finished or interrupted calibration.

    Raises:
        CholeraError: no calibration named ``name`` in the store.
    """
    files = CalibrationFiles(Store(store_url, storage_options), name)
    meta = files.read_json("calibration.json")
    if meta is None:
        raise CholeraError(
            f"no calibration {name!r} in {files.store.url} (missing {files.path('calibration.json')}); "
            "run `cholera calibrate` with this --store first"
        )
    sims = files.read_frame("sims.parquet")
    if sims is None:
        sims = read_parquet_rows(files.store, [files.run_file(s, "sim.parquet") for s in meta.get("done_sims", [])])
    return meta, sims

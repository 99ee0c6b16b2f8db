"""The calibration's tables, built on a worker: ``sims.parquet`` and the posterior table.

A run function (``cholera.collect:collect``, run ``sims-table`` of the calibration's study) reads
the committed simulations' one-row ``sim.parquet`` files ``READ_CHUNK`` at a time and appends them
to ``results/sims.parquet`` with a ``pyarrow.parquet.ParquetWriter``, then computes
``results/posterior.csv`` / ``.parquet`` from it. The driver never holds per-simulation rows:
at 10,000 simulations it reads back only the few columns it needs (``sim``, ``ll`` and the prior
columns, a few MB) for the posterior-predictive draws.
"""

from __future__ import annotations

from typing import Sequence

import pyarrow as pa
import pyarrow.parquet as pq
from cholera.outputs import READ_CHUNK, CalibrationFiles
from cholera.posterior import posterior_table, weights_summary
from cholera.priorstore import run_priors
from cholera.sim import SIM_FILE

__all__ = ["collect", "TABLE_RUN", "COLLECT_FN"]

#: run name and function of the table-building run
TABLE_RUN = "sims-table"
COLLECT_FN = "cholera.collect:collect"


def collect(ctx, sims: Sequence[str], locations: Sequence[str], priors: dict | str, temperature: float = 1.0) -> dict:
    """Write ``results/sims.parquet`` and the posterior table of the simulations ``sims``.

    Parameters
    ----------
    ctx : runfleet.RunContext
        The run's context (its ``out`` locates the study in the store).
    sims : sequence of str
        Names of the committed simulations (``sim-000123``), in order.
    locations : sequence of str
        Calibrated ISO3 codes.
    priors : dict or str
        The priors' reference ``sha256:...`` (:mod:`cholera.priorstore`) or their mapping form
        (:meth:`cholera.priors.Priors.to_dict`).
    temperature : float, optional
        Likelihood tempering of the importance weights.

    Returns
    -------
    dict
        ``rows`` (simulations written), ``ess`` (effective sample size), ``best_ll`` (natural
        log) and ``files`` (name -> URL).
    """
    files = CalibrationFiles.of_run(ctx)
    store = files.store
    paths = [files.run_file(s, SIM_FILE) for s in sims]
    sink = pa.BufferOutputStream()
    writer, rows = None, 0
    try:
        for start in range(0, len(paths), READ_CHUNK):
            chunk = paths[start: start + READ_CHUNK]
            blobs = store.read_many(chunk)
            tables = [pq.read_table(pa.BufferReader(blobs[p])) for p in chunk if p in blobs]
            if not tables:
                continue
            table = pa.concat_tables(tables, promote_options="default")
            if writer is None:
                writer = pq.ParquetWriter(sink, table.schema)
            elif table.schema != writer.schema:
                table = table.cast(writer.schema)
            writer.write_table(table)
            rows += table.num_rows
    finally:
        if writer is not None:
            writer.close()
    written: dict[str, str] = {}
    ll = []
    if writer is not None:
        data = sink.getvalue().to_pybytes()
        written["sims"] = files.write_bytes("sims.parquet", data)
        frame = pq.read_table(pa.BufferReader(data)).to_pandas()
        table = posterior_table(frame, run_priors(ctx, priors), list(locations), temperature)
        written["posterior"] = files.write_frame("posterior.csv", table)
        files.write_frame("posterior.parquet", table)
        ll = frame["ll"].to_numpy(dtype=float)
    ws = weights_summary(ll, temperature)
    return {"rows": rows, "ess": ws["ess"], "best_ll": ws["best_ll"], "files": written}

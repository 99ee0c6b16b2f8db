"""The calibration's tables, built on a worker: ``sims.parquet`` and the posterior table.

A run function (``cholera.collect:collect``, run ``sims-table`` of the calibration's study) has
the committed simulations' one-row ``sim.parquet`` files read ``READ_CHUNK`` at a time by every
worker at once (``ctx.map``: the table is built while no simulation runs, so one worker reading
alone would leave the others idle) and appends the chunks in order to ``results/sims.parquet``
with a ``pyarrow.parquet.ParquetWriter``, then computes
``results/posterior.csv`` / ``.parquet`` from it. The driver never holds per-simulation rows:
at 10,000 simulations it reads back only the few columns it needs (``sim``, ``ll`` and the prior
columns, a few MB) for the posterior-predictive draws.
"""

from __future__ import annotations

from typing import Sequence

import pyarrow as pa
import pyarrow.ipc  # noqa: F401 - pa.ipc
import pyarrow.parquet as pq
from runfleet import Store
from cholera.outputs import READ_CHUNK, CalibrationFiles
from cholera.posterior import posterior_table, weights_summary
from cholera.priorstore import run_priors
from cholera.sim import SIM_FILE

__all__ = ["collect", "TABLE_RUN", "COLLECT_FN"]

#: run name and function of the table-building run
TABLE_RUN = "sims-table"
COLLECT_FN = "cholera.collect:collect"


def _read_chunk(paths: list[str], store_url: str, storage_options: dict) -> bytes | None:
    """The rows of the ``sim.parquet`` files ``paths`` (missing ones skipped) as Arrow IPC
    stream bytes, or ``None`` when none exists (one ``ctx.map`` item of :func:`collect`)."""
    blobs = Store(store_url, storage_options).read_many(paths)
    tables = [pq.read_table(pa.BufferReader(blobs[p])) for p in paths if p in blobs]
    if not tables:
        return None
    table = pa.concat_tables(tables, promote_options="default")
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as stream:
        stream.write_table(table)
    return sink.getvalue().to_pybytes()


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
    paths = [files.run_file(s, SIM_FILE) for s in sims]
    # chunks are read and decoded by every worker at once (ctx.map), appended here in order
    chunks = [paths[start: start + READ_CHUNK] for start in range(0, len(paths), READ_CHUNK)]
    parts = ctx.map(_read_chunk, chunks, store_url=files.store.url, storage_options=ctx.storage_options)
    sink = pa.BufferOutputStream()
    writer, rows = None, 0
    try:
        for part in parts:
            if part is None:
                continue
            table = pa.ipc.open_stream(part).read_all()
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

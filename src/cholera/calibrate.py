"""Adaptive calibration driver on runfleet's dynamic API.

Simulations ``sim-000000, sim-000001, ...`` are submitted in batches of ``batch`` through
``runfleet.open_fleet(...).submit``; ``lookahead`` more batches are kept in flight so workers
never wait for the driver. When a batch and all batches before it have finished, the stopping
rule (:mod:`cholera.stopping`) is evaluated on exactly those simulations; if it holds, nothing
more is submitted and the batches already in flight are finished and kept. The simulations used
are therefore a function of the settings and the seed only, not of worker count or timing.

Each simulation draws its parameters from the prior with its own seed (study seed + run name),
so a simulation's row is the same whenever and wherever it runs, and resume is plain runfleet:
runs already committed in the store come back as ``resumed`` with their stored value and are
never executed again. Only ``{ll, log_prior}`` comes back per simulation; the driver keeps one
float and one status byte per simulation. The priors are written once to the store and every
run's params reference them by content hash (:mod:`cholera.priorstore`).

Afterwards: the run ``sims-table`` gathers the committed rows into ``results/sims.parquet`` and
writes the posterior table (:mod:`cholera.collect`, on a worker), and ``n_ppc`` posterior draws
are re-simulated as runs ``ppc-000...`` for the predictive check and plot (:mod:`cholera.ppc`).
"""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np
import pandas as pd
from runfleet import Progress, Run, Store, open_fleet

from cholera.config import CalibrationConfig
from cholera.errors import CholeraError
from cholera.model import available_locations, build_inputs, check_overrides, default_parameters
from cholera.collect import COLLECT_FN, TABLE_RUN
from cholera.outputs import CalibrationFiles, read_parquet_rows
from cholera.posterior import ESS_MIN, weights_summary
from cholera.ppc import choose_draws, plot_ppc, ppc_summary
from cholera.priors import Priors, resolve_priors
from cholera.priorstore import store_priors
from cholera.sim import RESERVED_COLUMNS, SERIES_FILE
from cholera.stopping import BatchCheck, check_batch
from cholera.weights import normalized_weights

__all__ = ["calibrate", "sim_name", "prepare"]

SIM_FN = "cholera.sim:simulate"
#: simulations shorter than this (s, observed) are packed several to a Dask task: a short
#: simulation (10 days, one location: ~0.2-0.5 s) run one per task leaves its worker idle for a
#: scheduler round trip after each, and writes one marker object each instead of one per pack.
#: Between two packs a worker is idle about 50 ms (median measured at 10,000 simulations on a
#: loaded machine, from the pack markers' start and end times): 2.5% of a 2 s pack, 1% of a 5 s
#: one. Near the end runfleet shrinks packs to an even share of the ready runs per worker.
PACK_TARGET_S = 5.0
PPC_FN = "cholera.sim:predict"
#: a simulation's status on the driver: one byte each
_PENDING, _DONE, _FAILED, _OTHER = 0, 1, 2, 3
_STATUS = {"done": _DONE, "failed": _FAILED}


def sim_name(index: int) -> str:
    """Run name of simulation ``index``.

    Parameters
    ----------
    index : int
        0-based simulation index.

    Returns
    -------
    str
        ``sim-000123``.
    """
    return f"sim-{index:06d}"


def prepare(cfg: CalibrationConfig) -> tuple[Priors, Any]:
    """Check locations, days, model overrides and priors before anything starts.

    Parameters
    ----------
    cfg : CalibrationConfig
        The settings.

    Returns
    -------
    priors : cholera.priors.Priors
        The parsed priors (a YAML file, a mapping in the file's form, or MOSAIC-shaped).
    inputs : cholera.model.ModelInputs
        Model inputs for the calibrated locations and period.

    Raises
    ------
    CholeraError
        Unknown location, bad ``days``, bad priors or overrides (one line naming the field).
    """
    inputs = build_inputs(cfg.locations, cfg.days)
    check_overrides(cfg.model_overrides, default_parameters(), len(available_locations()), inputs.locations)
    priors = resolve_priors(cfg.priors, inputs.locations)
    priors.check_against(default_parameters(), len(available_locations()), inputs.locations)
    clash = [c for c in priors.columns(inputs.locations) if c in RESERVED_COLUMNS]
    if clash:
        raise CholeraError(f"{priors.source}: parameter name(s) {clash} clash with output columns; rename them")
    return priors, inputs


class _Driver:
    """State of one calibration invocation (one float and one status byte per simulation)."""

    def __init__(self, cfg: CalibrationConfig, priors_ref: str, progress: Progress):
        self.cfg = cfg
        self.progress = progress
        self.batch = cfg.batch_size
        self.n_batches = math.ceil(cfg.sims / self.batch)
        self.ll = np.full(cfg.sims, np.nan)
        self.status = np.zeros(cfg.sims, dtype=np.int8)  # _PENDING, _DONE, _FAILED or _OTHER
        self.remaining = [0] * self.n_batches
        self.submitted = 0  # batches submitted
        self.checked = 0  # batches evaluated by the rule
        self.history: list[BatchCheck] = []
        self.stop: BatchCheck | None = None
        self.counts = {"done": 0, "failed": 0, "resumed": 0, "executed": 0, "skipped": 0}
        self.errors: dict[str, int] = {}
        self.failures: dict[str, dict] = {}  # error class -> {count, sim, message} (first example)
        self.base_params = {
            "locations": list(cfg.locations),
            "priors": priors_ref,  # the mapping is stored once (cholera.priorstore)
            "n_iter": cfg.n_iter,
            "days": cfg.days,
            "likelihood": cfg.likelihood.to_dict(),
            "study_seed": cfg.seed,
        }
        if cfg.model_overrides:  # only when set: calibrations without overrides keep their run identities
            self.base_params["overrides"] = dict(cfg.model_overrides)

    def batch_runs(self, b: int) -> list[Run]:
        start, stop = b * self.batch, min((b + 1) * self.batch, self.cfg.sims)
        self.remaining[b] = stop - start
        return [
            Run(sim_name(i), SIM_FN, params={**self.base_params, "sim_index": i}, retries=1, backoff_s=0.2)
            for i in range(start, stop)
        ]

    def submit_next(self, fleet) -> None:
        if self.stop is None and self.submitted < self.n_batches:
            fleet.submit(self.batch_runs(self.submitted))
            self.submitted += 1

    def record(self, outcome) -> None:
        index = int(outcome.name.split("-", 1)[1])
        self.status[index] = _STATUS.get(outcome.status, _OTHER)
        if outcome.status == "done":
            self.ll[index] = float(outcome.value["ll"])
            self.counts["done"] += 1
            self.counts["resumed" if outcome.resumed else "executed"] += 1
        else:
            self.ll[index] = -np.inf
            self.counts[outcome.status] = self.counts.get(outcome.status, 0) + 1
            key = outcome.error_class or outcome.status
            self.errors[key] = self.errors.get(key, 0) + 1
            entry = self.failures.setdefault(key, {"count": 0, "sim": outcome.name, "message": outcome.error or ""})
            entry["count"] += 1
        self.remaining[index // self.batch] -= 1

    def advance(self, fleet) -> None:
        """Evaluate every batch boundary that is complete; submit more while the rule fails."""
        while self.stop is None and self.checked < self.submitted and self.remaining[self.checked] == 0:
            b = self.checked
            n = min((b + 1) * self.batch, self.cfg.sims)
            check = check_batch(
                b,
                self.ll[:n],
                self.history,
                cap=self.cfg.sims,
                ess_target=self.cfg.ess_target,
                top_k=self.cfg.top_k,
                patience=self.cfg.patience,
                tol=self.cfg.tol,
                temperature=self.cfg.temperature,
            )
            self.history.append(check)
            self.checked += 1
            self.progress.message(
                f"batch {b}: {n} sims ({check.n_failed} failed), ESS {check.ess:.1f}, "
                f"best-{self.cfg.top_k} mean ll {check.top_k_mean:.1f}"
                + (f" -> stop ({check.stop})" if check.stop else "")
            )
            if check.stop:
                self.stop = check
            else:
                self.submit_next(fleet)

    def used(self) -> int:
        """Simulations submitted (the stopping batch plus the lookahead batches already in flight)."""
        return min(self.submitted * self.batch, self.cfg.sims)

    def indices(self, state: int) -> np.ndarray:
        """Indices of the simulations used that are in ``state`` (``_DONE`` or ``_FAILED``)."""
        return np.flatnonzero(self.status[: self.used()] == state)


def _run_ppc(fleet, cfg, priors, priors_ref: str, sims: pd.DataFrame, files: CalibrationFiles,
             progress) -> tuple[dict, dict]:
    """Submit the posterior-predictive runs, then summarise and plot them.

    Returns ``(files written, ppc record)``; the record (``requested``, ``sims`` used,
    ``error``) goes to ``calibration.json`` so summaries can say what the check rests on.
    """
    info: dict = {"requested": cfg.n_ppc, "sims": []}
    if cfg.n_ppc == 0 or sims.empty:
        return {}, info
    w = normalized_weights(sims["ll"].to_numpy(dtype=float), cfg.temperature)
    picks = choose_draws(w, cfg.n_ppc, cfg.seed)
    columns = priors.columns(cfg.locations)
    runs = []
    for j, i in enumerate(picks):
        row = sims.iloc[i]
        params = {c: float(row[c]) for c in columns}
        run_params = {
            "locations": list(cfg.locations),
            "params": params,
            "priors": priors_ref,
            "n_iter": cfg.n_iter,
            "days": cfg.days,
            "likelihood": cfg.likelihood.to_dict(),
            "source_sim": str(row["sim"]),
            "study_seed": cfg.seed,
        }
        if cfg.model_overrides:
            run_params["overrides"] = dict(cfg.model_overrides)
        runs.append(Run(f"ppc-{j:03d}", PPC_FN, params=run_params, retries=1, backoff_s=0.2))
    info["sims"] = [r.params["source_sim"] for r in runs]
    if len(runs) < cfg.n_ppc:
        progress.message(f"warning: posterior predictive check: {cfg.n_ppc} distinct simulations requested, only "
                         f"{len(runs)} carry weight ({', '.join(info['sims'])})")
    else:
        progress.message(f"posterior predictive check: {len(runs)} draws from sims {info['sims']}")
    fleet.submit(runs)
    done = [o.name for o in fleet.as_completed() if o.status == "done"]
    if not done:
        info["error"] = "every posterior-predictive run failed"
        return {}, info
    series = []
    for name in sorted(done):
        frame = read_parquet_rows(files.store, [files.run_file(name, SERIES_FILE)])
        frame["draw"] = name
        series.append(frame)
    series = pd.concat(series, ignore_index=True)
    summary = ppc_summary(series)
    out = {"ppc": files.write_frame("ppc.parquet", summary), "ppc_csv": files.write_frame("ppc.csv", summary)}
    title = f"{cfg.name}: observed vs posterior predictive ({len(done)} distinct draws x {cfg.n_iter} iterations)"
    out["ppc_png"] = files.write_bytes("ppc.png", plot_ppc(series, cfg.locations, title))
    return out, info


def _collect_tables(fleet, cfg, priors_ref: str, done_sims: list[str], progress) -> dict | None:
    """Run ``sims-table`` (:func:`cholera.collect.collect`) on a worker: it writes
    ``results/sims.parquet`` and the posterior table. Returns its value, or ``None`` when it failed."""
    run = Run(TABLE_RUN, COLLECT_FN, params={"sims": done_sims, "locations": list(cfg.locations),
                                             "priors": priors_ref, "temperature": cfg.temperature},
              retries=1, backoff_s=0.2, pack=False)
    fleet.submit([run])
    result = None
    for outcome in fleet.as_completed():
        if outcome.name == TABLE_RUN:
            if outcome.status == "done":
                result = outcome.value
            else:
                progress.message(f"{TABLE_RUN} failed ({outcome.error_class}): {(outcome.error or '')[-300:]}")
    return result


def _read_sims_columns(files: CalibrationFiles, columns: list[str]) -> pd.DataFrame:
    """Only ``columns`` of ``results/sims.parquet`` (what the predictive check needs)."""
    import pyarrow.parquet as pq

    with files.store.open(files.path("sims.parquet"), "rb") as f:
        return pq.read_table(f, columns=columns).to_pandas()


def calibrate(cfg: CalibrationConfig, client=None) -> dict:
    """Run (or resume) a calibration; return a plain summary dict.

    Parameters
    ----------
    cfg : CalibrationConfig
        The settings.
    client : distributed.Client, optional
        An existing client to run on (overrides ``cfg.cluster``; never closed here).

    Returns
    -------
    dict
        ``study_url``, ``results_url`` (the ``results/`` directory), ``stop_reason``,
        ``sims_submitted``, ``done``, ``failed``, ``resumed``, ``executed``, ``ess``
        (effective sample size), ``best_ll`` (natural log), ``posterior`` (list of row dicts),
        ``cost`` (worker-seconds ``paid_s``, ``busy_s``, ``idle_s``...: runfleet's
        ``CostSummary.to_dict``; ``None`` when nothing ran on a cluster),
        ``failures`` (error class -> count and one example), ``ppc_sims`` (distinct simulations
        the predictive check used), ``files`` (name -> URL), ``trace`` and ``elapsed_s`` (s).

    Raises
    ------
    CholeraError
        Bad locations, days, priors or settings, before any run (one line naming the field).
    runfleet.InputError
        Bad store, storage options or cluster profile.
    """
    t0 = time.perf_counter()
    priors, inputs = prepare(cfg)
    progress = Progress(cfg.name, mode=cfg.progress)
    for iso, n_obs in zip(inputs.locations, (~np.isnan(inputs.observed_cases)).sum(axis=1)):
        if n_obs == 0:
            progress.message(f"warning: {iso} has no observed reported cases in the simulated period; "
                             f"its location-specific parameters stay at their priors")
    store = Store(cfg.store, cfg.storage_options)
    files = CalibrationFiles(store, cfg.name)
    cluster = client if client is not None else cfg.cluster
    settings = cfg.settings()
    files_out: dict[str, str] = {}
    with open_fleet(
        cfg.name,
        cfg.store,
        seed=cfg.seed,
        storage_options=cfg.storage_options,
        cluster=cluster,
        workers=cfg.workers,
        progress=progress,
        pack_target_s=PACK_TARGET_S,
    ) as fleet:
        priors_ref = store_priors(files, priors)  # once; runs reference it (written once the cluster is up)
        driver = _Driver(cfg, priors_ref, progress)
        for _ in range(1 + cfg.lookahead):
            driver.submit_next(fleet)
        for outcome in fleet.as_completed():
            if outcome.name.startswith("sim-"):
                driver.record(outcome)
                driver.advance(fleet)
        n_used = driver.used()
        done_sims = [sim_name(i) for i in driver.indices(_DONE)]
        meta = {
            "settings": settings,
            "priors": priors.to_dict(),
            "priors_ref": priors_ref,
            "priors_source": priors.source,
            "stop_reason": driver.stop.stop if driver.stop else "interrupted",
            "stopped_after_batch": driver.stop.batch if driver.stop else None,
            "sims_submitted": n_used,
            "done_sims": done_sims,
            "counts": driver.counts,
            "errors": driver.errors,
            "failures": driver.failures,
            "trace": [c.to_dict() for c in driver.history],
        }
        files_out["calibration"] = files.write_json("calibration.json", meta)
        tables = _collect_tables(fleet, cfg, priors_ref, done_sims, progress) if done_sims else None
        if tables is not None and tables["rows"]:
            files_out.update(tables["files"])
            ws = {"ess": tables["ess"], "best_ll": tables["best_ll"]}  # computed by sims-table on the worker
            table = files.read_frame("posterior.parquet")
            # the predictive check's draws need sim, ll and the parameter columns; nothing else is read back
            sims = (_read_sims_columns(files, ["sim", "ll", *priors.columns(cfg.locations)]) if cfg.n_ppc
                    else pd.DataFrame())
            ppc_files, meta["ppc"] = _run_ppc(fleet, cfg, priors, priors_ref, sims, files, progress)
            files_out.update(ppc_files)
        else:
            ws = weights_summary([], cfg.temperature)
            table = pd.DataFrame()
            progress.message("no simulation succeeded: no posterior" if tables is None or not done_sims
                             else "no simulation row could be read: no posterior")
    meta["cost"] = fleet.cost.to_dict() if fleet.cost is not None else None
    meta["files"] = {k: v for k, v in files_out.items() if k != "calibration"}
    meta["ess"] = ws["ess"]
    meta["ess_min"] = ESS_MIN
    meta["best_ll"] = ws["best_ll"]
    meta["elapsed_s"] = time.perf_counter() - t0
    files.write_json("calibration.json", meta)
    return {
        "study_url": files.study_url,
        "stop_reason": meta["stop_reason"],
        "sims_submitted": n_used,
        "done": len(done_sims),
        "failed": int(len(driver.indices(_FAILED))),
        "resumed": driver.counts["resumed"],
        "executed": driver.counts["executed"],
        "ess": ws["ess"],
        "best_ll": ws["best_ll"],
        "posterior": table.to_dict(orient="records"),
        "files": files_out,
        "results_url": files.dir,
        "failures": driver.failures,
        "ppc_sims": (meta.get("ppc") or {}).get("sims", []),
        "trace": meta["trace"],
        "elapsed_s": meta["elapsed_s"],
        "cost": meta["cost"],
    }

"""Plain-types API for other languages (R through reticulate) and notebooks.

Arguments are str / int / float / list / dict; MOSAIC-shaped ``config`` and ``priors`` R lists
are accepted as they arrive through reticulate (:mod:`cholera.mosaic`). Results are dicts of
plain values, or tables read back from the store as pandas DataFrames or, with
``as_dict=True``, ``{column: values}`` for R's ``as.data.frame``. From R::

    cholera <- reticulate::import("cholera.api")
    config <- list(location_name = c("ETH", "MOZ"), date_stop = "2023-03-02")
    priors <- list(parameters_global = list(
      rho = list(distribution = "beta", parameters = list(shape1 = 4, shape2 = 11))))
    res <- cholera$calibrate(config = config, priors = priors, sims = 200L, store = "/data/calib")
    sims <- as.data.frame(cholera$simulations("/data/calib", as_dict = TRUE), check.names = FALSE)

See ``examples/cholera/calibrate.R`` and docs/cholera.md.
"""

from __future__ import annotations

import os
import sysconfig
from datetime import date
from typing import Any, Mapping, Sequence

import pandas as pd

from cholera.calibrate import calibrate as _calibrate
from cholera.calibrate import prepare
from cholera.config import DEFAULT_NAME, CalibrationConfig
from cholera.errors import ConfigError
from cholera.model import available_locations, default_parameters
from cholera.mosaic import config_from_mosaic
from cholera.outputs import load_calibration, open_calibration, read_sims
from cholera.posterior import posterior_table
from cholera.priors import Priors
from cholera.report import render_summary

__all__ = ["calibrate", "summary", "simulations", "report", "locations"]


def _prefer_own_libpython() -> None:
    """Make worker processes load this interpreter's libpython when embedded in R.

    R exports ``LD_LIBRARY_PATH`` with the system library directory first (e.g.
    ``/usr/lib/R/lib:/usr/lib/x86_64-linux-gnu``). A Python built with a shared libpython
    elsewhere (pyenv, conda) finds it through its RUNPATH, which ``LD_LIBRARY_PATH`` overrides:
    Dask worker processes started from R would load the system's libpython of the same minor
    version and fail (``undefined symbol`` importing ``_ssl``). Putting this interpreter's
    ``LIBDIR`` first fixes the children; the running process is not affected.
    """
    libdir = sysconfig.get_config_var("LIBDIR")
    current = os.environ.get("LD_LIBRARY_PATH", "")
    if not current or not libdir or not sysconfig.get_config_var("Py_ENABLE_SHARED"):
        return
    parts = [p for p in current.split(os.pathsep) if p]
    if parts and parts[0] == libdir:
        return
    os.environ["LD_LIBRARY_PATH"] = os.pathsep.join([libdir] + [p for p in parts if p != libdir])


def _resolve_inputs(config: Mapping[str, Any] | None, locations, days) -> dict[str, Any]:
    """Locations, days and model overrides from ``config`` and/or the plain arguments."""
    if isinstance(locations, str):
        locations = locations.split(",")
    if config is None:
        return {"locations": locations, "days": days, "model_overrides": {}}
    start = date.fromisoformat(str(default_parameters()["date_start"])[:10])
    got = config_from_mosaic(config, start, source="config")
    if locations is not None and tuple(str(x).strip().upper() for x in locations) != got["locations"]:
        raise ConfigError("locations: given both as config location_name and as locations, and they differ (give one)")
    if days is not None and got["days"] is not None and days != got["days"]:
        raise ConfigError("days: given both as config date_stop and as days, and they differ (give one)")
    return {**got, "days": days if got["days"] is None else got["days"]}


def _connect(scheduler: str):
    """A ``distributed.Client`` of a running scheduler, or ClusterUnavailable (exit 3) in one line."""
    from distributed import Client
    from runfleet import ClusterUnavailable

    if not isinstance(scheduler, str) or not scheduler.strip():
        raise ConfigError("scheduler: expected a scheduler address such as tcp://10.0.0.1:8786")
    try:
        return Client(scheduler.strip(), timeout=30)
    except (OSError, TimeoutError) as exc:
        raise ClusterUnavailable(f"scheduler {scheduler.strip()}: cannot connect ({type(exc).__name__}); "
                                 f"is `dask scheduler` running there and reachable?") from None


def calibrate(
    locations: Sequence[str] | str | None = None,
    sims: int | None = None,
    store: str | None = None,
    *,
    config: Mapping[str, Any] | None = None,
    priors: str | Mapping[str, Any] | None = None,
    days: int | None = None,
    seed: int = 0,
    n_iter: int = 3,
    batch: int = 100,
    ess_target: float = 100.0,
    top_k: int = 20,
    patience: int = 3,
    tol: float = 1.0,
    n_ppc: int = 4,
    name: str = DEFAULT_NAME,
    scheduler: str | None = None,
    cluster: str | None = None,
    workers: int | None = None,
    storage_options: dict | None = None,
    progress: str = "none",
) -> dict[str, Any]:
    """Run or resume a calibration from plain values (Python, or R lists through reticulate).

    Parameters
    ----------
    locations : sequence of str or str, optional
        ISO3 codes (or ``"ETH,MOZ"``); not needed when ``config`` gives ``location_name``.
    sims : int
        Cap on the number of simulations.
    store : str
        runfleet store: directory or fsspec URL (``s3://bucket/prefix``).
    config : mapping, optional
        MOSAIC-shaped config (an R list): ``location_name``, optionally ``date_start`` (must be
        the bundled 2023-02-01) and ``date_stop`` (sets ``days``), and scalar or per-location
        laser-cholera parameters replacing the bundled values (:mod:`cholera.mosaic`).
    priors : str or mapping, optional
        A priors YAML path, a mapping in that file's form, or MOSAIC's priors list
        (``parameters_global`` / ``parameters_location``); default: the packaged priors.
    days : int, optional
        Simulated days from 2023-02-01 (default: all 1155, or ``config``'s ``date_stop``).
    seed, n_iter, batch, ess_target, top_k, patience, tol, n_ppc, name, workers, progress
        As in :class:`cholera.config.CalibrationConfig`. R numbers (``20`` rather than ``20L``)
        are accepted where integers are expected when they are whole.
    scheduler : str, optional
        Address of a running Dask scheduler (``tcp://10.0.0.1:8786``) whose workers have
        ``cholera`` installed; the client is closed at the end, the cluster is left running.
    cluster : str, optional
        A runfleet cluster profile name (``runfleet clusters`` lists them); not with ``scheduler``.
    storage_options : dict, optional
        fsspec options for the store (credentials, endpoint); never printed or stored.

    Returns
    -------
    dict
        As :func:`cholera.calibrate.calibrate` returns (``stop_reason``, ``done``, ``failed``,
        ``ess``, ``files``...), plus ``summary``: the text :func:`report` prints.

    Raises
    ------
    cholera.errors.CholeraError
        Bad input (one line naming the field), before anything runs.
    runfleet.errors.ClusterUnavailable
        The scheduler cannot be reached.
    """
    if scheduler is not None and cluster is not None:
        raise ConfigError("scheduler, cluster: give one (a scheduler address or a cluster profile name)")
    if "R_HOME" in os.environ:  # called through reticulate
        _prefer_own_libpython()
    inputs = _resolve_inputs(config, locations, days)
    cfg = CalibrationConfig(
        locations=inputs["locations"],
        sims=sims,
        store=store,
        days=inputs["days"],
        seed=seed,
        n_iter=n_iter,
        batch=batch,
        priors=priors,
        ess_target=ess_target,
        top_k=top_k,
        patience=patience,
        tol=tol,
        n_ppc=n_ppc,
        name=name,
        cluster=cluster,
        workers=workers,
        storage_options=dict(storage_options or {}),
        progress=progress,
        model_overrides=inputs["model_overrides"],
    )
    prepare(cfg)  # every input error before a scheduler is contacted
    client = _connect(scheduler) if scheduler is not None else None
    try:
        result = _calibrate(cfg, client=client)
    finally:
        if client is not None:
            client.close()
    result["summary"] = report(cfg.store, cfg.name, cfg.storage_options)
    return result


def _columns(frame: pd.DataFrame) -> dict[str, list]:
    # {column: list of plain values}: R receives a named list, as.data.frame() makes the table
    return {str(c): frame[c].astype(object).where(frame[c].notna(), None).tolist() for c in frame.columns}


def _posterior(store: str, name: str, storage_options: dict | None):
    files, meta = open_calibration(store, name, storage_options)
    sims = read_sims(files, meta)
    priors = Priors.from_dict(meta["priors"], source=files.path("calibration.json"))
    settings = meta["settings"]
    table = posterior_table(sims, priors, settings["locations"], settings.get("temperature", 1.0))
    return files, meta, sims, table


def summary(store: str, name: str = DEFAULT_NAME, storage_options: dict | None = None, as_dict: bool = False):
    """Posterior table of a calibration, read from the store.

    Parameters
    ----------
    store : str
        The calibration's store.
    name : str, optional
        Study name.
    storage_options : dict, optional
        fsspec options of the store.
    as_dict : bool, optional
        Return ``{column: list}`` (for R: ``as.data.frame(cholera$summary(store, as_dict = TRUE),
        check.names = FALSE)``; reticulate up to 1.3x does not convert pandas 3 DataFrames).

    Returns
    -------
    pandas.DataFrame or dict
        One row per parameter (and location): ``parameter, location, prior_mean, mean, sd,
        q2.5 ... q97.5, best, ess``. Below an ``ess`` of :data:`cholera.posterior.ESS_MIN` the
        quantiles are not meaningful (:func:`report` says so).

    Raises
    ------
    cholera.errors.CholeraError
        No calibration ``name`` in the store.
    """
    table = _posterior(store, name, storage_options)[3]
    return _columns(table) if as_dict else table


def simulations(store: str, name: str = DEFAULT_NAME, storage_options: dict | None = None, as_dict: bool = False):
    """All committed simulations of a calibration, one row each, read from the store.

    Parameters
    ----------
    store, name, storage_options, as_dict
        As in :func:`summary`.

    Returns
    -------
    pandas.DataFrame or dict
        Columns of :mod:`cholera.sim` (``sim, sim_index, seed, <parameters>, log_prior, ll,
        locations, days, n_iter, model_s, wall_s, started_at, host``); the list columns
        ``ll_iter`` and ``iteration_seeds`` are dropped.

    Raises
    ------
    cholera.errors.CholeraError
        No calibration ``name`` in the store.
    """
    _, sims = load_calibration(store, name, storage_options)
    sims = sims.drop(columns=[c for c in ("ll_iter", "iteration_seeds") if c in sims.columns])
    return _columns(sims) if as_dict else sims


def report(store: str, name: str = DEFAULT_NAME, storage_options: dict | None = None) -> str:
    """The text summary ``cholera summary`` prints (failures by class, ESS, posterior, predictive check).

    Parameters
    ----------
    store, name, storage_options
        As in :func:`summary`.

    Returns
    -------
    str
        Lines of text (``cat()`` it in R).
    """
    files, meta, sims, table = _posterior(store, name, storage_options)
    return render_summary(meta, sims, table, files.read_frame("ppc.parquet"), where=files.dir)


def locations() -> list[str]:
    """ISO3 codes that can be calibrated.

    Returns
    -------
    list of str
        The bundled laser-cholera locations, in file order.
    """
    return available_locations()

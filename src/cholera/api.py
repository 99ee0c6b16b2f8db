"""Plain-types API for other languages (R through reticulate) and notebooks.

Arguments are str / int / float / list / dict; results are dicts of plain values or pandas
DataFrames (reticulate turns them into R lists and data.frames). From R::

    cholera <- reticulate::import("cholera.api")
    res <- cholera$calibrate(locations = c("ETH", "MOZ"), sims = 200L, store = "/data/calib",
                             days = 60L, seed = 1L)
    post <- as.data.frame(cholera$summary("/data/calib", as_dict = TRUE))
"""

from __future__ import annotations

import os
import sysconfig
from typing import Any, Sequence

import pandas as pd

from cholera.calibrate import calibrate as _calibrate
from cholera.config import DEFAULT_NAME, CalibrationConfig
from cholera.model import available_locations
from cholera.outputs import load_calibration
from cholera.posterior import posterior_table
from cholera.priors import Priors

__all__ = ["calibrate", "summary", "simulations", "locations"]


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


def _as_int(value):
    # R numerics arrive as floats (20 rather than 20L); accept whole numbers
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def calibrate(
    locations: Sequence[str] | str,
    sims: int,
    store: str,
    days: int | None = None,
    seed: int = 0,
    n_iter: int = 3,
    batch: int = 100,
    priors: str | None = None,
    ess_target: float = 100.0,
    top_k: int = 20,
    patience: int = 3,
    tol: float = 1.0,
    n_ppc: int = 4,
    name: str = DEFAULT_NAME,
    cluster: str | None = None,
    workers: int | None = None,
    storage_options: dict | None = None,
    progress: str = "none",
) -> dict[str, Any]:
    """Run or resume a calibration (see :class:`cholera.config.CalibrationConfig` for each argument).

    Returns a dict: ``study_url``, ``stop_reason``, ``sims_submitted``, ``done``, ``failed``,
    ``resumed``, ``executed``, ``ess``, ``best_ll``, ``posterior`` (list of row dicts),
    ``files`` (name -> URL of calibration.json, sims.parquet, posterior.csv, ppc.png ...),
    ``trace`` and ``elapsed_s``.
    """
    if isinstance(locations, str):
        locations = locations.split(",")
    if "R_HOME" in os.environ:  # called through reticulate
        _prefer_own_libpython()
    cfg = CalibrationConfig(
        locations=tuple(locations),
        sims=_as_int(sims),
        store=store,
        days=_as_int(days),
        seed=_as_int(seed),
        n_iter=_as_int(n_iter),
        batch=_as_int(batch),
        priors=priors,
        ess_target=ess_target,
        top_k=_as_int(top_k),
        patience=_as_int(patience),
        tol=tol,
        n_ppc=_as_int(n_ppc),
        name=name,
        cluster=cluster,
        workers=_as_int(workers),
        storage_options=dict(storage_options or {}),
        progress=progress,
    )
    return _calibrate(cfg)


def _columns(frame: pd.DataFrame) -> dict[str, list]:
    # {column: list of plain values}: R receives a named list, as.data.frame() makes the table
    return {str(c): frame[c].astype(object).where(frame[c].notna(), None).tolist() for c in frame.columns}


def summary(store: str, name: str = DEFAULT_NAME, storage_options: dict | None = None, as_dict: bool = False):
    """Posterior table of a calibration in ``store``: one row per parameter (and location).

    Returns a pandas DataFrame, or with ``as_dict=True`` a ``{column: list}`` dict (for R:
    ``as.data.frame(cholera$summary(store, as_dict = TRUE))``; reticulate up to 1.3x does not
    convert pandas 3 DataFrames).
    """
    meta, sims = load_calibration(store, name, storage_options)
    priors = Priors.from_dict(meta["priors"], source=f"{store}/{name}/cholera/calibration.json")
    settings = meta["settings"]
    table = posterior_table(sims, priors, settings["locations"], settings.get("temperature", 1.0))
    return _columns(table) if as_dict else table


def simulations(store: str, name: str = DEFAULT_NAME, storage_options: dict | None = None, as_dict: bool = False):
    """All committed simulation rows, one per simulation (list columns dropped); ``as_dict`` as in :func:`summary`."""
    _, sims = load_calibration(store, name, storage_options)
    sims = sims.drop(columns=[c for c in ("ll_iter", "iteration_seeds") if c in sims.columns])
    return _columns(sims) if as_dict else sims


def locations() -> list[str]:
    """ISO3 codes that can be calibrated (the bundled laser-cholera locations)."""
    return available_locations()

"""Thin wrapper around laser-cholera: build inputs for some locations, run iterations, return arrays.

The laser-cholera ``Model`` object must never leave this module: it pickles but does not
unpickle (its ``LaserFrame`` members recurse in ``__getattr__``), so returning it from a Dask
task fails with "Failed to deserialize". Everything returned here is a plain numpy array.

Shortening a run: laser-cholera's ``sim_duration`` helper changes the dates but not the
per-day series, which then fail validation; :func:`build_inputs` instead trims every per-day
series (``b_jt``, ``d_jt``, ``nu_1_jt``, ``nu_2_jt``, ``psi_jt``, ``mu_jt``, observed
``reported_cases`` / ``reported_deaths``) to the first ``days`` days and moves ``date_stop``.

Subsetting locations: every per-location vector and per-location-by-day matrix of the bundled
parameter set is indexed by the chosen locations (in the order given), and the
``epidemic_peaks`` table is filtered. Mobility between the chosen locations is recomputed by
laser-cholera from their coordinates, so a two-country model couples only those two.
"""

from __future__ import annotations

import gc
import json
import time
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from cholera.errors import CholeraError, UnknownLocationError

__all__ = [
    "ModelInputs",
    "SimulatedSeries",
    "default_parameters",
    "available_locations",
    "observed_locations",
    "build_inputs",
    "CALIBRATION_CONTROLLED",
    "check_overrides",
    "apply_overrides",
    "iteration_seeds",
    "run_iterations",
]

#: per-location-by-day series in the bundled file, stored (locations, days)
DAILY_SERIES = ("b_jt", "d_jt", "nu_1_jt", "nu_2_jt", "psi_jt", "mu_jt", "reported_cases", "reported_deaths")


def _default_parameters_path() -> Path:
    # located through the package metadata, so the driver does not import laser-cholera and
    # numba (about 250 MB and 3 s) just to read the bundled parameters
    from importlib.metadata import PackageNotFoundError, distribution

    try:
        path = Path(str(distribution("laser-cholera").locate_file("laser/cholera/metapop/data/default_parameters.json")))
        if path.is_file():
            return path
    except PackageNotFoundError:
        pass
    import laser.cholera.metapop as metapop

    return Path(metapop.__file__).parent / "data" / "default_parameters.json"


@lru_cache(maxsize=1)
def default_parameters() -> Mapping[str, Any]:
    """The bundled laser-cholera parameter set (40 African countries, 2023-02-01..2026-03-31).

    Cached per process; callers must not mutate it (``build_inputs`` copies what it changes).

    Returns
    -------
    mapping
        laser-cholera 0.16.1's ``metapop/data/default_parameters.json``.

    References
    ----------
    laser-cholera: https://pypi.org/project/laser-cholera/
    """
    with _default_parameters_path().open() as fh:
        return json.load(fh)


def available_locations() -> list[str]:
    """ISO3 codes of the locations in the bundled parameter set.

    Returns
    -------
    list of str
        In file order.
    """
    return list(default_parameters()["location_name"])


def _as_observed(rows) -> np.ndarray:
    """Observed counts as float (people/day) with NaN for missing ("NA"/null) entries."""
    return np.array([[np.nan if v in ("NA", None) else float(v) for v in row] for row in rows], dtype=float)


def observed_locations(locations: Sequence[str]) -> dict[str, int]:
    """Number of days with an observed reported-case count, per location.

    Parameters
    ----------
    locations : sequence of str
        ISO3 codes.

    Returns
    -------
    dict of str to int
        Days with an observation over the whole bundled period.
    """
    params = default_parameters()
    names = list(params["location_name"])
    return {iso: int(np.sum(~np.isnan(_as_observed([params["reported_cases"][names.index(iso)]])))) for iso in locations}


@dataclass(frozen=True)
class ModelInputs:
    """Parameter set for a subset of locations and period, plus the observed series.

    Attributes
    ----------
    locations : tuple of str
        ISO3 codes, in model order.
    days : int
        Number of simulated days (ticks).
    date_start : datetime.date
        First simulated day.
    params : dict
        laser-cholera parameter dict for these locations and days (JSON-able lists).
    observed_cases : numpy.ndarray, shape (locations, days)
        Observed reported cases (people/day), NaN where missing.
    observed_deaths : numpy.ndarray, shape (locations, days)
        Observed reported deaths (people/day), NaN where missing.
    """

    locations: tuple[str, ...]
    days: int
    date_start: date
    params: dict
    observed_cases: np.ndarray
    observed_deaths: np.ndarray

    def dates(self) -> np.ndarray:
        """Calendar day of every tick (numpy datetime64[D])."""
        return np.datetime64(self.date_start, "D") + np.arange(self.days)


def build_inputs(locations: Sequence[str], days: int | None = None, base: Mapping[str, Any] | None = None) -> ModelInputs:
    """Parameter dict for ``locations`` (ISO3 codes), trimmed to the first ``days`` days.

    Parameters
    ----------
    locations : sequence of str
        ISO3 codes present in ``base["location_name"]``; order is kept; no duplicates.
    days : int, optional
        Number of days to simulate from ``date_start`` (``None``: the whole period).
    base : mapping, optional
        laser-cholera parameter dict (default: the bundled one).

    Returns
    -------
    ModelInputs

    Raises
    ------
    UnknownLocationError
        A code is not in the parameter set.
    CholeraError
        Empty or duplicate locations, or ``days`` outside 1..(full period).
    """
    base = base if base is not None else default_parameters()
    all_names = list(base["location_name"])
    locations = [str(x).strip().upper() for x in locations]
    if not locations or any(not x for x in locations):
        raise CholeraError("no locations given (use ISO3 codes such as ETH,MOZ)")
    unknown = [x for x in locations if x not in all_names]
    if unknown:
        raise UnknownLocationError(
            f"unknown location(s) {', '.join(unknown)}; known ISO3 codes: {', '.join(all_names)}"
        )
    if len(set(locations)) != len(locations):
        raise CholeraError(f"duplicate locations in {','.join(locations)}")
    start = date.fromisoformat(str(base["date_start"])[:10])
    full_days = (date.fromisoformat(str(base["date_stop"])[:10]) - start).days + 1
    if days is None:
        days = full_days
    if isinstance(days, bool) or not isinstance(days, (int, np.integer)) or not 1 <= days <= full_days:
        raise CholeraError(f"days must be an integer in 1..{full_days}, got {days!r}")
    days = int(days)

    idx = [all_names.index(x) for x in locations]
    n_all = len(all_names)
    params: dict[str, Any] = {}
    for key, value in base.items():
        if key in DAILY_SERIES:
            params[key] = [list(value[i][:days]) for i in idx]
        elif key == "location_name":
            params[key] = list(locations)
        elif key == "epidemic_peaks":
            params[key] = [row for row in value if row.get("iso_code") in locations]
        elif isinstance(value, list) and len(value) == n_all and key != "nu_jt_sources":
            params[key] = [value[i] for i in idx]
        else:
            params[key] = value
    params["date_stop"] = (start + timedelta(days=days - 1)).isoformat()
    return ModelInputs(
        locations=tuple(locations),
        days=days,
        date_start=start,
        params=params,
        observed_cases=_as_observed(params["reported_cases"]),
        observed_deaths=_as_observed(params["reported_deaths"]),
    )


#: parameters the calibration sets itself; a ``config`` may not override them
CALIBRATION_CONTROLLED = {
    "location_name": "set by the calibrated locations",
    "date_start": "the bundled start date is used",
    "date_stop": "set by days",
    "seed": "each iteration's seed derives from the calibration seed",
    "reported_cases": "the observed data are the bundled surveillance series",
    "reported_deaths": "the observed data are the bundled surveillance series",
}


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool) and np.isfinite(value)


def check_overrides(overrides: Mapping[str, Any], base: Mapping[str, Any], n_all: int, locations: Sequence[str],
                    source: str = "config") -> None:
    """Check laser-cholera parameter overrides against the bundled parameter set.

    Parameters
    ----------
    overrides : mapping
        Parameter name -> a number (scalar parameters; for a per-location parameter, the same
        value everywhere) or a sequence of one number per calibrated location.
    base : mapping
        The bundled laser-cholera parameter set (all locations).
    n_all : int
        Number of locations in ``base``.
    locations : sequence of str
        Calibrated ISO3 codes.
    source : str, optional
        Name of the input in messages.

    Raises
    ------
    CholeraError
        One line naming ``<source>: <parameter>`` and what was expected; values are not echoed.
    """
    for name, value in (overrides or {}).items():
        where = f"{source}: {name}"
        if name in CALIBRATION_CONTROLLED:
            raise CholeraError(f"{where}: cannot be set from a config ({CALIBRATION_CONTROLLED[name]})")
        if name not in base:
            raise CholeraError(f"{where}: not a laser-cholera parameter")
        default = base[name]
        per_location = (isinstance(default, list) and len(default) == n_all and name not in DAILY_SERIES
                        and all(_is_number(v) for v in default))
        scalar = _is_number(default)
        if not (per_location or scalar):
            raise CholeraError(f"{where}: only scalar and per-location parameters can be set from a config "
                               f"(this one is a table or a location-by-day series)")
        if scalar or not isinstance(value, (list, tuple, np.ndarray)):
            if not _is_number(value):
                raise CholeraError(f"{where}: expected a finite number" + (
                    f" or {len(locations)} numbers (one per location)" if per_location else ""))
            continue
        if len(value) != len(locations) or not all(_is_number(v) for v in value):
            raise CholeraError(f"{where}: expected {len(locations)} finite numbers (one per location: "
                               f"{','.join(locations)}), got {len(value)} values")


def apply_overrides(params: Mapping[str, Any], overrides: Mapping[str, Any] | None) -> dict:
    """A copy of a parameter dict (for the calibrated locations) with overrides applied.

    Parameters
    ----------
    params : mapping
        laser-cholera parameters for the calibrated locations (:attr:`ModelInputs.params`).
    overrides : mapping or None
        As checked by :func:`check_overrides`: a number on a per-location parameter sets every
        location.

    Returns
    -------
    dict
        New parameter dict; ``params`` is not changed.
    """
    out = dict(params)
    for name, value in (overrides or {}).items():
        if isinstance(out[name], list) and not isinstance(value, (list, tuple)):
            out[name] = [float(value)] * len(out[name])
        else:
            out[name] = [float(v) for v in value] if isinstance(value, (list, tuple)) else float(value)
    return out


def iteration_seeds(seed: int, n_iter: int) -> list[int]:
    """Seeds of ``n_iter`` stochastic iterations derived from one simulation seed.

    ``numpy.random.SeedSequence(seed).spawn(n_iter)``, each child reduced to one uint32 word:
    independent streams, a function of ``seed`` and the iteration index only.

    Parameters
    ----------
    seed : int
        The simulation's seed (``ctx.seed``).
    n_iter : int
        Number of iterations (>= 1).

    Returns
    -------
    list of int
        One uint32 seed per iteration.

    Raises
    ------
    CholeraError
        ``n_iter`` < 1.
    """
    if n_iter < 1:
        raise CholeraError(f"n_iter must be >= 1, got {n_iter}")
    return [int(child.generate_state(1, dtype=np.uint32)[0]) for child in np.random.SeedSequence(int(seed)).spawn(n_iter)]


@dataclass(frozen=True)
class SimulatedSeries:
    """Simulated reported counts of all iterations.

    Attributes
    ----------
    seeds : tuple of int
        Model seed of each iteration.
    reported_cases : numpy.ndarray, shape (iterations, locations, days)
        Reported cases (people/day), after ``rho`` and the reporting lag.
    reported_deaths : numpy.ndarray, shape (iterations, locations, days)
        Reported deaths (people/day), after ``rho_deaths`` and the reporting lag.
    """

    seeds: tuple[int, ...]
    reported_cases: np.ndarray
    reported_deaths: np.ndarray


class _Collector:
    """Frees a finished model's reference cycles without letting collection dominate short runs.

    The young generations are collected after every model run (cheap); a full collection,
    whose cost grows with the worker's whole heap (0.1-0.9 s on a worker with pandas and
    distributed loaded), only once the model time since the last one is ``ratio`` times that
    collection's duration, so it stays within ~1/ratio of the time (a full-length run still gets
    one after nearly every run; 10,000 short runs no longer spend most of their time in ``gc``).
    """

    def __init__(self, ratio: float = 20.0):
        self.ratio = ratio
        self.model_s = 0.0
        self.full_s = 0.0

    def after(self, model_s: float) -> None:
        self.model_s += model_s
        if self.model_s >= self.ratio * self.full_s:
            t0 = time.perf_counter()
            gc.collect()
            self.full_s = time.perf_counter() - t0
            self.model_s = 0.0
        else:
            gc.collect(1)


_collector = _Collector()


def _run_once(params: dict, seed: int) -> tuple[np.ndarray, np.ndarray]:
    from laser.cholera.metapop.model import run_model

    t0 = time.perf_counter()
    model = run_model(dict(params), seed=int(seed), quiet=True)
    try:
        cases = np.array(model.results.reported_cases, dtype=np.int64, copy=True)
        deaths = np.array(model.results.reported_deaths, dtype=np.int64, copy=True)
    finally:
        del model
        _collector.after(time.perf_counter() - t0)
    return cases, deaths


def run_iterations(params: dict, seeds: Sequence[int]) -> SimulatedSeries:
    """Run laser-cholera once per seed with the same parameter dict; return only arrays.

    Parameters
    ----------
    params : dict
        laser-cholera parameter dict (:attr:`ModelInputs.params` with the draw applied).
    seeds : sequence of int
        One model seed per iteration.

    Returns
    -------
    SimulatedSeries

    Raises
    ------
    AssertionError
        laser-cholera's parameter validation rejects ``params`` (e.g. a draw outside its valid
        range); other exceptions of the model propagate unchanged too.
    """
    cases, deaths = [], []
    for seed in seeds:
        c, d = _run_once(params, seed)
        cases.append(c)
        deaths.append(d)
    return SimulatedSeries(tuple(int(s) for s in seeds), np.stack(cases), np.stack(deaths))

"""Settings of one calibration, checked up front with messages that name the field."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from cholera.errors import CholeraError
from cholera.likelihood import LikelihoodSettings

__all__ = ["CalibrationConfig", "DEFAULT_NAME"]

DEFAULT_NAME = "cholera"


def _int(name: str, value: Any, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != int(value) or value < minimum:
        raise CholeraError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def _float(name: str, value: Any, *, positive: bool = False, minimum: float | None = None) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise CholeraError(f"{name} must be a finite number, got {value!r}")
    if positive and not value > 0:
        raise CholeraError(f"{name} must be > 0, got {value!r}")
    if minimum is not None and value < minimum:
        raise CholeraError(f"{name} must be >= {minimum}, got {value!r}")
    return float(value)


@dataclass(frozen=True)
class CalibrationConfig:
    """What to calibrate, where, and when to stop.

    Attributes:
        locations: ISO3 codes (bundled laser-cholera locations).
        sims: cap on the number of simulations (parameter draws); the calibration stops earlier
            when the stopping rule holds at a batch boundary.
        store: runfleet store (local directory or fsspec URL such as ``s3://bucket/prefix``).
        days: simulated days from 2023-02-01 (``None``: the whole bundled period, 1155 days).
        seed: calibration seed; every simulation's seed derives from it and the run name.
        n_iter: stochastic iterations per simulation (collapsed by log-mean-exp).
        batch: simulations per batch; the stopping rule is evaluated when a whole batch (and all
            before it) has finished. Pick at least twice the worker count.
        lookahead: batches submitted beyond the one being waited for (keeps workers busy).
        priors: path of a priors YAML (``None``: the packaged default priors).
        ess_target: stop when the effective sample size of the importance weights reaches it.
        top_k: size of the best-fit set (simulations with the highest log-likelihood).
        patience: stop when the best-fit set's mean log-likelihood improved by less than ``tol``
            over the last ``patience`` batches (0 disables this rule).
        tol: improvement threshold of the plateau rule (natural-log units).
        temperature: likelihood power of the importance weights (1 = posterior).
        n_ppc: posterior-predictive draws (0 disables the check and the plot).
        name: runfleet study name (records under ``<store>/<name>/``).
        cluster: runfleet cluster profile name (``None``: embedded local cluster).
        workers: worker processes for the local cluster (or the adapt maximum of a profile).
        storage_options: fsspec options for the store (credentials, endpoint).
        likelihood: observation-model settings.
        progress: ``auto`` | ``bar`` | ``log`` | ``none``.
    """

    locations: tuple[str, ...]
    sims: int
    store: str
    days: int | None = None
    seed: int = 0
    n_iter: int = 3
    batch: int = 100
    lookahead: int = 1
    priors: str | None = None
    ess_target: float = 100.0
    top_k: int = 20
    patience: int = 3
    tol: float = 1.0
    temperature: float = 1.0
    n_ppc: int = 4
    name: str = DEFAULT_NAME
    cluster: str | None = None
    workers: int | None = None
    storage_options: dict = field(default_factory=dict)
    likelihood: LikelihoodSettings = field(default_factory=LikelihoodSettings)
    progress: str = "auto"

    def __post_init__(self) -> None:
        locations = self.locations
        if isinstance(locations, str):
            locations = locations.split(",")
        locations = tuple(str(x).strip().upper() for x in (locations or ()) if str(x).strip())
        if not locations:
            raise CholeraError("locations: give at least one ISO3 code, e.g. ETH,MOZ")
        object.__setattr__(self, "locations", locations)
        object.__setattr__(self, "sims", _int("sims (number of simulations)", self.sims, 1))
        if not isinstance(self.store, str) or not self.store:
            raise CholeraError(f"store must be a directory or URL, got {self.store!r}")
        if self.days is not None:
            object.__setattr__(self, "days", _int("days", self.days, 1))
        object.__setattr__(self, "seed", _int("seed", self.seed, 0))
        object.__setattr__(self, "n_iter", _int("n_iter", self.n_iter, 1))
        object.__setattr__(self, "batch", _int("batch", self.batch, 1))
        object.__setattr__(self, "lookahead", _int("lookahead", self.lookahead, 0))
        object.__setattr__(self, "ess_target", _float("ess_target", self.ess_target, positive=True))
        object.__setattr__(self, "top_k", _int("top_k", self.top_k, 1))
        object.__setattr__(self, "patience", _int("patience", self.patience, 0))
        object.__setattr__(self, "tol", _float("tol", self.tol, minimum=0.0))
        object.__setattr__(self, "temperature", _float("temperature", self.temperature, positive=True))
        object.__setattr__(self, "n_ppc", _int("n_ppc", self.n_ppc, 0))
        if self.workers is not None:
            object.__setattr__(self, "workers", _int("workers", self.workers, 1))
        if not isinstance(self.name, str) or not self.name or "/" in self.name:
            raise CholeraError(f"name must be a non-empty study name without '/', got {self.name!r}")
        if self.progress not in ("auto", "bar", "log", "none"):
            raise CholeraError(f"progress must be auto, bar, log or none, got {self.progress!r}")
        if isinstance(self.likelihood, dict):
            object.__setattr__(self, "likelihood", LikelihoodSettings.from_dict(self.likelihood))

    @property
    def batch_size(self) -> int:
        """Batch size actually used (never more than the cap)."""
        return min(self.batch, self.sims)

    def settings(self) -> dict:
        """The settings that define the calibration's results (JSON-able, no credentials)."""
        return {
            "name": self.name,
            "locations": list(self.locations),
            "days": self.days,
            "seed": self.seed,
            "sims": self.sims,
            "n_iter": self.n_iter,
            "batch": self.batch_size,
            "lookahead": self.lookahead,
            "ess_target": self.ess_target,
            "top_k": self.top_k,
            "patience": self.patience,
            "tol": self.tol,
            "temperature": self.temperature,
            "n_ppc": self.n_ppc,
            "likelihood": self.likelihood.to_dict(),
        }

"""Settings of one calibration: a pydantic model checked up front, errors naming the field.

:class:`CalibrationConfig` is built by the CLI (``cholera calibrate``), by :mod:`cholera.api`
(Python, and R through reticulate, where integers may arrive as whole floats) and by tests.
Bad settings raise :class:`cholera.errors.ConfigError` with one line naming the field and what
was expected (:func:`cholera.validation.one_line`); nothing has been started or written then.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, Mapping

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, field_validator

from cholera.errors import ConfigError
from cholera.likelihood import LikelihoodSettings
from cholera.validation import one_line

__all__ = ["CalibrationConfig", "DEFAULT_NAME", "PROGRESS_MODES"]

DEFAULT_NAME = "cholera"
PROGRESS_MODES = ("auto", "bar", "log", "none")


def _whole(value: Any) -> Any:
    # R numerics arrive as floats (20 rather than 20L): accept whole numbers as integers
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _count(minimum: int, **kw):
    """An integer field >= ``minimum`` (strict: no text, no bool; whole floats accepted)."""
    return Annotated[int, BeforeValidator(_whole), Field(strict=True, ge=minimum, **kw)]


def _number(**bounds):
    """A finite float field with bounds (ints accepted)."""
    return Annotated[float, Field(strict=False, allow_inf_nan=False, **bounds)]


def _likelihood(value: Any) -> Any:
    if value is None:
        return LikelihoodSettings()
    if isinstance(value, Mapping):
        try:
            return LikelihoodSettings.from_dict(dict(value))
        except (TypeError, ValueError) as exc:
            raise ValueError(str(exc).removeprefix("likelihood: ")) from None
    return value


class CalibrationConfig(BaseModel):
    """What to calibrate, where, and when to stop.

    Parameters
    ----------
    locations : tuple of str
        ISO3 codes (bundled laser-cholera locations); a comma-separated string is split.
    sims : int
        Cap on the number of simulations (parameter draws); the calibration stops earlier when
        the stopping rule holds at a batch boundary.
    store : str
        runfleet store (local directory or fsspec URL such as ``s3://bucket/prefix``).
    days : int, optional
        Simulated days from 2023-02-01 (``None``: the whole bundled period, 1155 days).
    seed : int
        Calibration seed; every simulation's seed derives from it and the run name.
    n_iter : int
        Stochastic iterations per simulation (collapsed by log-mean-exp).
    batch : int
        Simulations per batch; the stopping rule is evaluated when a whole batch (and all
        before it) has finished. Pick at least twice the worker count.
    lookahead : int
        Batches submitted beyond the one being waited for (keeps workers busy).
    priors : str or dict, optional
        Path of a priors YAML, a mapping in that file's form (``{"parameters": ...}``) or a
        MOSAIC-shaped priors list (``parameters_global`` / ``parameters_location``, see
        :mod:`cholera.mosaic`); ``None``: the packaged default priors.
    ess_target : float
        Stop when the effective sample size of the importance weights reaches it (> 0).
    top_k : int
        Size of the best-fit set (simulations with the highest log-likelihood).
    patience : int
        Stop when the best-fit set's mean log-likelihood improved by less than ``tol`` over the
        last ``patience`` batches (0 disables this rule).
    tol : float
        Improvement threshold of the plateau rule (natural-log units, >= 0).
    temperature : float
        Likelihood power of the importance weights (1 = posterior, > 0).
    n_ppc : int
        Distinct posterior-predictive draws (0 disables the check and the plot).
    name : str
        runfleet study name (records under ``<store>/<name>/``).
    cluster : str, optional
        runfleet cluster profile name (``None``: embedded local cluster).
    workers : int, optional
        Worker processes for the local cluster (or the adapt maximum of a profile).
    storage_options : dict
        fsspec options for the store (credentials, endpoint); never printed or stored.
    likelihood : LikelihoodSettings or dict
        Observation-model settings.
    progress : {"auto", "bar", "log", "none"}
        How progress is shown.
    model_overrides : dict
        laser-cholera parameter values replacing the bundled ones before priors are applied
        (scalars, or one value per location); checked against the model by
        :func:`cholera.model.check_overrides`. Usually from an R ``config`` list.

    Raises
    ------
    ConfigError
        A setting is invalid (one line naming the field).

    Examples
    --------
    >>> CalibrationConfig(locations="ETH,MOZ", sims=200, store="/data/calib", days=60).batch_size
    100
    """

    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=True)

    locations: Annotated[tuple[str, ...], Field(json_schema_extra={"expected": "one or more ISO3 codes"})]
    sims: _count(1, title="sims (number of simulations)")
    store: Annotated[str, Field(strict=True, min_length=1, json_schema_extra={"expected": "a directory or URL"})]
    days: _count(1) | None = None
    seed: _count(0) = 0
    n_iter: _count(1) = 3
    batch: _count(1) = 100
    lookahead: _count(0) = 1
    priors: Annotated[str | dict | None, Field(json_schema_extra={
        "expected": "a priors file path or a priors list (parameters, or parameters_global/parameters_location)"})] = None
    ess_target: _number(gt=0) = 100.0
    top_k: _count(1) = 20
    patience: _count(0) = 3
    tol: _number(ge=0) = 1.0
    temperature: _number(gt=0) = 1.0
    n_ppc: _count(0) = 4
    name: Annotated[str, Field(strict=True, min_length=1, pattern=r"^[^/]+$",
                               json_schema_extra={"expected": "a non-empty study name without '/'"})] = DEFAULT_NAME
    cluster: Annotated[str | None, Field(json_schema_extra={"expected": "a cluster profile name"})] = None
    workers: _count(1) | None = None
    storage_options: Annotated[dict, Field(json_schema_extra={"expected": "a mapping of fsspec options"})] = {}
    likelihood: Annotated[LikelihoodSettings, BeforeValidator(_likelihood)] = LikelihoodSettings()
    progress: Annotated[Literal["auto", "bar", "log", "none"],
                        Field(json_schema_extra={"expected": "auto, bar, log or none"})] = "auto"
    model_overrides: Annotated[dict, Field(json_schema_extra={"expected": "a mapping of laser-cholera parameters"})] = {}

    def __init__(self, _source: str = "", **data: Any) -> None:
        try:
            super().__init__(**data)
        except ValidationError as exc:
            raise ConfigError(one_line(exc, type(self), _source)) from None

    @field_validator("locations", mode="before")
    @classmethod
    def _split_locations(cls, value: Any) -> tuple[str, ...]:
        if isinstance(value, str):
            value = value.split(",")
        if value is None:
            value = ()
        if not isinstance(value, (list, tuple)):
            raise ValueError("give at least one ISO3 code, e.g. ETH,MOZ")
        codes = tuple(str(x).strip().upper() for x in value if str(x).strip())
        if not codes:
            raise ValueError("give at least one ISO3 code, e.g. ETH,MOZ")
        return codes

    @property
    def batch_size(self) -> int:
        """Batch size actually used (never more than the cap)."""
        return min(self.batch, self.sims)

    def settings(self) -> dict:
        """The settings that define the calibration's results (JSON-able, no credentials)."""
        out = {
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
        if self.model_overrides:
            out["model_overrides"] = dict(self.model_overrides)
        return out

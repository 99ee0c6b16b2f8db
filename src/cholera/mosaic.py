"""MOSAIC-shaped ``config`` and ``priors`` (as R lists arrive through reticulate) -> calibration inputs.

MOSAIC (the R package around laser-cholera) holds a calibration's inputs in two R lists:

``config``
    laser-cholera's parameter set: ``location_name`` (ISO3 codes), ``date_start``,
    ``date_stop`` and the model parameters (``rho``, ``beta_j0_hum``...). Here the bundled
    laser-cholera parameter set is the base (it is MOSAIC's default config); a ``config`` gives
    the locations, optionally ``date_stop`` (the period, from the bundled ``date_start``) and
    any scalar or per-location parameters whose values should replace the bundled ones.

``priors``
    ``list(metadata = ..., parameters_global = ..., parameters_location = ...)``: a global
    entry is ``list(description, distribution, parameters = list(<hyperparameters>))``; a
    location entry is ``list(description, location = list(ETH = <entry>, MOZ = <entry>))``.
    Entries for locations that are not calibrated are ignored; every calibrated location needs
    one.

Distributions and hyperparameters (MOSAIC's names -> :data:`cholera.priors.DISTRIBUTIONS`):
``beta(shape1, shape2)``, ``gamma(shape, rate)``, ``lognormal(meanlog, sdlog)``,
``normal(mean, sd)``, ``truncnorm(mean, sd, a, b)`` (``a``/``b`` the bounds),
``uniform(min, max)``. Other MOSAIC distributions (``gompertz``...) are refused with a message
naming the field.

Both are validated by pydantic models; a bad input raises :class:`cholera.errors.ConfigError`
with one line naming the field (``priors: parameters_global.rho: parameters.shape2: missing
(required by beta)``).

References
----------
MOSAIC-pkg, ``priors_default`` and ``get_location_config``:
https://institutefordiseasemodeling.github.io/MOSAIC-pkg/
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any, Mapping, Sequence

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from cholera.errors import ConfigError
from cholera.priors import Distribution
from cholera.validation import one_line

__all__ = ["MOSAIC_DISTRIBUTIONS", "MosaicPrior", "MosaicLocationPrior", "MosaicPriors", "MosaicConfig",
           "priors_from_mosaic", "is_mosaic_priors", "config_from_mosaic"]

#: MOSAIC distribution -> (our distribution, {MOSAIC hyperparameter: our argument}, optional MOSAIC names)
MOSAIC_DISTRIBUTIONS: dict[str, tuple[str, dict[str, str], tuple[str, ...]]] = {
    "beta": ("beta", {"shape1": "a", "shape2": "b"}, ()),
    "gamma": ("gamma", {"shape": "shape", "rate": "rate"}, ()),
    "lognormal": ("lognormal", {"meanlog": "meanlog", "sdlog": "sdlog"}, ()),
    "normal": ("normal", {"mean": "mean", "sd": "sd"}, ()),
    "truncnorm": ("truncnorm", {"mean": "mean", "sd": "sd", "a": "low", "b": "high"}, ("a", "b")),
    "uniform": ("uniform", {"min": "low", "max": "high"}, ()),
}

_FORBID = ConfigDict(extra="forbid", frozen=True)


class MosaicPrior(BaseModel):
    """One MOSAIC prior: ``list(description, distribution, parameters = list(...))``.

    Parameters
    ----------
    description : str, optional
        Free text.
    distribution : str
        One of :data:`MOSAIC_DISTRIBUTIONS`.
    parameters : dict of str to float
        The distribution's hyperparameters by MOSAIC's names.
    """

    model_config = _FORBID

    description: str | None = None
    distribution: str
    parameters: dict[str, float] = Field(default_factory=dict)

    @field_validator("distribution")
    @classmethod
    def _known(cls, value: str) -> str:
        if value not in MOSAIC_DISTRIBUTIONS:
            raise ValueError(f"unsupported distribution {value!r} (supported: {', '.join(MOSAIC_DISTRIBUTIONS)})")
        return value

    @model_validator(mode="after")
    def _hyperparameters(self) -> "MosaicPrior":
        self.to_distribution()
        return self

    def to_distribution(self) -> Distribution:
        """The equivalent :class:`cholera.priors.Distribution` (raises ``ValueError`` in MOSAIC's terms)."""
        ours, names, optional = MOSAIC_DISTRIBUTIONS[self.distribution]
        missing = [n for n in names if n not in self.parameters and n not in optional]
        if missing:
            raise ValueError(f"parameters.{missing[0]}: missing (required by {self.distribution})")
        unknown = sorted(set(self.parameters) - set(names))
        if unknown:
            raise ValueError(f"parameters: unknown hyperparameter(s) {unknown} for {self.distribution} "
                             f"(expected {', '.join(names)})")
        args = {names[k]: float(v) for k, v in self.parameters.items()}
        try:
            return Distribution(ours, args)
        except ValueError as exc:
            back = {v: k for k, v in names.items()}
            raise ValueError("parameters: " + re.sub(r"\b(\w+)\b", lambda m: back.get(m.group(1), m.group(1)),
                                                     str(exc))) from None


class MosaicLocationPrior(BaseModel):
    """A MOSAIC location-specific prior family: ``list(description, location = list(ETH = <prior>, ...))``."""

    model_config = _FORBID

    description: str | None = None
    location: dict[str, MosaicPrior]


class MosaicPriors(BaseModel):
    """MOSAIC's priors list: ``list(metadata, parameters_global, parameters_location)``."""

    model_config = _FORBID

    metadata: dict[str, Any] | None = None
    parameters_global: dict[str, MosaicPrior] = Field(default_factory=dict)
    parameters_location: dict[str, MosaicLocationPrior] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _names(self) -> "MosaicPriors":
        if not self.parameters_global and not self.parameters_location:
            raise ValueError("parameters_global, parameters_location: expected at least one prior")
        both = sorted(set(self.parameters_global) & set(self.parameters_location))
        if both:
            raise ValueError(f"parameters_location.{both[0]}: also in parameters_global (give it once)")
        return self

    def to_dict(self, locations: Sequence[str]) -> dict:
        """The priors in :class:`cholera.priors.Priors` mapping form for the calibrated ``locations``.

        Raises
        ------
        ValueError
            A calibrated location has no prior in a location family.
        """
        params: dict[str, dict] = {}
        for name, prior in self.parameters_global.items():
            params[name] = prior.to_distribution().to_dict()
        for name, family in self.parameters_location.items():
            missing = [iso for iso in locations if iso not in family.location]
            if missing:
                raise ValueError(f"parameters_location.{name}.location.{missing[0]}: missing "
                                 f"(every calibrated location needs a prior)")
            dists = [family.location[iso].to_distribution().to_dict() for iso in locations]
            entry = {**dists[0], "per_location": True}
            others = {iso: d for iso, d in zip(locations[1:], dists[1:]) if d != dists[0]}
            if others:
                entry["by_location"] = others
            params[name] = entry
        return {"parameters": params}


def is_mosaic_priors(data: Any) -> bool:
    """Whether ``data`` is shaped like MOSAIC's priors list rather than a priors file's mapping.

    Parameters
    ----------
    data : object
        A priors argument.

    Returns
    -------
    bool
        True for a mapping with ``parameters_global`` or ``parameters_location``.
    """
    return isinstance(data, Mapping) and ("parameters_global" in data or "parameters_location" in data)


def priors_from_mosaic(data: Mapping[str, Any], locations: Sequence[str], source: str = "priors") -> dict:
    """Validate a MOSAIC priors list and convert it to the priors mapping form.

    Parameters
    ----------
    data : mapping
        The R list as reticulate delivers it (named lists -> dicts, numbers -> floats).
    locations : sequence of str
        Calibrated ISO3 codes.
    source : str, optional
        Name of the input in messages.

    Returns
    -------
    dict
        ``{"parameters": {...}}`` for :meth:`cholera.priors.Priors.from_dict`.

    Raises
    ------
    ConfigError
        One line naming the field.
    """
    data = dict(data)
    families = data.get("parameters_location")
    if isinstance(families, Mapping):  # priors of locations that are not calibrated are not used: not checked
        data["parameters_location"] = {
            name: ({**fam, "location": {iso: p for iso, p in fam["location"].items() if iso in set(locations)}}
                   if isinstance(fam, Mapping) and isinstance(fam.get("location"), Mapping) and fam["location"]
                   else fam)
            for name, fam in families.items()
        }
    try:
        model = MosaicPriors.model_validate(data)
        return model.to_dict(list(locations))
    except ValidationError as exc:
        raise ConfigError(one_line(exc, MosaicPriors, source)) from None
    except ValueError as exc:
        raise ConfigError(f"{source}: {exc}") from None


def _as_date(value: Any) -> dt.date:
    if isinstance(value, (list, tuple)) and len(value) == 1:
        value = value[0]
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, np.datetime64):
        return dt.date.fromisoformat(str(value.astype("datetime64[D]")))
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value.strip()[:10])
        except ValueError:
            pass
    raise ValueError("expected a date (YYYY-MM-DD or an R Date)")


def _numbers(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        value = value.tolist()
    if isinstance(value, (list, tuple)):
        return [float(v) if isinstance(v, (int, float, np.number)) and not isinstance(v, bool) else v for v in value]
    if isinstance(value, (int, float, np.number)) and not isinstance(value, bool):
        return float(value)
    return value


class MosaicConfig(BaseModel):
    """MOSAIC's config list, reduced to what a calibration can take from it.

    Parameters
    ----------
    location_name : tuple of str
        Calibrated ISO3 codes (an R character vector).
    date_start : datetime.date, optional
        Must be the bundled start date (2023-02-01) when given.
    date_stop : datetime.date, optional
        Last simulated day (sets ``days``).
    **parameters
        Scalar or per-location laser-cholera parameters replacing the bundled values (checked
        against the model by :func:`cholera.model.check_overrides` before anything runs).
    """

    model_config = ConfigDict(extra="allow", frozen=True)

    location_name: tuple[str, ...]
    date_start: dt.date | None = None
    date_stop: dt.date | None = None

    @field_validator("location_name", mode="before")
    @classmethod
    def _codes(cls, value: Any) -> tuple[str, ...]:
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, (list, tuple)) or not value or not all(isinstance(v, str) and v.strip() for v in value):
            raise ValueError("expected one or more ISO3 codes (an R character vector)")
        return tuple(v.strip().upper() for v in value)

    @field_validator("date_start", "date_stop", mode="before")
    @classmethod
    def _dates(cls, value: Any) -> Any:
        return None if value is None else _as_date(value)

    def overrides(self) -> dict[str, Any]:
        """The model parameters given besides locations and dates, as plain floats / lists of floats."""
        return {str(k): _numbers(v) for k, v in (self.model_extra or {}).items()}


def config_from_mosaic(data: Mapping[str, Any], bundled_start: dt.date, source: str = "config") -> dict[str, Any]:
    """Validate a MOSAIC config list; return ``locations``, ``days`` and ``model_overrides``.

    Parameters
    ----------
    data : mapping
        The R list as reticulate delivers it.
    bundled_start : datetime.date
        First day of the bundled parameter set (a config may not move it).
    source : str, optional
        Name of the input in messages.

    Returns
    -------
    dict
        ``{"locations": tuple, "days": int or None, "model_overrides": dict}``.

    Raises
    ------
    ConfigError
        One line naming the field.
    """
    if not isinstance(data, Mapping):
        raise ConfigError(f"{source}: expected a named list (location_name, date_stop, model parameters)")
    try:
        cfg = MosaicConfig.model_validate(dict(data))
    except ValidationError as exc:
        raise ConfigError(one_line(exc, MosaicConfig, source)) from None
    if cfg.date_start is not None and cfg.date_start != bundled_start:
        raise ConfigError(f"{source}: date_start: must be {bundled_start.isoformat()} (the start of the bundled data)")
    days = None
    if cfg.date_stop is not None:
        days = (cfg.date_stop - bundled_start).days + 1
        if days < 1:
            raise ConfigError(f"{source}: date_stop: must be on or after {bundled_start.isoformat()}")
    return {"locations": cfg.location_name, "days": days, "model_overrides": cfg.overrides()}

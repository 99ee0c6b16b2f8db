"""pydantic models of a priors file's entries (the format of docs/cholera.md, "Priors").

One model per distribution, selected by ``dist`` (a discriminated union), with exactly its
arguments; an entry adds ``targets``, ``mode``, ``per_location``, ``by_location`` and
``description``. :func:`parse_entry` validates one entry and turns pydantic's errors into the
one-line messages of :class:`cholera.errors.PriorsError`, naming the file and the field
(``priors.yaml: parameters.rho.b: missing (required by beta)``); text values are not echoed.
Range checks that involve several arguments (``high > low``) are made when the
:class:`cholera.priors.Distribution` is built.
"""

from __future__ import annotations

import math
import typing
from typing import Annotated, Any, Literal, Mapping, Union

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StrictBool, TypeAdapter, ValidationError, field_validator

from cholera.errors import PriorsError

__all__ = ["DIST_SPECS", "ENTRY_FIELDS", "EntrySpec", "parse_dist", "parse_entry"]

_Finite = Annotated[float, Field(allow_inf_nan=False)]
_Bound = Annotated[float, Field(allow_inf_nan=True)]  # truncnorm bounds may be +-inf, never NaN


class _Dist(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    def args(self) -> dict[str, float]:
        """The distribution's arguments (without ``dist``)."""
        return {k: float(v) for k, v in self.model_dump(exclude={"dist"}).items()}


class UniformSpec(_Dist):
    """``uniform(low, high)``."""

    dist: Literal["uniform"]
    low: _Finite
    high: _Finite


class LogUniformSpec(_Dist):
    """``loguniform(low, high)``: the log of the value is uniform (``low > 0``)."""

    dist: Literal["loguniform"]
    low: _Finite
    high: _Finite


class NormalSpec(_Dist):
    """``normal(mean, sd)``."""

    dist: Literal["normal"]
    mean: _Finite
    sd: _Finite


class LogNormalSpec(_Dist):
    """``lognormal(meanlog, sdlog)``: the log of the value is normal."""

    dist: Literal["lognormal"]
    meanlog: _Finite
    sdlog: _Finite


class TruncNormSpec(_Dist):
    """``truncnorm(mean, sd, low, high)``: a normal restricted to ``[low, high]`` (bounds optional)."""

    dist: Literal["truncnorm"]
    mean: _Finite
    sd: _Finite
    low: _Bound = -math.inf
    high: _Bound = math.inf

    @field_validator("low", "high")
    @classmethod
    def _not_nan(cls, value: float) -> float:
        if math.isnan(value):
            raise ValueError("must be a number or +-inf")
        return value


class BetaSpec(_Dist):
    """``beta(a, b)``."""

    dist: Literal["beta"]
    a: _Finite
    b: _Finite


class GammaSpec(_Dist):
    """``gamma(shape, rate)`` (mean ``shape / rate``)."""

    dist: Literal["gamma"]
    shape: _Finite
    rate: _Finite


DIST_SPECS = (UniformSpec, LogUniformSpec, NormalSpec, LogNormalSpec, TruncNormSpec, BetaSpec, GammaSpec)
_TAGS = tuple(typing.get_args(spec.model_fields["dist"].annotation)[0] for spec in DIST_SPECS)
_NAMES = ", ".join(_TAGS)

DistSpec = Annotated[Union[DIST_SPECS], Field(discriminator="dist")]  # type: ignore[valid-type]
_ADAPTER = TypeAdapter(DistSpec)


def _as_list(value: Any) -> Any:
    return [value] if isinstance(value, str) else value


class EntrySpec(BaseModel):
    """The non-distribution fields of a priors entry.

    Parameters
    ----------
    targets : list of str, optional
        laser-cholera parameters it acts on (default: the entry's name).
    mode : {"set", "multiply"}
        Replace the target value, or scale the bundled value.
    per_location : bool
        One draw per calibrated location.
    by_location : dict of str to distribution
        Another prior for some locations (only with ``per_location``).
    description : str, optional
        Free text.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    targets: Annotated[list[str], BeforeValidator(_as_list), Field(min_length=1)] | None = None
    mode: Literal["set", "multiply"] = "set"
    per_location: StrictBool = False
    by_location: dict[str, DistSpec] | None = None
    description: str | None = None


#: keys of a priors entry that are not distribution arguments
ENTRY_FIELDS = frozenset(EntrySpec.model_fields)
_EXPECTED = {
    "targets": "expected a list of model parameter names",
    "mode": "expected one of ('set', 'multiply')",
    "per_location": "expected true or false",
    "by_location": "expected a mapping ISO3 -> distribution",
    "description": "expected text",
}


def _message(exc: ValidationError, where: str) -> str:
    """One line for the first error of a distribution or entry model."""
    errors = exc.errors(include_url=False)
    err = errors[0]
    loc = [str(x) for x in err.get("loc", ())]
    kind = err.get("type", "")
    tag_at = next((i for i, part in enumerate(loc) if part in _TAGS), None)
    head = ".".join(loc if tag_at is None else loc[:tag_at])
    base = f"{where}.{head}" if head else where
    if kind == "union_tag_not_found":
        return f"{base}.dist: missing (one of {_NAMES})"
    if kind == "union_tag_invalid":
        return f"{base}.dist: unknown distribution {err.get('ctx', {}).get('tag')!r} (one of {_NAMES})"
    if tag_at is not None:
        dist, argument = loc[tag_at], ".".join(loc[tag_at + 1:])
        extra = sorted(str(e["loc"][-1]) for e in errors if e.get("type") == "extra_forbidden")
        if extra:
            return f"{base}: unknown field(s) {extra} for dist {dist}"
        if kind == "missing":
            return f"{base}.{argument}: missing (required by {dist})"
        if kind == "value_error" and err.get("ctx"):
            return f"{base}.{argument}: {err['ctx']['error']}"
        if kind in ("float_parsing", "float_type"):
            return f"{base}.{argument}: must be a number"
        return f"{base}.{argument}: must be a finite number"
    if len(loc) == 1 and loc[0] in _EXPECTED:
        return f"{base}: {_EXPECTED[loc[0]]}"
    return f"{base}: {err.get('msg', 'invalid')}"


def parse_dist(spec: Mapping[str, Any], where: str) -> tuple[str, dict[str, float]]:
    """Validate a distribution mapping ``{dist: name, <arguments>}``.

    Parameters
    ----------
    spec : mapping
        Only the distribution's keys (entry fields removed).
    where : str
        ``<file>: parameters.<name>``, prefixed to error messages.

    Returns
    -------
    tuple
        ``(name, {argument: value})``.

    Raises
    ------
    PriorsError
        One line naming ``where`` and the field.
    """
    try:
        model = _ADAPTER.validate_python(dict(spec))
    except ValidationError as exc:
        raise PriorsError(_message(exc, where)) from None
    return model.dist, model.args()


def parse_entry(spec: Any, where: str) -> tuple[str, dict[str, float], EntrySpec]:
    """Validate one entry of a priors file.

    Parameters
    ----------
    spec : object
        The entry as read from YAML (a mapping of ``dist``, its arguments and entry fields).
    where : str
        ``<file>: parameters.<name>``, prefixed to error messages.

    Returns
    -------
    tuple
        ``(distribution name, {argument: value}, EntrySpec)``.

    Raises
    ------
    PriorsError
        One line naming ``where`` and the field.
    """
    if not isinstance(spec, Mapping):
        raise PriorsError(f"{where}: expected a mapping with 'dist' and its arguments")
    entry_part = {k: v for k, v in spec.items() if k in ENTRY_FIELDS}
    dist_part = {k: v for k, v in spec.items() if k not in ENTRY_FIELDS}
    name, args = parse_dist(dist_part, where)
    if entry_part.get("by_location") and not entry_part.get("per_location"):
        raise PriorsError(f"{where}.by_location: only allowed with per_location: true")
    try:
        entry = EntrySpec.model_validate(entry_part)
    except ValidationError as exc:
        raise PriorsError(_message(exc, where)) from None
    return name, args, entry


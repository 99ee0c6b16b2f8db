"""Prior distributions over laser-cholera model parameters, read from YAML.

File format (see ``default_priors.yaml`` in this package and docs/cholera.md)::

    parameters:
      rho:                         # column name in the outputs
        dist: beta                 # distribution, see DISTRIBUTIONS
        a: 4.0
        b: 11.0
      beta_j0_hum:
        dist: loguniform
        low: 2.0e-6
        high: 3.0e-5
        per_location: true         # one independent draw per calibrated location
        by_location:               # optional: a different prior for some locations
          ETH: {dist: loguniform, low: 1.0e-6, high: 1.0e-5}
      seasonality_amplitude:
        targets: [a_1_j, b_1_j, a_2_j, b_2_j]   # model parameters it acts on (default: [name])
        mode: multiply             # set (default): parameter := draw; multiply: parameter *= draw
        dist: truncnorm
        mean: 1.0
        sd: 0.25
        low: 0.25
        high: 1.5

A *global* entry draws one value (column ``name``). When a global entry targets a
per-location vector (e.g. ``beta_j0_hum``) the value is applied to every calibrated location.
A *per-location* entry draws one value per location (columns ``name[ISO]``) and may only
target per-location vectors. Draws are made in file order, and for per-location entries in
the order of the calibrated locations, from the ``numpy.random.Generator`` that is passed in,
so a draw is a function of that generator's seed only.

``log_density`` returns the log prior density (natural log, w.r.t. Lebesgue measure on the
parameter values) of a draw; it is what importance weights need when the proposal is not the
prior, and it is written with every simulation.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import numpy as np
from scipy import stats

from cholera.errors import PriorsError
from runfleet import read_yaml_file

__all__ = [
    "DISTRIBUTIONS",
    "Distribution",
    "PriorEntry",
    "Priors",
    "load_priors",
    "default_priors_path",
]


def _positive(name: str) -> Callable[[float], None]:
    def check(value: float) -> None:
        if not value > 0:
            raise ValueError(f"{name} must be > 0, got {value}")

    return check


# name -> (required argument names, optional argument defaults, builder of a frozen scipy dist, checks)
def _uniform(low: float, high: float):
    if not high > low:
        raise ValueError(f"high ({high}) must be > low ({low})")
    return stats.uniform(loc=low, scale=high - low)


def _loguniform(low: float, high: float):
    if not low > 0:
        raise ValueError(f"low must be > 0 for loguniform, got {low}")
    if not high > low:
        raise ValueError(f"high ({high}) must be > low ({low})")
    return stats.loguniform(low, high)


def _normal(mean: float, sd: float):
    _positive("sd")(sd)
    return stats.norm(loc=mean, scale=sd)


def _lognormal(meanlog: float, sdlog: float):
    _positive("sdlog")(sdlog)
    return stats.lognorm(s=sdlog, scale=math.exp(meanlog))


def _truncnorm(mean: float, sd: float, low: float = -math.inf, high: float = math.inf):
    _positive("sd")(sd)
    if not high > low:
        raise ValueError(f"high ({high}) must be > low ({low})")
    return stats.truncnorm((low - mean) / sd, (high - mean) / sd, loc=mean, scale=sd)


def _beta(a: float, b: float):
    _positive("a")(a)
    _positive("b")(b)
    return stats.beta(a, b)


def _gamma(shape: float, rate: float):
    _positive("shape")(shape)
    _positive("rate")(rate)
    return stats.gamma(shape, scale=1.0 / rate)


#: Supported distributions: name -> (builder, required args, optional args).
#: Parameterisations: uniform(low, high); loguniform(low, high) (log of the value uniform);
#: normal(mean, sd); lognormal(meanlog, sdlog) (log of the value is normal);
#: truncnorm(mean, sd, low, high) (normal restricted to [low, high]); beta(a, b);
#: gamma(shape, rate) (mean shape/rate).
DISTRIBUTIONS: dict[str, tuple[Callable[..., Any], tuple[str, ...], tuple[str, ...]]] = {
    "uniform": (_uniform, ("low", "high"), ()),
    "loguniform": (_loguniform, ("low", "high"), ()),
    "normal": (_normal, ("mean", "sd"), ()),
    "lognormal": (_lognormal, ("meanlog", "sdlog"), ()),
    "truncnorm": (_truncnorm, ("mean", "sd"), ("low", "high")),
    "beta": (_beta, ("a", "b"), ()),
    "gamma": (_gamma, ("shape", "rate"), ()),
}

_ENTRY_KEYS = {"dist", "per_location", "by_location", "targets", "mode", "description"}
_MODES = ("set", "multiply")


@dataclass(frozen=True)
class Distribution:
    """One univariate distribution: its name and numeric arguments."""

    name: str
    args: Mapping[str, float]

    def __post_init__(self) -> None:
        object.__setattr__(self, "_frozen", DISTRIBUTIONS[self.name][0](**self.args))

    def sample(self, rng: np.random.Generator, size: int | None = None):
        """Draw from the distribution with ``rng`` (a float, or an array when ``size`` is given)."""
        value = self._frozen.rvs(size=size, random_state=rng)
        return float(value) if size is None else np.asarray(value, dtype=float)

    def logpdf(self, x) -> np.ndarray:
        """Log density at ``x`` (natural log; ``-inf`` outside the support)."""
        return np.asarray(self._frozen.logpdf(x), dtype=float)

    def mean(self) -> float:
        return float(self._frozen.mean())

    def to_dict(self) -> dict:
        """Plain mapping; infinite bounds (the default of truncnorm) are left out, so it is strict JSON."""
        return {"dist": self.name, **{k: float(v) for k, v in self.args.items() if math.isfinite(v)}}

    @classmethod
    def parse(cls, spec: Mapping[str, Any], where: str) -> "Distribution":
        """Build from a mapping ``{dist: name, arg: value, ...}``; errors name ``where``."""
        if "dist" not in spec:
            raise PriorsError(f"{where}.dist: missing (one of {', '.join(DISTRIBUTIONS)})")
        name = spec["dist"]
        if name not in DISTRIBUTIONS:
            raise PriorsError(f"{where}.dist: unknown distribution {name!r} (one of {', '.join(DISTRIBUTIONS)})")
        _, required, optional = DISTRIBUTIONS[name]
        args: dict[str, float] = {}
        for key in required + optional:
            if key not in spec:
                if key in required:
                    raise PriorsError(f"{where}.{key}: missing (required by {name})")
                continue
            value = spec[key]
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                try:
                    value = float(value)  # YAML reads "1e-6" (no dot) as a string
                except (TypeError, ValueError):
                    raise PriorsError(f"{where}.{key}: must be a number, got {spec[key]!r}") from None
            if not math.isfinite(value) and not (key in optional and not math.isnan(value)):
                raise PriorsError(f"{where}.{key}: must be a finite number, got {value}")
            args[key] = float(value)
        extra = set(spec) - set(required) - set(optional) - _ENTRY_KEYS
        if extra:
            raise PriorsError(f"{where}: unknown field(s) {sorted(extra)} for dist {name}")
        try:
            return cls(name, args)
        except ValueError as exc:
            raise PriorsError(f"{where}: {exc}") from None


@dataclass(frozen=True)
class PriorEntry:
    """One named prior: a distribution acting on one or more model parameters."""

    name: str
    dist: Distribution
    targets: tuple[str, ...]
    mode: str = "set"
    per_location: bool = False
    by_location: Mapping[str, Distribution] = field(default_factory=dict)

    def columns(self, locations: Sequence[str]) -> list[str]:
        """Output column names of this entry for the given locations."""
        if self.per_location:
            return [f"{self.name}[{iso}]" for iso in locations]
        return [self.name]

    def dist_for(self, location: str | None) -> Distribution:
        if location is not None and location in self.by_location:
            return self.by_location[location]
        return self.dist

    def to_dict(self) -> dict:
        out: dict[str, Any] = self.dist.to_dict()
        if self.targets != (self.name,):
            out["targets"] = list(self.targets)
        if self.mode != "set":
            out["mode"] = self.mode
        if self.per_location:
            out["per_location"] = True
        if self.by_location:
            out["by_location"] = {iso: d.to_dict() for iso, d in self.by_location.items()}
        return out


@dataclass(frozen=True)
class Priors:
    """An ordered set of :class:`PriorEntry` read from a YAML file or a mapping."""

    entries: tuple[PriorEntry, ...]
    source: str = "<priors>"

    # ---------------------------------------------------------------- construction
    @classmethod
    def from_dict(cls, data: Mapping[str, Any], source: str = "<priors>") -> "Priors":
        """Parse the mapping form of a priors file; errors name ``source`` and the field."""
        if not isinstance(data, Mapping) or "parameters" not in data:
            raise PriorsError(f"{source}: expected a mapping with a 'parameters' key")
        extra = set(data) - {"parameters", "description"}
        if extra:
            raise PriorsError(f"{source}: unknown top-level field(s) {sorted(extra)}")
        params = data["parameters"]
        if not isinstance(params, Mapping) or not params:
            raise PriorsError(f"{source}: parameters: expected a non-empty mapping of name -> distribution")
        entries = []
        targets_seen: dict[str, str] = {}
        for name, spec in params.items():
            where = f"{source}: parameters.{name}"
            if not isinstance(spec, Mapping):
                raise PriorsError(f"{where}: expected a mapping with 'dist' and its arguments")
            dist = Distribution.parse(spec, where)
            targets = spec.get("targets", [name])
            if isinstance(targets, str):
                targets = [targets]
            if not isinstance(targets, list) or not targets or not all(isinstance(t, str) for t in targets):
                raise PriorsError(f"{where}.targets: expected a list of model parameter names")
            for target in targets:
                if target in targets_seen:
                    raise PriorsError(f"{where}.targets: {target!r} is already set by parameters.{targets_seen[target]}")
                targets_seen[target] = name
            mode = spec.get("mode", "set")
            if mode not in _MODES:
                raise PriorsError(f"{where}.mode: expected one of {_MODES}, got {mode!r}")
            per_location = spec.get("per_location", False)
            if not isinstance(per_location, bool):
                raise PriorsError(f"{where}.per_location: expected true or false, got {per_location!r}")
            by_location_spec = spec.get("by_location", {}) or {}
            if by_location_spec and not per_location:
                raise PriorsError(f"{where}.by_location: only allowed with per_location: true")
            if not isinstance(by_location_spec, Mapping):
                raise PriorsError(f"{where}.by_location: expected a mapping ISO3 -> distribution")
            by_location = {
                str(iso): Distribution.parse(sub, f"{where}.by_location.{iso}") for iso, sub in by_location_spec.items()
            }
            entries.append(PriorEntry(str(name), dist, tuple(targets), mode, per_location, by_location))
        return cls(tuple(entries), source)

    def to_dict(self) -> dict:
        """Plain (JSON/YAML-able) mapping that :meth:`from_dict` reads back."""
        return {"parameters": {e.name: e.to_dict() for e in self.entries}}

    # ---------------------------------------------------------------- checks
    def check_against(self, base_params: Mapping[str, Any], n_locations: int, locations: Sequence[str] = ()) -> None:
        """Check targets against a laser-cholera parameter dict (all locations, not subset).

        Every target must be a numeric model parameter; per-location entries may only target
        per-location vectors (length ``n_locations``). ``by_location`` keys must be among
        ``locations`` when those are given.
        """
        for entry in self.entries:
            where = f"{self.source}: parameters.{entry.name}"
            for target in entry.targets:
                if target not in base_params:
                    raise PriorsError(f"{where}.targets: {target!r} is not a laser-cholera parameter")
                value = base_params[target]
                is_vector = isinstance(value, (list, np.ndarray)) and np.ndim(value) == 1 and len(value) == n_locations
                is_scalar = isinstance(value, (int, float)) and not isinstance(value, bool)
                if not (is_vector or is_scalar):
                    raise PriorsError(f"{where}.targets: {target!r} is not a scalar or per-location model parameter")
                if entry.per_location and not is_vector:
                    raise PriorsError(f"{where}.per_location: {target!r} is a scalar, not a per-location vector")
            if locations:
                unknown = set(entry.by_location) - set(locations)
                if unknown:
                    raise PriorsError(f"{where}.by_location: {sorted(unknown)} not among the calibrated locations {list(locations)}")

    # ---------------------------------------------------------------- sampling and density
    def columns(self, locations: Sequence[str]) -> list[str]:
        return [c for e in self.entries for c in e.columns(locations)]

    def sample(self, rng: np.random.Generator, locations: Sequence[str]) -> dict[str, float]:
        """One joint draw: ``{column: value}`` in file order (see module docstring)."""
        draw: dict[str, float] = {}
        for entry in self.entries:
            if entry.per_location:
                for iso, column in zip(locations, entry.columns(locations)):
                    draw[column] = entry.dist_for(iso).sample(rng)
            else:
                draw[entry.name] = entry.dist.sample(rng)
        return draw

    def log_density(self, draw: Mapping[str, float], locations: Sequence[str]) -> float:
        """Log prior density of a draw (sum over columns; ``-inf`` outside the support)."""
        total = 0.0
        for entry in self.entries:
            if entry.per_location:
                for iso, column in zip(locations, entry.columns(locations)):
                    total += float(entry.dist_for(iso).logpdf(draw[column]))
            else:
                total += float(entry.dist.logpdf(draw[entry.name]))
        return total

    def apply(self, draw: Mapping[str, float], params: dict, locations: Sequence[str]) -> dict:
        """Return a copy of ``params`` (a laser-cholera parameter dict for ``locations``) with the draw applied.

        ``set`` replaces the target value; ``multiply`` scales the default value. A global entry
        acting on a per-location vector applies the same value to every location.
        """
        out = dict(params)
        for entry in self.entries:
            for target in entry.targets:
                base = params[target]
                if isinstance(base, (list, np.ndarray)):
                    base_arr = np.asarray(base, dtype=float)
                    if entry.per_location:
                        values = np.array([draw[c] for c in entry.columns(locations)], dtype=float)
                    else:
                        values = np.full(base_arr.shape, draw[entry.name], dtype=float)
                    new = values if entry.mode == "set" else base_arr * values
                    out[target] = new.tolist()
                else:
                    value = draw[entry.name]
                    out[target] = float(value if entry.mode == "set" else float(base) * value)
        return out


def default_priors_path() -> Path:
    """Path of the priors YAML shipped with the package."""
    return Path(str(resources.files("cholera") / "default_priors.yaml"))


def load_priors(path: str | Path | None = None) -> Priors:
    """Read a priors YAML file (``None``: the packaged defaults). Errors name the file and field."""
    path = Path(path) if path is not None else default_priors_path()
    data = read_yaml_file(path, "priors file", PriorsError)
    return Priors.from_dict(copy.deepcopy(data), source=str(path))

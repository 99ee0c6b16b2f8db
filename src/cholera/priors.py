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
from cholera.priorspec import ENTRY_FIELDS, parse_dist, parse_entry
from runfleet import read_yaml_file

__all__ = [
    "DISTRIBUTIONS",
    "Distribution",
    "PriorEntry",
    "Priors",
    "load_priors",
    "resolve_priors",
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



@dataclass(frozen=True)
class Distribution:
    """One univariate distribution: its name and numeric arguments.

    Parameters
    ----------
    name : str
        A key of :data:`DISTRIBUTIONS`.
    args : mapping of str to float
        Its arguments (see :data:`DISTRIBUTIONS` for each parameterisation).

    Raises
    ------
    ValueError
        Arguments out of range (e.g. ``high`` not above ``low``).
    """

    name: str
    args: Mapping[str, float]

    def __post_init__(self) -> None:
        object.__setattr__(self, "_frozen", DISTRIBUTIONS[self.name][0](**self.args))

    def sample(self, rng: np.random.Generator, size: int | None = None):
        """Draw from the distribution.

        Parameters
        ----------
        rng : numpy.random.Generator
            The generator (a simulation's ``ctx.rng``).
        size : int, optional
            Number of draws.

        Returns
        -------
        float or numpy.ndarray
            A float, or an array of ``size`` draws.
        """
        value = self._frozen.rvs(size=size, random_state=rng)
        return float(value) if size is None else np.asarray(value, dtype=float)

    def logpdf(self, x) -> np.ndarray:
        """Log density (natural log; ``-inf`` outside the support).

        Parameters
        ----------
        x : float or array_like
            Values in the parameter's unit.

        Returns
        -------
        numpy.ndarray
        """
        return np.asarray(self._frozen.logpdf(x), dtype=float)

    def mean(self) -> float:
        """Mean of the distribution (in the parameter's unit)."""
        return float(self._frozen.mean())

    def to_dict(self) -> dict:
        """Plain mapping; infinite bounds (the default of truncnorm) are left out, so it is strict JSON."""
        return {"dist": self.name, **{k: float(v) for k, v in self.args.items() if math.isfinite(v)}}

    @classmethod
    def parse(cls, spec: Mapping[str, Any], where: str) -> "Distribution":
        """Build from a mapping ``{dist: name, arg: value, ...}``.

        Parameters
        ----------
        spec : mapping
            The entry of a priors file.
        where : str
            ``<file>: parameters.<name>``, prefixed to error messages.

        Returns
        -------
        Distribution

        Raises
        ------
        PriorsError
            One line naming ``where`` and the field.
        """
        name, args = parse_dist({k: v for k, v in spec.items() if k not in ENTRY_FIELDS}, where)
        try:
            return cls(name, args)
        except ValueError as exc:
            raise PriorsError(f"{where}: {exc}") from None


@dataclass(frozen=True)
class PriorEntry:
    """One named prior: a distribution acting on one or more model parameters.

    Parameters
    ----------
    name : str
        Column name in the outputs.
    dist : Distribution
        The prior (of every location unless ``by_location`` says otherwise).
    targets : tuple of str
        laser-cholera parameters it acts on.
    mode : {"set", "multiply"}
        Replace the target value, or scale the bundled value.
    per_location : bool
        One draw per calibrated location (columns ``name[ISO]``).
    by_location : mapping of str to Distribution
        Another prior for some locations.
    """

    name: str
    dist: Distribution
    targets: tuple[str, ...]
    mode: str = "set"
    per_location: bool = False
    by_location: Mapping[str, Distribution] = field(default_factory=dict)

    def columns(self, locations: Sequence[str]) -> list[str]:
        """Output column names of this entry (``name`` or ``name[ISO]`` per location)."""
        if self.per_location:
            return [f"{self.name}[{iso}]" for iso in locations]
        return [self.name]

    def dist_for(self, location: str | None) -> Distribution:
        """The prior of ``location`` (``None``: the common one)."""
        if location is not None and location in self.by_location:
            return self.by_location[location]
        return self.dist

    def to_dict(self) -> dict:
        """The entry in a priors file's mapping form."""
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
    """An ordered set of :class:`PriorEntry` read from a YAML file or a mapping.

    Parameters
    ----------
    entries : tuple of PriorEntry
        In file order (the order of the draws).
    source : str
        Where they were read from (named in error messages).
    """

    entries: tuple[PriorEntry, ...]
    source: str = "<priors>"

    # ---------------------------------------------------------------- construction
    @classmethod
    def from_dict(cls, data: Mapping[str, Any], source: str = "<priors>") -> "Priors":
        """Parse the mapping form of a priors file.

        Parameters
        ----------
        data : mapping
            ``{"parameters": {name: entry}}``.
        source : str, optional
            Named in error messages.

        Returns
        -------
        Priors

        Raises
        ------
        PriorsError
            One line naming ``source`` and the field.
        """
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
            dist_name, args, entry = parse_entry(spec, where)
            try:
                dist = Distribution(dist_name, args)
            except ValueError as exc:
                raise PriorsError(f"{where}: {exc}") from None
            targets = entry.targets or [str(name)]
            for target in targets:
                if target in targets_seen:
                    raise PriorsError(f"{where}.targets: {target!r} is already set by parameters.{targets_seen[target]}")
                targets_seen[target] = name
            mode, per_location = entry.mode, entry.per_location
            by_location = {}
            for iso, sub in (entry.by_location or {}).items():
                try:
                    by_location[str(iso)] = Distribution(sub.dist, sub.args())
                except ValueError as exc:
                    raise PriorsError(f"{where}.by_location.{iso}: {exc}") from None
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

        Parameters
        ----------
        base_params : mapping
            The bundled laser-cholera parameter set.
        n_locations : int
            Number of locations in ``base_params``.
        locations : sequence of str, optional
            Calibrated ISO3 codes.

        Raises
        ------
        PriorsError
            One line naming the source and the entry.
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
        """Output columns of every entry, in file order."""
        return [c for e in self.entries for c in e.columns(locations)]

    def sample(self, rng: np.random.Generator, locations: Sequence[str]) -> dict[str, float]:
        """One joint draw, in file order (see the module docstring).

        Parameters
        ----------
        rng : numpy.random.Generator
            The simulation's generator.
        locations : sequence of str
            Calibrated ISO3 codes.

        Returns
        -------
        dict of str to float
            ``{column: value}``.
        """
        draw: dict[str, float] = {}
        for entry in self.entries:
            if entry.per_location:
                for iso, column in zip(locations, entry.columns(locations)):
                    draw[column] = entry.dist_for(iso).sample(rng)
            else:
                draw[entry.name] = entry.dist.sample(rng)
        return draw

    def log_density(self, draw: Mapping[str, float], locations: Sequence[str]) -> float:
        """Log prior density of a draw (natural log).

        Parameters
        ----------
        draw : mapping of str to float
            ``{column: value}`` as from :meth:`sample`.
        locations : sequence of str
            Calibrated ISO3 codes.

        Returns
        -------
        float
            Sum over columns; ``-inf`` outside the support.
        """
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

        Parameters
        ----------
        draw : mapping of str to float
            ``{column: value}``.
        params : dict
            laser-cholera parameter dict for ``locations`` (not changed).
        locations : sequence of str
            Calibrated ISO3 codes.

        Returns
        -------
        dict
            The new parameter dict.
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
    """Read a priors YAML file.

    Parameters
    ----------
    path : str or pathlib.Path, optional
        The file (``None``: the packaged defaults).

    Returns
    -------
    Priors

    Raises
    ------
    PriorsError
        Unreadable file or bad content; one line naming the file and the field.
    """
    path = Path(path) if path is not None else default_priors_path()
    data = read_yaml_file(path, "priors file", PriorsError)
    return Priors.from_dict(copy.deepcopy(data), source=str(path))


def resolve_priors(spec: str | Path | Mapping[str, Any] | None, locations: Sequence[str] = (),
                   source: str = "priors") -> Priors:
    """Priors from any of the forms a calibration accepts.

    Parameters
    ----------
    spec : str or pathlib.Path or mapping or None
        ``None``: the packaged defaults; a path: a priors YAML file; a mapping with
        ``parameters``: the file's form; a mapping with ``parameters_global`` /
        ``parameters_location``: MOSAIC's priors list (:mod:`cholera.mosaic`).
    locations : sequence of str, optional
        Calibrated ISO3 codes (MOSAIC location priors are selected for them).
    source : str, optional
        Name of a mapping input in messages.

    Returns
    -------
    Priors

    Raises
    ------
    PriorsError, cholera.errors.ConfigError
        One line naming the file (or ``source``) and the field.
    """
    if spec is None or isinstance(spec, (str, Path)):
        return load_priors(spec)
    from cholera.mosaic import is_mosaic_priors, priors_from_mosaic

    data = priors_from_mosaic(spec, locations, source) if is_mosaic_priors(spec) else copy.deepcopy(dict(spec))
    return Priors.from_dict(data, source=source)

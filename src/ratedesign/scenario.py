"""One run of a rate-design platform scenario YAML (``runs:`` map), checked by a pydantic model.

Relative paths resolve against the YAML's directory; in the platform layout
(``<state>/config/scenarios/scenarios_<utility>.yaml``) that is the ``config`` directory, the
parent of ``scenarios/``, which is what the platform's relative paths are written against.
``--set field=value`` overrides a field (YAML-typed value; ``field.sub=value`` for mapping fields
such as ``path_tariffs_electric.hp``) and ``--map-prefix OLD=NEW`` rewrites the start of every path
field (longest matching OLD wins), after relative paths are resolved.

Unknown fields are errors (a typo must not silently change a run); the platform's retired fields
in :data:`IGNORED` are accepted and dropped. Every error is one :class:`~ratedesign.errors.InputError`
line naming the file, the entry and the field and saying what was expected, without the value
(a path or option may carry a credential): ``scenario s.yaml (run a): field 'year_run': expected an
integer``. Only fields with a fixed set of words (``run_type``, the residual allocations) and
``elasticity`` quote the offending word.

References
----------
.. [1] switchbox-data/rate-design-platform, ``rate_design/hp_rates/run_scenario.py`` (the scenario
   entry's fields) and ``rate_design/hp_rates/<state>/config/scenarios/scenarios_<utility>.yaml``.
"""

from __future__ import annotations

import copy
import os
import posixpath
from typing import Annotated, Any, Optional

import yaml
from pydantic import (BaseModel, BeforeValidator, ConfigDict, ValidationError, ValidationInfo,
                      field_validator, model_validator)

from ratedesign.errors import InputError
from ratedesign.fsio import read_yaml

RUN_TYPES = ("precalc", "default")
RESIDUAL_METHODS = ("percustomer", "volumetric", "epmc", "passthrough")


# ---------------------------------------------------------------------------- lenient scalars
# Platform files are hand-written YAML and --set values arrive as text: "true", "2025", 2025.0 are
# what a user means by a boolean or a year. The converters raise ValueError with what was expected
# (never the value); the model's error formatter adds the file, entry and field.
def _to_bool(v: Any) -> bool:
    if isinstance(v, bool):
        return v
    if isinstance(v, str) and v.strip().lower() in ("true", "false", "yes", "no", "1", "0"):
        return v.strip().lower() in ("true", "yes", "1")
    if isinstance(v, int) and v in (0, 1):
        return bool(v)
    raise ValueError("expected true or false")


def _whole(v: Any) -> int:
    if v is None or v == "" or isinstance(v, bool):
        raise ValueError("expected an integer")
    try:
        f = float(v)
        if f != int(f):
            raise ValueError
        return int(f)
    except (TypeError, ValueError, OverflowError):
        raise ValueError("expected an integer") from None


def _to_int_or_none(v: Any) -> Optional[int]:
    return None if v is None or v == "" else _whole(v)


def _to_float(v: Any) -> float:
    if v is None or v == "" or isinstance(v, bool):
        raise ValueError("expected a number")
    try:
        return float(v)
    except (TypeError, ValueError):
        raise ValueError("expected a number") from None


def _to_float_or_none(v: Any) -> Optional[float]:
    return None if v is None or v == "" else _to_float(v)


def _to_str(v: Any) -> Any:
    """Numbers written where a text or path is meant (``state: 1``) become text."""
    return str(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else v


def _to_str_or_none(v: Any) -> Any:
    return None if v is None else _to_str(v)


def _to_upgrade(v: Any) -> Optional[str]:
    return None if v is None else f"{_whole(v):02d}"


def _to_mapping(v: Any) -> Any:
    if v is not None and not isinstance(v, dict):
        raise ValueError("expected a mapping")
    return v


_Bool = Annotated[bool, BeforeValidator(_to_bool)]
_Int = Annotated[int, BeforeValidator(_whole)]
_OptInt = Annotated[Optional[int], BeforeValidator(_to_int_or_none)]
_Float = Annotated[float, BeforeValidator(_to_float)]
_OptFloat = Annotated[Optional[float], BeforeValidator(_to_float_or_none)]
_Str = Annotated[str, BeforeValidator(_to_str)]
_OptStr = Annotated[Optional[str], BeforeValidator(_to_str_or_none)]
_OptMapping = Annotated[Optional[dict], BeforeValidator(_to_mapping)]


def _tariff_paths(v: Any, source: str) -> dict:
    """``{all: p}`` / ``{hp: p, non-hp: p}``; also 'hp: a.json, non-hp: b.json' or a bare path."""
    if isinstance(v, dict) and v:
        return {str(k): str(p) for k, p in v.items()}
    if isinstance(v, str) and v.strip():
        if ":" in v and not v.strip().startswith(("s3://", "/")) and "," in v:
            out = {}
            for part in v.split(","):
                k, _, p = part.partition(":")
                out[k.strip()] = p.strip()
            return out
        return {"all": v.strip()}
    raise InputError(f"scenario {source}: field 'path_tariffs_electric' must map subclasses to tariff JSON "
                     f"paths, e.g. {{all: tariffs/electric/x.json}}")


def _source(info: ValidationInfo) -> str:
    return (info.context or {}).get("source") or "<scenario>"


class ScenarioConfig(BaseModel):
    """One scenario entry: the platform's fields (names as in its YAML) and ratedesign's options.

    Paths are local paths or URLs (``s3://...``), absolute once :func:`load_scenario` has resolved
    them. Money in $, years as integers. Build it with :func:`load_scenario` (from a file) or
    :meth:`from_params` (from a run's params); unknown fields are rejected.

    Parameters
    ----------
    run_name : str
        The entry's name (its key in ``runs:``).
    state, utility : str
        Two-letter state and the platform's utility key (``RI``, ``rie``).
    run_type : {"precalc", "default"}
        ``precalc`` calibrates the tariffs to the revenue requirement; ``default`` bills with the
        tariffs as given.
    path_resstock_metadata, path_resstock_loads, path_utility_assignment : str
        ResStock metadata parquet, directory of hourly load parquet files (kWh per hour, 8760 rows),
        and the building-to-utility assignment (sample weights).
    path_tariff_maps_electric : str
        CSV ``bldg_id, tariff_key``.
    path_tariffs_electric : dict of str to str
        Subclass (``all``, or e.g. ``hp`` / ``non-hp``) to URDB-style tariff JSON.
    utility_revenue_requirement : str
        YAML with the revenue requirement ($/year).
    path_tariff_maps_gas, path_tariffs_gas : str, optional
        Gas tariff map CSV and tariff directory (rates in $/kWh).
    path_dist_and_sub_tx_mc, path_bulk_tx_mc, path_supply_energy_mc, path_supply_capacity_mc, path_supply_ancillary_mc : str, optional
        Hourly marginal-cost CSVs ($/kWh, 8760 rows).
    path_electric_utility_stats : str, optional
        Utility statistics (customer count).
    path_outputs : str, optional
        Where the platform writes outputs (recorded, not used: runfleet's store is the output).
    run_includes_supply, run_includes_subclasses : bool
        Bill and calibrate supply as well as delivery; split the class into subclasses.
    year_run : int
        Calendar year of the loads' hours.
    year_dollar_conversion : int, optional
        Dollar year of the outputs (default ``year_run``).
    upgrade : str, optional
        ResStock upgrade id, two digits (``"00"``); else read from ``upgrade=NN`` in the loads path.
    sample_size : int, optional
        Buildings drawn from the utility's sample (``random.Random(42).sample`` in file order).
    solar_pv_compensation : str, optional
        Net metering rule of PV exports.
    process_workers : int, optional
        The platform's process count (recorded; runfleet's cluster sets parallelism).
    elasticity : float or dict
        Price elasticity of demand (dimensionless, in [-5, 0]); ``{summer: e, winter: e}`` per season.
    residual_allocation_delivery, residual_allocation_supply : {"percustomer", "volumetric", "epmc", "passthrough"}
        How the residual (revenue requirement minus marginal-cost revenue, $) is shared.
    subclass_config : dict, optional
        ``{group_col: ..., selectors: {subclass: value}}``; default ``has_hp`` for ``hp``/``non-hp``.
    floor_electricity_net : bool
        Floor net hourly consumption at 0 kWh (no export credit below zero).
    peak_hours : Any
        ``"mc"`` (hours of highest marginal cost) or an explicit hour rule.
    chunk_size : int, optional
        Buildings per task.
    customer_count : float, optional
        Customers the weights sum to (default: the utility statistics or the assignment's weights).
    utility_tax_rate : float
        Gross-receipts tax rate (fraction) added to bills.
    winter_months : Any
        1-based winter months of demand-flex seasons (from ``periods/<utility>.yaml``).
    storage_options : dict, optional
        fsspec options for reading the inputs; never recorded (see :meth:`to_params`).
    source : str
        Where the entry came from (file and entry), for messages.

    References
    ----------
    .. [1] switchbox-data/rate-design-platform, ``rate_design/hp_rates/run_scenario.py``.
    """

    model_config = ConfigDict(extra="forbid")

    run_name: _Str = "run"
    state: _Str
    utility: _Str
    run_type: str
    path_resstock_metadata: _Str
    path_resstock_loads: _Str
    path_utility_assignment: _Str
    path_tariff_maps_electric: _Str
    path_tariffs_electric: dict[str, str]
    utility_revenue_requirement: _Str
    path_tariff_maps_gas: _OptStr = None
    path_tariffs_gas: _OptStr = None
    path_dist_and_sub_tx_mc: _OptStr = None
    path_bulk_tx_mc: _OptStr = None
    path_supply_energy_mc: _OptStr = None
    path_supply_capacity_mc: _OptStr = None
    path_supply_ancillary_mc: _OptStr = None
    path_electric_utility_stats: _OptStr = None
    path_outputs: _OptStr = None
    run_includes_supply: _Bool = False
    run_includes_subclasses: _Bool = False
    year_run: _Int = 2025
    year_dollar_conversion: _OptInt = None
    upgrade: Annotated[Optional[str], BeforeValidator(_to_upgrade)] = None
    sample_size: _OptInt = None
    solar_pv_compensation: _OptStr = None
    process_workers: _OptInt = None
    elasticity: Any = 0.0
    residual_allocation_delivery: str = "percustomer"
    residual_allocation_supply: str = "percustomer"
    subclass_config: _OptMapping = None
    # ratedesign options
    floor_electricity_net: _Bool = True
    peak_hours: Any = "mc"
    chunk_size: _OptInt = None
    customer_count: _OptFloat = None
    utility_tax_rate: _Float = 0.0
    winter_months: Any = None
    storage_options: _OptMapping = None
    source: str = ""

    @field_validator("path_tariffs_electric", mode="before")
    @classmethod
    def _tariffs(cls, v: Any, info: ValidationInfo) -> dict:
        return _tariff_paths(v, _source(info))

    @field_validator("run_type", mode="before")
    @classmethod
    def _run_type(cls, v: Any) -> str:
        word = str(v).strip().lower()
        if word not in RUN_TYPES:
            raise ValueError(f"is {word!r}; expected one of {RUN_TYPES}")
        return word

    @field_validator("residual_allocation_delivery", "residual_allocation_supply", mode="before")
    @classmethod
    def _residual(cls, v: Any) -> str:
        if str(v) not in RESIDUAL_METHODS:
            raise ValueError(f"is {str(v)!r}; expected one of {RESIDUAL_METHODS}")
        return str(v)

    @field_validator("elasticity", mode="before")
    @classmethod
    def _elasticity(cls, v: Any, info: ValidationInfo) -> Any:
        from ratedesign.flex import parse_elasticity
        parse_elasticity(v, f"scenario {_source(info)}")
        return dict(v) if isinstance(v, dict) else float(v if v not in (None, "") else 0.0)

    @model_validator(mode="after")
    def _subclasses(self) -> "ScenarioConfig":
        tariffs = set(self.path_tariffs_electric)
        if self.run_includes_subclasses and not self.subclass_config and tariffs == {"hp", "non-hp"}:
            # the platform's default split (utils/mid/compute_subclass_rr.py: DEFAULT_GROUP_COL = has_hp)
            self.subclass_config = {"group_col": "has_hp", "selectors": {"hp": "true", "non-hp": "false"}}
        if self.run_includes_subclasses and self.run_type == "precalc" and tariffs == {"all"}:
            raise ValueError("'run_includes_subclasses' is true but 'path_tariffs_electric' has only 'all'; "
                             "expected one tariff per subclass (e.g. hp, non-hp)")
        return self

    # ------------------------------------------------------------------ derived
    @property
    def load_upgrade(self) -> str:
        """Upgrade id for file names: the ``upgrade`` field, else ``upgrade=NN`` in the loads path."""
        if self.upgrade is not None:
            return f"{int(self.upgrade):02d}"
        for part in str(self.path_resstock_loads).rstrip("/").split("/")[::-1]:
            if part.startswith("upgrade="):
                return f"{int(part.split('=', 1)[1]):02d}"
        raise InputError(f"scenario {self.source}: field 'upgrade' is missing and 'path_resstock_loads' "
                         f"({self.path_resstock_loads}) has no 'upgrade=NN' part")

    @property
    def dollar_year(self) -> int:
        """``year_dollar_conversion`` (defaults to ``year_run``)."""
        return int(self.year_dollar_conversion if self.year_dollar_conversion is not None else self.year_run)

    def to_params(self) -> dict:
        """The fields as a JSON-able dict (the run function's params), without ``storage_options``.

        Params are recorded in the store (study.json, markers), credentials never are; runs read
        their inputs with the study's storage options (``ctx.storage_options``) instead.

        Returns
        -------
        dict
            Field name to value, every field but ``storage_options``.
        """
        return self.model_dump(exclude={"storage_options"})

    @classmethod
    def from_params(cls, params: dict, source: str = "<params>") -> "ScenarioConfig":
        """Build and check an entry from a flat dict (a run's params, or a parsed YAML entry).

        Parameters
        ----------
        params : dict
            Field name to value; the retired platform fields in :data:`IGNORED` are dropped.
        source : str, default "<params>"
            Where the fields came from (file and entry), named by every message.

        Returns
        -------
        ScenarioConfig

        Raises
        ------
        InputError
            One line naming ``source``, the field and what was expected (unknown fields first,
            then missing ones, then the first field in the file's order with a bad value).
        """
        return _build(dict(params), source)


FIELDS = dict(ScenarioConfig.model_fields)
#: fields without a default (``run_name`` defaults to "run")
REQUIRED = [n for n, f in FIELDS.items() if f.is_required()]
#: scenario fields holding paths (rewritten by --map-prefix, resolved when relative)
PATH_FIELDS = [n for n in FIELDS if n.startswith("path_")] + ["utility_revenue_requirement"]
#: platform fields accepted and ignored
IGNORED = {"run_includes_supply_old", "add_supply_revenue_requirement", "path_td_marginal_costs",
           "path_supply_marginal_costs", "path_tou_supply_mc", "depends_on"}
#: what a field must be, for messages whose pydantic type error carries no sentence of ours
_EXPECTED = {"path_tariffs_electric": "a mapping of subclass to tariff JSON path",
             "subclass_config": "a mapping", "storage_options": "a mapping", "source": "a string"}


def _message(err: dict, source: str) -> str:
    """One line for one pydantic error: file and entry, field, what was expected (never the value)."""
    loc = [str(x) for x in err.get("loc", ())]
    field = ".".join(loc[:2])
    error = (err.get("ctx") or {}).get("error")
    if isinstance(error, InputError):  # a checker of ours that names the file itself
        return str(error)
    if err["type"] == "extra_forbidden":
        known = ", ".join(sorted(n for n in FIELDS if n != "source"))
        return f"scenario {source}: unknown field {field!r} (known fields: {known})"
    if err["type"] == "missing":
        return f"scenario {source}: required field {field!r} is missing"
    if error is not None:  # the sentence of one of our validators
        text = str(error)
    else:
        text = "expected " + _EXPECTED.get(loc[0] if loc else "", "a text" if "str" in err["type"] else
                                           "a value of another kind")
    if not field:
        return f"scenario {source}: {text}"
    sep = " " if text.startswith(("is ", "= ")) else ": "
    return f"scenario {source}: field {field!r}{sep}{text}"


def _build(d: dict, source: str) -> ScenarioConfig:
    for k in list(d):
        if k in IGNORED:
            d.pop(k)
        elif d[k] is None and k in ("residual_allocation_delivery", "residual_allocation_supply"):
            d.pop(k)  # null means "the default"
        elif k in REQUIRED and (d[k] is None or d[k] == ""):
            d.pop(k)  # an empty required field is a missing one
    d.setdefault("run_name", "run")
    d["source"] = source
    try:
        return ScenarioConfig.model_validate(d, context={"source": source})
    except ValidationError as e:
        errors = e.errors(include_url=False, include_input=False)
        order = {"extra_forbidden": 0, "missing": 1}
        first = min(enumerate(errors), key=lambda ie: (order.get(ie[1]["type"], 2), ie[0]))[1]
        raise InputError(_message(first, source)) from None


# ---------------------------------------------------------------------------- path handling
def _is_relative(p: str) -> bool:
    return not (p.startswith("/") or "://" in p or p.startswith("~"))


def _base_dir(yaml_path: str) -> str:
    d = posixpath.dirname(str(yaml_path)) if "://" in str(yaml_path) else os.path.dirname(os.path.abspath(yaml_path))
    return posixpath.dirname(d) if posixpath.basename(d) == "scenarios" else d


def _map_paths(d: dict, fn) -> None:
    for name in PATH_FIELDS:
        v = d.get(name)
        if v is None or v == "":
            continue
        if isinstance(v, dict):
            d[name] = {k: fn(str(p)) for k, p in v.items()}
        else:
            d[name] = fn(str(v))


def parse_prefix_maps(items) -> list[tuple[str, str]]:
    """Parse ``--map-prefix`` values.

    Parameters
    ----------
    items : iterable of str or None
        ``OLD=NEW`` strings (``s3://bucket/=/data/``).

    Returns
    -------
    list of tuple of (str, str)
        ``(OLD, NEW)`` pairs, longest OLD first (the longest match wins).

    Raises
    ------
    InputError
        An item without ``=`` or with an empty OLD.
    """
    out = []
    for it in items or []:
        old, sep, new = str(it).partition("=")
        if not sep or not old:
            raise InputError(f"--map-prefix {it!r}: expected OLD=NEW")
        out.append((old, new))
    return sorted(out, key=lambda t: -len(t[0]))


def rewrite_prefix(path: str, maps: list[tuple[str, str]]) -> str:
    """Replace the longest matching OLD prefix of ``path`` by NEW.

    Parameters
    ----------
    path : str
        A local path or URL.
    maps : list of tuple of (str, str)
        ``(OLD, NEW)`` pairs, longest OLD first (see :func:`parse_prefix_maps`).

    Returns
    -------
    str
        ``path`` with its prefix rewritten, or unchanged when no OLD matches.
    """
    for old, new in maps:
        if path.startswith(old):
            return new + path[len(old):]
    return path


def apply_sets(entry: dict, sets, source: str) -> dict:
    """Apply ``--set field=value`` overrides to a scenario entry.

    Parameters
    ----------
    entry : dict
        The entry's fields (not modified).
    sets : iterable of str or None
        ``field=value`` (value parsed as YAML; a number stays text for a path field) or
        ``field.key=value`` to set one key of a mapping field (``path_tariffs_electric.hp=x.json``).
    source : str
        File and entry, for messages.

    Returns
    -------
    dict
        A new entry with the overrides applied (checked later by :class:`ScenarioConfig`).

    Raises
    ------
    InputError
        An override without ``=`` or naming an unknown field.
    """
    entry = dict(entry)
    for s in sets or []:
        name, sep, raw = str(s).partition("=")
        name = name.strip()
        if not sep or not name:
            raise InputError(f"--set {s!r}: expected field=value")
        top, _, sub = name.partition(".")
        if top not in FIELDS:
            raise InputError(f"--set {s!r}: unknown scenario field {top!r}")
        try:
            value = yaml.safe_load(raw) if raw.strip() else None
        except yaml.YAMLError:
            value = raw
        if isinstance(value, (int, float)) and top in PATH_FIELDS:
            value = raw
        if sub:
            cur = entry.get(top)
            cur = dict(cur) if isinstance(cur, dict) else {}
            cur[sub] = value
            entry[top] = cur
        else:
            entry[top] = value
    return entry


def select_run(runs: dict, run, source: str) -> tuple[str, dict]:
    """One entry of a ``runs:`` mapping, by key or by 1-based position.

    Parameters
    ----------
    runs : dict
        The scenario file's ``runs:`` mapping.
    run : str or int
        An entry key, or the Nth entry (1-based) when no key equals it.
    source : str
        The file, for messages.

    Returns
    -------
    tuple of (str, dict)
        The entry's key and its fields.

    Raises
    ------
    InputError
        No such key, or a position out of range.
    """
    keys = list(runs)
    for k in keys:
        if str(k) == str(run):
            return str(k), runs[k]
    try:
        n = int(run)
    except (TypeError, ValueError):
        raise InputError(f"scenario {source}: no run {run!r}; runs are {', '.join(map(str, keys))}") from None
    if not 1 <= n <= len(keys):
        raise InputError(f"scenario {source}: --run {n} is out of range (1..{len(keys)})")
    return str(keys[n - 1]), runs[keys[n - 1]]


_DOC_CACHE: dict = {}


def load_scenario_doc(yaml_path: str, storage_options: dict | None = None) -> dict:
    """The parsed scenario YAML, which must have a non-empty top-level ``runs:`` mapping.

    Parsed documents are cached by path and content (a 37-entry file is parsed once, not once per
    entry); callers must not modify the returned mapping (``load_scenario`` deep-copies its entry).

    Parameters
    ----------
    yaml_path : str
        Local path or URL of the scenario file.
    storage_options : dict, optional
        fsspec options for a URL.

    Returns
    -------
    dict
        The document (shared; do not modify).

    Raises
    ------
    InputError
        Unreadable or malformed YAML, or no ``runs:`` mapping.
    """
    import hashlib

    from ratedesign.fsio import read_text

    text = read_text(str(yaml_path), "scenario", storage_options)
    key = (str(yaml_path), hashlib.sha256(text.encode()).hexdigest())
    if key not in _DOC_CACHE:
        doc = read_yaml(str(yaml_path), "scenario", storage_options)
        if not isinstance(doc, dict) or not isinstance(doc.get("runs"), dict) or not doc["runs"]:
            raise InputError(f"scenario {yaml_path}: expected a top-level 'runs:' mapping of run entries")
        if len(_DOC_CACHE) > 64:
            _DOC_CACHE.clear()
        _DOC_CACHE[key] = doc
    return _DOC_CACHE[key]


def load_scenario(yaml_path: str, run, sets=None, map_prefix=None, storage_options: dict | None = None,
                  extra: dict | None = None) -> ScenarioConfig:
    """Read one entry of a scenario YAML as a checked :class:`ScenarioConfig`.

    The entry's ``--set`` overrides are applied, relative paths resolved against the file's
    ``config`` directory, then ``--map-prefix`` rewrites applied.

    Parameters
    ----------
    yaml_path : str
        Local path or URL of the scenario file.
    run : str or int
        Entry key, or 1-based position.
    sets : iterable of str, optional
        ``field=value`` overrides (see :func:`apply_sets`).
    map_prefix : iterable of str, optional
        ``OLD=NEW`` path prefix rewrites (see :func:`parse_prefix_maps`).
    storage_options : dict, optional
        fsspec options for reading the file and, unless the entry sets its own, the inputs.
    extra : dict, optional
        Fields set before the overrides (e.g. derived input paths of a chain).

    Returns
    -------
    ScenarioConfig

    Raises
    ------
    InputError
        One line naming the file, the entry and the field (see :class:`ScenarioConfig`).
    """
    doc = load_scenario_doc(yaml_path, storage_options)
    key, entry = select_run(doc["runs"], run, str(yaml_path))
    if not isinstance(entry, dict):
        raise InputError(f"scenario {yaml_path}: run {key!r} must be a mapping of fields")
    source = f"{yaml_path} (run {key})"
    entry = copy.deepcopy(entry)
    entry.setdefault("run_name", key)
    if entry.get("run_includes_subclasses") and "subclass_config" not in entry and isinstance(doc.get("subclass_config"), dict):
        entry["subclass_config"] = copy.deepcopy(doc["subclass_config"])
    entry.update(extra or {})
    entry = apply_sets(entry, sets, source)
    if "path_tariffs_electric" in entry:
        entry["path_tariffs_electric"] = _tariff_paths(entry["path_tariffs_electric"], source)
    base = _base_dir(str(yaml_path))
    _map_paths(entry, lambda p: posixpath.join(base, p) if _is_relative(p) else p)
    maps = parse_prefix_maps(map_prefix)
    if maps:
        _map_paths(entry, lambda p: rewrite_prefix(p, maps))
    if storage_options and not entry.get("storage_options"):
        entry["storage_options"] = dict(storage_options)
    return _build(entry, source)


__all__ = ["IGNORED", "PATH_FIELDS", "RESIDUAL_METHODS", "RUN_TYPES", "ScenarioConfig", "apply_sets",
           "load_scenario", "load_scenario_doc", "parse_prefix_maps", "rewrite_prefix", "select_run"]

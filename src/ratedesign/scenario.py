"""One run of a rate-design platform scenario YAML (``runs:`` map) as a dataclass.

Relative paths resolve against the YAML's directory; in the platform layout
(``<state>/config/scenarios/scenarios_<utility>.yaml``) that is the ``config`` directory, the
parent of ``scenarios/``, which is what the platform's relative paths are written against.
``--set field=value`` overrides a field (YAML-typed value; ``field.sub=value`` for mapping fields
such as ``path_tariffs_electric.hp``) and ``--map-prefix OLD=NEW`` rewrites the start of every path
field (longest matching OLD wins), after relative paths are resolved.
"""

from __future__ import annotations

import copy
import dataclasses
import os
import posixpath
from dataclasses import dataclass
from typing import Any

import yaml

from ratedesign.errors import InputError
from ratedesign.fsio import read_yaml

RUN_TYPES = ("precalc", "default")
RESIDUAL_METHODS = ("percustomer", "volumetric", "epmc", "passthrough")


@dataclass
class ScenarioConfig:
    """Fields of one run (platform names; the last block are ratedesign's own options).

    Paths are local paths or URLs (s3://...). Money in $, years as integers.
    """

    run_name: str
    state: str
    utility: str
    run_type: str
    path_resstock_metadata: str
    path_resstock_loads: str
    path_utility_assignment: str
    path_tariff_maps_electric: str
    path_tariffs_electric: dict
    utility_revenue_requirement: str
    path_tariff_maps_gas: str | None = None
    path_tariffs_gas: str | None = None
    path_dist_and_sub_tx_mc: str | None = None
    path_bulk_tx_mc: str | None = None
    path_supply_energy_mc: str | None = None
    path_supply_capacity_mc: str | None = None
    path_supply_ancillary_mc: str | None = None
    path_electric_utility_stats: str | None = None
    path_outputs: str | None = None
    run_includes_supply: bool = False
    run_includes_subclasses: bool = False
    year_run: int = 2025
    year_dollar_conversion: int | None = None
    upgrade: str | None = None
    sample_size: int | None = None
    solar_pv_compensation: str | None = None
    process_workers: int | None = None
    elasticity: Any = 0.0
    residual_allocation_delivery: str = "percustomer"
    residual_allocation_supply: str = "percustomer"
    subclass_config: dict | None = None
    # ratedesign options
    floor_electricity_net: bool = True
    peak_hours: Any = "mc"
    chunk_size: int | None = None
    customer_count: float | None = None
    utility_tax_rate: float = 0.0
    winter_months: Any = None   # 1-based winter months of demand-flex seasons (periods/<utility>.yaml)
    storage_options: dict | None = None
    source: str = ""

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
        """JSON-able dict of the fields (the run function's params), without ``storage_options``:
        params are recorded in the store (study.json, markers), credentials never are. Runs read
        their inputs with ``ctx.storage_options`` (the study's storage options) instead."""
        params = dataclasses.asdict(self)
        params.pop("storage_options", None)
        return params

    @classmethod
    def from_params(cls, params: dict, source: str = "<params>") -> "ScenarioConfig":
        """Build and validate from a flat dict (unknown keys are an error)."""
        return _build(dict(params), source)


FIELDS = {f.name: f for f in dataclasses.fields(ScenarioConfig)}
REQUIRED = [f.name for f in dataclasses.fields(ScenarioConfig)
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING]
#: scenario fields holding paths (rewritten by --map-prefix, resolved when relative)
PATH_FIELDS = [n for n in FIELDS if n.startswith("path_")] + ["utility_revenue_requirement"]
#: platform fields accepted and ignored
IGNORED = {"run_includes_supply_old", "add_supply_revenue_requirement", "path_td_marginal_costs",
           "path_supply_marginal_costs", "path_tou_supply_mc", "depends_on"}


def _bool(v, name, source):
    if isinstance(v, bool):
        return v
    if isinstance(v, str) and v.strip().lower() in ("true", "false", "yes", "no", "1", "0"):
        return v.strip().lower() in ("true", "yes", "1")
    if isinstance(v, int) and v in (0, 1):
        return bool(v)
    raise InputError(f"scenario {source}: field {name!r} is {v!r}; expected true or false")


def _int(v, name, source, allow_none=False):
    if v is None or v == "":
        if allow_none:
            return None
        raise InputError(f"scenario {source}: field {name!r} is missing; expected an integer")
    try:
        f = float(v)
        if f != int(f):
            raise ValueError
        return int(f)
    except (TypeError, ValueError):
        raise InputError(f"scenario {source}: field {name!r} is {v!r}; expected an integer") from None


def _float(v, name, source, allow_none=False):
    if v is None or v == "":
        if allow_none:
            return None
        raise InputError(f"scenario {source}: field {name!r} is missing; expected a number")
    try:
        return float(v)
    except (TypeError, ValueError):
        raise InputError(f"scenario {source}: field {name!r} is {v!r}; expected a number") from None


def _tariff_paths(v, source) -> dict:
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
                     f"paths, e.g. {{all: tariffs/electric/x.json}}; got {v!r}")


def _build(d: dict, source: str) -> ScenarioConfig:
    for k in list(d):
        if k in IGNORED:
            d.pop(k)
    unknown = sorted(k for k in d if k not in FIELDS)
    if unknown:
        raise InputError(f"scenario {source}: unknown field {unknown[0]!r} (known fields: "
                         f"{', '.join(sorted(FIELDS))})")
    missing = [k for k in REQUIRED if d.get(k) in (None, "") and k != "run_name"]
    if missing:
        raise InputError(f"scenario {source}: required field {missing[0]!r} is missing")
    d.setdefault("run_name", "run")
    d["source"] = source
    d["path_tariffs_electric"] = _tariff_paths(d["path_tariffs_electric"], source)
    d["run_type"] = str(d["run_type"]).strip().lower()
    if d["run_type"] not in RUN_TYPES:
        raise InputError(f"scenario {source}: field 'run_type' is {d['run_type']!r}; expected one of {RUN_TYPES}")
    for b in ("run_includes_supply", "run_includes_subclasses", "floor_electricity_net"):
        if b in d:
            d[b] = _bool(d[b], b, source)
    d["year_run"] = _int(d.get("year_run", 2025), "year_run", source)
    for name in ("year_dollar_conversion", "sample_size", "process_workers", "chunk_size"):
        if name in d:
            d[name] = _int(d[name], name, source, allow_none=True)
    for name in ("customer_count",):
        if name in d:
            d[name] = _float(d[name], name, source, allow_none=True)
    d["utility_tax_rate"] = _float(d.get("utility_tax_rate", 0.0), "utility_tax_rate", source)
    from ratedesign.flex import parse_elasticity
    el = d.get("elasticity", 0.0)
    parse_elasticity(el, f"scenario {source}")
    d["elasticity"] = dict(el) if isinstance(el, dict) else float(el if el not in (None, "") else 0.0)
    for name in ("residual_allocation_delivery", "residual_allocation_supply"):
        if name in d and d[name] is not None:
            d[name] = str(d[name])
            if d[name] not in RESIDUAL_METHODS:
                raise InputError(f"scenario {source}: field {name!r} is {d[name]!r}; expected one of {RESIDUAL_METHODS}")
        else:
            d.pop(name, None)
    if d.get("upgrade") is not None:
        d["upgrade"] = f"{_int(d['upgrade'], 'upgrade', source):02d}"
    for name in PATH_FIELDS:
        if name in d and d[name] is not None and name != "path_tariffs_electric":
            d[name] = str(d[name])
    if d.get("storage_options") is not None and not isinstance(d["storage_options"], dict):
        raise InputError(f"scenario {source}: field 'storage_options' must be a mapping")
    cfg = ScenarioConfig(**d)
    if cfg.run_includes_subclasses and not cfg.subclass_config and set(cfg.path_tariffs_electric) == {"hp", "non-hp"}:
        # the platform's default subclass split (utils/mid/compute_subclass_rr.py: DEFAULT_GROUP_COL = has_hp)
        cfg.subclass_config = {"group_col": "has_hp", "selectors": {"hp": "true", "non-hp": "false"}}
    if cfg.run_includes_subclasses and cfg.run_type == "precalc" and set(cfg.path_tariffs_electric) == {"all"}:
        raise InputError(f"scenario {source}: 'run_includes_subclasses' is true but 'path_tariffs_electric' has "
                         f"only 'all'; expected one tariff per subclass (e.g. hp, non-hp)")
    return cfg


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
    """``['OLD=NEW', ...]`` -> [(OLD, NEW)], longest OLD first."""
    out = []
    for it in items or []:
        old, sep, new = str(it).partition("=")
        if not sep or not old:
            raise InputError(f"--map-prefix {it!r}: expected OLD=NEW")
        out.append((old, new))
    return sorted(out, key=lambda t: -len(t[0]))


def rewrite_prefix(path: str, maps: list[tuple[str, str]]) -> str:
    """Replace the longest matching OLD prefix of ``path`` by NEW."""
    for old, new in maps:
        if path.startswith(old):
            return new + path[len(old):]
    return path


def apply_sets(entry: dict, sets, source: str) -> dict:
    """Apply ``field=value`` overrides (value parsed as YAML; ``a.b=v`` sets a key of a mapping field)."""
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
    """Entry of ``runs`` by key, or the Nth (1-based) entry when ``run`` is an integer not used as a key."""
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
    """The parsed scenario YAML; InputError unless it has a non-empty top-level ``runs:`` mapping.

    Parsed documents are cached by path and content (a 37-entry file is parsed once, not once per
    entry); callers must not modify the returned mapping (``load_scenario`` deep-copies its entry).
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
    """Parse one run of a scenario YAML, apply --set, resolve relative paths, apply --map-prefix."""
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

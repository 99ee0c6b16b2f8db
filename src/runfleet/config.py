"""Cluster profiles: find, load and validate the ``clusters:`` section of a runfleet config file.

Where the file is found (first that applies):

1. ``$RUNFLEET_CONFIG`` (must exist when set),
2. ``./runfleet.yaml`` in the working directory,
3. ``runfleet.yaml`` in the user config dir (``platformdirs.user_config_dir("runfleet")``,
   e.g. ``~/.config/runfleet/runfleet.yaml``).

Shape::

    clusters:
      NAME:
        kind: local | address | slurm | pbs | sge | lsf | gateway | ec2 | fargate | kubernetes | ssh | slurm-array
        <backend options>          # see src/runfleet/clusters/defaults.yaml (slurm-array: runfleet/arrays/profile.py)
        adapt: {minimum: 0, maximum: 20}   # or false for a fixed size (`workers`)
        env:
          forward: [AWS_*, MY_TOKEN]        # names or globs, values read from the driver's env
          set: {OMP_NUM_THREADS: "1"}
          pythonpath: [./src]               # relative to the config file's directory

Every problem raises :class:`ConfigError` naming the file, the profile and the field. Values are
never echoed back in errors (they may be secrets); only their type is.
"""
from __future__ import annotations

import fnmatch
import os
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Mapping

import yaml

from .errors import InputError
from .yamlfile import read_yaml_file

CONFIG_ENV_VAR = "RUNFLEET_CONFIG"
CONFIG_FILE_NAME = "runfleet.yaml"
BUILTIN = "<built-in>"
JOBQUEUE_KINDS = ("slurm", "pbs", "sge", "lsf")
#: kinds whose options a model in their own package validates: kind -> "module:function", called
#: as function(raw options without kind/env/description, where) -> options with defaults
PLUGIN_KINDS = {"slurm-array": "runfleet.arrays.profile:validate_options"}
KINDS = ("local", "address", *JOBQUEUE_KINDS, "gateway", "ec2", "fargate", "kubernetes", "ssh", *PLUGIN_KINDS)
COMMON_KEYS = ("kind", "adapt", "env", "description")

_SECRET_NAME = re.compile(r"KEY|SECRET|TOKEN|PASSW|CREDENTIAL|SESSION|AUTH|PRIVATE|COOKIE|SIGNATURE", re.I)


class ConfigError(InputError, ValueError):
    """A config file or profile is missing or invalid. ``str(err)`` is one line for the CLI."""


def looks_secret(name: str) -> bool:
    """True for names whose values must never be shown (``AWS_SECRET_ACCESS_KEY``, ``*_TOKEN``...)."""
    return bool(_SECRET_NAME.search(name))


# --------------------------------------------------------------------------- data classes
@dataclass(frozen=True)
class Adapt:
    """Elastic range: the backend keeps between ``minimum`` and ``maximum`` workers (or jobs)."""

    minimum: int
    maximum: int


@dataclass(frozen=True)
class EnvSpec:
    """The ``env:`` section of a profile: what the worker processes get.

    forward: names or globs (``AWS_*``) whose values are copied from the driver's environment.
    set: fixed values. pythonpath: directories prepended to the workers' ``PYTHONPATH``.
    """

    forward: tuple[str, ...] = ()
    set: Mapping[str, str] = field(default_factory=dict)
    pythonpath: tuple[str, ...] = ()

    def __repr__(self) -> str:  # values of `set` may be secrets
        return f"EnvSpec(forward={list(self.forward)}, set=<{len(self.set)} names>, pythonpath={list(self.pythonpath)})"

    def forwarded(self, environ: Mapping[str, str] | None = None) -> tuple[dict[str, str], list[str]]:
        """Values to forward from ``environ`` (default ``os.environ``) and exact names that are missing."""
        environ = os.environ if environ is None else environ
        values: dict[str, str] = {}
        missing: list[str] = []
        for pat in self.forward:
            if any(c in pat for c in "*?["):
                values.update({k: v for k, v in environ.items() if fnmatch.fnmatchcase(k, pat)})
            elif pat in environ:
                values[pat] = environ[pat]
            else:
                missing.append(pat)
        return values, missing

    def exact_names(self) -> list[str]:
        """Forwarded names that are not globs plus the names set: what must exist on every worker."""
        return [p for p in self.forward if not any(c in p for c in "*?[")] + list(self.set)

    def resolve(self, extra: Mapping[str, str] | None = None,
                environ: Mapping[str, str] | None = None) -> dict[str, str]:
        """The full worker environment: forwarded, then ``set``, then ``extra`` (the engine's),
        with ``pythonpath`` entries and any ``PYTHONPATH`` from ``set``/``extra`` joined."""
        env, _ = self.forwarded(environ)
        env.pop("PYTHONPATH", None)
        env.update({k: str(v) for k, v in self.set.items()})
        paths = list(self.pythonpath)
        for src in (self.set, extra or {}):
            if src.get("PYTHONPATH"):
                paths.extend(p for p in str(src["PYTHONPATH"]).split(os.pathsep) if p)
        env.update({k: str(v) for k, v in (extra or {}).items()})
        if paths:
            seen: list[str] = []
            for p in paths:
                if p not in seen:
                    seen.append(p)
            env["PYTHONPATH"] = os.pathsep.join(seen)
        return env


@dataclass(frozen=True)
class Profile:
    """One validated cluster profile. ``options`` are the backend options merged over the kind's
    defaults; ``source`` is the file it came from (or ``<built-in>``)."""

    name: str
    kind: str
    options: Mapping[str, Any]
    adapt: Adapt | None
    env: EnvSpec
    source: str = BUILTIN
    description: str = ""

    def __repr__(self) -> str:  # options may hold credentials: show keys only
        return (f"Profile(name={self.name!r}, kind={self.kind!r}, source={self.source!r}, "
                f"adapt={self.adapt}, options=<{', '.join(sorted(self.options))}>, env={self.env!r})")

    def where(self, key: str) -> str:
        return f"{self.source}: clusters.{self.name}.{key}"


# --------------------------------------------------------------------------- defaults
@lru_cache(maxsize=1)
def _defaults_doc() -> dict:
    path = Path(__file__).with_name("clusters") / "defaults.yaml"
    with open(path) as f:
        return yaml.safe_load(f)


def kind_defaults(kind: str) -> dict[str, Any]:
    """The defaults of one kind (a deep copy), including its ``adapt`` default."""
    import copy

    kinds = _defaults_doc()["kinds"]
    return copy.deepcopy(kinds[kind])


def _expected_type(key: str, default: Any) -> str:
    types = _defaults_doc().get("types", {})
    if key in types:
        return types[key]
    if isinstance(default, bool):
        return "bool"
    if isinstance(default, int):
        return "int"
    if isinstance(default, float):
        return "number"
    if isinstance(default, str):
        return "str"
    if isinstance(default, list):
        return "list"
    if isinstance(default, dict):
        return "mapping"
    return "any"


_TYPE_CHECKS = {
    "str": lambda v: isinstance(v, str),
    "int": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "bool": lambda v: isinstance(v, bool),
    "list": lambda v: isinstance(v, list),
    "mapping": lambda v: isinstance(v, dict),
    "any": lambda v: True,
}
_TYPE_WORDS = {"str": "a string", "int": "an integer", "number": "a number", "bool": "true or false",
               "list": "a list", "mapping": "a mapping", "any": "a value"}


def _type_name(v: Any) -> str:
    return {dict: "mapping", list: "list", str: "string", bool: "boolean", int: "integer",
            float: "number", type(None): "null"}.get(type(v), type(v).__name__)


def _check_type(where: str, value: Any, expected: str) -> None:
    alts = expected.split("|")
    if value is None or any(_TYPE_CHECKS[a](value) for a in alts):
        return
    words = " or ".join(_TYPE_WORDS[a] for a in alts)
    raise ConfigError(f"{where}: expected {words}, got {_type_name(value)}")


# --------------------------------------------------------------------------- validation
def parse_duration_s(value: Any, where: str = "duration") -> float:
    """Seconds from ``90``, ``"90s"``, ``"30 minutes"``, ``"01:30:00"`` or ``"1-00:00:00"``
    (batch walltime forms: ``MM``, ``MM:SS``, ``HH:MM:SS``, ``D-HH``, ``D-HH:MM``, ``D-HH:MM:SS``)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{where}: expected seconds or a duration like '01:00:00', got {_type_name(value)}")
    s = value.strip()
    m = re.fullmatch(r"(?:(\d+)-)?(\d+)(?::(\d+))?(?::(\d+))?", s)
    if m:
        days, a, b, c = m.groups()
        if days is not None:  # D-HH[:MM[:SS]]
            parts = [int(a), int(b or 0), int(c or 0)]
            return float(int(days) * 86400 + parts[0] * 3600 + parts[1] * 60 + parts[2])
        if c is not None:  # HH:MM:SS
            return float(int(a) * 3600 + int(b) * 60 + int(c))
        if b is not None:  # MM:SS
            return float(int(a) * 60 + int(b))
        return float(int(a) * 60)  # bare number in a walltime string = minutes (SLURM)
    try:
        from dask.utils import parse_timedelta

        return float(parse_timedelta(s))
    except Exception:  # noqa: BLE001
        raise ConfigError(f"{where}: expected a duration like '01:00:00' or '30 minutes'") from None


def _validate_adapt(where: str, raw: Any, default: Any, kind: str) -> Adapt | None:
    if raw is None:
        raw = default
    if raw is None or raw is False:
        return None
    if kind in ("address", "ssh") and raw is not default:
        raise ConfigError(f"{where}: kind {kind!r} cannot adapt (it does not start workers on demand); remove it")
    if raw is True:
        raw = default or {"minimum": 0, "maximum": 10}
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: expected a mapping {{minimum, maximum}} or false, got {_type_name(raw)}")
    unknown = set(raw) - {"minimum", "maximum"}
    if unknown:
        raise ConfigError(f"{where}.{sorted(unknown)[0]}: unknown key; expected minimum and maximum")
    lo = raw.get("minimum", (default or {}).get("minimum", 0))
    hi = raw.get("maximum", (default or {}).get("maximum", 10))
    for key, v in (("minimum", lo), ("maximum", hi)):
        if not (isinstance(v, int) and not isinstance(v, bool)) or v < 0:
            raise ConfigError(f"{where}.{key}: expected an integer >= 0, got {_type_name(v)}"
                              + (f" {v}" if isinstance(v, int) and not isinstance(v, bool) else ""))
    if hi < max(lo, 1):
        raise ConfigError(f"{where}.maximum: expected an integer >= max(minimum, 1), got {hi}")
    return Adapt(lo, hi)


def _validate_env(where: str, raw: Any, base_dir: Path | None) -> EnvSpec:
    if raw is None:
        return EnvSpec()
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: expected a mapping with forward, set, pythonpath; got {_type_name(raw)}")
    unknown = set(raw) - {"forward", "set", "pythonpath"}
    if unknown:
        raise ConfigError(f"{where}.{sorted(unknown)[0]}: unknown key; expected forward, set or pythonpath")
    fwd = raw.get("forward") or []
    if isinstance(fwd, str):
        fwd = [fwd]
    if not isinstance(fwd, list) or not all(isinstance(x, str) and x for x in fwd):
        raise ConfigError(f"{where}.forward: expected a list of variable names or globs like AWS_*")
    for x in fwd:
        if not re.fullmatch(r"[A-Za-z_*?\[\]][A-Za-z0-9_*?\[\]!]*", x):
            raise ConfigError(f"{where}.forward: {x!r} is not a variable name or glob")
    sets = raw.get("set") or {}
    if not isinstance(sets, dict):
        raise ConfigError(f"{where}.set: expected a mapping NAME: value, got {_type_name(sets)}")
    clean: dict[str, str] = {}
    for k, v in sets.items():
        if not isinstance(k, str) or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", k):
            raise ConfigError(f"{where}.set: {k!r} is not a variable name")
        if not isinstance(v, (str, int, float, bool)):
            raise ConfigError(f"{where}.set.{k}: expected a string or number, got {_type_name(v)}")
        clean[k] = str(v).lower() if isinstance(v, bool) else str(v)
    pp = raw.get("pythonpath") or []
    if isinstance(pp, str):
        pp = [pp]
    if not isinstance(pp, list) or not all(isinstance(x, str) and x for x in pp):
        raise ConfigError(f"{where}.pythonpath: expected a list of directories")
    paths = []
    for p in pp:
        p = os.path.expanduser(os.path.expandvars(p))
        if not os.path.isabs(p) and base_dir is not None:
            p = str((base_dir / p).resolve())
        paths.append(p)
    return EnvSpec(forward=tuple(fwd), set=clean, pythonpath=tuple(paths))


def validate_profile(name: str, raw: Any, source: str = BUILTIN, base_dir: Path | None = None) -> Profile:
    """Turn one raw ``clusters.NAME`` mapping into a :class:`Profile` or raise :class:`ConfigError`."""
    where = f"{source}: clusters.{name}"
    if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*", name):
        raise ConfigError(f"{source}: clusters: profile name {name!r} must be letters, digits, '-', '_' or '.'")
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: expected a mapping with at least `kind`, got {_type_name(raw)}")
    kind = raw.get("kind")
    if kind is None:
        raise ConfigError(f"{where}.kind: missing; expected one of {', '.join(KINDS)}")
    if kind not in KINDS:
        raise ConfigError(f"{where}.kind: expected one of {', '.join(KINDS)}, got {kind!r}")
    if kind in PLUGIN_KINDS:
        return _validate_plugin_kind(name, raw, kind, where, source, base_dir)
    defaults = kind_defaults(kind)
    adapt_default = defaults.pop("adapt", None)
    options: dict[str, Any] = dict(defaults)
    for key, value in raw.items():
        if key in COMMON_KEYS:
            continue
        if key not in defaults:
            known = ", ".join(sorted([*defaults, "adapt", "env", "description"]))
            raise ConfigError(f"{where}.{key}: unknown option for kind {kind!r}; expected one of: {known}")
        _check_type(f"{where}.{key}", value, _expected_type(key, defaults[key]))
        options[key] = value
    adapt = _validate_adapt(f"{where}.adapt", raw.get("adapt"), adapt_default, kind)
    env = _validate_env(f"{where}.env", raw.get("env"), base_dir)
    desc = raw.get("description") or ""
    _check_type(f"{where}.description", desc, "str")
    profile = Profile(name=name, kind=kind, options=options, adapt=adapt, env=env, source=source,
                      description=desc)
    _validate_kind_rules(profile)
    return profile


def _validate_plugin_kind(name: str, raw: dict, kind: str, where: str, source: str,
                          base_dir: Path | None) -> Profile:
    import importlib

    module, _, attr = PLUGIN_KINDS[kind].partition(":")
    check = getattr(importlib.import_module(module), attr)
    options = check({k: v for k, v in raw.items() if k not in ("kind", "env", "description")}, where)
    desc = raw.get("description") or ""
    _check_type(f"{where}.description", desc, "str")
    return Profile(name=name, kind=kind, options=options, adapt=None,
                   env=_validate_env(f"{where}.env", raw.get("env"), base_dir), source=source, description=desc)


def _validate_kind_rules(p: Profile) -> None:
    o = p.options
    if p.kind == "address":
        if bool(o.get("address")) == bool(o.get("scheduler_file")):
            raise ConfigError(f"{p.where('address')}: expected exactly one of `address` "
                              "(tcp://host:8786) or `scheduler_file`")
        addr = o.get("address")
        if addr and not re.match(r"^(tcp|tls|ucx|ws|wss|inproc)://", addr) and ":" not in addr:
            raise ConfigError(f"{p.where('address')}: expected a scheduler address like tcp://host:8786")
    if p.kind in JOBQUEUE_KINDS:
        wall = parse_duration_s(o["walltime"], p.where("walltime"))
        if wall <= 0:
            raise ConfigError(f"{p.where('walltime')}: expected a positive walltime like '01:00:00'")
        parse_duration_s(o["walltime_margin"], p.where("walltime_margin"))
        for key in ("cores", "processes"):
            if o[key] is None or o[key] < 1:
                raise ConfigError(f"{p.where(key)}: expected an integer >= 1")
    if p.kind == "gateway" and o.get("auth") not in (None, "basic", "kerberos", "jupyterhub"):
        raise ConfigError(f"{p.where('auth')}: expected basic, kerberos or jupyterhub, got {o['auth']!r}")
    if p.kind == "ssh" and len(o.get("hosts") or []) < 2:
        raise ConfigError(f"{p.where('hosts')}: expected at least 2 hosts (scheduler first, then workers)")
    if p.kind == "ec2" and not o.get("security_groups"):
        raise ConfigError(f"{p.where('security_groups')}: expected a list of security group ids "
                          "(dask-cloudprovider 2025.9 cannot create a default one)")
    if p.kind == "fargate" and o.get("image") is None:
        raise ConfigError(f"{p.where('image')}: expected the container image workers run "
                          "(with the same package versions as the driver)")
    if p.kind in ("gateway", "ec2", "fargate", "kubernetes", "ssh"):
        parse_duration_s(o["idle_timeout"], p.where("idle_timeout"))


# --------------------------------------------------------------------------- files
def user_config_path() -> Path:
    import platformdirs

    return Path(platformdirs.user_config_dir("runfleet")) / CONFIG_FILE_NAME


def find_config_path() -> Path | None:
    """The config file in effect (see module docstring), or ``None`` when there is none."""
    env = os.environ.get(CONFIG_ENV_VAR)
    if env:
        p = Path(env).expanduser()
        if not p.is_file():
            raise ConfigError(f"{p}: {CONFIG_ENV_VAR} points to a file that does not exist")
        return p
    local = Path.cwd() / CONFIG_FILE_NAME
    if local.is_file():
        return local
    user = user_config_path()
    if user.is_file():
        return user
    return None


def builtin_profiles() -> dict[str, Profile]:
    return {"local": validate_profile("local", {"kind": "local"})}


def load_profiles(path: str | os.PathLike | None = None) -> dict[str, Profile]:
    """All profiles: the built-in ``local`` plus those of the config file (which may redefine it).

    path: a config file; default :func:`find_config_path`.
    """
    profiles = builtin_profiles()
    p = Path(path) if path is not None else find_config_path()
    if p is None:
        return profiles
    source = str(p)
    doc = read_yaml_file(p, "cluster profiles file", ConfigError)
    if doc is None:
        return profiles
    if not isinstance(doc, dict):
        raise ConfigError(f"{source}: expected a mapping with a top-level `clusters:` key, got {_type_name(doc)}")
    clusters = doc.get("clusters")
    if clusters is None:
        return profiles
    if not isinstance(clusters, dict):
        raise ConfigError(f"{source}: clusters: expected a mapping NAME -> profile, got {_type_name(clusters)}")
    base_dir = p.resolve().parent
    for name, raw in clusters.items():
        profiles[str(name)] = validate_profile(str(name), raw, source, base_dir)
    return profiles


def get_profile(name: str, path: str | os.PathLike | None = None) -> Profile:
    """The profile ``name`` or a :class:`ConfigError` listing the ones that exist."""
    profiles = load_profiles(path)
    if name not in profiles:
        p = Path(path) if path is not None else find_config_path()
        where = str(p) if p else f"no config file (looked at ${CONFIG_ENV_VAR}, ./{CONFIG_FILE_NAME}, {user_config_path()})"
        raise ConfigError(f"{where}: clusters.{name}: no such profile; known: {', '.join(sorted(profiles))}")
    return profiles[name]


__all__ = ["Adapt", "ConfigError", "EnvSpec", "Profile", "find_config_path", "get_profile", "kind_defaults",
           "load_profiles", "looks_secret", "parse_duration_s", "user_config_path", "validate_profile"]

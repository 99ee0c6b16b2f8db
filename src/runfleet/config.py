"""Cluster profiles: find, load and validate the ``clusters:`` section of a runfleet config file.

Where the file is found (first that applies):

1. ``runfleet.profiles-file`` in Dask's configuration (``DASK_RUNFLEET__PROFILES_FILE``, or the
   old name ``$RUNFLEET_CONFIG``; must exist when set),
2. ``./runfleet.yaml`` in the working directory,
3. ``runfleet.yaml`` in the user config dir (``platformdirs.user_config_dir("runfleet")``,
   e.g. ``~/.config/runfleet/runfleet.yaml``).

Shape::

    clusters:
      NAME:
        kind: local | address | slurm | pbs | sge | lsf | gateway | ec2 | fargate | kubernetes | ssh | slurm-array
        <backend options>          # one pydantic model per kind (below; slurm-array: runfleet/arrays/profile.py)
        adapt: {minimum: 0, maximum: 20}   # or false for a fixed size (`workers`)
        aws_profile: osn                    # AWS credentials profile resolved on the driver
        env:
          forward: [AWS_*, MY_TOKEN]        # names or globs, values read from the driver's env
          set: {OMP_NUM_THREADS: "1"}
          pythonpath: [./src]               # relative to the config file's directory

**Layered over Dask's own configuration.** A value the profile does not set comes from the
site's Dask configuration when it has one (``jobqueue.<kind>`` for batch kinds, ``gateway`` for
gateway, ``cloudprovider.<kind>`` for ec2/fargate: YAML files under ``~/.config/dask`` or
``$DASK_CONFIG``, ``DASK_*`` environment variables), else from runfleet's default. List options
that add lines (``job_script_prologue``, ``job_extra_directives``, ``worker_extra_args``) append
the profile's entries to the site's. :attr:`Profile.origins` records where each value came from.

**Facility forms.** ``$VAR`` / ``${VAR}`` in string options are expanded at load from the
driver's environment (an unset variable is an error naming it; ``$$`` is a literal ``$``),
except in options the job's shell reads on the compute node (``job_script_prologue``,
``local_directory``, ``worker_extra_args``, ``python``). ``job_extra_directives`` takes a list
or a mapping (``{exclusive: user}`` -> ``--exclusive=user``; ``{hint: null}`` -> ``--hint``).
``walltime``: a bare number is minutes (as SLURM reads ``-t 90``), or ``HH:MM:SS``, ``MM:SS``,
``D-HH:MM:SS``, ``1h30m``.

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
from typing import Annotated, Any, ClassVar, Literal, Mapping, Union

import dask.config
import yaml
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, TypeAdapter, ValidationError

from .errors import InputError
from .yamlfile import read_yaml_file

CONFIG_ENV_VAR = "RUNFLEET_CONFIG"
CONFIG_FILE_NAME = "runfleet.yaml"
BUILTIN = "<built-in>"
COMMON_KEYS = ("kind", "adapt", "env", "description", "aws_profile")
#: kinds that are not Dask clusters but execution backends of their own (no scheduler, no
#: workers): kind -> "module:function" validating the options with a pydantic model in its own
#: package, called as function(raw options without kind/env/description, where) -> options
PLUGIN_KINDS = {"slurm-array": "runfleet.arrays.profile:validate_options"}

_SECRET_NAME = re.compile(r"KEY|SECRET|TOKEN|PASSW|CREDENTIAL|SESSION|AUTH|PRIVATE|COOKIE|SIGNATURE", re.I)


class ConfigError(InputError, ValueError):
    """A config file or profile is missing or invalid. ``str(err)`` is one line for the CLI."""


def looks_secret(name: str) -> bool:
    """True for names whose values must never be shown (``AWS_SECRET_ACCESS_KEY``, ``*_TOKEN``...)."""
    return bool(_SECRET_NAME.search(name))


# --------------------------------------------------------------------------- runfleet's own knobs
_DEFAULTS_FILE = Path(__file__).with_name("runfleet.yaml")
with open(_DEFAULTS_FILE) as _f:
    dask.config.update_defaults(yaml.safe_load(_f))

#: Old environment variable names still honoured (they win over Dask's configuration).
LEGACY_ENV = {"profiles-file": "RUNFLEET_CONFIG", "timeout-grace": "RUNFLEET_TIMEOUT_GRACE_S",
              "progress-interval": "RUNFLEET_PROGRESS_INTERVAL"}


def setting(key: str) -> Any:
    """One of runfleet's own settings: ``runfleet.<key>`` in Dask's configuration.

    Parameters
    ----------
    key : str
        ``profiles-file``, ``timeout-grace`` (s), ``progress-interval`` (s), ... (documented in
        ``src/runfleet/runfleet.yaml`` and docs/clusters.md).

    Returns
    -------
    Any
        The value from (first that has it) the old ``RUNFLEET_*`` variable, ``dask.config.set``,
        ``DASK_RUNFLEET__<KEY>``, a YAML file in Dask's config directories, runfleet's default.
    """
    legacy = LEGACY_ENV.get(key)
    if legacy and os.environ.get(legacy):
        return yaml.safe_load(os.environ[legacy]) if key != "profiles-file" else os.environ[legacy]
    return dask.config.get(f"runfleet.{key}")


# --------------------------------------------------------------------------- data classes
@dataclass(frozen=True)
class Adapt:
    """Elastic range: the backend keeps between ``minimum`` and ``maximum`` workers (or jobs).

    ``interval`` (s), ``wait_count`` and ``target_duration`` (s) are Dask's adaptive knobs
    (``distributed.deploy.Adaptive``): ``None`` leaves Dask's configuration
    (``distributed.adaptive.interval``, ``wait-count``, ``target-duration``) in charge. An idle
    worker is retired after about ``interval x wait_count`` seconds.
    """

    minimum: int
    maximum: int
    interval: float | None = None
    wait_count: int | None = None
    target_duration: float | None = None

    def knobs(self) -> dict:
        """The adaptive knobs the profile sets, as ``cluster.adapt`` keyword arguments."""
        return {k: v for k, v in (("interval", self.interval), ("wait_count", self.wait_count),
                                  ("target_duration", self.target_duration)) if v is not None}


@dataclass(frozen=True)
class EnvSpec:
    """The ``env:`` section of a profile: what the worker processes get.

    forward: names or globs (``AWS_*``) whose values are copied from the driver's environment
    (a glob never forwards ``AWS_*`` variables that hold driver-local file paths, such as
    ``AWS_CA_BUNDLE``). set: fixed values. pythonpath: directories prepended to ``PYTHONPATH``.
    """

    forward: tuple[str, ...] = ()
    set: Mapping[str, str] = field(default_factory=dict)
    pythonpath: tuple[str, ...] = ()

    def __repr__(self) -> str:  # values of `set` may be secrets
        return f"EnvSpec(forward={list(self.forward)}, set=<{len(self.set)} names>, pythonpath={list(self.pythonpath)})"

    def forwarded(self, environ: Mapping[str, str] | None = None) -> tuple[dict[str, str], list[str]]:
        """Values to forward from ``environ`` (default ``os.environ``) and exact names that are missing."""
        from .clusters.aws import LOCAL_PATH_VARS

        environ = os.environ if environ is None else environ
        values: dict[str, str] = {}
        missing: list[str] = []
        for pat in self.forward:
            if any(c in pat for c in "*?["):
                values.update({k: v for k, v in environ.items()
                               if fnmatch.fnmatchcase(k, pat) and k not in LOCAL_PATH_VARS})
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
            env["PYTHONPATH"] = os.pathsep.join(dict.fromkeys(paths))
        return env


@dataclass(frozen=True)
class Profile:
    """One validated cluster profile.

    ``options`` are the backend options (profile over site Dask config over runfleet defaults);
    ``origins`` says for each option where its value came from (``profile``, ``site config``,
    ``default``, or ``site config + profile`` for merged lists); ``source`` is the file the
    profile came from (or ``<built-in>``).
    """

    name: str
    kind: str
    options: Mapping[str, Any]
    adapt: Adapt | None
    env: EnvSpec
    source: str = BUILTIN
    description: str = ""
    aws_profile: str | None = None
    origins: Mapping[str, str] = field(default_factory=dict)

    def __repr__(self) -> str:  # options may hold credentials: show keys only
        return (f"Profile(name={self.name!r}, kind={self.kind!r}, source={self.source!r}, "
                f"adapt={self.adapt}, options=<{', '.join(sorted(self.options))}>, env={self.env!r})")

    def where(self, key: str) -> str:
        """``<file>: clusters.<name>.<key>`` for messages (``--cluster`` for a name given on the command line)."""
        if self.source == "--cluster":
            return "--cluster"
        return f"{self.source}: clusters.{self.name}.{key}"


# --------------------------------------------------------------------------- value types
def _type_name(v: Any) -> str:
    return {dict: "mapping", list: "list", str: "string", bool: "boolean", int: "integer",
            float: "number", type(None): "null"}.get(type(v), type(v).__name__)


_TYPE_CHECKS = {
    "str": lambda v: isinstance(v, str),
    "int": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "bool": lambda v: isinstance(v, bool),
    "list": lambda v: isinstance(v, list),
    "mapping": lambda v: isinstance(v, dict),
}
_TYPE_WORDS = {"str": "a string", "int": "an integer", "number": "a number", "bool": "true or false",
               "list": "a list", "mapping": "a mapping"}


def _typed(expected: str):
    """A pydantic field type that accepts ``expected`` (``"str|int"``) or null, with our wording."""
    alts = expected.split("|")
    words = " or ".join(_TYPE_WORDS[a] for a in alts)

    def check(v):
        if v is None or any(_TYPE_CHECKS[a](v) for a in alts):
            return v
        raise ValueError(f"expected {words}, got {_type_name(v)}")

    return Annotated[Any, BeforeValidator(check)]


Str = _typed("str")
Int = _typed("int")
Num = _typed("number")
Bool = _typed("bool")
List = _typed("list")
Map = _typed("mapping")
StrOrNum = _typed("str|number")
ListOrMap = _typed("list|mapping")


# --------------------------------------------------------------------------- models, one per kind
class _Base(BaseModel):
    """Keys every profile may have. ``adapt`` and ``env`` are checked by their own functions."""

    model_config = ConfigDict(extra="forbid")

    ADAPT_DEFAULT: ClassVar[dict | None] = None
    #: options the job's shell reads on the compute node: ``$VAR`` kept literal
    SHELL_FIELDS: ClassVar[frozenset] = frozenset()
    #: list options whose entries are appended to the site's instead of replacing them
    APPEND_FIELDS: ClassVar[frozenset] = frozenset()

    description: Str = ""
    adapt: Any = None
    env: Any = None
    aws_profile: Str = None


class LocalProfile(_Base):
    """``kind: local``: the embedded LocalCluster (processes)."""

    kind: Literal["local"]
    workers: Int = None               # worker processes; null = one per core
    threads_per_worker: Int = 1
    memory_limit: StrOrNum = "auto"   # per worker, e.g. "4GB"
    dashboard_address: Str = ":0"


class AddressProfile(_Base):
    """``kind: address``: a scheduler somebody already started (never scaled from here)."""

    kind: Literal["address"]
    address: Str = None               # tcp://host:8786 (exactly one of address / scheduler_file)
    scheduler_file: Str = None        # JSON file written by `dask scheduler --scheduler-file`
    timeout: Num = None               # s to wait for the scheduler; null = Dask's distributed.comm.timeouts.connect


class _JobqueueProfile(_Base):
    """Batch kinds on dask-jobqueue (slurm, pbs, sge, lsf)."""

    ADAPT_DEFAULT: ClassVar[dict | None] = {"minimum": 0, "maximum": 10}
    SHELL_FIELDS: ClassVar[frozenset] = frozenset({"job_script_prologue", "local_directory",
                                                    "worker_extra_args", "python"})
    APPEND_FIELDS: ClassVar[frozenset] = frozenset({"job_script_prologue", "job_extra_directives",
                                                     "worker_extra_args"})

    cores: Int = 1                    # per job
    processes: Int = 1                # worker processes per job
    memory: Str = "4GB"               # per job
    walltime: StrOrNum = "01:00:00"   # bare number = minutes; HH:MM:SS; 1h30m
    walltime_margin: StrOrNum = 300   # s: workers retire this long before the walltime
    queue: Str = None
    account: Str = None
    interface: Str = None             # e.g. ib0; null = default route
    host: Str = None                  # scheduler/worker listen address
    local_directory: Str = None       # node-local disk, e.g. $TMPDIR (expanded by the job's shell)
    log_directory: Str = None
    death_timeout: Num = 60           # s: a worker exits this long after the scheduler is gone
    job_extra_directives: ListOrMap = []
    job_directives_skip: List = []
    job_script_prologue: List = []    # extra shell lines (module load ..., conda activate ...)
    worker_extra_args: List = []
    python: Str = None                # python on the compute nodes; null = this interpreter
    secrets_dir: Str = None           # where secret env values go (0600 file sourced by the job)
    workers: Int = 1                  # jobs to keep when adapt is off


class SlurmProfile(_JobqueueProfile):
    """``kind: slurm``: dask-jobqueue's SLURMCluster."""

    kind: Literal["slurm"]


class PbsProfile(_JobqueueProfile):
    """``kind: pbs``: dask-jobqueue's PBSCluster."""

    kind: Literal["pbs"]


class SgeProfile(_JobqueueProfile):
    """``kind: sge``: dask-jobqueue's SGECluster (``account`` is SGE's project, -P)."""

    kind: Literal["sge"]


class LsfProfile(_JobqueueProfile):
    """``kind: lsf``: dask-jobqueue's LSFCluster (``account`` is LSF's project, -P)."""

    kind: Literal["lsf"]


class GatewayProfile(_Base):
    """``kind: gateway``: Dask Gateway (JupyterHub, Nebari, ...)."""

    ADAPT_DEFAULT: ClassVar[dict | None] = {"minimum": 0, "maximum": 10}

    kind: Literal["gateway"]
    address: Str = None               # gateway URL; null = dask-gateway's own config
    proxy_address: Str = None
    public_address: Str = None
    auth: Str = None                  # basic | kerberos | jupyterhub
    username: Str = None              # for auth: basic
    cluster_name: Str = None          # connect to this running cluster ("auto" = the only one)
    cluster_options: Map = {}         # server-declared options
    env_option: Str = None            # option that takes worker env
    shutdown_on_close: Bool = None    # null = true for clusters runfleet created
    idle_timeout: StrOrNum = 1800     # s
    workers: Int = 1


class Ec2Profile(_Base):
    """``kind: ec2``: dask-cloudprovider's EC2Cluster."""

    ADAPT_DEFAULT: ClassVar[dict | None] = {"minimum": 0, "maximum": 10}

    kind: Literal["ec2"]
    region: Str = None
    ami: Str = None
    instance_type: Str = None
    scheduler_instance_type: Str = None
    worker_instance_type: Str = None
    docker_image: Str = None
    security_groups: List = []
    subnet_id: Str = None
    vpc: Str = None
    key_name: Str = None
    iam_instance_profile: Map = None
    filesystem_size: Int = None
    bootstrap: Bool = None
    auto_shutdown: Bool = True
    worker_nthreads: Int = None
    worker_memory: Str = None
    idle_timeout: StrOrNum = 1800
    extra: Map = {}
    workers: Int = 1


class FargateProfile(_Base):
    """``kind: fargate``: dask-cloudprovider's FargateCluster."""

    ADAPT_DEFAULT: ClassVar[dict | None] = {"minimum": 0, "maximum": 10}

    kind: Literal["fargate"]
    region: Str = None
    image: Str = None
    scheduler_cpu: Int = 1024
    scheduler_mem: Int = 4096
    worker_cpu: Int = 1024
    worker_mem: Int = 4096
    worker_nthreads: Int = None
    vpc: Str = None
    subnets: List = []
    security_groups: List = []
    task_role_arn: Str = None
    execution_role_arn: Str = None
    task_role_policies: List = []
    fargate_spot: Bool = False
    idle_timeout: StrOrNum = 1800
    extra: Map = {}
    workers: Int = 1


class KubernetesProfile(_Base):
    """``kind: kubernetes``: dask-kubernetes' operator KubeCluster."""

    ADAPT_DEFAULT: ClassVar[dict | None] = {"minimum": 0, "maximum": 10}

    kind: Literal["kubernetes"]
    namespace: Str = None
    image: Str = "ghcr.io/dask/dask:latest"
    resources: Map = {}
    worker_args: List = []
    scheduler_service_type: Str = "ClusterIP"
    idle_timeout: StrOrNum = 1800
    workers: Int = 1


class SshProfile(_Base):
    """``kind: ssh``: distributed's SSHCluster."""

    kind: Literal["ssh"]
    hosts: List = []
    connect_options: Map = {}
    worker_options: Map = {}
    scheduler_options: Map = {}
    remote_python: Str = None
    idle_timeout: StrOrNum = 1800


# --------------------------------------------------------------------------- the table of kinds
@dataclass(frozen=True)
class Kind:
    """One cluster kind: where its backend lives, what to install, its model, its site config.

    name: the ``kind:`` value. target: ``"module:function"`` opening it. install: pip requirement
    for its library (``None``: distributed alone). model: the pydantic model of its profile.
    site: the ``dask.config`` section its library reads (``None``: none).
    """

    name: str
    target: str
    install: str | None
    model: type
    site: str | None = None


_CLOUD = "dask-cloudprovider[aws]"
KINDS: dict[str, Kind] = {k.name: k for k in (
    Kind("local", "runfleet.clusters.local:open_local", None, LocalProfile),
    Kind("address", "runfleet.clusters.address:open_address", None, AddressProfile),
    Kind("slurm", "runfleet.clusters.slurm:open_slurm", "dask-jobqueue", SlurmProfile, "jobqueue.slurm"),
    Kind("pbs", "runfleet.clusters.pbs:open_pbs", "dask-jobqueue", PbsProfile, "jobqueue.pbs"),
    Kind("sge", "runfleet.clusters.sge:open_sge", "dask-jobqueue", SgeProfile, "jobqueue.sge"),
    Kind("lsf", "runfleet.clusters.lsf:open_lsf", "dask-jobqueue", LsfProfile, "jobqueue.lsf"),
    Kind("gateway", "runfleet.clusters.gateway:open_gateway", "dask-gateway", GatewayProfile, "gateway"),
    Kind("ec2", "runfleet.clusters.ec2:open_ec2", _CLOUD, Ec2Profile, "cloudprovider.ec2"),
    Kind("fargate", "runfleet.clusters.fargate:open_fargate", _CLOUD, FargateProfile, "cloudprovider.ecs"),
    Kind("kubernetes", "runfleet.clusters.kubernetes:open_kubernetes", "dask-kubernetes", KubernetesProfile),
    Kind("ssh", "runfleet.clusters.ssh:open_ssh", "asyncssh", SshProfile),
)}
JOBQUEUE_KINDS = tuple(k for k, v in KINDS.items() if issubclass(v.model, _JobqueueProfile))
CLOUD_KINDS = ("gateway", "ec2", "fargate", "kubernetes", "ssh")  # schedulers with idle_timeout


@lru_cache(maxsize=8)
def _adapter(kinds: tuple[str, ...]) -> TypeAdapter:
    models = tuple(KINDS[k].model for k in kinds)
    union = models[0] if len(models) == 1 else Annotated[Union[models], Field(discriminator="kind")]
    return TypeAdapter(union)


def kind_defaults(kind: str) -> dict[str, Any]:
    """runfleet's defaults of one kind's options (plus its ``adapt`` default)."""
    import copy

    model = KINDS[kind].model
    out = {n: copy.deepcopy(f.default) for n, f in model.model_fields.items() if n not in ("kind", *COMMON_KEYS)}
    out["adapt"] = copy.deepcopy(model.ADAPT_DEFAULT)
    return out


def options_reference() -> str:
    """The Markdown table of kinds and their options with defaults, derived from :data:`KINDS`
    (docs/clusters.md embeds it; a test keeps the two equal)."""
    rows = ["| kind | needs | site config | options (default) |", "|---|---|---|---|"]
    for name, k in KINDS.items():
        defaults = kind_defaults(name)
        adapt = defaults.pop("adapt")
        opts = ", ".join(f"`{o}`={'null' if v is None else v!r}".replace("'", "") for o, v in defaults.items())
        opts += f", `adapt`={'null' if adapt is None else str(adapt['minimum']) + '..' + str(adapt['maximum'])}"
        rows.append(f"| `{name}` | {k.install or 'distributed'} | {('`' + k.site + '`') if k.site else '-'} | {opts} |")
    return "\n".join(rows)


# --------------------------------------------------------------------------- site (Dask) configuration
_SITE_ALIASES = {"project": "account", "job_extra": "job_extra_directives", "env_extra": "job_script_prologue",
                 "extra": "worker_extra_args"}


def _library_defaults(section: str) -> dict:
    """What the backend library itself registered as defaults for ``section`` (not the site's)."""
    head, *rest = section.split(".")
    if head == "jobqueue":
        try:
            import dask_jobqueue  # noqa: F401 - registers its defaults with dask.config
        except ImportError:
            return {}
    out: dict = {}
    for d in dask.config.defaults:
        node = d.get(head)
        for part in rest:
            node = node.get(part) if isinstance(node, dict) else None
        if isinstance(node, dict):
            out.update(node)
    return {k.replace("-", "_"): v for k, v in out.items()}


def site_config(kind: str) -> dict[str, Any]:
    """The site's Dask configuration for ``kind``, in profile option names.

    Only values the site (YAML files in Dask's config directories, ``DASK_*`` variables,
    ``dask.config.set``) sets differently from the backend library's own defaults.
    """
    section = KINDS[kind].site
    if section is None:
        return {}
    lib = _library_defaults(section)
    raw = dask.config.get(section, default={}) or {}
    fields = KINDS[kind].model.model_fields
    out: dict[str, Any] = {}
    for key, value in raw.items():
        k = str(key).replace("-", "_")
        k = _SITE_ALIASES.get(k, k) if k not in fields else k
        if k == "auth" and isinstance(value, dict):  # gateway: auth: {type: basic, kwargs: ...}
            value = value.get("type")
        if k == "cluster" and isinstance(value, dict):  # gateway: cluster: {options: {...}}
            k, value = "cluster_options", value.get("options") or {}
        if k not in fields or k in ("kind", *COMMON_KEYS) or value in (None, [], {}):
            continue
        lib_value = lib.get(str(key).replace("-", "_"))
        if value == lib_value:
            continue
        out[k] = value
    return out


# --------------------------------------------------------------------------- facility forms
_VAR = re.compile(r"\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)")


def expand_vars(value: Any, where: str, environ: Mapping[str, str] | None = None) -> Any:
    """``$VAR`` / ``${VAR}`` in strings (also inside lists and mappings) from ``environ``.

    ``$$`` is a literal ``$``. Raises :class:`ConfigError` naming ``where`` and the variable
    when it is not set (its value is never shown).
    """
    environ = os.environ if environ is None else environ
    if isinstance(value, str):
        def sub(m):
            if m.group(0) == "$$":
                return "$"
            name = m.group(1) or m.group(2)
            if name not in environ:
                raise ConfigError(f"{where}: ${name} is not set in the environment "
                                  "(set it, or write $$ for a literal $)")
            return environ[name]

        return _VAR.sub(sub, value)
    if isinstance(value, list):
        return [expand_vars(v, where, environ) for v in value]
    if isinstance(value, dict):
        return {k: expand_vars(v, f"{where}.{k}", environ) for k, v in value.items()}
    return value


def directive_list(value: Any, where: str) -> list[str]:
    """``job_extra_directives`` as dask-jobqueue wants it: a list of ``--key=value`` strings.

    A list passes through (its entries must be strings); a mapping ``{hint: multithread,
    exclusive: user}`` becomes ``["--hint=multithread", "--exclusive=user"]``; a null or
    ``true`` value gives the bare flag (``--exclusive``); keys already starting with ``-`` keep them.
    """
    if value is None:
        return []
    if isinstance(value, list):
        for v in value:
            if not isinstance(v, str):
                raise ConfigError(f"{where}: expected a list of directives like '--exclusive' or a mapping "
                                  f"{{exclusive: user}}, got a list with a {_type_name(v)}")
        return list(value)
    out = []
    for k, v in value.items():
        flag = str(k) if str(k).startswith("-") else f"--{k}"
        if v is None or v is True:
            out.append(flag)
        elif v is False:
            continue
        elif isinstance(v, (str, int, float)):
            out.append(f"{flag}={v}")
        else:
            raise ConfigError(f"{where}.{k}: expected a string or number, got {_type_name(v)}")
    return out


_HMS = re.compile(r"(?:(\d+)-)?(\d+)(?::(\d+))?(?::(\d+))?")
_UNITS = re.compile(r"(?:(\d+)\s*d)?\s*(?:(\d+)\s*h)?\s*(?:(\d+)\s*m(?:in)?)?\s*(?:(\d+)\s*s)?", re.I)


def parse_walltime_s(value: Any, where: str = "walltime") -> float:
    """Seconds of a batch walltime. The one rule: a bare number (``90`` or ``"90"``) is minutes,
    as SLURM reads ``-t 90``; ``MM:SS``, ``HH:MM:SS``, ``D-HH``, ``D-HH:MM``, ``D-HH:MM:SS`` and
    ``1h30m`` / ``2d`` / ``45m`` / ``30s`` forms are accepted.

    Raises
    ------
    ConfigError
        For anything else (the value is not shown).
    """
    if isinstance(value, bool) or value is None:
        raise ConfigError(f"{where}: expected a walltime like '01:30:00', 90 (minutes) or '1h30m', "
                          f"got {_type_name(value)}")
    if isinstance(value, (int, float)):
        return float(value) * 60
    s = str(value).strip()
    m = _HMS.fullmatch(s)
    if m:
        days, a, b, c = m.groups()
        if days is not None:  # D-HH[:MM[:SS]]
            return float(int(days) * 86400 + int(a) * 3600 + int(b or 0) * 60 + int(c or 0))
        if c is not None:
            return float(int(a) * 3600 + int(b) * 60 + int(c))
        if b is not None:
            return float(int(a) * 60 + int(b))
        return float(int(a) * 60)
    m = _UNITS.fullmatch(s)
    if s and m and any(m.groups()):
        d, h, mi, se = (int(g or 0) for g in m.groups())
        return float(d * 86400 + h * 3600 + mi * 60 + se)
    raise ConfigError(f"{where}: expected a duration like '01:30:00', 90 (minutes) or '1h30m'")


def hms(seconds: float) -> str:
    """``HH:MM:SS`` (hours may exceed 24), the form batch systems and ``--show`` print."""
    s = int(round(seconds))
    return f"{s // 3600:02d}:{s % 3600 // 60:02d}:{s % 60:02d}"


def parse_duration_s(value: Any, where: str = "duration") -> float:
    """Seconds from ``90`` (seconds), ``"90s"``, ``"30 minutes"``, ``"01:30:00"``, ``"1h30m"``
    (a bare number in a *string* is minutes, the batch form)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{where}: expected seconds or a duration like '01:00:00', got {_type_name(value)}")
    try:
        return parse_walltime_s(value, where)
    except ConfigError:
        pass
    try:
        from dask.utils import parse_timedelta

        return float(parse_timedelta(value.strip()))
    except Exception:  # noqa: BLE001
        raise ConfigError(f"{where}: expected a duration like '01:00:00' or '30 minutes'") from None


def walltime_warning(profile: Profile | None, longest_timeout_s: float | None) -> str | None:
    """A warning when a batch profile's walltime is shorter than the study's longest run timeout
    (such a run could never finish inside one job), else ``None``."""
    if profile is None or not isinstance(profile, Profile) or profile.kind not in JOBQUEUE_KINDS:
        return None
    if not longest_timeout_s:
        return None
    wall = parse_walltime_s(profile.options["walltime"], profile.where("walltime"))
    if wall < longest_timeout_s:
        return (f"{profile.where('walltime')}: {hms(wall)} is shorter than the study's longest run timeout "
                f"({hms(longest_timeout_s)}); such a run is killed with its job before its timeout")
    return None


# --------------------------------------------------------------------------- validation
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
    unknown = set(raw) - {"minimum", "maximum", *ADAPT_KNOBS}
    if unknown:
        raise ConfigError(f"{where}.{sorted(unknown)[0]}: unknown key; expected minimum, maximum, "
                          + ", ".join(ADAPT_KNOBS))
    knobs = {k: _adapt_knob(f"{where}.{k}", k, raw[k]) for k in ADAPT_KNOBS if raw.get(k) is not None}
    if knobs and kind in ("gateway", "kubernetes"):
        raise ConfigError(f"{where}.{sorted(knobs)[0]}: kind {kind!r} adapts on its server; set it there "
                          "(remove it here)")
    lo = raw.get("minimum", (default or {}).get("minimum", 0))
    hi = raw.get("maximum", (default or {}).get("maximum", 10))
    for key, v in (("minimum", lo), ("maximum", hi)):
        if not (isinstance(v, int) and not isinstance(v, bool)) or v < 0:
            raise ConfigError(f"{where}.{key}: expected an integer >= 0, got {_type_name(v)}"
                              + (f" {v}" if isinstance(v, int) and not isinstance(v, bool) else ""))
    if hi < max(lo, 1):
        raise ConfigError(f"{where}.maximum: expected an integer >= max(minimum, 1), got {hi}")
    return Adapt(lo, hi, **knobs)


#: Dask's adaptive knobs a profile's ``adapt:`` may set (distributed.adaptive.<name with ->)
ADAPT_KNOBS = ("interval", "wait_count", "target_duration")


def _adapt_knob(where: str, key: str, value: Any) -> float | int:
    if key == "wait_count":
        if not (isinstance(value, int) and not isinstance(value, bool)) or value < 1:
            raise ConfigError(f"{where}: expected an integer >= 1, got {_type_name(value)}")
        return value
    from dask.utils import parse_timedelta

    try:
        seconds = parse_timedelta(value, default="seconds") if not isinstance(value, bool) else None
    except (ValueError, TypeError, KeyError):
        seconds = None
    if seconds is None or seconds <= 0:
        raise ConfigError(f"{where}: expected a duration > 0 (seconds, or e.g. \"500ms\", \"5s\"), "
                          f"got {_type_name(value)}" + (f" {value}" if isinstance(value, (int, float)) else ""))
    return float(seconds)


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


def _model_error(where: str, raw: dict, err: ValidationError) -> ConfigError:
    """One line from pydantic's first error: file, profile, field, what was expected; no value."""
    e = err.errors(include_url=False, include_input=False)[0]
    loc = [str(p) for p in e["loc"]]
    kind = raw.get("kind")
    if loc and loc[0] == kind and kind in KINDS:
        loc = loc[1:]  # the discriminated union's tag
    field_path = ".".join(loc)
    kinds = ", ".join(KINDS)
    if e["type"] == "union_tag_not_found":
        return ConfigError(f"{where}.kind: missing; expected one of {kinds}")
    if e["type"] == "union_tag_invalid" or (e["type"] == "literal_error" and loc == ["kind"]):
        return ConfigError(f"{where}.kind: expected one of {kinds}, got {kind!r}"
                           if isinstance(kind, str) else f"{where}.kind: expected one of {kinds}")
    if e["type"] == "extra_forbidden":
        known = ", ".join(sorted(n for n in KINDS[kind].model.model_fields if n != "kind"))
        return ConfigError(f"{where}.{field_path}: unknown option for kind {kind!r}; expected one of: {known}")
    msg = e["msg"]
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, "):]
    return ConfigError(f"{where}.{field_path}: {msg}")


def validate_profile(name: str, raw: Any, source: str = BUILTIN, base_dir: Path | None = None,
                     environ: Mapping[str, str] | None = None) -> Profile:
    """Turn one raw ``clusters.NAME`` mapping into a :class:`Profile`.

    Parameters
    ----------
    name : str
        Profile name.
    raw : mapping
        The profile as written.
    source : str
        File it came from (for messages and relative ``pythonpath``).
    base_dir : Path, optional
        Directory relative ``env.pythonpath`` entries are resolved against.
    environ : mapping, optional
        Environment for ``$VAR`` expansion (default ``os.environ``).

    Returns
    -------
    Profile

    Raises
    ------
    ConfigError
        One line naming ``source``, ``clusters.NAME`` and the field; values are never shown.
    """
    where = f"{source}: clusters.{name}"
    if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*", name):
        raise ConfigError(f"{source}: clusters: profile name {name!r} must be letters, digits, '-', '_' or '.'")
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: expected a mapping with at least `kind`, got {_type_name(raw)}")
    if "kind" not in raw or raw["kind"] is None:
        raise ConfigError(f"{where}.kind: missing; expected one of {', '.join(KINDS)}")
    if isinstance(raw["kind"], str) and raw["kind"] in PLUGIN_KINDS:
        return _validate_plugin_kind(name, raw, raw["kind"], where, source, base_dir)
    if not isinstance(raw["kind"], str) or raw["kind"] not in KINDS:
        names = ", ".join((*KINDS, *PLUGIN_KINDS))
        raise ConfigError(f"{where}.kind: expected one of {names}, got {raw['kind']!r}"
                          if isinstance(raw["kind"], str) else f"{where}.kind: expected one of {names}")
    try:
        model = _adapter(tuple(KINDS)).validate_python(raw)
    except ValidationError as e:
        raise _model_error(where, raw, e) from None
    kind = model.kind
    set_by_profile = {k for k in model.model_fields_set if k not in ("kind", *COMMON_KEYS)}
    defaults = kind_defaults(kind)
    adapt_default = defaults.pop("adapt", None)
    site = site_config(kind)
    options: dict[str, Any] = {}
    origins: dict[str, str] = {}
    for key, default in defaults.items():
        value, origin = default, "default"
        if key in site:
            value, origin = site[key], "site config"
        if key in set_by_profile:
            mine = getattr(model, key)
            if key not in model.SHELL_FIELDS:
                mine = expand_vars(mine, f"{where}.{key}", environ)
            if key in model.APPEND_FIELDS and origin == "site config" and mine:
                if key == "job_extra_directives":
                    value = directive_list(value, f"{where}.{key}") + directive_list(mine, f"{where}.{key}")
                else:
                    value = list(value) + list(mine)
                origin = "site config + profile"
            else:
                value, origin = mine, "profile"
        if key == "job_extra_directives":
            value = directive_list(value, f"{where}.{key}")
        options[key] = value
        origins[key] = origin
    adapt = _validate_adapt(f"{where}.adapt", model.adapt, adapt_default, kind)
    origins["adapt"] = "profile" if "adapt" in model.model_fields_set else "default"
    env = _validate_env(f"{where}.env", model.env, base_dir)
    aws_profile = expand_vars(model.aws_profile, f"{where}.aws_profile", environ) if model.aws_profile else None
    profile = Profile(name=name, kind=kind, options=options, adapt=adapt, env=env, source=source,
                      description=model.description or "", aws_profile=aws_profile, origins=origins)
    _validate_kind_rules(profile)
    return profile


def _validate_plugin_kind(name: str, raw: dict, kind: str, where: str, source: str,
                          base_dir: Path | None) -> Profile:
    import importlib

    module, _, attr = PLUGIN_KINDS[kind].partition(":")
    check = getattr(importlib.import_module(module), attr)
    options = check({k: v for k, v in raw.items() if k not in ("kind", "env", "description")}, where)
    desc = raw.get("description") or ""
    if not isinstance(desc, str):
        raise ConfigError(f"{where}.description: expected a string, got {_type_name(desc)}")
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
        wall = parse_walltime_s(o["walltime"], p.where("walltime"))
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
    if p.kind in CLOUD_KINDS:
        parse_duration_s(o["idle_timeout"], p.where("idle_timeout"))


# --------------------------------------------------------------------------- files
def user_config_path() -> Path:
    import platformdirs

    return Path(platformdirs.user_config_dir("runfleet")) / CONFIG_FILE_NAME


def find_config_path() -> Path | None:
    """The config file in effect (see module docstring), or ``None`` when there is none."""
    env = setting("profiles-file")
    if env:
        p = Path(str(env)).expanduser()
        if not p.is_file():
            how = CONFIG_ENV_VAR if os.environ.get(CONFIG_ENV_VAR) else "runfleet.profiles-file"
            raise ConfigError(f"{p}: {how} points to a file that does not exist")
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


__all__ = ["Adapt", "ConfigError", "EnvSpec", "KINDS", "Kind", "Profile", "expand_vars", "find_config_path",
           "options_reference",
           "get_profile", "hms", "kind_defaults", "load_profiles", "looks_secret", "parse_duration_s",
           "parse_walltime_s", "setting", "site_config", "user_config_path", "validate_profile",
           "walltime_warning"]

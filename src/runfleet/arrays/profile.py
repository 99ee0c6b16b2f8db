"""The ``slurm-array`` profile kind: its options, validated by a pydantic model.

A profile of this kind runs a study as SLURM job arrays (no Dask cluster)::

    clusters:
      arrays:
        kind: slurm-array
        queue: compute
        account: my-allocation
        cores: 1                   # per array element
        memory: 4GB                # per array element
        walltime: "01:00:00"       # required: an element is killed at its walltime
        max_concurrent: 100        # the %N throttle: elements running at once, per array
        runs_per_element: 20       # runs executed one after another by each element
        max_array_size: null       # null = the site's MaxArraySize; bigger waves become several arrays
        job_script_prologue: [module load python/3.11]
        env: {forward: [AWS_*], pythonpath: [./src]}

:func:`validate_options` is what :mod:`runfleet.config` calls for this kind; every error is one
line naming the file, the profile and the field, never the value.
"""
from __future__ import annotations

from typing import Any, Mapping

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ..config import ConfigError, parse_duration_s

KIND = "slurm-array"


class SlurmArrayOptions(BaseModel):
    """Options of a ``kind: slurm-array`` profile.

    Parameters
    ----------
    queue, account : str, optional
        SLURM partition (``-p``) and account (``-A``).
    cores : int
        CPUs per array element (``--cpus-per-task``).
    memory : str
        Memory per array element, e.g. ``"4GB"`` (``--mem``, sent in MiB).
    walltime : str or int
        Walltime per array element (``-t``): ``"HH:MM:SS"``, ``"D-HH:MM:SS"`` or seconds. Required.
    job_script_prologue : list of str
        Shell lines run before the element starts (``module load ...``, ``source venv/bin/activate``).
    job_extra_directives : list of str
        More ``#SBATCH`` options, e.g. ``["--qos=short"]``.
    max_array_size : int, optional
        Largest array submitted; ``None`` = the site's ``MaxArraySize`` (``scontrol show config``).
        A wave with more elements is submitted as several arrays, one after another.
    max_concurrent : int, optional
        The ``%N`` throttle: at most this many elements of an array run at once.
    runs_per_element : int
        Runs each element executes one after another (pack short runs into one job).
    python : str, optional
        Python on the compute nodes; ``None`` = the driver's interpreter.
    log_directory : str, optional
        Where SLURM writes element logs when the store is not a local directory (they are copied
        into the store after each wave); a local store keeps them under ``_arrays/``.
    secrets_dir : str, optional
        Directory for the 0600 file holding the jobs' environment; must be visible from the
        compute nodes (default: the user cache dir, ``~/.cache/runfleet/job-env``).
    """

    model_config = ConfigDict(extra="forbid", strict=True)

    queue: str | None = None
    account: str | None = None
    cores: int = Field(1, ge=1)
    memory: str = "2GB"
    walltime: str | int
    job_script_prologue: list[str] = Field(default_factory=list)
    job_extra_directives: list[str] = Field(default_factory=list)
    max_array_size: int | None = Field(None, ge=1)
    max_concurrent: int | None = Field(None, ge=1)
    runs_per_element: int = Field(1, ge=1)
    python: str | None = None
    log_directory: str | None = None
    secrets_dir: str | None = None

    @field_validator("memory")
    @classmethod
    def _memory(cls, v: str) -> str:
        from dask.utils import parse_bytes

        try:
            if parse_bytes(v) <= 0:
                raise ValueError
        except Exception:  # noqa: BLE001 - any parse failure is the same one-line error
            raise ValueError("expected a memory size like '4GB'") from None
        return v

    @field_validator("walltime")
    @classmethod
    def _walltime(cls, v: str | int) -> str | int:
        try:
            seconds = parse_duration_s(v)
        except ConfigError:
            raise ValueError("expected a walltime like '01:00:00'") from None
        if seconds <= 0:
            raise ValueError("expected a positive walltime like '01:00:00'")
        return v

    @property
    def walltime_s(self) -> float:
        """Walltime per element in seconds."""
        return parse_duration_s(self.walltime)

    @property
    def memory_mib(self) -> int:
        """Memory per element in MiB (what ``--mem`` gets)."""
        from dask.utils import parse_bytes

        return max(1, int(parse_bytes(self.memory) // 2**20))


_TYPE_WORDS = {"int": "an integer", "str": "a string", "list": "a list of strings", "bool": "true or false"}


def _type_name(v: Any) -> str:
    return {dict: "mapping", list: "list", str: "string", bool: "boolean", int: "integer",
            float: "number", type(None): "null"}.get(type(v), type(v).__name__)


def _one_line(err: ValidationError, where: str, raw: Mapping) -> str:
    """The first pydantic error as one line: ``where.field: expected ..., got <type>`` (no value)."""
    e = err.errors(include_url=False, include_input=False)[0]
    loc = "".join(f"[{p}]" if isinstance(p, int) else (f".{p}" if i else str(p)) for i, p in enumerate(e["loc"]))
    field = str(e["loc"][0]) if e["loc"] else ""
    typ = e["type"]
    if typ == "missing":
        if field == "walltime":
            return (f"{where}.walltime: missing; expected a walltime per array element like '01:00:00' "
                    "(SLURM kills an element at its walltime)")
        return f"{where}.{field}: missing"
    if typ == "extra_forbidden":
        known = ", ".join(sorted([*SlurmArrayOptions.model_fields, "env", "description"]))
        return f"{where}.{field}: unknown option for kind {KIND!r}; expected one of: {known}"
    value = raw.get(field)
    if typ in ("greater_than_equal",):
        limit = (e.get("ctx") or {}).get("ge")
        return f"{where}.{loc}: expected an integer >= {limit}"
    if typ == "value_error":
        msg = e["msg"].removeprefix("Value error, ")
        return f"{where}.{loc}: {msg}"
    words = {"int_type": "an integer", "string_type": "a string", "list_type": "a list of strings"}
    if typ in words:
        if field in ("walltime",):
            return f"{where}.{loc}: expected a walltime like '01:00:00', got {_type_name(value)}"
        expected = words[typ]
        if field in ("queue", "account", "python", "log_directory", "secrets_dir", "max_array_size",
                     "max_concurrent"):
            expected += " or null"
        got = _type_name(value) if len(e["loc"]) == 1 else "another type in the list"
        return f"{where}.{loc}: expected {expected}, got {got}"
    return f"{where}.{loc}: invalid ({typ})"


def parse_options(raw: Mapping[str, Any], where: str) -> SlurmArrayOptions:
    """Validate the options of one ``slurm-array`` profile (``raw`` without ``kind``, ``env``,
    ``description``).

    Raises
    ------
    ConfigError
        One line naming ``where`` (``<file>: clusters.<name>``), the field and what was expected.
    """
    try:
        return SlurmArrayOptions.model_validate(dict(raw))
    except ValidationError as err:
        raise ConfigError(_one_line(err, where, raw)) from None


def validate_options(raw: Mapping[str, Any], where: str) -> dict[str, Any]:
    """What :mod:`runfleet.config` stores as ``Profile.options`` for this kind: the validated
    options with their defaults, as a plain dict."""
    return parse_options(raw, where).model_dump()


__all__ = ["KIND", "SlurmArrayOptions", "parse_options", "validate_options"]

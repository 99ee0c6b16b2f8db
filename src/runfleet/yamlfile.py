"""Read a YAML file for a human: every failure is one line naming the file (and the line).

Used by the study file, the cluster profiles and cholera's priors, so the three say the same
thing the same way.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml


def yaml_problem(exc: yaml.YAMLError) -> str:
    """``at line L, column C: <problem>`` (or the error's first line) of a YAML parse error.

    Parameters
    ----------
    exc : yaml.YAMLError
        The error PyYAML raised.

    Returns
    -------
    str
        The text to append after ``not valid YAML`` (line and column 1-based).
    """
    mark = getattr(exc, "problem_mark", None)
    where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    return f"{where}: {problem}"


def read_yaml_file(path: str | os.PathLike, what: str, error: type[Exception]) -> Any:
    """The parsed document of ``path`` (None for an empty file).

    Parameters
    ----------
    path : str or os.PathLike
        Local YAML file.
    what : str
        The kind of file in messages ("study file", "priors file").
    error : type of Exception
        The exception class raised (usually a :class:`~runfleet.errors.InputError` subclass).

    Returns
    -------
    Any
        The document as ``yaml.safe_load`` returns it.

    Raises
    ------
    Exception
        ``error``, with the one-line message ``<path>: cannot read <what> (<reason>)`` (e.g. "No
        such file or directory") or ``<path>: not valid YAML at line L, column C: <problem>``.
    """
    p = Path(path)
    try:
        text = p.read_text()
    except OSError as e:
        raise error(f"{p}: cannot read {what} ({e.strerror or e})") from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as e:
        raise error(f"{p}: not valid YAML{yaml_problem(e)}") from None

"""One line from a pydantic ``ValidationError``: source, field, what was expected.

Every cholera input model (:class:`cholera.config.CalibrationConfig`, the MOSAIC-shaped R
inputs in :mod:`cholera.mosaic`) reports bad input through :func:`one_line`, so the messages
have one shape: ``<source>: <field> must be <expected>, got <number>``. Text values are never
repeated (paths, URLs and storage options can hold secrets); numbers are, because they are
what the user needs to see to fix a bound.
"""

from __future__ import annotations

import math
import typing
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo

__all__ = ["one_line", "field_expected", "location"]


def location(loc: tuple) -> str:
    """A pydantic error location as a dotted field path.

    Parameters
    ----------
    loc : tuple
        pydantic's ``loc`` of one error.

    Returns
    -------
    str
        e.g. ``parameters_global.rho.parameters`` (validator tags such as ``function-after[...]``
        left out).
    """
    return ".".join(str(part) for part in loc if not (isinstance(part, str) and "[" in part and part.endswith("]")))


def _metadata(info) -> list:
    """Constraints of a field, including those of an ``Annotated`` type inside ``X | None``."""
    items = list(info.metadata)
    for arg in typing.get_args(info.annotation):
        if typing.get_origin(arg) is typing.Annotated:
            for item in arg.__metadata__:
                items.extend(item.metadata if isinstance(item, FieldInfo) else [item])
    return items


def _constraint(metadata: list, name: str) -> Any:
    for item in metadata:
        value = getattr(item, name, None)
        if value is not None:
            return value
    return None


def field_expected(model: type[BaseModel], field: str, error_type: str = "") -> str | None:
    """What a field of ``model`` expects, in words (``an integer >= 1``, ``> 0``).

    Parameters
    ----------
    model : type of pydantic.BaseModel
        The model.
    field : str
        Field name.
    error_type : str, optional
        pydantic's error type; a bound error on a float field names that bound only.

    Returns
    -------
    str or None
        ``None`` when the field says nothing (the caller uses pydantic's own message).
    """
    info = model.model_fields.get(field)
    if info is None:
        return None
    extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
    if "expected" in extra:
        return str(extra["expected"])
    metadata = _metadata(info)
    ge, gt = _constraint(metadata, "ge"), _constraint(metadata, "gt")
    annotation = str(info.annotation)
    if "int" in annotation:
        return f"an integer >= {ge}" if ge is not None else "an integer"
    if "float" in annotation:
        if error_type == "greater_than" and gt is not None:
            return f"> {gt:g}"
        if error_type == "greater_than_equal" and ge is not None:
            return f">= {ge:g}"
        return "a finite number"
    return None


def _shown(value: Any) -> str | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    if isinstance(value, float) and value.is_integer() and math.isfinite(value):
        return repr(int(value)) if abs(value) < 1e15 else repr(value)
    return repr(value)


def one_line(exc: ValidationError, model: type[BaseModel], source: str = "", labels: dict | None = None) -> str:
    """The first error of ``exc`` as one line naming ``source`` and the field.

    Parameters
    ----------
    exc : pydantic.ValidationError
        The error raised by validating ``model``.
    model : type of pydantic.BaseModel
        The model that was validated (its fields' ``title`` and ``json_schema_extra['expected']``
        word the message).
    source : str, optional
        Where the input came from (a file name, ``config (R list)``); prefixed with ``": "``.
    labels : dict, optional
        Field name -> label override (e.g. the command-line flag).

    Returns
    -------
    str
        e.g. ``sims (number of simulations) must be an integer >= 1, got 0``.
    """
    err = exc.errors(include_url=False)[0]
    loc = tuple(err.get("loc", ()))
    field = str(loc[0]) if loc else ""
    path = location(loc)
    kind = err.get("type", "")
    info = model.model_fields.get(field)
    label = (labels or {}).get(field) or (info.title if info is not None and info.title and len(loc) == 1 else None) or path
    prefix = f"{source}: " if source else ""
    if kind == "extra_forbidden":
        known = f" (known: {', '.join(model.model_fields)})" if len(loc) == 1 else ""
        return f"{prefix}{path}: unknown field{known}"
    if kind == "missing":
        return f"{prefix}{path}: missing (required)"
    if kind == "value_error" and len(loc) <= 1 and field not in model.model_fields:
        # a model-level check: its message names the fields itself
        return f"{prefix}{err['ctx']['error']}" if err.get("ctx") else f"{prefix}{err.get('msg')}"
    if kind == "value_error" and err.get("ctx"):
        return f"{prefix}{path}: {err['ctx']['error']}"
    named = info is not None and isinstance(info.json_schema_extra, dict) and "expected" in info.json_schema_extra
    expected = field_expected(model, field, kind) if len(loc) == 1 or named else None
    if named:
        label = (labels or {}).get(field) or info.title or field
    if expected is None:
        message = str(err.get("msg", "invalid")).replace("Input should be", "expected")
        return f"{prefix}{path}: {message}"
    shown = _shown(err.get("input"))
    return f"{prefix}{label} must be {expected}" + (f", got {shown}" if shown is not None else "")

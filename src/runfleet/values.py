"""Returned values as they are stored: JSON, with NaN and infinities kept as values.

A run's returned value is stored in its commit marker (or its pack file) as strict JSON, so any
JSON reader (``jq``, a browser, ``runfleet status --json``) reads every record. Strict JSON has
no NaN or infinity, yet a log-likelihood of ``-inf`` or a ``nan`` statistic is a normal result,
so non-finite floats are stored tagged:

========================  =======================
returned                  stored
========================  =======================
``float("nan")``          ``{"$float": "nan"}``
``float("inf")``          ``{"$float": "inf"}``
``float("-inf")``         ``{"$float": "-inf"}``
========================  =======================

Everything runfleet reads a value with (``ctx.upstream``, ``RunOutcome.value``,
``runfleet.results``, ``RunRecord.value``) decodes them back to floats. A dict whose only key
is ``"$float"`` is therefore reserved: a run returning one fails with ``UnstorableResult``.

A value that cannot be stored (an object that is not a dict with string keys, list, tuple,
str, int, float, bool or None) fails the run once, without retries, with error class
``UnstorableResult`` and a message naming where in the value it is (``value['model']``).
"""
from __future__ import annotations

import math
from typing import Any

from .errors import UnstorableResult
from .keys import canonical_json

TAG = "$float"
_NAMES = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}


def _tag(x: float) -> dict:
    return {TAG: "nan" if x != x else ("inf" if x > 0 else "-inf")}


def encode_value(value: Any) -> Any:
    """The JSON-able form of a returned value (non-finite floats tagged, tuples as lists).

    Parameters
    ----------
    value : Any
        What the run returned.

    Returns
    -------
    Any
        ``value`` itself when it is strict JSON already (the common case, checked by the C
        encoder), else a copy with non-finite floats replaced by ``{"$float": ...}``.

    Raises
    ------
    UnstorableResult
        Naming the key path of the first part that cannot be stored, e.g. ``value['model']``.
    """
    return stored_value(value)[0]


_PLAIN_SCALARS = (int, bool, type(None))


def stored_value(value: Any) -> tuple[Any, int]:
    """:func:`encode_value` and the size of the stored form as canonical JSON (characters), in
    one pass: what the executor checks a run's returned value with (a scalar, the usual status
    of a short run, is not encoded at all).

    Parameters
    ----------
    value : Any
        What the run returned.

    Returns
    -------
    tuple
        ``(stored, size)``: the JSON-able form (see :func:`encode_value`) and the length of its
        canonical JSON (:func:`runfleet.keys.canonical_json`), characters.

    Raises
    ------
    UnstorableResult
        As :func:`encode_value`.
    ValueError
        For an int too large to convert to text (Python's limit on integer digits).
    """
    kind = type(value)
    if kind in _PLAIN_SCALARS:  # int, bool, None: their JSON text is as long as their repr
        return value, len(repr(value))
    if kind is float:
        if math.isfinite(value):
            return value, len(repr(value))
    try:
        size = len(canonical_json(value))
        if not _has_reserved(value):
            return value, size
    except (TypeError, ValueError, RecursionError):
        pass
    stored = _encode(value, "value", 0)
    return stored, len(canonical_json(stored))


def _has_reserved(v: Any) -> bool:
    if isinstance(v, dict):
        if len(v) == 1 and TAG in v:
            return True
        return any(_has_reserved(x) for x in v.values())
    if isinstance(v, (list, tuple)):
        return any(_has_reserved(x) for x in v)
    return False


def _encode(v: Any, path: str, depth: int) -> Any:
    if depth > 200:
        raise UnstorableResult(f"returned value is nested too deeply to store (at {path})")
    if v is None or isinstance(v, (bool, str, int)):
        return v
    if isinstance(v, float):
        return v if math.isfinite(v) else _tag(v)
    if isinstance(v, dict):
        if len(v) == 1 and TAG in v:
            raise UnstorableResult(f"returned value cannot be stored: {path} is a dict with the single key "
                                   f"{TAG!r}, which runfleet reserves for NaN and infinities")
        out = {}
        for k, x in v.items():
            if not isinstance(k, str):
                raise UnstorableResult(f"returned value cannot be stored as JSON: {path} has a key {k!r} of type "
                                       f"{type(k).__name__} (keys must be strings)")
            out[k] = _encode(x, f"{path}[{k!r}]", depth + 1)
        return out
    if isinstance(v, (list, tuple)):
        return [_encode(x, f"{path}[{i}]", depth + 1) for i, x in enumerate(v)]
    raise UnstorableResult(f"returned value cannot be stored as JSON: {path} is a {type(v).__module__}."
                           f"{type(v).__qualname__}; return dicts, lists, str, int, float, bool or None "
                           "(write bigger results under ctx.out)")


def decode_value(stored: Any) -> Any:
    """A returned value as it was returned: ``{"$float": "-inf"}`` back to ``float("-inf")``.

    Parameters
    ----------
    stored : Any
        A value read from a marker or a pack file.

    Returns
    -------
    Any
    """
    if isinstance(stored, dict):
        if len(stored) == 1 and TAG in stored and stored[TAG] in _NAMES:
            return _NAMES[stored[TAG]]
        return {k: decode_value(x) for k, x in stored.items()}
    if isinstance(stored, list):
        return [decode_value(x) for x in stored]
    return stored


__all__ = ["TAG", "decode_value", "encode_value", "stored_value"]

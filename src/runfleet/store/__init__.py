"""The store: a local directory or ``s3://bucket/prefix`` (any fsspec URL), with atomic commits.

``Store(url, storage_options)`` is the factory (see :mod:`runfleet.store.base`);
:func:`parse_storage_options` turns ``--storage-option key=value`` pairs into options.
"""
from __future__ import annotations

from typing import Any, Iterable

from ..errors import InputError
from .base import Store, normalize_url, store_error, store_errors
from .local import LocalStore
from .objectstore import ObjectStore


def parse_storage_options(pairs: Iterable[str] | None) -> dict:
    """``["key=value", "client_kwargs.endpoint_url=http://..."]`` to a nested dict.

    Values ``true``/``false``/``null`` and numbers are converted; dotted keys nest.

    Raises
    ------
    InputError
        For a pair without ``=``, an empty key, or a key that conflicts with an earlier one.
    """
    out: dict = {}
    for pair in pairs or ():
        if "=" not in pair:
            raise InputError(f"--storage-option: expected key=value, got {pair.split('=')[0]!r}")
        key, _, raw = pair.partition("=")
        if not key:
            raise InputError("--storage-option: empty key in key=value")
        value: Any = raw
        low = raw.lower()
        if low in ("true", "false"):
            value = low == "true"
        elif low in ("null", "none"):
            value = None
        else:
            try:
                value = int(raw)
            except ValueError:
                try:
                    value = float(raw)
                except ValueError:
                    value = raw
        node = out
        parts = key.split(".")
        for p in parts[:-1]:
            node = node.setdefault(p, {})
            if not isinstance(node, dict):
                raise InputError(f"--storage-option: {key!r} conflicts with an earlier option")
        node[parts[-1]] = value
    return out


__all__ = ["LocalStore", "ObjectStore", "Store", "normalize_url", "parse_storage_options", "store_error", "store_errors"]

"""The store: a local directory or ``s3://bucket/prefix`` (any fsspec URL), with atomic commits.

``Store(url, storage_options)`` is the factory (see :mod:`runfleet.store.base`);
:func:`runfleet.storage_options.parse_storage_options` turns ``--storage-option key=value``
pairs into typed options.
"""
from __future__ import annotations

from .base import Store, in_background, normalize_url, store_error, store_errors
from .local import LocalStore
from .objectstore import ObjectStore
from ..storage_options import parse_storage_options  # noqa: F401 - the one parser, re-exported


__all__ = ["LocalStore", "ObjectStore", "Store", "in_background", "normalize_url", "parse_storage_options", "store_error", "store_errors"]

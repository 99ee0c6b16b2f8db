"""Content keys and seeds: what makes a run "the same run", and its reproducible randomness.

A run's key hashes its function path, its parameters (canonical JSON), the keys of the runs it
follows and a code version token. Same key means same run: resume skips it. Seeds derive from the
study seed and the run name only, never from submission order or worker count.
"""
from __future__ import annotations

import functools
import hashlib
import inspect
import json
from typing import Any, Callable

import numpy as np

KEY_LENGTH = 32  # hex characters kept from sha256


def canonical_json(obj: Any) -> str:
    """JSON with sorted keys and no whitespace; raises TypeError/ValueError if not JSON-able."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:KEY_LENGTH]


def fn_path(fn: str | Callable) -> str:
    """``module:qualname`` of a callable, or the string itself."""
    if isinstance(fn, str):
        return fn
    return f"{getattr(fn, '__module__', '?')}:{getattr(fn, '__qualname__', repr(fn))}"


@functools.lru_cache(maxsize=4096)
def _source_token(fn: Callable) -> str:
    try:
        return "src:" + digest(inspect.getsource(fn))[:16]
    except (OSError, TypeError):
        return "path:" + fn_path(fn)


def code_token(fn: Callable, version: str | None) -> str:
    """The code version part of a key.

    An explicit ``version`` (run, then study) wins; otherwise the hash of the function's source,
    so editing the function re-runs it. When the source cannot be read, the function path.
    """
    if version is not None:
        return f"v:{version}"
    try:
        return _source_token(fn)
    except TypeError:  # unhashable callable
        return "path:" + fn_path(fn)


def params_hash(params: dict) -> str:
    return digest(canonical_json(params))


def run_key(fn: str, params_digest: str, upstream_keys: dict[str, str], code: str, seed: int = 0) -> str:
    """Content key of a run (hex): fn path, params (by their hash), upstream keys, code token and
    study seed."""
    return digest(canonical_json({"fn": fn, "params": params_digest, "upstream": upstream_keys, "code": code,
                                  "seed": seed}))


def seed_sequence(study_seed: int, run_name: str) -> np.random.SeedSequence:
    """SeedSequence of a run: from the study seed and a hash of the run's name."""
    name_word = int.from_bytes(hashlib.sha256(run_name.encode("utf-8")).digest()[:8], "little")
    return np.random.SeedSequence(entropy=int(study_seed), spawn_key=(name_word,))


def run_seed(study_seed: int, run_name: str) -> int:
    """An integer seed in [0, 2**32) for models that take a plain int."""
    return int(seed_sequence(study_seed, run_name).generate_state(1, np.uint32)[0])

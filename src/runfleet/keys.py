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
from json.encoder import encode_basestring as _encode_str
from typing import Any, Callable

import numpy as np

KEY_LENGTH = 32  # hex characters kept from sha256

#: one encoder for every key (``json.dumps`` with these options builds a new one per call)
_ENCODER = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def one_shot_encoder(encoder: json.JSONEncoder, checked: bool = False) -> Callable[[Any], str]:
    """``encoder.encode`` without its per-call Python set-up.

    ``JSONEncoder.encode`` builds a new C encoder on every call (a third of the time of encoding
    a small params dict); this builds the same C encoder once per call with the same options
    (a fresh ``markers`` dict, so a circular structure still raises ValueError) and returns the
    same text. Without the C accelerator it is ``encoder.encode`` itself.

    Parameters
    ----------
    encoder : json.JSONEncoder
        An encoder without ``indent``.
    checked : bool
        The values were encoded once already (with a check for circular structures): one C
        encoder is built for every call, without that check.

    Returns
    -------
    callable
        ``obj -> str``, the text ``encoder.encode(obj)`` returns.
    """
    from json import encoder as _enc

    make = getattr(_enc, "c_make_encoder", None)
    if make is None or encoder.indent is not None:
        return encoder.encode
    basestring = _enc.encode_basestring_ascii if encoder.ensure_ascii else _enc.encode_basestring
    opts = (encoder.default, basestring, None, encoder.key_separator, encoder.item_separator,
            encoder.sort_keys, encoder.skipkeys, encoder.allow_nan)
    join = "".join
    if checked:
        once = make(None, *opts)

        def encode_checked(obj: Any) -> str:
            if isinstance(obj, str):
                return basestring(obj)
            return join(once(obj, 0))

        return encode_checked

    def encode(obj: Any) -> str:
        if isinstance(obj, str):
            return basestring(obj)
        return join(make({}, *opts)(obj, 0))

    return encode


_encode = one_shot_encoder(_ENCODER)
#: :func:`canonical_json` of values checked JSON-able already (a study's params after validation)
_encode_checked = one_shot_encoder(_ENCODER, checked=True)


def canonical_json(obj: Any) -> str:
    """JSON with sorted keys and no whitespace.

    Parameters
    ----------
    obj : Any
        A JSON-able object (no NaN or infinity).

    Returns
    -------
    str

    Raises
    ------
    TypeError, ValueError
        When ``obj`` is not JSON-able.
    """
    return _encode(obj)


def digest(text: str) -> str:
    """The first 32 hex characters of the sha256 of ``text`` (UTF-8)."""
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


def params_hash(params: dict, files_hash: str | None = None) -> str:
    """Hash of a run's parameters (canonical JSON) and, when it names input files, of their
    content identities (``files_hash``, from :func:`inputs_hash`). Without inputs it is the hash
    of the params alone, as in stores written before inputs existed."""
    if not files_hash:
        return digest(canonical_json(params))
    return digest(canonical_json({"params": params, "inputs": files_hash}))


#: name under which the input files' hash appears in ``param_hashes``
INPUTS_FIELD = "inputs"


def _scalar_json(v) -> str:
    """:func:`canonical_json` of an int, bool, None or str (what ``json`` writes for them), without
    going through the encoder: a worker hashes every parameter of every run it records."""
    if v is None:
        return "null"
    if v is True:
        return "true"
    if v is False:
        return "false"
    if type(v) is str:
        return _encode_str(v)
    return int.__repr__(v)


_JSON_SCALARS = frozenset({int, bool, str, type(None)})


def param_hashes(params: dict, files_hash: str | None = None) -> dict[str, str]:
    """``{top-level parameter: hash of its canonical JSON}``, plus ``inputs`` (``files_hash``, the
    hash of the input files' identities) when the run names input files. Stored in records so a
    re-run can say which parameters changed; computed where the record is made (the worker, for
    markers), not by the driver for every run."""
    out = {k: digest(_scalar_json(v) if type(v) in _JSON_SCALARS else canonical_json(v)) for k, v in params.items()}
    if files_hash:
        out[INPUTS_FIELD] = files_hash
    return out


def inputs_hash(inputs, storage_options: dict | None = None) -> str:
    """Hash of the identities of ``inputs`` (in the given order); see :func:`input_identity`."""
    return digest(canonical_json([[p, input_identity(p, storage_options)] for p in inputs]))


_IDENTITY_CACHE: dict[tuple, str] = {}


def input_identity(path: str, storage_options: dict | None = None) -> str:
    """Content identity of an input file.

    Parameters
    ----------
    path : str
        Local path (relative to the current directory) or fsspec URL (``s3://bucket/key``).
    storage_options : dict, optional
        fsspec options for URLs.

    Returns
    -------
    str
        ``sha256:<hex>`` of a local file's bytes (cached by path, size and modification time);
        for object stores ``etag:<ETag>:<size>`` (or ``size:<n>:mtime:<t>`` when there is no ETag).

    Raises
    ------
    FileNotFoundError
        When the file does not exist (the engine turns it into an InputError naming the run).
    """
    import os

    if "://" not in path or path.startswith("file://"):
        local = os.path.abspath(os.path.expanduser(path.split("://", 1)[-1]))
        st = os.stat(local)
        cache_key = (local, st.st_size, st.st_mtime_ns)
        got = _IDENTITY_CACHE.get(cache_key)
        if got is None:
            h = hashlib.sha256()
            with open(local, "rb") as f:
                for block in iter(lambda: f.read(1 << 20), b""):
                    h.update(block)
            got = _IDENTITY_CACHE[cache_key] = "sha256:" + h.hexdigest()
        return got
    import fsspec

    fs, _, (p,) = fsspec.get_fs_token_paths(path, storage_options=storage_options or {})
    info = fs.info(p)
    etag = info.get("ETag") or info.get("etag")
    if etag:
        return f"etag:{str(etag).strip(chr(34))}:{info.get('size')}"
    return f"size:{info.get('size')}:mtime:{info.get('LastModified') or info.get('mtime')}"


def run_key(fn: str, params_digest: str, upstream_keys: dict[str, str], code: str, seed: int = 0) -> str:
    """Content key of a run.

    Parameters
    ----------
    fn : str
        The function's path (``module:qualname``).
    params_digest : str
        :func:`params_hash` of its params (and input files).
    upstream_keys : dict
        ``{upstream run name: key}``.
    code : str
        :func:`code_token`.
    seed : int
        The study seed.

    Returns
    -------
    str
        32 hex characters.
    """
    if upstream_keys:
        return digest(canonical_json({"fn": fn, "params": params_digest, "upstream": upstream_keys, "code": code,
                                      "seed": seed}))
    # the same canonical JSON, its fixed parts built once per (fn, code, seed): a million keys
    # of one function cost a million hashes, not a million dict encodings
    prefix, suffix = _key_frame(fn, code, seed)
    return digest(prefix + _ENCODER.encode(params_digest) + suffix)


@functools.lru_cache(maxsize=1024)
def _key_frame(fn: str, code: str, seed: int) -> tuple[str, str]:
    """The canonical JSON of a key without upstreams, split around its params digest."""
    marker = "\x00params\x00"
    text = canonical_json({"fn": fn, "params": marker, "upstream": {}, "code": code, "seed": seed})
    enc = _ENCODER.encode(marker)
    prefix, _, suffix = text.partition(enc)
    return prefix, suffix


def _name_word(run_name: str) -> int:
    """The spawn key word of a run: the first 8 bytes (little-endian) of the sha256 of its name."""
    return int.from_bytes(hashlib.sha256(run_name.encode("utf-8")).digest()[:8], "little")


def seed_sequence(study_seed: int, run_name: str) -> np.random.SeedSequence:
    """SeedSequence of a run: from the study seed and a hash of the run's name."""
    return np.random.SeedSequence(entropy=int(study_seed), spawn_key=(_name_word(run_name),))


def run_seed(study_seed: int, run_name: str) -> int:
    """An integer seed in [0, 2**32) for models that take a plain int.

    The first 32-bit word of :func:`seed_sequence`'s state, computed without building a NumPy
    ``SeedSequence`` (a worker pays it for every run's record): NumPy's mixing of the study
    seed's words is done once per study seed and cached, then only the run's name word is mixed
    in. The same numbers as ``seed_sequence(...).generate_state(1, np.uint32)[0]`` (tested
    against NumPy).

    Parameters
    ----------
    study_seed : int
        The study's seed (a non-negative integer).
    run_name : str
        The run's name.

    Returns
    -------
    int
        In [0, 2**32).

    References
    ----------
    .. [1] NumPy, ``numpy.random.SeedSequence`` (bit_generator.pyx: ``mix_entropy``,
       ``generate_state``), after M. E. O'Neill's ``seed_seq`` alternative,
       https://www.pcg-random.org/posts/developing-a-seed_seq-alternative.html
    """
    seed = int(study_seed)
    if not 0 <= seed < _MAX_POOLED_SEED:  # NumPy's own error (negative) or its longer path
        return int(seed_sequence(seed, run_name).generate_state(1, np.uint32)[0])
    return _first_word(_seed_pool(seed), _name_word(run_name))


# NumPy's SeedSequence constants (pool of 4 uint32 words)
_M32 = 0xFFFFFFFF
_INIT_A, _MULT_A, _INIT_B, _MULT_B = 0x43B0D7E5, 0x931E8875, 0x8B51F9DD, 0x58F38DED
_MIX_L, _MIX_R = 0xCA01F9DD, 0x4973F715
_POOL = 4
_MAX_POOLED_SEED = 1 << (32 * _POOL)  # a seed of more than 4 words is mixed differently


def _words(n: int) -> list[int]:
    """A non-negative int as little-endian 32-bit words (``[0]`` for 0), as NumPy coerces it."""
    out = [n & _M32]
    n >>= 32
    while n:
        out.append(n & _M32)
        n >>= 32
    return out


@functools.lru_cache(maxsize=64)
def _seed_pool(study_seed: int) -> tuple[int, int, int, int, int]:
    """Everything of a run's SeedSequence that does not depend on its name, for its first state
    word: the pool's first word after mixing the study seed's words (padded to 4: a spawn key
    follows), and the hash constants the spawn key's two words are hashed with (before and after
    the multiplication of each hashmix; they do not depend on the data)."""
    entropy = _words(study_seed)
    entropy += [0] * (_POOL - len(entropy))
    h = _INIT_A
    mixer = []
    for w in entropy:
        w ^= h
        h = (h * _MULT_A) & _M32
        w = (w * h) & _M32
        mixer.append(w ^ (w >> 16))
    for i_src in range(_POOL):
        for i_dst in range(_POOL):
            if i_src != i_dst:
                w = mixer[i_src] ^ h
                h = (h * _MULT_A) & _M32
                w = (w * h) & _M32
                w ^= w >> 16
                r = (_MIX_L * mixer[i_dst] - _MIX_R * w) & _M32
                mixer[i_dst] = r ^ (r >> 16)
    # each spawn word is hashed into the 4 pool words in turn; only the first one (hashed with
    # the constant reached here, then the one 4 hashmixes later) makes the first state word
    h_low = h
    h_high = h
    for _ in range(_POOL):
        h_high = (h_high * _MULT_A) & _M32
    return mixer[0], h_low, (h_low * _MULT_A) & _M32, h_high, (h_high * _MULT_A) & _M32


def _first_word(pool: tuple[int, int, int, int, int], name_word: int) -> int:
    """Mix the spawn key's words (one or two 32-bit words of ``name_word``) into the pool's first
    word; return the first word of the generated state."""
    m0, h_low, k_low, h_high, k_high = pool
    w = (((name_word & _M32) ^ h_low) * k_low) & _M32
    r = (_MIX_L * m0 - _MIX_R * (w ^ (w >> 16))) & _M32
    m0 = r ^ (r >> 16)
    high = name_word >> 32
    if high:
        w = ((high ^ h_high) * k_high) & _M32
        r = (_MIX_L * m0 - _MIX_R * (w ^ (w >> 16))) & _M32
        m0 = r ^ (r >> 16)
    w = ((m0 ^ _INIT_B) * ((_INIT_B * _MULT_B) & _M32)) & _M32
    return w ^ (w >> 16)

"""Content keys of a set of runs, and why each will (or will not) run: shared by the engine and
``runfleet run --dry-run``."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Callable, Iterator

from .errors import InputError
from .keys import KEY_LENGTH, _encode_checked, _ENCODER, _key_frame, code_token, inputs_hash, param_hashes, params_hash, run_key
from .ledger import RunRecord
from .study import Run, call_style


@dataclass
class KeyedRun:
    """A run with its content key and the parts the key was made of.

    Attributes
    ----------
    run : Run
        The run.
    fn : callable
        Its resolved function.
    upstream : list of str
        Names of the runs it follows.
    fn_path : str
        ``module:qualname`` of its function.
    params_hash : str
        Hash of its canonical JSON params (and input file identities).
    code : str
        Code version token.
    upstream_keys : dict
        ``{upstream name: key}``.
    key : str
        The content key.
    files_hash : str or None
        Hash of the identities of the run's input files (None without inputs).
    takes_ctx : bool
        True when ``fn`` is called ``fn(ctx, **params)``, False for ``fn(**params)``
        (:func:`runfleet.study.takes_ctx`).
    """

    run: Run
    fn: Callable
    upstream: list[str]
    fn_path: str
    params_hash: str
    code: str
    upstream_keys: dict[str, str]
    key: str
    files_hash: str | None = None
    takes_ctx: bool = True

    @property
    def name(self) -> str:
        return self.run.name

    @property
    def param_hashes(self) -> dict[str, str]:
        """``{top-level parameter: hash}`` (and ``inputs``): names what changed when the key changes."""
        return param_hashes(self.run.params, self.files_hash)

    def identity(self) -> dict:
        """The key parts every record of the run carries (see :class:`runfleet.ledger.RunRecord`);
        built once, treat as read-only."""
        ident = self.__dict__.get("_identity")
        if ident is None:
            ident = self.__dict__["_identity"] = {
                "name": self.run.name, "key": self.key, "fn": self.fn_path, "params_hash": self.params_hash,
                "upstream": self.upstream_keys, "code": self.code}
            if self.files_hash:
                ident["files_hash"] = self.files_hash
        return ident


def key_runs(runs: dict[str, Run], deps: dict[str, list[str]], fns: dict[str, Callable],
             known_keys: dict[str, str], study_version: str | None, study_seed: int,
             source: str = "study", storage_options: dict | None = None) -> dict[str, KeyedRun]:
    """Keys for ``runs`` in the topological order of ``deps``; upstreams outside ``runs`` come
    from ``known_keys``. The study seed is part of every key: another seed is another run.

    Raises InputError (naming ``source`` and the run) when an input file cannot be read or the
    function cannot be called with the run's params."""
    return {kr.name: kr for kr in iter_key_runs(runs, deps, fns.__getitem__, known_keys.__getitem__,
                                                study_version, study_seed, source, storage_options)}


def iter_key_runs(runs: dict[str, Run], deps: dict[str, list[str]], fn_of: Callable[[str], Callable],
                  known_key: Callable[[str], str], study_version: str | None, study_seed: int,
                  source: str = "study", storage_options: dict | None = None) -> Iterator[KeyedRun]:
    """:func:`key_runs` one run at a time (nothing kept per run but the keys of runs that others
    follow): ``fn_of(name)`` is the run's resolved function, ``known_key(name)`` the key of an
    upstream outside ``runs``; ``storage_options``: fsspec options for object-store ``inputs``
    (the study's, so inputs beside the store are read with its credentials and endpoint).

    Raises InputError (naming ``source`` and the run) when an input file cannot be read or the
    function cannot be called with the run's params."""
    followed = {u for ups in deps.values() for u in ups}
    keys: dict[str, str] = {}

    def key_of(u: str) -> str:
        return keys[u] if u in keys else known_key(u)

    for name, upstream in deps.items():
        kr = key_run(runs[name], upstream, fn_of(name), key_of, study_version, study_seed, source, storage_options)
        if name in followed:
            keys[name] = kr.key
        yield kr


def key_run(run: Run, upstream, fn: Callable, known_key: Callable[[str], str], study_version: str | None,
            study_seed: int, source: str = "study", storage_options: dict | None = None) -> KeyedRun:
    """The :class:`KeyedRun` of one run (what :func:`iter_key_runs` yields for it).

    Parameters
    ----------
    run : Run
        The run.
    upstream : list of str
        Names of the runs it follows.
    fn : callable
        Its resolved function.
    known_key : callable
        ``known_key(name)``: the key of an upstream.
    study_version : str or None
        The study's code version token.
    study_seed : int
        The study seed.
    source : str
        Where the study comes from, for messages.
    storage_options : dict, optional
        fsspec options for object-store ``inputs``.

    Returns
    -------
    KeyedRun

    Raises
    ------
    InputError
        When an input file cannot be read or ``fn`` cannot be called with the run's params.
    """
    name = run.name
    ctx = call_style(run, fn, source)
    code = code_token(fn, run.version if run.version is not None else study_version)
    up_keys = {u: known_key(u) for u in upstream} if upstream else {}
    try:
        files = inputs_hash(run.inputs, storage_options) if run.inputs else None
    except OSError as e:
        raise InputError(f"{source}: run {name!r}: inputs: cannot read input file {getattr(e, 'filename', None) or e}"
                         f" ({e.strerror or type(e).__name__})") from None
    ph = params_hash(run.params, files)
    key = run_key(run.fn_path, ph, up_keys, code, study_seed)
    return KeyedRun(run, fn, upstream, run.fn_path, ph, code, up_keys, key, files, ctx)


def is_plain(run: Run, upstream) -> bool:
    """True for a run :class:`PlainKeyer` keys: no upstreams, no input files, not declared skipped
    (the many runs of a big grid)."""
    return not upstream and not run.inputs and not run.skip_reason


#: plain runs keyed (and added to the run table) at once on the bulk path
PLAIN_CHUNK = 65_536


def plain_chunks(deps: dict[str, list[str]], runs: dict[str, Run], size: int = PLAIN_CHUNK):
    """Walk the runs in ``deps``' order (topological) and yield, in that order, lists of at most
    ``size`` consecutive plain runs' names (:func:`is_plain`: keyed in bulk by :class:`PlainKeyer`)
    and, between them, the name (a ``str``) of each run that is not plain (keyed alone, after
    the runs it follows)."""
    plain: list[str] = []
    for name, upstream in deps.items():
        if is_plain(runs[name], upstream):
            plain.append(name)
            if len(plain) >= size:
                yield plain
                plain = []
            continue
        if plain:
            yield plain
            plain = []
        yield name
    if plain:
        yield plain


class PlainKeyer:
    """Content keys of plain runs (:func:`is_plain`) in bulk, byte for byte the keys
    :func:`iter_key_runs` makes, with what runs of one function share computed once per
    (function, version): the function's path, its code token, its call style and the canonical
    JSON of the key around the params digest (:func:`runfleet.keys.run_key`). Per run: the
    canonical JSON of its params and two sha256.

    Parameters
    ----------
    fn_of : callable
        ``fn_of(name)``: the run's resolved function.
    study_version : str or None
        The study's code version token.
    study_seed : int
        The study seed.
    source : str
        Where the study comes from, for messages.
    check_calls : bool
        Check every run's params against its function's signature (:func:`runfleet.study.call_style`);
        False when the study was validated already.
    """

    def __init__(self, fn_of: Callable[[str], Callable], study_version: str | None, study_seed: int,
                 source: str = "study", check_calls: bool = True):
        self.fn_of, self.version, self.seed, self.source = fn_of, study_version, study_seed, source
        self.check_calls = check_calls
        self._frames: dict = {}

    def frame(self, name: str, run: Run) -> tuple:
        """``(fn, fn_path, code, takes_ctx, key prefix, key suffix)`` of run ``name``'s function
        and version (cached per function and version)."""
        fn = run.fn
        try:
            got = self._frames.get((fn, run.version))
        except TypeError:  # an unhashable callable
            return self._make_frame(name, run)
        if got is None:
            got = self._frames[(fn, run.version)] = self._make_frame(name, run)
        return got

    def _make_frame(self, name: str, run: Run) -> tuple:
        fn = self.fn_of(name)
        ctx = call_style(run, fn, self.source)
        code = code_token(fn, run.version if run.version is not None else self.version)
        path = run.fn_path
        prefix, suffix = _key_frame(path, code, self.seed)
        quote = _ENCODER.encode("")[0]  # a params digest (hex) is encoded as itself in quotes
        return fn, path, code, ctx, prefix + quote, quote + suffix

    def key(self, names: list[str], runs: list[Run]) -> tuple[list[str], list[str], list[tuple]]:
        """Keys of plain runs.

        Parameters
        ----------
        names : list of str
            The runs' names.
        runs : list of Run
            The runs (each :func:`is_plain`).

        Returns
        -------
        keys, params_hashes : list of str
            Their content keys and params hashes (32 hex characters each).
        frames : list of tuple
            Each run's :meth:`frame` (shared by runs of one function and version).

        Raises
        ------
        InputError
            When ``check_calls`` and a run's params do not fit its function.
        """
        sha = hashlib.sha256
        enc = _encode_checked  # params were checked JSON-able (Study.validate, Fleet.submit)
        frames = self._frames
        frame = self.frame
        check = call_style if self.check_calls else None
        src = self.source
        n = KEY_LENGTH
        keys, phs, parts = [], [], []
        add_key, add_ph, add_part = keys.append, phs.append, parts.append
        last_fn = last_version = fr = None
        for name, run in zip(names, runs):
            fn, version = run.fn, run.version
            if fr is None or fn is not last_fn or version is not last_version:  # (runs of a grid share them)
                try:
                    fr = frames.get((fn, version)) or frame(name, run)
                except TypeError:  # an unhashable callable
                    fr = frame(name, run)
                last_fn, last_version = fn, version
            if check is not None:
                check(run, fr[0], src)
            ph = sha(enc(run.params).encode()).hexdigest()[:n]
            add_key(sha((fr[4] + ph + fr[5]).encode()).hexdigest()[:n])
            add_ph(ph)
            add_part(fr)
        return keys, phs, parts

    def keyed_run(self, run: Run, key: str, params_hash: str, frame: tuple) -> KeyedRun:
        """The :class:`KeyedRun` of a plain run keyed by :meth:`key` (for the few runs whose
        reason to run is asked for)."""
        fn, path, code, ctx = frame[:4]
        return KeyedRun(run, fn, [], path, params_hash, code, {}, key, None, ctx)


def needs_run(kr: KeyedRun, record: RunRecord | None, executing_upstreams=()) -> bool:
    """The one invalidation rule, used by the engine and by the dry run.

    A run executes unless its newest record is a done marker for its current key. An upstream
    that re-executes with an unchanged key therefore does not re-run its dependents (their keys,
    which include the upstream's key, are unchanged); see docs/engine.md.

    Parameters
    ----------
    kr : KeyedRun
        The run and its current key.
    record : RunRecord or None
        Its newest record in the store.
    executing_upstreams : iterable of str
        Its upstreams that execute in this invocation. An aggregator over survivors whose
        marker lists upstreams that were not done when it ran (``upstream_missing``) runs again
        when one of them executes now: it may be done this time.

    Returns
    -------
    bool
    """
    if record is None or record.status != "done" or record.key != kr.key:
        return True
    missing = record.upstream_missing
    return bool(missing) and any(u in missing for u in executing_upstreams)


def rerun_reason(kr: KeyedRun, record: RunRecord | None, executing_upstreams=()) -> str | None:
    """None when the run will not execute (:func:`needs_run`); otherwise why it will.

    A change of parameters names them when the record has per-parameter hashes:
    ``parameters changed: tariff, rr``.
    """
    if not needs_run(kr, record, executing_upstreams):
        return None
    if record is None:
        return "new"
    data = record.data
    if record.status == "done" and record.key == kr.key:
        again = sorted(set(data.get("upstream_missing") or ()) & set(executing_upstreams))
        return f"upstream not done last time runs again ({', '.join(again)})"
    if record.key == kr.key:
        if record.status == "skipped":
            return f"skipped before ({data.get('reason', 'upstream failed')})"
        return f"failed before ({data.get('error_class', 'error')})"
    changed = []
    if data.get("params_hash") not in (None, kr.params_hash):
        names = changed_parameters(data.get("param_hashes"), kr.param_hashes)
        changed.append("parameters changed" + (f": {', '.join(names)}" if names else ""))
    if data.get("code") not in (None, kr.code):
        changed.append("code changed")
    old_up = data.get("upstream")
    if old_up is not None and old_up != kr.upstream_keys:
        names = sorted(set(old_up) ^ set(kr.upstream_keys)) or sorted(
            u for u in kr.upstream_keys if old_up.get(u) != kr.upstream_keys[u])
        changed.append(f"upstream changed ({', '.join(names)})")
    if data.get("fn") not in (None, kr.fn_path):
        changed.append("fn changed")
    if not changed:
        if record.status != "done":
            return f"{record.status} before ({data.get('error_class') or data.get('reason', '')})".rstrip(" ()")
        changed.append("key changed")
    return ", ".join(changed)


def changed_parameters(old: dict | None, new: dict | None) -> list[str]:
    """Top-level parameters (and ``inputs``) whose hashes differ, added or removed; sorted.
    [] when the old record has no per-parameter hashes (written by an older runfleet)."""
    if not old or new is None:
        return []
    return sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))

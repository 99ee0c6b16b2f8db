"""Content keys of a set of runs, and why each will (or will not) run: shared by the engine and
``runfleet run --dry-run``."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from .keys import code_token, params_hash, run_key
from .ledger import Record
from .study import Run


@dataclass
class KeyedRun:
    """A run with its content key and the parts the key was made of."""

    run: Run
    fn: Callable
    upstream: list[str]
    fn_path: str
    params_hash: str
    code: str
    upstream_keys: dict[str, str]
    key: str

    @property
    def name(self) -> str:
        return self.run.name


def key_runs(runs: dict[str, Run], deps: dict[str, list[str]], fns: dict[str, Callable],
             known_keys: dict[str, str], study_version: str | None, study_seed: int) -> dict[str, KeyedRun]:
    """Keys for ``runs`` in the topological order of ``deps``; upstreams outside ``runs`` come
    from ``known_keys``. The study seed is part of every key: another seed is another run."""
    keys = dict(known_keys)
    out: dict[str, KeyedRun] = {}
    for name, upstream in deps.items():
        run = runs[name]
        fn = fns[name]
        code = code_token(fn, run.version if run.version is not None else study_version)
        up_keys = {u: keys[u] for u in upstream}
        ph = params_hash(run.params)
        key = run_key(run.fn_path, ph, up_keys, code, study_seed)
        keys[name] = key
        out[name] = KeyedRun(run, fn, upstream, run.fn_path, ph, code, up_keys, key)
    return out


def rerun_reason(kr: KeyedRun, record: Record | None) -> str | None:
    """None when the run is done with this key; otherwise why it will run."""
    if record is None:
        return "new"
    data = record.data
    if record.status == "done" and record.key == kr.key:
        return None
    if record.key == kr.key:
        if record.status == "skipped":
            return f"skipped before ({data.get('reason', 'upstream failed')})"
        return f"failed before ({data.get('error_class', 'error')})"
    changed = []
    if data.get("params_hash") not in (None, kr.params_hash):
        changed.append("parameters changed")
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

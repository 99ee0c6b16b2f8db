"""Which runs a study still needs, cut into waves of array elements.

A run needs running when the store has no ``done`` record of it with its current content key
(the same rule as the Dask engine, so resume is identical). Runs that need running are put in
**waves** by depth: a run whose upstream runs are all done already is in wave 0; otherwise it is
one wave after its latest upstream that also needs running. Each wave becomes one array (or a
few, when it is bigger than the site allows), submitted after the previous wave's final job, so
chains need no driver. Within a wave, consecutive runs (topological order) are cut into
elements of ``runs_per_element`` runs.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..errors import InputError
from ..ledger import Record
from ..plan import KeyedRun, key_runs
from ..study import Study, resolve_fn


@dataclass
class Wave:
    """One wave: its runs (topological order) cut into elements (lists of run names)."""

    index: int
    runs: list[str]
    elements: list[list[str]]


@dataclass
class ArrayPlan:
    """What an array submission of a study will do.

    keyed: every run of the study with its content key. to_run: runs without a valid ``done``
    record, in topological order. done_values: returned values of runs already done (from their
    markers). dirty: runs whose directory in the store has files (cleared before their attempt).
    waves: the waves of ``to_run``.
    """

    keyed: dict[str, KeyedRun]
    to_run: list[str]
    done_values: dict[str, Any]
    dirty: set[str]
    waves: list[Wave] = field(default_factory=list)

    @property
    def n_elements(self) -> int:
        return sum(len(w.elements) for w in self.waves)


def key_study(study: Study) -> dict[str, KeyedRun]:
    """Content keys of all runs of a validated study (the same keys the Dask engine computes).

    Raises InputError when a run's fn is a callable that cannot be imported back by its path
    (array elements import it by ``module:function``).
    """
    deps = study.validate()
    fns = {n: resolve_fn(study.runs[n].fn, f"{study.source}: run {n!r}: fn") for n in deps}
    for name, fn in fns.items():
        run = study.runs[name]
        if not isinstance(run.fn, str):
            path = run.fn_path
            try:
                same = resolve_fn(path, name) is fn
            except InputError:
                same = False
            if not same:
                raise InputError(f"{study.source}: run {name!r}: fn: array elements import their function by "
                                 f"path, and {path!r} does not import back to it; use a module-level function")
    return key_runs(study.runs, deps, fns, {}, study.version, study.seed)


def plan_waves(study: Study, records: dict[str, Record], dirty: set[str], runs_per_element: int = 1,
               keyed: dict[str, KeyedRun] | None = None) -> ArrayPlan:
    """Plan the waves of an array submission.

    Parameters
    ----------
    study : Study
        The study (validated here).
    records : dict
        Newest record per run name, from :meth:`runfleet.ledger.Ledger.load`.
    dirty : set of str
        Runs with files in their directory (from the same call).
    runs_per_element : int
        Runs per array element (>= 1).

    Returns
    -------
    ArrayPlan
    """
    if runs_per_element < 1:
        raise InputError(f"runs_per_element: expected an integer >= 1, got {runs_per_element}")
    keyed = keyed if keyed is not None else key_study(study)
    to_run: list[str] = []
    done_values: dict[str, Any] = {}
    depth: dict[str, int] = {}
    for name, kr in keyed.items():
        rec = records.get(name)
        if rec is not None and rec.status == "done" and rec.key == kr.key:
            done_values[name] = rec.data.get("value")
            continue
        to_run.append(name)
        depth[name] = max((depth[u] + 1 for u in kr.upstream if u in depth), default=0)
    waves: list[Wave] = []
    for index in range(max(depth.values(), default=-1) + 1):
        runs = [n for n in to_run if depth[n] == index]
        elements = [runs[i:i + runs_per_element] for i in range(0, len(runs), runs_per_element)]
        waves.append(Wave(index, runs, elements))
    return ArrayPlan(keyed=keyed, to_run=to_run, done_values=done_values, dirty=set(dirty) & set(to_run),
                     waves=waves)


def run_spec(study: Study, kr: KeyedRun, attempt: int, clear: bool) -> dict:
    """The executor spec of one run, as stored in a manifest (upstream values are filled in by
    the element from the store; the same fields as the Dask engine's task specs otherwise)."""
    policy = study.policy_for(kr.run)
    return {
        "name": kr.name, "fn": kr.fn_path, "fn_path": kr.fn_path, "params": kr.run.params,
        "params_hash": kr.params_hash, "code": kr.code, "key": kr.key, "identity": kr.identity(),
        "upstream_names": list(kr.upstream),
        "upstream_keys": kr.upstream_keys, "study_seed": study.seed, "attempt": attempt,
        "timeout_s": policy.timeout_s, "clear": clear, "retries": policy.retries, "backoff_s": policy.backoff_s,
        "skip_reason": kr.run.skip_reason,
    }


def chunk_counts(n_elements: int, max_array_size: int) -> list[tuple[int, int]]:
    """``[(offset, count), ...]``: a wave of ``n_elements`` elements cut into arrays of at most
    ``max_array_size`` elements."""
    return [(o, min(max_array_size, n_elements - o)) for o in range(0, n_elements, max_array_size)]


__all__ = ["ArrayPlan", "Wave", "chunk_counts", "key_study", "plan_waves", "run_spec"]

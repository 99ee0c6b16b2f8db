"""What to run: :class:`Run`, :class:`Study`, and grid/zip expansion of parameters.

A run is a function call with a name. A study is a validated set of runs: unique names, known
``after`` dependencies (names or globs), no cycles. Validation happens up front and raises
:class:`~runfleet.errors.InputError` with a message naming the run and the field.
"""
from __future__ import annotations

import fnmatch
import importlib
import inspect
import itertools
import re
import string
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

from .errors import InputError
from .keys import canonical_json, fn_path

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._=+,@-]{0,199}$")
GLOB_CHARS = set("*?[")


@dataclass
class RetryPolicy:
    """How a failing run is retried.

    Parameters
    ----------
    retries : int, default 0
        Extra attempts after the first (a lost worker or a timeout counts as an attempt; an
        ``UnstorableResult`` or an error whose ``retryable`` is False is never retried).
    backoff_s : float, default 1.0
        Wait before the first retry, s; doubles for each later retry.
    timeout_s : float or None, default None
        A run still running after this many seconds is interrupted and counts as failed with
        error class ``RunTimeout``; ``None`` for no limit.
    """

    retries: int = 0
    backoff_s: float = 1.0
    timeout_s: float | None = None

    FIELDS = ("retries", "backoff_s", "timeout_s")


@dataclass(frozen=True)
class After:
    """An ``after`` entry that accepts failed upstreams (an aggregator over the survivors).

    Parameters
    ----------
    runs : str
        A run name, glob (``"f-*"``) or ``{param}`` template, as a plain ``after`` entry.
    allow_failed : bool
        The run runs once every matching upstream is terminal (done, failed or skipped), with
        ``ctx.upstream`` holding only the done ones and ``ctx.upstream_status`` saying what
        happened to each.
    min_done : float, optional
        Fraction in [0, 1] of the matching upstreams that must be done (implies
        ``allow_failed``); fewer, and the run is skipped with a reason naming the fraction.
    """

    runs: str
    allow_failed: bool = False
    min_done: float | None = None

    @property
    def tolerant(self) -> bool:
        return self.allow_failed or self.min_done is not None

    @classmethod
    def from_mapping(cls, entry: dict, where: str) -> "After":
        """An :class:`After` from a YAML/dict entry ``{runs: ..., allow_failed: ..., min_done: ...}``."""
        unknown = set(entry) - {"runs", "allow_failed", "min_done"}
        if unknown:
            raise InputError(f"{where}: unknown field {sorted(unknown)[0]!r} (expected runs, allow_failed, min_done)")
        return cls(runs=entry.get("runs"), allow_failed=entry.get("allow_failed", False),
                   min_done=entry.get("min_done"))


@dataclass(slots=True)
class Run:
    """One named call ``fn(ctx, **params)``, or ``fn(**params)`` for a plain function.

    Whether ``fn`` receives ``ctx`` is decided from its signature (:func:`takes_ctx`): a first
    parameter named ``ctx`` or annotated ``RunContext``.

    Parameters
    ----------
    name : str
        Unique in the study; letters, digits and ``._=+,@-``.
    fn : str or callable
        A callable or ``"module:attr"``.
    params : dict, optional
        JSON-able keyword arguments.
    after : list of str, dict or After, optional
        Names or globs of runs whose returned values this run receives in ``ctx.upstream``;
        ``{param}`` templates are filled from this run's params. An entry may be an
        :class:`After` (or a dict ``{"runs": "f-*", "allow_failed": True, "min_done": 0.9}``)
        to run over the done upstreams even when some failed.
    retries, backoff_s, timeout_s : int, float (s), float (s), optional
        Override the study's :class:`RetryPolicy`.
    version : str, optional
        Code version token for the content key (default: hash of fn's source).
    pack : bool, optional
        ``False`` to never pack this run with others (default: packed when short).
    inputs : list of str, optional
        Paths or URLs of files the run reads; their content identity (sha256 of a local file,
        ETag and size on object stores) is part of the content key, so a changed file re-runs
        exactly the runs that read it.
    skip_reason : str, optional
        Declare the run skipped at plan time (an input nobody produces, nothing to compute): it is
        never executed, the ledger records it skipped with this one-line reason (shown by
        ``runfleet status`` and the report, counted in the summary), and its dependents are
        skipped naming it. ``fn`` must still resolve; it is not called.
    """

    name: str
    fn: str | Callable
    params: dict = field(default_factory=dict)
    after: tuple[str, ...] | list[str] = ()
    retries: int | None = None
    backoff_s: float | None = None
    timeout_s: float | None = None
    version: str | None = None
    pack: bool | None = None
    inputs: tuple[str, ...] | list[str] = ()
    skip_reason: str | None = None

    def __post_init__(self):
        if isinstance(self.after, (str, After, dict)):
            self.after = (self.after,)
        self.after = tuple(After.from_mapping(a, f"run {self.name!r}: after") if isinstance(a, dict) else a
                           for a in (self.after or ()))
        self.params = dict(self.params or {})
        if isinstance(self.inputs, str):
            self.inputs = (self.inputs,)
        self.inputs = tuple(self.inputs or ())

    @property
    def fn_path(self) -> str:
        return fn_path(self.fn)


def _format(template: str, params: dict, what: str) -> str:
    try:
        return template.format(**params)
    except KeyError as e:
        raise InputError(f"{what}: template {template!r} uses {{{e.args[0]}}}, which is not a parameter "
                         f"(parameters: {', '.join(sorted(params)) or 'none'})") from None
    except (IndexError, ValueError) as e:
        raise InputError(f"{what}: bad template {template!r}: {e}") from None


def _template_fields(template: str) -> set[str]:
    return {f for _, f, _, _ in string.Formatter().parse(template) if f}


def _expand(name_template: str, fn, points: Iterable[dict], params: dict | None, after, **run_kwargs) -> list[Run]:
    runs = []
    after = tuple(after or ())
    for point in points:  # a new dict per point: it is the run's params (not copied again)
        merged = {**params, **point} if params else point
        name = _format(name_template, merged, f"run {name_template!r}: name")
        runs.append(Run(name=name, fn=fn, params=merged, after=after, **run_kwargs))
    if len(runs) > 1 and not _template_fields(name_template):
        raise InputError(f"run {name_template!r}: name has no {{param}} template, so its "
                         f"{len(runs)} expanded runs would share one name")
    return runs


def grid(name_template: str, fn, grid: dict[str, Iterable], params: dict | None = None,
         after: Iterable[str] = (), **run_kwargs) -> list[Run]:
    """One run per point of the cartesian product of ``grid``'s value lists.

    Parameters
    ----------
    name_template : str
        Formatted with each point's params, e.g. ``"sim-{alpha}"``.
    fn : str or callable
        The run function (``"module:attr"`` or a callable).
    grid : dict of str to iterable
        Parameter name -> values; one run per combination.
    params : dict, optional
        Parameters shared by every run.
    after : iterable of str, optional
        ``after`` of every run (templates filled from each point's params).
    **run_kwargs
        Other :class:`Run` fields (``retries``, ``timeout_s``, ``pack``, ...).

    Returns
    -------
    list of Run
    """
    keys = list(grid)
    values = [list(grid[k]) for k in keys]
    points = (dict(zip(keys, combo)) for combo in itertools.product(*values))  # one at a time
    return _expand(name_template, fn, points, params, after, **run_kwargs)


def zip_params(name_template: str, fn, lists: dict[str, Iterable], params: dict | None = None,
               after: Iterable[str] = (), **run_kwargs) -> list[Run]:
    """One run per position of equally long value lists (like Python's ``zip``).

    Parameters
    ----------
    name_template : str
        Formatted with each position's params, e.g. ``"case-{region}-{year}"``.
    fn : str or callable
        The run function.
    lists : dict of str to iterable
        Parameter name -> values, all of the same length.
    params : dict, optional
        Parameters shared by every run.
    after : iterable of str, optional
        ``after`` of every run.
    **run_kwargs
        Other :class:`Run` fields.

    Returns
    -------
    list of Run

    Raises
    ------
    InputError
        When the lists differ in length.
    """
    keys = list(lists)
    values = [list(lists[k]) for k in keys]
    lengths = {len(v) for v in values}
    if len(lengths) > 1:
        detail = ", ".join(f"{k}: {len(v)}" for k, v in zip(keys, values))
        raise InputError(f"run {name_template!r}: zip lists must have equal lengths ({detail})")
    points = (dict(zip(keys, combo)) for combo in zip(*values))
    return _expand(name_template, fn, points, params, after, **run_kwargs)


def resolve_fn(fn: str | Callable, where: str) -> Callable:
    """Import ``"module:attr"`` (or return the callable); InputError naming ``where`` on failure."""
    if callable(fn):
        return fn
    if not isinstance(fn, str) or ":" not in fn:
        raise InputError(f"{where}: fn must be 'module:function', got {fn!r}")
    module_name, _, attr = fn.partition(":")
    try:
        obj = importlib.import_module(module_name)
    except Exception as e:  # noqa: BLE001 - any import failure is the user's input
        raise InputError(f"{where}: cannot import module {module_name!r} for fn {fn!r}: "
                         f"{type(e).__name__}: {e}") from None
    for part in attr.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise InputError(f"{where}: module {module_name!r} has no attribute {attr!r} (fn {fn!r})") from None
    if not callable(obj):
        raise InputError(f"{where}: {fn!r} is not callable")
    return obj


def takes_ctx(fn: Callable) -> bool:
    """True when ``fn`` is called ``fn(ctx, **params)``; False for a plain ``fn(**params)``.

    The rule, decided once from the signature: a function takes the run's
    :class:`~runfleet.context.RunContext` when its first positional parameter is named ``ctx``
    or is annotated ``RunContext``. Any other function is called with the params only. A
    callable whose signature cannot be read (some builtins) is called with the params only.

    Parameters
    ----------
    fn : callable
        The run's function.

    Returns
    -------
    bool
    """
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        return False
    for p in sig.parameters.values():
        if p.kind not in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD):
            return False
        ann = p.annotation
        ann_name = ann if isinstance(ann, str) else getattr(ann, "__name__", "")
        return p.name == "ctx" or ann_name.rsplit(".", 1)[-1] == "RunContext"
    return False


def call_style(run: Run, fn: Callable, src: str) -> bool:
    """Check that ``fn`` can be called with ``run``'s params; return :func:`takes_ctx`.

    Whether a call binds depends only on the function and the parameter *names*, so the answer
    is cached per (function, names): checking 100,000 runs of one function costs one
    ``inspect.signature``.

    Raises
    ------
    InputError
        Naming the file, the run and the parameter (``inspect.Signature.bind`` fails: a
        missing required parameter, an unexpected one, or one given twice).
    """
    names = tuple(run.params)
    try:
        ctx, problem = _CALL_CACHE[(fn, names)]
    except (KeyError, TypeError):  # TypeError: an unhashable callable
        ctx, problem = _call_style(fn, names)
        try:
            if len(_CALL_CACHE) > 4096:
                _CALL_CACHE.clear()
            _CALL_CACHE[(fn, names)] = (ctx, problem)
        except TypeError:
            pass
    if problem:
        how = "fn(ctx, **params)" if ctx else "fn(**params) (no ctx: its first parameter is not 'ctx')"
        raise InputError(f"{src}: run {run.name!r}: params: {run.fn_path} cannot be called as {how}: {problem}")
    return ctx


_CALL_CACHE: dict = {}


def _call_style(fn: Callable, names: tuple) -> tuple[bool, str | None]:
    ctx = takes_ctx(fn)
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        return ctx, None
    kwargs = dict.fromkeys(names)
    try:
        if ctx:
            sig.bind(None, **kwargs)
        else:
            sig.bind(**kwargs)
    except TypeError as e:
        return ctx, str(e)
    return ctx, None


class Study:
    """A named set of runs with a store, a seed and default retry policy.

    Parameters
    ----------
    name : str
        The study's directory under the store (``<store>/<name>/``).
    store : str, optional
        Local directory or ``s3://bucket/prefix``.
    seed : int, default 0
        Study seed; each run's seed derives from it and the run's name.
    defaults : dict, optional
        :class:`RetryPolicy` fields (``retries``, ``backoff_s``, ``timeout_s``), ``pack`` and
        ``version``.
    storage_options : dict, optional
        fsspec options to open the store (credentials: never printed).
    version : str, optional
        Code version token for every run's content key.
    source : str, optional
        Where the study came from (a file path), used in error messages.

    Raises
    ------
    InputError
        For an unknown field of ``defaults``.
    """

    def __init__(self, name: str, store: str | None = None, seed: int = 0, defaults: dict | None = None,
                 storage_options: dict | None = None, version: str | None = None, source: str | None = None):
        self.name = name
        self.store = store
        self.seed = seed
        self.storage_options = dict(storage_options or {})
        self.source = source or "study"
        defaults = dict(defaults or {})
        self.version = defaults.pop("version", version)
        unknown = set(defaults) - set(RetryPolicy.FIELDS) - {"pack"}
        if unknown:
            raise InputError(f"{self.source}: defaults: unknown field {sorted(unknown)[0]!r} "
                             f"(expected one of: {', '.join(RetryPolicy.FIELDS + ('pack', 'version'))})")
        self.pack_default = defaults.pop("pack", None)
        self.policy = RetryPolicy(**defaults)
        self.runs: dict[str, Run] = {}
        self._duplicates: list[str] = []
        self.directory: str | None = None  # the study file's directory (set by load_study)

    def add(self, run: Run) -> Run:
        if run.name in self.runs:
            self._duplicates.append(run.name)
        self.runs[run.name] = run
        return run

    def add_many(self, runs: Iterable[Run]) -> list[Run]:
        return [self.add(r) for r in runs]

    def policy_for(self, run: Run) -> RetryPolicy:
        p = self.policy
        return RetryPolicy(
            retries=p.retries if run.retries is None else run.retries,
            backoff_s=p.backoff_s if run.backoff_s is None else run.backoff_s,
            timeout_s=p.timeout_s if run.timeout_s is None else run.timeout_s,
        )

    def validate_header(self) -> None:
        """Check the study's own fields (name, seed), not its runs: what a fleet that receives its
        runs later (:func:`runfleet.open_fleet`) needs before it touches the store.

        Raises
        ------
        InputError
            For a name that is not a plain directory name (``../escape``) or a bad seed.
        """
        src = self.source
        if not isinstance(self.name, str) or not NAME_RE.match(self.name):
            raise InputError(f"{src}: name: {self.name!r} is not a valid study name "
                             "(letters, digits and ._=+,@- ; starting with a letter or digit)")
        if not isinstance(self.seed, int) or isinstance(self.seed, bool) or self.seed < 0:
            raise InputError(f"{src}: seed: expected a non-negative integer, got {self.seed!r}")

    def validate(self, import_fns: bool = True) -> dict[str, list[str]]:
        """Check the whole study; return ``{run name: [upstream names]}`` in topological order.

        Raises InputError for: a bad study name, bad or duplicate run names, params that are not
        JSON-able, ``after`` naming no run, a cycle, an fn that cannot be imported.
        """
        deps, _, order = self.checked(import_fns)
        empty: list = []  # one list shared by the runs without upstreams (most of a big grid)
        out = dict.fromkeys(order, empty)
        for n, ups in deps.items():
            if ups:
                out[n] = list(ups)
        return out

    def checked(self, import_fns: bool = True) -> tuple[dict, dict, list[str]]:
        """:meth:`validate`'s checks; returns what they resolved, for the engine to submit the
        runs without resolving them again: ``(deps, groups, order)`` as
        :func:`resolve_after_groups` and :func:`topological_order` return them.

        Raises
        ------
        InputError
            As :meth:`validate`.
        """
        src = self.source
        self.validate_header()
        if self._duplicates:
            raise InputError(f"{src}: runs: duplicate run name {self._duplicates[0]!r}")
        if not self.runs:
            raise InputError(f"{src}: runs: the study has no runs")
        check_runs(self.runs.values(), src)
        deps, groups = resolve_after_groups(self.runs, src)
        order = topological_order(deps, src)
        if import_fns:
            resolved: dict = {}  # one import per distinct fn, not per run
            runs = self.runs
            last_fn = last_names = None  # whether a call binds depends on the fn and the param names only
            for name in order:
                run = runs[name]
                fn = run.fn
                if fn is last_fn and run.params.keys() == last_names:
                    continue  # the run before had the same fn and parameter names, and binds
                try:
                    got = resolved.get(fn)
                except TypeError:  # an unhashable callable
                    got = None
                if got is None:
                    got = resolve_fn(fn, f"{src}: run {name!r}: fn")
                    try:
                        resolved[fn] = got
                    except TypeError:
                        pass
                call_style(run, got, src)
                last_fn, last_names = fn, run.params.keys()
        return deps, groups, order


#: runs whose params are checked JSON-able in one encoding by :func:`check_runs`
_CHECK_CHUNK = 4096


def check_runs(runs: Iterable[Run], src: str) -> None:
    """:func:`check_run_fields` of every run, in order (the first bad run raises), with the
    common case checked in bulk: the params of a chunk of runs encoded at once, and the fields
    few runs set checked only on the runs that set them.

    Raises
    ------
    InputError
        The error :func:`check_run_fields` raises for the first bad run.
    """
    match = NAME_RE.match
    runs = iter(runs)
    while True:
        chunk = list(itertools.islice(runs, _CHECK_CHUNK))
        if not chunk:
            return
        try:
            canonical_json([r.params for r in chunk])
        except (TypeError, ValueError):
            for run in chunk:  # the first bad run says what is wrong with it
                check_run_fields(run, src)
        for run in chunk:
            name = run.name
            if (not isinstance(name, str) or match(name) is None or type(run.params) is not dict
                    or run.retries is not None or run.backoff_s is not None or run.timeout_s is not None
                    or run.skip_reason is not None or run.inputs):
                check_run_fields(run, src)


def check_run_fields(run: Run, src: str) -> None:
    """Validate one run's name, params and policy fields."""
    name = run.name
    if not isinstance(name, str) or not NAME_RE.match(name):
        raise InputError(f"{src}: run {name!r}: name must be letters, digits and ._=+,@- "
                         "(at most 200 characters, starting with a letter or digit)")
    if not isinstance(run.params, dict):
        raise InputError(f"{src}: run {name!r}: params: expected a mapping, got {type(run.params).__name__}")
    try:
        canonical_json(run.params)
    except (TypeError, ValueError) as e:
        raise InputError(f"{src}: run {name!r}: params: not JSON-able ({e})") from None
    for fld in ("retries",):
        v = getattr(run, fld)
        if v is not None and (not isinstance(v, int) or isinstance(v, bool) or v < 0):
            raise InputError(f"{src}: run {name!r}: {fld}: expected a non-negative integer, got {v!r}")
    if run.skip_reason is not None and (not isinstance(run.skip_reason, str) or not run.skip_reason.strip()):
        raise InputError(f"{src}: run {name!r}: skip_reason: expected a non-empty string")
    if any(not isinstance(p, str) or not p for p in run.inputs):
        raise InputError(f"{src}: run {name!r}: inputs: expected a list of file paths")
    for fld in ("backoff_s", "timeout_s"):
        v = getattr(run, fld)
        if v is not None and (not isinstance(v, (int, float)) or isinstance(v, bool) or v < 0):
            raise InputError(f"{src}: run {name!r}: {fld}: expected a non-negative number of seconds, got {v!r}")


def resolve_after(runs: dict[str, Run], src: str, known: Iterable[str] = ()) -> dict[str, list[str]]:
    """Expand each run's ``after`` (names, globs, ``{param}`` templates) to upstream names.

    ``known`` are names of runs outside ``runs`` that may also be depended on (dynamic submission).
    """
    deps, _ = resolve_after_groups(runs, src, known)
    return deps


@dataclass
class AfterGroup:
    """The upstreams one ``after`` entry of a run with tolerant entries matched (see :class:`After`).

    ``min_done``: fraction of ``names`` that must be done (0.0 for ``allow_failed`` without a
    fraction); None for a strict entry (a failure among ``names`` skips the run).
    """

    pattern: str
    names: list[str]
    min_done: float | None

    @staticmethod
    def tolerated(groups: list["AfterGroup"]) -> set[str]:
        """Upstreams whose failure does not skip the run: matched by tolerant entries only."""
        strict = {n for g in groups if g.min_done is None for n in g.names}
        return {n for g in groups if g.min_done is not None for n in g.names} - strict


def resolve_after_groups(runs: dict[str, Run], src: str, known: Iterable[str] = ()
                         ) -> tuple[dict[str, list[str]], dict[str, list[AfterGroup]]]:
    """:func:`resolve_after`, and for runs with tolerant entries (:class:`After`) the groups of
    upstreams each entry matched: ``(deps, {run name: [AfterGroup]})``. An upstream matched by
    a strict entry too is strict (its failure skips the run)."""
    universe = None  # names globs are matched against, built when the first glob needs it
    # runs without after share one empty tuple: no list per run for the many runs of a grid
    deps: dict[str, list[str]] = dict.fromkeys(runs, _NO_UPSTREAM)
    groups: dict[str, list[AfterGroup]] = {}
    for name, run in [(n, r) for n, r in runs.items() if r.after]:
        upstream: list[str] = []
        for entry in run.after:
            pattern = entry
            if isinstance(entry, After):
                pattern = entry.runs
                md = entry.min_done
                if md is not None and (isinstance(md, bool) or not isinstance(md, (int, float)) or not 0 <= md <= 1):
                    raise InputError(f"{src}: run {name!r}: after: min_done: expected a fraction in [0, 1], got {md!r}")
                if not isinstance(entry.allow_failed, bool):
                    raise InputError(f"{src}: run {name!r}: after: allow_failed: expected true or false, "
                                     f"got {entry.allow_failed!r}")
            if not isinstance(pattern, str):
                raise InputError(f"{src}: run {name!r}: after: expected run names, got {pattern!r}")
            pat = _format(pattern, run.params, f"{src}: run {name!r}: after") if "{" in pattern else pattern
            if GLOB_CHARS & set(pat):
                if universe is None:
                    universe = list(known) + list(runs)
                matches = [n for n in universe if n != name and fnmatch.fnmatchcase(n, pat)]
                if not matches:
                    raise InputError(f"{src}: run {name!r}: after: pattern {pat!r} matches no run")
            else:
                if pat not in runs and pat not in known:
                    raise InputError(f"{src}: run {name!r}: after: unknown run {pat!r}")
                if pat == name:
                    raise InputError(f"{src}: run {name!r}: after: a run cannot follow itself")
                matches = [pat]
            for m in matches:
                if m not in upstream:
                    upstream.append(m)
            if isinstance(entry, After) and entry.tolerant:
                groups.setdefault(name, []).append(AfterGroup(pat, matches, float(entry.min_done or 0.0)))
            elif any(isinstance(e, After) and e.tolerant for e in run.after):
                groups.setdefault(name, []).append(AfterGroup(pat, matches, None))  # strict beside tolerant
        deps[name] = upstream
    return deps, groups


#: the upstreams of a run without ``after`` (one shared empty tuple)
_NO_UPSTREAM: tuple = ()


def topological_order(deps: dict[str, list[str]], src: str) -> list[str]:
    """Upstreams before dependents, otherwise in the given order (upstreams outside ``deps``
    count as satisfied). Raises InputError naming a cycle."""
    import heapq

    if not any(u in deps for ups in deps.values() for u in ups):
        return list(deps)  # no run follows another of these: the given order (no graph built)
    position = {n: i for i, n in enumerate(deps)}
    indegree = {n: sum(1 for u in ups if u in deps) for n, ups in deps.items()}
    children: dict[str, list[str]] = {n: [] for n in deps}
    for n, ups in deps.items():
        for u in ups:
            if u in children:
                children[u].append(n)
    heap = [(position[n], n) for n, d in indegree.items() if d == 0]
    heapq.heapify(heap)
    order: list[str] = []
    while heap:
        _, n = heapq.heappop(heap)
        order.append(n)
        for c in children[n]:
            indegree[c] -= 1
            if indegree[c] == 0:
                heapq.heappush(heap, (position[c], c))
    if len(order) < len(deps):
        done = set(order)
        cycle = _find_cycle({n: [u for u in deps[n] if u in deps and u not in done] for n in deps if n not in done})
        raise InputError(f"{src}: runs: dependency cycle: {' -> '.join(cycle)}")
    return order


def _find_cycle(graph: dict[str, list[str]]) -> list[str]:
    start = next(iter(graph))
    path, seen = [start], {start: 0}
    node = start
    while True:
        node = graph[node][0]
        if node in seen:
            return path[seen[node]:] + [node]
        seen[node] = len(path)
        path.append(node)

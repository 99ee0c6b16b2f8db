"""The run state machine: the states a run goes through in one invocation, and the table of runs.

Every change of a run's state goes through :meth:`RunTable.move`, which checks the transition
and keeps a count per state, so "how many runs are running / waiting" is a lookup, not a scan
of 100,000 runs on every loop turn of the engine.

::

            +---------> SKIPPED <--------------+
            |              ^                   |
    (new) --+--> WAITING --+--> READY --> RUNNING --> DONE
            |                     ^          |
            +--> DONE (resumed)   |          +--> BACKOFF --> READY (retry)
                                  |          |
                                  +----------+--> FAILED
"""
from __future__ import annotations

import array
import enum
import itertools
from dataclasses import dataclass, field
from typing import Any, Iterator

from .plan import KeyedRun
from .study import RetryPolicy


class RunState(enum.Enum):
    """Where a run is in this invocation."""

    NEW = "new"  #: just added, not placed yet
    WAITING = "waiting"  #: some upstream run is not done yet
    READY = "ready"  #: every upstream is done; queued for submission
    RUNNING = "running"  #: in a task submitted to the execution backend
    BACKOFF = "backoff"  #: an attempt failed; waits for its retry time
    DONE = "done"  #: committed (now or in an earlier invocation)
    FAILED = "failed"  #: out of attempts; its record is in the store
    SKIPPED = "skipped"  #: an upstream run failed or was skipped

    # members are singletons compared by identity: hash them in C (Enum's own __hash__ is Python
    # code, and the engine hashes a state several times per run)
    __hash__ = object.__hash__

    @property
    def terminal(self) -> bool:
        """True for DONE, FAILED and SKIPPED: nothing more happens to the run in this invocation."""
        return self in _TERMINAL


_TERMINAL = frozenset({RunState.DONE, RunState.FAILED, RunState.SKIPPED})

#: allowed transitions: from-state -> to-states
TRANSITIONS: dict[RunState, frozenset[RunState]] = {
    RunState.NEW: frozenset({RunState.WAITING, RunState.READY, RunState.DONE, RunState.SKIPPED}),
    RunState.WAITING: frozenset({RunState.READY, RunState.SKIPPED}),
    RunState.READY: frozenset({RunState.RUNNING, RunState.SKIPPED}),
    RunState.RUNNING: frozenset({RunState.DONE, RunState.BACKOFF, RunState.FAILED,
                                RunState.READY}),  # READY: scheduler lost, not charged
    RunState.BACKOFF: frozenset({RunState.READY, RunState.SKIPPED}),
    RunState.DONE: frozenset(),
    RunState.FAILED: frozenset(),
    RunState.SKIPPED: frozenset(),
}


@dataclass
class RunEntry:
    """What the engine knows about one run in this invocation (the form a run is added in; the
    table keeps it column by column and returns a view with the same attributes).

    Attributes
    ----------
    kr : KeyedRun
        The run with its content key.
    policy : RetryPolicy
        Its retry policy (run fields over study defaults).
    packable : bool
        Whether it may share a task with other short runs.
    state : RunState
        Current state; change it only with :meth:`RunTable.move`.
    attempts : int
        Attempts started in this invocation.
    value : Any
        Returned value once done (small JSON).
    dirty : bool
        Its run directory may hold files of an earlier attempt (cleared before the next one).
    dependents : list of str
        Runs whose ``after`` names this run.
    history : list of dict
        Failed attempts of this invocation (see :class:`runfleet.ledger.Attempt`).
    after_groups : list of runfleet.study.AfterGroup or None
        For a run with tolerant ``after`` entries (aggregators over survivors): its upstream
        groups; None for a run whose upstreams must all be done.
    tolerated : frozenset of str
        Upstreams whose failure does not skip it (matched by tolerant entries only).
    resumed : bool
        Done in the store with its current key: not executed in this invocation.
    """

    kr: KeyedRun | None
    policy: RetryPolicy | None
    packable: bool
    state: RunState = RunState.NEW
    attempts: int = 0
    value: Any = None
    dirty: bool = False
    dependents: list[str] = field(default_factory=list)
    history: list[dict] = field(default_factory=list)
    after_groups: list | None = None
    tolerated: frozenset = frozenset()
    resumed: bool = False
    attempt_id: str | None = None  #: the current attempt's id on clusters that track attempt starts


class InvalidTransition(RuntimeError):
    """An engine bug: a run was moved along a transition the state machine does not have."""


_STATES = list(RunState)
_CODE = {s: i for i, s in enumerate(_STATES)}
_ALLOWED = [[False] * len(_STATES) for _ in _STATES]
for _frm, _tos in TRANSITIONS.items():
    for _to in _tos:
        _ALLOWED[_CODE[_frm]][_CODE[_to]] = True
_EMPTY: tuple = ()
_NO_KEYS: dict = {}
_PACKABLE, _DIRTY, _RESUMED = 1, 2, 4
_NEW = 0  # RunState.NEW's code
_DONE = _CODE[RunState.DONE]


class _FnInfo:
    """What runs of one function (and code token) share: interned once per table."""

    __slots__ = ("fn", "fn_path", "code", "takes_ctx", "by_name")

    def __init__(self, fn, fn_path, code, takes_ctx, by_name):
        self.fn, self.fn_path, self.code, self.takes_ctx, self.by_name = fn, fn_path, code, takes_ctx, by_name


class KeyedView:
    """A run's :class:`~runfleet.plan.KeyedRun` fields read from the table's columns (no object
    per run is kept): ``run``, ``fn``, ``fn_path``, ``code``, ``takes_ctx``, ``key``,
    ``upstream``, ``upstream_keys``, ``files_hash``, ``params_hash`` and :meth:`identity`."""

    __slots__ = ("_t", "_i")

    def __init__(self, table: "RunTable", i: int):
        self._t, self._i = table, i

    @property
    def run(self):
        return self._t._runs[self._i]

    @property
    def name(self) -> str:
        return self._t._names[self._i]

    @property
    def fn(self):
        return self._t._fn[self._i].fn

    @property
    def fn_path(self) -> str:
        return self._t._fn[self._i].fn_path

    @property
    def code(self) -> str:
        return self._t._fn[self._i].code

    @property
    def takes_ctx(self) -> bool:
        return self._t._fn[self._i].takes_ctx

    @property
    def key(self) -> str:
        return self._t.key_of(self._i)

    @property
    def upstream(self):
        return self._t._upstream.get(self._i, _EMPTY)

    @property
    def upstream_keys(self) -> dict:
        t = self._t
        ups = t._upstream.get(self._i)
        if not ups:
            return {}
        return {u: t.key_of(t._index[u]) for u in ups}

    @property
    def files_hash(self) -> str | None:
        return self._t._files.get(self._i)

    @property
    def params_hash(self) -> str:
        i = self._i
        return self._t._phash[16 * i:16 * i + 16].hex()

    def identity(self) -> dict:
        """The key parts every record of the run carries (see :meth:`runfleet.plan.KeyedRun.identity`)."""
        ident = {"name": self.name, "key": self.key, "fn": self.fn_path, "params_hash": self.params_hash,
                 "upstream": self.upstream_keys, "code": self.code}
        files = self.files_hash
        if files:
            ident["files_hash"] = files
        return ident


class RunView:
    """One run of a :class:`RunTable`, with the attributes of :class:`RunEntry` (read and written
    through the table's columns)."""

    __slots__ = ("_t", "_i")

    def __init__(self, table: "RunTable", i: int):
        self._t, self._i = table, i

    @property
    def index(self) -> int:
        """The run's position in the table."""
        return self._i

    @property
    def kr(self) -> KeyedView | None:
        return KeyedView(self._t, self._i) if self._t._runs[self._i] is not None else None

    @property
    def policy(self):
        return self._t._policy[self._i]

    @property
    def state(self) -> RunState:
        return _STATES[self._t._state[self._i]]

    @state.setter
    def state(self, value: RunState) -> None:  # for tests that set it; the engine uses move
        self._t._state[self._i] = _CODE[value]

    def _flag(self, bit: int) -> bool:
        return bool(self._t._flags[self._i] & bit)

    def _set_flag(self, bit: int, on: bool) -> None:
        if on:
            self._t._flags[self._i] |= bit
        else:
            self._t._flags[self._i] &= ~bit & 0xFF

    packable = property(lambda self: self._flag(_PACKABLE), lambda self, v: self._set_flag(_PACKABLE, v))
    dirty = property(lambda self: self._flag(_DIRTY), lambda self, v: self._set_flag(_DIRTY, v))
    resumed = property(lambda self: self._flag(_RESUMED), lambda self, v: self._set_flag(_RESUMED, v))

    @property
    def attempts(self) -> int:
        return self._t._attempts[self._i]

    @attempts.setter
    def attempts(self, value: int) -> None:
        self._t._attempts[self._i] = value

    @property
    def value(self):
        return self._t._values[self._i]

    @value.setter
    def value(self, v) -> None:
        self._t._values[self._i] = v

    @property
    def dependents(self):
        return self._t._dependents.get(self._i, _EMPTY)

    @property
    def history(self) -> list[dict]:
        """Failed attempts of this invocation (a new empty list when there are none: add with
        :meth:`RunTable.add_attempt`)."""
        return self._t._history.get(self._i) or []

    @property
    def after_groups(self):
        return self._t._groups.get(self._i)

    @property
    def tolerated(self) -> frozenset:
        return self._t._tolerated.get(self._i, frozenset())

    @property
    def attempt_id(self) -> str | None:
        return self._t._attempt_ids.get(self._i)

    @attempt_id.setter
    def attempt_id(self, v: str | None) -> None:
        if v is None:
            self._t._attempt_ids.pop(self._i, None)
        else:
            self._t._attempt_ids[self._i] = v


class RunTable:
    """All runs of a fleet by name, column by column, with a count per :class:`RunState`.

    A run costs the table about 200 bytes (a name index entry, its key and params hash as 16
    bytes each, a state
    byte, flags, attempts, a reference to its :class:`~runfleet.study.Run` and its value);
    what few runs have (upstreams, dependents, failed attempts, aggregator groups) is kept in
    dicts by position. ``table[name]`` is a :class:`RunView` with :class:`RunEntry`'s attributes.

    Examples
    --------
    >>> table = RunTable()                                  # doctest: +SKIP
    >>> table.add("a", entry); table.move("a", RunState.READY)  # doctest: +SKIP
    >>> table.count(RunState.READY)                          # doctest: +SKIP
    1
    """

    def __init__(self) -> None:
        self._index: dict[str, int] = {}
        self._names: list[str] = []
        self._runs: list = []
        self._fn: list = []
        self._policy: list = []
        self._keys = bytearray()
        self._phash = bytearray()
        self._state = bytearray()
        self._flags = bytearray()
        self._attempts = array.array("I")
        self._values: list = []
        self._upstream: dict[int, tuple] = {}
        self._files: dict[int, str] = {}
        self._dependents: dict[int, list] = {}
        self._history: dict[int, list] = {}
        self._groups: dict[int, list] = {}
        self._tolerated: dict[int, frozenset] = {}
        self._attempt_ids: dict[int, str] = {}
        self._fninfos: dict = {}
        self._policies: dict = {}
        self._counts = [0] * len(_STATES)

    def add_keyed(self, name: str, kr: KeyedRun, policy: RetryPolicy, *, packable: bool, dirty: bool = False,
                  after_groups: list | None = None, tolerated: frozenset | None = None) -> RunView:
        """Register a new run (state NEW) from its keyed run, without a :class:`RunEntry`.

        Parameters
        ----------
        name : str
            The run.
        kr : KeyedRun
            The run with its content key.
        policy : RetryPolicy
            Its retry policy.
        packable, dirty : bool
            See :class:`RunEntry`.
        after_groups : list, optional
            Its upstream groups when it has tolerant ``after`` entries.
        tolerated : frozenset, optional
            Upstreams whose failure does not skip it.

        Returns
        -------
        RunView

        Raises
        ------
        KeyError
            If the name is taken.
        """
        index = self._index
        if name in index:
            raise KeyError(name)
        i = len(self._names)
        index[name] = i
        self._names.append(name)
        self._runs.append(kr.run)
        self._fn.append(self.fn_info(kr.fn, kr.fn_path, kr.code, kr.takes_ctx, isinstance(kr.run.fn, str)))
        self._keys += bytes.fromhex(kr.key)
        self._phash += bytes.fromhex(kr.params_hash)
        if kr.upstream:
            self._upstream[i] = tuple(kr.upstream)
        if kr.files_hash:
            self._files[i] = kr.files_hash
        self._policy.append(self.shared_policy(policy))
        self._state.append(_NEW)
        self._flags.append((_PACKABLE if packable else 0) | (_DIRTY if dirty else 0))
        self._attempts.append(0)
        self._values.append(None)
        if after_groups:
            self._groups[i] = after_groups
        if tolerated:
            self._tolerated[i] = tolerated
        self._counts[_NEW] += 1
        return RunView(self, i)

    def add(self, name: str, entry: RunEntry) -> RunView:
        """Register a new run (state NEW); KeyError if the name is taken."""
        if name in self._index:
            raise KeyError(name)
        i = len(self._names)
        kr = entry.kr
        self._index[name] = i
        self._names.append(name)
        if kr is not None:
            self._runs.append(kr.run)
            self._fn.append(self.fn_info(kr.fn, kr.fn_path, kr.code, kr.takes_ctx, isinstance(kr.run.fn, str)))
            self._keys += bytes.fromhex(kr.key)
            self._phash += bytes.fromhex(kr.params_hash)
            if kr.upstream:
                self._upstream[i] = tuple(kr.upstream)
            if kr.files_hash:
                self._files[i] = kr.files_hash
        else:
            self._runs.append(None)
            self._fn.append(None)
            self._keys += bytes(16)
            self._phash += bytes(16)
        self._policy.append(self.shared_policy(entry.policy) if entry.policy is not None else None)
        self._state.append(_CODE[RunState.NEW])
        self._flags.append((_PACKABLE if entry.packable else 0) | (_DIRTY if entry.dirty else 0)
                           | (_RESUMED if entry.resumed else 0))
        self._attempts.append(entry.attempts)
        self._values.append(entry.value)
        if entry.dependents:
            self._dependents[i] = list(entry.dependents)
        if entry.history:
            self._history[i] = list(entry.history)
        if entry.after_groups:
            self._groups[i] = entry.after_groups
        if entry.tolerated:
            self._tolerated[i] = entry.tolerated
        if entry.attempt_id is not None:
            self._attempt_ids[i] = entry.attempt_id
        self._counts[_CODE[RunState.NEW]] += 1
        return RunView(self, i)

    def key_of(self, i: int) -> str:
        """The content key (32 hex characters) of the run at position ``i``."""
        return self._keys[16 * i:16 * i + 16].hex()

    def add_attempt(self, name: str, attempt: dict) -> None:
        """Append a failed attempt to run ``name``'s history."""
        self._history.setdefault(self._index[name], []).append(attempt)

    def add_dependent(self, name: str, dependent: str) -> None:
        """Record that run ``dependent`` follows run ``name``."""
        self._dependents.setdefault(self._index[name], []).append(dependent)

    def move(self, name: str, to: RunState) -> RunView:
        """Move run ``name`` to state ``to``, keeping the per-state counts.

        Parameters
        ----------
        name : str
            The run.
        to : RunState
            Its new state.

        Returns
        -------
        RunView
            The run's entry.

        Raises
        ------
        InvalidTransition
            If the state machine has no transition from the run's state to ``to``.
        """
        i = self._index[name]
        frm = self._state[i]
        t = _CODE[to]
        if not _ALLOWED[frm][t]:
            raise InvalidTransition(f"run {name!r}: {_STATES[frm].value} -> {to.value} is not a transition")
        self._counts[frm] -= 1
        self._counts[t] += 1
        self._state[i] = t
        return RunView(self, i)

    # -- batches (a task's runs at once) ---------------------------------------------------------
    def positions(self, names) -> list[int]:
        """The table positions of runs ``names`` (KeyError for an unknown name)."""
        index = self._index
        return [index[n] for n in names]

    def move_many(self, positions, to: RunState) -> None:
        """Move the runs at ``positions`` to state ``to``: all of them, or none when one of them
        has no such transition (the checks of :meth:`move`, counts updated once).

        Raises
        ------
        InvalidTransition
            Naming the first run that cannot move.
        """
        t = _CODE[to]
        st = self._state
        can = [_ALLOWED[c][t] for c in range(len(_STATES))]
        for i in positions:
            if not can[st[i]]:
                raise InvalidTransition(f"run {self._names[i]!r}: {_STATES[st[i]].value} -> {to.value} "
                                        "is not a transition")
        counts = self._counts
        for i in positions:
            counts[st[i]] -= 1
            st[i] = t
        counts[t] += len(positions)

    def begin_attempts(self, positions) -> None:
        """Start an attempt of each run at ``positions``: READY -> RUNNING (as :meth:`move_many`),
        ``attempts`` + 1, and a second or later attempt's directory marked dirty (cleared first)."""
        self.move_many(positions, RunState.RUNNING)
        att, flags = self._attempts, self._flags
        for i in positions:
            a = att[i] = att[i] + 1
            if a > 1:
                flags[i] |= _DIRTY

    def complete(self, positions, values) -> None:
        """The runs at ``positions`` committed: RUNNING -> DONE (as :meth:`move_many`), each with
        its returned value (``values`` in the same order); their attempt ids are dropped."""
        self.move_many(positions, RunState.DONE)
        vals = self._values
        for i, v in zip(positions, values):
            vals[i] = v
        ids = self._attempt_ids
        if ids:
            for i in positions:
                ids.pop(i, None)

    def dependents_at(self, i: int):
        """Names of the runs that follow the run at position ``i``."""
        return self._dependents.get(i, _EMPTY)

    def has_dependents(self) -> bool:
        """True when some run of the table follows another."""
        return bool(self._dependents)

    def fn_path_at(self, i: int) -> str | None:
        """The function path of the run at position ``i``."""
        info = self._fn[i]
        return info.fn_path if info is not None else None

    def attempts_at(self, i: int) -> int:
        """Attempts started for the run at position ``i`` in this invocation."""
        return self._attempts[i]

    def task_columns(self, positions: list[int]) -> tuple[dict, dict, dict]:
        """The specs of a task's runs as :meth:`runfleet.executor.Specs.from_columns` takes them.

        Parameters
        ----------
        positions : list of int
            The task's runs (started: their attempt is counted already).

        Returns
        -------
        tuple of dict
            ``(shared, columns, sparse)``: ``fn``, ``fn_path``, ``code``, ``takes_ctx``,
            ``timeout_s``, ``attempt`` and ``clear`` once when equal for every run (else as
            per-run columns); ``name``, ``params``, ``key`` and ``params_hash`` per run; the
            upstream values and keys, files hashes, failed attempts, upstream states (for runs
            with tolerant ``after``) and attempt ids of the runs that have them, by position in
            the task. ``study_seed`` is the caller's to add.
        """
        names, runs, fns, pols = self._names, self._runs, self._fn, self._policy
        att, flags, keys, phash = self._attempts, self._flags, self._keys, self._phash
        p0 = positions[0]
        shared: dict = {}
        columns: dict = {"name": [names[i] for i in positions], "params": [runs[i].params for i in positions],
                         "key": b"".join([keys[16 * i:16 * i + 16] for i in positions]),
                         "params_hash": b"".join([phash[16 * i:16 * i + 16] for i in positions])}

        n = len(positions)
        infos = [fns[i] for i in positions]
        info0 = infos[0]
        if infos.count(info0) == n:  # interned: one object per distinct function
            shared.update(fn=runs[p0].fn if info0.by_name else info0.fn, fn_path=info0.fn_path, code=info0.code,
                          takes_ctx=info0.takes_ctx)
        else:
            columns.update(fn=[runs[i].fn if f.by_name else f.fn for i, f in zip(positions, infos)],
                           fn_path=[f.fn_path for f in infos], code=[f.code for f in infos],
                           takes_ctx=[f.takes_ctx for f in infos])
        policies = [pols[i] for i in positions]
        if policies.count(policies[0]) == n:  # interned too
            shared["timeout_s"] = policies[0].timeout_s
        else:
            columns["timeout_s"] = [p.timeout_s for p in policies]
        attempts = [att[i] for i in positions]
        if attempts.count(attempts[0]) == n:
            shared["attempt"] = attempts[0]
        else:
            columns["attempt"] = attempts
        clear = [bool(flags[i] & _DIRTY) for i in positions]
        if clear.count(clear[0]) == n:
            shared["clear"] = clear[0]
        else:
            columns["clear"] = clear
        sparse: dict = {}
        ups, files, hist, groups, ids = self._upstream, self._files, self._history, self._groups, self._attempt_ids
        if ups or files or hist or groups or ids:
            for k, i in enumerate(positions):
                u = ups.get(i)
                if u:
                    sparse.setdefault("upstream", {})[k] = {
                        n: self._values[j] for n in u for j in (self._index[n],) if self._state[j] == _DONE}
                    sparse.setdefault("upstream_keys", {})[k] = {n: self.key_of(self._index[n]) for n in u}
                if groups.get(i):
                    sparse.setdefault("upstream_status", {})[k] = {
                        n: _STATES[self._state[self._index[n]]].value for n in (u or ())}
                if i in files:
                    sparse.setdefault("files_hash", {})[k] = files[i]
                if hist.get(i):
                    sparse.setdefault("history", {})[k] = hist[i]
                if i in ids:
                    sparse.setdefault("attempt_id", {})[k] = ids[i]
        return shared, columns, sparse

    def state_of(self, name: str) -> RunState:
        """Run ``name``'s state (without a view)."""
        return _STATES[self._state[self._index[name]]]

    def count(self, state: RunState) -> int:
        """Number of runs in ``state`` (a counter, no scan)."""
        return self._counts[_CODE[state]]

    def __getitem__(self, name: str) -> RunView:
        return RunView(self, self._index[name])

    def __contains__(self, name: object) -> bool:
        return name in self._index

    def __len__(self) -> int:
        return len(self._names)

    def __iter__(self) -> Iterator[str]:
        return iter(self._names)

    def items(self):
        """``(name, entry)`` pairs in insertion order."""
        return ((n, RunView(self, i)) for i, n in enumerate(self._names))

    def keys(self):
        """Run names in insertion order (a live view of the index)."""
        return self._index.keys()

    def pack_group(self, name: str) -> tuple[str | None, bool]:
        """``(fn path, fresh)`` of run ``name``: its packing group, and True when it may be packed
        now (packable, no attempt yet). One lookup, for the engine's pack-filling loop."""
        i = self._index[name]
        info = self._fn[i]
        return (info.fn_path if info is not None else None,
                bool(self._flags[i] & _PACKABLE) and self._attempts[i] == 0)

    def fresh_prefix(self, names, fn_path: str, limit: int) -> int:
        """How many of the first ``names`` (at most ``limit``) are fresh runs of ``fn_path``:
        packable, no attempt yet (what :meth:`pack_group` says one run at a time)."""
        index, fns, flags, att = self._index, self._fn, self._flags, self._attempts
        k = 0
        for n in itertools.islice(names, limit):
            i = index[n]
            info = fns[i]
            if info is None or info.fn_path != fn_path or not flags[i] & _PACKABLE or att[i]:
                break
            k += 1
        return k

    def record_columns(self, start: int = 0, stop: int | None = None, params: bool = True) -> dict[str, list]:
        """The study-record columns (:data:`runfleet.ledger.STUDY_COLUMNS`) of the runs at
        positions ``start`` to ``stop`` (default: the end): name, fn, params (JSON text; left out
        when ``params`` is False, for the record's digest check), after, key, retries, timeout_s."""
        from .studyrecord import _dumps, _dumps_checked

        stop = len(self._names) if stop is None else min(stop, len(self._names))
        idx = range(start, stop)
        runs, fns, pols, ups = self._runs, self._fn, self._policy, self._upstream
        keys: list[str] = []
        for a in range(start, stop, 4096):  # hex a block at a time (no 8 MB string for a shard)
            text = self._keys[16 * a:16 * min(stop, a + 4096)].hex()
            keys.extend([text[j:j + 32] for j in range(0, len(text), 32)])
        out = {
            "name": self._names[start:stop],
            "fn": [fns[i].fn_path for i in idx],
            "after": [_dumps(list(ups[i])) if i in ups else "[]" for i in idx] if ups else ["[]"] * len(idx),
            "key": keys,
            "retries": [pols[i].retries for i in idx],
            "timeout_s": [pols[i].timeout_s for i in idx],
        }
        if params:
            out["params"] = [_dumps_checked(run.params) for run in runs[start:stop]]  # checked when added
        return out

    def index_of(self, name: str) -> int | None:
        """The position of run ``name`` in the table, or None."""
        return self._index.get(name)

    def name_at(self, i: int) -> str:
        """The name of the run at position ``i``."""
        return self._names[i]

    def positions_in(self, state: RunState) -> list[int]:
        """Positions of the runs in ``state`` (a scan)."""
        code = _CODE[state]
        return [i for i, c in enumerate(self._state) if c == code]

    def names_in(self, state: RunState) -> list[str]:
        """Names of the runs in ``state`` (a scan: for error messages and the final check)."""
        code = _CODE[state]
        st = self._state
        return [n for i, n in enumerate(self._names) if st[i] == code]

    def fn_paths(self, by_name: bool = False) -> set[str]:
        """The distinct function paths of the table's runs (``by_name``: only of runs whose fn was
        given as ``"module:attr"``)."""
        return {info.fn_path for info in self._fninfos.values() if info.by_name or not by_name}

    # -- bulk adding (runs without upstreams, a resume of a million runs) --------------------------
    def fn_info(self, fn, fn_path: str, code: str, takes_ctx: bool, by_name: bool) -> _FnInfo:
        """The table's shared record of a function (and code token), made once per table."""
        info_key = (id(fn), fn_path, code, takes_ctx, by_name)
        info = self._fninfos.get(info_key)
        if info is None:
            info = self._fninfos[info_key] = _FnInfo(fn, fn_path, code, takes_ctx, by_name)
        return info

    def shared_policy(self, policy: RetryPolicy) -> RetryPolicy:
        """The table's one instance of a policy with ``policy``'s fields."""
        return self._policies.setdefault((policy.retries, policy.backoff_s, policy.timeout_s), policy)

    def add_plain(self, names: list[str], runs: list, infos: list, keys: bytes, params_hashes: bytes,
                  policies: list, flags: bytes, states: bytes, values: list) -> None:
        """Register runs without upstreams in one go, each straight in its first state.

        What :meth:`add_keyed` then :meth:`move` do run by run, column by column: nothing is made
        per run but its entries in the columns.

        Parameters
        ----------
        names : list of str
            The runs' names, none of them in the table (the caller checked).
        runs : list of Run
            The runs.
        infos : list
            Each run's :meth:`fn_info`.
        keys, params_hashes : bytes
            16 bytes per run: the content keys and params hashes (the 32 hex characters as bytes).
        policies : list of RetryPolicy
            Each run's policy (instances from :meth:`shared_policy`).
        flags : bytes
            One byte per run: 1 packable, 2 dirty, 4 resumed.
        states : bytes
            One byte per run: its state's code (READY, or DONE for a resumed run); see
            :meth:`state_code`.
        values : list
            Each run's value (a resumed run's returned value, else None).
        """
        i0 = len(self._names)
        n = len(names)
        self._index.update(zip(names, range(i0, i0 + n)))
        self._names.extend(names)
        self._runs.extend(runs)
        self._fn.extend(infos)
        self._keys += keys
        self._phash += params_hashes
        self._policy.extend(policies)
        self._state += states
        self._flags += flags
        self._attempts.extend(array.array("I", bytes(self._attempts.itemsize * n)))
        self._values.extend(values)
        counts = self._counts
        for code in set(states):
            counts[code] += states.count(code)

    def value_lookup(self) -> tuple:
        """``(position, values)``: ``values[position(name)]`` is run ``name``'s value (for a loop
        over a million resumed runs; live, read-only)."""
        return self._index.__getitem__, self._values

    @staticmethod
    def state_code(state: RunState) -> int:
        """The byte a state is kept as (for :meth:`add_plain`)."""
        return _CODE[state]


__all__ = ["InvalidTransition", "KeyedView", "RunEntry", "RunState", "RunTable", "RunView", "TRANSITIONS"]

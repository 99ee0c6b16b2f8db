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

import collections
import enum
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
    """What the engine knows about one run in this invocation.

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

    kr: KeyedRun
    policy: RetryPolicy
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


class RunTable:
    """All runs of a fleet by name, with a count per :class:`RunState`.

    Examples
    --------
    >>> table = RunTable()                                  # doctest: +SKIP
    >>> table.add("a", entry); table.move("a", RunState.READY)  # doctest: +SKIP
    >>> table.count(RunState.READY)                          # doctest: +SKIP
    1
    """

    def __init__(self) -> None:
        self._entries: dict[str, RunEntry] = {}
        self._counts: collections.Counter = collections.Counter()

    def add(self, name: str, entry: RunEntry) -> RunEntry:
        """Register a new run (state NEW); KeyError if the name is taken."""
        if name in self._entries:
            raise KeyError(name)
        entry.state = RunState.NEW
        self._entries[name] = entry
        self._counts[RunState.NEW] += 1
        return entry

    def move(self, name: str, to: RunState) -> RunEntry:
        """Move run ``name`` to state ``to``, keeping the per-state counts.

        Parameters
        ----------
        name : str
            The run.
        to : RunState
            Its new state.

        Returns
        -------
        RunEntry
            The run's entry.

        Raises
        ------
        InvalidTransition
            If the state machine has no transition from the run's state to ``to``.
        """
        entry = self._entries[name]
        frm = entry.state
        if to not in TRANSITIONS[frm]:
            raise InvalidTransition(f"run {name!r}: {frm.value} -> {to.value} is not a transition")
        self._counts[frm] -= 1
        self._counts[to] += 1
        entry.state = to
        return entry

    def count(self, state: RunState) -> int:
        """Number of runs in ``state`` (a counter, no scan)."""
        return self._counts[state]

    def __getitem__(self, name: str) -> RunEntry:
        return self._entries[name]

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __len__(self) -> int:
        return len(self._entries)

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def items(self):
        """``(name, entry)`` pairs in insertion order."""
        return self._entries.items()

    def keys(self):
        """Run names in insertion order."""
        return self._entries.keys()

    def names_in(self, state: RunState) -> list[str]:
        """Names of the runs in ``state`` (a scan: for error messages only)."""
        return [n for n, e in self._entries.items() if e.state is state]


__all__ = ["InvalidTransition", "RunEntry", "RunState", "RunTable", "TRANSITIONS"]

"""The execution-backend interface: where the engine's tasks run.

The engine decides *what* runs (states, retries, packing, records); a backend only executes
tasks. A task is a list of run specs (one run, or a pack of short runs of one function) that
:func:`runfleet.executor.execute` runs in order, committing markers, and that returns one status
row per run. The interface is deliberately small so another backend (a SLURM job array, a
thread pool) is a page of code:

=====================  =========================================================================
``start(fn_paths)``    obtain the resources (start or connect a cluster); idempotent
``submit(task)``       start executing a :class:`Task`; returns a hashable, future-like handle
``wait(timeout_s)``    handles that finished since the last call (at most ``timeout_s`` s wait)
``results(handles)``   per handle, its status rows or the exception that ended the task
``slots()``            tasks that can run at once (0 while no worker is connected)
``close()``            cancel what is still running and release everything ``start`` obtained
=====================  =========================================================================

Optional hooks have defaults here: ``preflight`` (check the workers before the first run),
``refine_failure`` (turn a generic ``LostWorker`` into what the backend knows, e.g.
``OutOfMemory``), ``describe`` (one line for the progress output).
"""
from __future__ import annotations

import abc
from dataclasses import dataclass, field
from typing import Any, Hashable, Iterable


@dataclass
class Task:
    """One unit of work for a backend.

    Attributes
    ----------
    specs : runfleet.executor.Specs or list of dict
        Run specs, executed in order by :func:`runfleet.executor.execute` (see its docs); the
        engine gives them encoded once (:class:`~runfleet.executor.Specs`, its wire format).
    pack_id : str or None
        None for a single run (its marker is ``runs/<name>/_result.json``); else the id of the
        pack file ``_packs/<pack_id>.json`` holding the markers of all its runs.
    label : str
        Human-readable task name (the run, or ``pack-<first>+<n>``).
    expected_s : float or None
        Expected duration of the whole task in seconds (None when unknown); batch backends use
        it to avoid workers close to their walltime.
    names : list of str
        The run names, in spec order.
    """

    specs: Any
    pack_id: str | None
    label: str
    expected_s: float | None = None
    names: list[str] = field(default_factory=list)


class ExecutionBackend(abc.ABC):
    """Executes the engine's tasks. Subclasses: :class:`~runfleet.backends.dask.DaskBackend`,
    :class:`~runfleet.backends.serial.SerialBackend`."""

    #: short name of the backend kind (``serial``, or the Dask cluster's kind: ``local``, ``slurm``...)
    kind: str = "?"

    @property
    @abc.abstractmethod
    def started(self) -> bool:
        """True between a successful :meth:`start` and :meth:`close`."""

    @abc.abstractmethod
    def start(self, fn_paths: Iterable[str] = ()) -> None:
        """Obtain the resources; ``fn_paths`` (``module:qualname``) may be imported ahead of time.

        Raises
        ------
        runfleet.errors.InputError, runfleet.errors.ClusterUnavailable
            When no cluster can be obtained.
        """

    @abc.abstractmethod
    def submit(self, task: Task) -> Hashable:
        """Start executing ``task``; return its handle."""

    @abc.abstractmethod
    def wait(self, timeout_s: float) -> list[Hashable]:
        """Handles of tasks that finished, waiting at most ``timeout_s`` seconds for the first."""

    @abc.abstractmethod
    def results(self, handles: list[Hashable]) -> list[Any]:
        """For each handle: its list of status rows, or the BaseException that ended the task.
        Handles are released afterwards."""

    @abc.abstractmethod
    def slots(self) -> int:
        """Tasks that can execute at the same time (worker threads); 0 while none is connected."""

    @abc.abstractmethod
    def close(self) -> None:
        """Cancel unfinished tasks and release what :meth:`start` obtained."""

    # -- optional hooks --------------------------------------------------------------------------
    def preflight(self, store, modules: list[str], progress=None) -> None:
        """Check that the workers can run the study (imports, versions, store, env).

        Raises
        ------
        runfleet.errors.PreflightFailed
            With the report table when a check fails.
        """

    def refine_failure(self, failure: dict) -> dict:
        """A ``LostWorker`` failure made precise with what the backend knows (default: as is)."""
        return failure

    def describe(self) -> str | None:
        """One line for the progress output once started (None: say nothing)."""
        return None

    #: True when tasks may be executed behind the engine's back (a scheduler's own retries, a
    #: dead worker's queue): the engine then gives each attempt an id whose start the executor
    #: records in the store (:meth:`runfleet.ledger.Ledger.mark_started`)
    tracks_attempt_starts: bool = False

    #: True when the scheduler never runs a task again by itself after its worker died (Dask's
    #: ``allowed-failures`` is 0, as on the embedded cluster): a single run's start-marker write
    #: may then overlap the run's first steps (docs/engine.md); otherwise the executor waits for
    #: the marker before running anything, so a re-executed attempt runs none of the user's code
    start_may_overlap: bool = False

    def lost(self) -> bool:
        """True when the backend lost its scheduler: in-flight tasks are gone, none of them failed."""
        return False

    def lost_what(self) -> str:
        """What was lost, for the one-line :class:`~runfleet.errors.SchedulerLost` message."""
        return "the execution backend"

    def reconnect(self, within_s: float) -> None:
        """Connect again (or re-create) after :meth:`lost`, trying for ``within_s`` seconds.

        Raises
        ------
        runfleet.errors.SchedulerLost
            When it could not.
        """
        from ..errors import SchedulerLost

        raise SchedulerLost(f"lost {self.lost_what()}")


__all__ = ["ExecutionBackend", "Task"]

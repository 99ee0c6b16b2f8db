"""The serial backend: the same tasks, executed in this process, one at a time.

``cluster="serial"`` (``runfleet run --cluster serial``) runs a study without Dask: for a
debugger (breakpoints in the run function work), for a quick look at a small study, and to
validate that a study gives the same records and outputs with and without a cluster. The runs,
their seeds, markers, pack files, logs and failures are exactly those the Dask backend writes;
``ctx.map`` runs its items in a loop.

Differences, by design: no preflight (the driver is the worker); a run that ignores its timeout
because it is blocked in C code cannot be ended (ending the "worker" would end the driver), so it
finishes late and is then recorded as ``RunTimeout``.
"""
from __future__ import annotations

import collections
import itertools
from typing import Any, Iterable

from ..executor import execute
from .base import ExecutionBackend, Task


class _Handle:
    """A serial task: pending until :meth:`SerialBackend.wait` executes it."""

    __slots__ = ("n", "task", "outcome", "__weakref__")

    def __init__(self, n: int, task: Task):
        self.n = n
        self.task = task
        self.outcome: Any = None


class SerialBackend(ExecutionBackend):
    """Execute tasks in the calling process, in submission order.

    Parameters
    ----------
    store : runfleet.store.Store
        The study's store.
    study : str
        The study's name.
    """

    kind = "serial"

    def __init__(self, *, store=None, study: str = ""):
        self.store = store
        self.study = study
        self._pending: collections.deque[_Handle] = collections.deque()
        self._ids = itertools.count()
        self._started = False

    @property
    def started(self) -> bool:
        return self._started

    def start(self, fn_paths: Iterable[str] = ()) -> None:
        self._started = True

    def describe(self) -> str | None:
        return "cluster: serial (in this process, one run at a time)"

    def submit(self, task: Task) -> _Handle:
        handle = _Handle(next(self._ids), task)
        self._pending.append(handle)
        return handle

    def wait(self, timeout_s: float) -> list[_Handle]:
        """Execute the oldest pending task (however long it takes) and return it."""
        if not self._pending:
            return []
        handle = self._pending.popleft()
        task = handle.task
        try:
            handle.outcome = execute(task.specs, self.store, self.study, task.pack_id, serial=True)
        except (KeyboardInterrupt, SystemExit):
            raise
        except BaseException as e:  # noqa: BLE001 - the task's failure, reported like a failed future
            handle.outcome = e
        return [handle]

    def results(self, handles: list[_Handle]) -> list[Any]:
        return [h.outcome for h in handles]

    def slots(self) -> int:
        return 1

    def close(self) -> None:
        self._pending.clear()
        self._started = False


__all__ = ["SerialBackend"]

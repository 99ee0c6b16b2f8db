"""The packing policy: how many short runs of one function share a task.

A task costs the scheduler and the driver about the same whatever it runs, so runs much shorter
than that overhead are executed several to a task (their markers committed in one pack file).
The policy only needs the observed durations per function (``module:qualname``):

- a function not timed yet is *probed*: one run per task, at most one probe task per worker
  slot, until a duration is known;
- afterwards a task holds ``target_s / expected duration`` runs, at most ``max_pack``, and never
  more than an even share of the ready runs per slot (so all slots get work);
- the expected duration is an exponential moving average (weight ``weight`` for the newest
  observation), so a slow first call (imports, caches) stops counting after a few runs.

Modelled on joblib's auto-batching (``BatchCompletionCallBack`` / ``_effective_batch_size``).

References
----------
joblib, ``Parallel(batch_size="auto")``: https://joblib.readthedocs.io/en/stable/generated/joblib.Parallel.html
"""
from __future__ import annotations

import collections
import math

#: runs in one task at most
MAX_PACK = 2000


class PackingPolicy:
    """Pack sizes from observed run durations.

    Parameters
    ----------
    target_s : float
        Wanted duration of one task, in seconds (default 0.2).
    max_pack : int
        Most runs in one task.
    weight : float
        Weight of the newest duration in the moving average, in (0, 1].
    """

    def __init__(self, target_s: float = 0.2, max_pack: int = MAX_PACK, weight: float = 0.3):
        self.target_s = float(target_s)
        self.max_pack = int(max_pack)
        self.weight = float(weight)
        self._expected: dict[str, float] = {}
        self._probing: collections.Counter = collections.Counter()

    # -- durations -----------------------------------------------------------------------------
    def observe(self, fn: str, duration_s: float) -> None:
        """Record one run of ``fn`` that took ``duration_s`` seconds."""
        old = self._expected.get(fn)
        d = float(duration_s)
        self._expected[fn] = d if old is None else (1 - self.weight) * old + self.weight * d

    def expected_s(self, fn: str) -> float | None:
        """Expected duration of one run of ``fn`` in seconds; None until one was observed."""
        return self._expected.get(fn)

    def known(self, fn: str) -> bool:
        """True once a duration of ``fn`` was observed (no more probing)."""
        return fn in self._expected

    # -- probing -------------------------------------------------------------------------------
    def may_probe(self, fn: str, limit: int) -> bool:
        """True when another probe task of ``fn`` may start (fewer than ``limit`` in flight)."""
        return self._probing[fn] < limit

    def probe_started(self, fn: str) -> None:
        """A probe task of ``fn`` was submitted."""
        self._probing[fn] += 1

    def probe_ended(self, fn: str) -> None:
        """A probe task of ``fn`` ended (whatever its outcome)."""
        self._probing[fn] -= 1

    # -- sizes ---------------------------------------------------------------------------------
    def pack_size(self, fn: str, ready: int, slots: int) -> int:
        """Runs of ``fn`` to put in the next task.

        Parameters
        ----------
        fn : str
            The function's path (``module:qualname``).
        ready : int
            Runs ready to submit now (all functions).
        slots : int
            Worker threads on the cluster (0 while none are connected).

        Returns
        -------
        int
            At least 1; 1 while the duration of ``fn`` is unknown.
        """
        mean = self._expected.get(fn)
        if mean is None:
            return 1
        size = int(self.target_s / max(mean, 1e-6))
        spread = math.ceil(ready / max(slots, 1))
        return max(1, min(size, self.max_pack, spread))


__all__ = ["MAX_PACK", "PackingPolicy"]

"""runfleet's public exceptions, one module for all of them.

Every exception a user can meet from runfleet's CLIs or API derives from :class:`RunfleetError`
and carries the exit code the CLIs use for it. Workloads (``ratedesign``, ``cholera``) subclass
these instead of defining parallel hierarchies.

Exit codes (README, docs/clusters.md):

====  ==================================================================================
0     every run done
1     some runs failed or were skipped (the study itself ran to its end)
2     bad input (:class:`InputError`): one line naming the file and field, nothing written
3     no cluster could be obtained or preflight failed (:class:`ClusterUnavailable`)
4     infrastructure lost mid-study (:class:`InfrastructureLost`): scheduler or store; resumable
====  ==================================================================================

Run error classes (``LostWorker``, ``OutOfMemory``, ``RunTimeout``, ``CommandFailed``,
``UnstorableResult``) are recorded in a run's record by name; the classes below exist so the
engine classifies with ``isinstance`` and so users can catch them.
"""
from __future__ import annotations


class RunfleetError(Exception):
    """Base of runfleet's user-facing errors; ``exit_code`` is what the CLIs exit with."""

    exit_code = 1


class InputError(RunfleetError):
    """Bad input: one clear line naming the file, the field and what was expected (exit 2).

    Raised before anything is written to the store.
    """

    exit_code = 2


class ClusterUnavailable(RunfleetError):
    """No cluster could be obtained (exit 3): one line naming the profile, the field and the cause.

    Raised before anything is written to the store.
    """

    exit_code = 3


class PreflightFailed(ClusterUnavailable):
    """The workers cannot run the study: a missing package, the store not writable, env missing (exit 3)."""


class InfrastructureLost(RunfleetError):
    """The scheduler, the cluster or the store was lost mid-study and did not come back (exit 4).

    The message says what was lost, how many runs are committed and the command that resumes.
    """

    exit_code = 4


class SchedulerLost(InfrastructureLost):
    """The Dask scheduler (or the whole cluster) went away and could not be reconnected or re-created."""


class StoreUnavailable(InfrastructureLost):
    """The store stayed unreachable past the retry budget, or the study's record vanished from it."""


class ItemsFailed(RunfleetError):
    """Some items of :func:`runfleet.map` failed (``on_error="raise"``), after every item ran.

    failures: the failed items (:class:`runfleet.mapping.ItemFailure`: index, item, run,
    error_class, message). values: the full list of values, a failure in place of each failed
    item. study_url: where their records are (``runfleet status URL --status failed``).
    """

    def __init__(self, failures: list, values: list, study_url: str):
        self.failures = failures
        self.values = values
        self.study_url = study_url
        shown = "; ".join(f"items[{f.index}] ({f.run}): {f.error_class}: {_first_line(f.message)}"
                          for f in failures[:5])
        more = f"; ... and {len(failures) - 5} more" if len(failures) > 5 else ""
        super().__init__(f"{len(failures)} of {len(values)} items failed: {shown}{more} "
                         f"(runfleet status {study_url} --status failed)")


def _first_line(message: str | None, width: int = 200) -> str:
    return message.splitlines()[0][:width] if message else ""


# -- run error classes: recorded per run, never raised out of the engine ------------------------

class RunError(Exception):
    """Base of the error classes runfleet records for a run that did not raise its own exception."""


class LostWorker(RunError):
    """The worker running the run died (or its task was lost with it)."""


class OutOfMemory(LostWorker):
    """The worker running the run was restarted by its nanny for exceeding its memory limit."""


class CommandFailed(RunError):
    """A command run exited non-zero; the record keeps the exit code and the tail of stderr."""


class UnstorableResult(RunError):
    """A run returned a value that cannot be stored as JSON; not retried (it would fail again)."""


class RunTimeout(BaseException):
    """Raised inside a run's thread when it exceeds its ``timeout_s``.

    A BaseException so that a run's own ``except Exception`` blocks do not swallow it.
    """


__all__ = ["ClusterUnavailable", "CommandFailed", "InfrastructureLost", "InputError", "ItemsFailed", "LostWorker",
           "OutOfMemory", "PreflightFailed", "RunError", "RunTimeout", "RunfleetError", "SchedulerLost",
           "StoreUnavailable", "UnstorableResult"]

"""Failure classification: which error class and kind an attempt's exception is recorded as.

Classification is by exception type (``isinstance``), never by comparing class names:

==========================================================  ==============  ===============
exception                                                   kind            error_class
==========================================================  ==============  ===============
:class:`runfleet.errors.RunTimeout`                         ``timeout``     ``RunTimeout``
:class:`runfleet.errors.OutOfMemory`                        ``lost_worker`` ``OutOfMemory``
:class:`runfleet.errors.LostWorker`, ``KilledWorker``       ``lost_worker`` ``LostWorker``
cancelled future (``concurrent.futures.CancelledError``,    ``lost_worker`` ``LostWorker``
``asyncio.CancelledError``), ``CommClosedError``
(task level only)
:class:`runfleet.errors.UnstorableResult` (the returned       ``unstorable``  ``UnstorableResult``
value cannot be stored; never retried: it would fail again)
anything else raised by the run function                    ``user_error``  its class name
anything else raised around the task                        ``infrastructure`` its class name
==========================================================  ==============  ===============

A failure travels as a small dict (``kind``, ``error_class``, ``message``, ``traceback`` and,
when known, ``duration_s``, ``host``, ``started``, ``finished``): the status row a worker sends
back, and what :meth:`runfleet.ledger.Ledger.record_failure` stores.

References
----------
Dask ``KilledWorker`` and ``distributed.scheduler.allowed-failures``:
https://distributed.dask.org/en/stable/killed.html
"""
from __future__ import annotations

import asyncio
import concurrent.futures
import re

from .errors import LostWorker, OutOfMemory, RunTimeout, UnstorableResult

try:  # distributed is a dependency; keep this module importable without it for tools
    from distributed.comm.core import CommClosedError
    from distributed.scheduler import KilledWorker
except ImportError:  # pragma: no cover
    class KilledWorker(Exception):  # type: ignore[no-redef]
        pass

    class CommClosedError(Exception):  # type: ignore[no-redef]
        pass

_CANCELLED = (concurrent.futures.CancelledError, asyncio.CancelledError, CommClosedError)

#: a Dask worker address in an error message ("... was tcp://127.0.0.1:38113.")
WORKER_ADDRESS = re.compile(r"\b((?:tcp|tls|ucx|inproc)://[\w.\-\[\]:/]*\d)")


def classify(exc: BaseException, *, in_run: bool) -> tuple[str, str]:
    """``(kind, error_class)`` of an exception.

    Parameters
    ----------
    exc : BaseException
        The exception.
    in_run : bool
        True when the run function raised it (on the worker); False when it was raised around
        the task (the future failed: lost worker, cancelled, result not fetched).

    Returns
    -------
    tuple of str
        ``kind`` (``timeout`` | ``lost_worker`` | ``unstorable`` | ``user_error`` | ``infrastructure``) and the
        error class name recorded for the run.
    """
    if isinstance(exc, RunTimeout):
        return "timeout", "RunTimeout"
    if isinstance(exc, UnstorableResult):
        return "unstorable", "UnstorableResult"
    if isinstance(exc, OutOfMemory):
        return "lost_worker", "OutOfMemory"
    if isinstance(exc, (LostWorker, KilledWorker)):
        return "lost_worker", "LostWorker"
    if not in_run and isinstance(exc, _CANCELLED):
        return "lost_worker", "LostWorker"
    return ("user_error" if in_run else "infrastructure"), type(exc).__name__


def task_failure(exc: BaseException) -> dict:
    """The failure of every run of a task whose future failed (raised outside the run function).

    Parameters
    ----------
    exc : BaseException
        The future's exception.

    Returns
    -------
    dict
        ``kind``, ``error_class``, ``message`` (a sentence for the user) and an empty ``traceback``.
    """
    kind, error_class = classify(exc, in_run=False)
    if isinstance(exc, (LostWorker, KilledWorker)):
        message = f"the worker running it died ({exc})"
    elif kind == "lost_worker":
        message = f"the task was cancelled or its worker was lost ({type(exc).__name__}: {exc})"
    else:
        message = str(exc)[:2000]
    return {"kind": kind, "error_class": error_class, "message": message, "traceback": ""}


def timeout_failure(timeout_s: float | None, *, ended_worker: bool) -> dict:
    """The failure of a run that exceeded its ``timeout_s`` (seconds).

    ``ended_worker``: the run ignored the interruption (blocked in C code) and its worker process
    was ended after the grace period.
    """
    if ended_worker:
        message = (f"run exceeded its timeout of {timeout_s} s and did not stop; "
                   "its worker process was ended")
    else:
        message = f"run exceeded its timeout of {timeout_s} s"
    return {"kind": "timeout", "error_class": "RunTimeout", "message": message, "traceback": ""}


def out_of_memory(failure: dict, events) -> dict | None:
    """An ``OutOfMemory`` failure when a worker named in a ``LostWorker`` failure's message was
    restarted by its nanny for memory, else None.

    Parameters
    ----------
    failure : dict
        A ``LostWorker`` failure.
    events : iterable of (float, dict)
        Dask's ``worker-restart-memory`` events (``{"worker": address, "rss": bytes}``).

    References
    ----------
    Dask worker memory management: https://distributed.dask.org/en/stable/worker-memory.html
    """
    addresses = set(WORKER_ADDRESS.findall(failure.get("message") or ""))
    if not addresses:
        return None
    for _, event in reversed(list(events or ())):
        if isinstance(event, dict) and event.get("worker") in addresses:
            rss = event.get("rss") or 0
            return {**failure, "kind": "lost_worker", "error_class": "OutOfMemory",
                    "message": f"the worker running it ({event['worker']}) was restarted for using too much "
                               f"memory ({rss / 1e9:.2f} GB resident, above its memory limit's terminate "
                               "threshold); this run or one beside it on that worker outgrew it: give "
                               "workers more memory (the profile's memory_limit or job memory) or make "
                               "the run use less"}
    return None


__all__ = ["classify", "out_of_memory", "task_failure", "timeout_failure"]

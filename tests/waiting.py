"""Waiting for a condition in tests: poll with a deadline instead of sleeping a fixed time.

A fixed ``time.sleep`` either waits too long (slow tests) or not long enough on a loaded machine
(flaky tests). :func:`wait_until` returns as soon as the condition holds and fails with a message
naming what did not happen when the deadline passes. Sleeps that remain in the tests are the thing
being tested (a run that takes time, an outage that lasts) and say so in a comment.
"""
from __future__ import annotations

import time
from typing import Callable, TypeVar

T = TypeVar("T")


def wait_until(predicate: Callable[[], T], timeout: float, what: str, interval: float = 0.1) -> T:
    """Call ``predicate`` until it returns a truthy value, and return that value.

    Parameters
    ----------
    predicate : callable
        Called without arguments; an exception it raises propagates (an ``assert`` in it, e.g.
        "the process is still alive", stops the wait at once).
    timeout : float
        Seconds before giving up.
    what : str
        The condition in words, for the failure message ("4 runs committed").
    interval : float, default 0.1
        Seconds between calls.

    Returns
    -------
    object
        The predicate's first truthy value.

    Raises
    ------
    TimeoutError
        ``<what>: not within <timeout> s`` when the deadline passes.
    """
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise TimeoutError(f"{what}: not within {timeout:g} s")
        time.sleep(interval)


def answers(fn: Callable[[], object]) -> Callable[[], bool]:
    """A predicate that is true when ``fn()`` returns without raising (a server that answers).

    Parameters
    ----------
    fn : callable
        E.g. an HTTP request or a socket connection.

    Returns
    -------
    callable
        ``() -> bool``.
    """
    def check() -> bool:
        try:
            fn()
        except Exception:  # noqa: BLE001 - not up yet
            return False
        return True
    return check


def alive_in_session(sid: int) -> list[int]:
    """PIDs of live (not zombie) processes in session ``sid``: what a driver started with
    ``start_new_session=True`` left behind in its session (not the embedded cluster's nannies,
    which start sessions of their own: use :func:`process_tree` for them).

    Parameters
    ----------
    sid : int
        The session id (the PID of the process that started the session).

    Returns
    -------
    list of int
        The PIDs, empty when the whole session has ended.
    """
    import os

    import psutil

    out = []
    for p in psutil.process_iter(["pid", "status"]):
        try:
            if os.getsid(p.info["pid"]) == sid and p.info["status"] != psutil.STATUS_ZOMBIE:
                out.append(p.info["pid"])
        except (ProcessLookupError, PermissionError, psutil.Error):
            continue
    return out


def process_tree(pid: int) -> list[int]:
    """``pid`` and every process descending from it, now (take it before killing ``pid``: the
    embedded cluster's nannies run in sessions of their own, so a session does not find them).

    Parameters
    ----------
    pid : int
        The root process.

    Returns
    -------
    list of int
        The PIDs, the root first.
    """
    import psutil

    try:
        return [pid] + [c.pid for c in psutil.Process(pid).children(recursive=True)]
    except psutil.Error:
        return [pid]


def alive(pids) -> list[int]:
    """The PIDs of ``pids`` still running (zombies count as gone).

    Parameters
    ----------
    pids : iterable of int

    Returns
    -------
    list of int
    """
    import psutil

    out = []
    for pid in pids:
        try:
            if psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
                out.append(pid)
        except psutil.Error:
            continue
    return out

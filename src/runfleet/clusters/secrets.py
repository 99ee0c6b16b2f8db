"""Worker environment that leaves with the study, for clusters runfleet did not start.

On a scheduler somebody else runs (``kind: address``, a connected gateway cluster, a gateway
without an env option) there is no launch-time environment to hand to workers. The old route,
a worker plugin holding the values, stayed registered on the scheduler after the study (any
client could read it), left the values in every worker's ``os.environ`` and handed them to
workers that joined later. This module replaces it:

* **Split in two.** The driver serialises the environment and XORs it with a random one-time pad
  of the same length. The *ciphertext* is scattered to the workers' memory
  (``client.scatter``: a Dask future owned by the study's client; the scheduler only forwards it).
  The *pad* travels inside the study's tasks. Neither half alone says anything about the values
  (a one-time pad); no plugin is registered, nothing is written to the scheduler's state.
* **Applied only while a run executes.** :func:`applied` (called by the executor around a task's
  runs) joins the halves on the worker, sets the variables and ``sys.path`` entries, and restores
  the previous environment when the last run using them in that process ends. Between runs and
  after the study, workers' ``os.environ`` holds none of it; a worker that joins later gets the
  ciphertext only when it runs one of the study's tasks.
* **Released with the client.** The ciphertext is a future of the study's client: when the
  session closes, or the driver dies (the scheduler sees the connection drop; with SIGKILL the
  kernel closes it at once), the scheduler releases it and the workers drop it. Runs still
  executing at that moment keep their values until they end.

What it does not protect against: Dask has no isolation between the clients of one scheduler.
A client that runs code on the scheduler (``run_on_scheduler``) *and* on the workers while one
of your runs executes can read that run's process environment. Use a cluster of your own for
secrets that must be hidden from other users of a shared scheduler.
"""
from __future__ import annotations

import json
import os
import secrets as _secrets
import sys
import threading
from contextlib import contextmanager
from typing import Any, Iterator, Mapping

__all__ = ["SecretEnv", "applied", "call_with", "current", "seal", "unseal"]


def seal(env: Mapping[str, str]) -> tuple[bytes, bytes]:
    """Split ``env`` into ``(ciphertext, pad)``: a one-time pad over its JSON encoding.

    Parameters
    ----------
    env : mapping of str to str
        Variable names and values.

    Returns
    -------
    tuple of bytes
        ``(ciphertext, pad)``, both as long as the encoding; either alone reveals nothing.
    """
    blob = json.dumps(dict(env), separators=(",", ":")).encode("utf-8")
    pad = _secrets.token_bytes(len(blob))
    return bytes(a ^ b for a, b in zip(blob, pad)), pad


def unseal(ciphertext: bytes, pad: bytes) -> dict[str, str]:
    """Join the halves made by :func:`seal` back into the environment mapping.

    Raises
    ------
    ValueError
        When the halves do not belong together.
    """
    if len(ciphertext) != len(pad):
        raise ValueError("runfleet secret env: halves of different length (not from the same study)")
    try:
        return json.loads(bytes(a ^ b for a, b in zip(ciphertext, pad)).decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise ValueError("runfleet secret env: halves do not belong together") from None


class SecretEnv:
    """The driver's side of the channel for one cluster session.

    Parameters
    ----------
    client : distributed.Client
        The study's client; the ciphertext is one of its futures and goes when it goes.
    env : mapping of str to str
        The resolved worker environment (``PYTHONPATH`` entries are prepended to ``sys.path``).

    Notes
    -----
    :meth:`task_arg` is what the engine passes to each task (``secret_env=``); Dask replaces
    the future inside it by the ciphertext on the worker. The ciphertext is scattered on the
    first call (when a worker exists) and again if every worker holding it was lost.
    """

    def __init__(self, client, env: Mapping[str, str]):
        self._client = client
        self._cipher, self._pad = seal(env)
        self.names = sorted(env)
        self._future = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:  # names only, never values
        return f"SecretEnv(<{len(self.names)} variables>)"

    def __reduce__(self):
        raise TypeError("SecretEnv stays on the driver; pass task_arg() to tasks")

    @property
    def scattered(self) -> bool:
        """True while the ciphertext is held by some worker."""
        fut = self._future
        return fut is not None and fut.status == "finished"

    def task_arg(self) -> tuple:
        """``(future of the ciphertext, pad, its key)`` for one task's ``secret_env`` argument.

        The key lets a run hand the same environment to the tasks it fans out with
        ``ctx.map`` (:func:`current`): they depend on the same scattered ciphertext.
        """
        with self._lock:
            if self._future is None or self._future.status != "finished":
                self._future = self._client.scatter(self._cipher, broadcast=True, hash=False)
            return (self._future, self._pad, self._future.key)

    def release(self) -> None:
        """Drop the ciphertext from the workers now (the session calls this on close)."""
        with self._lock:
            fut, self._future = self._future, None
        if fut is not None:
            try:
                fut.release()
            except Exception:  # noqa: BLE001 - a closed client released it already
                pass


_lock = threading.Lock()
_active: dict[str, list] = {}     # name -> [users, value before the first user]
_paths: dict[str, int] = {}       # sys.path entry -> users
_current = threading.local()      # .arg: (ciphertext key, pad) of the block this thread is in


def current() -> tuple | None:
    """``(ciphertext key, pad)`` of the environment :func:`applied` set in this thread, or
    ``None`` (no block, or a plain mapping).

    ``RunContext.map`` passes it on to the tasks a run fans out (:func:`call_with`), so they
    execute with the run's environment on whichever worker takes them: the ciphertext stays a
    scattered value they depend on, the pad travels with them as it did with the run.
    """
    return getattr(_current, "arg", None)


def call_with(secret_env: Any, fn, /, *args, **kwargs):
    """``fn(*args, **kwargs)`` inside :func:`applied` of ``secret_env`` (a ``ctx.map`` sub-task).

    Parameters
    ----------
    secret_env : tuple
        ``(ciphertext, pad, key)`` after Dask resolved the ciphertext's future.
    fn : callable
        The function ``ctx.map`` was given.
    *args, **kwargs
        Its arguments.

    Returns
    -------
    object
        What ``fn`` returns.
    """
    with applied(secret_env):
        return fn(*args, **kwargs)


@contextmanager
def applied(secret_env: Any) -> Iterator[dict[str, str]]:
    """Set a study's worker environment in this process for the duration of the block.

    Parameters
    ----------
    secret_env : tuple, mapping, or None
        What the engine passed to the task: ``(ciphertext, pad, key)`` from
        :meth:`SecretEnv.task_arg` (after Dask resolved the future; ``(ciphertext, pad)`` also
        works), a plain mapping, or ``None`` (nothing to apply).

    Yields
    ------
    dict
        The variables applied (empty for ``None``).

    Notes
    -----
    Thread-safe and re-entrant across the threads of one worker: each variable is restored to
    its previous value (or removed) when the last block using it exits. ``PYTHONPATH`` entries
    are also prepended to ``sys.path`` for the duration, so study modules import.
    """
    if secret_env is None:
        yield {}
        return
    arg = None
    if isinstance(secret_env, Mapping):
        env = {str(k): str(v) for k, v in secret_env.items()}
    else:
        cipher, pad = secret_env[0], secret_env[1]
        env = unseal(cipher, pad)
        if len(secret_env) > 2:
            arg = (secret_env[2], pad)
    outer = getattr(_current, "arg", None)
    _current.arg = arg if arg is not None else outer
    paths = [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
    with _lock:
        for k, v in env.items():
            if k in _active:
                _active[k][0] += 1
            else:
                _active[k] = [1, os.environ.get(k)]
            os.environ[k] = v
        added = []  # entries this block owns a share of (never ones that were there before)
        for p in reversed(paths):
            if p in _paths:
                _paths[p] += 1
                added.append(p)
            elif p not in sys.path:
                sys.path.insert(0, p)
                _paths[p] = 1
                added.append(p)
    try:
        yield env
    finally:
        _current.arg = outer
        with _lock:
            for k in env:
                users = _active.get(k)
                if users is None:
                    continue
                users[0] -= 1
                if users[0] <= 0:
                    del _active[k]
                    if users[1] is None:
                        os.environ.pop(k, None)
                    else:
                        os.environ[k] = users[1]
            for p in added:
                _paths[p] -= 1
                if _paths[p] <= 0:
                    del _paths[p]
                    try:
                        sys.path.remove(p)
                    except ValueError:
                        pass

"""The :class:`RunContext` handed to every run: where to write, which seed, a log, nested map."""
from __future__ import annotations

import io
import logging
import os
from typing import Any, Callable, Iterable

import numpy as np

from .keys import run_seed, seed_sequence
from .store import Store

#: Priority of tasks a run fans out with ``ctx.map``: above new top-level runs, so runs that
#: already started finish first and the pool does not fill with half-done runs.
NESTED_PRIORITY = 10

_FORMATTER = logging.Formatter("%(asctime)s %(levelname)s %(message)s")


def seed_globals(seed: int) -> None:
    """Seed Python's ``random`` and NumPy's global generator with ``seed`` (a run's seed).

    Called before a plain function (one without ``ctx``) runs, so a function drawing from the
    global generators gives the same result for the same run wherever and however often it runs.

    Parameters
    ----------
    seed : int
        In [0, 2**32).
    """
    import random

    random.seed(seed)
    np.random.seed(seed)


class RunContext:
    """What a run function receives as its first argument.

    The executor builds it; use :meth:`local` to build one in tests and notebooks.

    Parameters
    ----------
    name : str
        The run's name.
    study : str
        Its study's name.
    out : str
        fsspec URL of the run's output directory (absolute local path or ``s3://...``).
    storage_options : dict, optional
        Options to open ``out`` (and the rest of the store) from any worker.
    study_seed : int, default 0
        The study's seed; ``seed`` and ``rng`` derive from it and ``name``.
    params : dict, optional
        The run's params.
    upstream : dict, optional
        ``{name: returned value}`` of the runs in its ``after`` that are done (all of them,
        except for an aggregator over survivors: ``after: [{runs: "f-*", allow_failed: true}]``).
    upstream_status : dict, optional
        ``{name: "done" | "failed" | "skipped"}`` for every run in its ``after``.
    attempt : int, default 1
        1 for the first attempt, 2 for the first retry, ...
    serial : bool, default False
        True when the run executes in the driver's process without Dask (``map`` is then a loop).

    Attributes
    ----------
    seed : int
        In [0, 2**32), from the study seed and the run name (``numpy.random.SeedSequence``).
    rng : numpy.random.Generator
        Seeded from the same SeedSequence as ``seed``.
    log : logging.Logger
        Logger whose records are saved to ``<out>/_log.txt``.
    n_slots : int
        Worker threads on the cluster (1 in a serial context).

    References
    ----------
    .. [1] NumPy, "Parallel random number generation",
       https://numpy.org/doc/stable/reference/random/parallel.html
    .. [2] Dask, "Launch tasks from tasks" (``worker_client``),
       https://distributed.dask.org/en/stable/task-launch.html
    """

    def __init__(self, *, name: str, study: str, out: str, storage_options: dict | None = None,
                 study_seed: int = 0, params: dict | None = None, upstream: dict | None = None,
                 attempt: int = 1, serial: bool = False, upstream_status: dict | None = None):
        self.name = name
        self.study = study
        self.out = out
        self.storage_options = dict(storage_options or {})
        self.params = dict(params or {})
        self.upstream = dict(upstream or {})
        self.upstream_status = dict(upstream_status) if upstream_status else {u: "done" for u in self.upstream}
        self.attempt = attempt
        self._study_seed = study_seed
        self._serial = serial
        self._rng = None
        self._seed: int | None = None
        self._store = None
        self._log = None
        self._log_buffer = None
        self._workers: list[str] | None = None  # sorted worker addresses, asked once per run (map affinity)
        #: called before the run's first access to its output location (the executor waits there
        #: for the attempt's start marker, written while the run starts)
        self._before_write: Callable[[], None] | None = None

    @property
    def log(self) -> logging.Logger:
        """A logger for this run only; its records go to ``<out>/_log.txt``.

        Not registered in ``logging``'s global registry: a worker running 100,000 runs keeps no
        logger per run, and creating one costs microseconds."""
        if self._log is None:
            self._log_buffer = io.StringIO()
            handler = logging.StreamHandler(self._log_buffer)
            handler.setFormatter(_FORMATTER)
            self._log = logging.Logger(f"runfleet.run.{self.study}.{self.name}", logging.INFO)
            self._log.propagate = False
            self._log.addHandler(handler)
        return self._log

    # -- randomness ------------------------------------------------------------------------------
    @property
    def seed(self) -> int:
        if self._seed is None:  # the same number as ``rng``'s SeedSequence gives (keys.run_seed)
            self._seed = run_seed(self._study_seed, self.name)
        return self._seed

    @property
    def rng(self) -> np.random.Generator:
        if self._rng is None:
            self._rng = np.random.default_rng(seed_sequence(self._study_seed, self.name))
        return self._rng

    # -- files -----------------------------------------------------------------------------------
    def _writable(self) -> None:
        if self._before_write is not None:
            self._before_write()

    @property
    def store(self) -> Store:
        self._writable()
        if self._store is None:
            self._store = Store(self.out, self.storage_options)
        return self._store

    @property
    def fs(self):
        return self.store.fs

    def path(self, *parts: str) -> str:
        self._writable()
        return "/".join([self.out.rstrip("/")] + [p.strip("/") for p in parts if p])

    def open(self, relpath: str, mode: str = "rb", **kwargs):
        path = self.path(relpath)
        if any(c in mode for c in "wax"):
            parent = path.rsplit("/", 1)[0]
            self.store.makedirs(parent)
        return self.store.open(path, mode, **kwargs)

    def write_parquet(self, df, relpath: str, **kwargs) -> str:
        """Write a pandas DataFrame as parquet under ``out``; returns its URL."""
        path = self.path(relpath)
        self.store.makedirs(path.rsplit("/", 1)[0])
        df.to_parquet(path, storage_options=self.store.pandas_storage_options(), **kwargs)
        return path

    # -- nested parallelism ----------------------------------------------------------------------
    @property
    def n_slots(self) -> int:
        """Worker threads on the cluster (1 in a serial/local context)."""
        if self._serial:
            return 1
        try:
            from distributed import get_client

            info = get_client().scheduler_info(n_workers=-1)
            return max(1, sum(w.get("nthreads", 1) for w in info.get("workers", {}).values()))
        except Exception:  # noqa: BLE001 - no cluster: serial
            return 1

    def map(self, fn: Callable, items: Iterable, affinity: Callable | None = None, **kwargs) -> list:
        """``[fn(item, **kwargs) for item in items]``, fanned out on the same cluster.

        Inside a worker the run's thread secedes while it waits, so its slot serves the chunks
        (no deadlock however many runs fan out at once). Results come back in order; an
        exception in any item is raised here. Outside a cluster it runs serially.

        Parameters
        ----------
        fn : callable
            Function of one item (and ``kwargs``).
        items : iterable
            The items.
        affinity : callable, optional
            ``affinity(item) -> (group, position)``: items go to a preferred worker, the same one
            for the same ``(group, position)`` in every run of the study (the worker at the
            group's stable hash plus the position, modulo the sorted workers), so what a worker
            cached for one run (e.g. input files it read) serves the next; consecutive positions
            of a group go to consecutive workers, so one run still uses them all. The
            preference is loose: when that worker is busy or gone another one takes the item.
        **kwargs
            Passed to ``fn``.

        Returns
        -------
        list
            The results, in the order of ``items``.

        References
        ----------
        .. [1] Dask distributed, ``Client.submit`` (``workers=``, ``allow_other_workers=``),
           https://distributed.dask.org/en/stable/api.html#distributed.Client.submit
        """
        items = list(items)
        if self._serial or not items:
            return [fn(item, **kwargs) for item in items]
        try:
            from distributed import get_worker, worker_client

            get_worker()
        except (ImportError, ValueError):
            return [fn(item, **kwargs) for item in items]
        from .clusters.secrets import call_with, current

        with worker_client() as client:
            places = self._placements(client, items, affinity) if affinity is not None else None
            env = current()  # the run's forwarded environment (address/gateway clusters): theirs too
            env_future = None
            if env is not None:
                from distributed import Future

                env_future = Future(env[0], client)
                args = (call_with, (env_future, env[1], env[0]), fn)
            else:
                args = (fn,)
            if places is None and env is None:
                futures = client.map(fn, items, pure=False, priority=NESTED_PRIORITY, **kwargs)
            elif places is None:
                futures = [client.submit(*args, item, pure=False, priority=NESTED_PRIORITY, **kwargs)
                           for item in items]
            else:
                futures = [client.submit(*args, item, pure=False, priority=NESTED_PRIORITY, workers=[w],
                                         allow_other_workers=True, **kwargs) for item, w in zip(items, places)]
            try:
                return client.gather(futures)
            finally:
                for f in futures:
                    f.release()
                if env_future is not None:
                    env_future.release()

    # -- helpers for the executor ----------------------------------------------------------------
    def _log_text(self) -> str:
        return self._log_buffer.getvalue() if self._log_buffer is not None else ""

    def _close(self) -> None:
        if self._log is not None:
            self._log.handlers = []

    @classmethod
    def local(cls, out_dir: str | os.PathLike, name: str = "debug", seed: int = 0,
              upstream: dict | None = None, params: dict | None = None, study: str = "local",
              storage_options: dict | None = None) -> "RunContext":
        """A context that runs in this process (serial ``map``): for tests and debugging."""
        out = str(out_dir)
        if "://" not in out:
            out = os.path.abspath(out)
            os.makedirs(out, exist_ok=True)
        return cls(name=name, study=study, out=out, storage_options=storage_options, study_seed=seed,
                   params=params, upstream=upstream, serial=True)


    def _placements(self, client, items: list, affinity: Callable) -> list[str] | None:
        """The preferred worker of each item (see :meth:`map`); the workers are asked once per
        run (a run calling ``map`` many times does not ask the scheduler each time)."""
        if self._workers is None:
            self._workers = sorted(client.scheduler_info(n_workers=-1).get("workers", {}))
        return _placements(self._workers, items, affinity)


def _placements(addrs: list[str], items: list, affinity: Callable) -> list[str] | None:
    """The preferred worker of each item among the sorted worker addresses ``addrs`` (see
    :meth:`RunContext.map`); None with fewer than two workers (nothing to prefer)."""
    import zlib

    if len(addrs) < 2:
        return None
    out = []
    for item in items:
        group, position = affinity(item)
        out.append(addrs[(zlib.crc32(str(group).encode()) + int(position)) % len(addrs)])
    return out

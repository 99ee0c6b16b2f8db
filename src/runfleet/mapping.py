"""``runfleet.map``: ``client.map(func, items)`` + ``gather`` with a store.

Each item is a run of one study: resumable (committed items never run again), seeded, failures
as rows, results readable later with :func:`runfleet.results`. ``func`` is a plain function of
one item (no ``ctx``); a small adapter (:class:`ItemCall`) calls it inside runfleet's run
protocol. The adapter travels to the workers with cloudpickle, like any Dask task: a function
importable from a module goes by reference (``module:qualname``, imported on the worker), a
function defined in a script, a notebook or ``python -c`` (``__main__``) goes by value.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Callable, Iterable

from .context import seed_globals
from .errors import InputError, ItemsFailed
from .keys import canonical_json, code_token

#: study defaults :func:`map` accepts in ``**options``; the rest go to :func:`runfleet.run_study`
_STUDY_OPTIONS = ("retries", "backoff_s", "timeout_s", "pack")
_RUN_STUDY_OPTIONS = ("workers", "progress", "max_in_flight", "pack_target_s", "preflight", "storage_options")


class ItemCall:
    """A run function ``(ctx, item) -> func(item)`` for a plain function ``func``.

    Before the call, Python's ``random`` and NumPy's global generator are seeded with the run's
    seed (from the study seed and the run name), so a function drawing from them gives the same
    result for the same item wherever and however often it runs. NumPy scalars and arrays in
    the returned value become plain numbers and lists.
    """

    def __init__(self, func: Callable):
        self.func = func
        # the run's recorded fn (study.json, markers, report) is the user's function
        self.__module__ = getattr(func, "__module__", None) or "__main__"
        self.__qualname__ = getattr(func, "__qualname__", None) or type(func).__name__

    def __call__(self, ctx, item):
        seed_globals(ctx.seed)
        return _plain(self.func(item), tuples=True)


@dataclass
class ItemFailure:
    """The value :func:`map` returns, with ``on_error="return"``, in place of a failed item.

    index: position in ``items``. item: the item. run: the run's name. error_class / message:
    the error recorded for it (``ValueError``, ``RunTimeout``, ``OutOfMemory``, ...).
    """

    index: int
    item: Any
    run: str
    error_class: str | None
    message: str | None

    def __bool__(self) -> bool:  # `if value:` treats a failure as missing
        return False


def map(func: Callable, items: Iterable, *, store: str, name: str | None = None, cluster=None, seed: int = 0,
        on_error: str = "raise", **options) -> list:
    """``[func(item) for item in items]`` on a cluster, as a resumable study in ``store``.

    Item ``i`` is the run ``item-{i:06d}`` of study ``name`` with params ``{"item": item}``.
    Calling again with the same arguments returns at once from the store; after a crash or an
    interruption only the items not committed yet run (an item that was running when the
    driver died runs again; a committed item never does). Editing ``func`` (its source) or
    changing an item re-runs those items.

    Parameters
    ----------
    func : callable
        A plain function of one item (no ``ctx``). It may come from a module (imported on the
        workers) or be defined in a script, notebook or ``python -c`` (sent by value). Its
        value must be JSON-able (NumPy numbers and arrays are converted) and small (< 1 MB);
        big results belong in files.
    items : iterable
        JSON-able items (they are the runs' params and part of their keys).
    store : str
        Directory or URL (``s3://bucket/prefix``) of the store.
    name : str, optional
        Study name; default: ``func``'s qualified name (characters outside letters, digits and
        ``._=+,@-`` replaced by ``-``).
    cluster : None, str or distributed.Client
        ``None``: the embedded local cluster; a profile name; or a client.
    seed : int
        Study seed. Each item's seed derives from it and the item's run name; ``random`` and
        ``numpy.random`` are seeded with it before ``func`` is called.
    on_error : {"raise", "return"}
        ``"raise"``: raise :class:`~runfleet.errors.ItemsFailed` listing the failed items (after
        every item ran). ``"return"``: return the list with an :class:`ItemFailure` in place of
        each failed item.
    **options
        ``retries``, ``backoff_s``, ``timeout_s``, ``pack`` (study defaults); ``version`` (code
        version token instead of ``func``'s source); ``workers``, ``progress`` (default False),
        ``max_in_flight``, ``pack_target_s``, ``preflight``, ``storage_options`` (as for
        :func:`runfleet.run_study`).

    Returns
    -------
    list
        The values in the order of ``items``.

    Raises
    ------
    runfleet.errors.ItemsFailed
        With ``on_error="raise"`` when some items failed; ``.failures`` lists them (as
        :class:`ItemFailure`) and ``.values`` holds the full list as ``on_error="return"``
        would have returned it.
    runfleet.InputError
        Bad arguments (nothing run): an item that is not JSON-able, an unknown option, a bad
        ``on_error``.
    """
    from .engine import run_study
    from .study import Run, Study

    if on_error not in ("raise", "return"):
        raise InputError(f"runfleet.map: on_error: expected 'raise' or 'return', got {on_error!r}")
    if not callable(func):
        raise InputError(f"runfleet.map: func: expected a callable, got {type(func).__name__}")
    unknown = set(options) - set(_STUDY_OPTIONS) - set(_RUN_STUDY_OPTIONS) - {"version"}
    if unknown:
        raise InputError(f"runfleet.map: unknown option {sorted(unknown)[0]!r} (expected one of: "
                         f"{', '.join(_STUDY_OPTIONS + _RUN_STUDY_OPTIONS + ('version',))})")
    items = [_plain(item) for item in items]
    for i, item in enumerate(items):
        try:
            canonical_json(item)
        except (TypeError, ValueError) as e:
            raise InputError(f"runfleet.map: items[{i}]: not JSON-able ({e}); items are the runs' params") from None
    study_name = name or default_name(func)
    defaults = {k: options[k] for k in _STUDY_OPTIONS if k in options}
    version = options.get("version") or code_token(func, None)
    study = Study(study_name, store=store, seed=seed, defaults=defaults, source=f"runfleet.map({study_name})")
    adapter = ItemCall(func)
    names = run_names(len(items))
    for run_name, item in zip(names, items):
        study.add(Run(run_name, adapter, params={"item": item}, version=version))
    kwargs = {k: options[k] for k in _RUN_STUDY_OPTIONS if k in options}
    kwargs.setdefault("progress", False)
    summary = run_study(study, cluster=cluster, keep_outcomes=True, **kwargs)
    values: list = []
    failures: list[ItemFailure] = []
    for i, (run_name, item) in enumerate(zip(names, items)):
        o = summary.outcomes[run_name]
        if o.status == "done":
            values.append(o.value)
        else:
            failure = ItemFailure(i, item, run_name, o.error_class, o.error)
            failures.append(failure)
            values.append(failure)
    if failures and on_error == "raise":
        raise ItemsFailed(failures, values, summary.study_url)
    return values


def run_names(n: int) -> list[str]:
    """Run names of ``n`` items: ``item-000000`` ... (at least 6 digits, sorting in item order)."""
    width = max(6, len(str(max(n - 1, 0))))
    return [f"item-{i:0{width}d}" for i in range(n)]


def default_name(func: Callable) -> str:
    """A study name from ``func``'s qualified name (``<lambda>`` -> ``lambda``)."""
    qualname = getattr(func, "__qualname__", None) or getattr(func, "__name__", None) or type(func).__name__
    cleaned = re.sub(r"[^A-Za-z0-9._=+,@-]+", "-", qualname).strip("-.") or "map"
    return cleaned[:200]


def _plain(value, tuples: bool = False):
    """NumPy scalars and arrays (also nested in lists, tuples and dicts) as plain Python values;
    with ``tuples`` also tuples as lists (what a stored value reads back as)."""
    if isinstance(value, dict):
        return {k: _plain(v, tuples) for k, v in value.items()}
    if isinstance(value, list) or (tuples and isinstance(value, tuple)):
        return [_plain(v, tuples) for v in value]
    if isinstance(value, tuple):
        return tuple(_plain(v, tuples) for v in value)
    tolist = getattr(value, "tolist", None)
    if tolist is not None and type(value).__module__ == "numpy":
        return tolist()
    return value

"""Warm imports: each worker imports the study's run-function modules as soon as it joins.

A run function's module (and what it imports: pandas, pyarrow, a model package) is otherwise
imported by the first task that lands on a worker, so a fresh worker spends its first 0.3-1 s
importing while the run waits. The plugin starts the imports in a background thread when the
worker joins (also workers that adapt adds later), in parallel with the driver's own start-up.
An import that fails is ignored here: the run itself reports it with its traceback.
"""
from __future__ import annotations

import importlib
import threading

from distributed import WorkerPlugin


class WarmImports(WorkerPlugin):
    """Import ``modules`` (dotted names) in a daemon thread on every worker."""

    name = "runfleet-warm-imports"

    def __init__(self, modules):
        self.modules = tuple(sorted({m for m in modules if m and m != "__main__"}))

    def setup(self, worker):  # runs in the worker process
        def load():
            for module in self.modules:
                try:
                    importlib.import_module(module)
                except BaseException:  # noqa: BLE001 - the run reports its own import error
                    pass

        threading.Thread(target=load, name="runfleet-warm-imports", daemon=True).start()


def warm_imports(client, fn_paths) -> None:
    """Register WarmImports for the modules of ``fn_paths`` (``module:qualname`` strings)."""
    modules = {p.split(":", 1)[0] for p in fn_paths if isinstance(p, str) and ":" in p}
    if modules:
        try:
            client.register_plugin(WarmImports(modules))
        except Exception:  # noqa: BLE001 - an optimisation: a cluster that refuses plugins still runs the study
            pass

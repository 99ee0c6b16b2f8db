"""Entry of one embedded-cluster worker process: a Dask nanny and the worker it keeps alive.

The driver starts this file in a fresh interpreter (``python -c`` + :func:`runpy.run_path`, see
:class:`runfleet.clusters.local.NannyProcess`), so nothing here ever imports the driver's
``__main__`` (a user's script without a main guard) and the nanny's own worker process, spawned
by multiprocessing, has no main module to re-import either. Only the standard library and
``distributed`` are imported: the ``runfleet`` package is not needed to start a worker.

The nanny lives in its own session (process group). It exits, killing its whole group (the
worker and anything the worker started there), as soon as its parent, the driver, is gone
(``os.getppid()`` changes, even after SIGKILL).
"""
from __future__ import annotations

import asyncio
import json
import os
import signal
import threading
import time


def _watch_parent(parent_pid: int, interval_s: float = 0.5) -> None:
    def watch():
        while True:
            time.sleep(interval_s)
            if os.getppid() != parent_pid:
                try:
                    os.killpg(os.getpgrp(), signal.SIGKILL)
                finally:
                    os._exit(3)

    threading.Thread(target=watch, name="runfleet-driver-watchdog", daemon=True).start()


async def _serve(scheduler: str, options: dict, ready_fd: int) -> None:
    import logging

    from distributed import Nanny

    if options.get("silence_logs"):  # like LocalCluster's in-process nannies, also while closing
        logging.getLogger("distributed").setLevel(options["silence_logs"])

    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    nanny = Nanny(scheduler, **options)
    await nanny  # started: its worker process runs and is registered with the scheduler
    with os.fdopen(ready_fd, "w") as ready:
        ready.write(f"{nanny.worker_address}\n")
    finished = asyncio.ensure_future(nanny.finished())
    stopped = asyncio.ensure_future(stop.wait())
    await asyncio.wait([finished, stopped], return_when=asyncio.FIRST_COMPLETED)
    if not finished.done():
        await nanny.close(timeout=5)


def main(spec_json: str) -> None:
    """Run a nanny from ``{"scheduler", "options", "parent_pid", "ready_fd"}`` until it is closed
    (by the scheduler, SIGTERM/SIGINT) or the parent process disappears."""
    spec = json.loads(spec_json)
    _watch_parent(spec["parent_pid"])
    from distributed.compatibility import asyncio_run
    from distributed.config import get_loop_factory

    asyncio_run(_serve(spec["scheduler"], spec["options"], spec["ready_fd"]), loop_factory=get_loop_factory())

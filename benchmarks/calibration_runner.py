"""One measured cholera calibration, shared by ``benchmarks/cholera.py`` and ``benchmarks/elastic.py``.

:func:`measured_calibration` runs ``cholera.calibrate.calibrate`` while a thread samples the
driver's resident set size (:class:`PeakRSS`, psutil), and afterwards counts the study's store
objects and bytes by kind (:func:`store_footprint`, local stores only).

Both benchmarks keep their own directory off ``sys.path`` while importing (``benchmarks/cholera.py``
is named like the package it measures) and append it afterwards, so ``import calibration_runner``
finds this file and ``import cholera`` still finds the package.
"""
from __future__ import annotations

import os
import threading
import time


class PeakRSS:
    """Peak resident set size of this process, sampled every ``interval_s`` (bytes).

    Parameters
    ----------
    interval_s : float, optional
        Sampling period (s).
    """

    def __init__(self, interval_s: float = 0.2):
        import psutil

        self.proc = psutil.Process()
        self.start = self.peak = self.proc.memory_info().rss
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(interval_s,), daemon=True)

    def _run(self, interval_s: float) -> None:
        while not self._stop.wait(interval_s):
            self.peak = max(self.peak, self.proc.memory_info().rss)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self.proc.memory_info().rss)


def _kind(rel: list[str]) -> str:
    if rel[0] == "runs" and len(rel) > 1:
        return "runs/sim-*" if rel[1].startswith("sim-") else "runs/other"
    return rel[0]


def store_footprint(study_dir: str) -> dict:
    """Objects and bytes of a study in a local store, by kind (``runs/sim-*``, ``_packs``, ...).

    Parameters
    ----------
    study_dir : str
        ``<store>/<study>``.

    Returns
    -------
    dict
        ``objects`` and ``bytes`` (kind -> count / bytes) and their totals ``n_objects``, ``n_bytes``.
    """
    objects: dict[str, int] = {}
    sizes: dict[str, int] = {}
    for dp, _, files in os.walk(study_dir):
        kind = _kind(os.path.relpath(dp, study_dir).split(os.sep))
        objects[kind] = objects.get(kind, 0) + len(files)
        sizes[kind] = sizes.get(kind, 0) + sum(os.path.getsize(os.path.join(dp, f)) for f in files)
    return {"objects": objects, "bytes": sizes, "n_objects": sum(objects.values()), "n_bytes": sum(sizes.values())}


def measured_calibration(cfg, client=None) -> dict:
    """Run ``calibrate(cfg, client)`` and measure the driver and the store.

    Parameters
    ----------
    cfg : cholera.config.CalibrationConfig
        The calibration (its ``store`` a local directory for the store footprint).
    client : distributed.Client, optional
        Run on this client (else ``cfg``'s cluster).

    Returns
    -------
    dict
        ``result`` (``calibrate``'s summary), ``wall_s`` (s), ``rss_start_mb`` / ``rss_peak_mb``
        (driver, MiB), ``busy_fraction``, ``paid_s``, ``busy_s`` (worker-s, runfleet's
        accounting) and, for a local store, the :func:`store_footprint` with ``objects_per_sim``
        and ``bytes_per_sim`` (per simulation submitted).
    """
    from cholera.calibrate import calibrate

    with PeakRSS() as rss:
        t0 = time.perf_counter()
        result = calibrate(cfg, client=client)
        wall = time.perf_counter() - t0
    cost = result["cost"] or {}
    out = {"result": result, "wall_s": wall, "rss_start_mb": rss.start / 2**20, "rss_peak_mb": rss.peak / 2**20,
           "busy_fraction": cost.get("busy_fraction"), "paid_s": cost.get("paid_s"), "busy_s": cost.get("busy_s")}
    study = os.path.join(cfg.store, cfg.name)
    if os.path.isdir(study):
        fp = store_footprint(study)
        n = max(result["sims_submitted"], 1)
        out.update(fp, objects_per_sim=fp["n_objects"] / n, bytes_per_sim=fp["n_bytes"] / n)
    return out

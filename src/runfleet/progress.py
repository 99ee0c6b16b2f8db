"""Progress that works in a terminal (a live bar), and in CI logs or nohup (plain periodic lines).

The bar redraws one line on stderr at most 5 times a second; without a terminal a line is logged
every ``interval_s`` seconds (``runfleet.progress-interval`` in Dask's config, default 10) and at the end.
"""
from __future__ import annotations

import sys
import time


def _fmt_duration(seconds: float | None) -> str:
    if seconds is None or seconds != seconds or seconds == float("inf"):
        return "--:--"
    seconds = int(round(seconds))
    h, rem = divmod(seconds, 3600)
    m, s = divmod(rem, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m:02d}:{s:02d}"


class Progress:
    """Reports counts of a study's runs: done / failed / skipped / running / pending, rate, ETA.

    Parameters
    ----------
    label : str
        Prefix of every line (``[label] ...``), usually the study's name.
    mode : {"auto", "bar", "log", "none"}, default "auto"
        ``auto``: a bar on a terminal, lines otherwise; ``bar``: one rewritten line; ``log``: a
        line every ``interval_s``; ``none``: silent.
    stream : file-like, optional
        Where to write; default ``sys.stderr``.
    interval_s : float, optional
        Seconds between ``log`` lines; default: the ``runfleet.progress-interval`` setting.
    """

    def __init__(self, label: str, mode: str = "auto", stream=None, interval_s: float | None = None):
        self.label = label
        self.stream = stream or sys.stderr
        if mode == "auto":
            mode = "bar" if getattr(self.stream, "isatty", lambda: False)() else "log"
        self.mode = mode
        if interval_s is None:
            from .config import setting  # runfleet.progress-interval (old name RUNFLEET_PROGRESS_INTERVAL)

            interval_s = float(setting("progress-interval"))
        self.interval_s = interval_s
        self.t0 = time.monotonic()
        self.rate_t0 = self.t0  # the rate (and ETA) counts from when the cluster was ready
        self.last = 0.0
        self._bar_open = False

    def cluster_ready(self) -> None:
        """Start the rate clock: cluster start-up is not run time."""
        self.rate_t0 = time.monotonic()

    def message(self, text: str) -> None:
        if self.mode == "none":
            return
        if self._bar_open:
            self.stream.write("\n")
            self._bar_open = False
        self.stream.write(f"[{self.label}] {text}\n")
        self.stream.flush()

    def _eta(self, c: dict) -> tuple[float, float | None]:
        """Runs per second in this invocation, and seconds left at that rate."""
        finished = c["done"] + c["failed"] + c["skipped"] - c.get("resumed", 0)
        elapsed = max(time.monotonic() - self.rate_t0, 1e-9)
        rate = finished / elapsed
        remaining = c["total"] - c["done"] - c["failed"] - c["skipped"]
        eta = remaining / rate if rate > 0 else None
        return rate, (0.0 if remaining == 0 else eta)

    def line(self, c: dict) -> str:
        rate, eta = self._eta(c)
        return (f"{c['done']}/{c['total']} done, {c['failed']} failed, {c['skipped']} skipped, "
                f"{c['running']} running, {max(c['pending'], 0)} pending | {rate:.1f} runs/s | "
                f"elapsed {_fmt_duration(time.monotonic() - self.t0)} | ETA {_fmt_duration(eta)}")

    def update(self, c: dict, force: bool = False) -> None:
        if self.mode == "none":
            return
        now = time.monotonic()
        if self.mode == "bar":
            if not force and now - self.last < 0.2:
                return
            total = max(c["total"], 1)
            width = 24
            filled = int(width * (c["done"] + c["failed"] + c["skipped"]) / total)
            bar = "#" * filled + "." * (width - filled)
            self.stream.write(f"\r[{self.label}] [{bar}] {self.line(c)}\x1b[K")
            self.stream.flush()
            self._bar_open = True
        else:
            if not force and now - self.last < self.interval_s:
                return
            self.stream.write(f"[{self.label}] {self.line(c)}\n")
            self.stream.flush()
        self.last = now

    def close(self, c: dict, word: str = "finished", cost: str = "") -> None:
        """End the output with the counts ``c``; ``word`` starts the last line in log mode
        (``stopped`` when the study did not run to its end); ``cost`` (worker-seconds paid, busy,
        idle: :meth:`runfleet.accounting.CostSummary.line`) ends it."""
        if self.mode == "none":
            return
        tail = f" | {cost}" if cost else ""
        if self.mode == "bar":
            self.update(c, force=True)
            self.stream.write(f"{tail}\n")
            self._bar_open = False
        else:
            self.stream.write(f"[{self.label}] {word}: {self.line(c)}{tail}\n")
        self.stream.flush()
